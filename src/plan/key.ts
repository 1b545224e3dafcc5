// A rule's identity for planning: everything the kernel compares, nothing it counts. Two
// rules with the same key are the same rule, so the planner keeps the one in the kernel (and
// its counters) instead of replacing it.
//
// Hot path (30,000 rules per plan): ruleKey builds its string without intermediate arrays,
// and the planner avoids building keys at all where it can (sameRuleKey, ruleKeyHash): both
// are exact stand-ins for comparing ruleKey strings, as explained at each.

import type { Fields, Match, Rule, Target } from '../rules/model.js';

function sortedKeys(fields: Fields): string[] {
  const keys = Object.keys(fields);
  // Codecs write fields in a fixed order, but parsed rules may not; sort to be safe (only
  // when not sorted already: the same order as Array.prototype.sort's default comparison).
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) return keys.sort();
  }
  return keys;
}

function fieldsKey(fields: Fields): string {
  let out = '';
  for (const k of sortedKeys(fields)) out += k + '=' + fields[k] + ';';
  return out;
}

function matchKey(m: Match): string {
  return 'm:' + m.name + '/' + m.revision + '{' + fieldsKey(m.fields) + '}';
}

function targetKey(t: Target): string {
  switch (t.kind) {
    case 'verdict':
      return 'v:' + t.verdict;
    case 'jump':
      return (t.goto ? 'g:' : 'j:') + t.chain;
    case 'extension':
      return 't:' + t.name + '/' + t.revision + '{' + fieldsKey(t.fields) + '}';
    case 'none':
      return 'n';
  }
}

export function ruleKey(rule: Rule): string {
  let key =
    (rule.source ?? '') + '|' +
    (rule.sourceInvert ? '!' : '') + '|' +
    (rule.destination ?? '') + '|' +
    (rule.destinationInvert ? '!' : '') + '|' +
    (rule.inInterface ?? '') + '|' +
    (rule.inInterfaceInvert ? '!' : '') + '|' +
    (rule.outInterface ?? '') + '|' +
    (rule.outInterfaceInvert ? '!' : '') + '|' +
    (rule.protocol ?? 0) + '|' +
    (rule.protocolInvert ? '!' : '') + '|' +
    (rule.fragment === undefined ? '' : rule.fragment ? 'f' : '!f');
  for (const m of rule.matches) key += matchKey(m);
  return key + targetKey(rule.target);
}

function sameFields(a: Fields, b: Fields): boolean {
  if (a === b) return true;
  // As comparing Object.keys of both, without allocating the two key arrays.
  let na = 0;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    na++;
    if (!Object.prototype.hasOwnProperty.call(b, k) || a[k] !== b[k]) return false;
  }
  let nb = 0;
  for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k)) nb++;
  return na === nb;
}

/**
 * Equal field by field in every part ruleKey is made of, so ruleKey(a) === ruleKey(b) when
 * this is true (the converse may fail only for texts holding ruleKey's separators). No
 * allocation: the planner's check for a chain that did not change.
 */
export function sameRuleKey(a: Rule, b: Rule): boolean {
  if (a === b) return true;
  if ((a.source ?? '') !== (b.source ?? '') || !a.sourceInvert !== !b.sourceInvert) return false;
  if ((a.destination ?? '') !== (b.destination ?? '') || !a.destinationInvert !== !b.destinationInvert) return false;
  if ((a.inInterface ?? '') !== (b.inInterface ?? '') || !a.inInterfaceInvert !== !b.inInterfaceInvert) return false;
  if ((a.outInterface ?? '') !== (b.outInterface ?? '') || !a.outInterfaceInvert !== !b.outInterfaceInvert) return false;
  if ((a.protocol ?? 0) !== (b.protocol ?? 0) || !a.protocolInvert !== !b.protocolInvert) return false;
  if (a.fragment !== b.fragment) return false;
  const ma = a.matches;
  const mb = b.matches;
  if (ma.length !== mb.length) return false;
  for (let i = 0; i < ma.length; i++) {
    const x = ma[i]!;
    const y = mb[i]!;
    if (x.name !== y.name || x.revision !== y.revision || !sameFields(x.fields, y.fields)) return false;
  }
  const ta = a.target;
  const tb = b.target;
  switch (ta.kind) {
    case 'verdict':
      return tb.kind === 'verdict' && ta.verdict === tb.verdict;
    case 'jump':
      return tb.kind === 'jump' && ta.chain === tb.chain && !ta.goto === !tb.goto;
    case 'extension':
      return tb.kind === 'extension' && ta.name === tb.name && ta.revision === tb.revision && sameFields(ta.fields, tb.fields);
    case 'none':
      return tb.kind === 'none';
  }
}

