// Real packets through each Docker layout iptkit writes (classic, v28.0, v28.1, v28, v29 on both
// iptables back ends; docker-nft, Docker 29's nftables back end, once):
// a "host" namespace with three bridges named like Docker's — a NAT network with a published
// port, an internal network, and a network with inter-container communication off — containers
// as namespaces on them, and a "world" namespace on the host's own link. Before apply (FORWARD
// policy ACCEPT, no rules) every connection below goes through, so each "blocked" is the rules'
// doing; after apply, each layout behaves as Docker's does:
// - the world reaches the published port (DNAT), and a container reaches the world (MASQUERADE);
// - a container on the internal network cannot leave it;
// - with ICC off, two containers of that network cannot talk; with ICC on they can;
// - a container cannot reach another network's container (isolation);
// - the world reaches a container's address directly only in the classic layout (Docker 28 added
//   the raw PREROUTING DROP of direct access: 28.0.0 to 28.1.x per published port, 28.2 per
//   container).
// v28.0's FORWARD rules match the ipset of the bridges' subnets, which apply fills: replies and
// the published port get through only if the set matches.
// Traffic between two ports of one bridge crosses iptables only with br_netfilter's
// bridge-nf-call-iptables on, which is per namespace: it is turned on in the host namespace.

import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { iptkit } from '../helpers/cli.js';
import { isRoot, Netns } from '../helpers/netns.js';
import { connect, serve } from '../helpers/tcp.js';

const HOST_LINK = '10.99.0.1';
const WORLD_IP = '10.99.0.2';
const PUBLISHED = 18080;
const PORT = 8080;

interface Net {
  name: string;
  bridge: string;
  /** The first three octets of its /24. */
  prefix: string;
  icc: boolean;
  internal: boolean;
}
const NETS: Net[] = [
  { name: 'app', bridge: 'br-a0a0a0a0a0a0', prefix: '172.30.0', icc: true, internal: false },
  { name: 'int', bridge: 'br-b1b1b1b1b1b1', prefix: '172.31.0', icc: true, internal: true },
  { name: 'quiet', bridge: 'br-c2c2c2c2c2c2', prefix: '172.29.0', icc: false, internal: false },
];
const net = (name: string): Net => NETS.find((n) => n.name === name)!;

/** Containers: [name, network, host number]; the ones named in SERVERS listen on PORT. */
const CONTAINERS = [
  ['app1', 'app', 2],
  ['app2', 'app', 3],
  ['int1', 'int', 2],
  ['quiet1', 'quiet', 2],
  ['quiet2', 'quiet', 3],
] as const;
type ContainerName = (typeof CONTAINERS)[number][0];
const SERVERS: readonly ContainerName[] = ['app1', 'quiet1'];
const ipOf = (c: ContainerName): string => {
  const [, network, n] = CONTAINERS.find(([name]) => name === c)!;
  return `${net(network).prefix}.${n}`;
};

