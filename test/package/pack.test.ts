// The package as a user gets it: `npm pack` (which builds dist/ and the prebuilt addon), then
// `npm install` of the tarball into a fresh app, which must need no compiler; the command, an
// ESM import, a CJS require and a strict TypeScript consumer all work there.

import { execFileSync, spawnSync } from 'node:child_process';
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

function run(cmd: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * A copy of the checkout (its files, the built addon with its time, node_modules linked), so
 * that prepack's compile writes another dist/ than the one the other test files run.
 */
function copyOfCheckout(): string {
  const copy = join(tmp, 'checkout');
  execFileSync('mkdir', ['-p', join(copy, 'build/Release')]);
  execFileSync('bash', ['-c', 'git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p --parents -t "$1" 2>/dev/null || true', 'copy', copy], { cwd: repo, env });
  execFileSync('cp', ['-p', join(repo, 'build/Release/iptkit.node'), join(copy, 'build/Release/')]);
  execFileSync('ln', ['-s', join(repo, 'node_modules'), join(copy, 'node_modules')]);
  return copy;
}

test('npm pack, npm install into a fresh app: command, import, require and strict types work without a compiler', () => {
  const out = run('npm', ['pack', '--json', '--pack-destination', tmp], copyOfCheckout());
  const [packed] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  expect(files).toContain('dist/src/index.js');
  expect(files).toContain('dist/src/index.d.ts');
  expect(files).toContain('dist/src/cli/main.js');
  expect(files).toContain('schemas/docker-state.schema.json');
  expect(files).toContain('prebuilds/linux-x64/iptkit.node');
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('build/'))).toEqual([]);

  const app = join(tmp, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(tmp, packed!.filename)], app);
  // The prebuilt addon fitted: nothing was compiled.
  expect(existsSync(join(app, 'node_modules/iptkit/build'))).toBe(false);

  expect(run('npx', ['--no-install', 'iptkit', '--version'], app)).toBe(`iptkit ${version}\n`);

  // parseRule runs the native dialect: the addon is loaded, not only the JavaScript.
  const rule = "JSON.stringify(parseRule('-p tcp --dport 80 -j ACCEPT'))";
  const expected = '{"protocol":"tcp","matches":[{"name":"tcp","dport":"80"}],"target":{"name":"ACCEPT"}}\n';
  expect(run('node', ['--input-type=module', '-e', `import { parseRule, Netfilter } from 'iptkit'; if (typeof Netfilter.open !== 'function') throw new Error('no Netfilter'); console.log(${rule})`], app)).toBe(expected);
  expect(run('node', ['-e', `const { parseRule, NetfilterError } = require('iptkit'); if (typeof NetfilterError !== 'function') throw new Error('no NetfilterError'); console.log(${rule})`], app)).toBe(expected);
  // The JSON Schemas ship and resolve as package paths.
  expect(run('node', ['-e', "console.log(require('iptkit/schemas/docker-state.schema.json').$id)"], app)).toBe('docker-state.schema.json\n');

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
  run('node', [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', join(repo, 'node_modules/@types'), '--types', 'node', 'consumer.ts'], app);
}, 300_000);
