// A DockerHost that publishes and unpublishes port after port plans on the tables its last
// operation kept and on the port view it derived from its own change (no read, no inference),
// while the tables still hold. It must do exactly what a new DockerHost does, which reads and
// infers everything: the same results, the same refusals, the same rules, also after another
// writer changed the tables in between. Every Docker layout of the iptables back ends.

import { describe, expect, test } from 'vitest';
import { native } from '../../src/binding.js';
import { DockerHost, type DockerUnpublishPort } from '../../src/docker/ops.js';
import type { DockerLayout, DockerPort } from '../../src/docker/state.js';
import { BACKENDS, mixedState } from '../helpers/docker-per-port.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const LAYOUTS: DockerLayout[] = ['classic', 'v28.0', 'v28.1', 'v28', 'v29'];

const p = (network: string, hostIp: string, hostPort: number, containerIp: string, containerPort: number, proto = 'tcp'): DockerPort =>
  ({ network, proto, hostIp, hostPort, containerIp, containerPort }) as DockerPort;

type Step =
  | { op: 'publish'; ports: DockerPort[] }
  | { op: 'unpublish'; ports: DockerUnpublishPort[] }
  /** Another writer: the same iptables command in both namespaces. */
  | { op: 'tool'; cmd: string; args: string[] };

const STEPS: Step[] = [
  { op: 'publish', ports: [p('app', '0.0.0.0', 9001, '172.18.0.50', 80)] },
  // Already there: unchanged.
  { op: 'publish', ports: [p('app', '0.0.0.0', 9001, '172.18.0.50', 80)] },
  // The same container, on loopback; a new container of another network; IPv6.
  { op: 'publish', ports: [p('app', '127.0.0.1', 9002, '172.18.0.50', 81), p('bridge', '0.0.0.0', 9003, '172.17.0.9', 80)] },
  { op: 'publish', ports: [p('app', '::', 9001, 'fd00:18::50', 80, 'udp')] },
  // Taken by another container: refused in both.
  { op: 'publish', ports: [p('bridge', '0.0.0.0', 9001, '172.17.0.10', 80)] },
  // Both families at once, by port alone.
  { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9001 }, { proto: 'udp', hostPort: 9001 }] },
  // Another writer takes a port's DNAT away and adds a rule of its own to DOCKER.
  { op: 'tool', cmd: 'iptables', args: ['-w', '-t', 'nat', '-D', 'DOCKER', '-d', '127.0.0.1/32', '!', '-i', 'br-0123456789ab', '-p', 'tcp', '-m', 'tcp', '--dport', '9002', '-j', 'DNAT', '--to-destination', '172.18.0.50:81'] },
  { op: 'tool', cmd: 'iptables', args: ['-w', '-A', 'DOCKER', '-s', '192.0.2.1/32', '-j', 'DROP'] },
  { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9002 }] },
  { op: 'publish', ports: [p('app', '127.0.0.1', 9002, '172.18.0.50', 81), p('app', '0.0.0.0', 9004, '172.18.0.51', 80, 'sctp')] },
  // Another writer takes 9003's DNAT away: the port is free again, for another container.
  { op: 'tool', cmd: 'iptables', args: ['-w', '-t', 'nat', '-D', 'DOCKER', '!', '-i', 'docker0', '-p', 'tcp', '-m', 'tcp', '--dport', '9003', '-j', 'DNAT', '--to-destination', '172.17.0.9:80'] },
  { op: 'publish', ports: [p('bridge', '0.0.0.0', 9003, '172.17.0.10', 80)] },
  { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9003 }, { proto: 'sctp', hostPort: 9004 }] },
  { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9003 }] },
];

function rules(ns: Netns, backend: string): string[] {
  return ['iptables', 'ip6tables'].flatMap((t) =>
    ['raw', 'mangle', 'nat', 'filter'].flatMap((table) => saveLines(ns.run(`${t}-${backend}-save`, ['-t', table]).stdout).map((l) => `${t} ${l}`)),
  );
}

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    const r = (await run()) as { changed: number; unchanged: number };
    return { changed: r.changed, unchanged: r.unchanged };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe.skipIf(!isRoot)('publish and unpublish on kept tables and views', () => {
  for (const b of BACKENDS) {
    for (const layout of LAYOUTS) {
      test(`${b.backend}, ${layout}: one host step after step does what a new host does at each step`, () =>
        withNetns((kept) =>
          withNetns(async (fresh) => {
            const state = mixedState(layout);
            for (const ns of [kept, fresh]) for (const n of state.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
            const host = await DockerHost.open({ backend: b.backend, netns: kept.name });
            await host.apply(state);
            await (await DockerHost.open({ backend: b.backend, netns: fresh.name })).apply(state);
            for (const [i, s] of STEPS.entries()) {
              if (s.op === 'tool') {
                const cmd = `${s.cmd}-${b.backend}`;
                for (const ns of [kept, fresh]) ns.ok(cmd, s.args);
                continue;
              }
              const on = (h: DockerHost) => () => (s.op === 'publish' ? h.publish(s.ports) : h.unpublish(s.ports));
              const got = await outcome(on(host));
              const want = await outcome(on(await DockerHost.open({ backend: b.backend, netns: fresh.name })));
              expect(got, `step ${i}`).toEqual(want);
              expect(rules(kept, b.backend), `step ${i}`).toEqual(rules(fresh, b.backend));
            }
          }, 'iptkit-kept-b'),
        'iptkit-kept-a'));
    }
  }

  // Whether Docker's nftables back end is there (its docker-bridges tables) is asked at every
  // port operation; not again while nothing but this process's own port commits moved nf_tables.
  test('nft: the docker-bridges tables are looked for again only after someone else changed nf_tables', () =>
    withNetns(async (ns) => {
      const state = mixedState('v29');
      for (const n of state.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: 'nft', netns: ns.name });
      await host.apply(state);
      const looks = { n: 0 };
      const read = native.nftObjectsRead;
      (native as Record<string, unknown>)['nftObjectsRead'] = (...a: Parameters<typeof read>) => (looks.n++, read(...a));
      try {
        await host.publish([p('app', '0.0.0.0', 9101, '172.18.0.60', 80)]);
        const first = looks.n;
        expect(first).toBe(2);
        await host.unpublish([{ proto: 'tcp', hostPort: 9101 }]);
        await host.publish([p('app', '0.0.0.0', 9102, '172.18.0.60', 80)]);
        expect(looks.n).toBe(first);
        ns.ok('nft', ['add', 'table', 'inet', 'someone-else']);
        await host.publish([p('app', '0.0.0.0', 9103, '172.18.0.60', 81)]);
        expect(looks.n).toBe(first + 2);
      } finally {
        (native as Record<string, unknown>)['nftObjectsRead'] = read;
      }
    }, 'iptkit-kept-nft'));
});
