// Docker 29 hosts (layout v29) and SCTP ports on a live kernel, both back ends, in throwaway
// namespaces: a v29 state applied through the CLI reads back (`docker state`) as the same
// state and `docker doctor` finds nothing; repair of a host Docker 28 left behind removes the
// isolation chains Docker 29 deletes and never puts them back; SCTP ports apply on every
// layout, with classic's mangle CHECKSUM rule (moby v27.5.1 port_mapping_linux.go) and none on
// v28 (env-gated) or v29 (removed).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { validateState, portFamily, type DockerState } from '../../src/docker/state.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker29-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
// iptkit's run directory (the Docker record of each apply): this file's own.
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');
function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

const BACKENDS = [
  { backend: 'legacy', save: 'iptables-legacy-save', cmd: 'iptables-legacy' },
  { backend: 'nft', save: 'iptables-nft-save', cmd: 'iptables-nft' },
] as const;

/**
 * test/golden/docker/v29-mixed.json (five networks, two internal, an SCTP port) in the form a
 * host reads back as: ports IPv4 first, every container address listed as an endpoint in the
 * order Docker joined them, and an internal network's masquerade Docker's default (no rule
 * holds it).
 */
const mixed: DockerState = (() => {
  const s = validateState(JSON.parse(readFileSync(new URL('../golden/docker/v29-mixed.json', import.meta.url), 'utf8')));
  const ports = [...s.ports.filter((p) => portFamily(p) === 'ipv4'), ...s.ports.filter((p) => portFamily(p) === 'ipv6')];
  const endpoints = [...(s.endpoints ?? [])];
  for (const p of ports) if (!endpoints.some((e) => e.ip === p.containerIp)) endpoints.push({ network: p.network, ip: p.containerIp });
  const networks = s.networks.map((n) => (n.internal ? { ...n, masquerade: true } : n));
  return { ...s, networks, ports, endpoints };
})();
const names = { networks: mixed.networks.map((n) => ({ bridge: n.bridge, name: n.name })) };

function bridges(ns: Netns): void {
  for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
}

const chainsOf = (lines: string[]): string[] => lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);

/**
 * Names and options the rules cannot hold (issue 11): a routed network with a SNAT address no
 * rule shows, a network without NAT (no rule names its subnet), an isolated internal network
 * that does not masquerade, a nat-unprotected network, ip6tables off, Docker 29's
 * bridge-accept-fwmark; in the form a host reads
 * back as (endpoints: every container address, as Docker joins them).
 */
