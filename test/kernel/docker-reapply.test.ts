// DockerHost.apply of the same state again on tables nobody changed since (but counters) does
// nothing and reads nothing: the tables' fingerprint right after the last apply (taken under
// the legacy lock, or the nf_tables generation its batch made) equals the fingerprint now. Any
// other change to the tables, by anyone, makes it read and plan as usual and put Docker's
// rules back. Which path ran is seen by counting the addon's reads.

import { copyFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { native } from '../../src/binding.js';
import { DockerHost } from '../../src/docker/ops.js';
import { recordPath } from '../../src/docker/record.js';
import type { DockerState } from '../../src/docker/state.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';
import { countReads } from '../helpers/reads.js';

const STATE: DockerState = {
  layout: 'v29',
  userlandProxy: true,
  networks: [
    { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16', subnet6: 'fd00:17::/64', icc: true, masquerade: true, internal: false },
  ],
  ports: [
    { network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 },
    { network: 'bridge', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00:17::2', containerPort: 80 },
  ],
};
const OTHER: DockerState = { ...STATE, ports: [...STATE.ports, { network: 'bridge', proto: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerIp: '172.17.0.3', containerPort: 53 }] };

const reads = countReads();

function rules(ns: Netns, backend: 'legacy' | 'nft'): string[] {
  return ['iptables', 'ip6tables'].flatMap((t) => saveLines(ns.ok(`${t}-${backend}-save`)).filter((l) => l.startsWith('-A') || l.startsWith(':')));
}

describe.skipIf(!isRoot)('docker apply of an unchanged state on unchanged tables', () => {
  for (const backend of ['legacy', 'nft'] as const) {
    const ipt = `iptables-${backend}`;

    test(`${backend}: the second apply reads nothing and changes nothing; both families`, () =>
      withNetns(async (ns) => {
        const host = await DockerHost.open({ backend, netns: ns.name });
        const first = await host.apply(STATE);
        const after = rules(ns, backend);
        reads.n = 0;
        const again = await host.apply(structuredClone(STATE));
        expect(reads.n).toBe(0);
        for (const f of ['ipv4', 'ipv6'] as const) {
          expect(again[f]).toEqual({ backend, attempts: 1, changed: [], added: 0, deleted: 0, kept: first[f]!.kept + first[f]!.added });
        }
        expect(rules(ns, backend)).toEqual(after);
      }));

    test(`${backend}: a rule someone removed is put back`, () =>
      withNetns(async (ns) => {
        const host = await DockerHost.open({ backend, netns: ns.name });
        await host.apply(STATE);
        const after = rules(ns, backend);
        ns.ok(ipt, ['-w', '-t', 'nat', '-F', 'DOCKER']);
        expect(rules(ns, backend)).not.toEqual(after);
        reads.n = 0;
        const r = await host.apply(STATE);
        expect(reads.n).toBeGreaterThan(0);
        expect(r.ipv4!.changed).toEqual(['nat']);
        expect(rules(ns, backend)).toEqual(after);
        // And then it is the last apply's state on unchanged tables again.
        reads.n = 0;
        await host.apply(STATE);
        expect(reads.n).toBe(0);
      }));

    test(`${backend}: a rule someone added beside Docker's makes it look again, and stays`, () =>
      withNetns(async (ns) => {
        const host = await DockerHost.open({ backend, netns: ns.name });
        await host.apply(STATE);
        ns.ok(ipt, ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
        reads.n = 0;
        const r = await host.apply(STATE);
        expect(reads.n).toBeGreaterThan(0);
        expect(r.ipv4!.changed).toEqual([]);
        expect(rules(ns, backend)).toContain('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT');
      }));

    test(`${backend}: another state is applied in full, and then it is the one remembered`, () =>
      withNetns(async (ns) => {
        const host = await DockerHost.open({ backend, netns: ns.name });
        await host.apply(STATE);
        reads.n = 0;
        const r = await host.apply(OTHER);
        expect(reads.n).toBeGreaterThan(0);
        expect(r.ipv4!.added).toBeGreaterThan(0);
        reads.n = 0;
        await host.apply(OTHER);
        expect(reads.n).toBe(0);
        // A publish changes the tables: the state applied before is applied in full again.
        await host.publish([{ network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 9090, containerIp: '172.17.0.4', containerPort: 90 }]);
        reads.n = 0;
        const back = await host.apply(OTHER);
        expect(reads.n).toBeGreaterThan(0);
        expect(back.ipv4!.deleted).toBeGreaterThan(0);
        expect(rules(ns, backend).some((l) => l.includes('--dport 9090'))).toBe(false);
      }));
  }

  // `iptkit docker apply` is a new DockerHost every run: what the last apply left is in the
  // Docker record, with the namespace's cookie, and serves any process the same way.
  for (const backend of ['legacy', 'nft'] as const) {
    test(`${backend}: a new host (another process) applying the same state reads nothing either`, () =>
      withNetns(async (ns) => {
        const first = await (await DockerHost.open({ backend, netns: ns.name })).apply(STATE);
        const after = rules(ns, backend);
        reads.n = 0;
        const again = await (await DockerHost.open({ backend, netns: ns.name })).apply(structuredClone(STATE));
        expect(reads.n).toBe(0);
        for (const f of ['ipv4', 'ipv6'] as const) {
          expect(again[f]).toEqual({ backend, attempts: 1, changed: [], added: 0, deleted: 0, kept: first[f]!.kept + first[f]!.added });
        }
        expect(rules(ns, backend)).toEqual(after);
        // Another state, or the same one after someone changed the tables: read and planned.
        reads.n = 0;
        await (await DockerHost.open({ backend, netns: ns.name })).apply(OTHER);
        expect(reads.n).toBeGreaterThan(0);
        ns.ok(`iptables-${backend}`, ['-w', '-t', 'nat', '-F', 'DOCKER']);
        reads.n = 0;
        const r = await (await DockerHost.open({ backend, netns: ns.name })).apply(OTHER);
        expect(reads.n).toBeGreaterThan(0);
        expect(r.ipv4!.changed).toEqual(['nat']);
      }));
  }

  // A namespace that took over a deleted one's record (its inode number came back) at the
  // same nf_tables generation as that record's mark: the cookie tells them apart.
  test("nft: a record written in another namespace is not trusted, even at the same generation", () =>
    withNetns(async (a) => {
      await (await DockerHost.open({ backend: 'nft', netns: a.name })).apply(STATE);
      const generation = (await native.nftGeneration(a.path)).generation;
      await withNetns(async (b) => {
        copyFileSync(await recordPath(a.name), await recordPath(b.name));
        // Bring b's generation to a's: each nft command is one commit.
        for (let i = 0; (await native.nftGeneration(b.path)).generation < generation && i < 100; i++) b.ok('nft', ['add', 'table', 'ip', `t${i}`]);
        expect((await native.nftGeneration(b.path)).generation).toBe(generation);
        reads.n = 0;
        const r = await (await DockerHost.open({ backend: 'nft', netns: b.name })).apply(STATE);
        expect(reads.n).toBeGreaterThan(0);
        expect(r.ipv4!.added).toBeGreaterThan(0);
        expect(rules(b, 'nft')).toEqual(rules(a, 'nft'));
      }, 'iptkit-reapply-b');
    }, 'iptkit-reapply-a'));

  // Zeroing counters is no change to the rules: on x_tables the fingerprint leaves counters
  // out. (On nf_tables a reset is a commit, which moves the generation: it looks again.)
  test('legacy: zeroed counters are no change', () =>
    withNetns(async (ns) => {
      const host = await DockerHost.open({ backend: 'legacy', netns: ns.name });
      await host.apply(STATE);
      ns.ok('iptables-legacy', ['-w', '-t', 'nat', '-Z']);
      reads.n = 0;
      await host.apply(STATE);
      expect(reads.n).toBe(0);
    }));
});
