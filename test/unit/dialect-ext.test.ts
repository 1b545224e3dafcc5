// The native dialect (native/dialect, native/ext) against what the real tools print: every
// case in test/cases was recorded from iptables-legacy 1.8.9 (see there). A rule is parsed
// by the native parser, printed as iptables-save prints it (its canonical text) and as a line
// of `iptables -L` (with and without -n); refusals must name the token iptables blames.

import { describe, expect, it } from 'vitest';
import { nativeDialect } from '../../src/binding.js';
import { ParseError } from '../../src/errors.js';
import type { Family } from '../../src/rules/model.js';
import { MATCH_CASES, MATCH_REFUSALS } from '../cases/matches.js';
import { TARGET_CASES, TARGET_REFUSALS } from '../cases/targets.js';

const canonical = (family: Family, text: string): string => nativeDialect.rule(family, text).text;

/** The options column of `iptables -L` for the rule: what follows the destination column. */
function optionsColumn(family: Family, text: string, numeric: boolean): string {
  const line = nativeDialect.listRule(family, text, 1, { numeric });
  const m = /^\S+\s+!?\S+\s+\S+\s+!?\S+\s+!?\S+(.*)\n$/.exec(line);
  if (!m) throw new Error(`unexpected listing line: ${JSON.stringify(line)}`);
  return m[1]!.trim();
}

function refusal(family: Family, text: string): ParseError {
  try {
    nativeDialect.rule(family, text);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`${text} was accepted`);
}

describe('matches: parse, save and -L as iptables 1.8.9', () => {
  for (const c of MATCH_CASES) {
    const proto = c.proto ? `-p ${c.proto} ` : '';
    const text = `${proto}${c.input} -j ACCEPT`;
    it(`${c.family} ${text}`, () => {
      const saved = canonical(c.family, text);
      const protoSaved = c.proto ? canonical(c.family, `-p ${c.proto}`) + ' ' : '';
      expect(saved).toBe(`${protoSaved}${c.canonical ?? c.save} -j ACCEPT`);
      // The canonical text is a fixed point.
      expect(canonical(c.family, saved)).toBe(saved);
      expect(optionsColumn(c.family, text, true)).toBe(c.listN);
      expect(optionsColumn(c.family, text, false)).toBe(c.list);
    });
  }
});

describe('matches: refused as iptables refuses them, naming the token', () => {
  for (const [input, family, proto, message, token] of MATCH_REFUSALS) {
    const text = `${proto ? `-p ${proto} ` : ''}${input} -j ACCEPT`;
    it(`${family} ${text}`, () => {
      const e = refusal(family, text);
      expect(e.message).toMatch(message);
      expect(e.token).toBe(token);
    });
  }
  it('a comment longer than the kernel keeps is cut to its 255 bytes, as iptables cuts it', () => {
    expect(canonical('ipv4', `-m comment --comment ${'x'.repeat(300)}`)).toBe(`-m comment --comment ${'x'.repeat(255)}`);
  });
  it('`--dport ! 80` (the old intrapositioned !) is refused, as iptables 1.8.9 refuses it', () => {
    // iptables blames the `!` (its module parses each option as getopt meets it); the native
    // modules see their options together, after the line, so the stray `80` is met first.
    expect(refusal('ipv4', '-p tcp --dport ! 80').token).toBe('80');
  });
  it('-m tcp with ! -p tcp fails: the kernel refuses an inverted protocol', () => {
    expect(refusal('ipv4', '! -p tcp -m tcp --dport 80').token).toBe('-m tcp');
  });
});

describe('targets: parse, save and -L as iptables 1.8.9', () => {
  for (const c of TARGET_CASES) {
    const proto = c.proto !== undefined ? `-p ${c.proto} ` : '';
    const text = `${proto}-j ${c.input}`;
    it(`${c.family} ${text}`, () => {
      const protoSaved = c.proto !== undefined ? canonical(c.family, `-p ${c.proto}`) + ' ' : '';
      const saved = canonical(c.family, text);
      expect(saved).toBe(`${protoSaved}${c.save}`);
      if (!c.noRoundTrip) expect(canonical(c.family, saved)).toBe(saved);
      expect(optionsColumn(c.family, text, true)).toBe(c.list);
      expect(optionsColumn(c.family, text, false)).toBe(c.listNames ?? c.list);
    });
  }
});

describe('targets: refused as iptables refuses them, naming the token', () => {
  for (const [name, family, options, proto, token, message] of TARGET_REFUSALS) {
    const text = `${proto !== undefined ? `-p ${proto} ` : ''}-j ${name} ${options}`.trim();
    it(`${family} ${text}`, () => {
      const e = refusal(family, text);
      expect(e.message).toMatch(message);
      expect(e.token).toBe(token);
    });
  }
});
