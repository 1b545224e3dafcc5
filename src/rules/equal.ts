// Rule equality as the kernel sees a rule: every ip field, every match (in order) and the
// target, field by field; counters ignored. The planner keeps a rule when it is equal, and
// restore's `-D spec` deletes the first equal rule, as iptables compares whole entries.

import type { Fields, Match, Rule, Target } from './model.js';

function same<T>(a: T | undefined, b: T | undefined, empty: T): boolean {
  return (a ?? empty) === (b ?? empty);
}

function cidr(c: string | undefined, invert: boolean | undefined): string {
  // `-s 0.0.0.0/0` without `!` is no source at all in the kernel.
  return c === undefined || (!invert && c.endsWith('/0')) ? '' : c;
}

export function fieldsEqual(a: Fields, b: Fields): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || a[k] !== b[k]) return false;
  return true;
}

export function matchEquals(a: Match, b: Match): boolean {
  return a.name === b.name && a.revision === b.revision && fieldsEqual(a.fields, b.fields);
}

export function targetEquals(a: Target, b: Target): boolean {
  switch (a.kind) {
    case 'none':
      return b.kind === 'none';
    case 'verdict':
      return b.kind === 'verdict' && a.verdict === b.verdict;
    case 'jump':
      return b.kind === 'jump' && a.chain === b.chain && (a.goto ?? false) === (b.goto ?? false);
    case 'extension':
      return b.kind === 'extension' && a.name === b.name && a.revision === b.revision && fieldsEqual(a.fields, b.fields);
  }
}

/** Whether two rules are the same rule to the kernel (counters ignored). */
export function ruleEquals(a: Rule, b: Rule): boolean {
  if (cidr(a.source, a.sourceInvert) !== cidr(b.source, b.sourceInvert)) return false;
  if (!same(a.sourceInvert, b.sourceInvert, false)) return false;
  if (cidr(a.destination, a.destinationInvert) !== cidr(b.destination, b.destinationInvert)) return false;
  if (!same(a.destinationInvert, b.destinationInvert, false)) return false;
  if (!same(a.inInterface, b.inInterface, '') || !same(a.inInterfaceInvert, b.inInterfaceInvert, false)) return false;
  if (!same(a.outInterface, b.outInterface, '') || !same(a.outInterfaceInvert, b.outInterfaceInvert, false)) return false;
  if (!same(a.protocol, b.protocol, 0) || !same(a.protocolInvert, b.protocolInvert, false)) return false;
  if (a.fragment !== b.fragment) return false;
  if (a.matches.length !== b.matches.length) return false;
  for (let i = 0; i < a.matches.length; i++) if (!matchEquals(a.matches[i]!, b.matches[i]!)) return false;
  return targetEquals(a.target, b.target);
}
