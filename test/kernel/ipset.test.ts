// The addon's ipsets (native/ipset, src/docker/ipset.ts) on a live kernel, in throwaway
// namespaces: the hash:net sets Docker 28.0.0 keeps its bridges' subnets in are made with
// exactly their members, again with no change, changed with the fewest adds and deletes while a
// rule refers to them, and a set of another type or family is refused and left alone. The
// oracle is the ipset tool (`ipset save`), and the rules naming the sets are committed by
// iptkit and read back (and found by -C) by iptables itself on both back ends.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ensureHashNetSets } from '../../src/docker/ipset.js';
import { NetfilterError } from '../../src/errors.js';
import { Netfilter } from '../../src/netfilter.js';
import { isRoot, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-ipset-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

/** `ipset save` of the namespace, without the create lines' per-set random initval. */
function ipsetSave(ns: Netns): string[] {
  return ns
    .ok('ipset', ['save'])
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/ initval 0x[0-9a-f]+/, ''))
    .sort();
}

const V4 = 'docker-ext-bridges-v4';
const V6 = 'docker-ext-bridges-v6';

describe.skipIf(!isRoot)('ipsets of a namespace (ipset netlink)', () => {
  test('creates hash:net sets of each family with their members, as `ipset` shows them', async () => {
    await withNetns(async (ns) => {
      const out = await ensureHashNetSets(
        [
          { name: V4, family: 'inet', members: ['172.17.0.0/16', '172.19.0.0/16'] },
          { name: V6, family: 'inet6', members: ['fd00:19::/64'] },
        ],
        ns.name,
      );
      expect(out).toEqual([
        { name: V4, created: true, added: 2, deleted: 0 },
        { name: V6, created: true, added: 1, deleted: 0 },
      ]);
      const save = ipsetSave(ns);
      expect(save).toEqual(
        [
          `create ${V4} hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12`,
          `add ${V4} 172.17.0.0/16`,
          `add ${V4} 172.19.0.0/16`,
          `create ${V6} hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12`,
          `add ${V6} fd00:19::/64`,
        ].sort(),
      );
      // The same sets as the ipset tool makes them (its create line, the same defaults).
      await withNetns((other) => {
        other.ok('ipset', ['create', V4, 'hash:net', 'family', 'inet']);
        other.ok('ipset', ['add', V4, '172.17.0.0/16']);
        other.ok('ipset', ['add', V4, '172.19.0.0/16']);
        other.ok('ipset', ['create', V6, 'hash:net', 'family', 'inet6']);
        other.ok('ipset', ['add', V6, 'fd00:19::/64']);
        expect(ipsetSave(other)).toEqual(save);
        // And only in its namespace: another one has none of them.
      }, 'iptkit-ipset');
      await withNetns((fresh) => expect(fresh.ok('ipset', ['list', '-n'])).toBe(''), 'iptkit-ipset');
    }, 'iptkit-ipset');
  });

  test('again: nothing changes; new members: the fewest adds and deletes, the set and its rules kept', async () => {
    await withNetns(async (ns) => {
      const want = [{ name: V4, family: 'inet' as const, members: ['172.17.0.0/16', '172.19.0.0/16'] }];
      await ensureHashNetSets(want, ns.name);
      const nf = await Netfilter.open({ backend: 'legacy', family: 'ipv4', netns: ns.name, offload: false });
      await nf.restore(`*filter\n:DOCKER - [0:0]\n-A FORWARD -m set --match-set ${V4} dst -j DOCKER\nCOMMIT\n`);
      const before = ipsetSave(ns);
      expect(await ensureHashNetSets(want, ns.name)).toEqual([{ name: V4, created: false, added: 0, deleted: 0 }]);
      expect(ipsetSave(ns)).toEqual(before);
      const changed = [{ name: V4, family: 'inet' as const, members: ['172.19.0.0/16', '172.20.0.0/16', '10.1.2.0/24'] }];
      expect(await ensureHashNetSets(changed, ns.name)).toEqual([{ name: V4, created: false, added: 2, deleted: 1 }]);
      expect(ipsetSave(ns).filter((l) => l.startsWith('add'))).toEqual(
        [`add ${V4} 10.1.2.0/24`, `add ${V4} 172.19.0.0/16`, `add ${V4} 172.20.0.0/16`].sort(),
      );
      // The rule still names the set (its index did not change), and the kernel counts it.
      expect(ns.ok('iptables-legacy-save', ['-t', 'filter'])).toContain(`-A FORWARD -m set --match-set ${V4} dst -j DOCKER`);
      expect(ns.ok('ipset', ['list', V4])).toMatch(/References: 1/);
      // No members: the set stays, empty.
      expect(await ensureHashNetSets([{ name: V4, family: 'inet', members: [] }], ns.name)).toEqual([
        { name: V4, created: false, added: 0, deleted: 3 },
      ]);
      expect(ipsetSave(ns).filter((l) => l.startsWith('add'))).toEqual([]);
    }, 'iptkit-ipset');
  });

  for (const backend of ['legacy', 'nft'] as const) {
    test(`${backend}: rules naming the sets commit after them, as iptables reads them back`, async () => {
      await withNetns(async (ns) => {
        await ensureHashNetSets(
          [
            { name: V4, family: 'inet', members: ['172.17.0.0/16'] },
            { name: V6, family: 'inet6', members: ['fd00:17::/64'] },
          ],
          ns.name,
        );
        for (const [family, set, tool] of [
          ['ipv4', V4, backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save'],
          ['ipv6', V6, backend === 'legacy' ? 'ip6tables-legacy-save' : 'ip6tables-nft-save'],
        ] as const) {
          const nf = await Netfilter.open({ backend, family, netns: ns.name, offload: false });
          const rules = [
            `-A FORWARD -m set --match-set ${set} dst -j DOCKER`,
            `-A FORWARD -m set --match-set ${set} dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
          ];
          await nf.restore(`*filter\n:DOCKER - [0:0]\n${rules.join('\n')}\nCOMMIT\n`);
          const saved = ns.ok(tool, ['-t', 'filter']).split('\n').filter((l) => l.startsWith('-A FORWARD'));
          expect(saved, `${backend} ${family}`).toEqual(rules);
          // iptables finds them as its own (-C compares the kernel's bytes, set index included).
          const cmd = tool.replace('-save', '');
          for (const r of rules) expect(ns.run(cmd, ['-w', '-C', ...r.slice(3).split(' ')]).status, `${cmd} -C ${r}`).toBe(0);
        }
      }, 'iptkit-ipset');
    });
  }

  test('a set of that name but another type or family is refused, naming it, and left alone', async () => {
    await withNetns(async (ns) => {
      ns.ok('ipset', ['create', V4, 'hash:ip']);
      ns.ok('ipset', ['add', V4, '10.0.0.1']);
      const before = ipsetSave(ns);
      const e = await ensureHashNetSets([{ name: V4, family: 'inet', members: ['172.17.0.0/16'] }], ns.name).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetfilterError);
      expect((e as Error).message).toMatch(new RegExp(`ipset ${V4} exists as hash:ip family inet, not hash:net family inet`));
      const e6 = await ensureHashNetSets([{ name: V4, family: 'inet6', members: [] }], ns.name).catch((x: unknown) => x);
      expect((e6 as Error).message).toMatch(/not hash:net family inet6/);
      expect(ipsetSave(ns)).toEqual(before);
    }, 'iptkit-ipset');
  });

  test('bad input: a TypeError naming the field, before anything is asked of the kernel', async () => {
    const bad: [unknown, RegExp][] = [
      [[{ name: '', family: 'inet', members: [] }], /sets\[0\]\.name: must be 1 to 31 bytes/],
      [[{ name: 'x'.repeat(32), family: 'inet', members: [] }], /sets\[0\]\.name: must be 1 to 31 bytes/],
      [[{ name: 'a', family: 'inet', members: [] }, { name: 'a', family: 'inet', members: [] }], /sets\[1\]\.name: given twice: a/],
      [[{ name: 'a', family: 'ip', members: [] }], /sets\[0\]\.family: must be "inet" or "inet6"/],
      [[{ name: 'a', family: 'inet', members: ['10.0.0.1/8'] }], /sets\[0\]\.members\[0\]: not a network address \(host bits set\): 10\.0\.0\.1\/8/],
      [[{ name: 'a', family: 'inet', members: ['10.0.0.0/0'] }], /sets\[0\]\.members\[0\]: not an IPv4 network/],
      [[{ name: 'a', family: 'inet', members: ['fd00::/64'] }], /sets\[0\]\.members\[0\]: not an IPv4 network/],
      [[{ name: 'a', family: 'inet6', members: ['fd00::/129'] }], /sets\[0\]\.members\[0\]: not an IPv6 network/],
      [[{ name: 'a', family: 'inet', members: ['10.0.0.0'] }], /sets\[0\]\.members\[0\]: not an IPv4 network/],
    ];
    await withNetns(async (ns) => {
      for (const [sets, message] of bad) {
        expect(() => ensureHashNetSets(sets as never, ns.name)).toThrow(message);
      }
      expect(ns.ok('ipset', ['list', '-n'])).toBe('');
    }, 'iptkit-ipset');
  });
});
