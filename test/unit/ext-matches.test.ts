// The match modules against the real tools: every case below was recorded from
// iptables-legacy 1.8.9 / ip6tables-legacy 1.8.9 in a throwaway netns, one rule at a time:
//   printf '*filter\n…\n-A INPUT <proto> <input> -j ACCEPT\nCOMMIT\n' | ip netns exec NS iptables-legacy-restore
//   save   = ip netns exec NS iptables-legacy-save          (the match part of the -A line)
//   listN  = ip netns exec NS iptables-legacy -L INPUT -n   (the options column)
//   list   = ip netns exec NS iptables-legacy -L INPUT      (the options column)
//   fields = the rule's match read back with libiptc and decoded by native/ext/<codec>.cc
// so build() must produce the kernel's own fields, and save()/list() the tools' own text.

import { describe, expect, it } from 'vitest';
import { MATCH_CASES, MATCH_REFUSALS, type MatchCase } from '../cases/matches.js';
import { ParseError } from '../../src/errors.js';
import type { Family, Fields, Match } from '../../src/rules/model.js';
import { parseProtocol } from '../../src/rules/protocols.js';
import { matchByUserName, matchForKernel } from '../../src/rules/ext/index.js';
import type { MatchExtension, OptionSpec, ParseContext, ParsedOption } from '../../src/rules/ext/types.js';
import { MATCHES } from '../../src/rules/ext/matches.js';
import { saveString } from '../../src/rules/ext/common.js';
import { rateText } from '../../src/rules/ext/limit.js';

type Case = MatchCase;
const CASES = MATCH_CASES;


// iptables-save itself loses these: `! --dport 0:65535` prints no port (so no `!`), and a
// /32 mask prints as a bare address, which reads back with the all-ones 16-byte mask.
const LOSSY_SAVE = new Set([
  '-m tcp ! --dport 0:65535',
  '-m conntrack --ctorigsrc 0.0.0.0/0 --ctorigdst 1.2.3.4/32 ! --ctproto 17',
]);

