// The command users run is one CommonJS file (dist/iptkit-cli.cjs, scripts/setup.sh's esbuild
// step) made of the CLI's ES modules, which the bin (dist/iptkit.cjs) compiles with V8's code
// cache of it. Each module in it runs when first needed, as with import(): the CLI's lazy
// loading must survive bundling, or `iptkit --help` and every one-shot command would pay for the
// whole library (docs/design.md, "Start-up of the command").

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, expect, test } from 'vitest';
import { iptkitBin } from '../helpers/cli.js';
import { withNetns } from '../helpers/netns.js';

// A copy beside the bundle (so that it finds the package root and the addon the same way) whose
// lazy-module wrapper (esbuild's __esm) names each module on stderr as it is evaluated.
const traced = join(dirname(iptkitBin()), `.iptkit-traced-${process.pid}.cjs`);
afterAll(() => rmSync(traced, { force: true }));

const program = join(dirname(iptkitBin()), 'iptkit-cli.cjs');
// Read as the bin reads it (src/cli/launch.ts).
const bundle = readFileSync(program, 'latin1');
const wrapper = 'var __esm = (fn, res, err) => function __init() {\n';

function evaluated(argv: readonly string[], run = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8' })): string[] {
  const r = run([traced, ...argv]);
  expect(r.status, r.stderr).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('EVAL '))
    .map((l) => l.slice(5));
}

test('the bin compiles the bundle, a CommonJS file without import.meta left in it, with its code cache', () => {
  expect(iptkitBin().endsWith('/dist/iptkit.cjs')).toBe(true);
  const bin = readFileSync(iptkitBin(), 'utf8');
  expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  expect(bin).toContain('iptkit-cli.cjs');
  // The bundle is wrapped as a CommonJS module by the bin: no shebang, strict from its start.
  expect(bundle.startsWith('"use strict";\n')).toBe(true);
  expect(bundle).not.toMatch(/import_meta|import\.meta/);
  // ASCII, so that the bin's Latin-1 read is its text (scripts/bundle.sh escapes comments).
  expect(bundle).toMatch(/^[\0-\x7f]*$/);
  expect(readFileSync(program, 'utf8')).toBe(bundle);
  // The addon is loaded at run time by path, never inlined.
  expect(bundle).toMatch(/createRequire\)\(__filename\)/);
  // The cache is V8's for this bundle as the bin compiles it: this node takes it.
  const cache = readFileSync(`${program}.cache`);
  const script = new Script(Module.wrap(bundle), { filename: program, cachedData: cache });
  expect(script.cachedDataRejected).toBe(false);
  // It was made after `save` and `list` ran (scripts/code-cache.cjs), so it holds the functions
  // they compiled, not only the top level a cache made right after compiling holds.
  const compiledOnly = new Script(Module.wrap(bundle), { filename: `${program}.only` }).createCachedData();
  expect(cache.length).toBeGreaterThan(1.5 * compiledOnly.length);
  // The bin runs it as node would: its output and status are the command's.
  const r = spawnSync(process.execPath, [iptkitBin(), '--version'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^iptkit \d+\.\d+\.\d+\n$/);
});

test('standard output is written in full, and a reader that goes away ends the command with 141', () =>
  withNetns((ns) => {
    // 3,000 rules: a save far bigger than a pipe's buffer.
    const rules = Array.from({ length: 3000 }, (_, i) => `-A INPUT -s 10.0.${i >> 8}.${i & 255}/32 -j ACCEPT`);
    ns.ok('iptables-legacy-restore', [], `*filter\n${rules.join('\n')}\nCOMMIT\n`);
    const cmd = `'${process.execPath}' '${iptkitBin()}' save --backend legacy`;
    const full = ns.run('bash', ['-c', `${cmd} | cat`]);
    expect(full.status).toBe(0);
    expect(full.stdout.split('\n').filter((l) => l.startsWith('-A INPUT'))).toEqual(rules);
    // `iptkit save | head -1`: the command ends with SIGPIPE's status, as iptables-save does.
    const cut = ns.run('bash', ['-c', `${cmd} | head -1 >/dev/null; exit \${PIPESTATUS[0]}`]);
    expect(cut.status).toBe(141);
    expect(cut.stderr).toBe('');
  }));

test('--help and --version evaluate only the modules they need; save no Docker module', async () => {
  expect(bundle).toContain(wrapper);
  writeFileSync(traced, bundle.replace(wrapper, `${wrapper}  if (fn) process.stderr.write("EVAL " + __getOwnPropNames(fn)[0] + "\\n");\n`));

  expect(evaluated(['--help'])).toEqual(['dist/src/errors.js', 'dist/src/cli/args.js']);
  expect(evaluated(['--version'])).toEqual(['dist/src/errors.js', 'dist/src/cli/args.js', 'dist/src/binding.js']);
  // The tracing sees the lazy modules at all: docker loads its own.
  expect(evaluated(['docker', '--help'])).toContain('dist/src/docker/ops.js');

  await withNetns((ns) => {
    const save = evaluated(['save', '--backend', 'nft'], (args) => ns.run(process.execPath, args));
    expect(save).toContain('dist/src/netfilter.js');
    expect(save).toContain('dist/src/binding.js');
    expect(save.filter((m) => m.startsWith('dist/src/docker/') || m.endsWith('/docker-commands.js'))).toEqual([]);
  });
});
