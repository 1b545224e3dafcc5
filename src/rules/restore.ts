// iptables-restore input without a kernel: parseRestore gives its steps as the native dialect
// reads them (every rule in canonical form, every error naming its line and token), and
// restoreResult the tables the native restore would leave behind from given tables.

import { nativeDialect } from '../binding.js';
import type { Counters, Family, Rule, Table } from './model.js';
import { decodeTable, type ReadWire } from './wire.js';

export interface ParseRestoreOptions {
  family: Family;
  /** `-c`: take `[p:b]` counters of chains and rules from the input. */
  counters?: boolean;
  /** `-T NAME`: restore only this table; the others are read and skipped. */
  table?: string;
}

/** A `:CHAIN POLICY [p:b]` line. */
export interface ChainDeclaration {
  name: string;
  /** Absent for `-` (user chains, or a built-in chain whose policy stays). */
  policy?: 'ACCEPT' | 'DROP';
  /** With -c, for a chain whose policy is set. */
  counters?: Counters;
  line: number;
}

/** A command of an iptables-restore line; rule numbers are 1-based as on the command line. */
export type RestoreCommand = { line: number } & (
  | { op: 'append'; chain: string; rule: Rule; jump?: string; counters?: Counters }
  | { op: 'delete'; chain: string; rule: Rule; jump?: string; counters?: Counters }
  | { op: 'check'; chain: string; rule: Rule; jump?: string; counters?: Counters }
  | { op: 'insert' | 'replace'; chain: string; index: number; rule: Rule; jump?: string; counters?: Counters }
  | { op: 'deleteNum'; chain: string; index: number }
  | { op: 'newChain'; chain: string }
  | { op: 'deleteChain' | 'flush' | 'zero'; chain?: string }
  | { op: 'policy'; chain: string; policy: 'ACCEPT' | 'DROP' }
  | { op: 'rename'; chain: string; newName: string }
);

export type RestoreStep = { kind: 'chain'; chain: ChainDeclaration } | { kind: 'command'; command: RestoreCommand };

export interface RestoreTable {
  name: string;
  family: Family;
  /** The `*table` line. */
  line: number;
  /** Declarations and commands in input order, as iptables-restore runs them. */
  steps: RestoreStep[];
  commitLine: number;
}

const OPS: Record<string, RestoreCommand['op']> = {
  '-A': 'append', '-I': 'insert', '-R': 'replace', '-D': 'delete', '-C': 'check', '-N': 'newChain',
  '-X': 'deleteChain', '-F': 'flush', '-Z': 'zero', '-P': 'policy', '-E': 'rename',
};

/** One canonical step of the native parser (`-A CHAIN rule`, `-I CHAIN 2 rule`, `-N X`, …). */
function command(text: string, line: number, jump: string | null, counters: Counters | undefined): RestoreCommand {
  const sp1 = text.indexOf(' ');
  const flag = sp1 < 0 ? text : text.slice(0, sp1);
  const op = OPS[flag];
  if (op === undefined) throw new Error(`internal: unexpected restore step ${JSON.stringify(text)}`);
  if (sp1 < 0) return { line, op: op as 'flush' };
  const sp2 = text.indexOf(' ', sp1 + 1);
  const chain = sp2 < 0 ? text.slice(sp1 + 1) : text.slice(sp1 + 1, sp2);
  const rest = sp2 < 0 ? '' : text.slice(sp2 + 1);
  const extra = { ...(jump !== null ? { jump } : {}), ...(counters ? { counters } : {}) };
  switch (op) {
    case 'append':
    case 'check':
      return { line, op, chain, rule: rest, ...extra };
    case 'delete':
      // `-D CHAIN N` (no rule) or `-D CHAIN rule`: a rule's text never starts with a digit.
      if (/^[0-9]+$/.test(rest)) return { line, op: 'deleteNum', chain, index: Number(rest) };
      return { line, op, chain, rule: rest, ...extra };
    case 'insert':
    case 'replace': {
      const sp = rest.indexOf(' ');
      const index = Number(sp < 0 ? rest : rest.slice(0, sp));
      return { line, op, chain, index, rule: sp < 0 ? '' : rest.slice(sp + 1), ...extra };
    }
    case 'policy':
      return { line, op, chain, policy: rest as 'ACCEPT' | 'DROP' };
    case 'rename':
      return { line, op, chain, newName: rest };
    case 'newChain':
      return { line, op, chain };
    default:
      return { line, op: op as 'flush', chain };
  }
}

