// The Docker operations on a live kernel (issue 4), both back ends, in throwaway namespaces:
// apply, publish, unpublish and apply again keep every foreign rule (FORWARD, PREROUTING,
// DOCKER-USER) and every unchanged rule's counters; apply of the inferred state changes
// nothing; doctor and repair through the CLI; 10,000 published ports in one commit; publish
// and unpublish step by step leave the host as apply of the state they lead to; every rule the
// model writes reads back from the kernel as the same text; and the real tools as the oracle
// for the seed's nat table.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { dnatPortOf, dnatPortOfArgs } from '../../src/docker/infer.js';
import { parseArgs } from '../../src/docker/args.js';
import { validateState, type DockerPort, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { isBuiltinChain } from '../../src/rules/model.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns } from '../helpers/netns.js';

const seedState = JSON.parse(readFileSync(new URL('../../fixtures/seed-docker-host.json', import.meta.url), 'utf8')) as DockerState;
const seedRules = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker-'));
// A private xtables lock: every namespace here is this file's own, so nothing needs serialising
// against other writers, and a long hold of /run/xtables.lock elsewhere (a benchmark, another
// test run) cannot stall these tests. iptkit and the iptables tools spawned here both read it.
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
// iptkit's run directory (intent records, and the Docker record apply keeps beside the rules):
// this file's own, so the records of its throwaway namespaces go with it.
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');
function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

const BACKENDS = [
  { backend: 'legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore', cmd: 'iptables-legacy' },
  { backend: 'nft', save: 'iptables-nft-save', restore: 'iptables-nft-restore', cmd: 'iptables-nft' },
] as const;

/** The seed's nat rules without counters and comments, as iptables-save prints them. */
function seedNatLines(): string[] {
  return saveLines(seedRules).map((l) => l.replace(/^\[\d+:\d+\] /, '').replace(/ \[\d+:\d+\]$/, ' [0:0]'));
}

function withoutCounters(lines: string[]): string[] {
  return lines.map((l) => l.replace(/ \[\d+:\d+\]$/, ' [0:0]'));
}

/** The foreign rules every test keeps an eye on, with counters. */
const FOREIGN = {
  prerouting: '-s 198.51.100.0/24 -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22',
  forward: '-s 203.0.113.0/24 -j DROP',
  dockerUser: '-s 192.0.2.0/24 -j DROP',
};

/** The seed's nat table (with its counters) plus foreign rules in nat and filter. */
function hostWithForeignRules(): string {
  const nat = seedRules
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l === 'COMMIT' ? `[7:420] -A PREROUTING ${FOREIGN.prerouting}\nCOMMIT` : l))
    .join('\n');
  const filter = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':DOCKER-USER - [0:0]',
    `[3:180] -A FORWARD ${FOREIGN.forward}`,
    `[4:240] -A DOCKER-USER ${FOREIGN.dockerUser}`,
    '[0:0] -A DOCKER-USER -j RETURN',
    'COMMIT',
  ].join('\n');
  return `${nat}\n${filter}\n`;
}

type Counted = Map<string, string>;

/** `table -A CHAIN RULE` → `packets:bytes`, as iptkit saves them (Netfilter.save -c). */
async function counters(host: DockerHost): Promise<Counted> {
  const out: Counted = new Map();
  let table = '';
  for (const l of (await host.netfilter('ipv4').save({ tables: ['nat', 'filter'], counters: true })).split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    const m = /^\[(\d+:\d+)\] (-A .*)$/.exec(l);
    if (m) out.set(`${table} ${m[2]}`, m[1]!);
  }
  return out;
}

function expectForeignKept(c: Counted): void {
  expect(c.get(`nat -A PREROUTING ${FOREIGN.prerouting}`)).toBe('7:420');
  expect(c.get(`filter -A FORWARD ${FOREIGN.forward}`)).toBe('3:180');
  expect(c.get(`filter -A DOCKER-USER ${FOREIGN.dockerUser}`)).toBe('4:240');
}

