// The `iptables -L` listing against what iptables-legacy 1.8.9 printed for the same tables
// (commands in the comments, run in a throwaway netns), and the seed article's listing.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { restoreResult } from '../../src/rules/restore.js';
import { formatListing } from '../../src/rules/listing.js';
import type { Table } from '../../src/rules/model.js';

function table(text: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Table {
  return restoreResult(text, { family, counters: true })[0]!;
}

describe('iptables -L', () => {
  test('the seed nat table lists as the seed article shows it (iptables -t nat -L -nv)', () => {
    const seed = readFileSync(new URL('../../fixtures/seed-docker-iptables-notes.zh.txt', import.meta.url), 'utf8').split('\n');
    const start = seed.findIndex((l) => l.startsWith('Chain PREROUTING'));
    const end = seed.findIndex((l, i) => i > start && l.startsWith('这种默认'));
    const expected = seed.slice(start, end).join('\n').trimEnd() + '\n';
    const rules = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');
    expect(formatListing(table(rules), { numeric: true, verbose: true })).toBe(expected);
  });

  // ip netns exec N iptables-legacy-restore -c r2.rules; ip netns exec N iptables-legacy -L -v
  const R2 = `*filter
:INPUT ACCEPT [99999:100000]
:FORWARD DROP [123456789:9876543210]
:OUTPUT ACCEPT [18446744073709551615:99999999999999]
:A - [0:0]
:B - [0:0]
[99999:100000] -A FORWARD -j A
[9999499:9999500] -A FORWARD -j B
[1:12345678901234] -A FORWARD -j A
[5:1] -A A -s 1.2.3.4/255.255.255.254 -d 1.2.3.4/0.0.0.255
COMMIT
`;
  test('-v scales counters to K/M/G/T, in 64-bit arithmetic', () => {
    expect(formatListing(table(R2), { verbose: true })).toBe(
      `Chain INPUT (policy ACCEPT 99999 packets, 100K bytes)
 pkts bytes target     prot opt in     out     source               destination         

Chain FORWARD (policy DROP 123M packets, 9877M bytes)
 pkts bytes target     prot opt in     out     source               destination         
99999  100K A          all  --  any    any     anywhere             anywhere            
9999K   10M B          all  --  any    any     anywhere             anywhere            
    1   12T A          all  --  any    any     anywhere             anywhere            

Chain OUTPUT (policy ACCEPT 0K packets, 100T bytes)
 pkts bytes target     prot opt in     out     source               destination         

Chain A (2 references)
 pkts bytes target     prot opt in     out     source               destination         
    5     1            all  --  any    any     1.2.3.4/31           0.0.0.4/0.0.0.255   

Chain B (1 references)
 pkts bytes target     prot opt in     out     source               destination         
`,
    );
  });

  // iptables-legacy -L -v -x -n --line-numbers (prot column: names here, numbers in 1.8.9 -n)
  test('-v -x -n --line-numbers', () => {
    expect(formatListing(table(R2), { verbose: true, exact: true, numeric: true, lineNumbers: true })).toBe(
      `Chain INPUT (policy ACCEPT 99999 packets, 100000 bytes)
num      pkts      bytes target     prot opt in     out     source               destination         

Chain FORWARD (policy DROP 123456789 packets, 9876543210 bytes)
num      pkts      bytes target     prot opt in     out     source               destination         
1       99999   100000 A          all  --  *      *       0.0.0.0/0            0.0.0.0/0           
2     9999499  9999500 B          all  --  *      *       0.0.0.0/0            0.0.0.0/0           
3           1 12345678901234 A          all  --  *      *       0.0.0.0/0            0.0.0.0/0           

Chain OUTPUT (policy ACCEPT 18446744073709551615 packets, 99999999999999 bytes)
num      pkts      bytes target     prot opt in     out     source               destination         

Chain A (2 references)
num      pkts      bytes target     prot opt in     out     source               destination         
1           5        1            all  --  *      *       0.0.0.0/0            0.0.0.0/0           
`.replace('1           5        1            all  --  *      *       0.0.0.0/0            0.0.0.0/0           ',
        '1           5        1            all  --  *      *       1.2.3.4/31           0.0.0.4/0.0.0.255   ') +
        `
Chain B (1 references)
num      pkts      bytes target     prot opt in     out     source               destination         
`,
    );
  });

  // iptables-legacy -L (r1.rules, see syntax.test.ts); the tcp rules are left out here
  // because without -n they print service names (dpt:http), the tcp module's business.
  test('plain -L: `!` in the columns, the opt column, [goto], protocol names', () => {
    const text = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:MYCHAIN - [0:0]
-A FORWARD -s 10.0.0.1 -d 10.1.2.3/255.0.255.0 -i eth0 -o eth1+ -p tcp -f -j ACCEPT
-A FORWARD ! -s 10.0.0.0/8 ! -d 0/0 ! -i eth0 ! -o lo ! -p udp ! -f -j DROP
-A FORWARD -p 6 -j RETURN
-A FORWARD -p icmp
-A FORWARD -p 47 -g MYCHAIN
-A FORWARD -p 200
-A FORWARD -m comment --comment "hello world" -j ACCEPT
-A MYCHAIN -p sctp
-A MYCHAIN -p all
-c 5 10 -A MYCHAIN -j DROP
COMMIT
`;
    expect(formatListing(table(text))).toBe(`Chain INPUT (policy ACCEPT)
target     prot opt source               destination         

Chain FORWARD (policy DROP)
target     prot opt source               destination         
ACCEPT     tcp  -f  10.0.0.1             10.0.2.0/255.0.255.0 
DROP      !udp  !f !10.0.0.0/8          !anywhere            
RETURN     tcp  --  anywhere             anywhere            
           icmp --  anywhere             anywhere            
MYCHAIN    gre  --  anywhere             anywhere            [goto] 
           200  --  anywhere             anywhere            
ACCEPT     all  --  anywhere             anywhere             /* hello world */

Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination         

Chain MYCHAIN (1 references)
target     prot opt source               destination         
           sctp --  anywhere             anywhere            
           all  --  anywhere             anywhere            
DROP       all  --  anywhere             anywhere            
`);
  });

  // ip6tables-legacy -L -v of r3.rules (see syntax.test.ts), FORWARD only
  test('ip6tables: long protocol names, /128 left out, bytes-wide padding of interface names', () => {
    const text = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p 58
-A FORWARD -p 135
-A FORWARD -s 2001:db8::1/64 -d ::/0 -i ab+
-A FORWARD -s 2001:db8::1/ffff:0:ffff:: ! -d ::1
-A FORWARD -i é
COMMIT
`;
    expect(formatListing(table(text, 'ipv6'), { verbose: true, chain: 'FORWARD' })).toBe(`Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            ipv6-icmp --  any    any     anywhere             anywhere            
    0     0            mobility-header --  any    any     anywhere             anywhere            
    0     0            all  --  ab+    any     2001:db8::/64        anywhere            
    0     0            all  --  any    any     2001::/ffff:0:ffff:: !::1                 
    0     0            all  --  é     any     anywhere             anywhere            
`);
  });

  test('a missing chain is an error', () => {
    expect(() => formatListing(table('*filter\nCOMMIT\n'), { chain: 'NOPE' })).toThrow(/No chain/);
  });

  // ip netns exec N iptables-legacy-restore -c r4.rules; iptables-legacy -L with the flags below.
  // (The scale steps of the old formatCount test: 99999 stays, 100000 → 100K, 9999499 → 9999K,
  // 9999500 → 10M, 2^64-1 → 0K in 64-bit arithmetic, 999999999999 → 1000G.)
  const R4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:X - [0:0]
[99999:100000] -A FORWARD -j X
[9999499:9999500] -A FORWARD -p tcp --dport 22 -j ACCEPT
[18446744073709551615:999] -A FORWARD -i eth0 -o lo -j X
[999999999999:1000000] -A X -s 10.0.0.0/8 -j RETURN
COMMIT
`;

  test('-v: the counter scale steps, interface columns, an options column', () => {
    expect(formatListing(table(R4), { verbose: true, chain: 'FORWARD' })).toBe(`Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
99999  100K X          all  --  any    any     anywhere             anywhere            
9999K   10M ACCEPT     tcp  --  any    any     anywhere             anywhere             tcp dpt:ssh
   0K   999 X          all  --  eth0   lo      anywhere             anywhere            
`);
    expect(formatListing(table(R4), { verbose: true, chain: 'X' })).toBe(`Chain X (2 references)
 pkts bytes target     prot opt in     out     source               destination         
1000G 1000K RETURN     all  --  any    any     10.0.0.0/8           anywhere            
`);
  });

  test('--line-numbers without -v', () => {
    expect(formatListing(table(R4), { lineNumbers: true })).toBe(`Chain INPUT (policy ACCEPT)
num  target     prot opt source               destination         

Chain FORWARD (policy ACCEPT)
num  target     prot opt source               destination         
1    X          all  --  anywhere             anywhere            
2    ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:ssh
3    X          all  --  anywhere             anywhere            

Chain OUTPUT (policy ACCEPT)
num  target     prot opt source               destination         

Chain X (2 references)
num  target     prot opt source               destination         
1    RETURN     all  --  10.0.0.0/8           anywhere            
`);
  });

  // iptables 1.8.9 -n prints the prot column as numbers (0, 6); iptkit prints names (listing.ts).
  test('-n without -v; -v -n --line-numbers of one chain; -v -n -x', () => {
    expect(formatListing(table(R4), { numeric: true, chain: 'FORWARD' })).toBe(`Chain FORWARD (policy ACCEPT)
target     prot opt source               destination         
X          all  --  0.0.0.0/0            0.0.0.0/0           
ACCEPT     tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22
X          all  --  0.0.0.0/0            0.0.0.0/0           
`);
    expect(formatListing(table(R4), { chain: 'X', verbose: true, numeric: true, lineNumbers: true })).toBe(`Chain X (2 references)
num   pkts bytes target     prot opt in     out     source               destination         
1    1000G 1000K RETURN     all  --  *      *       10.0.0.0/8           0.0.0.0/0           
`);
    expect(formatListing(table(R4), { chain: 'FORWARD', verbose: true, numeric: true, exact: true })).toBe(`Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
   99999   100000 X          all  --  *      *       0.0.0.0/0            0.0.0.0/0           
 9999499  9999500 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22
18446744073709551615      999 X          all  --  eth0   lo      0.0.0.0/0            0.0.0.0/0           
`);
  });

  test('a chain without counters lists zeros', () => {
    const t: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'INPUT', policy: 'ACCEPT', rules: ['-j ACCEPT'] }] };
    expect(formatListing(t, { verbose: true })).toBe(`Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 ACCEPT     all  --  any    any     anywhere             anywhere            
`);
  });

  test('chain headers: references as read win over counting', () => {
    const t: Table = {
      name: 'filter',
      family: 'ipv4',
      chains: [
        { name: 'INPUT', policy: 'DROP', rules: ['-p tcp -j Z'] },
        { name: 'Z', references: 7, rules: [] },
      ],
    };
    expect(formatListing(t, { chain: 'Z' })).toBe('Chain Z (7 references)\ntarget     prot opt source               destination         \n');
  });

  // ip netns exec N iptables-legacy-restore of INPUT `-j a.b`, `-p tcp -g a.b`, FORWARD `-g a.b`,
  // chains a.b and axb; iptables-legacy -L: "Chain a.b (3 references)", "Chain axb (0 references)".
  test('chain headers: references counted from the rules, `-j X` alone too', () => {
    const t: Table = {
      name: 'filter',
      family: 'ipv4',
      chains: [
        { name: 'INPUT', policy: 'DROP', rules: ['-j a.b', '-p tcp -g a.b'] },
        { name: 'FORWARD', policy: 'ACCEPT', rules: ['-g a.b'] },
        { name: 'a.b', rules: [] },
        { name: 'axb', rules: [] },
      ],
    };
    expect(formatListing(t, { chain: 'a.b' })).toMatch(/^Chain a\.b \(3 references\)\n/);
    expect(formatListing(t, { chain: 'axb' })).toMatch(/^Chain axb \(0 references\)\n/);
  });

  test('a rule from nft without an iptables form, and an opaque extension, still list', () => {
    const t: Table = {
      name: 'filter',
      family: 'ipv4',
      chains: [{ name: 'INPUT', policy: 'ACCEPT', rules: ['-j ACCEPT', '# ip saddr 1.2.3.4 counter accept', '-m hashlimit --iptkit-opaque 3:00ff -j DROP'] }],
    };
    const out = formatListing(t).split('\n');
    expect(out[2]).toMatch(/^ACCEPT {5}all/);
    expect(out[3]).toMatch(/foreign rule.*ip saddr 1\.2\.3\.4 counter accept/);
    expect(out[4]).toMatch(/^DROP {7}all .*hashlimit/);
  });
});
