// The iptables-save printer: tables → the exact text iptables-legacy-save 1.8.9 writes (chain
// lines, then rules; generic options in its order; `-c` counters as `[p:b] `). A match or
// target iptkit has no module for prints as an opaque marker (OPAQUE_OPTION) that both
// iptables-restore and iptkit's own parser refuse, so such a rule can never be restored
// half-understood.

import type { Counters, Family, Match, Rule, Table } from './model.js';
import { isBuiltinChain } from './model.js';
import { matchForKernel, targetForKernel } from './ext/index.js';
import type { ExtensionTarget, PrintContext } from './ext/index.js';
import { protocolText } from './protocols.js';
import { escapeValue } from './wire.js';

/**
 * The option an opaque extension prints as: `-m NAME --iptkit-opaque REV:DATA` (or `-j`).
 * DATA is the kernel's data area in hex for a rule read without a codec (`raw`), else the
 * codec fields as wire-escaped `key=value` pairs joined by `,`. iptables-restore rejects the
 * unknown option; iptkit's parser rejects it with a message naming the extension.
 */
export const OPAQUE_OPTION = '--iptkit-opaque';

const SAFE = /^[_\-0-9a-zA-Z]+$/;

/**
 * Quotes one argument as iptables' save functions do (xtables_save_string): bare when it is
 * only `[_-0-9a-zA-Z]`, else in double quotes with `"`, `\` and `'` escaped by a backslash.
 * Extension modules use it for free text (comment).
 */
export function quoteArg(value: string): string {
  if (SAFE.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}

function opaqueData(revision: number, fields: Record<string, string>): string {
  const raw = fields['raw'];
  const data = raw !== undefined ? raw : Object.keys(fields).map((k) => `${k}=${escapeValue(fields[k]!)}`).join(',');
  return `${revision}:${data === '' ? '-' : data}`;
}

function saveMatch(m: Match, ctx: PrintContext): string {
  const ext = matchForKernel(m, ctx.family);
  if (!ext) return `-m ${m.name} ${OPAQUE_OPTION} ${opaqueData(m.revision, m.fields)}`;
  return ext.save(m, ctx);
}

function saveTarget(t: ExtensionTarget, ctx: PrintContext): string {
  const ext = targetForKernel(t, ctx.family);
  if (!ext) return `-j ${t.name} ${OPAQUE_OPTION} ${opaqueData(t.revision, t.fields)}`;
  return ext.save(t, ctx);
}

function ifaceText(name: string, invert: boolean | undefined): string | undefined {
  // A lone `+` matches every interface: iptables-save omits it. `! -o +` (match none) is
  // printed as iptables-nft-save prints it; a legacy read never holds it with its name (the
  // kernel's mask is zero, and iptables-legacy-save omits it: decodeTable drops the name).
  return name === '+' && !invert ? undefined : name;
}

export interface PrintRuleOptions {
  /** `-c`: put `[packets:bytes] ` before `-A`. */
  counters?: boolean;
}

/** One rule as iptables-save prints it: `-A CHAIN …` (no newline). */
export function printRule(chain: string, rule: Rule, family: Family, opts: PrintRuleOptions = {}): string {
  // A rule written by `nft` directly has no iptables form (iptables-nft-save refuses the whole
  // table): say what it is in a comment, which iptables-restore and iptkit restore skip.
  if (rule.foreign !== undefined) return `# foreign rule in ${chain}, kept as it is: ${rule.foreign}`;
  // Pieces joined once: a flat string per rule (a rope per rule would wait for the final
  // join of a 30,000-rule table and be copied by the collector meanwhile).
  const out: string[] = [];
  if (opts.counters) {
    const c = rule.counters;
    // Zero counters (most rules of a large table) without converting two BigInts.
    out.push(c === undefined || (c.packets === 0n && c.bytes === 0n) ? '[0:0] ' : `[${c.packets}:${c.bytes}] `);
  }
  out.push('-A ' + chain);
  if (rule.source !== undefined || rule.sourceInvert) {
    const s = rule.source ?? (family === 'ipv4' ? '0.0.0.0/0' : '::/0');
    if (rule.sourceInvert || !s.endsWith('/0')) out.push(rule.sourceInvert ? ' ! -s ' : ' -s ', s);
  }
  if (rule.destination !== undefined || rule.destinationInvert) {
    const d = rule.destination ?? (family === 'ipv4' ? '0.0.0.0/0' : '::/0');
    if (rule.destinationInvert || !d.endsWith('/0')) out.push(rule.destinationInvert ? ' ! -d ' : ' -d ', d);
  }
  const i = rule.inInterface !== undefined ? ifaceText(rule.inInterface, rule.inInterfaceInvert) : undefined;
  if (i) out.push(rule.inInterfaceInvert ? ' ! -i ' : ' -i ', i);
  const o = rule.outInterface !== undefined ? ifaceText(rule.outInterface, rule.outInterfaceInvert) : undefined;
  if (o) out.push(rule.outInterfaceInvert ? ' ! -o ' : ' -o ', o);
  if ((rule.protocol !== undefined && rule.protocol !== 0) || rule.protocolInvert) {
    out.push(rule.protocolInvert ? ' ! -p ' : ' -p ', protocolText(rule.protocol ?? 0));
  }
  if (rule.fragment !== undefined && family === 'ipv4') out.push(rule.fragment ? ' -f' : ' ! -f');
  const ctx: PrintContext = { family, numeric: true };
  for (const m of rule.matches) out.push(' ', saveMatch(m, ctx));
  const t = rule.target;
  switch (t.kind) {
    case 'verdict':
      out.push(' -j ' + t.verdict);
      break;
    case 'jump':
      out.push((t.goto ? ' -g ' : ' -j ') + t.chain);
      break;
    case 'extension':
      out.push(' ', saveTarget(t, ctx));
      break;
    case 'none':
      break;
  }
  return out.join('');
}

function counterText(c: Counters | undefined): string {
  return `[${c?.packets ?? 0n}:${c?.bytes ?? 0n}]`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) without the newline, in local time: `Thu Nov 26 02:28:32 2026`. */
export function ctime(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`
  );
}

export interface PrintSaveOptions {
  /** `-c`: rule counters as `[p:b] ` before each `-A`. */
  counters?: boolean;
  /** The time in the comment lines (default: now). */
  date?: Date;
  /** The program named in `# Generated by …` (default `iptkit`). */
  generator?: string;
}

/** Whole tables as iptables-save prints them, comment lines included, each ending in `\n`. */
export function printSave(tables: readonly Table[], opts: PrintSaveOptions = {}): string {
  const when = ctime(opts.date ?? new Date());
  const gen = opts.generator ?? 'iptkit';
  const out: string[] = [];
  for (const table of tables) {
    out.push(`# Generated by ${gen} on ${when}`, `*${table.name}`);
    for (const c of table.chains) {
      const builtin = c.policy !== undefined || isBuiltinChain(table.name, c.name);
      // iptables-save prints policy counters with or without -c; user chains have none.
      out.push(builtin ? `:${c.name} ${c.policy ?? 'ACCEPT'} ${counterText(c.counters)}` : `:${c.name} - [0:0]`);
    }
    for (const c of table.chains) {
      for (const r of c.rules) out.push(printRule(c.name, r, table.family, { counters: opts.counters ?? false }));
    }
    out.push('COMMIT', `# Completed on ${when}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}
