// Every finding of the differential fuzzer, minimised, replayed against the real tools by
// test/kernel/difffuzz.test.ts on both back ends: name it after what it broke.

import type { Family } from '../../src/rules/model.js';

export interface Regression {
  name: string;
  input: string;
  noflush?: boolean;
  /** Only these families (an address of one family); default both. */
  families?: readonly Family[];
}

export const REGRESSIONS: readonly Regression[] = [
  {
    // The plans of two tables grew a vector, which copied the first and freed the rule -E
    // rewrote: legacy committed `-A INPUT -s <garbage>/0 -j renamed`.
    name: 'a chain renamed after -R, in the first of two tables',
    input: '*filter\n-N extra\n-I INPUT -j extra\n-I INPUT 2 -p udp -j DROP\n-R INPUT 2 -p udp --dport 7 -j DROP\n-E extra renamed\nCOMMIT\n*security\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n',
  },
  { name: 'a NUL cuts a chain line before its policy', input: '*filter\n:LOG\0DROP - [0:0]\nCOMMIT\n' },
  { name: 'a NUL ends a rule line', input: '*filter\n-A INPUT -j ACCEPT\0 --bogus\nCOMMIT\n' },
  { name: 'a NUL cuts a target name', input: '*filter\n-A INPUT -j ACC\0EPT\nCOMMIT\n' },
  { name: 'a line a NUL leaves empty', input: '*filter\n\0\n-A INPUT -j ACCEPT\nCOMMIT\n' },
  { name: 'a NUL cuts a quoted word', input: '*filter\n-A INPUT -j LOG --log-prefix "dr\0op: "\nCOMMIT\n' },
  { name: 'a NUL cuts a line inside quotes after a space', input: '*filter\n-A INPUT -m comment --comment "a b\0c" -j ACCEPT\nCOMMIT\n' },
  { name: 'a NUL cuts a table line', input: '*filter\0nat\n-A INPUT -j ACCEPT\nCOMMIT\n' },
  // `--` ends getopt's options: nothing may follow it.
  { name: '-- at the end of a rule', input: '*filter\n-A INPUT -j ACCEPT --\nCOMMIT\n' },
  { name: '-- at the end of -E', input: '*filter\n:a - [0:0]\n-E a b --\nCOMMIT\n' },
  { name: '-- before options', input: '*filter\n-A INPUT -p tcp -- --dport 1 -j ACCEPT\nCOMMIT\n' },
  { name: '-- before the command', input: '*filter\n-- -A INPUT -j ACCEPT\nCOMMIT\n' },
  // A command's chain longer than 28 characters: iptables' parse error at its line, where
  // iptkit left it to the kernel back end (legacy: EINVAL naming no line).
  { name: '-A of a 29-character chain (-n)', input: `*filter\n-A ${'Z'.repeat(29)} -j DROP\nCOMMIT\n`, noflush: true },
  { name: '-D of a 300-character chain', input: `*filter\n-D ${'Z'.repeat(300)} -p tcp -j ACCEPT\nCOMMIT\n` },
  { name: '-P of a 29-character chain', input: `*filter\n-P ${'Z'.repeat(29)} DROP\nCOMMIT\n` },
  { name: '-F of a 28-character chain (no such chain)', input: `*filter\n-F ${'Z'.repeat(28)}\nCOMMIT\n` },
  // A match's protocol check on a command that makes no rule (iptables loads it, and no
  // kernel sees it).
  { name: '-N with -m udp and no -p', input: '*filter\n-N extra -m udp --dport 1\nCOMMIT\n' },
  { name: '-F with -m tcp and no -p', input: '*filter\n-F INPUT -m tcp --dport 1\nCOMMIT\n' },
  { name: '-D NUM with -m udp and no -p (-n)', input: '*filter\n-D INPUT 2 -m udp --dport 1\nCOMMIT\n', noflush: true },
  // Divergences allow.ts explains, kept here so that its entries stay exact.
  { name: 'a bad -P policy, then a parse error', input: '*filter\n-P FORWARD DRO\n-F -F OUTPUT\nCOMMIT\n' },
  { name: 'a rule the kernel refuses, then a parse error', input: '*mangle\n-A POSTROUTING -p udp --dport 68 -j CHECKSUM -m tcp --checksum-fill\n-A OUTPUT -m -m conntrack -j ACCEPT\nCOMMIT\n' },
  { name: '-V in a rule', input: '*filter\n-A INPUT -p tcp -2V-dport 22 -j ACCEPT\nCOMMIT\n' },
  { name: '-E to a name with a CR', input: '*filter\n-N a\n-E a b\r\nCOMMIT\n' },
  { name: '-E to a target name', input: '*filter\n-N a\n-E a DNAT\nCOMMIT\n' },
  { name: 'an unterminated quote', input: '*filter\n-A INPUT -m comment --comment "abc -j ACCEPT\nCOMMIT\n' },
];
