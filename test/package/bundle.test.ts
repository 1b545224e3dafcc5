// The command users run is one CommonJS file (dist/iptkit.cjs, scripts/setup.sh's esbuild
// step) made of the CLI's ES modules. Each module in it runs when first needed, as with
// import(): the CLI's lazy loading must survive bundling, or `iptkit --help` and every one-shot
// command would pay for the whole library (docs/design.md, "Start-up of the command").

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { iptkitBin } from '../helpers/cli.js';
import { withNetns } from '../helpers/netns.js';

// A copy beside the bundle (so that it finds the package root and the addon the same way) whose
// lazy-module wrapper (esbuild's __esm) names each module on stderr as it is evaluated.
const traced = join(dirname(iptkitBin()), `.iptkit-traced-${process.pid}.cjs`);
afterAll(() => rmSync(traced, { force: true }));

const bundle = readFileSync(iptkitBin(), 'utf8');
const wrapper = 'var __esm = (fn, res, err) => function __init() {\n';

function evaluated(argv: readonly string[], run = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8' })): string[] {
  const r = run([traced, ...argv]);
  expect(r.status, r.stderr).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('EVAL '))
    .map((l) => l.slice(5));
}

test('the bundle is the CommonJS file package.json names, without import.meta left in it', () => {
  expect(iptkitBin().endsWith('/dist/iptkit.cjs')).toBe(true);
  expect(bundle.startsWith('#!/usr/bin/env node\n"use strict";\n')).toBe(true);
  expect(bundle).not.toMatch(/import_meta|import\.meta/);
  // The addon is loaded at run time by path, never inlined.
  expect(bundle).toMatch(/createRequire\)\(__filename\)/);
});

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
