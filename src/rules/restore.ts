// iptables-restore input: parseRestore reads the text (tables, `:CHAIN POLICY [p:b]` lines,
// commands, COMMIT) and applyRestore computes the table iptables-restore would leave behind,
// from the table as it is now. Nothing here touches the kernel; errors name the input line.

import { ParseError } from '../errors.js';
import type { Chain, Counters, Family, Rule, Table } from './model.js';
import { BUILTIN_CHAINS, copyRule, isBuiltinChain } from './model.js';
import type { Target } from './model.js';
import type { TableName } from './model.js';
import { MAX_CHAIN_NAME, parseCommand, tokenizeRange, tokenizeRestoreLine } from './args.js';
import type { RuleCommand } from './args.js';
import { ruleEquals } from './equal.js';

export interface ParseRestoreOptions {
  family: Family;
  /** `-n`: keep what is not mentioned (affects only applyRestore; recorded here). */
  noflush?: boolean;
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

export type RestoreCommand = RuleCommand & { line: number };

export interface RestoreTable {
  name: string;
  family: Family;
  /** The `*table` line. */
  line: number;
  chains: ChainDeclaration[];
  commands: RestoreCommand[];
  /** Declarations and commands in input order, as iptables-restore runs them. */
  steps: Array<{ kind: 'chain'; chain: ChainDeclaration } | { kind: 'command'; command: RestoreCommand }>;
  commitLine: number;
}

export interface ParsedRestore {
  family: Family;
  noflush: boolean;
  counters: boolean;
  tables: RestoreTable[];
}

const COUNTERS_RE = /^\[([0-9]+):([0-9]+)\]/;

function fail(line: number, message: string, token?: string, expected?: string): never {
  const init: { line: number; token?: string; expected?: string } = { line };
  if (token !== undefined) init.token = token;
  if (expected !== undefined) init.expected = expected;
  throw new ParseError(message, init);
}

function parseCounters(text: string | undefined): Counters | undefined {
  if (text === undefined) return undefined;
  const m = /^\[([0-9]+):([0-9]+)\]$/.exec(text);
  if (!m) return undefined;
  const packets = BigInt(m[1]!);
  const bytes = BigInt(m[2]!);
  if (packets >= 1n << 64n || bytes >= 1n << 64n) return undefined;
  return { packets, bytes };
}

/** Parses iptables-restore input. Throws ParseError naming the line. */
export function parseRestore(text: string, opts: ParseRestoreOptions): ParsedRestore {
  // The lines of text.split('\n') without its last empty one, walked by position: the rule
  // lines are tokenized in place in `text` (a flat string reads faster than a slice of it).
  const tables: RestoreTable[] = [];
  let current: RestoreTable | undefined;
  let skipping = false;
  const len = text.length;
  let lineCount = 0;
  // The first `"` at or after the last position looked from (len: none), so that finding
  // whether a line holds one stays linear in the whole text.
  let quoteAt = -1;
  // Every piece of the split starts before len, except a last one that would be empty.
  for (let pos = 0, idx = 0; pos < len; idx++) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    const lineStart = pos;
    pos = end + 1;
    lineCount = idx + 1;
    const n = idx + 1;
    const raw = text.slice(lineStart, end);
    // Blank lines; only a line that starts with a blank can be all blanks (no regex per rule line).
    const c0 = raw.charCodeAt(0);
    if (raw === '' || c0 === 0x23 || ((c0 === 0x20 || c0 === 0x09 || c0 === 0x0d) && /^[ \t\r]*$/.test(raw))) continue;
    if (raw === 'COMMIT') {
      if (!current) fail(n, 'COMMIT without a *table line before it', raw, '*table');
      current.commitLine = n;
      if (!skipping) tables.push(current);
      current = undefined;
      skipping = false;
      continue;
    }
    if (raw[0] === '*') {
      if (current) fail(n, `*table while table ${current.name} (line ${current.line}) has no COMMIT`, raw, 'COMMIT');
      const name = raw.slice(1).split(/[ \t]/)[0] ?? '';
      if (name === '') fail(n, 'table name missing after *', raw, '*filter, *nat, …');
      if (!(name in BUILTIN_CHAINS)) fail(n, `can't initialize ${opts.family === 'ipv4' ? 'iptables' : 'ip6tables'} table \`${name}': Table does not exist`, name, 'filter, nat, mangle, raw or security');
      current = { name, family: opts.family, line: n, chains: [], commands: [], steps: [], commitLine: 0 };
      skipping = opts.table !== undefined && opts.table !== name;
      continue;
    }
    if (!current) fail(n, 'rule or chain outside a table (no *table line before it)', raw.split(/\s/)[0], '*table');
    if (skipping) continue;
    if (raw[0] === ':') {
      const parts = raw.slice(1).split(/[ \t\r]+/).filter((p) => p !== '');
      const [name, policy, ctrs] = parts;
      if (name === undefined) fail(n, 'chain name invalid', raw, ':CHAIN POLICY [p:b]');
      if (name.length > MAX_CHAIN_NAME) fail(n, `Invalid chain name \`${name}' (${MAX_CHAIN_NAME} chars max)`, name, 'a shorter chain name');
      if (policy === undefined) fail(n, 'policy invalid', raw, 'ACCEPT, DROP or -');
      const decl: ChainDeclaration = { name, line: n };
      if (policy !== '-') {
        if (!isBuiltinChain(current.name, name)) fail(n, `Can't set policy \`${policy}' on \`${name}': Bad built-in chain name`, name, '- for a user-defined chain');
        if (policy !== 'ACCEPT' && policy !== 'DROP') fail(n, `Can't set policy \`${policy}' on \`${name}': Bad policy name`, policy, 'ACCEPT or DROP');
        decl.policy = policy;
        if (opts.counters) {
          const c = parseCounters(ctrs);
          if (!c) fail(n, `invalid policy counters for chain '${name}'`, ctrs ?? raw, '[packets:bytes]');
          decl.counters = c;
        }
      }
      current.chains.push(decl);
      current.steps.push({ kind: 'chain', chain: decl });
      continue;
    }
    let restStart = lineStart;
    let prefix: Counters | undefined;
    if (raw[0] === '[') {
      const m = COUNTERS_RE.exec(raw);
      if (!m) fail(n, 'bad counters, expected [packets:bytes] before the command', raw.split(/\s/)[0], '[packets:bytes]');
      prefix = { packets: BigInt(m[1]!), bytes: BigInt(m[2]!) };
      restStart += m[0].length;
    }
    // tokenizeRestoreLine(rest): its unquoted fast path over the range of `text`, else as is.
    if (quoteAt < restStart) {
      const q = text.indexOf('"', restStart);
      quoteAt = q < 0 ? len : q;
    }
    const quoted = quoteAt < end;
    const tokens = quoted ? tokenizeRestoreLine(text.slice(restStart, end), n) : tokenizeRange(text, restStart, end);
    const cmd = parseCommand(tokens, opts.family, { line: n });
    // The `[p:b]` prefix counts only with -c; an inline `-c P B` always does.
    if (prefix && opts.counters && 'rule' in cmd && !cmd.rule.counters) cmd.rule.counters = prefix;
    // parseCommand's result is ours: adding `line` gives what a spread copy would.
    const command = cmd as RestoreCommand;
    command.line = n;
    current.commands.push(command);
    current.steps.push({ kind: 'command', command });
  }
  if (current) fail(lineCount + 1, 'COMMIT expected', undefined, 'COMMIT');
  return { family: opts.family, noflush: opts.noflush ?? false, counters: opts.counters ?? false, tables };
}

