// Ports as iptables reads and prints them: xtables_parse_port (a number, strtoul base 0, or
// a service name for the protocol), the `LO:HI` ranges of tcp/udp (either end may be left
// out), and the wire's `LO:HI` range fields.

import { strtoui } from '../address.js';
import type { ParseContext } from './types.js';
import { portToService, serviceToPort } from './services.js';

/** xtables_parse_port: a number 0-65535 or a service name known for `proto`. */
export function parsePort(text: string, proto: string | undefined, ctx: ParseContext, token: string): number {
  const n = strtoui(text, 65535);
  if (n !== undefined) return n;
  const s = proto !== undefined ? serviceToPort(text, proto) : undefined;
  if (s !== undefined) return s;
  return ctx.fail(`invalid port/service \`${text}' specified`, token, 'a port number 0-65535 or a service name');
}

/** tcp/udp `--sport`/`--dport`: `P`, `LO:HI`, `LO:` (to 65535) or `:HI` (from 0). */
export function parsePortRange(text: string, proto: string, ctx: ParseContext, token: string): [number, number] {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text, proto, ctx, token);
    return [p, p];
  }
  const a = text.slice(0, colon);
  const b = text.slice(colon + 1);
  const lo = a === '' ? 0 : parsePort(a, proto, ctx, token);
  const hi = b === '' ? 0xffff : parsePort(b, proto, ctx, token);
  if (lo > hi) ctx.fail('invalid portrange (min > max)', token, `a range LO:HI with LO ≤ HI, got ${text}`);
  return [lo, hi];
}

/** Wire `LO:HI` → numbers (a single N is N:N); undefined when malformed. */
export function rangeFromWire(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  // /^(\d+)(?::(\d+))?$/ by hand: this runs for every tcp/udp match printed.
  const n = value.length;
  let i = 0;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const lo = Number(value.slice(0, i));
  if (i === n) return [lo, lo];
  if (value.charCodeAt(i) !== 0x3a) return undefined;
  const from = ++i;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === from || i !== n) return undefined;
  return [lo, Number(value.slice(from))];
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function rangeToWire(lo: number, hi: number): string {
  return `${lo}:${hi}`;
}

/** A port in the listing: the service name for `proto` unless numeric or unknown. */
export function portText(port: number, proto: string | undefined, numeric: boolean): string {
  if (numeric || proto === undefined) return String(port);
  return portToService(port, proto) ?? String(port);
}
