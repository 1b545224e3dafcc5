// The package as a user gets it: `npm pack` (which builds dist/ and the prebuilt addon), then
// `npm install` of the tarball into a fresh app, which must need no compiler; the command, an
// ESM import, a CJS require and a strict TypeScript consumer all work there.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const repo = new URL('../..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
const tmp = mkdtempSync(join(tmpdir(), 'iptkit-pack-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The suite may run against a sanitizer build (IPTKIT_NATIVE, LD_PRELOAD): the package must
// not see it.
const env = { ...process.env };
for (const k of ['IPTKIT_NATIVE', 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[k];

const execFileAsync = promisify(execFile);

// Asynchronous: npm pack and install take minutes on a loaded machine, and a vitest worker
// blocked that long in a synchronous child loses its RPC to the runner.
async function run(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    return (await execFileAsync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} exited ${String(err.code)}:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/**
 * A copy of the checkout (its files, the built addon with its time, node_modules linked), so
 * that prepack's compile writes another dist/ than the one the other test files run.
 */
async function copyOfCheckout(): Promise<string> {
  const copy = join(tmp, 'checkout');
  await run('mkdir', ['-p', join(copy, 'build/Release')], repo);
  await run('bash', ['-c', 'git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p --parents -t "$1" 2>/dev/null || true', 'copy', copy], repo);
  await run('cp', ['-p', join(repo, 'build/Release/iptkit.node'), join(copy, 'build/Release/')], repo);
  await run('ln', ['-s', join(repo, 'node_modules'), join(copy, 'node_modules')], repo);
  return copy;
}

test('npm pack, npm install into a fresh app: command, import, require and strict types work without a compiler', async () => {
  const out = await run('npm', ['pack', '--json', '--pack-destination', tmp], await copyOfCheckout());
  const [packed] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  expect(files).toContain('dist/src/index.js');
  expect(files).toContain('dist/src/index.d.ts');
  // The command is the bundle alone (package.json's bin); the CLI's modules are in it.
  expect(files).toContain('dist/iptkit.cjs');
  expect(files.filter((f) => f.startsWith('dist/src/cli/'))).toEqual([]);
  expect(files).toContain('schemas/docker-state.schema.json');
  expect(files).toContain('prebuilds/linux-x64/iptkit.node');
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('build/'))).toEqual([]);

  const app = join(tmp, 'app');
  await run('mkdir', ['-p', app], repo);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(tmp, packed!.filename)], app);
  // The prebuilt addon fitted: nothing was compiled.
  expect(existsSync(join(app, 'node_modules/iptkit/build'))).toBe(false);

  expect(await run('npx', ['--no-install', 'iptkit', '--version'], app)).toBe(`iptkit ${version}\n`);
  // The bundle, at another depth than dist/src/binding.js, finds the addon: a listing of a
  // fresh namespace (unshare's, gone when it exits) reads the kernel through it.
  expect(await run('unshare', ['--net', 'npx', '--no-install', 'iptkit', 'list', '--backend', 'nft', '-t', 'filter'], app)).toMatch(/^Chain INPUT \(policy ACCEPT\)\n/);

  // parseRule runs the native dialect: the addon is loaded, not only the JavaScript.
  const rule = "JSON.stringify(parseRule('-p tcp --dport 80 -j ACCEPT'))";
  const expected = '{"protocol":"tcp","matches":[{"name":"tcp","dport":"80"}],"target":{"name":"ACCEPT"}}\n';
  expect(await run('node', ['--input-type=module', '-e', `import { parseRule, Netfilter } from 'iptkit'; if (typeof Netfilter.open !== 'function') throw new Error('no Netfilter'); console.log(${rule})`], app)).toBe(expected);
  expect(await run('node', ['-e', `const { parseRule, NetfilterError } = require('iptkit'); if (typeof NetfilterError !== 'function') throw new Error('no NetfilterError'); console.log(${rule})`], app)).toBe(expected);
  // The JSON Schemas ship and resolve as package paths.
  expect(await run('node', ['-e', "console.log(require('iptkit/schemas/docker-state.schema.json').$id)"], app)).toBe('docker-state.schema.json\n');

  writeFileSync(
    join(app, 'consumer.ts'),
    `import { Netfilter, parseRule, formatRule, NetfilterError, type Table, type CommitResult } from 'iptkit';
const table: Table = { name: 'filter', family: 'ipv4', chains: [] };
export async function use(): Promise<CommitResult> {
  const nf = await Netfilter.open({ backend: 'auto', family: 'ipv4', netns: 'blue' });
  const text: string = formatRule(parseRule('-p tcp --dport 80 -j ACCEPT'));
  try {
    return await nf.commit([{ ...table, chains: [{ name: 'INPUT', policy: 'ACCEPT', counters: { packets: 0n, bytes: 0n }, rules: [text] }] }]);
  } catch (e) {
    if (e instanceof NetfilterError) throw new Error(e.code);
    throw e;
  }
}
`,
  );
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  await run('node', [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', join(repo, 'node_modules/@types'), '--types', 'node', 'consumer.ts'], app);
}, 600_000); // minutes more where prepack also cross-builds linux-arm64
