// The differential fuzzer's runner: each case goes to the real iptables-*-restore in one
// namespace and to iptkit (the library, in-process) in another, both holding the same base;
// the real iptables-*-save of each namespace is the oracle. Namespaces are reused, reset with
// the real tool only when a case changed them, and always deleted.

import { Netfilter } from '../../src/netfilter.js';
import { NetfilterError, ParseError } from '../../src/errors.js';
import type { Family } from '../../src/rules/model.js';
import { Netns } from '../helpers/netns.js';
import { allowance } from './allow.js';
import { makeCase, type Case } from './mutate.js';
import type { Regression } from './regressions.js';
import { base, seeds } from './seeds.js';

export const CLASSES = [
  'crash',
  'hang',
  'accepted but iptables refuses',
  'refused but iptables accepts',
  'table changed on failure',
  'different rule committed',
  'error without a line',
] as const;
export type FindingClass = (typeof CLASSES)[number];

export interface RunOptions {
  seed: number;
  cases: number;
  backend: 'legacy' | 'nft';
  family: Family;
  /** Cases run at once, each on its own pair of namespaces (default 2). */
  workers?: number;
  /** Run only these case numbers (replaying findings). */
  only?: readonly number[];
  /** Run these inputs instead of mutations (earlier findings). */
  fixed?: readonly Regression[];
  /** How long iptkit may take on one case before it is a hang (default 90 s). */
  hangMs?: number;
}

export interface Finding extends Case {
  class: FindingClass;
  seed: number;
  backend: 'legacy' | 'nft';
  family: Family;
  tool: { status: number; stderr: string };
  iptkit: string;
  /** Why: the save lines that differ, or the line numbers. */
  detail?: string;
  /** Set when an allow-list entry covers it. */
  allowedBecause?: string;
}

export interface Report {
  cases: number;
  findings: Finding[];
  allowed: Finding[];
  /** Cases by outcome: both accepted, both refused, … */
  outcomes: Record<string, number>;
}

const HANG = Symbol('hang');
// The real tool waits for the xtables lock without end (-w); iptkit waits this long, well past
// what other test files hold it for, so that a busy machine is not a refusal.
const LOCK_WAIT_MS = 60_000;
const REGRESSION = 'regression: ';

/** iptables-save output without comments and counters. */
function normal(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, '').replace(/^\[\d+:\d+\] /, ''));
}

/** The line the real tool names: "Error occurred at line: N", "line N failed", "… at line N". */
export function toolLine(stderr: string): number | undefined {
  const m = /Error occurred at line: (\d+)|line (\d+)/.exec(stderr);
  return m ? Number(m[1] ?? m[2]) : undefined;
}

function ourLine(message: string): number | undefined {
  const m = /\bline (\d+)\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}

function diff(a: string[], b: string[]): string {
  const only = (x: string[], y: string[]) => x.filter((l) => !y.includes(l));
  const lines = [...only(a, b).map((l) => `iptables: ${l}`), ...only(b, a).map((l) => `iptkit:   ${l}`)];
  return lines.length ? lines.join('\n') : 'the same lines in another order:\n' + a.map((l, i) => `${l === b[i] ? ' ' : '≠'} ${l}   |   ${b[i] ?? ''}`).join('\n');
}

/** The input's lines up to `line`, closed with a COMMIT when its last table has none. */
function upTo(input: string, line: number): string {
  const lines = input.split('\n').slice(0, line);
  const last = (f: (l: string) => boolean) => lines.reduce((at, l, i) => (f(l) ? i : at), -1);
  const open = last((l) => l.startsWith('*')) > last((l) => l === 'COMMIT');
  return lines.join('\n') + (open ? '\nCOMMIT\n' : '\n');
}

interface Pair {
  theirs: Netns;
  ours: Netns;
  nf: Netfilter;
}

