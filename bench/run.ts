// `npm run bench [-- --quick]`: iptkit against the real tools (iptables-legacy-restore,
// iptables-nft-restore, iptables-*-save) and node's own start-up, on both back ends, in
// throwaway network namespaces only (created and always deleted; the root namespace's rules are
// never touched). Every figure is compared with the tools measured in the same run and with
// the kernel floor of the same commit or read. Workload: N published ports in Docker's classic
// layout, 3 rules each (bench/workload.ts). Scenarios:
//   restore    full (flushing) restore of the workload host into a fresh namespace: in-process
//              Netfilter.restore, `iptkit restore < file` as a command, the back end's
//              iptables-restore as a command on the same text;
//   start-up   `iptkit save` / `iptkit list` of an empty namespace against `node -e 0` and the
//              back end's iptables-save;
//   read       read all tables with counters: in-process Netfilter.read, `iptkit save -c` and
//              iptables-save -c as commands;
//   publish / unpublish   DockerHost.publish / unpublish of one port on a host DockerHost.apply
//              built with N ports, against `iptables-restore -n` of the same three rules;
//   apply      DockerHost.apply of N ports into a fresh namespace, against the back end's
//              iptables-restore of the same rules (Docker's model printed as restore text);
//   event-loop stall, peak RSS growth   of that apply, in a child process of its own;
//   scale      DockerHost.apply of 100,000 ports against 10,000 (child processes: time and
//              peak RSS growth), and a no-op re-apply against a read of the same tables;
//   kernel floor   strace -T of a child process doing the same commit or read.
// Every method's kernel end state (iptables-save rule lines of its namespace) is compared with
// the reference (the back end's own restore tool loading the same rules) before its time
// counts; a method that fails is reported as failed and the run goes on. Targets are reported,
// never asserted. Writes bench/results/latest.json, latest.md and commit-time.svg, and (full
// runs, or --readme) the README's section between <!-- bench:start --> and <!-- bench:end -->.
//
// Options: --quick (every scenario but scale at small sizes, about two minutes),
//          --only=restore,startup,read,incremental,apply,process,scale,floor, --backends=legacy,nft,
//          --out=DIR, --readme[=PATH] (write the README section, also on a quick run),
//          --no-readme (not even on a full run).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { DockerHost } from '../src/docker/ops.js';
import { recordPath } from '../src/docker/record.js';
import { Netfilter } from '../src/netfilter.js';
import { Netns, RUN_TIMEOUT_MS, installCleanup, saveLines, tools, withNetns, type BackendKind } from './netns.js';
import { commitFloor, parseStrace, readFloor } from './strace.js';
import { renderMarkdown, renderReadme, renderSvg, renderText, type Results, type Row, type Stat, type Target } from './report.js';
import {
  dockerApplyInput,
  dockerHostWithPortsInput,
  dockerPort,
  dockerState,
  hostPort,
  median,
  portDeleteRestoreInput,
  portRestoreInput,
} from './workload.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, '..', '..');
const childJs = join(here, 'child.js');
/** The iptkit command as users run it, package.json's bin (dist/iptkit.cjs), run with this node. */
const cliJs = join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { iptkit: string } }).bin.iptkit);
const NODE = process.execPath;

// ---------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = opt('only')?.split(',');
const want = (s: string): boolean => !only || only.includes(s);
const outDir = opt('out') ?? join(root, 'bench', 'results');
const BACKENDS: BackendKind[] = (opt('backends')?.split(',') as BackendKind[] | undefined) ?? ['legacy', 'nft'];
const readmePath = opt('readme') ?? ((argv.includes('--readme') || !quick) && !argv.includes('--no-readme') && !only ? join(root, 'README.md') : undefined);

const cfg = quick
  ? {
      restoreNs: [100, 10_000],
      applyNs: [10_000],
      incNs: [100, 1000],
      readNs: [10_000],
      processN: 10_000,
      processRuns: 1,
      scaleNs: [10_000, 100_000],
      scaleSamples: 2,
      floorRuns: 1,
      freshSamples: (n: number) => (n >= 10_000 ? 2 : 3),
      startupSamples: 5,
      incSamples: 5,
      incTimeMs: 100,
      readSamples: 5,
      timeMs: 100,
    }
  : {
      restoreNs: [100, 1000, 10_000],
      applyNs: [1000, 10_000],
      incNs: [100, 1000, 10_000],
      readNs: [1000, 10_000],
      processN: 10_000,
      processRuns: 3,
      scaleNs: [10_000, 100_000],
      scaleSamples: 3,
      floorRuns: 3,
      freshSamples: (n: number) => (n >= 10_000 ? 7 : 10),
      startupSamples: 20,
      incSamples: 10,
      incTimeMs: 2000,
      readSamples: 7,
      timeMs: 1000,
    };
