// The legacy back end lays out each table it replaces itself (native/legacy/replace.h), without
// libiptc. The oracle is the kernel's own copy of a table iptables-legacy wrote: the same input
// through iptables-legacy-restore in one namespace and iptkit in another must leave the same
// bytes in the kernel (Netfilter.fingerprint: every entry, counters aside, and every hook's
// offsets), and the same text in iptables-legacy-save, for fresh tables, for changes to a table
// the tool wrote (chains added among and removed from existing ones), on both families.
// Counters of what a change keeps stay, to the packet.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Netfilter } from '../../src/netfilter.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-layout-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

type Family = 'ipv4' | 'ipv6';
const tool = (f: Family, what: 'restore' | 'save'): string => `${f === 'ipv4' ? 'iptables' : 'ip6tables'}-legacy-${what}`;
const net = (f: Family, n: number): string => (f === 'ipv4' ? `10.0.${n}.0/24` : `2001:db8:${n}::/64`);

/** Chains created out of order, jumps, a goto, a rule without a target, RETURN, policies, extensions, several tables. */
function fresh(f: Family): string {
  return [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':zeta - [0:0]',
    ':alpha - [0:0]',
    ':mid - [0:0]',
    `-A INPUT -s ${net(f, 1)} -j alpha`,
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    `-A INPUT -d ${net(f, 2)}`,
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -i eth0 -g mid',
    '-A FORWARD -o eth1 -j zeta',
    '-A alpha -p udp -m udp --dport 53 -j RETURN',
    '-A alpha -j mid',
    '-A mid -m comment --comment "a comment" -j DROP',
    '-A zeta -j REJECT',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    `-A POSTROUTING -s ${net(f, 3)} ! -o br0 -j MASQUERADE`,
    '-A DOCKER -i br0 -j RETURN',
    `-A DOCKER ! -i br0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${f === 'ipv4' ? '10.0.3.2:80' : '[2001:db8:3::2]:80'}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** A change to what fresh() made: chains added before, between and after the existing ones, one removed, rules in the middle. */
function change(f: Family): string {
  return [
    '*filter',
    ':aardvark - [0:0]',
    ':beta - [0:0]',
    ':zz - [0:0]',
    '-F zeta',
    '-D FORWARD -o eth1 -j zeta',
    '-X zeta',
    '-I INPUT 2 -j beta',
    `-A beta -s ${net(f, 4)} -j aardvark`,
    '-A aardvark -j LOG --log-prefix "in "',
    '-A zz -j DROP',
    '-A OUTPUT -j zz',
    'COMMIT',
    '',
  ].join('\n');
}

/** The lines of one table in iptables-save output. */
function tableLines(save: string[], table: string): string[] {
  const at = save.indexOf(`*${table}`);
  return save.slice(at, save.indexOf('COMMIT', at) + 1);
}

/** Each table's kernel copy (counters aside) and iptables-legacy-save's text, read in `ns`. */
async function kernelCopy(ns: Netns, f: Family, tables: string[]): Promise<{ fingerprint: string; save: string[] }> {
  const nf = await Netfilter.open({ backend: 'legacy', family: f, netns: ns.name });
  return { fingerprint: await nf.fingerprint(tables), save: saveLines(ns.ok(tool(f, 'save'), [])) };
}

describe.skipIf(!isRoot).each(['ipv4', 'ipv6'] as const)('legacy tables laid out as iptables lays them out, %s', (f) => {
  test('a fresh restore: the same bytes in the kernel as iptables-legacy-restore leaves', () =>
    withNetns((theirs) =>
      withNetns(async (mine) => {
        theirs.ok(tool(f, 'restore'), [], fresh(f));
        const nf = await Netfilter.open({ backend: 'legacy', family: f, netns: mine.name });
        await nf.restore(fresh(f));
        const a = await kernelCopy(theirs, f, ['filter', 'nat']);
        const b = await kernelCopy(mine, f, ['filter', 'nat']);
        expect(b.save).toEqual(a.save);
        expect(b.fingerprint).toEqual(a.fingerprint);
        // The chains iptables sorted are in its order.
        expect(tableLines(b.save, 'filter').filter((l) => l.startsWith(':'))).toEqual([':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':alpha - [0:0]', ':mid - [0:0]', ':zeta - [0:0]']);
      }, 'iptkit-layout'), 'iptkit-layout'));

  test('a change to a table the tool wrote: chains added among the existing ones, one deleted, rules inserted', () =>
    withNetns((theirs) =>
      withNetns(async (mine) => {
        for (const ns of [theirs, mine]) ns.ok(tool(f, 'restore'), [], fresh(f));
        theirs.ok(tool(f, 'restore'), ['-n'], change(f));
        const nf = await Netfilter.open({ backend: 'legacy', family: f, netns: mine.name });
        await nf.restore(change(f), { noflush: true });
        const a = await kernelCopy(theirs, f, ['filter', 'nat']);
        const b = await kernelCopy(mine, f, ['filter', 'nat']);
        expect(b.save).toEqual(a.save);
        expect(b.fingerprint).toEqual(a.fingerprint);
        expect(tableLines(b.save, 'filter').filter((l) => l.includes(' - '))).toEqual([':aardvark - [0:0]', ':alpha - [0:0]', ':beta - [0:0]', ':mid - [0:0]', ':zz - [0:0]']);
      }, 'iptkit-layout'), 'iptkit-layout'));

  test('counters: what a change keeps keeps its counters, as iptables-legacy-restore -n leaves them', () =>
    withNetns((theirs) =>
      withNetns(async (mine) => {
        const seed = ['*filter', ':INPUT DROP [7:700]', ':FORWARD ACCEPT [8:800]', ':OUTPUT ACCEPT [9:900]', ':c - [0:0]', `[1:10] -A INPUT -s ${net(f, 1)} -j c`, '[2:20] -A INPUT -p tcp -j ACCEPT', '[3:30] -A c -j RETURN', 'COMMIT', ''].join('\n');
        const insert = ['*filter', '-I INPUT 2 -p udp -j ACCEPT', '-A c -p udp -j DROP', 'COMMIT', ''].join('\n');
        const counted = ['*filter', '[4:40] -A FORWARD -j c', 'COMMIT', ''].join('\n');
        for (const ns of [theirs, mine]) ns.ok(tool(f, 'restore'), ['-c'], seed);
        theirs.ok(tool(f, 'restore'), ['-n'], insert);
        theirs.ok(tool(f, 'restore'), ['-n', '-c'], counted);
        const nf = await Netfilter.open({ backend: 'legacy', family: f, netns: mine.name });
        await nf.restore(insert, { noflush: true });
        await nf.restore(counted, { noflush: true, counters: true });
        const after = saveLines(mine.ok(tool(f, 'save'), ['-c']));
        expect(after).toEqual(saveLines(theirs.ok(tool(f, 'save'), ['-c'])));
        expect(after.filter((l) => l.startsWith('['))).toEqual([
          `[1:10] -A INPUT -s ${net(f, 1)} -j c`,
          '[0:0] -A INPUT -p udp -j ACCEPT',
          '[2:20] -A INPUT -p tcp -j ACCEPT',
          '[4:40] -A FORWARD -j c',
          '[3:30] -A c -j RETURN',
          '[0:0] -A c -p udp -j DROP',
        ]);
      }, 'iptkit-layout'), 'iptkit-layout'));

  test('counters: a commit keeps the policies\' counters it does not set, as the kernel had them at the replace', () =>
    withNetns(async (ns) => {
      ns.ok(tool(f, 'restore'), ['-c'], ['*filter', ':INPUT DROP [7:700]', ':FORWARD ACCEPT [8:800]', ':OUTPUT ACCEPT [9:900]', '[1:10] -A INPUT -p tcp -j ACCEPT', 'COMMIT', ''].join('\n'));
      const nf = await Netfilter.open({ backend: 'legacy', family: f, netns: ns.name });
      await nf.update(['filter'], () => [{ table: 'filter', chains: [{ chain: 'INPUT', mode: 'exact', text: '-p tcp -j ACCEPT\n-p udp -j ACCEPT' }] }]);
      expect(saveLines(ns.ok(tool(f, 'save'), ['-c']))).toEqual([
        '*filter',
        ':INPUT DROP [7:700]',
        ':FORWARD ACCEPT [8:800]',
        ':OUTPUT ACCEPT [9:900]',
        '[1:10] -A INPUT -p tcp -j ACCEPT',
        '[0:0] -A INPUT -p udp -j ACCEPT',
        'COMMIT',
      ]);
    }, 'iptkit-layout'));
});
