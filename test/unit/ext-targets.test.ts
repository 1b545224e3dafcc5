// The target modules (src/rules/ext/*): options → codec fields, and fields → the text of
// iptables-save and `iptables -L`. Expected texts come from the real tools, recorded with
// (in a throwaway netns, iptables 1.8.9 legacy, kernel 6.x):
//   ip netns exec NS iptables-legacy-restore < rules      (and ip6tables-legacy-restore)
//   ip netns exec NS iptables-legacy-save
//   ip netns exec NS iptables-legacy -t TABLE -L -n -v    (options column, numeric)
//   ip netns exec NS iptables-legacy -t TABLE -L          (options column, names)
// Expected fields are what the C++ codecs decoded from the rules those tools wrote.

import { describe, expect, it } from 'vitest';
import { TARGET_CASES, TARGET_REFUSALS, type TargetCase } from '../cases/targets.js';
import { ParseError } from '../../src/errors.js';
import type { Family, Fields } from '../../src/rules/model.js';
import { TARGETS } from '../../src/rules/ext/targets.js';
import type { ExtensionTarget, ParseContext, ParsedOption, TargetExtension } from '../../src/rules/ext/types.js';
import { canonicalAddress } from '../../src/rules/ext/nat-range.js';
import { saveString } from '../../src/rules/ext/target-util.js';
import { applyRestore, parseRestore } from '../../src/rules/restore.js';
import { printRule } from '../../src/rules/save.js';

function ext(name: string): TargetExtension {
  const found = TARGETS.find((t) => t.names.includes(name));
  if (!found) throw new Error(`no target module ${name}`);
  return found;
}

