// Target options as the real tools read and print them, recorded (in a throwaway netns,
// iptables 1.8.9 legacy, kernel 6.x) with:
//   ip netns exec NS iptables-legacy-restore < rules      (and ip6tables-legacy-restore)
//   ip netns exec NS iptables-legacy-save
//   ip netns exec NS iptables-legacy -t TABLE -L -n -v    (options column, numeric)
//   ip netns exec NS iptables-legacy -t TABLE -L          (options column, names)
// Expected fields are what the C++ codecs decoded from the rules those tools wrote.

import type { Family } from '../../src/rules/model.js';

/** A struct's fields as the first version's codecs named them (kept as a record of what the kernel held). */
type Fields = Record<string, string>;

export interface TargetCase {
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

export const TARGET_CASES: TargetCase[] = [
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
  // CONNMARK (revision 2): every operation, masks and shifts, in mangle PREROUTING.
  { family: 'ipv4', input: 'CONNMARK --set-xmark 0x1/0xff', save: '-j CONNMARK --set-xmark 0x1/0xff', list: 'CONNMARK xset 0x1/0xff' },
  { family: 'ipv4', input: 'CONNMARK --set-mark 5', save: '-j CONNMARK --set-xmark 0x5/0xffffffff', list: 'CONNMARK set 0x5' },
  { family: 'ipv4', input: 'CONNMARK --set-mark 5/0xf0', save: '-j CONNMARK --set-xmark 0x5/0xf5', list: 'CONNMARK xset 0x5/0xf5' },
  { family: 'ipv4', input: 'CONNMARK --and-mark 0xff', save: '-j CONNMARK --set-xmark 0x0/0xffffff00', list: 'CONNMARK and 0xff' },
  { family: 'ipv4', input: 'CONNMARK --or-mark 0x10', save: '-j CONNMARK --set-xmark 0x10/0x10', list: 'CONNMARK or 0x10' },
  { family: 'ipv4', input: 'CONNMARK --xor-mark 3', save: '-j CONNMARK --set-xmark 0x3/0x0', list: 'CONNMARK xor 0x3' },
  { family: 'ipv4', input: 'CONNMARK --save-mark', save: '-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', list: 'CONNMARK save' },
  { family: 'ipv4', input: 'CONNMARK --save-mark --mask 0xff', save: '-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff', list: 'CONNMARK save mask 0xff' },
  { family: 'ipv4', input: 'CONNMARK --save-mark --nfmask 0xf --ctmask 0xf0', save: '-j CONNMARK --save-mark --nfmask 0xf --ctmask 0xf0', list: 'CONNMARK save nfmask 0xf ctmask ~0xf0' },
  { family: 'ipv4', input: 'CONNMARK --restore-mark --ctmask 0xff', save: '-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xff', list: 'CONNMARK restore ctmask 0xff nfmask ~0xffffffff' },
  { family: 'ipv4', input: 'CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff', save: '-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff', list: 'CONNMARK restore mask 0xff' },
  { family: 'ipv4', input: 'CONNMARK --save-mark --left-shift-mark 8', save: '-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff --left-shift-mark 8', list: 'CONNMARK save left-shift-mark 8' },
  { family: 'ipv4', input: 'CONNMARK --set-xmark 1 --left-shift-mark 4', save: '-j CONNMARK --set-xmark 0x1/0xffffffff --left-shift-mark 4', list: 'CONNMARK set 0x1 left-shift-mark 4' },
  { family: 'ipv4', input: 'CONNMARK --and-mark 1 --right-shift-mark 2', save: '-j CONNMARK --set-xmark 0x0/0xfffffffe --right-shift-mark 2', list: 'CONNMARK and 0x1 right-shift-mark 2' },
  { family: 'ipv4', input: 'CONNMARK --left-shift-mark 1 --right-shift-mark 2 --save-mark', save: '-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff --right-shift-mark 2', list: 'CONNMARK save right-shift-mark 2' },
  { family: 'ipv4', input: 'CONNMARK --set-mark 0', save: '-j CONNMARK --set-xmark 0x0/0xffffffff', list: 'CONNMARK and 0x0' },
  { family: 'ipv4', input: 'CONNMARK --xor-mark 0', save: '-j CONNMARK --set-xmark 0x0/0x0', list: 'CONNMARK and 0xffffffff' },
  { family: 'ipv6', input: 'CONNMARK --restore-mark --mask 0xff', save: '-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff', list: 'CONNMARK restore mask 0xff' },
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

/** [target, family, options, -p number, token, message]: refused as iptables refuses it. */
export type TargetRefusal = [string, Family, string, number | undefined, string | undefined, RegExp];
export const TARGET_REFUSALS: readonly TargetRefusal[] = [
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
    // XTTYPE_MARKMASK32's two words, as iptables 1.8.9 prints them (the value is not repeated).
    ['MARK', 'ipv4', '--set-mark 0x100000000', undefined, '--set-mark', /MARK: bad integer value for option "--set-mark", or out of range\.$/],
    ['MARK', 'ipv4', '--set-mark foo', undefined, '--set-mark', /MARK: bad integer value for option "--set-mark", or out of range\.$/],
    ['MARK', 'ipv4', '--set-mark -1', undefined, '--set-mark', /MARK: bad integer value for option "--set-mark", or out of range\.$/],
    ['MARK', 'ipv4', '--set-mark 1/', undefined, '--set-mark', /MARK: bad integer value for option "--set-mark", or out of range\.$/],
    ['MARK', 'ipv4', '--set-xmark 1/2x', undefined, '--set-xmark', /MARK: trailing garbage after value for option "--set-xmark"\.$/],
    ['MARK', 'ipv4', '--and-mark 1/2', undefined, '--and-mark', /MARK: bad value for option "--and-mark", or out of range \(0-4294967295\)\.$/],
    ['CONNMARK', 'ipv4', '', undefined, '-j CONNMARK', /CONNMARK target: No operation specified/],
    ['CONNMARK', 'ipv4', '--mask 0xff', undefined, '-j CONNMARK', /CONNMARK target: No operation specified/],
    ['CONNMARK', 'ipv4', '--save-mark --restore-mark', undefined, '--restore-mark', /CONNMARK: option "--save-mark" cannot be used together with "--restore-mark"\./],
    ['CONNMARK', 'ipv4', '--set-mark 1 --save-mark', undefined, '--save-mark', /CONNMARK: option "--set-mark" cannot be used together with "--save-mark"\./],
    ['CONNMARK', 'ipv4', '--mask 0xff --ctmask 1 --save-mark', undefined, '--ctmask', /CONNMARK: option "--ctmask" cannot be used together with "--mask"\./],
    ['CONNMARK', 'ipv4', '--right-shift-mark 33 --save-mark', undefined, '--right-shift-mark', /CONNMARK: bad value for option "--right-shift-mark", or out of range \(0-32\)\./],
    ['CONNMARK', 'ipv4', '--set-xmark 1x', undefined, '--set-xmark', /CONNMARK: trailing garbage after value for option "--set-xmark"\./],
    ['CONNMARK', 'ipv4', '--and-mark 1/2', undefined, '--and-mark', /CONNMARK: bad value for option "--and-mark", or out of range \(0-4294967295\)\./],
    ['CONNMARK', 'ipv4', '--save-mark --mask 0xff --mask 0xf', undefined, '--mask', /CONNMARK: option "--mask" can only be used once/],
    ['CHECKSUM', 'ipv4', '', undefined, undefined, /"--checksum-fill" must be specified/],
    ['CT', 'ipv4', '--zone 65536', undefined, '--zone', /cannot parse 65536 as a zone ID/],
    ['CT', 'ipv4', '--ctevents new,bogus', undefined, '--ctevents', /unknown event type "bogus"/],
    ['NOTRACK', 'ipv4', '--notrack', undefined, '--notrack', /unknown option "--notrack"/],
  ];

/** The table and chain a target is valid in (and written to here). */
export function targetPlace(target: string): [string, string] {
  switch (target) {
    case 'DNAT':
    case 'REDIRECT':
      return ['nat', 'PREROUTING'];
    case 'SNAT':
    case 'MASQUERADE':
      return ['nat', 'POSTROUTING'];
    case 'CHECKSUM':
      return ['mangle', 'POSTROUTING'];
    case 'CONNMARK':
      return ['mangle', 'PREROUTING'];
    case 'CT':
    case 'NOTRACK':
      return ['raw', 'PREROUTING'];
    default:
      return ['filter', 'INPUT'];
  }
}