/** Runs the cases; resolves with every finding (none thrown); deletes its namespaces. */
export async function runDiffFuzz(o: RunOptions): Promise<Report> {
  const ip = o.family === 'ipv4' ? 'iptables' : 'ip6tables';
  const restoreTool = `${ip}-${o.backend}-restore`;
  const saveTool = `${ip}-${o.backend}-save`;
  const baseText = base(o.family);
  const corpus = seeds(o.family);
  const hangMs = o.hangMs ?? 90_000;
  const report: Report = { cases: 0, findings: [], allowed: [], outcomes: {} };
  const todo = o.fixed ? o.fixed.map((_, i) => i) : o.only ? [...o.only] : Array.from({ length: o.cases }, (_, i) => i);
  const caseOf = (i: number): Case => {
    const f = o.fixed?.[i];
    return f ? { index: i, input: f.input, noflush: f.noflush ?? false, mutations: [`${REGRESSION}${f.name}`] } : makeCase(o.seed, i, corpus);
  };
  const pairs: Pair[] = [];
  const spaces: Netns[] = [];
  let hung = false;

  const save = async (ns: Netns) => {
    const r = await ns.exec(saveTool);
    if (r.status !== 0) throw new Error(`${saveTool} in ${ns.name} exited ${r.status}: ${r.stderr.trim()}`);
    return normal(r.stdout);
  };
  const reset = async (ns: Netns) => {
    const r = await ns.exec(restoreTool, ['-w'], baseText);
    if (r.status !== 0) throw new Error(`${restoreTool} of the base in ${ns.name} exited ${r.status}: ${r.stderr.trim()}`);
  };

  async function runCase(p: Pair, baseSave: string[], c: Case): Promise<void> {
    const flags = c.noflush ? ['-w', '-n'] : ['-w'];
    const [tool, mine] = await Promise.all([
      p.theirs.exec(restoreTool, flags, c.input, hangMs),
      Promise.race([
        p.nf.restore(c.input, { noflush: c.noflush }).then(
          () => ({ ok: true as const }),
          (e: unknown) => ({ ok: false as const, error: e }),
        ),
        new Promise<typeof HANG>((resolve) => setTimeout(resolve, hangMs, HANG).unref()),
      ]),
    ]);
    if (tool.signal === 'SIGKILL') throw new Error(`${restoreTool} did not finish on case ${c.index} of seed ${o.seed}:\n${c.input}`);
    report.cases++;
    const finding = (cls: FindingClass, iptkit: string, detail?: string): void => {
      const f: Finding = { ...c, class: cls, seed: o.seed, backend: o.backend, family: o.family, tool: { status: tool.status, stderr: tool.stderr.trim() }, iptkit, ...(detail ? { detail } : {}) };
      const a = allowance(cls, { backend: o.backend, input: c.input, tool: f.tool.stderr, toolOut: tool.stdout, iptkit });
      if (a) report.allowed.push({ ...f, allowedBecause: a.reason });
      else report.findings.push(f);
    };
    if (mine === HANG) {
      hung = true;
      finding('hang', `no answer in ${hangMs} ms`);
      return;
    }
    const [savedTheirs, savedOurs] = await Promise.all([save(p.theirs), save(p.ours)]);
    if (tool.signal) {
      // The real tool itself died (iptables-nft-restore 1.8.9 segfaults on -n with
      // `-I INPUT 2 …` then `-R INPUT 2 …`, for one): there is no oracle for this case, so
      // only what needs none is checked.
      report.outcomes[`${restoreTool} killed by ${tool.signal}`] = (report.outcomes[`${restoreTool} killed by ${tool.signal}`] ?? 0) + 1;
      if (!mine.ok && !(mine.error instanceof ParseError || mine.error instanceof NetfilterError)) finding('crash', String(mine.error));
      await Promise.all([reset(p.theirs), reset(p.ours)]);
      return;
    }
    const toolOk = tool.status === 0;
    let earlier: number | undefined;
    const outcome = `${toolOk ? 'iptables accepts' : 'iptables refuses'}, ${mine.ok ? 'iptkit accepts' : 'iptkit refuses'}`;
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    if (!mine.ok) {
      const e = mine.error;
      const message = e instanceof Error ? e.message : String(e);
      if (!(e instanceof ParseError || e instanceof NetfilterError)) {
        // What the command prints as "internal error" with exit 70.
        finding('crash', e instanceof Error ? (e.stack ?? message) : message);
      } else {
        if (toolOk) finding('refused but iptables accepts', message);
        const ours = ourLine(message);
        const theirs = toolOk ? undefined : toolLine(tool.stderr);
        if (ours === undefined) {
          finding('error without a line', message, 'no line named');
        } else if (theirs !== undefined && ours !== theirs) {
          // iptables stops at the first line that fails, parse or kernel; iptkit parses the
          // whole input before it plans and commits it (all or nothing), so a later line's
          // parse error may come first. That is fine when iptkit, given the input up to
          // iptables' line, refuses that line too; checked below, after the saves.
          if (ours < theirs) finding('error without a line', message, `iptkit names line ${ours}, iptables line ${theirs}`);
          else earlier = theirs;
        }
      }
      if (savedOurs.join('\n') !== baseSave.join('\n')) finding('table changed on failure', message, diff(baseSave, savedOurs));
    } else if (!toolOk) {
      finding('accepted but iptables refuses', 'accepted');
    } else if (savedTheirs.join('\n') !== savedOurs.join('\n')) {
      finding('different rule committed', 'accepted', diff(savedTheirs, savedOurs));
    }
    let oursChanged = savedOurs.join('\n') !== baseSave.join('\n');
    if (earlier !== undefined) {
      if (oursChanged) await reset(p.ours);
      const prefix = upTo(c.input, earlier);
      const again = await p.nf.restore(prefix, { noflush: c.noflush }).then(
        () => 'accepted',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      if (ourLine(again) !== earlier) {
        finding('error without a line', again, `iptables names line ${earlier}; iptkit named a later line, and given the input up to line ${earlier} it says: ${again}\n  prefix: ${JSON.stringify(prefix)}`);
      }
      oursChanged = (await save(p.ours)).join('\n') !== baseSave.join('\n');
    }
    await Promise.all([
      savedTheirs.join('\n') !== baseSave.join('\n') ? reset(p.theirs) : undefined,
      oursChanged ? reset(p.ours) : undefined,
    ]);
  }

  try {
    const workers = Math.max(1, Math.min(o.workers ?? 2, todo.length));
    for (let w = 0; w < workers; w++) {
      const theirs = new Netns('iptkit-dfz');
      spaces.push(theirs);
      const ours = new Netns('iptkit-dfz');
      spaces.push(ours);
      pairs.push({ theirs, ours, nf: await Netfilter.open({ backend: o.backend, family: o.family, netns: ours.name, lockTimeoutMs: LOCK_WAIT_MS }) });
    }
    await Promise.all(pairs.flatMap((p) => [reset(p.theirs), reset(p.ours)]));
    const baseSave = await save(pairs[0]!.theirs);
    await Promise.all(
      pairs.map(async (p) => {
        for (let i = todo.shift(); i !== undefined && !hung; i = todo.shift()) {
          await runCase(p, baseSave, caseOf(i));
        }
      }),
    );
  } finally {
    // A hung native call may still hold its namespace open; deleting the name is still right.
    for (const ns of spaces) ns.delete();
  }
  report.findings.sort((a, b) => a.index - b.index);
  return report;
}

/** A finding as the reader replays it: the class, the command line, the tools' words, the input. */
export function describe(f: Finding): string {
  return [
    `[${f.class}] ${f.backend} ${f.family} seed ${f.seed} case ${f.index}${f.noflush ? ' (-n)' : ''}: ${f.mutations.join(', ') || 'no mutation'}`,
    f.mutations[0]?.startsWith(REGRESSION)
      ? `  replay: npx vitest run test/kernel/difffuzz.test.ts (test/difffuzz/regressions.ts)`
      : `  replay: npm run difffuzz -- --seed ${f.seed} --backend ${f.backend} --family ${f.family} --case ${f.index}`,
    `  iptables (exit ${f.tool.status}): ${f.tool.stderr.replace(/\n+/g, ' | ') || '-'}`,
    `  iptkit: ${f.iptkit.replace(/\n/g, '\n    ')}`,
    ...(f.detail ? [`  ${f.detail.replace(/\n/g, '\n  ')}`] : []),
    ...(f.allowedBecause ? [`  allowed: ${f.allowedBecause}`] : []),
    `  input: ${JSON.stringify(f.input)}`,
  ].join('\n');
}
