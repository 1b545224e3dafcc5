// `npm run difffuzz -- [--seed N] [--cases M] [--backend legacy|nft] [--family ipv4|ipv6]
// [--case K]… [--workers W] [--json]`: a long differential fuzz run (root). Prints each
// finding with its seed, case and input; exits 1 when there is any, 0 when there is none.

import { parseArgs } from 'node:util';
import { describe, runDiffFuzz, type Report } from './run.js';

// Ctrl-C and kill still run the exit hook that deletes the namespaces.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() >>> 0) },
    cases: { type: 'string', default: '1000' },
    backend: { type: 'string', multiple: true },
    family: { type: 'string', multiple: true },
    case: { type: 'string', multiple: true },
    workers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});

const int = (name: string, v: string) => {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new RangeError(`--${name}: '${v}' is not a whole number below 2^32`);
  return Number(v);
};
const seed = int('seed', values.seed!);
const backends = (values.backend ?? ['legacy', 'nft']).map((b) => {
  if (b !== 'legacy' && b !== 'nft') throw new RangeError(`--backend: '${b}' is not legacy or nft`);
  return b;
});
const families = (values.family ?? ['ipv4']).map((f) => {
  if (f !== 'ipv4' && f !== 'ipv6') throw new RangeError(`--family: '${f}' is not ipv4 or ipv6`);
  return f;
});

let found = 0;
const reports: Array<Report & { backend: string; family: string }> = [];
for (const backend of backends) {
  for (const family of families) {
    const started = Date.now();
    const r = await runDiffFuzz({
      seed,
      cases: int('cases', values.cases!),
      backend,
      family,
      workers: int('workers', values.workers!),
      ...(values.case ? { only: values.case.map((c) => int('case', c)) } : {}),
    });
    found += r.findings.length;
    reports.push({ ...r, backend, family });
    if (values.json) continue;
    for (const f of r.findings) console.log(describe(f) + '\n');
    const outcomes = Object.entries(r.outcomes).map(([k, v]) => `${v} ${k}`).join('; ');
    const why = new Map<string, number>();
    for (const a of r.allowed) why.set(a.allowedBecause!, (why.get(a.allowedBecause!) ?? 0) + 1);
    const allowed = [...why].map(([k, v]) => `${v} ${k}`).join('; ');
    console.log(`${backend} ${family} seed ${seed}: ${r.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${outcomes}); ${r.findings.length} findings; allowed: ${allowed || 'none'}`);
  }
}
if (values.json) console.log(JSON.stringify(reports, null, 1));
process.exitCode = found ? 1 : 0;