// ---- a cheap hash of a rule's key parts, for rules whose key parses back unambiguously ----

/** Marks a text holding one of the given separator characters (see ruleKeyHash). */
let unclean = false;

const PIPE = 1;
const NAME = 2; // / { } ;
const FKEY = 4; // = ; { }
const FVAL = 8; // ; { }

function hashText(h: number, s: string, forbid: number): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x7f && c >= 0x2f && CLASS[c]! & forbid) unclean = true;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return Math.imul(h ^ s.length, 0x01000193);
}

const CLASS = new Uint8Array(0x80);
CLASS[0x7c] = PIPE; // |
CLASS[0x2f] = NAME; // /
CLASS[0x7b] = NAME | FKEY | FVAL; // {
CLASS[0x7d] = NAME | FKEY | FVAL; // }
CLASS[0x3b] = NAME | FKEY | FVAL; // ;
CLASS[0x3d] = FKEY; // =

function hashNum(h: number, n: number | undefined): number {
  return Math.imul(h ^ ((n ?? 0) | 0), 0x01000193);
}

function hashFields(h: number, f: Fields): number {
  // Order-independent: the key sorts the fields.
  let sum = 0;
  for (const k in f) {
    if (!Object.prototype.hasOwnProperty.call(f, k)) continue;
    sum = (sum + hashText(hashText(0x811c9dc5, k, FKEY), f[k]!, FVAL)) | 0;
  }
  return Math.imul(h ^ sum, 0x01000193);
}

/**
 * A 32-bit hash of the parts ruleKey is made of, or -1 when a text holds a character that
 * could make two different sets of parts print as the same key (`|` in an address or an
 * interface; `/ { } ;` in an extension name; `= ; { }` in a field name; `; { }` in a field
 * value). For two rules with a hash each, equal keys mean equal parts, so equal hashes: a
 * rule whose hash no rule on the other side has cannot share its key.
 */
export function ruleKeyHash(rule: Rule): number {
  unclean = false;
  let h = 0x811c9dc5;
  h = hashText(h, rule.source ?? '', PIPE);
  h = hashText(h, rule.destination ?? '', PIPE);
  h = hashText(h, rule.inInterface ?? '', PIPE);
  h = hashText(h, rule.outInterface ?? '', PIPE);
  h = hashNum(h, rule.protocol);
  h = hashNum(
    h,
    (rule.sourceInvert ? 1 : 0) |
      (rule.destinationInvert ? 2 : 0) |
      (rule.inInterfaceInvert ? 4 : 0) |
      (rule.outInterfaceInvert ? 8 : 0) |
      (rule.protocolInvert ? 16 : 0) |
      (rule.fragment === undefined ? 0 : rule.fragment ? 32 : 64),
  );
  for (const m of rule.matches) {
    h = hashText(h, m.name, NAME);
    h = hashNum(h, m.revision);
    h = hashFields(h, m.fields);
  }
  const t = rule.target;
  switch (t.kind) {
    case 'verdict':
      h = hashText(hashNum(h, 1), t.verdict, 0);
      break;
    case 'jump':
      h = hashText(hashNum(h, t.goto ? 3 : 2), t.chain, 0);
      break;
    case 'extension':
      h = hashFields(hashNum(hashText(hashNum(h, 4), t.name, NAME), t.revision), t.fields);
      break;
    case 'none':
      h = hashNum(h, 5);
      break;
  }
  return unclean ? -1 : h >>> 0;
}