const newPorts = [
  { network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 9001, containerIp: '172.19.0.20', containerPort: 80 },
  { network: 'app', proto: 'udp', hostIp: '0.0.0.0', hostPort: 9053, containerIp: '172.19.0.20', containerPort: 53 },
];

describe.skipIf(!isRoot).each(BACKENDS)('docker operations, $backend back end', (b) => {
  test('apply of the seed state: the nat table the real tool prints is the seed’s', () =>
    withNetns(async (ns) => {
      const r = await iptkit('docker', 'apply', '--backend', b.backend, '--netns', ns.name, file('seed.json', seedState));
      expect(r.code, r.stderr).toBe(0);
      expect(withoutCounters(saveLines(ns.ok(b.save, ['-t', 'nat'])))).toEqual(seedNatLines());
      if (b.backend === 'legacy') expect(ns.ok('iptables-legacy-save', ['-t', 'nat'])).toContain('-A DOCKER ! -i br-96a729b6b174');
    }, 'iptkit-docker'));

  test('apply, publish, unpublish, apply again: foreign rules and counters survive', () =>
    withNetns(async (ns) => {
      ns.ok(b.restore, ['-c'], hostWithForeignRules());
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const dnat23 = 'nat -A DOCKER ! -i br-96a729b6b174 -p tcp -m tcp --dport 23 -j DNAT --to-destination 172.19.0.2:22';

      const applied = await host.apply(seedState);
      expect(applied.ipv4?.attempts).toBe(1);
      let c = await counters(host);
      expectForeignKept(c);
      expect(c.get(dnat23)).toBe('68:2924');
      // Docker's rules went in at Docker's places: DOCKER-USER first, the foreign rule after Docker's.
      const forward = saveLines(ns.ok(b.save, ['-t', 'filter'])).filter((l) => l.startsWith('-A FORWARD'));
      expect(forward[0]).toBe('-A FORWARD -j DOCKER-USER');
      expect(forward[forward.length - 1]).toBe(`-A FORWARD ${FOREIGN.forward}`);

      const pub = await host.publish(newPorts, { state: seedState });
      expect(pub.changed).toBe(2);
      expect(pub.ipv4?.added).toBe(6); // DNAT, ACCEPT, hairpin MASQUERADE for each
      expect(pub.ipv4?.deleted).toBe(0);
      c = await counters(host);
      expectForeignKept(c);
      expect(c.get(dnat23)).toBe('68:2924');
      expect(c.has('nat -A DOCKER ! -i br-96a729b6b174 -p udp -m udp --dport 9053 -j DNAT --to-destination 172.19.0.20:53')).toBe(true);
      expect(c.has('filter -A DOCKER -d 172.19.0.20/32 ! -i br-96a729b6b174 -o br-96a729b6b174 -p tcp -m tcp --dport 80 -j ACCEPT')).toBe(true);
      // A network of the state whose rules are not on the host is refused.
      const other = { ...seedState, networks: [...seedState.networks, { name: 'new', bridge: 'br-0000000000ff', subnet: '172.31.0.0/16', icc: true, masquerade: true, internal: false }] };
      await expect(host.publish([{ ...newPorts[0]!, network: 'new', containerIp: '172.31.0.2' }], { state: other })).rejects.toThrow(/has no rules on this host/);
      // Publishing again is a no-op.
      const again = await host.publish(newPorts, { state: seedState });
      expect(again).toMatchObject({ changed: 0, unchanged: 2 });

      // Without a state file the network is found by its bridge among the inferred networks.
      const viaBridge = await host.publish([{ ...newPorts[0]!, network: 'br-96a729b6b174', hostPort: 9002 }]);
      expect(viaBridge.changed).toBe(1);

      const unpub = await host.unpublish([{ proto: 'tcp', hostPort: 9001 }, { proto: 'tcp', hostPort: 9002 }]);
      expect(unpub.changed).toBe(2);
      c = await counters(host);
      expectForeignKept(c);
      expect(c.get(dnat23)).toBe('68:2924');
      expect([...c.keys()].some((k) => k.includes('--dport 9001'))).toBe(false);
      // The udp port's ACCEPT stays; the tcp ACCEPT both tcp ports shared is gone.
      expect([...c.keys()].filter((k) => k.includes('172.19.0.20')).length).toBe(3);

      // The inferred state describes the host: applying it plans nothing.
      const inferred = await host.inferState();
      const plans = await host.plan(inferred);
      expect(plans.ipv4?.every((p) => p.unchanged)).toBe(true);
      const same = await host.apply(inferred);
      expect(same.ipv4?.changed).toEqual([]);
      expect(await counters(host)).toEqual(c);

      // The seed state again: the udp port goes; then applying it twice changes nothing.
      const back = await host.apply(seedState);
      expect(back.ipv4?.deleted).toBe(3);
      const before = await counters(host);
      const idem = await host.apply(seedState);
      expect(idem.ipv4?.changed).toEqual([]);
      expect(await counters(host)).toEqual(before);
      expectForeignKept(before);
      expect(before.get(dnat23)).toBe('68:2924');
    }, 'iptkit-docker'));

  test('a rule above the DOCKER-USER jump is moved below it; the rest stays', () =>
    withNetns(async (ns) => {
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      await host.apply(seedState);
      ns.ok(b.cmd, ['-I', 'FORWARD', '-s', '198.18.0.0/15', '-j', 'DROP']);
      const findings = await host.doctor(seedState);
      expect(findings.map((f) => f.code)).toContain('misplaced-jump');
      await host.apply(seedState);
      const forward = saveLines(ns.ok(b.save, ['-t', 'filter'])).filter((l) => l.startsWith('-A FORWARD'));
      expect(forward.slice(0, 2)).toEqual(['-A FORWARD -j DOCKER-USER', '-A FORWARD -s 198.18.0.0/15 -j DROP']);
      expect((await host.plan(seedState)).ipv4?.every((p) => p.unchanged)).toBe(true);
    }, 'iptkit-docker'));

  test('CLI: state, doctor, repair of a deleted DOCKER chain', () =>
    withNetns(async (ns) => {
      for (const n of seedState.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const common = ['--backend', b.backend, '--netns', ns.name];
      const stateFile = file(`seed-${b.backend}.json`, seedState);

      // Before apply the namespace has no table at all: against the state, every chain is
      // missing (not "no problems found"); without a state there is no Docker to judge.
      const bare = await iptkit('docker', 'doctor', ...common, stateFile, '--json');
      expect(bare.code, bare.stderr).toBe(1);
      const missing = (JSON.parse(bare.stdout) as { findings: Array<{ code: string; table: string; chain: string }> }).findings
        .filter((f) => f.code === 'missing-chain')
        .map((f) => `${f.table}/${f.chain}`);
      expect(missing.sort()).toEqual(
        desiredRules(validateState(seedState)).ipv4.ownedChains.map((c) => `${c.table}/${c.chain}`).concat('filter/DOCKER-USER').sort(),
      );
      expect((await iptkit('docker', 'doctor', ...common)).stdout).toBe('no problems found\n');

      expect((await iptkit('docker', 'apply', ...common, stateFile)).code).toBe(0);

      const healthy = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(healthy.stdout).toBe('no problems found\n');
      expect(healthy.code).toBe(0);
      expect((await iptkit('docker', 'doctor', ...common)).code).toBe(0);

      const state = await iptkit('docker', 'state', ...common);
      expect(state.code, state.stderr).toBe(0);
      const inferred = JSON.parse(state.stdout) as DockerState;
      expect(inferred.ports.length).toBe(seedState.ports.length);
      expect(inferred.networks.map((n) => n.bridge)).toEqual(seedState.networks.map((n) => n.bridge));

      // The seed's failure: DOCKER flushed and gone (the jumps to it removed first).
      ns.ok(b.cmd, ['-t', 'nat', '-F', 'DOCKER']);
      ns.ok(b.cmd, ['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
      ns.ok(b.cmd, ['-t', 'nat', '-D', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
      ns.ok(b.cmd, ['-t', 'nat', '-X', 'DOCKER']);
      const sick = await iptkit('docker', 'doctor', ...common, '--json');
      expect(sick.code).toBe(1);
      const report = JSON.parse(sick.stdout) as { summary: string; findings: Array<{ code: string; chain: string }> };
      expect(report.findings).toContainEqual(expect.objectContaining({ code: 'missing-chain', chain: 'DOCKER' }));
      const text = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^error missing-chain \[ipv4 nat DOCKER\]/m);

      const repaired = await iptkit('docker', 'repair', ...common, stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^before: .*missing-chain/m);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      expect(withoutCounters(saveLines(ns.ok(b.save, ['-t', 'nat'])))).toEqual(seedNatLines());
    }, 'iptkit-docker'));

  test('CLI: publish and unpublish with docker run -p syntax', () =>
    withNetns(async (ns) => {
      const common = ['--backend', b.backend, '--netns', ns.name];
      const stateFile = file(`seed-pub-${b.backend}.json`, seedState);
      expect((await iptkit('docker', 'apply', ...common, stateFile)).code).toBe(0);
      const pub = await iptkit('docker', 'publish', ...common, '--state', stateFile, '--network', 'app', '--container-ip', '172.19.0.30', '8443:443', '127.0.0.1:5353:53/udp');
      expect(pub.code, pub.stderr).toBe(0);
      expect(pub.stdout).toMatch(/^published 2 ports/);
      const nat = ns.ok(b.save, ['-t', 'nat']);
      expect(nat).toContain('-A DOCKER ! -i br-96a729b6b174 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 172.19.0.30:443');
      expect(nat).toContain('-A DOCKER -d 127.0.0.1/32 ! -i br-96a729b6b174 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.19.0.30:53');
      const taken = await iptkit('docker', 'publish', ...common, '--network', 'br-96a729b6b174', '--container-ip', '172.19.0.31', '8443:443');
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/overlaps/);
      const unpub = await iptkit('docker', 'unpublish', ...common, '8443', '127.0.0.1:5353/udp');
      expect(unpub.code, unpub.stderr).toBe(0);
      expect(unpub.stdout).toMatch(/^unpublished 2 ports/);
      expect(withoutCounters(saveLines(ns.ok(b.save, ['-t', 'nat'])))).toEqual(seedNatLines());
    }, 'iptkit-docker'));

  test('dual stack: IPv6 rules go to the ip6tables tables, in their own commit', () =>
    withNetns(async (ns) => {
      const state = {
        layout: 'classic',
        userlandProxy: false,
        networks: [{ name: 'ds', bridge: 'br-00000000d5d5', subnet: '172.25.0.0/16', subnet6: 'fd00:25::/64', icc: false, masquerade: true, internal: false }],
        ports: [
          { network: 'ds', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 18080, containerIp: '172.25.0.2', containerPort: 80 },
          { network: 'ds', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00:25::2', containerPort: 80 },
        ],
      };
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const r = await host.apply(state);
      expect(r.ipv4?.attempts).toBe(1);
      expect(r.ipv6?.attempts).toBe(1);
      const save6 = b.backend === 'legacy' ? 'ip6tables-legacy-save' : 'ip6tables-nft-save';
      expect(ns.ok(save6, ['-t', 'nat'])).toContain('-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:25::2]:80');
      const pub = await host.publish([{ network: 'br-00000000d5d5', proto: 'udp', hostIp: '::', hostPort: 5353, containerIp: 'fd00:25::3', containerPort: 53 }]);
      expect(pub.ipv4).toBeUndefined();
      expect(pub.ipv6?.added).toBe(3);
      expect(ns.ok(save6, ['-t', 'nat'])).toContain('-A DOCKER -p udp -m udp --dport 5353 -j DNAT --to-destination [fd00:25::3]:53');
      const inferred = await host.inferState();
      expect(inferred.ports).toHaveLength(3);
      const plans = await host.plan(inferred);
      expect([...(plans.ipv4 ?? []), ...(plans.ipv6 ?? [])].every((p) => p.unchanged)).toBe(true);
      // One request for both families: each commits its own port's rules; a port one family
      // refuses is refused before the other family commits anything.
      const ds = 'br-00000000d5d5';
      const pair = [
        { network: ds, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 7070, containerIp: '172.25.0.7', containerPort: 70 },
        { network: ds, proto: 'tcp', hostIp: '::', hostPort: 7070, containerIp: 'fd00:25::7', containerPort: 70 },
      ];
      const both = await host.publish(pair);
      expect(both).toMatchObject({ changed: 2, unchanged: 0, ipv4: { added: 3, deleted: 0 }, ipv6: { added: 3, deleted: 0 } });
      await expect(host.publish([{ ...pair[0]!, hostPort: 7171 }, { ...pair[1]!, hostPort: 8080 }])).rejects.toThrow(/tcp :::8080 overlaps/);
      expect(ns.ok(b.save, ['-t', 'nat'])).not.toContain('7171');
      const pairGone = await host.unpublish([{ proto: 'tcp', hostPort: 7070 }]);
      expect(pairGone).toMatchObject({ changed: 2, ipv4: { deleted: 3 }, ipv6: { deleted: 3 } });

      const unpub = await host.unpublish([{ proto: 'udp', hostPort: 5353 }]);
      expect(unpub.ipv4).toBeUndefined();
      expect(unpub.ipv6?.deleted).toBe(3);
      const again = await host.apply(state);
      expect(again.ipv4?.changed).toEqual([]);
      expect(again.ipv6?.changed).toEqual([]);
    }, 'iptkit-docker'));

  test('docker apply of 10,000 published ports commits once', () =>
    withNetns(async (ns) => {
      const ports = Array.from({ length: 10_000 }, (_, i) => ({
        network: 'app',
        proto: 'tcp',
        hostIp: '0.0.0.0',
        hostPort: 20_000 + i,
        containerIp: `172.19.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`,
        containerPort: 8080,
      }));
      const state = { ...seedState, ports };
      const r = await iptkit('docker', 'apply', '--json', '--backend', b.backend, '--netns', ns.name, file(`10k-${b.backend}.json`, state));
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as { ipv4: { attempts: number; added: number } };
      expect(result.ipv4.attempts).toBe(1);
      const nat = ns.ok(b.save, ['-t', 'nat']);
      expect(nat.split('\n').filter((l) => l.includes('-j DNAT')).length).toBe(10_000);
      // And once more: nothing to change.
      const again = await iptkit('docker', 'apply', '--json', '--backend', b.backend, '--netns', ns.name, file(`10k-${b.backend}.json`, state));
      expect((JSON.parse(again.stdout) as { ipv4: { changed: string[] } }).ipv4.changed).toEqual([]);
    }, 'iptkit-docker'), 180_000);
});

// publish and unpublish plan only the changed ports' rules (src/docker/ports.ts): step by step,
// the host they leave (rules, order and counters) is the one apply of the state they lead to
// leaves, applied the same way to a twin host; and their results and errors are the expected.
type Step =
  | { op: 'publish' | 'unpublish'; ports: unknown[]; state?: true; result: { changed: number; unchanged: number }; ports_after: (p: DockerPort[]) => DockerPort[] }
  | { op: 'publish' | 'unpublish'; ports: unknown[]; state?: true; error: RegExp };

describe.skipIf(!isRoot).each(BACKENDS)('docker publish/unpublish = apply of the state they lead to, $backend back end', (b) => {
  test('rules, order, counters, results and errors, step by step', () =>
    withNetns((opsNs) =>
      withNetns(async (applyNs) => {
        for (const ns of [opsNs, applyNs]) ns.ok(b.restore, ['-c'], hostWithForeignRules());
        const ops = await DockerHost.open({ backend: b.backend, netns: opsNs.name });
        const twin = await DockerHost.open({ backend: b.backend, netns: applyNs.name });
        await ops.apply(seedState);
        await twin.apply(seedState);
        const app = 'br-96a729b6b174';
        const p = (hostPort: number | string, containerIp: string, containerPort: number | string, extra: Partial<DockerPort> = {}): DockerPort =>
          ({ network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort, containerIp, containerPort, ...extra }) as DockerPort;
        const onBridge = (x: DockerPort): DockerPort => ({ ...x, network: app });
        const without = (pred: (x: DockerPort) => boolean) => (ports: DockerPort[]) => ports.filter((x) => !pred(x));
        const add = (...xs: DockerPort[]) => (ports: DockerPort[]) => [...ports, ...xs];
        const pub = newPorts as DockerPort[];
        const steps: Step[] = [
          { op: 'publish', ports: pub.map(onBridge), result: { changed: 2, unchanged: 0 }, ports_after: add(...pub) },
          { op: 'publish', ports: pub.map(onBridge), result: { changed: 0, unchanged: 2 }, ports_after: (x) => x },
          { op: 'publish', ports: [onBridge(p(9002, '172.19.0.20', 80))], result: { changed: 1, unchanged: 0 }, ports_after: add(p(9002, '172.19.0.20', 80)) },
          // Without a state file the networks are named as the applied state named them (the
          // record beside the rules), and by their bridges; with it, as it names them.
          { op: 'publish', ports: [p(9003, '172.19.0.21', 80)], result: { changed: 1, unchanged: 0 }, ports_after: add(p(9003, '172.19.0.21', 80)) },
          { op: 'publish', ports: [p(9003, '172.19.0.21', 80)], state: true, result: { changed: 0, unchanged: 1 }, ports_after: (x) => x },
          { op: 'publish', ports: [p(9002, '172.18.0.9', 80, { network: 'docker0' })], error: /tcp 0\.0\.0\.0:9002 overlaps/ },
          {
            op: 'publish',
            ports: [p(5353, '172.18.0.9', 53, { network: 'bridge', proto: 'udp', hostIp: '127.0.0.1' })],
            result: { changed: 1, unchanged: 0 },
            ports_after: add(p(5353, '172.18.0.9', 53, { network: 'bridge', proto: 'udp', hostIp: '127.0.0.1' })),
          },
          { op: 'publish', ports: [p(9100, '172.19.0.2', 1, { network: 'br-000000000000' })], error: /is not a network of this host/ },
          { op: 'publish', ports: [onBridge(p('9200-9202', '172.19.0.40', '80-82'))], result: { changed: 3, unchanged: 0 }, ports_after: add(p('9200-9202', '172.19.0.40', '80-82')) },
          { op: 'publish', ports: [onBridge(p(9300, '10.0.0.1', 80))], error: /ports\[0\]\.containerIp: "10\.0\.0\.1" is outside network/ },
          // 9002 shares 9001's ACCEPT and hairpin MASQUERADE: they stay, then go with 9001.
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9002, network: app }], result: { changed: 1, unchanged: 0 }, ports_after: without((x) => x.hostPort === 9002) },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9002 }], result: { changed: 0, unchanged: 1 }, ports_after: (x) => x },
          {
            op: 'unpublish',
            ports: [{ proto: 'tcp', hostPort: '9200-9201' }],
            result: { changed: 2, unchanged: 0 },
            ports_after: (x) => [...without((y) => y.hostPort === '9200-9202')(x), p(9202, '172.19.0.40', 82)],
          },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9001 }], result: { changed: 1, unchanged: 0 }, ports_after: without((x) => x.hostPort === 9001) },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9003, network: 'nope' }], error: /ports\[0\]\.network: "nope" is not a network of this host/ },
          { op: 'unpublish', ports: [{ proto: 'udp', hostPort: 5353, hostIp: '127.0.0.1' }], result: { changed: 1, unchanged: 0 }, ports_after: without((x) => x.hostPort === 5353) },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 'x' }], error: /ports\[0\]\.hostPort: "x" is not a port/ },
          // Every tcp port: the seed's 13, 9003 and 9202.
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: '1-65535' }], result: { changed: 15, unchanged: 0 }, ports_after: without((x) => x.proto === 'tcp') },
        ];
        let ports = [...seedState.ports] as DockerPort[];
        for (const [i, s] of steps.entries()) {
          const options = s.state ? { state: seedState } : {};
          const run = s.op === 'publish' ? ops.publish(s.ports, options) : ops.unpublish(s.ports, options);
          if ('error' in s) {
            await expect(run, `step ${i}`).rejects.toThrow(s.error);
          } else {
            const r = await run;
            expect({ changed: r.changed, unchanged: r.unchanged }, `step ${i}`).toEqual(s.result);
            expect(r.ipv6, `step ${i}`).toBeUndefined();
            if (s.result.changed > 0) expect(r.ipv4?.attempts, `step ${i}`).toBe(1);
            ports = s.ports_after(ports);
            await twin.apply({ ...seedState, ports });
          }
          for (const table of ['nat', 'filter', 'mangle', 'raw']) {
            expect(saveLines(opsNs.ok(b.save, ['-c', '-t', table])), `step ${i} ${table}`).toEqual(saveLines(applyNs.ok(b.save, ['-c', '-t', table])));
          }
        }
        expectForeignKept(await counters(ops));
        const plans = await ops.plan({ ...seedState, ports });
        expect(plans.ipv4?.every((x) => x.unchanged)).toBe(true);
      }, 'iptkit-docker'),
    'iptkit-docker'));

  test('layout v28 in hairpin mode: ACCEPTs at the top, raw DROPs per container', () =>
    withNetns((opsNs) =>
      withNetns(async (applyNs) => {
        const v28 = { ...seedState, layout: 'v28', userlandProxy: false } as DockerState;
        const ops = await DockerHost.open({ backend: b.backend, netns: opsNs.name });
        const twin = await DockerHost.open({ backend: b.backend, netns: applyNs.name });
        await ops.apply(v28);
        await twin.apply(v28);
        const app = 'br-96a729b6b174';
        const p = (hostPort: number, containerIp: string, containerPort: number, hostIp = '0.0.0.0'): DockerPort =>
          ({ network: 'app', proto: 'tcp', hostIp, hostPort, containerIp, containerPort }) as DockerPort;
        let ports = [...v28.ports] as DockerPort[];
        const steps: Array<{ op: 'publish' | 'unpublish'; ports: unknown[]; after: (x: DockerPort[]) => DockerPort[] }> = [
          // A loopback port of a container already there: its DROP goes after that container's.
          { op: 'publish', ports: [{ ...p(5432, '172.19.0.4', 5432, '127.0.0.1'), network: app }], after: (x) => [...x, p(5432, '172.19.0.4', 5432, '127.0.0.1')] },
          // A new container: its rules go last (raw) and first (filter DOCKER).
          { op: 'publish', ports: [{ ...p(9001, '172.19.0.50', 80), network: app }, { ...p(5433, '172.19.0.50', 5432, '127.0.0.1'), network: app }], after: (x) => [...x, p(9001, '172.19.0.50', 80), p(5433, '172.19.0.50', 5432, '127.0.0.1')] },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 5432 }], after: (x) => x.filter((y) => y.hostPort !== 5432) },
          { op: 'unpublish', ports: [{ proto: 'tcp', hostPort: 9001 }, { proto: 'tcp', hostPort: 5433 }], after: (x) => x.filter((y) => y.hostPort !== 9001 && y.hostPort !== 5433) },
        ];
        for (const [i, s] of steps.entries()) {
          const r = s.op === 'publish' ? await ops.publish(s.ports) : await ops.unpublish(s.ports);
          expect(r.changed, `step ${i}`).toBe(s.ports.length);
          ports = s.after(ports);
          await twin.apply({ ...v28, ports });
          for (const table of ['nat', 'filter', 'raw']) {
            expect(saveLines(opsNs.ok(b.save, ['-c', '-t', table])), `step ${i} ${table}`).toEqual(saveLines(applyNs.ok(b.save, ['-c', '-t', table])));
          }
        }
      }, 'iptkit-docker'),
    'iptkit-docker'));

  test('the DNATs read from the kernel: their text read fast is what parseArgs reads', () =>
    withNetns(async (ns) => {
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const ports = [
        ...seedState.ports,
        { network: 'app', proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '172.19.0.30', containerPort: 53 },
        { network: 'app', proto: 'tcp', hostIp: '10.1.2.3', hostPort: 65535, containerIp: '172.19.255.254', containerPort: 1 },
      ];
      for (const userlandProxy of [true, false]) {
        await host.apply({ ...seedState, userlandProxy, ports });
        const [nat] = await host.netfilter('ipv4').read(['nat']);
        const rules = nat!.chains.find((c) => c.name === 'DOCKER')!.rules;
        let read = 0;
        for (const r of rules) {
          const fast = dnatPortOf(r, 'ipv4');
          expect(fast, r).toEqual(dnatPortOfArgs(parseArgs(r), 'ipv4'));
          if (fast) read++;
        }
        expect(read).toBe(ports.length);
      }
    }, 'iptkit-docker'));
});