/** Splits like iptables-restore: blanks separate words, "…" quotes, \ escapes inside quotes. */
function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) cur += text[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function spec(ext: MatchExtension, long: string): OptionSpec | undefined {
  return ext.options.find((o) => o.name === long || o.aliases?.includes(long));
}

/** `-m NAME [!] --opt val …` → the module and its ParsedOptions (a stand-in for syntax.ts). */
function parse(input: string, family: Family): { ext: MatchExtension; options: ParsedOption[] } {
  const w = words(input);
  expect(w[0]).toBe('-m');
  const ext = matchByUserName(w[1]!, family);
  if (!ext) throw new Error(`no module for -m ${w[1]}`);
  const options: ParsedOption[] = [];
  let invert = false;
  for (let i = 2; i < w.length; i++) {
    if (w[i] === '!') {
      invert = true;
      continue;
    }
    const token = w[i]!;
    const s = spec(ext, token.replace(/^--/, ''));
    if (!s) throw new Error(`unknown option ${token}`);
    const nargs = s.hasArg ? ((s as { args?: number }).args ?? 1) : 0;
    const value = nargs ? w.slice(i + 1, i + 1 + nargs).join(' ') : undefined;
    i += nargs;
    options.push({ name: s.name, ...(value !== undefined ? { value } : {}), invert, token });
    invert = false;
  }
  return { ext, options };
}

function ctxFor(family: Family, proto: string, protocolInvert = false): ParseContext {
  return {
    family,
    ...(proto ? { protocol: parseProtocol(proto) } : {}),
    protocolInvert,
    fail(message: string, token?: string, expected?: string): never {
      throw new ParseError(message, { ...(token !== undefined ? { token } : {}), ...(expected !== undefined ? { expected } : {}) });
    },
  };
}

function build(c: { input: string; family: Family; proto: string }): { ext: MatchExtension; match: Match } {
  const { ext, options } = parse(c.input, c.family);
  const fields = ext.build(options, ctxFor(c.family, c.proto));
  return { ext, match: { name: ext.kernelName, revision: ext.revision(c.family), fields } };
}

function buildError(input: string, family: Family, proto: string, protocolInvert = false): ParseError {
  const { ext, options } = parse(input, family);
  try {
    ext.build(options, ctxFor(family, proto, protocolInvert));
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`build of ${input} did not fail`);
}

const print = (family: Family, proto: string, numeric: boolean) => ({
  family,
  numeric,
  ...(proto ? { protocol: parseProtocol(proto) } : {}),
});

describe('match modules print what iptables 1.8.9 prints', () => {
  for (const c of CASES) {
    describe(`${c.family} ${c.proto ? `-p ${c.proto} ` : ''}${c.input}`, () => {
      it('builds the fields the kernel codec decodes, in the same order', () => {
        const { match } = build(c);
        expect(match.name).toBe(c.kernel.name);
        expect(match.revision).toBe(c.kernel.revision);
        expect(match.fields).toEqual(c.fields);
        expect(Object.keys(match.fields)).toEqual(Object.keys(c.fields));
      });
      it('the kernel form is printed by the same module', () => {
        const { ext } = build(c);
        const kernel: Match = { name: c.kernel.name, revision: c.kernel.revision, fields: c.fields };
        expect(matchForKernel(kernel, c.family)).toBe(ext);
      });
      it('saves as iptables-save', () => {
        const kernel: Match = { name: c.kernel.name, revision: c.kernel.revision, fields: c.fields };
        expect(matchForKernel(kernel, c.family)!.save(kernel, print(c.family, c.proto, true))).toBe(c.save);
      });
      it('lists as iptables -L -n and iptables -L', () => {
        const kernel: Match = { name: c.kernel.name, revision: c.kernel.revision, fields: c.fields };
        const ext = matchForKernel(kernel, c.family)!;
        expect(ext.list(kernel, print(c.family, c.proto, true))).toBe(c.listN);
        expect(ext.list(kernel, print(c.family, c.proto, false))).toBe(c.list);
      });
      it('build → save → build → save gives back the same text (and fields, unless iptables loses them)', () => {
        const { match } = build(c);
        const saved = matchForKernel(match, c.family)!.save(match, print(c.family, c.proto, true));
        const again = build({ input: saved, family: c.family, proto: c.proto }).match;
        expect(matchForKernel(again, c.family)!.save(again, print(c.family, c.proto, true))).toBe(saved);
        if (!LOSSY_SAVE.has(c.input)) expect(again.fields).toEqual(match.fields);
        else expect(again.fields).not.toEqual(match.fields);
      });
    });
  }
});

describe('build errors name the token and the value', () => {
  const cases = MATCH_REFUSALS;
  for (const [input, family, proto, message, token] of cases) {
    it(`${family} ${proto ? `-p ${proto} ` : ''}${input}`, () => {
      const e = buildError(input, family, proto);
      expect(e.message).toMatch(message);
      expect(e.token).toBe(token);
    });
  }
  it('a comment longer than the kernel keeps fails naming its length', () => {
    const e = buildError(`-m comment --comment ${'x'.repeat(256)}`, 'ipv4', '');
    expect(e.message).toMatch(/256 bytes, longer than the kernel's 255/);
    expect(e.token).toBe('--comment');
  });
  it('-m tcp with ! -p tcp fails: the kernel refuses an inverted protocol', () => {
    expect(buildError('-m tcp --dport 80', 'ipv4', 'tcp', true).token).toBe('-m tcp');
  });
});

describe('details', () => {
  it('xtables_save_string quotes all but [A-Za-z0-9_-] and escapes " \' \\', () => {
    expect(saveString('plain-name_1')).toBe('plain-name_1');
    expect(saveString('')).toBe('""');
    expect(saveString('a b')).toBe('"a b"');
    expect(saveString(`q"'\\`)).toBe(`"q\\"\\'\\\\"`);
  });
  it('limit prints the largest unit that divides evenly enough (print_rate)', () => {
    expect(rateText(12000000)).toBe('3/hour');
    expect(rateText(600000)).toBe('1/min');
    expect(rateText(1000)).toBe('10/sec');
    expect(rateText(123428571)).toBe('7/day');
    expect(rateText(0)).toBe('inf');
  });
  it('every module names its kernel extension and a revision it prints', () => {
    for (const m of MATCHES) {
      expect(m.revisions).toContain(m.revision(m.family ?? 'ipv4'));
    }
  });
  it('icmp is IPv4 only and icmp6 (icmpv6) IPv6 only', () => {
    expect(matchByUserName('icmp', 'ipv6')).toBeUndefined();
    expect(matchByUserName('icmp6', 'ipv4')).toBeUndefined();
    expect(matchByUserName('icmpv6', 'ipv6')?.kernelName).toBe('icmp6');
  });
  it('a state rev 0 match written by older iptables prints as -m state', () => {
    const m: Match = { name: 'state', revision: 0, fields: { statemask: String(2 | 4) } };
    const ext = matchForKernel(m, 'ipv4')!;
    expect(ext.save(m, { family: 'ipv4', numeric: true })).toBe('-m state --state RELATED,ESTABLISHED');
    expect(ext.list(m, { family: 'ipv4', numeric: true })).toBe('state RELATED,ESTABLISHED');
  });
});

describe('wire number and range readers (hand-written scanners)', async () => {
  const { rangeFromWire } = await import('../../src/rules/ext/ports.js');
  const { num } = await import('../../src/rules/ext/common.js');
  it('rangeFromWire reads N and LO:HI only', () => {
    expect(rangeFromWire('80')).toEqual([80, 80]);
    expect(rangeFromWire('0:65535')).toEqual([0, 65535]);
    expect(rangeFromWire('007:08')).toEqual([7, 8]);
    for (const bad of ['', ':', '1:', ':2', 'a', '1:2:3', '1 ', ' 1', '-1', '1:x', '１']) expect(rangeFromWire(bad)).toBeUndefined();
    expect(rangeFromWire(undefined)).toBeUndefined();
  });
  it('num reads decimal and 0x hex, else NaN', () => {
    expect(num({ a: '12' }, 'a')).toBe(12);
    expect(num({ a: '0x1F' }, 'a')).toBe(31);
    expect(num({ a: '0XfF' }, 'a')).toBe(255);
    for (const bad of ['', '1a', '0x', ' 1', '-1', '1.5']) expect(num({ a: bad }, 'a')).toBeNaN();
    expect(num({}, 'a')).toBeNaN();
  });
});