/** The size the targets name (quick runs report them at their largest size instead). */
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
    log(`${what}: ${u(row.stat.median)}${` median (${row.stat.samples} sample${row.stat.samples === 1 ? '' : 's'}${spread})`}`);
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
// iptkit's records (intent records, the Docker record apply writes) of the throwaway
// namespaces go with the run, not to /run/iptkit.
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');
// Node loads every certificate of NODE_EXTRA_CA_CERTS at start (a CI or proxy setting, not a
// user's): with the system bundle that is ~45 ms more for `node -e 0` and for iptkit alike,
// which would flatter every start-up ratio. Measured as users run them: without it.
const extraCaCerts = process.env['NODE_EXTRA_CA_CERTS'];
delete process.env['NODE_EXTRA_CA_CERTS'];
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

/** The inputs: the workload host with N ports (restore, read), and Docker's rules for N ports (apply, publish). */
const hostText = (n: number): string => dockerHostWithPortsInput(n) + '\n';
const applyText = (n: number): string => dockerApplyInput(n);

/** Loads `text` with the back end's own restore tool (a full restore of the tables in it). */
function loadState(ns: Netns, backend: BackendKind, text: string): void {
  const f = fileOf(text);
  ns.ok('bash', ['-c', backend === 'nft' ? `nft flush ruleset && iptables-nft-restore < ${f}` : `iptables-legacy-restore < ${f}`]);
}

function saved(ns: Netns, backend: BackendKind): string[] {
  return saveLines(ns.ok(tools(backend).save).stdout);
}

const refs = new Map<string, string[]>();
/** iptables-save lines of a fresh namespace the back end's own restore tool loaded `text` into. */
async function reference(backend: BackendKind, text: string): Promise<string[]> {
  const key = `${backend}/${fileOf(text)}`;
  let r = refs.get(key);
  if (!r) {
    r = await withNetns((ns) => {
      loadState(ns, backend, text);
      return saved(ns, backend);
    }, 'iptkit-bench-ref');
    refs.set(key, r);
  }
  return r;
}

