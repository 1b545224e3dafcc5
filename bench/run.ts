// `npm run bench [-- --quick]`: iptkit against iptables-restore and per-rule iptables runs, on
// both back ends, in throwaway network namespaces only (created and always deleted; the root
// namespace's rules are never touched). Scenarios (N published ports = 3 rules each, the
// classic Docker layout of bench/workload.ts):
//   1. bulk apply of N ports on a Docker host with none;  2. publish/unpublish one port on a
//   host with N;  3. read all tables with counters;  4. the longest 1 ms-timer stall during a
//   10,000-port apply;  5. peak RSS growth of that apply;  6. the kernel floor of each commit
//   (strace -T of a child doing it).
// Every method's kernel end state is compared (iptables-save rule lines) with the reference
// before its time counts; a method that fails is reported as failed, and the run goes on.
// Writes bench/results/latest.json, latest.md and commit-time.svg.
//
// Options: --quick (under two minutes), --only=bulk,incremental,read,process,floor,
//          --ports=100,1000 (bulk sizes), --out=DIR.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { Netfilter } from '../src/netfilter.js';
import { printSave } from '../src/rules/save.js';
import { Netns, RUN_TIMEOUT_MS, installCleanup, saveLines, tools, withNetns, type BackendKind } from './netns.js';
import { commitFloor, parseStrace, readFloor } from './strace.js';
import { renderMarkdown, renderSvg, renderText, type Results, type Row, type Stat, type Target } from './report.js';
import {
  dockerHostWithPortsInput,
  median,
  portDeleteRestoreInput,
  portRestoreInput,
  portRuleArgs,
} from './workload.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, '..', '..');
const childJs = join(here, 'child.js');

// ---------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = opt('only')?.split(',');
const want = (s: string): boolean => !only || only.includes(s);
const outDir = opt('out') ?? join(root, 'bench', 'results');
const BACKENDS: BackendKind[] = (opt('backends')?.split(',') as BackendKind[] | undefined) ?? ['legacy', 'nft'];

const cfg = quick
  ? {
      bulkNs: [100, 1000],
      perRuleMaxN: 100,
      incNs: [1000],
      readNs: [1000],
      processN: 10_000,
      processRuns: 1,
      floorRuns: 1,
      bulkSamples: (n: number) => (n >= 10_000 ? 2 : 5),
      toolSamples: (n: number) => (n >= 10_000 ? 2 : 5),
      perRuleSamples: 1,
      incSamples: 5,
      incTimeMs: 300,
      readSamples: 5,
      timeMs: 200,
    }
  : {
      bulkNs: [100, 1000, 10_000],
      perRuleMaxN: 1000,
      incNs: [100, 1000, 10_000],
      readNs: [1000, 10_000],
      processN: 10_000,
      processRuns: 3,
      floorRuns: 3,
      bulkSamples: (n: number) => (n >= 10_000 ? 5 : 10),
      toolSamples: (n: number) => (n >= 10_000 ? 5 : 10),
      perRuleSamples: 1,
      incSamples: 10,
      incTimeMs: 2000,
      readSamples: 7,
      timeMs: 1000,
    };
const ports = opt('ports');
if (ports) cfg.bulkNs = ports.split(',').map(Number);
const BIG = 10_000;

// ---------------------------------------------------------------------------------------
// Progress

