// The differential fuzzer's bounded run (issue 12): a fixed seed's mutated restore inputs
// against iptables-*-restore 1.8.9 on both back ends, and every earlier finding replayed; any
// finding in any class fails, printed with its seed, case and input. Long runs: npm run
// difffuzz (test/difffuzz/main.ts).

import { describe as group, expect, test } from 'vitest';
import { isRoot } from '../helpers/netns.js';
import { describe, runDiffFuzz } from '../difffuzz/run.js';
import { REGRESSIONS } from '../difffuzz/regressions.js';

const SEED = Number(process.env['IPTKIT_DIFFFUZZ_SEED'] ?? 12);
// Sized for about 90 s a back end on two cores.
const CASES = { ipv4: 600, ipv6: 200 };

group.skipIf(!isRoot)('differential fuzz against iptables-restore', () => {
  for (const backend of ['legacy', 'nft'] as const) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      test(`${backend} ${family}: earlier findings`, async () => {
        const fixed = REGRESSIONS.filter((r) => !r.families || r.families.includes(family));
        const r = await runDiffFuzz({ seed: SEED, cases: 0, backend, family, fixed });
        expect(r.findings.map(describe).join('\n\n')).toBe('');
        expect(r.cases).toBe(fixed.length);
      });
      test(`${backend} ${family}: seed ${SEED}, ${CASES[family]} cases`, async () => {
        const r = await runDiffFuzz({ seed: SEED, cases: CASES[family], backend, family });
        expect(r.findings.map(describe).join('\n\n')).toBe('');
        expect(r.cases).toBe(CASES[family]);
      }, 300_000);
    }
  }
});
