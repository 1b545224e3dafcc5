// What the kernel tests of the per-port layouts (v28.0: Docker 28.0.0; v28.1: 28.0.2-28.1.x)
// share: the back ends, one mixed host, the kernel's Docker tables against the model's, and
// the check that publish and unpublish leave the tables as apply of the state they lead to
// would (a twin namespace is the oracle).

import { expect } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { validateState, type DockerLayout, type DockerPort, type DockerState } from '../../src/docker/state.js';
import { saveLines, withNetns, type Netns } from './netns.js';

export const BACKENDS = [
  { backend: 'legacy', save: 'iptables-legacy-save', save6: 'ip6tables-legacy-save', cmd: 'iptables-legacy' },
  { backend: 'nft', save: 'iptables-nft-save', save6: 'ip6tables-nft-save', cmd: 'iptables-nft' },
] as const;
export type Backend = (typeof BACKENDS)[number];

/** Four networks (newest first): dual-stack with icc off, routed, internal, the default bridge. */
export function mixedState(layout: DockerLayout): DockerState {
  return validateState({
    layout,
    userlandProxy: true,
    ip6tables: true,
    networks: [
      { name: 'app', bridge: 'br-0123456789ab', subnet: '172.18.0.0/16', subnet6: 'fd00:18::/64', icc: false, masquerade: true, internal: false },
      { name: 'edge', bridge: 'br-00000000edge', subnet: '172.20.0.0/16', icc: true, masquerade: true, internal: false, gatewayModeIpv4: 'routed' },
      { name: 'vault', bridge: 'br-00000000beef', subnet: '172.19.0.0/16', icc: true, masquerade: true, internal: true },
      { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16', icc: true, masquerade: true, internal: false },
    ],
    ports: [
      { network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 },
      { network: 'bridge', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 5432, containerIp: '172.17.0.3', containerPort: 5432 },
      { network: 'app', proto: 'udp', hostIp: '0.0.0.0', hostPort: 5353, containerIp: '172.18.0.2', containerPort: 53 },
      { network: 'edge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8443, containerIp: '172.20.0.2', containerPort: 443 },
      { network: 'app', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00:18::2', containerPort: 80 },
    ],
  });
}

/** What the tools print for every Docker table of both families, and what the model says they hold. */
export function tablesOf(ns: Netns, b: Backend, state: DockerState): { kernel: string[]; model: string[] } {
  const kernel: string[] = [];
  const model: string[] = [];
  const rs = desiredRules(state);
  for (const [family, cmd] of [['ipv4', b.save], ['ipv6', b.save6]] as const) {
    const want = toSaveText(rs[family]);
    for (const table of ['raw', 'nat', 'filter']) {
      kernel.push(...saveLines(ns.ok(cmd, ['-t', table])).map((l) => `${family} ${l}`));
      model.push(...saveLines(want[table] ?? '').map((l) => `${family} ${l}`));
    }
  }
  return { kernel, model };
}

/**
 * publish and unpublish on a host applied from `mixed`, step by step, each compared table for
 * table with a twin namespace that applies the state the step leads to.
 */
export function publishMatchesApply(b: Backend, mixed: DockerState): Promise<void> {
  return withNetns((opsNs) =>
    withNetns(async (applyNs) => {
      for (const ns of [opsNs, applyNs]) for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const ops = await DockerHost.open({ backend: b.backend, netns: opsNs.name });
      const twin = await DockerHost.open({ backend: b.backend, netns: applyNs.name });
      await ops.apply(mixed);
      await twin.apply(mixed);
      const p = (network: string, hostIp: string, hostPort: number, containerIp: string, containerPort: number, proto = 'tcp'): DockerPort =>
        ({ network, proto, hostIp, hostPort, containerIp, containerPort }) as DockerPort;
      const loopback = p('bridge', '127.0.0.1', 6432, '172.17.0.2', 5432);
      const wide = p('app', '0.0.0.0', 9001, '172.18.0.50', 80);
      const local = p('app', '127.0.0.1', 9002, '172.18.0.50', 80);
      const routed = p('edge', '127.0.0.1', 9003, '172.20.0.9', 80);
      const v6 = p('app', '::', 9004, 'fd00:18::50', 80, 'udp');
      const same = (x: DockerPort, y: DockerPort) => x.hostPort === y.hostPort && x.proto === y.proto && x.hostIp === y.hostIp;
      const steps: Array<{ op: 'publish' | 'unpublish'; ports: DockerPort[] }> = [
        // An existing container's new port on loopback: its loopback DROP, then the port's direct-access DROP.
        { op: 'publish', ports: [loopback] },
        // A new container's port on two host addresses: one ACCEPT, one direct-access DROP.
        { op: 'publish', ports: [wide, local] },
        // A routed network's port: no direct-access DROP, the loopback one stays.
        { op: 'publish', ports: [routed, v6] },
        // The shared rules stay with 9001, then go with it.
        { op: 'unpublish', ports: [local] },
        { op: 'unpublish', ports: [wide, routed] },
        { op: 'unpublish', ports: [loopback, v6] },
      ];
      let ports = [...mixed.ports];
      for (const [i, s] of steps.entries()) {
        const r =
          s.op === 'publish'
            ? await ops.publish(s.ports)
            : await ops.unpublish(s.ports.map((x) => ({ proto: x.proto, hostPort: x.hostPort, hostIp: x.hostIp })));
        expect(r.changed, `step ${i}`).toBe(s.ports.length);
        ports = s.op === 'publish' ? [...ports, ...s.ports] : ports.filter((x) => !s.ports.some((y) => same(x, y)));
        await twin.apply({ ...mixed, ports });
        for (const [cmd, table] of [b.save, b.save6].flatMap((c) => ['raw', 'nat', 'filter'].map((t) => [c, t] as const))) {
          expect(saveLines(opsNs.ok(cmd, ['-t', table])), `step ${i} ${cmd} ${table}`).toEqual(saveLines(applyNs.ok(cmd, ['-t', table])));
        }
      }
      expect(tablesOf(opsNs, b, mixed).kernel).toEqual(tablesOf(opsNs, b, mixed).model);
      const raw = opsNs.ok(b.save, ['-t', 'raw']);
      expect(raw).not.toMatch(/9003|172\.20\.0\.9|6432/);
    }, 'iptkit-docker'),
  'iptkit-docker');
}
