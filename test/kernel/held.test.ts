// Chains a read holds natively (Netfilter.update's `hold`, what DockerHost.apply does with
// Docker's own chains): planned by the addon from their desired text against the kernel's
// lines, on both back ends, in throwaway namespaces. The real tools are the oracle of what
// the kernel holds afterwards.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { native } from '../../src/binding.js';
import { Netfilter } from '../../src/netfilter.js';
import type { HeldChains, TableIntent } from '../../src/plan/plan.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-held-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

const R = (n: number): string => `-d 10.0.0.${n}/32 ! -i br0 -o br0 -p tcp -m tcp --dport ${n} -j ACCEPT`;
const SEED = ['*filter', ':DOCKER - [0:0]', '-A FORWARD -o br0 -j DOCKER', `[5:50] -A DOCKER ${R(1)}`, `[6:60] -A DOCKER ${R(2)}`, `[7:70] -A DOCKER ${R(3)}`, '-A DOCKER -i eth7 -j RETURN', 'COMMIT', ''].join('\n');

/** DOCKER as the real tool prints it, with counters. */
function dockerLines(ns: Netns, backend: string): string[] {
  return saveLines(ns.ok(`iptables-${backend}-save`, ['-c', '-t', 'filter'])).filter((l) => l.includes('-A DOCKER'));
}

const exact = (text: string): TableIntent[] => [{ table: 'filter', chains: [{ chain: 'DOCKER', mode: 'exact', text }] }];

describe.skipIf(!isRoot).each(['legacy', 'nft'] as const)('held chains, %s back end', (backend) => {
  test('planned natively: unchanged rules keep their counters, a no-op commits nothing, the rest is read as usual', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], SEED);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      let seen: HeldChains = new Map();
      let forward: string[] = [];
      const hold = { filter: ['DOCKER'] };
      const want = [R(1), R(3), R(4), '-i eth7 -j RETURN'].join('\n');
      const r = await nf.update(['filter'], (current, held) => {
        seen = held;
        forward = current[0]!.chains.find((c) => c.name === 'FORWARD')!.rules;
        // A held chain reads as empty; its count and interfaces come beside the table.
        expect(current[0]!.chains.find((c) => c.name === 'DOCKER')!.rules).toEqual([]);
        return exact(want);
      }, { hold });
      expect(seen.get('filter')?.get('DOCKER')).toEqual({ rules: 4, interfaces: ['br0', 'eth7'] });
      expect(forward).toEqual(['-o br0 -j DOCKER']);
      expect(r).toMatchObject({ changed: ['filter'], added: 1, kept: 1 + 3, deleted: 1 });
      expect(dockerLines(ns, backend)).toEqual([`[5:50] -A DOCKER ${R(1)}`, `[7:70] -A DOCKER ${R(3)}`, `[0:0] -A DOCKER ${R(4)}`, '[0:0] -A DOCKER -i eth7 -j RETURN']);

      // The same again: nothing is committed, every rule kept.
      const again = await nf.update(['filter'], () => exact(want), { hold });
      expect(again).toMatchObject({ changed: [], added: 0, kept: 1 + 4, deleted: 0 });
      expect(dockerLines(ns, backend)).toEqual([`[5:50] -A DOCKER ${R(1)}`, `[7:70] -A DOCKER ${R(3)}`, `[0:0] -A DOCKER ${R(4)}`, '[0:0] -A DOCKER -i eth7 -j RETURN']);

      // A held chain not there yet is made from its text.
      const fresh = await nf.update(['filter'], () => [{ table: 'filter', chains: [{ chain: 'NEW', mode: 'exact', text: R(9) }] }], { hold: { filter: ['NEW'] } });
      expect(fresh).toMatchObject({ changed: ['filter'], added: 1 });
      expect(saveLines(ns.ok(`iptables-${backend}-save`, ['-t', 'filter']))).toContain(`-A NEW ${R(9)}`);
    }, 'iptkit-held'));

  test('a big new chain is made from its text as written; a bad text deep in it is named', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], SEED);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      // Over 1 MiB of texts: the addon's copy of the wire is a mapping of its own, whose pages
      // are given back as the chain's texts are planned. They are parsed in pieces on helper
      // threads, each in the namespace (an ipset's index is asked of its kernel).
      ns.ok('ipset', ['create', `held-${backend}`, 'hash:ip']);
      const rules = Array.from({ length: 20_000 }, (_, i) =>
        i % 1000 === 999
          ? `-s 10.${(i >> 8) & 255}.${i & 255}.1/32 -m set --match-set held-${backend} dst -j DROP`
          : `-d 10.${(i >> 8) & 255}.${i & 255}.1/32 ! -i br0 -o br0 -p tcp -m tcp --dport ${1 + i} -j ACCEPT`,
      );
      const big = (texts: string[]): TableIntent[] => [{ table: 'filter', chains: [{ chain: 'BIG', mode: 'exact', text: texts.join('\n') }] }];
      const bad = [...rules];
      bad[15_000] = '-p tcp --bogus 1 -j ACCEPT';
      await expect(nf.update(['filter'], () => big(bad), { hold: { filter: ['BIG'] } })).rejects.toThrow(/\(chain BIG\): rule `-p tcp --bogus 1 -j ACCEPT'/);
      // Of two bad texts in other pieces, the first is named.
      bad[9_000] = '-p tcp --dport 80 -j ACCEPT';
      await expect(nf.update(['filter'], () => big(bad), { hold: { filter: ['BIG'] } })).rejects.toThrow(
        /wire line \d+ \(chain BIG\): rule `-p tcp --dport 80 -j ACCEPT': not in canonical form/,
      );
      const r = await nf.update(['filter'], () => big(rules), { hold: { filter: ['BIG'] } });
      expect(r).toMatchObject({ changed: ['filter'], added: 20_000 });
      expect(saveLines(ns.ok(`iptables-${backend}-save`, ['-t', 'filter'])).filter((l) => l.startsWith('-A BIG '))).toEqual(rules.map((t) => `-A BIG ${t}`));
    }, 'iptkit-held'));

  test('a desired text that is not canonical is refused, naming it; nothing is committed', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], SEED);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      const before = dockerLines(ns, backend);
      const bad = '-p tcp --dport 80 -j ACCEPT';
      await expect(nf.update(['filter'], () => exact([R(1), bad].join('\n')), { hold: { filter: ['DOCKER'] } })).rejects.toThrow(
        /chain DOCKER\): rule `-p tcp --dport 80 -j ACCEPT': not in canonical form \(iptables-save prints it as `-p tcp -m tcp --dport 80 -j ACCEPT`\)/,
      );
      await expect(nf.update(['filter'], () => exact('-p tcp --bogus 1 -j ACCEPT'), { hold: { filter: ['DOCKER'] } })).rejects.toThrow(
        /wire line \d+ \(chain DOCKER\): rule `-p tcp --bogus 1 -j ACCEPT': .*--bogus/,
      );
      expect(dockerLines(ns, backend)).toEqual(before);
    }, 'iptkit-held'));
});

