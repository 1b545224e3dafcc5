// Helpers shared by the match modules: option bookkeeping for build(), the quoting of
// xtables_save_string, and the listing context some matches need beyond PrintContext.

import type { ParseContext, ParsedOption, PrintContext } from './types.js';

/**
 * `iptables -L` prints multiport's service names for the rule's protocol, which
 * PrintContext does not carry; the listing passes it here when it has it.
 */
export interface ListContext extends PrintContext {
  protocol?: number;
}

export function ruleProtocol(ctx: PrintContext): number | undefined {
  return (ctx as ListContext).protocol;
}

/** Fails when an option is given twice (iptables: "can only be used once"). */
export function once(options: readonly ParsedOption[], ctx: ParseContext, module: string): Map<string, ParsedOption> {
  const seen = new Map<string, ParsedOption>();
  for (const o of options) {
    if (seen.has(o.name)) ctx.fail(`${module}: option "--${o.name}" can only be used once`, o.token, 'the option once');
    seen.set(o.name, o);
  }
  return seen;
}

/** Fails when `!` precedes an option the module cannot invert. */
export function noInvert(o: ParsedOption, ctx: ParseContext, module: string): void {
  if (o.invert) ctx.fail(`${module}: "${o.token}" cannot be inverted`, o.token, `${o.token} without !`);
}

/** The value of an option that takes one; fails naming the token when it is missing. */
export function arg(o: ParsedOption, ctx: ParseContext): string {
  if (o.value === undefined) ctx.fail(`${o.token} requires an argument`, o.token, 'a value');
  return o.value;
}

/** xtables_save_string: bare when only [A-Za-z0-9_-] (and not empty), else "…" with \ before " ' \. */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["'\\]/g, (c) => '\\' + c)}"`;
}

/** A wire number field (decimal or 0x hex); NaN when absent or malformed. */
export function num(fields: Record<string, string>, key: string): number {
  const v = fields[key];
  if (v === undefined) return NaN;
  // Plain decimal (nearly every field) without a regular expression; the rest as before.
  let k = 0;
  while (k < v.length && v.charCodeAt(k) >= 0x30 && v.charCodeAt(k) <= 0x39) k++;
  if (k === v.length && k > 0) return Number(v);
  return /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : NaN;
}

/** The `!` prefix in iptables-save text. */
export function bang(invert: boolean): string {
  return invert ? '! ' : '';
}