export interface ApplyRestoreOptions {
  counters?: boolean;
  noflush?: boolean;
}

function zero(): Counters {
  return { packets: 0n, bytes: 0n };
}

/** Zero counters for rules (nothing mutates a rule's counters in place: shared, frozen). */
const ZERO: Counters = Object.freeze({ packets: 0n, bytes: 0n });

/** `{ ...rule, target }` in the one rule shape (see createRule). */
function withTarget(rule: Rule, target: Target): Rule {
  const r = copyRule(rule, rule.counters);
  r.target = target;
  return r;
}

function copyTable(t: Table): Table {
  return {
    name: t.name,
    family: t.family,
    chains: t.chains.map((c) => ({ ...c, ...(c.counters ? { counters: { ...c.counters } } : {}), rules: c.rules.slice() })),
  };
}

/**
 * The table iptables-restore leaves behind when it runs `parsed` against `current` (the
 * kernel's table now, or undefined when the table is not loaded). Without noflush every chain
 * is flushed and the user chains deleted first; policies stay unless a line sets them;
 * counters are zero unless given (-c). Chains come out as the kernel orders them: built-ins
 * in hook order, then user chains by name; user chains carry their reference counts.
 */
export function applyRestore(parsed: RestoreTable, current: Table | undefined, opts: ApplyRestoreOptions = {}): Table {
  const builtins = BUILTIN_CHAINS[parsed.name as TableName];
  if (!builtins) fail(parsed.line, `can't initialize table \`${parsed.name}': Table does not exist`, parsed.name);
  const family = parsed.family;
  let table: Table;
  if (current && opts.noflush) {
    table = copyTable(current);
    // Observed with iptables-legacy-restore -n 1.8.9: without -c the built-in policies'
    // counters come back zero, while rule counters survive.
    if (!opts.counters) for (const c of table.chains) if (c.policy !== undefined) c.counters = zero();
  } else {
    table = {
      name: parsed.name,
      family,
      chains: builtins.map((name) => ({
        name,
        policy: current?.chains.find((c) => c.name === name)?.policy ?? 'ACCEPT',
        counters: zero(),
        rules: [],
      })),
    };
  }
  const byName = new Map<string, Chain>(table.chains.map((c) => [c.name, c]));
  const isBuiltin = (name: string): boolean => builtins.includes(name);
  const failed: (line: number, why: string, token?: string) => never = (line, why, token) =>
    fail(line, `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore: line ${line} failed: ${why}`, token);
  const need = (line: number, name: string): Chain => {
    const c = byName.get(name);
    if (!c) failed(line, `chain \`${name}' does not exist`, name);
    return c;
  };
  const references = (name: string): number => {
    let refs = 0;
    for (const c of byName.values()) for (const r of c.rules) if (r.target.kind === 'jump' && r.target.chain === name) refs++;
    return refs;
  };
  const checkTarget = (line: number, rule: Rule): Rule => {
    if (rule.target.kind === 'jump') {
      const to = rule.target.chain;
      if (!byName.has(to)) fail(line, `Couldn't load target \`${to}': No such file or directory (no chain and no target iptkit understands has that name)`, to);
      if (isBuiltin(to)) failed(line, `cannot jump to the built-in chain \`${to}'`, to);
    }
    return copyRule(rule, rule.counters ?? ZERO);
  };
  const remove = (name: string): void => {
    byName.delete(name);
  };

  for (const step of parsed.steps) {
    if (step.kind === 'chain') {
      const d = step.chain;
      if (isBuiltin(d.name)) {
        const c = byName.get(d.name)!;
        if (d.policy) {
          c.policy = d.policy;
          // iptables-restore always passes counters with a policy: zero unless -c gave them.
          c.counters = opts.counters && d.counters ? { ...d.counters } : zero();
        }
      } else {
        const c = byName.get(d.name);
        if (c && opts.noflush) c.rules = [];
        else if (c) failed(d.line, `error creating chain '${d.name}': File exists`, d.name);
        else byName.set(d.name, { name: d.name, rules: [] });
      }
      continue;
    }
    const cmd = step.command;
    const line = cmd.line;
    switch (cmd.op) {
      case 'append':
        need(line, cmd.chain).rules.push(checkTarget(line, cmd.rule));
        break;
      case 'insert': {
        const c = need(line, cmd.chain);
        if (cmd.index > c.rules.length + 1) failed(line, `Index of insertion too big (${cmd.index} in a chain of ${c.rules.length})`);
        c.rules.splice(cmd.index - 1, 0, checkTarget(line, cmd.rule));
        break;
      }
      case 'replace': {
        const c = need(line, cmd.chain);
        if (cmd.index > c.rules.length) failed(line, `Index of replacement too big (${cmd.index} in a chain of ${c.rules.length})`);
        c.rules[cmd.index - 1] = checkTarget(line, cmd.rule);
        break;
      }
      case 'delete': {
        const c = need(line, cmd.chain);
        const at = c.rules.findIndex((r) => ruleEquals(r, cmd.rule));
        if (at < 0) failed(line, 'Bad rule (does a matching rule exist in that chain?)');
        c.rules.splice(at, 1);
        break;
      }
      case 'deleteNum': {
        const c = need(line, cmd.chain);
        if (cmd.index > c.rules.length) failed(line, `Index of deletion too big (${cmd.index} in a chain of ${c.rules.length})`);
        c.rules.splice(cmd.index - 1, 1);
        break;
      }
      case 'check': {
        const c = need(line, cmd.chain);
        if (!c.rules.some((r) => ruleEquals(r, cmd.rule))) failed(line, 'Bad rule (does a matching rule exist in that chain?)');
        break;
      }
      case 'newChain':
        if (byName.has(cmd.chain)) failed(line, `Chain already exists: ${cmd.chain}`, cmd.chain);
        byName.set(cmd.chain, { name: cmd.chain, rules: [] });
        break;
      case 'deleteChain': {
        const names = cmd.chain !== undefined ? [cmd.chain] : [...byName.keys()].filter((n) => !isBuiltin(n));
        for (const name of names) {
          const c = need(line, name);
          if (isBuiltin(name)) failed(line, `cannot delete the built-in chain ${name}`, name);
          if (c.rules.length) failed(line, `Directory not empty: chain ${name} still holds ${c.rules.length} rule(s)`, name);
          const refs = references(name);
          if (refs) failed(line, `Too many links: chain ${name} is still referenced by ${refs} rule(s)`, name);
          remove(name);
        }
        break;
      }
      case 'flush':
        if (cmd.chain !== undefined) need(line, cmd.chain).rules = [];
        else for (const c of byName.values()) c.rules = [];
        break;
      case 'zero': {
        const list = cmd.chain !== undefined ? [need(line, cmd.chain)] : [...byName.values()];
        for (const c of list) {
          c.rules = c.rules.map((r) => copyRule(r, zero()));
          if (c.policy) c.counters = zero();
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
        remove(cmd.chain);
        c.name = cmd.newName;
        byName.set(cmd.newName, c);
        for (const other of byName.values()) {
          other.rules = other.rules.map((r) =>
            r.target.kind === 'jump' && r.target.chain === cmd.chain ? withTarget(r, { ...r.target, chain: cmd.newName }) : r,
          );
        }
        break;
      }
    }
  }

  const user = [...byName.keys()].filter((n) => !isBuiltin(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const chains: Chain[] = [];
  for (const name of builtins) {
    const c = byName.get(name);
    if (c) chains.push(c);
  }
  for (const name of user) {
    const c = byName.get(name)!;
    const out: Chain = { name, rules: c.rules, references: references(name) };
    chains.push(out);
  }
  return { name: parsed.name, family: table.family, chains };
}
