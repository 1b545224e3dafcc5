// iptables-restore input: parseRestore reads the text with the native dialect (every rule in
// canonical form, every error naming its line and token), and applyRestore computes the table
// iptables-restore would leave behind from the table as it is now. Nothing here touches the
// kernel.

import { nativeDialect } from '../binding.js';
import { ParseError } from '../errors.js';
import type { Chain, Counters, Family, Rule, Table, TableName } from './model.js';
import { BUILTIN_CHAINS } from './model.js';

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

/**
 * Whether a rule of the table carries its own counters (`-c P B` on the line, honoured with
 * or without restore's -c, as iptables-restore does): such a table is committed with counters.
 */
export function carriesCounters(t: RestoreTable): boolean {
  return t.steps.some((s) => s.kind === 'command' && 'counters' in s.command && s.command.counters !== undefined);
}

function fail(line: number, message: string, token?: string): never {
  throw new ParseError(message, { line, ...(token !== undefined ? { token } : {}) });
}

export interface ApplyRestoreOptions {
  counters?: boolean;
  noflush?: boolean;
}

/** A chain while a restore runs: its rules, their jump targets and counters side by side. */
interface Working {
  name: string;
  policy?: 'ACCEPT' | 'DROP';
  counters?: Counters;
  rules: Rule[];
  /** The chain each rule jumps to (-j/-g CHAIN), or undefined. */
  jumps: (string | undefined)[];
  /** Per rule: the counters to set (restore -c), or undefined for zero. */
  ruleCounters: (Counters | undefined)[];
}

const ZERO: Counters = Object.freeze({ packets: 0n, bytes: 0n }) as Counters;

/** The chain a canonical rule jumps to: its last `-j X` / `-g X` when X is not a target. */
function jumpOf(rule: Rule, chains: ReadonlyMap<string, Working>): string | undefined {
  const m = /(?:^| )-[jg] (\S+)$/.exec(rule);
  return m && chains.has(m[1]!) ? m[1] : undefined;
}

/**
 * The table iptables-restore leaves behind when it runs `parsed` against `current` (the
 * kernel's table now, or undefined when the table is not loaded). Without noflush every chain
 * is flushed and the user chains deleted first; policies stay unless a line sets them;
 * counters are zero unless given (-c). Chains come out as the kernel orders them: built-ins
 * in hook order, then user chains by name; user chains carry their reference counts, and
 * with counters every chain carries its rules' counters.
 */
