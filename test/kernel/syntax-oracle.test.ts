// The text layer against the real tools in a throwaway netns: what iptables-legacy-restore
// leaves behind (iptables-legacy-save -c, iptables-legacy -L -v) equals what iptkit's parser
// (the native dialect) and restoreResult (the native restore without a kernel) compute for the
// same input, chain for chain and rule text for rule text, and how formatListing lists it; and
// a table read through the legacy back end (Netfilter.read) holds what iptables-legacy-save -c
// prints, saves (Netfilter.save) as it does and lists as iptables-legacy -L does.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Netns, isRoot, saveLines } from '../helpers/netns.js';
import { savedTable, tableSaved } from '../helpers/save-text.js';
import { restoreResult } from '../../src/rules/restore.js';
import { formatListing } from '../../src/rules/listing.js';
import { Netfilter } from '../../src/netfilter.js';
import type { Table } from '../../src/rules/model.js';

const SEED = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

const FILTER = `*filter
:INPUT DROP [3:4]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:A - [0:0]
[1:2] -A INPUT -s 10.1 -d 10.1.2.3/255.0.255.0 -i eth0 -p tcp --dport 22 -j ACCEPT
-A INPUT ! -s 10.0.0.0/8 ! -i lo ! -p udp ! -f -j DROP
-A INPUT -p 47 -g A
-A FORWARD -m comment --comment "hello world" -j DOCKER-USER
-A FORWARD -p tcp --dpo 80 -o br+ -j A
-A DOCKER-USER -j RETURN
-A A -p all -j RETURN
COMMIT
`;

// Lines where iptables looked a name up in /etc/networks (127.0.0.0/8 → loopback/8): iptkit
// prints numbers there by design (no lookups). Service names it prints as iptables does.
const NAMED = /loopback/;

function ours(text: string, counters: boolean, current?: Table, noflush = false): Table[] {
  return restoreResult(text, { family: 'ipv4', counters, noflush }, current ? [current] : []);
}

describe.skipIf(!isRoot)('syntax oracle (iptables-legacy 1.8.9)', () => {
  test.each([
    ['seed nat, -c', SEED, true],
    ['seed nat', SEED, false],
    ['filter, -c', FILTER, true],
    ['filter', FILTER, false],
  ])('%s: restore then save equals iptables-legacy-restore then iptables-legacy-save -c', (_name, text, counters) => {
    const ns = new Netns('iptkit-syntax');
    try {
      ns.ok('iptables-legacy-restore', ['-w', ...(counters ? ['-c'] : [])], text);
      const table = text.includes('*nat') ? 'nat' : 'filter';
      const real = savedTable(ns.ok('iptables-legacy-save', ['-c', '-t', table]));
      const [t, ...more] = ours(text, counters);
      expect(more).toEqual([]);
      expect(tableSaved(t!, true)).toEqual(real);
      // The listing of the same state: -L -v (names: the prot column agrees without -n).
      const args = ['-w', '-t', table, '-L', '-v'];
      const listed = ns.ok('iptables-legacy', args);
      const mine = formatListing(t!, { verbose: true }).split('\n');
      const theirs = listed.split('\n');
      expect(mine.length).toBe(theirs.length);
      mine.forEach((l, i) => {
        if (!NAMED.test(theirs[i]!)) expect(l).toBe(theirs[i]);
      });
    } finally {
      ns.delete();
    }
  });

  test('noflush restore on top of a table equals iptables-legacy-restore -n', () => {
    const ns = new Netns('iptkit-syntax');
    try {
      const second = '*filter\n:A - [0:0]\n-A A -j DROP\n-I INPUT 2 -p tcp --dport 1 -j ACCEPT\n-D INPUT 1\nCOMMIT\n';
      ns.ok('iptables-legacy-restore', ['-w', '-c'], FILTER);
      ns.ok('iptables-legacy-restore', ['-w', '-n'], second);
      const real = savedTable(ns.ok('iptables-legacy-save', ['-c', '-t', 'filter']));
      const [before] = ours(FILTER, true);
      const after = ours(second, false, before, true);
      expect(after).toHaveLength(1);
      expect(tableSaved(after[0]!, true)).toEqual(real);
    } finally {
      ns.delete();
    }
  });

  test('a table read through the legacy back end saves as iptables-legacy-save -c and lists as iptables-legacy -L', async () => {
    const ns = new Netns('iptkit-syntax');
    try {
      ns.ok('iptables-legacy-restore', ['-w', '-c'], SEED);
      ns.ok('iptables-legacy-restore', ['-w', '-c', '-n'], FILTER);
      const nf = await Netfilter.open({ backend: 'legacy', family: 'ipv4', netns: ns.name, offload: false });
      for (const name of ['nat', 'filter']) {
        const [table] = await nf.read([name]);
        const real = ns.ok('iptables-legacy-save', ['-c', '-t', name]);
        expect(tableSaved(table!, true)).toEqual(savedTable(real));
        expect(saveLines(await nf.save({ tables: [name], counters: true }))).toEqual(saveLines(real));
        const listed = ns.ok('iptables-legacy', ['-w', '-t', name, '-L', '-v', '-x', '--line-numbers']).split('\n');
        const mine = formatListing(table!, { verbose: true, exact: true, lineNumbers: true }).split('\n');
        expect(mine.length).toBe(listed.length);
        mine.forEach((l, i) => {
          if (!NAMED.test(listed[i]!)) expect(l).toBe(listed[i]);
        });
      }
    } finally {
      ns.delete();
    }
  });
});