/** Throws when the namespace's rule lines differ from the reference of `text`. */
async function check(ns: Netns, backend: BackendKind, text: string, what: string): Promise<void> {
  const got = saved(ns, backend);
  const ref = await reference(backend, text);
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

/** The iptkit command line (node and the CLI script, quoted for bash). */
const iptkitCmd = (args: string): string => `${q(NODE)} ${q(cliJs)} ${args}`;

/** The times of one label, without the untimed warm-up iteration 0 (`label0`). */
function timed(times: Map<string, number[]>, label: string): number[] {
  return [...times.entries()].filter(([l]) => l.startsWith(label) && /^\d+$/.test(l.slice(label.length)) && l !== `${label}0`).flatMap(([, v]) => v);
}

/** Runs `body` once per sample (plus one untimed warm-up first), each in a fresh namespace. */
async function freshRuns(samples: number, body: (ns: Netns, warmup: boolean) => Promise<void> | void): Promise<void> {
  for (let i = 0; i <= samples; i++) await withNetns((ns) => body(ns, i === 0));
}

const ok = (r: Row | undefined): r is Row & { stat: Stat } => !!r && r.status === 'ok' && !!r.stat;

// ---------------------------------------------------------------------------------------
// Scenario: full restore of the workload host into a fresh namespace

async function restoreScenario(): Promise<void> {
  for (const n of cfg.restoreNs) {
    for (const be of BACKENDS) {
      const t = tools(be);
      const text = hostText(n);
      const f = fileOf(text);
      const k = cfg.freshSamples(n);
      // In process: tinybench; each sample opens a Netfilter on a fresh namespace (untimed),
      // commits, and has its end state checked (untimed) before the namespace goes.
      await method({ scenario: 'restore', ports: n, backend: be, method: 'Netfilter.restore', kind: 'in-process', unit: 'ms' }, async () => {
        let ns: Netns | undefined;
        let nf: Netfilter | undefined;
        try {
          return await tiny(`restore ${n} ${be}`, () => nf!.restore(text), {
            samples: k,
            timeMs: 0,
            warmup: 1,
            beforeEach: async () => {
              ns = new Netns();
              nf = await Netfilter.open({ backend: be, netns: ns.name });
            },
            afterEach: async () => {
              const x = ns!;
              ns = undefined;
              try {
                await check(x, be, text, 'after Netfilter.restore');
              } finally {
                x.delete();
              }
            },
          });
        } finally {
          ns?.delete();
        }
      });
      // As commands from one bash in the namespace: the tool and `iptkit restore`, each
      // sample in a fresh namespace of its own, the two interleaved.
      const tool: number[] = [];
      const cli: number[] = [];
      let toolErr: unknown;
      let cliErr: unknown;
      await freshRuns(k, async (ns, warm) => {
        if (toolErr) return;
        try {
          const v = bashTimes(ns, `t0; ${t.restore} < ${f} || fail ${t.restore}; t1 run`).get('run') ?? [];
          await check(ns, be, text, `after ${t.restore}`);
          if (!warm) tool.push(...v);
        } catch (e) {
          toolErr = e;
        }
      }).catch((e: unknown) => (toolErr ??= e));
      await freshRuns(k, async (ns, warm) => {
        if (cliErr) return;
        try {
          const v = bashTimes(ns, `t0; ${iptkitCmd(`restore --backend ${be}`)} < ${f} || fail iptkit restore; t1 run`).get('run') ?? [];
          await check(ns, be, text, 'after iptkit restore');
          if (!warm) cli.push(...v);
        } catch (e) {
          cliErr = e;
        }
      }).catch((e: unknown) => (cliErr ??= e));
      const done = (m: string, err: unknown, v: number[]): void => {
        const base = { scenario: 'restore', ports: n, backend: be, method: m, kind: 'process' as const, unit: 'ms' as const };
        record(err ? { ...base, status: 'failed', error: errText(err) } : { ...base, status: 'ok', stat: statOf(v) });
      };
      done('iptkit restore', cliErr, cli);
      done(t.restore, toolErr, tool);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario: start-up — `iptkit save` and `iptkit list` of an empty namespace

async function startup(): Promise<void> {
  for (const be of BACKENDS) {
    const t = tools(be);
    const methods: Array<[label: string, name: string, cmd: string]> = [
      ['node', 'node -e 0', `${q(NODE)} -e 0`],
      ['save', 'iptkit save', iptkitCmd(`save --backend ${be}`)],
      ['list', 'iptkit list', iptkitCmd(`list --backend ${be}`)],
      ['tool', t.save, t.save],
    ];
    const base = (m: string) => ({ scenario: 'start-up', ports: 0, backend: be, method: m, kind: 'process' as const, unit: 'ms' as const });
    await withNetns(async (ns) => {
      // What iptkit prints must be what the tool prints; the listing first, since it makes the
      // table a legacy read instantiates (filter), so that the save and every timed run see
      // the same (empty) namespace.
      const theirList = ns.ok(t.iptables, ['-w', '-L']).stdout;
      const theirSave = ns.ok(t.save).stdout;
      const checks: Record<string, () => string | undefined> = {
        save: () => {
          const d = firstDifference(saveLines(ns.ok(NODE, [cliJs, 'save', '--backend', be]).stdout), saveLines(theirSave));
          return d && `iptkit save differs from ${t.save}: ${d}`;
        },
        list: () => {
          const mine = ns.ok(NODE, [cliJs, 'list', '--backend', be]).stdout;
          return mine === theirList ? undefined : `iptkit list differs from ${t.iptables} -L: ${firstDifference(mine.split('\n'), theirList.split('\n'))}`;
        },
      };
      const timedMethods = methods.filter(([l, m]) => {
        try {
          const d = checks[l]?.();
          if (d) throw new Error(d);
          return true;
        } catch (e) {
          record({ ...base(m), status: 'failed', error: errText(e) });
          return false;
        }
      });
      try {
        const k = cfg.startupSamples;
        const times = bashTimes(
          ns,
          `for i in $(seq 0 ${k}); do\n${timedMethods.map(([l, , cmd]) => `t0; ${cmd} > /dev/null || fail ${q(l)}; t1 ${l}$i`).join('\n')}\ndone`,
        );
        if (saved(ns, be).some((l) => l.startsWith('-A'))) throw new Error('the namespace is no longer empty');
        for (const [l, m] of timedMethods) record({ ...base(m), status: 'ok', stat: statOf(timed(times, l)) });
      } catch (e) {
        for (const [, m] of timedMethods) record({ ...base(m), status: 'failed', error: errText(e) });
      }
    });
  }
}

// ---------------------------------------------------------------------------------------
// Scenario: read all tables with counters

/** Compares an iptables-save text (iptkit's) with the tool's, table by table. */
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
  // With counters: the lines as printed (saveLines drops counters, so compare the raw lines).
  const raw = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const a = split(raw(tablesText));
  const b = split(raw(toolText));
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
      const text = hostText(n);
      await withNetns(async (ns) => {
        loadState(ns, be, text);
        await method({ scenario: 'read', ports: n, backend: be, method: 'Netfilter.read', kind: 'in-process', unit: 'ms' }, async () => {
          const nf = await Netfilter.open({ backend: be, netns: ns.name });
          const d = readMatches(await nf.save({ counters: true }), ns.ok(t.save, ['-c']).stdout);
          if (d) throw new Error(`save differs from ${t.save} -c: ${d}`);
          return tiny(`read ${n} ${be}`, () => nf.read(), { samples: cfg.readSamples, timeMs: cfg.timeMs, warmup: 1 });
        });
        const base = (m: string) => ({ scenario: 'read', ports: n, backend: be, method: m, kind: 'process' as const, unit: 'ms' as const });
        try {
          await check(ns, be, text, 'the state read');
          const d = readMatches(ns.ok(NODE, [cliJs, 'save', '-c', '--backend', be]).stdout, ns.ok(t.save, ['-c']).stdout);
          if (d) throw new Error(`iptkit save -c differs from ${t.save} -c: ${d}`);
          const times = bashTimes(
            ns,
            `for i in $(seq 0 ${cfg.readSamples}); do
t0; ${iptkitCmd(`save -c --backend ${be}`)} > /dev/null || fail iptkit save; t1 cli$i
t0; ${t.save} -c > /dev/null || fail ${t.save}; t1 tool$i
done`,
          );
          record({ ...base('iptkit save -c'), status: 'ok', stat: statOf(timed(times, 'cli')) });
          record({ ...base(`${t.save} -c`), status: 'ok', stat: statOf(timed(times, 'tool')) });
        } catch (e) {
          for (const m of ['iptkit save -c', `${t.save} -c`]) record({ ...base(m), status: 'failed', error: errText(e) });
        }
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario: publish / unpublish one port on a host with N ports (DockerHost, the public API)
//
// Every sample, the tool's and iptkit's, starts SETTLE_MS after the previous commit. nf_tables
// frees a commit's transactions after an RCU grace period (5-15 ms here), and a later commit
// that adds a compat extension (DNAT, MASQUERADE) waits for that first; so does closing a
// netfilter socket. iptables-nft-restore waits for its own commit's cleanup when it exits, so
// back to back its next run finds the kernel settled, while an in-process caller's next commit
// would pay for the previous one: the sample would time the previous operation's cleanup.

const SETTLE_MS = 20;
const SETTLE_SH = `sleep ${SETTLE_MS / 1000}`;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

async function incremental(): Promise<void> {
  for (const n of cfg.incNs) {
    for (const be of BACKENDS) {
      const t = tools(be);
      const port = dockerPort(n);
      const before = applyText(n);
      const after = applyText(n + 1);
      try {
        await withNetns(async (ns) => {
          // DockerHost.open → apply of N ports, untimed; then publish/unpublish, each timed
          // with the other half of the round trip untimed.
          const host = await DockerHost.open({ backend: be, netns: ns.name });
          await host.apply(dockerState(n));
          await check(ns, be, before, `after DockerHost.apply of ${n} ports`);
          const publish = async (): Promise<void> => {
            const r = await host.publish([port]);
            if (r.changed !== 1) throw new Error(`publish changed ${r.changed} ports`);
          };
          const unpublish = async (): Promise<void> => {
            const r = await host.unpublish([{ proto: 'tcp', hostPort: hostPort(n) }]);
            if (r.changed !== 1) throw new Error(`unpublish changed ${r.changed} ports`);
          };
          // The untimed half of each round trip, then the settle every sample starts from.
          const thenSettle = (f: () => Promise<void>) => async (): Promise<void> => {
            await f();
            await settle();
          };
          await publish();
          await check(ns, be, after, 'after DockerHost.publish');
          await unpublish();
          await check(ns, be, before, 'after DockerHost.unpublish');
          const o = { samples: cfg.incSamples, timeMs: cfg.incTimeMs, warmup: 2 };
          await method({ scenario: 'publish', ports: n, backend: be, method: 'DockerHost.publish', kind: 'in-process', unit: 'ms' }, () =>
            tiny(`publish ${n} ${be}`, publish, { ...o, afterEach: thenSettle(unpublish) }),
          );
          await method({ scenario: 'unpublish', ports: n, backend: be, method: 'DockerHost.unpublish', kind: 'in-process', unit: 'ms' }, () =>
            tiny(`unpublish ${n} ${be}`, unpublish, { ...o, beforeEach: thenSettle(publish) }),
          );
          await check(ns, be, before, 'after the timed runs');
        });
      } catch (e) {
        for (const scenario of ['publish', 'unpublish'] as const) {
          const m = `DockerHost.${scenario}`;
          if (!rows.some((r) => r.scenario === scenario && r.ports === n && r.backend === be && r.method === m)) {
            record({ scenario, ports: n, backend: be, method: m, kind: 'in-process', unit: 'ms', status: 'failed', error: errText(e) });
          }
        }
      }
      // The yardstick: iptables-restore -n of the same three rules (and of their deletion),
      // as a process, on the same host loaded by the tool.
      const name = `${t.restore} -n`;
      const up = `${t.restore} -n < ${fileOf(portRestoreInput(1, n))} || fail publish`;
      const down = `${t.restore} -n < ${fileOf(portDeleteRestoreInput(1, n))} || fail unpublish`;
      try {
        await withNetns(async (ns) => {
          loadState(ns, be, before);
          bashTimes(ns, up);
          await check(ns, be, after, `after ${name} (publish)`);
          bashTimes(ns, down);
          await check(ns, be, before, `after ${name} (unpublish)`);
          // One untimed round trip, then k timed ones.
          const times = bashTimes(ns, `for i in $(seq 0 ${cfg.incSamples}); do\n${SETTLE_SH}; t0; ${up}; t1 pub$i\n${SETTLE_SH}; t0; ${down}; t1 unpub$i\ndone`);
          await check(ns, be, before, 'after the timed runs');
          record({ scenario: 'publish', ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'ok', stat: statOf(timed(times, 'pub')) });
          record({ scenario: 'unpublish', ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'ok', stat: statOf(timed(times, 'unpub')) });
        });
      } catch (e) {
        for (const scenario of ['publish', 'unpublish'] as const) {
          record({ scenario, ports: n, backend: be, method: name, kind: 'process', unit: 'ms', status: 'failed', error: errText(e) });
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenario: DockerHost.apply of N ports into a fresh namespace

async function apply(): Promise<void> {
  for (const n of cfg.applyNs) {
    for (const be of BACKENDS) {
      const t = tools(be);
      const text = applyText(n);
      const state = dockerState(n);
      const k = cfg.freshSamples(n);
      await method({ scenario: 'apply', ports: n, backend: be, method: 'DockerHost.apply', kind: 'in-process', unit: 'ms' }, async () => {
        let ns: Netns | undefined;
        let host: DockerHost | undefined;
        try {
          return await tiny(`apply ${n} ${be}`, () => host!.apply(state), {
            samples: k,
            timeMs: 0,
            warmup: 1,
            beforeEach: async () => {
              ns = new Netns();
              host = await DockerHost.open({ backend: be, netns: ns.name });
            },
            afterEach: async () => {
              const x = ns!;
              ns = undefined;
              try {
                await check(x, be, text, 'after DockerHost.apply');
              } finally {
                x.delete();
              }
            },
          });
        } finally {
          ns?.delete();
        }
      });
      await method({ scenario: 'apply', ports: n, backend: be, method: t.restore, kind: 'process', unit: 'ms', note: "the same rules (Docker's model printed as restore text), full restore" }, async () => {
        const v: number[] = [];
        const f = fileOf(text);
        await freshRuns(k, async (ns, warm) => {
          const x = bashTimes(ns, `t0; ${t.restore} < ${f} || fail ${t.restore}; t1 run`).get('run') ?? [];
          await check(ns, be, text, `after ${t.restore}`);
          if (!warm) v.push(...x);
        });
        return statOf(v);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Event-loop stall and peak RSS growth of DockerHost.apply, each run in a child node process.

interface ChildOut {
  ms: number;
  maxStallMs?: number;
  rssGrowth: number;
  baselineRss: number;
  maxRss: number;
}

function runChild(args: readonly string[], prefix: readonly string[] = []): { out: ChildOut; stderr: string } {
  const cmd = [...prefix, NODE, '--expose-gc', childJs, ...args];
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
    const base = { ports: n, backend: be, method: 'DockerHost.apply', kind: 'in-process' as const };
    try {
      for (let i = 0; i < cfg.processRuns; i++) {
        await withNetns(async (ns) => {
          const { out } = runChild(['apply', be, ns.name, String(n), '--stall']);
          await check(ns, be, applyText(n), 'after the child apply');
          stalls.push(out.maxStallMs ?? NaN);
          growth.push(out.rssGrowth / 1e6);
        });
      }
      record({ ...base, scenario: 'event-loop stall', unit: 'ms', status: 'ok', stat: statOf(stalls), note: 'longest lateness of a 1 ms setInterval during the apply (child process, fresh namespace)' });
      record({ ...base, scenario: 'peak RSS growth', unit: 'MB', status: 'ok', stat: statOf(growth), note: 'maxRSS after the apply − RSS before it (child process, fresh namespace)' });
    } catch (e) {
      for (const scenario of ['event-loop stall', 'peak RSS growth'] as const) {
        record({ ...base, scenario, unit: scenario === 'peak RSS growth' ? 'MB' : 'ms', status: 'failed', error: errText(e) });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scale: DockerHost.apply of 100,000 ports (300,000 rules) against 10,000, each in a child
// process of its own into a fresh namespace (time and peak RSS growth); then, in that
// namespace, a re-apply of the same state (nothing to change) against a read of the tables.

async function scale(): Promise<void> {
  for (const be of BACKENDS) {
    for (const n of cfg.scaleNs) {
      const base = { ports: n, backend: be, kind: 'in-process' as const };
      const methods = [
        { scenario: 'scale apply', method: 'DockerHost.apply', unit: 'ms' as const, note: 'child process, fresh namespace' },
        { scenario: 'scale RSS', method: 'DockerHost.apply', unit: 'MB' as const, note: 'maxRSS after the apply − RSS before it (child process, fresh namespace)' },
        {
          scenario: 'scale re-apply',
          method: 'DockerHost.apply',
          unit: 'ms' as const,
          note: 'the same state again on the same DockerHost: nothing to change, and its tables unchanged since its last apply (their fingerprint)',
        },
        { scenario: 'scale re-apply', method: 'Netfilter.read', unit: 'ms' as const, note: 'all tables with counters, the same namespace' },
        {
          scenario: 'scale re-apply',
          method: 'DockerHost.apply, new host',
          unit: 'ms' as const,
          note: 'the same state from a new DockerHost each time (`iptkit docker apply` run again): the Docker record names the last apply, and the tables are as it left them',
        },
        {
          scenario: 'scale re-apply',
          method: 'DockerHost.apply, planned in full',
          unit: 'ms' as const,
          note: 'the same state on a DockerHost with no record of the last apply (removed): read and planned in full, nothing to change',
        },
        {
          scenario: 'scale apply',
          method: 'DockerHost.apply, layout v29',
          unit: 'ms' as const,
          note: "the same ports in Docker 29's layout, the default (per container a raw PREROUTING DROP; ACCEPTs inserted): child process, fresh namespace",
        },
      ];
      try {
        await withNetns(async (ns) => {
          const { out } = runChild(['apply', be, ns.name, String(n)]);
          await check(ns, be, applyText(n), `after the child apply of ${n} ports`);
          const host = await DockerHost.open({ backend: be, netns: ns.name });
          const nf = await Netfilter.open({ backend: be, netns: ns.name });
          const state = dockerState(n);
          const again: number[] = [];
          const reads: number[] = [];
          const newHost: number[] = [];
          const fresh: number[] = [];
          const unchanged = (r: Awaited<ReturnType<DockerHost['apply']>>): void => {
            const changed = [...(r.ipv4?.changed ?? []), ...(r.ipv6?.changed ?? [])];
            if (changed.length > 0) throw new Error(`the re-apply of ${n} ports changed ${changed.join(', ')}`);
          };
          // The first apply of this host, with the child's record removed, reads and plans
          // everything; the ones after it find the tables as it left them, and so does a new
          // host each time, through the record it wrote.
          rmSync(await recordPath(ns.name), { force: true });
          for (let i = 0; i <= cfg.scaleSamples; i++) {
            let t0 = performance.now();
            unchanged(await host.apply(state));
            (i === 0 ? fresh : again).push(performance.now() - t0);
            t0 = performance.now();
            await nf.read();
            reads.push(performance.now() - t0);
            if (i === 0) continue;
            t0 = performance.now();
            unchanged(await (await DockerHost.open({ backend: be, netns: ns.name })).apply(state));
            newHost.push(performance.now() - t0);
          }
          await check(ns, be, applyText(n), `after the re-apply of ${n} ports`);
          const v29 = await withNetns(async (ns29) => {
            const r = runChild(['apply', be, ns29.name, String(n), '--layout', 'v29']).out;
            await check(ns29, be, dockerApplyInput(n, undefined, 'v29'), `after the child apply of ${n} ports, layout v29`);
            return r.ms;
          });
          const values = [[out.ms], [out.rssGrowth / 1e6], again, reads, newHost, fresh, [v29]];
          methods.forEach((m, i) => record({ ...base, ...m, status: 'ok', stat: statOf(values[i]!) }));
        });
      } catch (e) {
        for (const m of methods) record({ ...base, ...m, status: 'failed', error: errText(e) });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// The kernel floor — strace -T of a child process doing the same commit or read.

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
  interface Job {
    scenario: string;
    ports: number;
    /** The state loaded (by the tool) before the child runs; undefined: a fresh namespace. */
    start?: string;
    mode: string;
    arg: number;
    kind: 'commit' | 'read';
  }
  const jobs: Job[] = [];
  if (want('restore')) for (const n of cfg.restoreNs) jobs.push({ scenario: 'restore', ports: n, mode: 'restore', arg: n, kind: 'commit' });
  if (want('incremental')) {
    for (const n of cfg.incNs) {
      jobs.push({ scenario: 'publish', ports: n, start: applyText(n), mode: 'publish', arg: n, kind: 'commit' });
      jobs.push({ scenario: 'unpublish', ports: n, start: applyText(n + 1), mode: 'unpublish', arg: n, kind: 'commit' });
    }
  }
  if (want('read')) for (const n of cfg.readNs) jobs.push({ scenario: 'read', ports: n, start: hostText(n), mode: 'read', arg: 0, kind: 'read' });
  if (want('apply')) for (const n of cfg.applyNs) jobs.push({ scenario: 'apply', ports: n, mode: 'apply', arg: n, kind: 'commit' });
  for (const j of jobs) {
    for (const be of BACKENDS) {
      await method({ scenario: j.scenario, ports: j.ports, backend: be, method: 'kernel floor', kind: 'kernel', unit: 'ms' }, async () => {
        const v: number[] = [];
        for (let i = 0; i < cfg.floorRuns; i++) {
          await withNetns((ns) => {
            if (j.start) loadState(ns, be, j.start);
            v.push(traced(j.kind, be, [j.mode, be, ns.name, String(j.arg)]));
          });
        }
        return statOf(v);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Targets (reported, never asserted)

/** The row of a scenario, back end and method at `ports` (default: the largest measured). */
function find(scenario: string, be: BackendKind, m: string, ports?: number): Row | undefined {
  const c = rows.filter((r) => r.scenario === scenario && r.backend === be && r.method === m && (ports === undefined || r.ports === ports));
  return c.sort((a, b) => b.ports - a.ports)[0];
}

function targets(): Target[] {
  const out: Target[] = [];
  const why = (...rs: Array<Row | undefined>): string =>
    rs.map((r) => (!r ? 'not measured' : r.status !== 'ok' ? `${r.method}: ${r.status}${r.error ? ` (${r.error.slice(0, 80)})` : ''}` : '')).filter(Boolean).join('; ');
  const at = (n: number, size: number | null): string => (size === null || n === size ? '' : ` [measured at N=${n.toLocaleString('en-US')}]`);
  /**
   * A ratio target: x = a / b, met when x ≥ goal ('faster': a is the yardstick's time, b
   * iptkit's) or x ≤ goal ('within': a is iptkit's time, b the yardstick's or the floor's).
   */
  const ratio = (name: string, kind: 'faster' | 'within', a: Row | undefined, b: Row | undefined, goal: number, size: number | null = BIG): void => {
    const g = kind === 'faster' ? `≥ ${goal}× faster` : `≤ ${goal}×`;
    if (ok(a) && ok(b)) {
      const x = a.stat.median / b.stat.median;
      out.push({
        name: name + at(Math.min(a.ports, b.ports), size),
        goal: g,
        measured: `${x.toFixed(2)}× (${fmt(a.stat.median)} vs ${fmt(b.stat.median)})`,
        met: kind === 'faster' ? x >= goal : x <= goal,
      });
    } else out.push({ name, goal: g, measured: why(a, b) || 'n/a', met: null });
  };
  const atMost = (name: string, val: Row | undefined, goal: number, unit: 'ms' | 'MB', size: number = BIG): void => {
    const u = (v: number) => (unit === 'MB' ? `${v.toFixed(1)} MB` : fmt(v));
    if (ok(val)) out.push({ name: name + at(val.ports, size), goal: `≤ ${u(goal)}`, measured: `${u(val.stat.median)} median, ${u(val.stat.max)} max`, met: val.stat.median <= goal });
    else out.push({ name, goal: `≤ ${u(goal)}`, measured: why(val) || 'n/a', met: null });
  };
  const faster = { legacy: 2.5, nft: 1.25 };
  const cliGoal = { legacy: 1.25, nft: 1.0 };
  for (const be of BACKENDS) {
    const t = tools(be);
    const mine = find('restore', be, 'Netfilter.restore');
    const n = mine?.ports;
    ratio(`1. Netfilter.restore of 10,000 ports into a fresh namespace, ${be}: faster than ${t.restore}`, 'faster', find('restore', be, t.restore, n), mine, faster[be]);
    ratio(`1. Netfilter.restore of 10,000 ports, ${be}: within its kernel floor`, 'within', mine, find('restore', be, 'kernel floor', n), 1.3);
    ratio(`2. iptkit restore < file (command), ${be}: time against ${t.restore}'s`, 'within', find('restore', be, 'iptkit restore', n), find('restore', be, t.restore, n), cliGoal[be]);
  }
  for (const be of BACKENDS) {
    const node = find('start-up', be, 'node -e 0');
    const tool = find('start-up', be, tools(be).save);
    for (const m of ['iptkit save', 'iptkit list']) {
      ratio(`3. ${m} of an empty namespace, ${be}: against node -e 0 (${tools(be).save}: ${ok(tool) ? fmt(tool.stat.median) : 'n/a'})`, 'within', find('start-up', be, m), node, 1.3, null);
    }
  }
  for (const be of BACKENDS) {
    const t = tools(be);
    const mine = find('read', be, 'Netfilter.read');
    ratio(`4. Netfilter.read with counters, 30,000 rules, ${be}: within its kernel floor`, 'within', mine, find('read', be, 'kernel floor', mine?.ports), 1.3);
    ratio(`4. iptkit save -c (command), 30,000 rules, ${be}: no slower than ${t.save} -c`, 'within', find('read', be, 'iptkit save -c'), find('read', be, `${t.save} -c`), 1.0);
  }
  for (const n of cfg.incNs) {
    for (const be of BACKENDS) {
      for (const op of ['publish', 'unpublish'] as const) {
        ratio(`5. DockerHost.${op} of one port on a ${n.toLocaleString('en-US')}-port host, ${be}: faster than ${tools(be).restore} -n`, 'faster', find(op, be, `${tools(be).restore} -n`, n), find(op, be, `DockerHost.${op}`, n), 1, n);
      }
    }
  }
  for (const be of BACKENDS) atMost(`6. peak RSS growth of DockerHost.apply of 10,000 ports, ${be}`, find('peak RSS growth', be, 'DockerHost.apply'), 60, 'MB');
  for (const be of BACKENDS) atMost(`6. event-loop stall during DockerHost.apply of 10,000 ports, ${be}`, find('event-loop stall', be, 'DockerHost.apply'), 5, 'ms');
  if (BACKENDS.includes('legacy')) {
    const mine = find('apply', 'legacy', 'DockerHost.apply');
    ratio('7. DockerHost.apply of 10,000 ports, legacy: faster than iptables-legacy-restore of the same rules', 'faster', find('apply', 'legacy', 'iptables-legacy-restore', mine?.ports), mine, 2);
  }
  const SCALE = 100_000;
  for (const be of BACKENDS) {
    const apply = (n: number) => find('scale apply', be, 'DockerHost.apply', n);
    ratio(`8. DockerHost.apply of 100,000 ports, ${be}: time against 10,000 ports'`, 'within', apply(SCALE), apply(BIG), 12, null);
    ratio(`8. re-apply of 100,000 ports (nothing to change), ${be}: against a read of the tables`, 'within', find('scale re-apply', be, 'DockerHost.apply', SCALE), find('scale re-apply', be, 'Netfilter.read', SCALE), 1, null);
    ratio(`8. re-apply of 100,000 ports from a new DockerHost (iptkit docker apply again), ${be}: against a read of the tables`, 'within', find('scale re-apply', be, 'DockerHost.apply, new host', SCALE), find('scale re-apply', be, 'Netfilter.read', SCALE), 1, null);
    atMost(`8. peak RSS growth of DockerHost.apply of 100,000 ports, ${be}`, find('scale RSS', be, 'DockerHost.apply', SCALE), 300, 'MB', SCALE);
  }
  return out;
}

// ---------------------------------------------------------------------------------------

function toolVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim().split('\n')[0] ?? '';
}

/** Replaces the README's section between the bench markers with the results. */
function writeReadme(path: string, results: Results): void {
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf('<!-- bench:start -->');
  const b = text.indexOf('<!-- bench:end -->');
  if (a < 0 || b < a) throw new Error(`${path}: no <!-- bench:start --> … <!-- bench:end --> section`);
  writeFileSync(path, text.slice(0, a) + '<!-- bench:start -->\n' + renderReadme(results, 'bench/results/commit-time.svg') + text.slice(b));
}

async function main(): Promise<void> {
  installCleanup();
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it creates network namespaces)');
  for (const tool of ['ip', 'nsenter', 'bash', 'strace', 'nft', 'iptables-legacy-restore', 'iptables-nft-restore']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is not installed (npm run setup installs it)`);
  }
  if (!existsSync(cliJs)) throw new Error(`${cliJs} is missing (npm run build makes it)`);
  log(
    `${quick ? 'quick' : 'full'} run: restore N = ${cfg.restoreNs.join(', ')}; publish N = ${cfg.incNs.join(', ')}; read N = ${cfg.readNs.join(', ')}; apply N = ${cfg.applyNs.join(', ')}; child N = ${cfg.processN}; back ends ${BACKENDS.join(', ')}`,
  );
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
      'workload: N published ports in Docker’s classic layout (3 rules each: nat DOCKER DNAT, nat POSTROUTING MASQUERADE, filter DOCKER ACCEPT) on one bridge network; restore and read: that host as one iptables-restore input (10,000 ports = 30,000 rules, nat + filter); apply and publish: DockerHost with the same ports as a Docker state',
      'in-process: tinybench (warm-up, then samples) in the bench’s node process; restore and apply: each sample into a fresh namespace (created, opened, checked and deleted untimed); publish/unpublish: the other half of the round trip untimed',
      'commands (iptkit, the tools, node -e 0): whole-process wall time, run by one bash inside the namespace ($EPOCHREALTIME), after one untimed warm-up run; iptkit is `node dist/iptkit.cjs … --backend B` (the bundled bin); restore samples each in a fresh namespace; without NODE_EXTRA_CA_CERTS' +
        (extraCaCerts !== undefined ? ' (set in this environment, cleared for the run: it adds ~45 ms to every node start)' : ''),
      'apply’s yardstick: the back end’s restore tool loading the same rules (Docker’s model, desiredRules, printed as restore text) into a fresh namespace; publish’s: `iptables-restore -n` of the same three rules (unpublish: their -D lines) on the same host',
      'end state: every method’s iptables-save rule lines are compared with a namespace the back end’s own restore tool loaded with the same rules before its time counts; reads and `iptkit save`/`list` are compared with iptables-save -c / iptables -L output',
      'kernel floor: strace -f -T (seccomp-bpf) of a child process doing the same operation; legacy: IPT_SO_SET_REPLACE + IPT_SO_SET_ADD_COUNTERS; nft: the batch sendto and the sends/acks after it; read: getsockopt (legacy) or all netlink send/recv (nft)',
    ],
  };
  for (const be of BACKENDS) {
    try {
      await reference(be, hostText(0));
    } catch (e) {
      log(`${be}: cannot load the Docker host with its tools: ${errText(e)}`);
    }
  }
  if (want('restore')) {
    log('restore: full restore into a fresh namespace (in-process, iptkit restore, the tools)');
    await restoreScenario();
  }
  if (want('startup')) {
    log('start-up: iptkit save / list of an empty namespace, node -e 0');
    await startup();
  }
  if (want('read')) {
    log('read with counters');
    await read();
  }
  if (want('incremental')) {
    log('DockerHost.publish / unpublish of one port');
    await incremental();
  }
  if (want('apply')) {
    log('DockerHost.apply into a fresh namespace');
    await apply();
  }
  if (want('process')) {
    log(`event loop and memory of DockerHost.apply (${cfg.processN.toLocaleString('en-US')} ports, child process)`);
    await processScenarios();
  }
  // The scale run takes minutes (a read of 300,000 nf_tables rules alone takes over a minute:
  // the kernel's rule dump restarts from the chain's start for every message): full runs, or
  // --only=scale.
  if ((!quick && want('scale')) || only?.includes('scale')) {
    log(`scale: DockerHost.apply of ${cfg.scaleNs.map((n) => n.toLocaleString('en-US')).join(' and ')} ports, re-apply, read`);
    await scale();
  }
  if (want('floor')) {
    log('kernel floors (strace)');
    await floors();
  }
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
  if (readmePath) {
    writeReadme(readmePath, results);
    log(`wrote the bench section of ${readmePath}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`[bench] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
