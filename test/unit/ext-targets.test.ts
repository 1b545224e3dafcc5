// The target modules (src/rules/ext/*): options → codec fields, and fields → the text of
// iptables-save and `iptables -L`. Expected texts come from the real tools, recorded with
// (in a throwaway netns, iptables 1.8.9 legacy, kernel 6.x):
//   ip netns exec NS iptables-legacy-restore < rules      (and ip6tables-legacy-restore)
//   ip netns exec NS iptables-legacy-save
//   ip netns exec NS iptables-legacy -t TABLE -L -n -v    (options column, numeric)
//   ip netns exec NS iptables-legacy -t TABLE -L          (options column, names)
// Expected fields are what the C++ codecs decoded from the rules those tools wrote.

import { describe, expect, it } from 'vitest';
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

interface Case {
  family: Family;
  proto?: number;
  /** What follows `-j` in the restore input. */
  input: string;
  /** What iptables-legacy-save prints from `-j` on. */
  save: string;
  /** The options column of `iptables -L -n` and of `iptables -L` (same when omitted). */
  list: string;
  listNames?: string;
  fields?: Fields;
  /** iptables itself cannot restore what it saved (a `/0` base port it then refuses). */
  noRoundTrip?: true;
}

const CASES: Case[] = [
  // nat, IPv4
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 172.19.0.2:443', save: '-j DNAT --to-destination 172.19.0.2:443', list: 'to:172.19.0.2:443',
    fields: { flags: '3', min_addr: '172.19.0.2', max_addr: '172.19.0.2', min_proto: '443', max_proto: '443', base_proto: '0' } },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 172.19.0.2-172.19.0.9:1000-2000', save: '-j DNAT --to-destination 172.19.0.2-172.19.0.9:1000-2000', list: 'to:172.19.0.2-172.19.0.9:1000-2000' },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 172.19.0.2 --random --persistent', save: '-j DNAT --to-destination 172.19.0.2 --random --persistent', list: 'to:172.19.0.2 random persistent',
    fields: { flags: '13', min_addr: '172.19.0.2', max_addr: '172.19.0.2', min_proto: '0', max_proto: '0', base_proto: '0' } },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination :8080', save: '-j DNAT --to-destination :8080', list: 'to::8080',
    fields: { flags: '2', min_addr: '0.0.0.0', max_addr: '0.0.0.0', min_proto: '8080', max_proto: '8080', base_proto: '0' } },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 10.0.0.1:1000-2000/3000', save: '-j DNAT --to-destination 10.0.0.1:1000-2000/3000', list: 'to:10.0.0.1:1000-2000/3000',
    fields: { flags: '35', min_addr: '10.0.0.1', max_addr: '10.0.0.1', min_proto: '1000', max_proto: '2000', base_proto: '3000' } },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 1.2.3.4:0x50', save: '-j DNAT --to-destination 1.2.3.4:80', list: 'to:1.2.3.4:80' },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 1.2.3.4:80-80', save: '-j DNAT --to-destination 1.2.3.4:80', list: 'to:1.2.3.4:80' },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 1.2.3.4:80-90/http', save: '-j DNAT --to-destination 1.2.3.4:80-90/80', list: 'to:1.2.3.4:80-90/80' },
  { family: 'ipv4', proto: 6, input: 'DNAT --to-destination 1.2.3.4:0', save: '-j DNAT --to-destination 1.2.3.4:0', list: 'to:1.2.3.4:0' },
  { family: 'ipv4', proto: 6, input: 'REDIRECT --to-ports 8080', save: '-j REDIRECT --to-ports 8080', list: 'redir ports 8080',
    fields: { flags: '2', min_addr: '0.0.0.0', max_addr: '0.0.0.0', min_proto: '8080', max_proto: '8080' } },
  { family: 'ipv4', proto: 6, input: 'REDIRECT --to-ports 8080-8090 --random', save: '-j REDIRECT --to-ports 8080-8090 --random', list: 'redir ports 8080-8090 random' },
  { family: 'ipv4', proto: 6, input: 'REDIRECT', save: '-j REDIRECT', list: '' },
  { family: 'ipv4', input: 'MASQUERADE', save: '-j MASQUERADE', list: '',
    fields: { flags: '0', min_addr: '0.0.0.0', max_addr: '0.0.0.0', min_proto: '0', max_proto: '0' } },
  { family: 'ipv4', proto: 6, input: 'MASQUERADE --to-ports 1024-2048 --random-fully', save: '-j MASQUERADE --to-ports 1024-2048 --random-fully', list: 'masq ports: 1024-2048 random-fully',
    fields: { flags: '18', min_addr: '0.0.0.0', max_addr: '0.0.0.0', min_proto: '1024', max_proto: '2048' } },
  { family: 'ipv4', proto: 17, input: 'MASQUERADE --random', save: '-j MASQUERADE --random', list: 'random' },
  { family: 'ipv4', proto: 6, input: 'MASQUERADE --to-ports 1000-2000/3000', save: '-j MASQUERADE --to-ports 1000-2000/0', list: 'masq ports: 1000-2000/0', noRoundTrip: true },
  { family: 'ipv4', proto: 6, input: 'SNAT --to-source 1.2.3.4:100-200 --random-fully', save: '-j SNAT --to-source 1.2.3.4:100-200 --random-fully', list: 'to:1.2.3.4:100-200 random-fully',
    fields: { flags: '19', min_addr: '1.2.3.4', max_addr: '1.2.3.4', min_proto: '100', max_proto: '200' } },
  { family: 'ipv4', input: 'SNAT --to-source 1.2.3.4-1.2.3.8 --persistent', save: '-j SNAT --to-source 1.2.3.4-1.2.3.8 --persistent', list: 'to:1.2.3.4-1.2.3.8 persistent' },
  { family: 'ipv4', proto: 6, input: 'SNAT --to-source 1.2.3.4:1000-2000/3000', save: '-j SNAT --to-source 1.2.3.4:1000-2000/0', list: 'to:1.2.3.4:1000-2000/0', noRoundTrip: true },
  // nat, IPv6
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination [fd00::2]:443', save: '-j DNAT --to-destination [fd00::2]:443', list: 'to:[fd00::2]:443',
    fields: { flags: '3', min_addr: 'fd00::2', max_addr: 'fd00::2', min_proto: '443', max_proto: '443', base_proto: '0' } },
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination [fd00::2-fd00::9]:1000-2000', save: '-j DNAT --to-destination [fd00::2-fd00::9]:1000-2000', list: 'to:[fd00::2-fd00::9]:1000-2000' },
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination fd00::2 --random --persistent', save: '-j DNAT --to-destination fd00::2 --random --persistent', list: 'to:fd00::2 random persistent' },
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination :8080', save: '-j DNAT --to-destination :8080', list: 'to::8080',
    fields: { flags: '2', min_addr: '::', max_addr: '::', min_proto: '8080', max_proto: '8080', base_proto: '0' } },
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination [fd00::1]:1000-2000/3000', save: '-j DNAT --to-destination [fd00::1]:1000-2000/3000', list: 'to:[fd00::1]:1000-2000/3000' },
  { family: 'ipv6', proto: 6, input: 'DNAT --to-destination fd00::2-fd00::9', save: '-j DNAT --to-destination fd00::2-fd00::9', list: 'to:fd00::2-fd00::9' },
  { family: 'ipv6', proto: 6, input: 'REDIRECT --to-ports 8080-8090 --random', save: '-j REDIRECT --to-ports 8080-8090 --random', list: 'redir ports 8080-8090 random',
    fields: { flags: '6', min_addr: '::', max_addr: '::', min_proto: '8080', max_proto: '8090' } },
  { family: 'ipv6', input: 'MASQUERADE', save: '-j MASQUERADE', list: '' },
  { family: 'ipv6', proto: 6, input: 'MASQUERADE --to-ports 1024-2048 --random-fully', save: '-j MASQUERADE --to-ports 1024-2048 --random-fully', list: 'masq ports: 1024-2048 random-fully' },
  { family: 'ipv6', proto: 6, input: 'SNAT --to-source [2001:db8::1]:100-200 --random-fully', save: '-j SNAT --to-source [2001:db8::1]:100-200 --random-fully', list: 'to:[2001:db8::1]:100-200 random-fully',
    fields: { flags: '19', min_addr: '2001:db8::1', max_addr: '2001:db8::1', min_proto: '100', max_proto: '200' } },
  { family: 'ipv6', input: 'SNAT --to-source 2001:db8::1-2001:db8::8 --persistent', save: '-j SNAT --to-source 2001:db8::1-2001:db8::8 --persistent', list: 'to:2001:db8::1-2001:db8::8 persistent' },
  { family: 'ipv6', input: 'SNAT --to-source ::ffff:1.2.3.4', save: '-j SNAT --to-source ::ffff:1.2.3.4', list: 'to:::ffff:1.2.3.4' },
  // filter, IPv4
  { family: 'ipv4', input: 'REJECT', save: '-j REJECT --reject-with icmp-port-unreachable', list: 'reject-with icmp-port-unreachable', fields: { with: '3' } },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-host-prohibited', save: '-j REJECT --reject-with icmp-host-prohibited', list: 'reject-with icmp-host-prohibited', fields: { with: '6' } },
  { family: 'ipv4', proto: 6, input: 'REJECT --reject-with tcp-reset', save: '-j REJECT --reject-with tcp-reset', list: 'reject-with tcp-reset', fields: { with: '7' } },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-net-unreachable', save: '-j REJECT --reject-with icmp-net-unreachable', list: 'reject-with icmp-net-unreachable' },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-host-unreachable', save: '-j REJECT --reject-with icmp-host-unreachable', list: 'reject-with icmp-host-unreachable' },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-proto-unreachable', save: '-j REJECT --reject-with icmp-proto-unreachable', list: 'reject-with icmp-proto-unreachable' },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-net-prohibited', save: '-j REJECT --reject-with icmp-net-prohibited', list: 'reject-with icmp-net-prohibited' },
  { family: 'ipv4', input: 'REJECT --reject-with icmp-admin-prohibited', save: '-j REJECT --reject-with icmp-admin-prohibited', list: 'reject-with icmp-admin-prohibited', fields: { with: '8' } },
  { family: 'ipv4', input: 'REJECT --reject-with ICMP-HOST-PROHIB', save: '-j REJECT --reject-with icmp-host-prohibited', list: 'reject-with icmp-host-prohibited' },
  { family: 'ipv4', input: 'REJECT --reject-with icmp', save: '-j REJECT --reject-with icmp-net-unreachable', list: 'reject-with icmp-net-unreachable' },
  { family: 'ipv4', input: 'LOG', save: '-j LOG', list: 'LOG flags 0 level 4', listNames: 'LOG level warn',
    fields: { level: '4', logflags: '0', prefix: '' } },
  { family: 'ipv4', input: 'LOG --log-prefix "x " --log-level 7', save: '-j LOG --log-prefix "x " --log-level 7', list: 'LOG flags 0 level 7 prefix "x "', listNames: 'LOG level debug prefix "x "',
    fields: { level: '7', logflags: '0', prefix: 'x ' } },
  { family: 'ipv4', input: `LOG --log-prefix "it's \\"q\\" " --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode`,
    save: `-j LOG --log-prefix "it\\'s \\"q\\" " --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode`,
    list: `LOG flags 47 level 4 prefix "it's "q" "`, listNames: `LOG level warn tcp-sequence tcp-options ip-options uid macdecode prefix "it's "q" "`,
    fields: { level: '4', logflags: '47', prefix: `it's "q" ` } },
  { family: 'ipv4', input: 'LOG --log-level warning', save: '-j LOG', list: 'LOG flags 0 level 4', listNames: 'LOG level warn' },
  { family: 'ipv4', input: 'LOG --log-level alert', save: '-j LOG --log-level 1', list: 'LOG flags 0 level 1', listNames: 'LOG level alert' },
  { family: 'ipv4', input: 'LOG --log-level error', save: '-j LOG --log-level 3', list: 'LOG flags 0 level 3', listNames: 'LOG level err' },
  { family: 'ipv4', input: 'LOG --log-prefix 1234567890123456789012345678901234', save: '-j LOG --log-prefix 12345678901234567890123456789',
    list: 'LOG flags 0 level 4 prefix "12345678901234567890123456789"', listNames: 'LOG level warn prefix "12345678901234567890123456789"' },
  { family: 'ipv4', input: 'LOG --log-level 0 --log-prefix "a b"', save: '-j LOG --log-prefix "a b" --log-level 0', list: 'LOG flags 0 level 0 prefix "a b"', listNames: 'LOG level emerg prefix "a b"' },
  { family: 'ipv4', input: 'LOG --log-level 3 --log-prefix "a\\\\b"', save: '-j LOG --log-prefix "a\\\\b" --log-level 3', list: 'LOG flags 0 level 3 prefix "a\\b"', listNames: 'LOG level err prefix "a\\b"' },
  { family: 'ipv4', input: 'LOG --log-level 5 --log-prefix a_b-9', save: '-j LOG --log-prefix a_b-9 --log-level 5', list: 'LOG flags 0 level 5 prefix "a_b-9"', listNames: 'LOG level notice prefix "a_b-9"' },
  { family: 'ipv4', input: 'LOG --log-level 6 --log-prefix a.b', save: '-j LOG --log-prefix "a.b" --log-level 6', list: 'LOG flags 0 level 6 prefix "a.b"', listNames: 'LOG level info prefix "a.b"' },
  { family: 'ipv4', input: `LOG --log-level 2 --log-prefix "a'b"`, save: `-j LOG --log-prefix "a\\'b" --log-level 2`, list: `LOG flags 0 level 2 prefix "a'b"`, listNames: `LOG level crit prefix "a'b"` },
  { family: 'ipv4', input: 'MARK --set-mark 1', save: '-j MARK --set-xmark 0x1/0xffffffff', list: 'MARK set 0x1', fields: { mark: '0x1', mask: '0xffffffff' } },
  { family: 'ipv4', input: 'MARK --set-xmark 0x1/0xff', save: '-j MARK --set-xmark 0x1/0xff', list: 'MARK xset 0x1/0xff', fields: { mark: '0x1', mask: '0xff' } },
  { family: 'ipv4', input: 'MARK --set-mark 0x1/0xff', save: '-j MARK --set-xmark 0x1/0xff', list: 'MARK xset 0x1/0xff' },
  { family: 'ipv4', input: 'MARK --and-mark 0xf0', save: '-j MARK --set-xmark 0x0/0xffffff0f', list: 'MARK and 0xf0', fields: { mark: '0x0', mask: '0xffffff0f' } },
  { family: 'ipv4', input: 'MARK --or-mark 0x4', save: '-j MARK --set-xmark 0x4/0x4', list: 'MARK or 0x4' },
  { family: 'ipv4', input: 'MARK --xor-mark 0x8', save: '-j MARK --set-xmark 0x8/0x0', list: 'MARK xor 0x8', fields: { mark: '0x8', mask: '0x0' } },
  { family: 'ipv4', input: 'MARK --set-mark 010', save: '-j MARK --set-xmark 0x8/0xffffffff', list: 'MARK set 0x8' },
  { family: 'ipv4', input: 'MARK --set-mark 0x10/0x0f', save: '-j MARK --set-xmark 0x10/0x1f', list: 'MARK xset 0x10/0x1f' },
  // filter, IPv6
  { family: 'ipv6', input: 'REJECT', save: '-j REJECT --reject-with icmp6-port-unreachable', list: 'reject-with icmp6-port-unreachable', fields: { with: '4' } },
  { family: 'ipv6', input: 'REJECT --reject-with no-route', save: '-j REJECT --reject-with icmp6-no-route', list: 'reject-with icmp6-no-route', fields: { with: '0' } },
  { family: 'ipv6', input: 'REJECT --reject-with adm-prohibited', save: '-j REJECT --reject-with icmp6-adm-prohibited', list: 'reject-with icmp6-adm-prohibited', fields: { with: '1' } },
  { family: 'ipv6', input: 'REJECT --reject-with addr-unreach', save: '-j REJECT --reject-with icmp6-addr-unreachable', list: 'reject-with icmp6-addr-unreachable', fields: { with: '3' } },
  { family: 'ipv6', proto: 6, input: 'REJECT --reject-with tcp-reset', save: '-j REJECT --reject-with tcp-reset', list: 'reject-with tcp-reset', fields: { with: '6' } },
  { family: 'ipv6', input: 'REJECT --reject-with policy-fail', save: '-j REJECT --reject-with icmp6-policy-fail', list: 'reject-with icmp6-policy-fail', fields: { with: '7' } },
  { family: 'ipv6', input: 'REJECT --reject-with icmp6-reject-route', save: '-j REJECT --reject-with icmp6-reject-route', list: 'reject-with icmp6-reject-route', fields: { with: '8' } },
  { family: 'ipv6', input: 'LOG --log-prefix "v6 " --log-uid', save: '-j LOG --log-prefix "v6 " --log-uid', list: 'LOG flags 8 level 4 prefix "v6 "', listNames: 'LOG level warn uid prefix "v6 "' },
  { family: 'ipv6', input: 'MARK --set-mark 0x10', save: '-j MARK --set-xmark 0x10/0xffffffff', list: 'MARK set 0x10' },
  // mangle, raw
  { family: 'ipv4', proto: 17, input: 'CHECKSUM --checksum-fill', save: '-j CHECKSUM --checksum-fill', list: 'CHECKSUM fill', fields: { operation: '1' } },
  { family: 'ipv4', input: 'CT --notrack', save: '-j CT --notrack', list: 'CT notrack',
    fields: { flags: '1', zone: '0', ct_events: '0', exp_events: '0', helper: '', timeout: '' } },
  { family: 'ipv4', input: 'NOTRACK', save: '-j NOTRACK', list: 'NOTRACK',
    fields: { flags: '3', zone: '0', ct_events: '0', exp_events: '0', helper: '', timeout: '' } },
  { family: 'ipv4', proto: 6, input: 'CT --helper ftp', save: '-j CT --helper ftp', list: 'CT helper ftp',
    fields: { flags: '0', zone: '0', ct_events: '0', exp_events: '0', helper: 'ftp', timeout: '' } },
  { family: 'ipv4', input: 'CT --zone 5', save: '-j CT --zone 5', list: 'CT zone 5',
    fields: { flags: '0', zone: '5', ct_events: '0', exp_events: '0', helper: '', timeout: '' } },
  { family: 'ipv4', input: 'CT --ctevents destroy,new', save: '-j CT --ctevents new,destroy', list: 'CT ctevents new,destroy' },
  { family: 'ipv4', input: 'CT --zone MARK', save: '-j CT --zone mark', list: 'CT zone mark' },
];

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
  const cases: [string, Family, string, number | undefined, string | undefined, RegExp][] = [
    ['DNAT', 'ipv4', '', 6, undefined, /"--to-destination" must be specified/],
    ['SNAT', 'ipv4', '', undefined, undefined, /"--to-source" must be specified/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4 --to-destination 1.2.3.5', 6, '--to-destination', /can only be used once/],
    ['DNAT', 'ipv4', '! --to-destination 1.2.3.4', 6, '--to-destination', /cannot be inverted/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:80', undefined, '--to-destination', /need -p tcp/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:65536', 6, '--to-destination', /port `65536' not valid/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.400', 6, '--to-destination', /bad IP address "1\.2\.3\.400"/],
    ['DNAT', 'ipv4', '--to-destination 01.2.3.4', 6, '--to-destination', /bad IP address "01\.2\.3\.4"/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:90-80', 6, '--to-destination', /port range `90-80' is reversed/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:80:90', 6, '--to-destination', /bad IP address "1\.2\.3\.4:80:90"/],
    ['DNAT', 'ipv4', '--to-destination [1.2.3.4]:80', 6, '--to-destination', /invalid address format/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:http-90', 6, '--to-destination', /port `http-90' not valid/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4:80-90/0', 17, '--to-destination', /port `0' not valid/],
    ['DNAT', 'ipv4', '--to-destination 1.2.3.4 --random-fully', 6, '--random-fully', /unknown option "--random-fully"/],
    ['DNAT', 'ipv6', '--to-destination [fd00::1:80', 6, '--to-destination', /invalid address format/],
    ['DNAT', 'ipv6', '--to-destination fd00::zz', 6, '--to-destination', /bad IP address "fd00::zz"/],
    ['MASQUERADE', 'ipv4', '--to-ports 80', undefined, '--to-ports', /need -p tcp/],
    ['REDIRECT', 'ipv4', '--to-ports 80-http', 6, '--to-ports', /port `http' not valid/],
    ['REJECT', 'ipv4', '--reject-with foo', undefined, '--reject-with', /unknown reject type "foo"/],
    ['REJECT', 'ipv4', '--reject-with icmp6-port-unreachable', undefined, '--reject-with', /unknown reject type "icmp6-port-unreachable"/],
    ['REJECT', 'ipv6', '--reject-with icmp-port-unreachable', undefined, '--reject-with', /unknown reject type "icmp-port-unreachable"/],
    ['REJECT', 'ipv4', '--reject-with tcp-reset', undefined, '--reject-with', /tcp-reset needs -p tcp/],
    ['LOG', 'ipv4', '--log-level 8', undefined, '--log-level', /log level "8" unknown/],
    ['LOG', 'ipv4', '--log-level warn', undefined, '--log-level', /log level "warn" unknown/],
    ['LOG', 'ipv4', '--log-level ERROR', undefined, '--log-level', /log level "ERROR" unknown/],
    ['LOG', 'ipv4', '--log-prefix ""', undefined, '--log-prefix', /minimum length/],
    ['MARK', 'ipv4', '', undefined, undefined, /is required/],
    ['MARK', 'ipv4', '--set-mark 1 --or-mark 2', undefined, '--or-mark', /"--set-mark" cannot be used together with "--or-mark"/],
    ['MARK', 'ipv4', '--set-mark 0x100000000', undefined, '--set-mark', /bad integer value for option "--set-mark".*0x100000000/],
    ['MARK', 'ipv4', '--set-mark foo', undefined, '--set-mark', /"foo"/],
    ['MARK', 'ipv4', '--set-mark -1', undefined, '--set-mark', /"-1"/],
    ['MARK', 'ipv4', '--set-mark 1/', undefined, '--set-mark', /"1\/"/],
    ['MARK', 'ipv4', '--and-mark 1/2', undefined, '--and-mark', /bad value for option "--and-mark".*"1\/2"/],
    ['CHECKSUM', 'ipv4', '', undefined, undefined, /"--checksum-fill" must be specified/],
    ['CT', 'ipv4', '--zone 65536', undefined, '--zone', /cannot parse 65536 as a zone ID/],
    ['CT', 'ipv4', '--ctevents new,bogus', undefined, '--ctevents', /unknown event type "bogus"/],
    ['NOTRACK', 'ipv4', '--notrack', undefined, '--notrack', /unknown option "--notrack"/],
  ];
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
