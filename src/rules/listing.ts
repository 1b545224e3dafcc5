// The `iptables -L` listing: chain headers, the column header, column widths, the K/M/G
// counter scaling without -x, `!` in the columns, the opt column, a blank line between
// chains, exactly as iptables-legacy 1.8.9 prints them for the same flags. Two deliberate
// differences (DESIGN.md): the prot column always shows names (all, tcp, …) as older
// iptables did, and without -n no names are looked up (no DNS): `anywhere` for 0/0, numbers
// otherwise, where iptables would print host and network names.

import type { Chain, Family, Match, Rule, Table } from './model.js';
import { matchForKernel, targetForKernel } from './ext/index.js';
import type { PrintContext } from './ext/index.js';
import { formatCidrListing } from './address.js';
import { protocolText } from './protocols.js';

export interface ListingOptions {
  /** -n */
  numeric?: boolean;
  /** -v: counters and the in/out columns. */
  verbose?: boolean;
  /** -x: exact counters instead of K/M/G. */
  exact?: boolean;
  /** --line-numbers */
  lineNumbers?: boolean;
  /** List only this chain. */
  chain?: string;
}

const MASK64 = (1n << 64n) - 1n;
const ZERO_EXACT = '       0 ';
const ZERO_SHORT = '    0 ';

// Column texts that repeat from rule to rule (targets, protocols, interfaces), padded once
// and looked up by the value itself (no key string built per rule).
const targetColumns = new Map<string, string>();
const protocolColumns = new Map<number, string>();
/** [lead][invert] → interface name → column text. */
const ifaceColumns = [
  [new Map<string, string>(), new Map<string, string>()],
  [new Map<string, string>(), new Map<string, string>()],
];
/** No interface: by lead, invert and numeric. */
const noIfaceColumns: Array<string | undefined> = new Array(8);

function remember<K>(map: Map<K, string>, key: K, value: string): string {
  if (map.size > 10_000) map.clear();
  map.set(key, value);
  return value;
}

function targetColumn(name: string): string {
  return targetColumns.get(name) ?? remember(targetColumns, name, padRight(name, 9) + ' ');
}

function protocolColumn(proto: number, invert: boolean): string {
  const key = proto * 2 + (invert ? 1 : 0);
  return protocolColumns.get(key) ?? remember(protocolColumns, key, (invert ? '!' : ' ') + padRight(protocolText(proto), 4) + ' ');
}

