// The TypeScript side of the wire (docs/wire.md): one string per table. decodeTable turns a
// read into the rule model; encodeCommit turns the planner's chains into a commit string.
// Hot path: a read of 30,000 rules must decode in milliseconds, so it splits strings and
// caches address conversions instead of running a regular expression per field.

import type { Chain, Counters, Family, Fields, Match, Rule, Table, Target, Verdict } from './model.js';
import { createRule } from './model.js';
import { cidrFromWire, cidrToWire } from './address.js';

/** Kernel invflags (IPT_INV_* / IP6T_INV_*; the values are the same in both). */
export const INV = {
  VIA_IN: 0x01,
  VIA_OUT: 0x02,
  SRCIP: 0x08,
  DSTIP: 0x10,
  FRAG: 0x20,
  PROTO: 0x40,
} as const;

const HEX = '0123456789ABCDEF';

/** Escapes a value: bytes < 0x21, `%`, `=` and bytes ≥ 0x7f become %XX. */
export function escapeValue(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c >= 0x7f || c === 0x25 || c === 0x3d) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    if (b < 0x21 || b >= 0x7f || b === 0x25 || b === 0x3d) out += '%' + HEX[b >> 4] + HEX[b & 15];
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Reverses escapeValue. Bytes that are not valid UTF-8 become U+FFFD (see docs/wire.md). */
export function unescapeValue(value: string): string {
  if (value.indexOf('%') < 0) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      const b = parseInt(value.slice(i + 1, i + 3), 16);
      if (Number.isNaN(b) || i + 3 > value.length) throw new Error(`wire: bad escape in ${JSON.stringify(value)}`);
      bytes.push(b);
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A rule the nft back end found in an iptables-nft chain that is not in iptables-nft form. */
export interface ForeignRule {
  chain: string;
  handle: number;
  text: string;
  /** How many decoded rules of the chain come before it. */
  position: number;
}

export interface DecodedTable {
  table: Table;
  /** nft only: rule handles, per chain in table order, per rule in chain order. */
  handles?: number[][];
  /** nft only: rules in a chain that iptkit must report and keep, never rewrite. */
  foreign?: ForeignRule[];
}

function wireError(line: string, why: string): Error {
  return new Error(`wire: ${why}: ${JSON.stringify(line.length > 200 ? line.slice(0, 200) + '…' : line)}`);
}

const NONE_TARGET: Target = Object.freeze({ kind: 'none' }) as Target;
const ZERO_COUNTERS: Counters = Object.freeze({ packets: 0n, bytes: 0n });

function counter(v: string): bigint {
  // Up to 15 digits a double holds the value exactly, and BigInt(number) is cheaper than
  // parsing the text; anything else (longer, or not plain digits) as before.
  if (v === '0') return 0n;
  if (v.length < 16) {
    const n = +v;
    if (Number.isInteger(n) && n >= 0 && String(n) === v) return BigInt(n);
  }
  return BigInt(v);
}

function parseFields(parts: string[], from: number): Fields {
  const fields: Fields = {};
  for (let i = from; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    if (eq <= 0) throw wireError(parts.join('\t'), 'field without key');
    fields[p.slice(0, eq)] = unescapeValue(p.slice(eq + 1));
  }
  return fields;
}

const RULE_KEYS = ['pkts', 'bytes', 'src', 'dst', 'in', 'out', 'proto', 'inv', 'frag', 'goto', 'handle'];

/** line.slice(pos, end), as one of RULE_KEYS when it is one (no new string for those). */
function ruleKeyAt(line: string, pos: number, end: number): string {
  const len = end - pos;
  for (let k = 0; k < RULE_KEYS.length; k++) {
    const key = RULE_KEYS[k]!;
    if (key.length !== len) continue;
    let i = 0;
    while (i < len && key.charCodeAt(i) === line.charCodeAt(pos + i)) i++;
    if (i === len) return key;
  }
  return line.slice(pos, end);
}

/** Whether `line` is a record of this kind (what `line.split('\t')[0] === kind` says). */
function isRecord(line: string, kind: string): boolean {
  const n = kind.length;
  if (line.length < n || (line.length > n && line.charCodeAt(n) !== 9)) return false;
  // startsWith by hand (a builtin call per record and kind was a visible share of a read).
  for (let i = 0; i < n; i++) if (line.charCodeAt(i) !== kind.charCodeAt(i)) return false;
  return true;
}

/** `KIND\tWORD…` → WORD, as line.split('\t')[1] gives it (undefined when there is none). */
function secondField(line: string, from: number): string | undefined {
  if (line.length < from) return undefined;
  const tab = line.indexOf('\t', from);
  return tab < 0 ? line.slice(from) : line.slice(from, tab);
}

/** A match or target line decoded once per table: the same line repeats across rules. */
interface ExtLine {
  name: string;
  revision: number;
  fields: Fields;
  opaque: boolean;
}

function decodeExtLine(line: string, prefix: number): ExtLine {
  // `KIND\tNAME\tREV[\tkey=value…]`, as line.split('\t') would give it.
  const t1 = line.indexOf('\t', prefix + 1);
  if (t1 < 0) {
    // No revision field (not something C++ writes): as the split would have it.
    const parts = line.split('\t');
    const f = parseFields(parts, 3);
    return { name: parts[1]!, revision: Number(parts[2]), fields: f, opaque: 'raw' in f };
  }
  const name = line.slice(prefix + 1, t1);
  const fields: Fields = {};
  const t2 = line.indexOf('\t', t1 + 1);
  const revision = Number(line.slice(t1 + 1, t2 < 0 ? line.length : t2));
  for (let pos = t2 < 0 ? line.length + 1 : t2 + 1; pos <= line.length; ) {
    let tab = line.indexOf('\t', pos);
    if (tab < 0) tab = line.length;
    const eq = line.indexOf('=', pos);
    if (eq <= pos || eq >= tab) throw wireError(line, 'field without key');
    fields[line.slice(pos, eq)] = unescapeValue(line.slice(eq + 1, tab));
    pos = tab + 1;
  }
  return { name, revision, fields, opaque: 'raw' in fields };
}

/**
 * decodeExtLine through a cache of the lines seen in this table (a match or target line
 * repeats across rules). The result is shared: callers copy its fields for each rule.
 */
function cachedExtLine(cache: Map<string, ExtLine>, line: string, prefix: number): ExtLine {
  let e = cache.get(line);
  if (e === undefined) {
    e = decodeExtLine(line, prefix);
    if (cache.size < 4096) cache.set(line, e);
  }
  return e;
}

/** Decodes one table read from the kernel (legacyRead, or one table of nftRead). */
export function decodeTable(wire: string): DecodedTable {
  let table: Table | undefined;
  let chain: Chain | undefined;
  let rule: Rule | undefined;
  let handles: number[][] | undefined;
  let chainHandles: number[] | undefined;
  let foreign: ForeignRule[] | undefined;
  let family: Family = 'ipv4';
  // `goto=1` is on the rule record, the chain name on the `jump` record after it.
  let ruleGoto = false;
  const extCache = new Map<string, ExtLine>();
  const n = wire.length;
  for (let start = 0; start <= n; ) {
    let end = wire.indexOf('\n', start);
    if (end < 0) end = n;
    const line = wire.slice(start, end);
    start = end + 1;
    if (line === '') continue;
    if (isRecord(line, 'rule')) {
      if (!chain) throw wireError(line, 'rule before any chain');
      ruleGoto = false;
      let packets = 0n;
      let bytes = 0n;
      let inv = 0;
      let handle: number | undefined;
      let source: string | undefined;
      let destination: string | undefined;
      let inInterface: string | undefined;
      let outInterface: string | undefined;
      let protocol: number | undefined;
      let fragment: boolean | undefined;
      // Fields after `rule`, tab separated (as line.split('\t').slice(1)).
      for (let pos = 5; pos <= line.length && line.length > 4; ) {
        let tab = line.indexOf('\t', pos);
        if (tab < 0) tab = line.length;
        const eq = line.indexOf('=', pos);
        // As p.indexOf('=') on the field: -1 when the field has none.
        const e = eq < 0 || eq > tab ? -1 : eq;
        const v = e < 0 ? line.slice(pos, tab) : line.slice(e + 1, tab);
        // The key without slicing it out, for the keys a read has.
        const key = e < 0 ? line.slice(pos, tab - 1) : ruleKeyAt(line, pos, e);
        pos = tab + 1;
        switch (key) {
          case 'pkts': packets = counter(v); break;
          case 'bytes': bytes = counter(v); break;
          case 'src': source = cidrFromWire(v, family); break;
          case 'dst': destination = cidrFromWire(v, family); break;
          case 'in': inInterface = unescapeValue(v); break;
          case 'out': outInterface = unescapeValue(v); break;
          case 'proto': protocol = Number(v); break;
          case 'inv': inv = Number(v); break;
          case 'frag': fragment = true; break;
          case 'goto': ruleGoto = v === '1'; break;
          case 'handle': handle = Number(v); break;
          default: throw wireError(line, `unknown rule field ${key}`);
        }
      }
      rule = createRule([], NONE_TARGET);
      // Nothing mutates counters in place: rules that never counted share one frozen zero.
      rule.counters = packets === 0n && bytes === 0n ? ZERO_COUNTERS : { packets, bytes };
      if (inv) {
        if (inv & INV.SRCIP) {
          rule.sourceInvert = true;
          source ??= family === 'ipv4' ? '0.0.0.0/0' : '::/0';
        }
        if (inv & INV.DSTIP) {
          rule.destinationInvert = true;
          destination ??= family === 'ipv4' ? '0.0.0.0/0' : '::/0';
        }
        if (inv & INV.VIA_IN) rule.inInterfaceInvert = true;
        if (inv & INV.VIA_OUT) rule.outInterfaceInvert = true;
        if (inv & INV.PROTO) {
          rule.protocolInvert = true;
          protocol ??= 0;
        }
        if (inv & INV.FRAG && fragment) fragment = false;
      }
      // A source or destination of 0/0 without `!` is no source at all, as in the model.
      if (source !== undefined && (inv & INV.SRCIP || !source.endsWith('/0'))) rule.source = source;
      if (destination !== undefined && (inv & INV.DSTIP || !destination.endsWith('/0'))) rule.destination = destination;
      if (inInterface === '+') {
        // A lone `+`: on nft (reads with handles) the lone iifname load iptables-nft writes
        // for `-i +`, which iptables-nft reads as no interface; on legacy, `! -i +` (name `+`,
        // mask zero), which iptables-legacy-save omits: kept as the inversion alone.
        if (handle !== undefined ? !(inv & INV.VIA_IN) : inv & INV.VIA_IN) inInterface = undefined;
      }
      if (outInterface === '+') {
        if (handle !== undefined ? !(inv & INV.VIA_OUT) : inv & INV.VIA_OUT) outInterface = undefined;
      }
      rule.inInterface = inInterface;
      rule.outInterface = outInterface;
      if (protocol !== 0 || inv & INV.PROTO) rule.protocol = protocol;
      rule.fragment = fragment;
      chain.rules.push(rule);
      if (handle !== undefined) {
        if (!chainHandles) throw wireError(line, 'handle without chain');
        chainHandles.push(handle);
      }
      continue;
    }
    if (isRecord(line, 'match')) {
      if (!rule) throw wireError(line, 'match outside a rule');
      const e = cachedExtLine(extCache, line, 5);
      const m: Match = { name: e.name, revision: e.revision, fields: { ...e.fields } };
      if (e.opaque) m.opaque = true;
      // The first match as a one-element array: push would reserve room for 17.
      if (rule.matches.length === 0) rule.matches = [m];
      else rule.matches.push(m);
      continue;
    }
    if (isRecord(line, 'target')) {
      if (!rule) throw wireError(line, 'target outside a rule');
      const e = cachedExtLine(extCache, line, 6);
      const t: Target = { kind: 'extension', name: e.name, revision: e.revision, fields: { ...e.fields } };
      if (e.opaque) t.opaque = true;
      rule.target = t;
      continue;
    }
    if (isRecord(line, 'verdict')) {
      if (!rule) throw wireError(line, 'verdict outside a rule');
      rule.target = { kind: 'verdict', verdict: secondField(line, 8) as Verdict };
      continue;
    }
    if (isRecord(line, 'jump')) {
      if (!rule) throw wireError(line, 'jump outside a rule');
      const to = secondField(line, 5)!;
      rule.target = ruleGoto ? { kind: 'jump', chain: to, goto: true } : { kind: 'jump', chain: to };
      continue;
    }
    const parts = line.split('\t');
    const kind = parts[0];
    switch (kind) {
      case 'verdict':
        if (!rule) throw wireError(line, 'verdict outside a rule');
        rule.target = { kind: 'verdict', verdict: parts[1] as Verdict };
        break;
      case 'jump': {
        if (!rule) throw wireError(line, 'jump outside a rule');
        rule.target = ruleGoto ? { kind: 'jump', chain: parts[1]!, goto: true } : { kind: 'jump', chain: parts[1]! };
        break;
      }
      case 'chain': {
        if (!table) throw wireError(line, 'chain before table');
        rule = undefined;
        chain = { name: parts[1]!, rules: [] };
        for (let i = 2; i < parts.length; i++) {
          const p = parts[i]!;
          const eq = p.indexOf('=');
          const key = p.slice(0, eq);
          const v = p.slice(eq + 1);
          if (key === 'policy') chain.policy = v as 'ACCEPT' | 'DROP';
          else if (key === 'pkts') chain.counters = { packets: counter(v), bytes: chain.counters?.bytes ?? 0n };
          else if (key === 'bytes') chain.counters = { packets: chain.counters?.packets ?? 0n, bytes: counter(v) };
          else if (key === 'refs') chain.references = Number(v);
          else throw wireError(line, `unknown chain field ${key}`);
        }
        table.chains.push(chain);
        if (handles) {
          chainHandles = [];
          handles.push(chainHandles);
        }
        break;
      }
      case 'table': {
        if (table) throw wireError(line, 'second table in one string');
        const fam = parts.find((p) => p.startsWith('family='))?.slice(7);
        if (fam !== 'ipv4' && fam !== 'ipv6') throw wireError(line, 'table without family');
        family = fam;
        table = { name: parts[1]!, family, chains: [] };
        break;
      }
      case 'foreign': {
        if (!chain) throw wireError(line, 'foreign rule before any chain');
        rule = undefined;
        const f = parseFields(parts, 1);
        (foreign ??= []).push({ chain: chain.name, handle: Number(f['handle']), text: f['text'] ?? '', position: chain.rules.length });
        break;
      }
      default:
        throw wireError(line, `unknown record ${kind}`);
    }
    // nft reads carry handles; the first one switches per-chain handle lists on.
    if (kind === 'table' && wire.includes('\thandle=')) handles = [];
  }
  if (!table) throw new Error('wire: no table record');
  const out: DecodedTable = { table };
  if (handles) out.handles = handles;
  if (foreign) out.foreign = foreign;
  return out;
}

/** One entry of a chain in a commit: keep a rule read under the same lock, or a new rule. */
export type CommitEntry = { keep: number } | { rule: Rule; counters?: Counters };

export interface CommitChain {
  name: string;
  /** Built-in chains: the policy to set; absent keeps policy and counters. */
  policy?: 'ACCEPT' | 'DROP';
  /** With policy: set the policy counters (restore -c). */
  policyCounters?: Counters;
  /** The chain's rule count when read: the commit fails with ESTALE if it changed. */
  was?: number;
  entries: CommitEntry[];
}

/** The ip fields of a rule (struct ipt_ip / ip6t_ip6) as `key=value` wire fields. */
export function encodeRuleIp(rule: Rule, family: Family): string {
  const out: string[] = [];
  pushRuleIp(out, rule, family);
  return out.join('');
}

// Encoding pushes pieces (mostly strings that exist already) into one array that is joined
// once: building each record with `+=` leaves a tree of string fragments per rule for the
// final join to walk, and the collector to copy while they wait.

function pushRuleIp(out: string[], rule: Rule, family: Family): void {
  let inv = 0;
  if (rule.source !== undefined && (rule.sourceInvert || !rule.source.endsWith('/0'))) {
    out.push('\tsrc=', cidrToWire(rule.source, family));
  }
  if (rule.sourceInvert) {
    inv |= INV.SRCIP;
    if (rule.source === undefined) out.push(family === 'ipv4' ? '\tsrc=0.0.0.0/0.0.0.0' : '\tsrc=::/::');
  }
  if (rule.destination !== undefined && (rule.destinationInvert || !rule.destination.endsWith('/0'))) {
    out.push('\tdst=', cidrToWire(rule.destination, family));
  }
  if (rule.destinationInvert) {
    inv |= INV.DSTIP;
    if (rule.destination === undefined) out.push(family === 'ipv4' ? '\tdst=0.0.0.0/0.0.0.0' : '\tdst=::/::');
  }
  // Inverted without a name is a legacy `! -i +` as read (decodeTable): written back as `+`.
  if (rule.inInterface) out.push('\tin=', escapeValue(rule.inInterface));
  else if (rule.inInterfaceInvert) out.push('\tin=+');
  if (rule.inInterfaceInvert) inv |= INV.VIA_IN;
  if (rule.outInterface) out.push('\tout=', escapeValue(rule.outInterface));
  else if (rule.outInterfaceInvert) out.push('\tout=+');
  if (rule.outInterfaceInvert) inv |= INV.VIA_OUT;
  if ((rule.protocol !== undefined && rule.protocol !== 0) || rule.protocolInvert) out.push('\tproto=', String(rule.protocol ?? 0));
  if (rule.protocolInvert) inv |= INV.PROTO;
  if (rule.fragment !== undefined) {
    out.push('\tfrag=1');
    if (rule.fragment === false) inv |= INV.FRAG;
  }
  if (inv) out.push('\tinv=', String(inv));
  if (rule.target.kind === 'jump' && rule.target.goto) out.push('\tgoto=1');
}

function pushFields(out: string[], fields: Fields): void {
  for (const key of Object.keys(fields)) out.push('\t', key, '=', escapeValue(fields[key]!));
}

function counterText(n: bigint): string {
  return n === 0n ? '0' : String(n);
}

function pushRule(out: string[], rule: Rule, family: Family, counters?: Counters): void {
  out.push('rule');
  if (counters) out.push('\tpkts=', counterText(counters.packets), '\tbytes=', counterText(counters.bytes));
  pushRuleIp(out, rule, family);
  out.push('\n');
  for (const m of rule.matches) {
    // String(): a missing name prints as the template literal did ('undefined'), not as ''.
    out.push('match\t', String(m.name), '\t', String(m.revision));
    pushFields(out, m.fields);
    out.push('\n');
  }
  const t = rule.target;
  switch (t.kind) {
    case 'verdict': out.push('verdict\t', String(t.verdict), '\n'); break;
    case 'jump': out.push('jump\t', String(t.chain), '\n'); break;
    case 'extension':
      out.push('target\t', String(t.name), '\t', String(t.revision));
      pushFields(out, t.fields);
      out.push('\n');
      break;
    case 'none': break;
  }
}

/** The records of one new rule: `rule …`, its matches, its target. */
export function encodeRule(rule: Rule, family: Family, counters?: Counters): string {
  const out: string[] = [];
  pushRule(out, rule, family, counters);
  return out.join('');
}

/** An append-only commit's wire (docs/wire.md, append=1): rules added at chains' ends. */
export function encodeAppend(
  table: string,
  family: Family,
  chains: readonly { name: string; rules: readonly Rule[] }[],
  counters: boolean,
): string {
  const out: string[] = [`table\t${table}\tfamily=${family}\tappend=1\n`];
  for (const c of chains) {
    out.push(`chain\t${escapeValue(c.name)}\n`);
    for (const r of c.rules) pushRule(out, r, family, counters ? r.counters : undefined);
  }
  return out.join('');
}

/**
 * A commit's wire for one table: every chain it must have afterwards, in order.
 * `keepsAreHandles`: the nft back end names kept rules by their handle, which follow the
 * order rules were added, not their place in the chain.
 */
export function encodeCommit(table: string, family: Family, chains: readonly CommitChain[], keepsAreHandles = false): string {
  const parts: string[] = [`table\t${table}\tfamily=${family}\n`];
  for (const c of chains) {
    let line = `chain\t${c.name}`;
    if (c.policy) {
      line += `\tpolicy=${c.policy}`;
      if (c.policyCounters) line += `\tpkts=${c.policyCounters.packets}\tbytes=${c.policyCounters.bytes}`;
    }
    if (c.was !== undefined) line += `\twas=${c.was}`;
    parts.push(line + '\n');
    let lastKeep = -1;
    for (const e of c.entries) {
      if ('keep' in e) {
        if (!Number.isInteger(e.keep) || e.keep < 0 || (!keepsAreHandles && e.keep <= lastKeep)) {
          throw new RangeError(`encodeCommit: chain ${c.name}: keep indices must be strictly increasing integers (got ${e.keep} after ${lastKeep})`);
        }
        lastKeep = e.keep;
        parts.push('keep\t', String(e.keep), '\n');
      } else {
        parts.push(encodeRule(e.rule, family, e.counters));
      }
    }
  }
  return parts.join('');
}

/** A table read from the kernel, re-encoded as a read (for tests and tools that fake one). */
export function encodeRead(table: Table, handles?: number[][]): string {
  const parts: string[] = [`table\t${table.name}\tfamily=${table.family}\n`];
  table.chains.forEach((c, ci) => {
    let line = `chain\t${c.name}`;
    if (c.policy) line += `\tpolicy=${c.policy}\tpkts=${c.counters?.packets ?? 0n}\tbytes=${c.counters?.bytes ?? 0n}`;
    else line += `\trefs=${c.references ?? 0}`;
    parts.push(line + '\n');
    c.rules.forEach((r, ri) => {
      const h = handles?.[ci]?.[ri];
      const counters = r.counters ?? { packets: 0n, bytes: 0n };
      if (h === undefined) parts.push(encodeRule(r, table.family, counters));
      else parts.push(encodeRule(r, table.family, counters).replace(/^rule/, `rule\thandle=${h}`));
    });
  });
  return parts.join('');
}