/** Splits `--opt value "quoted value"` the way a shell would, enough for these tests. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

function parseOptions(e: TargetExtension, text: string): ParsedOption[] {
  const w = words(text);
  const out: ParsedOption[] = [];
  let invert = false;
  for (let i = 0; i < w.length; i++) {
    const token = w[i]!;
    if (token === '!') {
      invert = true;
      continue;
    }
    const name = token.replace(/^--/, '');
    const spec = e.options.find((o) => o.name === name || o.aliases?.includes(name));
    const opt: ParsedOption = { name: spec?.name ?? name, invert, token };
    if (spec?.hasArg) opt.value = w[++i];
    out.push(opt);
    invert = false;
  }
  return out;
}

function ctx(family: Family, protocol?: number): ParseContext {
  return {
    family,
    ...(protocol !== undefined ? { protocol } : {}),
    fail(message: string, token?: string, expected?: string): never {
      throw new ParseError(message, { ...(token !== undefined ? { token } : {}), ...(expected !== undefined ? { expected } : {}) });
    },
  };
}

function build(name: string, family: Family, options: string, protocol?: number): ExtensionTarget {
  const e = ext(name);
  const fields = e.build(parseOptions(e, options), ctx(family, protocol));
  return { kind: 'extension', name: e.kernelName, revision: e.revision(family), fields };
}

function printer(target: ExtensionTarget, family: Family): TargetExtension {
  const e = TARGETS.find((t) => t.kernelName === target.name && t.revisions.includes(target.revision));
  if (!e) throw new Error(`no module prints ${target.name} rev ${target.revision}`);
  return e;
}

const save = (t: ExtensionTarget, family: Family) => printer(t, family).save(t, { family, numeric: true });
const listN = (t: ExtensionTarget, family: Family) => printer(t, family).list(t, { family, numeric: true });
const listNames = (t: ExtensionTarget, family: Family) => printer(t, family).list(t, { family, numeric: false });

type Case = TargetCase;
const CASES = TARGET_CASES;


describe('target modules print what iptables-legacy-save and iptables -L print', () => {
  for (const c of CASES) {
    it(`${c.family} -j ${c.input}`, () => {
      const t = build(c.input.split(' ')[0]!, c.family, c.input.slice(c.input.indexOf(' ') + 1 || c.input.length), c.proto);
      if (c.fields) expect(t.fields).toEqual(c.fields);
      expect(save(t, c.family)).toBe(c.save);
      expect(listN(t, c.family)).toBe(c.list);
      expect(listNames(t, c.family)).toBe(c.listNames ?? c.list);
    });
  }
});

describe('build → save → build gives the same fields', () => {
  for (const c of CASES.filter((x) => !x.noRoundTrip)) {
    it(`${c.family} ${c.save}`, () => {
      const name = c.input.split(' ')[0]!;
      const first = build(name, c.family, c.input.slice(c.input.indexOf(' ') + 1 || c.input.length), c.proto);
      const text = save(first, c.family);
      const savedName = text.split(' ')[1]!;
      const again = build(savedName, c.family, text.split(' ').slice(2).join(' '), c.proto);
      expect(again).toEqual(first);
      expect(save(again, c.family)).toBe(text);
    });
  }
});

describe('targets read from the kernel at other revisions print the same', () => {
  it('DNAT revision 0 (IPv4 compat) and 1 (nf_nat_range) have no base_proto', () => {
    const fields = { flags: '3', min_addr: '172.19.0.2', max_addr: '172.19.0.2', min_proto: '443', max_proto: '443' };
    for (const revision of [0, 1]) {
      const t: ExtensionTarget = { kind: 'extension', name: 'DNAT', revision, fields };
      expect(save(t, 'ipv4')).toBe('-j DNAT --to-destination 172.19.0.2:443');
      expect(listN(t, 'ipv4')).toBe('to:172.19.0.2:443');
    }
  });
  it('CT revision 0 has no timeout and no NOTRACK alias in the listing', () => {
    const t: ExtensionTarget = { kind: 'extension', name: 'CT', revision: 0, fields: { flags: '1', zone: '0', ct_events: '0', exp_events: '0', helper: '' } };
    expect(save(t, 'ipv4')).toBe('-j CT --notrack');
    expect(listN(t, 'ipv4')).toBe('CT notrack');
  });
  it('the family picks the REJECT module and revision', () => {
    expect(ext('REJECT').revision('ipv4')).toBe(0);
    expect(ext('SNAT').revision('ipv4')).toBe(0);
    expect(ext('SNAT').revision('ipv6')).toBe(1);
    expect(ext('DNAT').revision('ipv4')).toBe(2);
    expect(ext('MARK').revision('ipv6')).toBe(2);
    expect(ext('CT').revision('ipv4')).toBe(2);
  });
});

function buildError(name: string, family: Family, options: string, protocol?: number): ParseError {
  try {
    build(name, family, options, protocol);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`-j ${name} ${options} was accepted`);
}

describe('build refuses what iptables refuses, naming the token and the value', () => {
  const cases = TARGET_REFUSALS;
  for (const [name, family, options, proto, token, message] of cases) {
    it(`${family} -j ${name} ${options}`, () => {
      const e = buildError(name, family, options, proto);
      expect(e.message).toMatch(message);
      expect(e.token).toBe(token);
    });
  }
});

describe('addresses are written as inet_ntop writes them', () => {
  // python3: socket.inet_ntop(AF_INET6, socket.inet_pton(AF_INET6, a)) on glibc.
  const samples: [string, string][] = [
    ['::2', '::2'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['1::', '1::'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:1:0:0:1:0:0', '1:0:1::1:0:0'],
    ['::ffff', '::ffff'],
    ['0:0:0:0:0:1:0:0', '::1:0:0'],
    ['::0.0.1.2', '::102'],
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:1::', '0:0:1::'],
    ['FD00:0000::0001', 'fd00::1'],
    ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [input, out] of samples) {
    it(`${input} → ${out}`, () => expect(canonicalAddress('ipv6', input)).toBe(out));
  }
  it('refuses what inet_pton refuses', () => {
    for (const bad of ['1:2:3:4:5:6:7:8::', ':::', '1::2::3', '12345::', '1.2.3.4', 'g::']) {
      expect(canonicalAddress('ipv6', bad)).toBeUndefined();
    }
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '']) expect(canonicalAddress('ipv4', bad)).toBeUndefined();
  });
});

describe('iptables-save quoting', () => {
  it('quotes and escapes like xtables_save_string', () => {
    expect(saveString('a_b-9')).toBe('a_b-9');
    expect(saveString('x ')).toBe('"x "');
    expect(saveString(`it's "q"`)).toBe(`"it\\'s \\"q\\""`);
    expect(saveString('a\\b')).toBe('"a\\\\b"');
  });
});

describe('through the restore parser and save printer', () => {
  // iptables accepts unambiguous prefixes of long options: `--to` is the common spelling.
  const cases: [Family, string, string, string][] = [
    ['ipv4', 'nat', '-A PREROUTING -p tcp -j DNAT --to 172.19.0.2:443', '-A PREROUTING -p tcp -j DNAT --to-destination 172.19.0.2:443'],
    ['ipv4', 'nat', '-A POSTROUTING -s 172.19.0.0/16 ! -o br0 -j MASQUERADE', '-A POSTROUTING -s 172.19.0.0/16 ! -o br0 -j MASQUERADE'],
    ['ipv4', 'nat', '-A POSTROUTING -j SNAT --to 1.2.3.4 --random-f', '-A POSTROUTING -j SNAT --to-source 1.2.3.4 --random-fully'],
    ['ipv6', 'nat', '-A PREROUTING -p tcp -j DNAT --to-destination [fd00::2]:443', '-A PREROUTING -p tcp -j DNAT --to-destination [fd00::2]:443'],
    ['ipv6', 'filter', '-A INPUT -p tcp -j REJECT --reject-with tcp-reset', '-A INPUT -p tcp -j REJECT --reject-with tcp-reset'],
    ['ipv6', 'filter', '-A INPUT -j REJECT', '-A INPUT -j REJECT --reject-with icmp6-port-unreachable'],
    ['ipv4', 'filter', '-A INPUT -j REJECT', '-A INPUT -j REJECT --reject-with icmp-port-unreachable'],
    ['ipv4', 'raw', '-A PREROUTING -j NOTRACK', '-A PREROUTING -j NOTRACK'],
    ['ipv4', 'raw', '-A PREROUTING -j CT --notrack', '-A PREROUTING -j CT --notrack'],
    ['ipv4', 'filter', '-A INPUT -j LOG --log-prefix "DROP: " --log-level info', '-A INPUT -j LOG --log-prefix "DROP: " --log-level 6'],
    ['ipv4', 'mangle', '-A PREROUTING -j MARK --set-mark 0x2000/0x2000', '-A PREROUTING -j MARK --set-xmark 0x2000/0x2000'],
  ];
  const CHAINS: Record<string, string[]> = {
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
    filter: ['INPUT', 'FORWARD', 'OUTPUT'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
    raw: ['PREROUTING', 'OUTPUT'],
  };
  for (const [family, table, line, expected] of cases) {
    it(`${family} ${table} ${line}`, () => {
      const chain = line.split(' ')[1]!;
      const text = [`*${table}`, ...CHAINS[table]!.map((c) => `:${c} ACCEPT [0:0]`), line, 'COMMIT', ''].join('\n');
      const t = applyRestore(parseRestore(text, { family }).tables[0]!, undefined);
      const rule = t.chains.find((c) => c.name === chain)!.rules[0]!;
      expect(printRule(chain, rule, family)).toBe(expected);
    });
  }
});
