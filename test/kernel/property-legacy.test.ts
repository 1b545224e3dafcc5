// Property-based oracle test on the legacy back end (IPv4 and IPv6): random valid rulesets over
// every extension iptkit understands (test/helpers/arbitrary.ts) drive both directions.
//   A: iptables-legacy-restore -c the text into namespace X; `iptkit save` (with and without
//      -c) prints what iptables-legacy-save prints, and `iptkit list -n -v` what
//      `iptables-legacy -L -n -v` prints (prot column as numbers), for every table.
//   B: `iptkit restore -c` the same text into namespace Y; iptables-legacy-save -c of Y equals
//      that of X.
// X and Y live for the whole file and are emptied (every table restored empty) before each run.
// A failure prints fast-check's seed and shrunk counterexample; PROPERTY_SEED=<n> replays it,
// PROPERTY_RUNS=<n> changes the number of runs (default 40 per family).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { emptyRuleset, rulesetArb, TABLES } from '../helpers/arbitrary.js';
import { iptkit, protColumnAsNumbers } from '../helpers/cli.js';
import { isRoot, Netns, saveLines } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-prop-legacy-'));
// The namespaces are this file's own, so nothing outside needs to be serialised with them: a
// private xtables lock keeps another process holding /run/xtables.lock from stalling the runs.
// iptables (through `ip netns exec`, which keeps the environment) and iptkit both honour it.
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');

const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 40);
// Time budget per family. Runs (and shrink steps) after it pass without doing anything: a
// time limit inside fast-check would leave the interrupted run's iptkit call going in the
// background while the next test's spawnSync blocks the event loop.
const BUDGET_MS = Number(process.env['PROPERTY_BUDGET_MS'] ?? 38_000);
const SEED = process.env['PROPERTY_SEED'] !== undefined ? Number(process.env['PROPERTY_SEED']) : undefined;

// Areas left out of the generator: no known iptkit bug.
// `-i +` / `! -i +` (an all-zero interface mask) are where iptkit differs on purpose (README):
// `-i +` has no text of its own (iptables-legacy-save prints nothing either), so `iptkit list`
// shows `*` where iptables -L shows `+`; and `! -i +` (no interface) keeps the `!` that
// iptables-legacy-save drops. native-legacy.test.ts pins both.
const EXCLUDE = new Set<string>(['iface-plus']);

const FAMILIES = [
  { family: 'ipv4', flag: '-4', restore: 'iptables-legacy-restore', save: 'iptables-legacy-save', cmd: 'iptables-legacy' },
  { family: 'ipv6', flag: '-6', restore: 'ip6tables-legacy-restore', save: 'ip6tables-legacy-save', cmd: 'ip6tables-legacy' },
] as const;

describe.skipIf(!isRoot).each(FAMILIES)('legacy $family: random rulesets, iptkit against iptables-legacy', (f) => {
  let x: Netns;
  let y: Netns;
  beforeAll(() => {
    x = new Netns('iptkit-prop');
    y = new Netns('iptkit-prop');
  });
  afterAll(() => {
    x?.delete();
    y?.delete();
  });

  const save = (ns: Netns, counters: boolean) => saveLines(ns.ok(f.save, counters ? ['-c'] : []));
  let n = 0;

  test('save, list and restore agree with iptables-legacy', async () => {
    const deadline = Date.now() + BUDGET_MS;
    await fc.assert(
      fc.asyncProperty(rulesetArb(f.family, { exclude: EXCLUDE }), async (text) => {
        const t0 = Date.now();
        if (t0 > deadline) return;
        for (const ns of [x, y]) ns.ok(f.restore, [], emptyRuleset());
        x.ok(f.restore, ['-c'], text);

        // Direction A: iptkit reads what iptables-legacy-restore wrote.
        for (const counters of [false, true]) {
          const ours = await iptkit('save', f.flag, '--backend', 'legacy', '--netns', x.name, ...(counters ? ['-c'] : []));
          expect(ours.code, ours.stderr).toBe(0);
          expect(saveLines(ours.stdout), `iptkit save${counters ? ' -c' : ''}`).toEqual(save(x, counters));
        }
        for (const table of TABLES) {
          const ours = await iptkit('list', f.flag, '--backend', 'legacy', '--netns', x.name, '-t', table, '-n', '-v');
          expect(ours.code, ours.stderr).toBe(0);
          expect(protColumnAsNumbers(ours.stdout), `iptkit list -t ${table} -n -v`).toBe(x.ok(f.cmd, ['-t', table, '-L', '-n', '-v']));
        }

        // Direction B: iptkit writes; iptables-legacy-save reads.
        const file = join(tmp, `case-${f.family}-${n++}.rules`);
        writeFileSync(file, text);
        const r = await iptkit('restore', f.flag, '--backend', 'legacy', '--netns', y.name, '-c', file);
        expect(r.code, r.stderr).toBe(0);
        expect(save(y, true), 'iptables-legacy-save -c after iptkit restore -c').toEqual(save(x, true));
        if (process.env['PROPERTY_TIMING']) console.log(`case ${n}: ${Date.now() - t0} ms`);
      }),
      // The assertion that failed goes into the message itself, so a JSON report (CI) keeps it.
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  }, 60_000);
});