/** Parses iptables-restore input. Throws ParseError naming the line and token. */
export function parseRestore(text: string, opts: ParseRestoreOptions): RestoreTable[] {
  const tables = nativeDialect.restore(opts.family, text, opts.counters ?? false, opts.table ?? null);
  return tables.map((t) => {
    const steps: RestoreStep[] = new Array(t.steps.length);
    for (let k = 0; k < t.steps.length; k++) {
      const s = t.steps[k]!;
      const line = t.lines[k]!;
      if (s.charCodeAt(0) === 0x3a /* : */) {
        const [name, policy, ctrs] = s.slice(1).split(' ');
        const chain: ChainDeclaration = { name: name!, line };
        if (policy !== '-') chain.policy = policy as 'ACCEPT' | 'DROP';
        if (ctrs) {
          const [p, b] = ctrs.slice(1, -1).split(':');
          chain.counters = { packets: BigInt(p!), bytes: BigInt(b!) };
        }
        steps[k] = { kind: 'chain', chain };
      } else {
        const counters = t.hasCounters[k] ? { packets: t.counters[2 * k]!, bytes: t.counters[2 * k + 1]! } : undefined;
        steps[k] = { kind: 'command', command: command(s, line, t.jumps[k]!, counters) };
      }
    }
    return { name: t.name, family: opts.family, line: t.line, steps, commitLine: t.commitLine };
  });
}

/** A table as a read's wire gives it (docs/wire.md "Read"), for restoreResult's `current`. */
function readWire(t: Table): ReadWire {
  const lines = [`table\t${t.name}\t${t.family}`];
  let n = 0;
  for (const c of t.chains) n += c.rules.length;
  const counters = new BigUint64Array(2 * n);
  let at = 0;
  for (const c of t.chains) {
    const head = c.policy
      ? `chain\t${c.name}\t${c.policy}\t${c.counters?.packets ?? 0n}\t${c.counters?.bytes ?? 0n}`
      : `chain\t${c.name}\t-\t${c.references ?? 0}`;
    lines.push(`${head}\t${c.rules.length}`, ...c.rules);
    if (c.ruleCounters) counters.set(c.ruleCounters.subarray(0, 2 * c.rules.length), at);
    at += 2 * c.rules.length;
  }
  return { wire: lines.join('\n') + '\n', counters };
}

export interface RestoreResultOptions {
  family: Family;
  /** `-c`: take `[p:b]` counters of chains and rules from the input. */
  counters?: boolean;
  /** `-n`: keep what the input does not mention. */
  noflush?: boolean;
  /** `-T NAME`: restore only this table. */
  table?: string;
}

/**
 * The tables iptables-restore leaves behind when it runs `text` against `current` (the
 * kernel's tables now; a table not given is taken as not loaded): the native restore's own
 * step semantics, without a kernel. Without noflush every chain is flushed and the user
 * chains deleted first; policies stay unless a line sets them; counters are zero unless given
 * (-c). Chains come out as the kernel orders them. Throws ParseError naming the line.
 */
export function restoreResult(text: string, opts: RestoreResultOptions, current: readonly Table[] = []): Table[] {
  const reads = nativeDialect.restoreResult(
    opts.family,
    text,
    { counters: opts.counters ?? false, noflush: opts.noflush ?? false, table: opts.table ?? null },
    current.map(readWire),
  );
  return reads.map((r) => decodeTable(r).table);
}