function stateOf(layout: string): unknown {
  return {
    layout,
    userlandProxy: true,
    networks: NETS.map((n) => ({ name: n.name, bridge: n.bridge, subnet: `${n.prefix}.0/24`, icc: n.icc, masquerade: true, internal: n.internal })),
    ports: [{ network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: PUBLISHED, containerIp: ipOf('app1'), containerPort: PORT }],
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-e2e-layouts-'));
// This file's own xtables lock and run directory (see docker-dnat.test.ts).
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

class Topology {
  readonly host = new Netns('iptkit-e2e-host');
  readonly world = new Netns('iptkit-e2e-world');
  readonly containers = new Map<ContainerName, Netns>();
  private readonly servers: ChildProcess[] = [];

  async build(): Promise<void> {
    const { host, world } = this;
    for (const ns of [host, world]) ns.ok('ip', ['link', 'set', 'lo', 'up']);
    for (const n of NETS) {
      host.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      host.ok('ip', ['addr', 'add', `${n.prefix}.1/24`, 'dev', n.bridge]);
      host.ok('ip', ['link', 'set', n.bridge, 'up']);
    }
    CONTAINERS.forEach(([name, network, n], i) => {
      const c = new Netns(`iptkit-e2e-${name}`);
      this.containers.set(name, c);
      const veth = `veth${i}`;
      host.ok('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.name]);
      host.ok('ip', ['link', 'set', veth, 'master', net(network).bridge]);
      host.ok('ip', ['link', 'set', veth, 'up']);
      c.ok('ip', ['link', 'set', 'lo', 'up']);
      c.ok('ip', ['addr', 'add', `${net(network).prefix}.${n}/24`, 'dev', 'eth0']);
      c.ok('ip', ['link', 'set', 'eth0', 'up']);
      // Even the internal network's container gets a way out: the rules must be what stops it.
      c.ok('ip', ['route', 'add', 'default', 'via', `${net(network).prefix}.1`]);
    });
    host.ok('ip', ['link', 'add', 'vethw', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', world.name]);
    host.ok('ip', ['addr', 'add', `${HOST_LINK}/30`, 'dev', 'vethw']);
    host.ok('ip', ['link', 'set', 'vethw', 'up']);
    world.ok('ip', ['addr', 'add', `${WORLD_IP}/30`, 'dev', 'eth0']);
    world.ok('ip', ['link', 'set', 'eth0', 'up']);
    world.ok('ip', ['route', 'add', 'default', 'via', HOST_LINK]);
    // Forwarding, and bridged traffic through iptables, in the host namespace only.
    host.ok('sysctl', ['-w', 'net.ipv4.ip_forward=1']);
    host.ok('sysctl', ['-w', 'net.bridge.bridge-nf-call-iptables=1']);

    await Promise.all([
      ...SERVERS.map((s) => this.serve(this.containers.get(s)!, s)),
      this.serve(world, 'world'),
    ]);
  }

  private serve(ns: Netns, name: string): Promise<void> {
    const s = serve(ns, PORT, name);
    this.servers.push(s.process);
    return s.listening;
  }

  /** What `from` gets when it connects to addr:port: the server's name, or why not. */
  connect(from: ContainerName | 'world', addr: string, port = PORT): Promise<string> {
    return connect(from === 'world' ? this.world : this.containers.get(from)!, addr, port);
  }

  /** Every connection the test makes, by what it shows. */
  async paths(): Promise<Record<string, string>> {
    const [published, outbound, internal, iccOn, iccOff, isolation, direct] = await Promise.all([
      this.connect('world', HOST_LINK, PUBLISHED),
      this.connect('app2', WORLD_IP),
      this.connect('int1', WORLD_IP),
      this.connect('app2', ipOf('app1')),
      this.connect('quiet2', ipOf('quiet1')),
      this.connect('app2', ipOf('quiet1')),
      this.connect('world', ipOf('app1')),
    ]);
    return { published, outbound, internal, iccOn, iccOff, isolation, direct };
  }

  destroy(): void {
    for (const p of this.servers) p.kill();
    for (const c of this.containers.values()) c.delete();
    this.world.delete();
    this.host.delete();
  }
}

const BACKENDS = [
  { backend: 'legacy', cmd: 'iptables-legacy' },
  { backend: 'nft', cmd: 'iptables-nft' },
] as const;

const LAYOUTS = [
  { layout: 'classic', direct: 'app1' },
  { layout: 'v28.0', direct: 'blocked' },
  { layout: 'v28.1', direct: 'blocked' },
  { layout: 'v28', direct: 'blocked' },
  { layout: 'v29', direct: 'blocked' },
  // Docker 29's nftables back end: its own docker-bridges tables, whatever iptables' back end.
  { layout: 'docker-nft', direct: 'blocked' },
] as const;

// br_netfilter's sysctls exist once the module is loaded (Docker loads it); without them ICC
// off cannot be enforced by iptables at all, and the test says so instead of passing.
const bridgeNetfilter = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');

describe.skipIf(!isRoot || !bridgeNetfilter).each(BACKENDS)('e2e: packets through each Docker layout, $backend back end', (b) => {
  test.each(b.backend === 'nft' ? LAYOUTS : LAYOUTS.filter((l) => l.layout !== 'docker-nft'))('$layout', async ({ layout, direct }) => {
    const t = new Topology();
    try {
      await t.build();
      // With no rules, everything goes through: what is blocked below is the rules' doing.
      const open = await t.paths();
      expect(open).toEqual({
        published: expect.stringMatching(/^no connection/),
        outbound: 'world',
        internal: 'world',
        iccOn: 'app1',
        iccOff: 'quiet1',
        isolation: 'quiet1',
        direct: 'app1',
      });

      // Docker sets FORWARD's policy to DROP when it turns forwarding on (its iptables back
      // end only: the nftables one leaves it, its per-network chains drop what they must).
      if (layout !== 'docker-nft') t.host.ok(b.cmd, ['-P', 'FORWARD', 'DROP']);
      const file = join(tmp, `state-${layout}.json`);
      writeFileSync(file, JSON.stringify(stateOf(layout)));
      const common = ['--backend', b.backend, '--netns', t.host.name];
      const applied = await iptkit('docker', 'apply', ...common, file);
      expect(applied.code, applied.stderr).toBe(0);
      const doctor = await iptkit('docker', 'doctor', ...common, file);
      expect(doctor.stdout).toBe('no problems found\n');

      const blocked = expect.stringMatching(/^no connection/);
      expect(await t.paths()).toEqual({
        published: 'app1',
        outbound: 'world',
        internal: blocked,
        iccOn: 'app1',
        iccOff: blocked,
        isolation: blocked,
        direct: direct === 'blocked' ? blocked : direct,
      });
    } finally {
      t.destroy();
    }
  });
});