export function applyRestore(parsed: RestoreTable, current: Table | undefined, opts: ApplyRestoreOptions = {}): Table {
  const builtins = BUILTIN_CHAINS[parsed.name as TableName];
  if (!builtins) fail(parsed.line, `can't initialize table \`${parsed.name}': Table does not exist`, parsed.name);
  const family = parsed.family;
  const byName = new Map<string, Working>();
  if (current && opts.noflush) {
    for (const c of current.chains) {
      const w: Working = { name: c.name, rules: c.rules.slice(), jumps: [], ruleCounters: [] };
      if (c.policy) {
        w.policy = c.policy;
        // Observed with iptables-legacy-restore -n 1.8.9: without -c the built-in policies'
        // counters come back zero, while rule counters survive.
        w.counters = opts.counters ? c.counters ?? ZERO : ZERO;
      }
      byName.set(c.name, w);
    }
    for (const w of byName.values()) {
      w.jumps = w.rules.map((r) => jumpOf(r, byName));
      const src = current.chains.find((c) => c.name === w.name)!;
      w.ruleCounters = w.rules.map((_, i) =>
        src.ruleCounters && 2 * i + 1 < src.ruleCounters.length ? { packets: src.ruleCounters[2 * i]!, bytes: src.ruleCounters[2 * i + 1]! } : undefined,
      );
    }
  } else {
    for (const name of builtins) {
      const policy = current?.chains.find((c) => c.name === name)?.policy ?? 'ACCEPT';
      byName.set(name, { name, policy, counters: ZERO, rules: [], jumps: [], ruleCounters: [] });
    }
  }
  const isBuiltin = (name: string): boolean => builtins.includes(name);
  const failed: (line: number, why: string, token?: string) => never = (line, why, token) =>
    fail(line, `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore: line ${line} failed: ${why}`, token);
  const need = (line: number, name: string): Working => {
    const c = byName.get(name);
    if (!c) failed(line, `chain \`${name}' does not exist`, name);
    return c;
  };
  const references = (name: string): number => {
    let refs = 0;
    for (const c of byName.values()) for (const j of c.jumps) if (j === name) refs++;
    return refs;
  };
  const checkJump = (line: number, jump: string | undefined): void => {
    if (jump === undefined) return;
    if (!byName.has(jump)) fail(line, `Couldn't load target \`${jump}': No such file or directory (no chain and no target iptkit understands has that name)`, jump);
    if (isBuiltin(jump)) failed(line, `cannot jump to the built-in chain \`${jump}'`, jump);
  };
  const emptyOf = (c: Working): void => {
    c.rules = [];
    c.jumps = [];
    c.ruleCounters = [];
  };

  for (const step of parsed.steps) {
    if (step.kind === 'chain') {
      const d = step.chain;
      if (isBuiltin(d.name)) {
        const c = byName.get(d.name)!;
        if (d.policy) {
          c.policy = d.policy;
          // iptables-restore always passes counters with a policy: zero unless -c gave them.
          c.counters = opts.counters && d.counters ? { ...d.counters } : ZERO;
        }
      } else {
        const c = byName.get(d.name);
        if (c && opts.noflush) emptyOf(c);
        else if (c) failed(d.line, `error creating chain '${d.name}': File exists`, d.name);
        else byName.set(d.name, { name: d.name, rules: [], jumps: [], ruleCounters: [] });
      }
      continue;
    }
    const cmd = step.command;
    const line = cmd.line;
    switch (cmd.op) {
      case 'append': {
        const c = need(line, cmd.chain);
        checkJump(line, cmd.jump);
        c.rules.push(cmd.rule);
        c.jumps.push(cmd.jump);
        c.ruleCounters.push(cmd.counters);
        break;
      }
      case 'insert': {
        const c = need(line, cmd.chain);
        if (cmd.index > c.rules.length + 1) failed(line, `Index of insertion too big (${cmd.index} in a chain of ${c.rules.length})`);
        checkJump(line, cmd.jump);
        c.rules.splice(cmd.index - 1, 0, cmd.rule);
        c.jumps.splice(cmd.index - 1, 0, cmd.jump);
        c.ruleCounters.splice(cmd.index - 1, 0, cmd.counters);
        break;
      }
      case 'replace': {
        const c = need(line, cmd.chain);
        if (cmd.index > c.rules.length) failed(line, `Index of replacement too big (${cmd.index} in a chain of ${c.rules.length})`);
        checkJump(line, cmd.jump);
        c.rules[cmd.index - 1] = cmd.rule;
        c.jumps[cmd.index - 1] = cmd.jump;
        c.ruleCounters[cmd.index - 1] = cmd.counters;
        break;
      }
      case 'delete':
      case 'deleteNum': {
        const c = need(line, cmd.chain);
        let at: number;
        if (cmd.op === 'delete') {
          at = c.rules.indexOf(cmd.rule);
          if (at < 0) failed(line, 'Bad rule (does a matching rule exist in that chain?)');
        } else {
          if (cmd.index > c.rules.length) failed(line, `Index of deletion too big (${cmd.index} in a chain of ${c.rules.length})`);
          at = cmd.index - 1;
        }
        c.rules.splice(at, 1);
        c.jumps.splice(at, 1);
        c.ruleCounters.splice(at, 1);
        break;
      }
      case 'check': {
        const c = need(line, cmd.chain);
        if (!c.rules.includes(cmd.rule)) failed(line, 'Bad rule (does a matching rule exist in that chain?)');
        break;
      }
      case 'newChain':
        if (byName.has(cmd.chain)) failed(line, `Chain already exists: ${cmd.chain}`, cmd.chain);
        byName.set(cmd.chain, { name: cmd.chain, rules: [], jumps: [], ruleCounters: [] });
        break;
      case 'deleteChain': {
        const names = cmd.chain !== undefined ? [cmd.chain] : [...byName.keys()].filter((n) => !isBuiltin(n));
        for (const name of names) {
          const c = need(line, name);
          if (isBuiltin(name)) failed(line, `cannot delete the built-in chain ${name}`, name);
          if (c.rules.length) failed(line, `Directory not empty: chain ${name} still holds ${c.rules.length} rule(s)`, name);
          const refs = references(name);
          if (refs) failed(line, `Too many links: chain ${name} is still referenced by ${refs} rule(s)`, name);
          byName.delete(name);
        }
        break;
      }
      case 'flush':
        if (cmd.chain !== undefined) emptyOf(need(line, cmd.chain));
        else for (const c of byName.values()) emptyOf(c);
        break;
      case 'zero': {
        const list = cmd.chain !== undefined ? [need(line, cmd.chain)] : [...byName.values()];
        for (const c of list) {
          c.ruleCounters = c.rules.map(() => ZERO);
          if (c.policy) c.counters = ZERO;
        }
        break;
      }
      case 'policy': {
        const c = need(line, cmd.chain);
        if (!isBuiltin(cmd.chain)) failed(line, `Bad built-in chain name: ${cmd.chain}`, cmd.chain);
        c.policy = cmd.policy;
        break;
      }
      case 'rename': {
        const c = need(line, cmd.chain);
        if (isBuiltin(cmd.chain)) failed(line, `cannot rename the built-in chain ${cmd.chain}`, cmd.chain);
        if (byName.has(cmd.newName)) failed(line, `File exists: chain ${cmd.newName}`, cmd.newName);
        byName.delete(cmd.chain);
        c.name = cmd.newName;
        byName.set(cmd.newName, c);
        // A jump's chain is the last word of its rule's canonical text.
        for (const other of byName.values()) {
          other.jumps.forEach((j, i) => {
            if (j !== cmd.chain) return;
            other.rules[i] = other.rules[i]!.slice(0, -cmd.chain.length) + cmd.newName;
            other.jumps[i] = cmd.newName;
          });
        }
        break;
      }
    }
  }

  const chainOf = (w: Working): Chain => {
    const out: Chain = { name: w.name, rules: w.rules };
    if (w.policy) {
      out.policy = w.policy;
      out.counters = w.counters ?? ZERO;
    } else {
      out.references = references(w.name);
    }
    if (opts.counters || (current && opts.noflush) || w.ruleCounters.some((c) => c !== undefined)) {
      const rc = new BigUint64Array(2 * w.rules.length);
      w.ruleCounters.forEach((c, i) => {
        if (!c) return;
        rc[2 * i] = c.packets;
        rc[2 * i + 1] = c.bytes;
      });
      out.ruleCounters = rc;
    }
    return out;
  };
  const chains: Chain[] = [];
  for (const name of builtins) {
    const c = byName.get(name);
    if (c) chains.push(chainOf(c));
  }
  const user = [...byName.keys()].filter((n) => !isBuiltin(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of user) chains.push(chainOf(byName.get(name)!));
  return { name: parsed.name, family, chains };
}