describe.skipIf(!isRoot)('the lines= record of the commit wire', () => {
  test('needs a held read, and as many texts as it says', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-legacy-restore', [], SEED);
      const wire = (n: number): string => `table\tfilter\tfamily=ipv4\nchain\tDOCKER\tlines=${n}\n${R(1)}\n`;
      await expect(native.legacyCommit('ipv4', ns.path, [wire(1)], null)).rejects.toThrow(/table filter: a lines= chain needs the held read it was planned on/);
      const r = await native.readHolding('legacy', 'ipv4', ns.path, ['filter'], [['DOCKER']]);
      await expect(native.legacyCommit('ipv4', ns.path, [wire(2)], r.held)).rejects.toThrow(/wire line 3 \(chain DOCKER\): chain record: lines=2 but the wire ends after 1/);
      // A count in the billions is the same refusal, not room made for it first (64 GB).
      await expect(native.legacyCommit('ipv4', ns.path, [wire(4_000_000_000)], r.held)).rejects.toThrow(/lines=4000000000 but the wire ends after 1/);
      await expect(native.legacyCommit('ipv4', ns.path, [wire(1) + 'keep\t0\n'], r.held)).rejects.toThrow(/keep record in a chain given as lines=/);
      expect(() => native.legacyCommit('ipv4', ns.path, [wire(1)], {} as typeof r.held)).toThrow(/held must be what readHolding gave/);
      expect(saveLines(ns.ok('iptables-legacy-save', ['-t', 'filter']))).toContain(`-A DOCKER ${R(3)}`);
    }, 'iptkit-held'));
});

describe.skipIf(!isRoot)('held chains, nft: rules written by nft directly', () => {
  test('stay where they are in a held chain', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED);
      ns.ok('nft', ['add', 'rule', 'ip', 'filter', 'DOCKER', 'ct', 'state', 'established', 'counter', 'accept']);
      const nf = await Netfilter.open({ backend: 'nft', netns: ns.name });
      const r = await nf.update(['filter'], () => exact([R(2), R(5)].join('\n')), { hold: { filter: ['DOCKER'] } });
      expect(r).toMatchObject({ added: 1 });
      const listed = ns.ok('nft', ['list', 'chain', 'ip', 'filter', 'DOCKER']);
      expect(listed).toContain('ct state established counter');
      expect(listed).toContain('dport 5 ');
      expect(listed).not.toContain('dport 1 ');
      expect(listed.indexOf('dport 2 ')).toBeLessThan(listed.indexOf('dport 5 '));
    }, 'iptkit-held'));
});
