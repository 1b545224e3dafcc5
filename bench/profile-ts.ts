// Per-phase timings of the TypeScript hot paths, without a kernel: the 10,000-port workload
// (30,000 rules, bench/workload.ts) restored with --noflush on top of the seed Docker host.
// Build with `npx tsc -p tsconfig.json`, run `node dist/bench/profile-ts.js [runs] [ports]`.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { applyRestore, parseRestore } from '../src/rules/restore.js';
import { decodeTable, encodeCommit, encodeRead } from '../src/rules/wire.js';
import { exactIntent, planTable } from '../src/plan/plan.js';
import { printSave } from '../src/rules/save.js';
import { formatListing } from '../src/rules/listing.js';
import type { Table } from '../src/rules/model.js';
import { median, portRestoreInput } from './workload.js';

const runs = Number(process.argv[2] ?? 9);
const ports = Number(process.argv[3] ?? 10_000);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const seed = readFileSync(join(root, 'fixtures', 'seed-docker-host.rules'), 'utf8');
const input = portRestoreInput(ports, 0, 'br-96a729b6b174', true);

// The "current" tables as a read would give them: the seed's nat table, an empty filter table,
// both through the wire as the back end decodes them.
const seedParsed = parseRestore(seed, { family: 'ipv4', counters: true });
const filterEmpty = parseRestore('*filter\nCOMMIT\n', { family: 'ipv4' });
const current: Table[] = [
  decodeTable(encodeRead(applyRestore(seedParsed.tables[0]!, undefined, { counters: true }))).table,
  decodeTable(encodeRead(applyRestore(filterEmpty.tables[0]!, undefined))).table,
];

// Wall time, and CPU time of the process (steadier on a busy machine; includes GC threads).
const times = new Map<string, number[]>();
const cpuTimes = new Map<string, number[]>();
function time<T>(name: string, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  let l = times.get(name);
  if (!l) times.set(name, (l = []));
  l.push(ms);
  let lc = cpuTimes.get(name);
  if (!lc) cpuTimes.set(name, (lc = []));
  lc.push((c.user + c.system) / 1000);
  return r;
}

let sink = 0;
for (let run = 0; run < runs; run++) {
  const parsed = time('parseRestore', () => parseRestore(input, { family: 'ipv4', noflush: true }));
  const desired = time('applyRestore', () =>
    parsed.tables.map((t) => applyRestore(t, current.find((c) => c.name === t.name), { noflush: true })),
  );
  const plans = time('plan (all-new)', () =>
    desired.map((d) => planTable(current.find((c) => c.name === d.name), exactIntent(d))),
  );
  const wires = time('encodeCommit', () => plans.map((p) => encodeCommit(p.table, 'ipv4', p.chains)));
  sink += wires.reduce((n, w) => n + w.length, 0);
  // What a read after the commit gives: the desired tables through the wire.
  const readWires = desired.map((d) => encodeRead(d));
  const read = time('decodeTable', () => readWires.map((w) => decodeTable(w).table));
  const keptPlans = time('plan (all-kept)', () => read.map((r, i) => planTable(r, exactIntent(desired[i]!))));
  sink += keptPlans.filter((p) => p.unchanged).length;
  const saved = time('printSave', () => printSave(read, { counters: true, date: new Date(0) }));
  sink += saved.length;
  const listed = time('formatListing', () => read.map((t) => formatListing(t, { numeric: true, verbose: true })).join(''));
  sink += listed.length;
}

const rules = input.split('\n').filter((l) => l.startsWith('-A')).length;
console.log(`${ports} ports, ${rules} rules, ${runs} runs: wall median, wall min, cpu median (ms)`);
let total = 0;
for (const [name, l] of times) {
  const m = median(l);
  total += m;
  const c = median(cpuTimes.get(name)!);
  console.log(`${name.padEnd(16)} ${m.toFixed(1).padStart(8)} ${Math.min(...l).toFixed(1).padStart(8)} ${c.toFixed(1).padStart(8)}`);
}
console.log(`${'total'.padEnd(16)} ${total.toFixed(1).padStart(8)}   (sink ${sink})`);
