// A rule's identity for planning: everything the kernel compares, nothing it counts. Two
// rules with the same key are the same rule, so the planner keeps the one in the kernel (and
// its counters) instead of replacing it.

import type { Fields, Match, Rule, Target } from '../rules/model.js';

function fieldsKey(fields: Fields): string {
  // Codecs write fields in a fixed order, but parsed rules may not; sort to be safe.
  const keys = Object.keys(fields).sort();
  let out = '';
  for (const k of keys) out += `${k}=${fields[k]};`;
  return out;
}

function matchKey(m: Match): string {
  return `m:${m.name}/${m.revision}{${fieldsKey(m.fields)}}`;
}

function targetKey(t: Target): string {
  switch (t.kind) {
    case 'verdict':
      return `v:${t.verdict}`;
    case 'jump':
      return `${t.goto ? 'g' : 'j'}:${t.chain}`;
    case 'extension':
      return `t:${t.name}/${t.revision}{${fieldsKey(t.fields)}}`;
    case 'none':
      return 'n';
  }
}

export function ruleKey(rule: Rule): string {
  const parts = [
    rule.source ?? '',
    rule.sourceInvert ? '!' : '',
    rule.destination ?? '',
    rule.destinationInvert ? '!' : '',
    rule.inInterface ?? '',
    rule.inInterfaceInvert ? '!' : '',
    rule.outInterface ?? '',
    rule.outInterfaceInvert ? '!' : '',
    rule.protocol ?? 0,
    rule.protocolInvert ? '!' : '',
    rule.fragment === undefined ? '' : rule.fragment ? 'f' : '!f',
  ];
  let key = parts.join('|');
  for (const m of rule.matches) key += matchKey(m);
  return key + targetKey(rule.target);
}