const named: DockerState = validateState({
  layout: 'v29',
  userlandProxy: true,
  ip6tables: false,
  acceptFwMark: '0x1/0xff',
  networks: [
    { name: 'web', bridge: 'br-0123456789ab', subnet: '10.50.0.0/16', gatewayModeIpv4: 'routed', hostIpv4: '192.0.2.7' },
    { name: 'db', bridge: 'br-ba9876543210', subnet: '10.51.0.0/16', masquerade: false },
    { name: 'open', bridge: 'br-0000000000cc', subnet: '10.52.0.0/16', gatewayModeIpv4: 'nat-unprotected', hostIpv4: '192.0.2.9' },
    { name: 'vault', bridge: 'br-00000000beef', subnet: '10.53.0.0/16', internal: true, masquerade: false, gatewayModeIpv4: 'isolated' },
  ],
  ports: [
    { network: 'web', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.50.0.2', containerPort: 80 },
    { network: 'open', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8443, containerIp: '10.52.0.2', containerPort: 443 },
  ],
});

describe.skipIf(!isRoot).each(BACKENDS)('the state given to apply is the state read back, $backend back end', (b) => {
  const common = (ns: Netns) => ['--backend', b.backend, '--netns', ns.name];

  test('names and options round-trip through the record beside the rules; publish takes the names', () =>
    withNetns(async (ns) => {
      for (const n of named.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const applied = await iptkit('docker', 'apply', ...common(ns), file(`named-${b.backend}.json`, named));
      expect(applied.code, applied.stderr).toBe(0);
      // Docker's rules are Docker's text: no comment, no match of iptkit's in them.
      for (const t of ['nat', 'filter', 'raw']) expect(ns.ok(b.save, ['-t', t])).not.toMatch(/comment|iptkit/);
      expect(ns.ok(b.save, ['-t', 'nat'])).toContain('-A POSTROUTING -s 10.52.0.0/16 ! -o br-0000000000cc -j SNAT --to-source 192.0.2.9');
      expect(ns.ok(b.save, ['-t', 'filter'])).toContain('-A DOCKER-FORWARD -m mark --mark 0x1/0xff -j ACCEPT\n-A DOCKER-FORWARD -j DOCKER-CT');

      const read = await iptkit('docker', 'state', ...common(ns));
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(named);

      // publish by the state's network name, and by its bridge, without a state file.
      const pub = await iptkit('docker', 'publish', ...common(ns), '--network', 'web', '--container-ip', '10.50.0.3', '9090:90/tcp');
      expect(pub.code, pub.stderr).toBe(0);
      const viaBridge = await iptkit('docker', 'publish', ...common(ns), '--network', 'br-0000000000cc', '--container-ip', '10.52.0.3', '9443:443/tcp');
      expect(viaBridge.code, viaBridge.stderr).toBe(0);
      // The nat-unprotected network's port has no ACCEPT of its own; the routed one's has.
      const filter = ns.ok(b.save, ['-t', 'filter']);
      expect(filter).toContain('-A DOCKER -d 10.50.0.3/32 ! -i br-0123456789ab -o br-0123456789ab -p tcp -m tcp --dport 90 -j ACCEPT');
      expect(filter).not.toContain('-d 10.52.0.3/32');
      const after = await DockerHost.open({ backend: b.backend, netns: ns.name }).then((h) => h.inferState());
      expect(after.networks).toEqual(named.networks);
      expect(after.ports.map((p) => `${p.network} ${p.hostPort}`)).toEqual(['web 8080', 'open 8443', 'web 9090', 'open 9443']);

      const doc = await iptkit('docker', 'doctor', ...common(ns));
      expect(doc.stdout, doc.stderr).toBe('no problems found\n');
    }, 'iptkit-docker'));
});

describe.skipIf(!isRoot).each(BACKENDS)('gateway modes, SNAT, trusted interfaces on a live kernel, $backend back end', (b) => {
  test('applied, they are what the model writes and doctor finds nothing; changed back, nothing of them stays', () =>
    withNetns(async (ns) => {
      for (const n of named.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const full = (layout: string) => ({
        ...named,
        layout,
        ...(layout === 'v29' ? {} : { acceptFwMark: undefined }),
        networks: named.networks.map((n) => (n.name === 'db' ? { ...n, trustedHostInterfaces: ['eth9', 'wg0'] } : n)),
        endpoints: [{ network: 'db', ip: '10.51.0.5' }],
      });
      const plain = (layout: string) => ({
        layout,
        networks: named.networks.map(({ gatewayModeIpv4: _m, hostIpv4: _h, trustedHostInterfaces: _t, ...n }) => ({ ...n, ...(n.internal ? {} : { masquerade: true }) })),
        ports: named.ports,
        endpoints: [{ network: 'db', ip: '10.51.0.5' }],
      });
      for (const layout of ['v28', 'v29', 'v28']) {
        await host.apply(full(layout));
        expect(await host.doctor(full(layout)), layout).toEqual([]);
        const raw = ns.ok(b.save, ['-t', 'raw']);
        expect(raw).toContain('-A PREROUTING -d 10.51.0.5/32 -i eth9 -j ACCEPT\n-A PREROUTING -d 10.51.0.5/32 -i wg0 -j ACCEPT\n-A PREROUTING -d 10.51.0.5/32 ! -i br-ba9876543210 -j DROP');
        expect(ns.ok(b.save, ['-t', 'filter'])).toContain('-A DOCKER -o br-0123456789ab -p icmp -j ACCEPT');
        await host.apply(plain(layout));
        expect(await host.doctor(plain(layout)), layout).toEqual([]);
        const after = ns.ok(b.save, ['-t', 'raw']) + ns.ok(b.save, ['-t', 'filter']) + ns.ok(b.save, ['-t', 'nat']);
        expect(after).not.toMatch(/ -i (eth9|wg0) | -p icmp |SNAT|! -i br-0000000000cc -o br-0000000000cc -j ACCEPT|--mark/);
      }
    }, 'iptkit-docker'));
});

describe.skipIf(!isRoot).each(BACKENDS)('layout v29 on a live kernel, $backend back end', (b) => {
  const common = (ns: Netns) => ['--backend', b.backend, '--netns', ns.name];

  test('apply → docker state is the same state; doctor finds nothing, with or without the state', () =>
    withNetns(async (ns) => {
      bridges(ns);
      const stateFile = file(`mixed-${b.backend}.json`, mixed);
      const applied = await iptkit('docker', 'apply', ...common(ns), stateFile);
      expect(applied.code, applied.stderr).toBe(0);

      const filter = saveLines(ns.ok(b.save, ['-t', 'filter']));
      expect(chainsOf(filter)).toEqual(expect.arrayContaining(['DOCKER-FORWARD', 'DOCKER-INTERNAL', 'DOCKER-CT', 'DOCKER-BRIDGE', 'DOCKER-USER']));
      expect(chainsOf(filter).filter((c) => c.startsWith('DOCKER-ISOLATION'))).toEqual([]);
      expect(filter).toContain('-A DOCKER-INTERNAL ! -s 10.30.0.0/24 -o br-sealed -j DROP');
      expect(saveLines(ns.ok(b.save, ['-t', 'nat'])).filter((l) => / -j RETURN$/.test(l))).toEqual([]);

      const hints = file(`hints-${b.backend}.json`, names);
      const read = await iptkit('docker', 'state', ...common(ns), '--hints', hints);
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(mixed);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      expect(await host.inferState(names)).toEqual(mixed);

      for (const args of [[], [stateFile]]) {
        const doc = await iptkit('docker', 'doctor', ...common(ns), ...args);
        expect(doc.stdout, doc.stderr).toBe('no problems found\n');
        expect(doc.code).toBe(0);
      }
      expect((await host.plan(mixed)).ipv4?.every((p) => p.unchanged)).toBe(true);
    }, 'iptkit-docker'));

  test('repair of a host Docker 28 left: the isolation chains go and stay gone; a lost DOCKER-INTERNAL comes back', () =>
    withNetns(async (ns) => {
      bridges(ns);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      await host.apply({ ...mixed, layout: 'v28' });
      expect(chainsOf(saveLines(ns.ok(b.save, ['-t', 'filter'])))).toContain('DOCKER-ISOLATION-STAGE-1');

      const stateFile = file(`repair-${b.backend}.json`, mixed);
      const repaired = await iptkit('docker', 'repair', ...common(ns), stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      const healthy = saveLines(ns.ok(b.save, ['-t', 'filter']));
      expect(chainsOf(healthy).filter((c) => c.startsWith('DOCKER-ISOLATION'))).toEqual([]);

      // DOCKER-INTERNAL lost (flushed, its jump removed, deleted): an error on a v29 host.
      ns.ok(b.cmd, ['-F', 'DOCKER-INTERNAL']);
      ns.ok(b.cmd, ['-D', 'DOCKER-FORWARD', '-j', 'DOCKER-INTERNAL']);
      ns.ok(b.cmd, ['-X', 'DOCKER-INTERNAL']);
      const sick = await iptkit('docker', 'doctor', ...common(ns), '--json');
      expect(sick.code).toBe(1);
      const report = JSON.parse(sick.stdout) as { findings: Array<{ severity: string; code: string; chain: string }> };
      expect(report.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.chain])).toEqual([['missing-chain', 'DOCKER-INTERNAL']]);

      const again = await iptkit('docker', 'repair', ...common(ns), stateFile);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(saveLines(ns.ok(b.save, ['-t', 'filter']))).toEqual(healthy);
    }, 'iptkit-docker'));
});

describe.skipIf(!isRoot).each(BACKENDS)('the --ip6tables skeleton of an IPv4-only host, $backend back end', (b) => {
  test('apply writes it, docker state reads it back, doctor finds nothing', () =>
    withNetns(async (ns) => {
      ns.ok('ip', ['link', 'add', 'docker0', 'type', 'bridge']);
      const state = validateState({
        layout: 'v29',
        userlandProxy: true,
        ip6tables: true,
        networks: [{ name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' }],
        ports: [{ network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 }],
      });
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const r = await host.apply(state);
      expect(r.ipv6).toBeDefined();
      const save6 = b.save.replace('iptables', 'ip6tables');
      const filter6 = saveLines(ns.ok(save6, ['-t', 'filter']));
      expect(filter6.filter((l) => l.startsWith('-A'))).toEqual([
        '-A FORWARD -j DOCKER-USER',
        '-A FORWARD -j DOCKER-FORWARD',
        '-A DOCKER-FORWARD -j DOCKER-CT',
        '-A DOCKER-FORWARD -j DOCKER-INTERNAL',
        '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      ]);
      expect(saveLines(ns.ok(save6, ['-t', 'nat'])).filter((l) => l.startsWith('-A'))).toEqual([
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
        '-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER',
      ]);
      expect(await host.inferState()).toEqual(state);
      expect(await host.doctor()).toEqual([]);
      expect(await host.doctor(state)).toEqual([]);
    }, 'iptkit-docker'));

  test('classic: the isolation rules of IPv4-only networks in the IPv6 tables, read back and healthy', () =>
    withNetns(async (ns) => {
      ns.ok('ip', ['link', 'add', 'docker0', 'type', 'bridge']);
      ns.ok('ip', ['link', 'add', 'br-0a1b2c3d4e5f', 'type', 'bridge']);
      const state = validateState({
        layout: 'classic',
        userlandProxy: true,
        ip6tables: true,
        networks: [
          { name: 'web', bridge: 'br-0a1b2c3d4e5f', subnet: '172.30.0.0/16' },
          { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' },
        ],
        ports: [{ network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 }],
      });
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      await host.apply(state);
      const save6 = b.save.replace('iptables', 'ip6tables');
      expect(saveLines(ns.ok(save6, ['-t', 'filter'])).filter((l) => l.startsWith('-A'))).toEqual([
        '-A FORWARD -j DOCKER-USER',
        '-A DOCKER-ISOLATION-STAGE-1 -i br-0a1b2c3d4e5f ! -o br-0a1b2c3d4e5f -j DOCKER-ISOLATION-STAGE-2',
        '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
        '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
        '-A DOCKER-ISOLATION-STAGE-2 -o br-0a1b2c3d4e5f -j DROP',
        '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
        '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
        '-A DOCKER-USER -j RETURN',
      ]);
      expect(await host.inferState({ networks: [{ bridge: 'br-0a1b2c3d4e5f', name: 'web', subnet: '172.30.0.0/16' }] })).toEqual(state);
      expect(await host.doctor()).toEqual([]);
      expect(await host.doctor(state)).toEqual([]);
    }, 'iptkit-docker'));
});

describe.skipIf(!isRoot).each(BACKENDS)('SCTP ports, $backend back end', (b) => {
  const checksum = '-A POSTROUTING -p sctp -m sctp --sport 9999 -j CHECKSUM --checksum-fill';
  const dnat = '-A DOCKER ! -i br-noicc -p sctp -m sctp --dport 9999 -j DNAT --to-destination 10.20.0.5:9999';

  for (const layout of ['classic', 'v28', 'v29'] as const) {
    test(`${layout}: apply, publish and unpublish of SCTP ports`, () =>
      withNetns(async (ns) => {
        const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
        const state = { ...mixed, layout };
        await host.apply(state);
        expect(saveLines(ns.ok(b.save, ['-t', 'nat']))).toContain(dnat);
        const mangle = (): string[] => saveLines(ns.ok(b.save, ['-t', 'mangle'])).filter((l) => l.includes('CHECKSUM'));
        expect(mangle()).toEqual(layout === 'classic' ? [checksum] : []);

        const port = { network: 'br-noicc', proto: 'sctp', hostIp: '0.0.0.0', hostPort: 9998, containerIp: '10.20.0.6', containerPort: 7777 };
        expect((await host.publish([port], { state })).changed).toBe(1);
        expect(saveLines(ns.ok(b.save, ['-t', 'filter']))).toContain(
          '-A DOCKER -d 10.20.0.6/32 ! -i br-noicc -o br-noicc -p sctp -m sctp --dport 7777 -j ACCEPT',
        );
        const more = layout === 'classic' ? [checksum, '-A POSTROUTING -p sctp -m sctp --sport 7777 -j CHECKSUM --checksum-fill'] : [];
        expect(mangle()).toEqual(more);
        expect((await host.unpublish([{ proto: 'sctp', hostPort: 9998 }], { state })).changed).toBe(1);
        expect(mangle()).toEqual(layout === 'classic' ? [checksum] : []);
        expect((await host.plan(state)).ipv4?.every((p) => p.unchanged)).toBe(true);
      }, 'iptkit-docker'));
  }
});
