// The fuzz target of the native dialect (native/fuzz/restore_fuzz.cc) replayed without
// libFuzzer or clang: `scripts/fuzz.sh --replay` builds it with g++ and ASan/UBSan into
// build/fuzz-replay/ and runs it over the seed corpus (test/fuzz/corpus), every past finding
// (test/fuzz/regressions) and the seed Docker host. Each input is parsed as iptables-restore
// text (IPv4 and IPv6, with and without -c); every rule is printed (save and -L) and its
// canonical text must parse back to the same text; and as a commit wire, whose plan must write
// back as the same wire. A crash, a sanitizer report or a broken
// fixed point ends the replay with a non-zero status.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The replay, run without blocking this worker: it compiles for a minute or more, and a worker
 * blocked that long misses vitest's own messages (its RPC times out and fails the run).
 */
function replay(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'scripts', 'fuzz.sh'), '--replay'], {
      cwd: root,
      timeout: 280_000,
      // LD_PRELOAD (the ASan run of the suite) must not reach the replay: it has its own runtime.
      env: { ...process.env, LD_PRELOAD: '', ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ stdout, stderr, status, signal }));
  });
}

test('fuzz corpus and regressions replay with no finding (g++, ASan, UBSan)', async () => {
  // The corpus is the dozen seeds; regressions may be empty (one .gitkeep), never missing.
  expect(readdirSync(join(root, 'test', 'fuzz', 'corpus')).length).toBeGreaterThanOrEqual(12);
  const r = await replay();
  const output = `${r.stdout}\n${r.stderr}`;
  expect(r.signal, output).toBeNull();
  expect(r.status, output).toBe(0);
  expect(r.stdout).toMatch(/^replay: \d+ inputs, no finding$/m);
}, 300_000);
