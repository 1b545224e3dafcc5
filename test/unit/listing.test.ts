// The `iptables -L` listing against what iptables-legacy 1.8.9 printed for the same tables
// (commands in the comments, run in a throwaway netns), and the seed article's listing.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { applyRestore, parseRestore } from '../../src/rules/restore.js';
import { formatCount, formatListing } from '../../src/rules/listing.js';
import type { Table } from '../../src/rules/model.js';

function table(text: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Table {
  const p = parseRestore(text, { family, counters: true });
  return applyRestore(p.tables[0]!, undefined, { counters: true });
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

  test('formatCount: the scale steps', () => {
    expect([99999n, 100000n, 9999499n, 9999500n, (1n << 64n) - 1n].map((n) => formatCount(n, false))).toEqual([
      '99999 ',
      ' 100K ',
      '9999K ',
      '  10M ',
      '   0K ',
    ]);
  });
});
