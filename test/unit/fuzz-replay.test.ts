// The fuzz target of the native dialect (native/fuzz/restore_fuzz.cc) replayed without
// libFuzzer or clang: `scripts/fuzz.sh --replay` builds it with g++ and ASan/UBSan into
// build/fuzz-replay/ and runs it over the seed corpus (test/fuzz/corpus), every past finding
// (test/fuzz/regressions) and the seed Docker host. Each input is parsed as iptables-restore
// text (IPv4 and IPv6, with and without -c); every rule is printed (save and -L) and its
// canonical text must parse back to the same text. A crash, a sanitizer report or a broken
// fixed point ends the replay with a non-zero status.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('fuzz corpus and regressions replay with no finding (g++, ASan, UBSan)', () => {
  // The corpus is the dozen seeds; regressions may be empty (one .gitkeep), never missing.
  expect(readdirSync(join(root, 'test', 'fuzz', 'corpus')).length).toBeGreaterThanOrEqual(12);
  const r = spawnSync('bash', [join(root, 'scripts', 'fuzz.sh'), '--replay'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 280_000,
    // LD_PRELOAD (the ASan run of the suite) must not reach the replay: it has its own runtime.
    env: { ...process.env, LD_PRELOAD: '', ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1' },
  });
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.error) throw r.error;
  expect(r.signal, output).toBeNull();
  expect(r.status, output).toBe(0);
  expect(r.stdout).toMatch(/^replay: \d+ inputs, no finding$/m);
}, 300_000);
