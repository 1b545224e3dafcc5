// Real packets through Docker's DNAT, on both back ends: a "host" namespace with a bridge
// named like Docker's and forwarding on (in that namespace only), a "container" namespace on
// the bridge running a TCP server, and a "client" namespace on its own link to the host.
// The client reaches the server through the host's published port after apply; not after
// unpublish; not after the seed's failure (nat DOCKER flushed and deleted), which doctor
// reports; and again after repair, with the foreign rules still in place.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { iptkit } from '../helpers/cli.js';
import { isRoot, Netns, saveLines } from '../helpers/netns.js';
import { connect, serve } from '../helpers/tcp.js';

const BRIDGE = 'br-0123456789ab';
const SUBNET = '172.30.0.0/16';
const GATEWAY = '172.30.0.1';
const CONTAINER_IP = '172.30.0.2';
const HOST_LINK = '10.99.0.1';
const CLIENT_IP = '10.99.0.2';
const HOST_PORT = 18080;
const CONTAINER_PORT = 8080;
const REPLY = 'hello from the container';

const state = {
  layout: 'classic',
  userlandProxy: true,
  networks: [{ name: 'app', bridge: BRIDGE, subnet: SUBNET, icc: true, masquerade: true, internal: false }],
  ports: [{ network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: HOST_PORT, containerIp: CONTAINER_IP, containerPort: CONTAINER_PORT }],
};

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-e2e-'));
// A private xtables lock: every namespace here is this file's own, so nothing needs serialising
// against other writers, and a long hold of /run/xtables.lock elsewhere (a benchmark, another
// test run) cannot stall these tests. iptkit and the iptables tools spawned here both read it.
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
const stateFile = join(tmp, 'state.json');
writeFileSync(stateFile, JSON.stringify(state));

const BACKENDS = [
  { backend: 'legacy', cmd: 'iptables-legacy', save: 'iptables-legacy-save' },
  { backend: 'nft', cmd: 'iptables-nft', save: 'iptables-nft-save' },
] as const;

const FOREIGN = {
  nat: '-A PREROUTING -s 198.51.100.0/24 -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22',
  forward: '-A FORWARD -s 192.0.2.0/24 -j DROP',
  dockerUser: '-A DOCKER-USER -s 203.0.113.0/24 -j DROP',
};

interface Topology {
  host: Netns;
  container: Netns;
  client: Netns;
  server: ChildProcess;
}

function ip(ns: Netns, ...args: string[]): void {
  ns.ok('ip', args);
}

async function build(): Promise<Topology> {
  const host = new Netns('iptkit-e2e-host');
  const container = new Netns('iptkit-e2e-ctr');
  const client = new Netns('iptkit-e2e-cli');
  ip(host, 'link', 'set', 'lo', 'up');
  ip(container, 'link', 'set', 'lo', 'up');
  ip(client, 'link', 'set', 'lo', 'up');
  // The bridge and the container's veth.
  ip(host, 'link', 'add', BRIDGE, 'type', 'bridge');
  ip(host, 'addr', 'add', `${GATEWAY}/16`, 'dev', BRIDGE);
  ip(host, 'link', 'set', BRIDGE, 'up');
  ip(host, 'link', 'add', 'vethc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', container.name);
  ip(host, 'link', 'set', 'vethc', 'master', BRIDGE);
  ip(host, 'link', 'set', 'vethc', 'up');
  ip(container, 'addr', 'add', `${CONTAINER_IP}/16`, 'dev', 'eth0');
  ip(container, 'link', 'set', 'eth0', 'up');
  ip(container, 'route', 'add', 'default', 'via', GATEWAY);
  // The client's own link.
  ip(host, 'link', 'add', 'vethx', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name);
  ip(host, 'addr', 'add', `${HOST_LINK}/30`, 'dev', 'vethx');
  ip(host, 'link', 'set', 'vethx', 'up');
  ip(client, 'addr', 'add', `${CLIENT_IP}/30`, 'dev', 'eth0');
  ip(client, 'link', 'set', 'eth0', 'up');
  ip(client, 'route', 'add', 'default', 'via', HOST_LINK);
  // Forwarding in the host namespace only.
  host.ok('sysctl', ['-w', 'net.ipv4.ip_forward=1']);

  const server = serve(container, CONTAINER_PORT, REPLY);
  await server.listening;
  return { host, container, client, server: server.process };
}

function teardown(t: Topology | undefined): void {
  if (!t) return;
  t.server.kill();
  t.client.delete();
  t.container.delete();
  t.host.delete();
}

/** The client's connection to the published port: the server's reply, or why not. */
function reach(t: Topology): Promise<string> {
  return connect(t.client, HOST_LINK, HOST_PORT);
}

describe.skipIf(!isRoot).each(BACKENDS)('e2e: packets through Docker’s DNAT, $backend back end', (b) => {
  let topology: Topology | undefined;
  afterAll(() => teardown(topology));

  test('apply, unpublish, break, doctor, repair', async () => {
    try {
      topology = await build();
      const t = topology;
      const common = ['--backend', b.backend, '--netns', t.host.name];
      const run = (...args: string[]): string => t.host.ok(b.cmd, args);
      // Docker sets FORWARD's policy to DROP when it turns forwarding on; foreign rules first.
      run('-P', 'FORWARD', 'DROP');
      run('-t', 'nat', ...FOREIGN.nat.split(' '));
      run(...FOREIGN.forward.split(' '));
      run('-N', 'DOCKER-USER');
      run(...FOREIGN.dockerUser.split(' '));
      const foreignKept = (): void => {
        const lines = [...saveLines(t.host.ok(b.save, ['-t', 'nat'])), ...saveLines(t.host.ok(b.save, ['-t', 'filter']))];
        for (const rule of Object.values(FOREIGN)) expect(lines).toContain(rule);
      };

      expect(await reach(t)).toMatch(/^no connection/);

      const applied = await iptkit('docker', 'apply', ...common, stateFile);
      expect(applied.code, applied.stderr).toBe(0);
      expect(await reach(t)).toBe(REPLY);
      const healthy = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(healthy.stdout).toBe('no problems found\n');
      expect(healthy.code).toBe(0);
      foreignKept();

      const unpub = await iptkit('docker', 'unpublish', ...common, String(HOST_PORT));
      expect(unpub.code, unpub.stderr).toBe(0);
      expect(await reach(t)).toMatch(/^no connection/);

      const pub = await iptkit('docker', 'publish', ...common, '--network', BRIDGE, '--container-ip', CONTAINER_IP, `${HOST_PORT}:${CONTAINER_PORT}`);
      expect(pub.code, pub.stderr).toBe(0);
      expect(await reach(t)).toBe(REPLY);

      // The seed's failure: DOCKER flushed and deleted, after the jumps to it.
      run('-t', 'nat', '-F', 'DOCKER');
      run('-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER');
      run('-t', 'nat', '-D', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER');
      run('-t', 'nat', '-X', 'DOCKER');
      const sick = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(sick.code).toBe(1);
      expect(sick.stdout).toMatch(/^error missing-chain \[ipv4 nat DOCKER\]/m);
      expect(await reach(t)).toMatch(/^no connection/);

      const repaired = await iptkit('docker', 'repair', ...common, stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(await reach(t)).toBe(REPLY);
      foreignKept();
    } finally {
      teardown(topology);
      topology = undefined;
    }
  });
});
