// Small helpers the target modules share: option bookkeeping with iptables' own error
// wording (once only, not invertible, mutually exclusive, mandatory), C-style unsigned
// number parsing (strtoul with base 0, as xtables does), and iptables-save's string quoting.

import type { OptionSpec, ParseContext, ParsedOption } from './types.js';

/**
 * Checks each option against the module's specs the way xtables does, and returns them by
 * canonical name. `exclusive` lists options of which at most one may be given.
 */
export function collectOptions(
  ext: string,
  options: readonly ParsedOption[],
  specs: readonly OptionSpec[],
  ctx: ParseContext,
  exclusive: readonly string[] = [],
): Map<string, ParsedOption> {
  const seen = new Map<string, ParsedOption>();
  for (const opt of options) {
    const spec = specs.find((s) => s.name === opt.name);
    if (!spec) ctx.fail(`${ext}: unknown option "${opt.token}"`, opt.token);
    if (opt.invert && !spec.invertible) {
      ctx.fail(`${ext}: option "--${spec.name}" cannot be inverted`, opt.token);
    }
    if (seen.has(spec.name)) {
      ctx.fail(`${ext}: option "--${spec.name}" can only be used once`, opt.token);
    }
    if (exclusive.includes(spec.name)) {
      const other = exclusive.find((n) => n !== spec.name && seen.has(n));
      if (other !== undefined) {
        ctx.fail(`${ext}: option "--${other}" cannot be used together with "--${spec.name}"`, opt.token);
      }
    }
    if (spec.hasArg && opt.value === undefined) {
      ctx.fail(`${ext}: option "--${spec.name}" requires an argument`, opt.token, 'a value');
    }
    seen.set(spec.name, opt);
  }
  return seen;
}

/** Fails like xtables' XTOPT_MAND when `name` is absent. */
export function requireOption(ext: string, seen: ReadonlyMap<string, ParsedOption>, name: string, ctx: ParseContext): ParsedOption {
  const opt = seen.get(name);
  if (!opt) ctx.fail(`${ext}: option "--${name}" must be specified`, undefined, `--${name}`);
  return opt;
}

/**
 * strtoul(s, &end, 0) on the longest prefix of `s`: `0x…` hex, `0…` octal, else decimal.
 * Undefined when no digit starts `s` or a `-` does (xtables refuses negatives).
 */
export function parseUnsignedPrefix(s: string): { value: number; rest: string } | undefined {
  let m = /^0[xX]([0-9a-fA-F]+)/.exec(s);
  if (m) return { value: parseInt(m[1]!, 16), rest: s.slice(m[0].length) };
  m = /^0([0-7]*)/.exec(s);
  if (m) return { value: m[1] ? parseInt(m[1], 8) : 0, rest: s.slice(m[0].length) };
  m = /^[1-9][0-9]*/.exec(s);
  if (m) return { value: Number(m[0]), rest: s.slice(m[0].length) };
  return undefined;
}

/** The whole of `s` as an unsigned number in [min, max] (xtables_strtoui with no end). */
export function parseUnsigned(s: string, min: number, max: number): number | undefined {
  const r = parseUnsignedPrefix(s);
  if (!r || r.rest !== '' || r.value < min || r.value > max) return undefined;
  return r.value;
}

const NO_QUOTE = /^[_\-0-9a-zA-Z]+$/;

/** xtables_save_string: bare when only [_-0-9a-zA-Z], else double-quoted with `"`, `\` and `'` escaped. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** Truncates to at most `max` UTF-8 bytes without splitting a character (XTOPT_PUT into char[N]). */
export function truncateBytes(value: string, max: number): string {
  if (Buffer.byteLength(value) <= max) return value;
  let out = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** A numeric field written by the codec; `fallback` when absent or malformed. */
export function num(value: string | undefined, fallback = 0): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}