const started = Date.now();
function log(msg: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(3)} ms`);

const rows: Row[] = [];
function record(row: Row): Row {
  rows.push(row);
  const what = `${row.scenario} N=${row.ports} ${row.backend} ${row.method}`;
  if (row.status === 'ok' && row.stat) {
    const u = row.unit === 'MB' ? (v: number) => `${v.toFixed(1)} MB` : fmt;
    const spread = row.stat.samples > 1 ? `, ${u(row.stat.min)}–${u(row.stat.max)}` : '';
    log(`${what}: ${u(row.stat.median)}${row.kind === 'estimate' ? ' (estimate)' : ` median (${row.stat.samples} sample${row.stat.samples === 1 ? '' : 's'}${spread})`}`);
  } else log(`${what}: ${row.status.toUpperCase()}${row.error ? ` — ${row.error}` : ''}`);
  return row;
}

function errText(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.replace(/\s+/g, ' ').slice(0, 300);
}

function statOf(values: readonly number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { median: median(s), min: s[0]!, max: s[s.length - 1]!, samples: s.length, values: s.length <= 50 ? s : undefined };
}

/** Runs `fn` and records its row; a failure becomes a failed row, never a crash. */
async function method(
  base: Omit<Row, 'status' | 'stat'>,
  fn: () => Promise<Stat | undefined> | Stat | undefined,
): Promise<Row> {
  try {
    const stat = await fn();
    if (!stat) return record({ ...base, status: 'skipped' });
    return record({ ...base, status: 'ok', stat });
  } catch (e) {
    return record({ ...base, status: 'failed', error: errText(e) });
  }
}

// ---------------------------------------------------------------------------------------
// Kernel state

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
// The namespaces are private, so the bench's xtables lock is too: iptables -w, the restore
// tools and iptkit's legacy back end all take $XTABLES_LOCKFILE instead of /run/xtables.lock,
// and nobody else's iptables run (other test suites on the machine) waits for ours, or ours
// for theirs.
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
const files = new Map<string, string>();
/** A file holding `text` (for the tools' stdin in bash scripts). */
function fileOf(text: string): string {
  let f = files.get(text);
  if (!f) {
    f = join(tmp, `in-${files.size}.rules`);
    writeFileSync(f, text);
    files.set(text, f);
  }
  return f;
}

/** The shell commands that put a namespace into the state of a host with `count` ports. */
function resetCommand(backend: BackendKind, count: number): string {
  const f = fileOf(dockerHostWithPortsInput(count));
  return backend === 'nft' ? `nft flush ruleset && iptables-nft-restore < ${f}` : `iptables-legacy-restore < ${f}`;
}

function loadState(ns: Netns, backend: BackendKind, count: number): void {
  ns.ok('bash', ['-c', resetCommand(backend, count)]);
}

function saved(ns: Netns, backend: BackendKind): string[] {
  return saveLines(ns.ok(tools(backend).save).stdout);
}

const refs = new Map<string, string[]>();
/** iptables-save lines of a host with `count` ports, written by the back end's own restore. */
async function reference(backend: BackendKind, count: number): Promise<string[]> {
  const key = `${backend}/${count}`;
  let r = refs.get(key);
  if (!r) {
    r = await withNetns((ns) => {
      loadState(ns, backend, count);
      return saved(ns, backend);
    }, 'iptkit-bench-ref');
    refs.set(key, r);
  }
  return r;
}

/** Throws when the namespace's rule lines differ from the reference. */
async function check(ns: Netns, backend: BackendKind, count: number, what: string): Promise<void> {
  const got = saved(ns, backend);
  const ref = await reference(backend, count);
  const diff = firstDifference(got, ref);
  if (diff) throw new Error(`end state differs from the reference (${what}): ${diff}`);
}

function firstDifference(got: readonly string[], want: readonly string[]): string | undefined {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) {
      return `line ${i + 1}: got ${JSON.stringify(got[i] ?? '(end)')}, want ${JSON.stringify(want[i] ?? '(end)')} (${got.length} vs ${want.length} lines)`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Timing

/** In-process timing with tinybench: warm-up, samples, median and spread. */
async function tiny(
  name: string,
  fn: () => Promise<unknown>,
  o: { samples: number; timeMs: number; warmup: number; beforeEach?: () => void | Promise<void>; afterEach?: () => void | Promise<void> },
): Promise<Stat> {
  const bench = new Bench({
    iterations: o.samples,
    time: o.timeMs,
    warmup: o.warmup > 0,
    warmupIterations: o.warmup,
    warmupTime: 0,
    throws: true,
    retainSamples: true,
  });
  // `async: true` and an async function: without them tinybench calls the task once, outside
  // any timing and without awaiting it, to find out whether it returns a promise — a stray
  // commit racing the next reset (and, on legacy, holding the xtables lock the reset needs).
  const hooks: { async: true; beforeEach?: () => Promise<void>; afterEach?: () => Promise<void> } = { async: true };
  if (o.beforeEach) hooks.beforeEach = async () => void (await o.beforeEach!());
  if (o.afterEach) hooks.afterEach = async () => void (await o.afterEach!());
  bench.add(name, async () => void (await fn()), hooks);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed') throw new Error(`tinybench: task ${r.state}`);
  const l = r.latency;
  const values = l.samples ? [...l.samples] : undefined;
  return {
    median: l.p50,
    min: l.min,
    max: l.max,
    mean: l.mean,
    rme: l.rme,
    samples: l.samplesCount,
    ...(values && values.length <= 50 ? { values } : {}),
  };
}

/**
 * Whole-process timing of the external tools: one bash inside the namespace runs them and
 * reads $EPOCHREALTIME around each timed part (a small shell forks them, as Docker's daemon
 * would; the benchmark's own large node process does not). Lines `T LABEL START END` (µs).
 */
function bashTimes(ns: Netns, body: string): Map<string, number[]> {
  const script = [
    'set -o pipefail',
    't0() { _s=$EPOCHREALTIME; }',
    't1() { local e=$EPOCHREALTIME; echo "T $1 ${_s/./} ${e/./}"; }',
    'fail() { echo "$*" >&2; exit 1; }',
    body,
  ].join('\n');
  const f = join(tmp, `script-${Date.now()}-${Math.random().toString(16).slice(2)}.sh`);
  writeFileSync(f, script);
  try {
    const r = ns.run('bash', [f]);
    if (r.status !== 0) throw new Error(`bash script exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
    const out = new Map<string, number[]>();
    for (const line of r.stdout.split('\n')) {
      const m = /^T (\S+) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      let l = out.get(m[1]!);
      if (!l) out.set(m[1]!, (l = []));
      l.push((Number(m[3]) - Number(m[2])) / 1000);
    }
    return out;
  } finally {
    rmSync(f, { force: true });
  }
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell lines: one `iptables -w` run per rule, stopping at the first failure. */
function perRuleLines(backend: BackendKind, argvs: readonly string[][]): string {
  const ipt = tools(backend).iptables;
  return argvs.map((a) => `${ipt} -w ${a.map(q).join(' ')} || fail ${q(`${ipt} ${a.join(' ')}`)}`).join('\n');
}