/** The in (lead: with the space before it) or out column. */
function ifaceColumn(name: string | undefined, invert: boolean | undefined, numeric: boolean, lead: boolean): string {
  const make = (): string => (lead ? ' ' : '') + padRight(iface(name, invert, numeric), 6) + ' ';
  if (!name) {
    const k = (lead ? 4 : 0) + (invert ? 2 : 0) + (numeric ? 1 : 0);
    return noIfaceColumns[k] ?? (noIfaceColumns[k] = make());
  }
  const map = ifaceColumns[lead ? 1 : 0]![invert ? 1 : 0]!;
  return map.get(name) ?? remember(map, name, make());
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** printf("%-Ns") pads by bytes, not characters: `é` takes two columns' worth. */
function padRight(text: string, width: number): string {
  const len = isAscii(text) ? text.length : Buffer.byteLength(text);
  return len >= width ? text : text + ' '.repeat(width - len);
}

function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/**
 * xtables_print_num: exact → `%8llu `; else up to 99999 as `%5llu `, then K, M, G, T with
 * rounding, computed in unsigned 64-bit arithmetic as iptables does (so 2^64-1 wraps).
 * notable: no padding (the policy counters of a chain header).
 */
export function formatCount(n: bigint, exact: boolean, notable = false): string {
  // Most counters in a large table are zero: its texts are made once.
  if (n === 0n) return exact ? (notable ? '0 ' : ZERO_EXACT) : notable ? '0 ' : ZERO_SHORT;
  if (exact) return (notable ? String(n) : padLeft(String(n), 8)) + ' ';
  if (n <= 99999n) return (notable ? String(n) : padLeft(String(n), 5)) + ' ';
  for (const unit of ['K', 'M', 'G']) {
    n = ((n + 500n) & MASK64) / 1000n;
    if (n <= 9999n) return (notable ? String(n) : padLeft(String(n), 4)) + unit + ' ';
  }
  n = ((n + 500n) & MASK64) / 1000n;
  return (notable ? String(n) : padLeft(String(n), 4)) + 'T ';
}

function header(table: Table, chain: Chain, opts: ListingOptions): string {
  const exact = opts.exact ?? false;
  let out = `Chain ${chain.name}`;
  if (chain.policy !== undefined) {
    out += ` (policy ${chain.policy}`;
    if (opts.verbose) {
      const c = chain.counters ?? { packets: 0n, bytes: 0n };
      out += ' ' + formatCount(c.packets, exact, true) + 'packets, ' + formatCount(c.bytes, exact, true) + 'bytes';
    }
    out += ')\n';
  } else {
    out += ` (${chain.references ?? countReferences(table, chain.name)} references)\n`;
  }
  if (opts.lineNumbers) out += padRight('num', 4) + ' ';
  if (opts.verbose) {
    out += exact ? padLeft('pkts', 8) + ' ' + padLeft('bytes', 10) + ' ' : padLeft('pkts', 5) + ' ' + padLeft('bytes', 5) + ' ';
  }
  out += padRight('target', 9) + ' ';
  out += ' prot opt';
  if (opts.verbose) out += ' ' + padRight('in', 6) + ' ' + padRight('out', 6) + ' ';
  out += ' ' + padRight('source', 19) + ' ';
  out += ' ' + padRight('destination', 19) + ' ';
  return out + '\n';
}

function countReferences(table: Table, name: string): number {
  let refs = 0;
  for (const c of table.chains) for (const r of c.rules) if (r.target.kind === 'jump' && r.target.chain === name) refs++;
  return refs;
}

function targetName(rule: Rule): string {
  const t = rule.target;
  switch (t.kind) {
    case 'verdict': return t.verdict;
    case 'jump': return t.chain;
    case 'extension': return t.name;
    case 'none': return '';
  }
}

function listMatch(m: Match, ctx: PrintContext): string {
  const ext = matchForKernel(m, ctx.family);
  // iptables would print the kernel module's own text; iptkit has no module for it.
  if (!ext) return ` ${m.name} [opaque rev ${m.revision}]`;
  const text = ext.list(m, ctx);
  return text === '' ? '' : ' ' + text;
}

function iface(name: string | undefined, invert: boolean | undefined, numeric: boolean): string {
  // Inverted without a name: a legacy `! -o +` (name `+`, mask zero), which the read carries
  // as the inversion alone; iptables -L prints the name.
  if (invert) return '!' + (name ? name : '+');
  return name ? name : numeric ? '*' : 'any';
}

/** One rule line of the listing (with its newline). */
export function formatListingRule(rule: Rule, num: number, family: Family, opts: ListingOptions): string {
  if (rule.foreign !== undefined) {
    // No iptables columns to fill: the line says what nft holds there.
    return `${opts.lineNumbers ? String(num).padEnd(4) + ' ' : ''}/* foreign rule, kept as it is: ${rule.foreign} */\n`;
  }
  const numeric = opts.numeric ?? false;
  const exact = opts.exact ?? false;
  // Pieces joined once: a flat string per rule line (see printRule in save.ts).
  const out: string[] = [];
  if (opts.lineNumbers) out.push(padRight(String(num), 4) + ' ');
  if (opts.verbose) {
    const c = rule.counters ?? { packets: 0n, bytes: 0n };
    out.push(formatCount(c.packets, exact) + formatCount(c.bytes, exact));
  }
  out.push(targetColumn(targetName(rule)));
  // print_rule_details: `%-4s ` — a name longer than four still gets its space.
  out.push(protocolColumn(rule.protocol ?? 0, rule.protocolInvert === true));
  out.push(rule.fragment === undefined ? '-- ' : rule.fragment ? '-f ' : '!f ');
  if (opts.verbose) {
    out.push(ifaceColumn(rule.inInterface, rule.inInterfaceInvert, numeric, true));
    out.push(ifaceColumn(rule.outInterface, rule.outInterfaceInvert, numeric, false));
  }
  out.push((rule.sourceInvert ? '!' : ' ') + padRight(formatCidrListing(rule.source, family, numeric), 19) + ' ');
  out.push((rule.destinationInvert ? '!' : ' ') + padRight(formatCidrListing(rule.destination, family, numeric), 19) + ' ');
  if (rule.target.kind === 'jump' && rule.target.goto) out.push('[goto] ');
  // One shape for every rule; `protocol` undefined is what its absence was to the modules.
  const ctx: PrintContext = { family, numeric, protocol: rule.protocol };
  for (const m of rule.matches) out.push(listMatch(m, ctx));
  const t = rule.target;
  if (t.kind === 'extension') {
    const ext = targetForKernel(t, family);
    if (!ext) out.push(` [opaque target ${t.name} rev ${t.revision}]`);
    else {
      const text = ext.list(t, ctx);
      if (text !== '') out.push(' ' + text);
    }
  }
  out.push('\n');
  return out.join('');
}

/** What `iptables -L` prints for the table (or one chain) with these flags. */
export function formatListing(table: Table, opts: ListingOptions = {}): string {
  const chains = opts.chain !== undefined ? table.chains.filter((c) => c.name === opts.chain) : table.chains;
  if (opts.chain !== undefined && chains.length === 0) {
    throw new RangeError(`No chain/target/match by that name: ${opts.chain} (table ${table.name})`);
  }
  const parts: string[] = [];
  chains.forEach((chain, ci) => {
    if (ci > 0) parts.push('\n');
    parts.push(header(table, chain, opts));
    chain.rules.forEach((rule, ri) => parts.push(formatListingRule(rule, ri + 1, table.family, opts)));
  });
  return parts.join('');
}
