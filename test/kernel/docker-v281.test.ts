// Docker 28.0.2 to 28.1.x hosts (layout v28.1) on a live kernel, both back ends, in throwaway
// namespaces: iptables-save and ip6tables-save show exactly the rules
// test/unit/docker-v281.test.ts pins from moby v28.1.1's code (v28's chains, per-port raw
// direct-access DROPs, DOCKER-USER's RETURN); a second apply changes nothing. The host reads
// back (`docker state`) as the state that made it, `docker doctor` finds nothing, and repair
// turns a 28.2 host's per-endpoint DROPs into 28.1's per-port ones. publish and unpublish
// change only their ports' rules and leave the tables as apply of the state they lead to would
// (a twin namespace is the oracle).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { validateState, type DockerPort, type DockerState } from '../../src/docker/state.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker281-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

const BACKENDS = [
  { backend: 'legacy', save: 'iptables-legacy-save', save6: 'ip6tables-legacy-save', cmd: 'iptables-legacy' },
  { backend: 'nft', save: 'iptables-nft-save', save6: 'ip6tables-nft-save', cmd: 'iptables-nft' },
] as const;

/** Four networks (newest first): dual-stack with icc off, routed, internal, the default bridge. */
const mixed: DockerState = validateState({
  layout: 'v28.1',
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

/** What the tools print for every Docker table of both families, and what the model says they hold. */
function tablesOf(ns: Netns, b: (typeof BACKENDS)[number], state: DockerState): { kernel: string[]; model: string[] } {
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

describe.skipIf(!isRoot).each(BACKENDS)('layout v28.1 on a live kernel, $backend back end', (b) => {
  test('apply: exactly the rules of the model; again: nothing changes', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const first = await host.apply(mixed);
      expect(first.ipv4?.changed.length).toBeGreaterThan(0);
      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
      expect(kernel).toContain('ipv4 -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -p tcp -m tcp --dport 80 -j DROP');
      expect(kernel).toContain('ipv6 -A PREROUTING -d fd00:18::2/128 ! -i br-0123456789ab -p tcp -m tcp --dport 80 -j DROP');
      expect(kernel).toContain('ipv4 -A DOCKER-USER -j RETURN');
      const again = await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply(mixed);
      expect(again.ipv4?.changed).toEqual([]);
      expect(again.ipv6?.changed).toEqual([]);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(kernel);
    }, 'iptkit-docker'));

  test('docker state reads the state back, doctor finds nothing, repair turns 28.2 rules into 28.1 ones', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const common = ['--backend', b.backend, '--netns', ns.name];
      const stateFile = file(`mixed-${b.backend}.json`, mixed);
      const applied = await iptkit('docker', 'apply', ...common, stateFile);
      expect(applied.code, applied.stderr).toBe(0);
      const read = await iptkit('docker', 'state', ...common);
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(mixed);
      for (const args of [[], [stateFile]]) {
        const doc = await iptkit('docker', 'doctor', ...common, ...args);
        expect(doc.stdout, doc.stderr).toBe('no problems found\n');
      }

      // Damage: a per-port DROP gone; doctor with the state sees it, repair puts it back.
      ns.ok(b.cmd, ['-t', 'raw', '-D', 'PREROUTING', '-d', '172.18.0.2/32', '!', '-i', 'br-0123456789ab', '-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'DROP']);
      const sick = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(sick.stdout).toContain('172.18.0.2/32');
      const repaired = await iptkit('docker', 'repair', ...common, stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(tablesOf(ns, b, mixed).model);

      // A host Docker 28.2 left (per-endpoint DROPs, no DOCKER-USER RETURN): repair to 28.1's state.
      await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply({ ...mixed, layout: 'v28' });
      expect(tablesOf(ns, b, mixed).kernel).toContain('ipv4 -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP');
      const again = await iptkit('docker', 'repair', ...common, stateFile);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^after: no problems found$/m);
      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
    }, 'iptkit-docker'));

  test('publish and unpublish: only their rules, as apply of the state they lead to', () =>
    withNetns((opsNs) =>
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
    'iptkit-docker'));
});