// ---------------------------------------------------------------------------------------
// iptkit in process: what `iptkit restore -n` does (Netfilter.restore: a large input is parsed,
// planned and committed in iptkit's worker thread, off the caller's event loop).

async function iptkitRestore(nf: Netfilter, text: string): Promise<void> {
  await nf.restore(text, { noflush: true });
}

// ---------------------------------------------------------------------------------------
// Scenario 1: bulk apply

async function bulk(): Promise<void> {
  for (const n of cfg.bulkNs) {
    for (const be of BACKENDS) {
      const text = portRestoreInput(n);
      const t = tools(be);
      await method({ scenario: 'bulk', ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'ms' }, () =>
        withNetns(async (ns) => {
          loadState(ns, be, 0);
          const nf = await Netfilter.open({ backend: be, netns: ns.name });
          await iptkitRestore(nf, text);
          await check(ns, be, n, 'after the apply');
          return tiny(`bulk ${n} ${be} iptkit`, () => iptkitRestore(nf, text), {
            samples: cfg.bulkSamples(n),
            timeMs: 0,
            warmup: 1,
            beforeEach: () => loadState(ns, be, 0),
          });
        }),
      );
      await method({ scenario: 'bulk', ports: n, backend: be, method: `${t.restore} -n`, kind: 'process', unit: 'ms' }, () =>
        withNetns(async (ns) => {
          const k = cfg.toolSamples(n);
          const f = fileOf(text);
          // One untimed warm-up run (page cache, module loading), then k timed ones.
          const times = bashTimes(
            ns,
            `for i in $(seq 0 ${k}); do ${resetCommand(be, 0)} || fail reset
  t0; ${t.restore} -n < ${f} || fail ${t.restore}; t1 run$i; done`,
          );
          await check(ns, be, n, 'after the last run');
          return statOf([...times.entries()].filter(([l]) => l !== 'run0').flatMap(([, v]) => v));
        }),
      );
      if (n <= cfg.perRuleMaxN) {
        await method({ scenario: 'bulk', ports: n, backend: be, method: `${t.iptables} per rule`, kind: 'process', unit: 'ms' }, () =>
          withNetns(async (ns) => {
            const lines = perRuleLines(be, portRuleArgs(n));
            const all: number[] = [];
            for (let i = 0; i < cfg.perRuleSamples; i++) {
              all.push(...(bashTimes(ns, `${resetCommand(be, 0)} || fail reset\nt0\n${lines}\nt1 all`).get('all') ?? []));
            }
            await check(ns, be, n, 'after the runs');
            return statOf(all);
          }),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario 2: publish / unpublish one port on a host with N ports

async function incremental(): Promise<void> {
  for (const n of cfg.incNs) {
    for (const be of BACKENDS) {
      const t = tools(be);
      const pub = portRestoreInput(1, n);
      const unpub = portDeleteRestoreInput(1, n);
      // iptkit: one tinybench task each; the other half of the round trip is untimed.
      try {
        await withNetns(async (ns) => {
          loadState(ns, be, n);
          const nf = await Netfilter.open({ backend: be, netns: ns.name });
          await iptkitRestore(nf, pub);
          await check(ns, be, n + 1, 'after publish');
          await iptkitRestore(nf, unpub);
          await check(ns, be, n, 'after unpublish');
          const o = { samples: cfg.incSamples, timeMs: cfg.incTimeMs, warmup: 2 };
          await method({ scenario: 'publish', ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'ms' }, () =>
            tiny(`publish ${n} ${be}`, () => iptkitRestore(nf, pub), { ...o, afterEach: () => iptkitRestore(nf, unpub) }),
          );
          await method({ scenario: 'unpublish', ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'ms' }, () =>
            tiny(`unpublish ${n} ${be}`, () => iptkitRestore(nf, unpub), { ...o, beforeEach: () => iptkitRestore(nf, pub) }),
          );
          await check(ns, be, n, 'after the timed runs');
        });
      } catch (e) {
        for (const scenario of ['publish', 'unpublish'] as const) {
          if (!rows.some((r) => r.scenario === scenario && r.ports === n && r.backend === be && r.method === 'iptkit')) {
            record({ scenario, ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'ms', status: 'failed', error: errText(e) });
          }
        }
      }
      const k = cfg.incSamples;
      const viaTools: Array<[string, string, string]> = [
        [`${t.restore} -n`, `${t.restore} -n < ${fileOf(pub)} || fail publish`, `${t.restore} -n < ${fileOf(unpub)} || fail unpublish`],
        [`3 × ${t.iptables}`, perRuleLines(be, portRuleArgs(1, n, 'A')), perRuleLines(be, portRuleArgs(1, n, 'D'))],
      ];
      for (const [name, up, down] of viaTools) {
        try {
          await withNetns(async (ns) => {
            loadState(ns, be, n);
            bashTimes(ns, up);
            await check(ns, be, n + 1, 'after publish');
            bashTimes(ns, down);
            await check(ns, be, n, 'after unpublish');
            // One untimed round trip, then k timed ones.
            const times = bashTimes(ns, `for i in $(seq 0 ${k}); do\nt0\n${up}\nt1 pub$i\nt0\n${down}\nt1 unpub$i\ndone`);
            await check(ns, be, n, 'after the timed runs');
            const pick = (p: string) => [...times.entries()].filter(([l]) => l.startsWith(p) && l !== `${p}0`).flatMap(([, v]) => v);
            record({ scenario: 'publish', ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'ok', stat: statOf(pick('pub')) });
            record({ scenario: 'unpublish', ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'ok', stat: statOf(pick('unpub')) });
          });
        } catch (e) {
          for (const scenario of ['publish', 'unpublish'] as const) {
            record({ scenario, ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'failed', error: errText(e) });
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario 3: read all tables with counters

/** Compares iptkit's read, printed as iptables-save, with the tool's save, table by table. */
function readMatches(tablesText: string, toolText: string): string | undefined {
  const split = (lines: string[]): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    let cur: string[] | undefined;
    for (const l of lines) {
      if (l.startsWith('*')) m.set(l, (cur = []));
      else cur?.push(l);
    }
    return m;
  };
  const a = split(saveLines(tablesText));
  const b = split(saveLines(toolText));
  for (const [name, lines] of b) {
    const d = firstDifference(a.get(name) ?? [], lines);
    if (d) return `${name}: ${d}`;
  }
  for (const name of a.keys()) if (!b.has(name)) return `${name}: iptkit read a table iptables-save does not print`;
  return undefined;
}

async function read(): Promise<void> {
  for (const n of cfg.readNs) {
    for (const be of BACKENDS) {
      const t = tools(be);
      await withNetns(async (ns) => {
        loadState(ns, be, n);
        const o = { samples: cfg.readSamples, timeMs: cfg.timeMs, warmup: 1 };
        let nf: Netfilter | undefined;
        await method({ scenario: 'read', ports: n, backend: be, method: 'iptkit read', kind: 'in-process', unit: 'ms' }, async () => {
          nf = await Netfilter.open({ backend: be, netns: ns.name });
          const tables = await nf.read();
          const d = readMatches(printSave(tables, { counters: true }), ns.ok(t.save, ['-c']).stdout);
          if (d) throw new Error(`read differs from ${t.save} -c: ${d}`);
          return tiny(`read ${n} ${be}`, () => nf!.read(), o);
        });
        await method(
          { scenario: 'read', ports: n, backend: be, method: 'iptkit read + print', kind: 'in-process', unit: 'ms', note: 'read and print as iptables-save -c text' },
          async () => {
            nf ??= await Netfilter.open({ backend: be, netns: ns.name });
            return tiny(`save ${n} ${be}`, async () => printSave(await nf!.read(), { counters: true }), o);
          },
        );
        await method({ scenario: 'read', ports: n, backend: be, method: `${t.save} -c`, kind: 'process', unit: 'ms' }, async () => {
          await check(ns, be, n, 'the state read');
          const k = cfg.readSamples;
          const times = bashTimes(ns, `for i in $(seq 0 ${k}); do t0; ${t.save} -c > /dev/null || fail save; t1 run$i; done`);
          return statOf([...times.entries()].filter(([l]) => l !== 'run0').flatMap(([, v]) => v));
        });
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenarios 4 and 5: event-loop stall and peak RSS growth of a 10,000-port apply, each run
// in a child node process of its own.

interface ChildOut {
  ms: number;
  maxStallMs?: number;
  rssGrowth: number;
  baselineRss: number;
  maxRss: number;
}

function runChild(args: readonly string[], prefix: readonly string[] = []): { out: ChildOut; stderr: string } {
  const cmd = [...prefix, process.execPath, '--expose-gc', childJs, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { out: JSON.parse(line) as ChildOut, stderr: r.stderr };
}

async function processScenarios(): Promise<void> {
  const n = cfg.processN;
  for (const be of BACKENDS) {
    const stalls: number[] = [];
    const growth: number[] = [];
    try {
      await withNetns(async (ns) => {
        for (let i = 0; i < cfg.processRuns; i++) {
          loadState(ns, be, 0);
          const { out } = runChild(['apply', be, ns.name, String(n), '0', '--stall']);
          if (i === 0) await check(ns, be, n, 'after the child apply');
          stalls.push(out.maxStallMs ?? NaN);
          growth.push(out.rssGrowth / 1e6);
        }
      });
      record({ scenario: 'event-loop stall', ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'ms', status: 'ok', stat: statOf(stalls), note: 'longest lateness of a 1 ms setInterval during the apply' });
      record({ scenario: 'peak RSS growth', ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: 'MB', status: 'ok', stat: statOf(growth), note: 'maxRSS after the apply − RSS before it (child process)' });
    } catch (e) {
      for (const scenario of ['event-loop stall', 'peak RSS growth'] as const) {
        record({ scenario, ports: n, backend: be, method: 'iptkit', kind: 'in-process', unit: scenario === 'peak RSS growth' ? 'MB' : 'ms', status: 'failed', error: errText(e) });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario 6: the kernel floor — strace -T of a child process doing the same commit.

const STRACE = ['strace', '-f', '-qq', '-T', '--seccomp-bpf', '-e', 'raw=all'];

function traced(kind: 'commit' | 'read', be: BackendKind, args: readonly string[]): number {
  const f = join(tmp, `strace-${Date.now()}.txt`);
  const calls = kind === 'read' ? 'getsockopt,setsockopt,sendmsg,sendto,recvmsg' : 'setsockopt,sendmsg,sendto,recvmsg';
  try {
    runChild(args, [...STRACE, '-e', `trace=${calls}`, '-o', f]);
    const sys = parseStrace(readFileSync(f, 'utf8'));
    return (kind === 'read' ? readFloor(sys, be) : commitFloor(sys, be)).ms;
  } finally {
    rmSync(f, { force: true });
  }
}

async function floors(): Promise<void> {
  const jobs: Array<{ scenario: string; ports: number; start: number; args: (ns: string) => string[]; kind: 'commit' | 'read' }> = [];
  for (const n of cfg.bulkNs) jobs.push({ scenario: 'bulk', ports: n, start: 0, args: (ns) => [ns, String(n), '0'], kind: 'commit' });
  for (const n of cfg.incNs) {
    jobs.push({ scenario: 'publish', ports: n, start: n, args: (ns) => [ns, '1', String(n)], kind: 'commit' });
    jobs.push({ scenario: 'unpublish', ports: n, start: n + 1, args: (ns) => [ns, '1', String(n)], kind: 'commit' });
  }
  for (const n of cfg.readNs) jobs.push({ scenario: 'read', ports: n, start: n, args: (ns) => [ns], kind: 'read' });
  for (const j of jobs) {
    for (const be of BACKENDS) {
      await method({ scenario: j.scenario, ports: j.ports, backend: be, method: 'kernel floor', kind: 'kernel', unit: 'ms' }, () =>
        withNetns((ns) => {
          const v: number[] = [];
          for (let i = 0; i < cfg.floorRuns; i++) {
            loadState(ns, be, j.start);
            const mode = j.kind === 'read' ? 'read' : j.scenario === 'unpublish' ? 'delete' : 'apply';
            v.push(traced(j.kind, be, [mode, be, ...j.args(ns.name)]));
          }
          return statOf(v);
        }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Estimate: per-rule iptables runs at sizes too large to run them all.

/**
 * Σ over the 3N rule insertions of the per-rule cost, interpolated linearly in the table
 * size between the per-rule costs measured by the incremental scenario (3 iptables runs
 * publishing one port, on hosts of the measured sizes); constant outside them.
 */
function estimatePerRule(): void {
  for (const be of BACKENDS) {
    const pts = rows
      .filter((r) => r.scenario === 'publish' && r.backend === be && r.method.startsWith('3 × ') && r.status === 'ok' && r.stat)
      .map((r) => ({ rules: 3 * r.ports, cost: r.stat!.median / 3 }))
      .sort((a, b) => a.rules - b.rules);
    const n = BIG;
    if (cfg.bulkNs.includes(n) && n <= cfg.perRuleMaxN) continue;
    const base = { scenario: 'bulk', ports: n, backend: be, method: `${tools(be).iptables} per rule (est.)`, kind: 'estimate' as const, unit: 'ms' as const };
    if (pts.length === 0) {
      record({ ...base, status: 'failed', error: 'no per-rule cost measured (incremental 3 × iptables failed or did not run)' });
      continue;
    }
    const cost = (r: number): number => {
      if (r <= pts[0]!.rules) return pts[0]!.cost;
      for (let i = 1; i < pts.length; i++) {
        const a = pts[i - 1]!;
        const b = pts[i]!;
        if (r <= b.rules) return a.cost + ((b.cost - a.cost) * (r - a.rules)) / (b.rules - a.rules);
      }
      return pts[pts.length - 1]!.cost;
    };
    let total = 0;
    const step = 100;
    for (let r = 0; r < 3 * n; r += step) total += cost(r + step / 2) * step;
    record({
      ...base,
      status: 'ok',
      stat: { median: total, min: total, max: total, samples: 0 },
      note: `Σ of per-rule costs interpolated from ${pts.map((p) => `${fmt(p.cost)} at ${p.rules} rules`).join(', ')}`,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Targets (reported, never asserted)

function find(scenario: string, be: BackendKind, pred: (m: string) => boolean, ports?: number): Row | undefined {
  const c = rows.filter((r) => r.scenario === scenario && r.backend === be && pred(r.method) && (ports === undefined || r.ports === ports));
  return c.sort((a, b) => b.ports - a.ports)[0];
}

function targets(): Target[] {
  const out: Target[] = [];
  const ok = (r: Row | undefined): r is Row & { stat: Stat } => !!r && r.status === 'ok' && !!r.stat;
  const why = (...rs: Array<Row | undefined>): string =>
    rs.map((r) => (!r ? 'not measured' : r.status !== 'ok' ? `${r.method}: ${r.status}${r.error ? ` (${r.error.slice(0, 80)})` : ''}` : '')).filter(Boolean).join('; ');
  const at = (n: number): string => (n === BIG ? '' : ` [measured at N=${n.toLocaleString('en-US')}]`);
  const ratio = (name: string, num: Row | undefined, den: Row | undefined, goal: number, label: (x: number) => string): void => {
    if (ok(num) && ok(den)) {
      const x = num.stat.median / den.stat.median;
      out.push({ name: name + at(Math.min(num.ports, den.ports)), goal: `≥ ${goal}×`, measured: label(x), met: x >= goal });
    } else out.push({ name, goal: `≥ ${goal}×`, measured: why(num, den) || 'n/a', met: null });
  };
  const within = (name: string, val: Row | undefined, floor: Row | undefined, goal: number): void => {
    if (ok(val) && ok(floor)) {
      const x = val.stat.median / floor.stat.median;
      out.push({ name: name + at(val.ports), goal: `≤ ${goal}× floor`, measured: `${x.toFixed(2)}× (${fmt(val.stat.median)} vs ${fmt(floor.stat.median)})`, met: x <= goal });
    } else out.push({ name, goal: `≤ ${goal}× floor`, measured: why(val, floor) || 'n/a', met: null });
  };
  const atMost = (name: string, val: Row | undefined, goal: number, unit: 'ms' | 'MB'): void => {
    const u = (v: number) => (unit === 'MB' ? `${v.toFixed(1)} MB` : fmt(v));
    if (ok(val)) out.push({ name: name + at(val.ports), goal: `≤ ${u(goal)}`, measured: `${u(val.stat.median)} median, ${u(val.stat.max)} max`, met: val.stat.median <= goal });
    else out.push({ name, goal: `≤ ${u(goal)}`, measured: why(val) || 'n/a', met: null });
  };
  const iptkit = (m: string) => m === 'iptkit';
  const bulkMax = Math.max(...cfg.bulkNs);
  for (const [be, goal] of [['legacy', 2.5], ['nft', 2]] as const) {
    const t = tools(be);
    const mine = find('bulk', be, iptkit, bulkMax);
    ratio(`bulk 10,000 ports, ${be}: faster than ${t.restore} -n`, find('bulk', be, (m) => m === `${t.restore} -n`, bulkMax), mine, goal, (x) => `${x.toFixed(2)}×`);
  }
  for (const be of BACKENDS) {
    const mine = find('bulk', be, iptkit, bulkMax);
    const per = rows.find((r) => r.scenario === 'bulk' && r.backend === be && r.ports === mine?.ports && r.method.includes('per rule') && r.status === 'ok');
    ratio(`bulk 10,000 ports, ${be}: faster than per-rule ${tools(be).iptables} runs${per?.kind === 'estimate' ? ' (estimated)' : ''}`, per, mine, 1000, (x) => `${Math.round(x).toLocaleString('en-US')}×`);
  }
  for (const be of BACKENDS) within(`bulk 10,000 ports, ${be}: within its kernel floor`, find('bulk', be, iptkit, bulkMax), find('bulk', be, (m) => m === 'kernel floor', bulkMax), 1.5);
  const incMax = Math.max(...cfg.incNs);
  atMost('publish one port on a 10,000-port host, nft: median', find('publish', 'nft', iptkit, incMax), 1, 'ms');
  within('publish one port on a 10,000-port host, legacy: within its kernel floor', find('publish', 'legacy', iptkit, incMax), find('publish', 'legacy', (m) => m === 'kernel floor', incMax), 1.3);
  const readMax = Math.max(...cfg.readNs);
  for (const be of BACKENDS) {
    ratio(`read with counters, 30,000 rules, ${be}: faster than ${tools(be).save} -c`, find('read', be, (m) => m === `${tools(be).save} -c`, readMax), find('read', be, (m) => m === 'iptkit read', readMax), 3, (x) => `${x.toFixed(2)}×`);
  }
  for (const be of BACKENDS) atMost(`event-loop stall during a 10,000-port apply, ${be}`, find('event-loop stall', be, iptkit), 10, 'ms');
  for (const be of BACKENDS) atMost(`peak RSS growth of a 10,000-port apply, ${be}`, find('peak RSS growth', be, iptkit), 100, 'MB');
  return out;
}

// ---------------------------------------------------------------------------------------

function toolVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim().split('\n')[0] ?? '';
}

async function main(): Promise<void> {
  installCleanup();
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it creates network namespaces)');
  for (const tool of ['ip', 'nsenter', 'bash', 'strace', 'nft', 'iptables-legacy-restore', 'iptables-nft-restore']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is not installed (npm run setup installs it)`);
  }
  log(`${quick ? 'quick' : 'full'} run: bulk N = ${cfg.bulkNs.join(', ')}; incremental N = ${cfg.incNs.join(', ')}; read N = ${cfg.readNs.join(', ')}; back ends ${BACKENDS.join(', ')}`);
  const meta: Results['meta'] = {
    date: new Date().toISOString(),
    quick,
    kernel: toolVersion('uname', ['-r']),
    cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    iptables: toolVersion('iptables-legacy', ['--version']),
    nft: toolVersion('nft', ['--version']),
    commit: toolVersion('git', ['-C', root, 'describe', '--always', '--dirty']),
    notes: [
      'in-process: tinybench (warm-up, then samples); each sample starts from the same state (untimed reset by the back end’s restore tool)',
      'external tools: whole-process wall time, run by one bash inside the namespace ($EPOCHREALTIME), after one untimed warm-up run',
      'end state: every method’s iptables-save rule lines are compared with a namespace loaded by the back end’s own restore tool before its time counts',
      'kernel floor: strace -f -T (seccomp-bpf) of a child process doing the same commit; legacy: IPT_SO_SET_REPLACE + IPT_SO_SET_ADD_COUNTERS; nft: the batch sendto and the sends/acks after it; read: getsockopt (legacy) or all netlink send/recv (nft)',
    ],
  };
  for (const be of BACKENDS) {
    try {
      await reference(be, 0);
    } catch (e) {
      log(`${be}: cannot load the Docker host with its tools: ${errText(e)}`);
    }
  }
  if (BACKENDS.length === 2) {
    const a = await reference('legacy', 0).catch(() => undefined);
    const b = await reference('nft', 0).catch(() => undefined);
    if (a && b && firstDifference(a, b)) meta.notes.push(`iptables-legacy-save and iptables-nft-save print the host differently: ${firstDifference(a, b)}`);
  }
  if (want('bulk')) {
    log('scenario 1: bulk apply');
    await bulk();
  }
  if (want('incremental')) {
    log('scenario 2: publish / unpublish one port');
    await incremental();
  }
  if (want('read')) {
    log('scenario 3: read with counters');
    await read();
  }
  if (want('process')) {
    log(`scenarios 4 and 5: event loop and memory (${cfg.processN.toLocaleString('en-US')} ports, child process)`);
    await processScenarios();
  }
  if (want('floor')) {
    log('scenario 6: kernel floor (strace)');
    await floors();
  }
  if (want('bulk') && want('incremental')) estimatePerRule();
  // Every figure as a multiple of its kernel floor.
  for (const r of rows) {
    const f = rows.find((x) => x.method === 'kernel floor' && x.scenario === r.scenario && x.ports === r.ports && x.backend === r.backend && x.status === 'ok');
    if (f && r !== f && r.status === 'ok' && r.stat && r.unit === 'ms') r.xFloor = r.stat.median / f.stat!.median;
  }
  const results: Results = { meta, rows, targets: targets() };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results));
  writeFileSync(join(outDir, 'commit-time.svg'), renderSvg(results));
  process.stdout.write('\n' + renderText(results) + '\n');
  log(`wrote ${join(outDir, 'latest.json')}, latest.md, commit-time.svg`);
}

main().catch((e: unknown) => {
  process.stderr.write(`[bench] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