describe.skipIf(!isRoot).each(BACKENDS)('Docker rules read back from the kernel as their text, $backend back end', (b) => {
  test('every rule the model writes is in its chain as written, every layout (SCTP too) and both families', () =>
    withNetns(async (ns) => {
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const base = {
        networks: [
          { name: 'ds', bridge: 'br-00000000d5d5', subnet: '172.25.0.0/16', subnet6: 'fd00:25::/64', icc: false, masquerade: true, internal: false },
          { name: 'int', bridge: 'br-internal01', subnet: '10.10.0.0/24', subnet6: 'fd00:10::/64', icc: true, masquerade: true, internal: true },
          ...seedState.networks,
        ],
        ports: [
          ...seedState.ports,
          { network: 'ds', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 18080, containerIp: '172.25.0.2', containerPort: 80 },
          { network: 'ds', proto: 'udp', hostIp: '127.0.0.1', hostPort: '5353-5354', containerIp: '172.25.0.3', containerPort: '53-54' },
          { network: 'ds', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00:25::2', containerPort: 80 },
          { network: 'ds', proto: 'udp', hostIp: 'fd00:99::1', hostPort: 5353, containerIp: 'fd00:25::3', containerPort: 53 },
          { network: 'ds', proto: 'sctp', hostIp: '0.0.0.0', hostPort: 9999, containerIp: '172.25.0.4', containerPort: 9999 },
        ],
        endpoints: [{ network: 'int', ip: '10.10.0.5' }],
      };
      for (const layout of ['classic', 'v28', 'v29', 'v28.0', 'v28.1', 'v28', 'classic']) {
        for (const userlandProxy of [true, false]) {
          const state = validateState({ ...base, layout, userlandProxy });
          await host.apply(state);
          const rs = desiredRules(state);
          let seen = 0;
          for (const family of ['ipv4', 'ipv6'] as const) {
            const tables = await host.netfilter(family).read(['raw', 'mangle', 'nat', 'filter']);
            const chain = (table: string, name: string): string[] => tables.find((t) => t.name === table)?.chains.find((c) => c.name === name)?.rules ?? [];
            for (const c of rs[family].ownedChains) {
              expect(chain(c.table, c.chain), `${family} ${c.table} ${c.chain}`).toEqual(c.rules);
              seen += c.rules.length;
            }
            for (const g of rs[family].builtinRules) {
              for (const rule of g.rules) expect(chain(g.table, g.chain), `${family} ${g.table} ${g.chain}`).toContain(rule);
              seen += g.rules.length;
              expect(isBuiltinChain(g.table, g.chain)).toBe(true);
            }
          }
          expect(seen).toBeGreaterThan(2 * seedState.ports.length);
          const plans = await host.plan(state);
          expect([...(plans.ipv4 ?? []), ...(plans.ipv6 ?? [])].every((x) => x.unchanged), `${layout} ${userlandProxy}`).toBe(true);
        }
      }
    }, 'iptkit-docker'));
});
