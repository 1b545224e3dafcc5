// The record beside the rules (record.ts): a state applied and read back gives the state itself
// — names, subnets without a NAT rule, gateway modes and SNAT addresses the rules do not show,
// `ip6tables: false` — while the rules win wherever they speak, and a stale or damaged record
// names nothing wrongly.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { inferState } from '../../src/docker/infer.js';
import { mergeHints, readRecord, recordOf, recordPath, writeRecord } from '../../src/docker/record.js';
import { NetfilterError } from '../../src/errors.js';

const root = new URL('../../', import.meta.url);
const json = (path: string): unknown => JSON.parse(readFileSync(new URL(path, root), 'utf8'));

/** The host a state makes, as iptables-save texts of both families. */
function hostOf(state: DockerState) {
  const rs = desiredRules(state);
  return (['ipv4', 'ipv6'] as const).map((family) => ({ family, tables: toSaveText(rs[family]) }));
}

// The golden hosts list ports of both families interleaved and endpoints the raw rules make
// implicit: they read back as the same networks and the same rules (below), not the same text.
const goldens: Array<[string, DockerState]> = ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin', 'v29-mixed', 'v29-hairpin'].map(
  (n): [string, DockerState] => [n, validateState(json(`test/golden/docker/${n}.json`))],
);

const states: Array<[string, DockerState]> = [
  ['the seed host', validateState(json('fixtures/seed-docker-host.json'))],
  ...(['classic', 'v28.0', 'v28.1', 'v28', 'v29'] as const).map((layout): [string, DockerState] => [
    `${layout}: names, routed families, SNAT addresses, a network without NAT, ip6tables off`,
    validateState({
      layout,
      userlandProxy: true,
      ip6tables: false,
      networks: [
        { name: 'web', bridge: 'br-0123456789ab', subnet: '10.30.0.0/16', gatewayModeIpv4: 'routed', hostIpv4: '192.0.2.7' },
        { name: 'db', bridge: 'br-ba9876543210', subnet: '10.31.0.0/16', masquerade: false, hostIpv4: '192.0.2.8' },
        { name: 'internal', bridge: 'br-00000000beef', subnet: '10.32.0.0/16', internal: true, masquerade: false, ...(layout === 'classic' ? {} : { gatewayModeIpv4: 'isolated' }) },
      ],
      ports: [{ network: 'web', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.30.0.2', containerPort: 80 }],
    }),
  ]),
  ...(['v28', 'v29'] as const).map((layout): [string, DockerState] => [
    `${layout}: trusted host interfaces shown by the rules, and kept by the record for a network without containers`,
    validateState({
      layout,
      networks: [
        { name: 'a', bridge: 'br-aaaaaaaaaaaa', subnet: '10.60.0.0/16', trustedHostInterfaces: ['eth1', 'wg0'] },
        { name: 'b', bridge: 'br-bbbbbbbbbbbb', subnet: '10.61.0.0/16', trustedHostInterfaces: ['eth2'] },
      ],
      ports: [{ network: 'a', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '10.60.0.2', containerPort: 80 }],
    }),
  ]),
  [
    'v29: iptables off (an IPv6-only host whose IPv4 tables Docker leaves alone)',
    validateState({
      layout: 'v29',
      iptables: false,
      networks: [{ name: 'six', bridge: 'br-000000000006', subnet: 'fd60::/64' }],
      ports: [{ network: 'six', proto: 'tcp', hostIp: '::', hostPort: 80, containerIp: 'fd60::2', containerPort: 80 }],
    }),
  ],
  [
    'v29: bridge-accept-fwmark, read from DOCKER-FORWARD',
    validateState({
      layout: 'v29',
      acceptFwMark: '0x1/0xff',
      networks: [{ name: 'a', bridge: 'br-aaaaaaaaaaaa', subnet: '10.60.0.0/16', subnet6: 'fd61::/64' }],
      ports: [],
    }),
  ],
  [
    'v28: allow-direct-routing with published ports',
    validateState({
      layout: 'v28',
      allowDirectRouting: true,
      networks: [{ name: 'a', bridge: 'br-aaaaaaaaaaaa', subnet: '10.60.0.0/16' }],
      ports: [{ network: 'a', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '10.60.0.2', containerPort: 80 }],
    }),
  ],
  [
    'v29 dual stack: IPv6 routed with its SNAT address unseen, IPv4 nat-unprotected, hairpin',
    validateState({
      layout: 'v29',
      userlandProxy: false,
      networks: [
        { name: 'ds', bridge: 'br-dual', subnet: '10.40.0.0/24', subnet6: 'fd40::/64', gatewayModeIpv4: 'nat-unprotected', gatewayModeIpv6: 'routed', hostIpv6: 'fd34::1' },
      ],
      ports: [{ network: 'ds', proto: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerIp: '10.40.0.3', containerPort: 53 }],
    }),
  ],
];

describe('a state read back with its record is the state', () => {
  for (const [name, state] of states) {
    it(name, () => {
      expect(inferState(hostOf(state), recordOf(state))).toEqual(state);
    });
  }
  for (const [name, state] of goldens) {
    it(`${name}: the same networks, and the same rules`, () => {
      const got = inferState(hostOf(state), recordOf(state));
      expect(got.networks).toEqual(state.networks);
      expect(desiredRules(got)).toEqual(desiredRules(state));
    });
  }

  it('without the record, the names are the bridges and the unseen options Docker’s defaults', () => {
    const state = states.find(([n]) => n.startsWith('v29: names'))![1];
    const bare = inferState(hostOf(state));
    expect(bare.networks.map((n) => n.name)).toEqual(['br-0123456789ab', 'br-ba9876543210', 'br-00000000beef']);
    expect(bare.networks[2]!.gatewayModeIpv4).toBeUndefined();
    expect(bare.ip6tables).toBeUndefined();
    // The rules show trusted interfaces above a container's DROP, and direct routing by no DROP at all.
    const trusted = states.find(([n]) => n.startsWith('v29: trusted'))![1];
    expect(inferState(hostOf(trusted)).networks.map((n) => n.trustedHostInterfaces)).toEqual([['eth1', 'wg0'], undefined]);
    expect(inferState(hostOf(states.find(([n]) => n.startsWith('v28: allow-direct'))![1])).allowDirectRouting).toBe(true);
    // The rules alone still give the routed mode; no NAT rule shows the SNAT addresses.
    expect(bare.networks[0]!.gatewayModeIpv4).toBe('routed');
    expect(bare.networks.map((n) => n.hostIpv4)).toEqual([undefined, undefined, undefined]);
  });

  it('the rules win where they speak: a record of another network on the same bridge is not used', () => {
    const state = states.find(([n]) => n.startsWith('v28: names'))![1];
    // The internal network's DROPs name its subnet: a record of another subnet is another network's.
    const stale = recordOf({ ...state, networks: state.networks.map((n) => (n.name === 'internal' ? { ...n, name: 'old', subnet: '10.99.0.0/16' } : n)) });
    expect(inferState(hostOf(state), stale).networks.map((n) => n.name)).toEqual(['web', 'db', 'br-00000000beef']);
    // A record that says nat where the rules show routed: routed.
    const wrong = recordOf({ ...state, networks: state.networks.map((n) => ({ ...n, gatewayModeIpv4: undefined })) });
    expect(inferState(hostOf(state), wrong).networks[0]).toMatchObject({ name: 'web', gatewayModeIpv4: 'routed' });
    // A record whose SNAT address a NAT rule contradicts: the rule's.
    const snat = validateState({ ...state, userlandProxy: false });
    const other = recordOf({ ...snat, networks: snat.networks.map((n) => ({ ...n, hostIpv4: '203.0.113.1' })) });
    // (the internal network has no NAT rule: its address is the record's)
    expect(inferState(hostOf(snat), other).networks.map((n) => n.hostIpv4)).toEqual(['192.0.2.7', '192.0.2.8', '203.0.113.1']);
  });

  it('classic: a family without its subnet NAT is routed, unless its skip-DNAT RETURN says it is a lost rule', () => {
    const state = validateState({
      layout: 'classic',
      networks: [{ name: 'ds', bridge: 'br-dual', subnet: '10.80.0.0/16', subnet6: 'fd80::/64', gatewayModeIpv4: 'routed' }],
      ports: [],
    });
    expect(inferState(hostOf(state)).networks[0]).toMatchObject({ gatewayModeIpv4: 'routed', masquerade: true });
    // The same network in nat mode with its IPv4 MASQUERADE deleted by hand: the RETURN stays.
    const nat = validateState({ ...state, networks: [{ ...state.networks[0]!, gatewayModeIpv4: undefined }] });
    const host = hostOf(nat).map((h) => ({ ...h, tables: { ...h.tables, nat: h.tables['nat']!.replace('-A POSTROUTING -s 10.80.0.0/16 ! -o br-dual -j MASQUERADE\n', '') } }));
    expect(hostOf(nat)[0]!.tables['nat']).toContain('-A POSTROUTING -s 10.80.0.0/16 ! -o br-dual -j MASQUERADE');
    // (Without its MASQUERADE no rule names the IPv4 subnet: `docker network inspect` does.)
    const read = inferState(host, { networks: [{ bridge: 'br-dual', subnet: '10.80.0.0/16' }] });
    expect(read.networks[0]!.gatewayModeIpv4).toBeUndefined();
    expect(desiredRules(read)).toEqual(desiredRules(nat));
  });

  it('values Docker cannot have are not taken from a record', () => {
    const state = states.find(([n]) => n.startsWith('classic: names'))![1];
    const odd = { networks: [{ bridge: 'br-00000000beef', name: 7, gatewayModeIpv4: 'isolated', masquerade: 'yes', hostIpv4: '::1' }] };
    const got = inferState(hostOf(state), odd).networks[2]!;
    expect(got).toMatchObject({ name: 'br-00000000beef', masquerade: true });
    expect(got.gatewayModeIpv4).toBeUndefined();
    expect(got.hostIpv4).toBeUndefined();
  });
});

describe('the record file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iptkit-record-'));
  process.env['IPTKIT_INTENT_DIR'] = dir;

  it('is keyed by the namespace file, in iptkit’s run directory, and reads back', async () => {
    const path = await recordPath(undefined);
    expect(path).toMatch(new RegExp(`^${dir}/netns-\\d+:\\d+-\\d+\\.docker\\.json$`));
    expect(await readRecord(undefined)).toBeUndefined();
    const state = states[0]![1];
    await writeRecord(undefined, state);
    expect(await readRecord(undefined)).toEqual(recordOf(state));
  });

  it('a damaged or newer record is no record', async () => {
    const path = await recordPath(undefined);
    writeFileSync(path, '{"version": 1, "networks": [');
    expect(await readRecord(undefined)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ version: 2, networks: [] }));
    expect(await readRecord(undefined)).toBeUndefined();
  });

  it('a record that cannot be written or read is a one-line NetfilterError naming it', async () => {
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, '');
    process.env['IPTKIT_INTENT_DIR'] = join(file, 'run');
    try {
      const err = await writeRecord(undefined, states[0]![1]).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(NetfilterError);
      expect(err).toMatchObject({ op: 'record', code: 'ENOTDIR' });
      expect((err as Error).message).toMatch(/^the rules are committed, but iptkit cannot write the Docker record \S+\/not-a-directory\/run\/netns-\S+\.docker\.json: ENOTDIR \(/);
      expect((err as Error).message).not.toContain('\n');
      // Reading through a file is no record to read: ENOTDIR too, named the same way.
      await expect(readRecord(undefined)).rejects.toMatchObject({ op: 'record', code: 'ENOTDIR' });
    } finally {
      process.env['IPTKIT_INTENT_DIR'] = dir;
    }
  });

  it('hints given by the caller win over the record, bridge by bridge', () => {
    const merged = mergeHints({ networks: [{ bridge: 'a', name: 'x' }, { bridge: 'b', name: 'y' }], ip6tables: false }, { networks: [{ bridge: 'a', name: 'z' }] });
    expect(merged).toEqual({ networks: [{ bridge: 'a', name: 'z' }, { bridge: 'b', name: 'y' }], ip6tables: false });
  });
});

// Many states at once: random networks (modes, SNAT addresses, trusted interfaces, internal,
// icc, masquerade, one or two families), ports and daemon options, every layout. A host made
// by a state reads back, with the state's record, as that very state; without it, as a state
// that writes the same rules. A fixed seed: the same states on every run.
describe('random states round-trip', () => {
  let seed = 0x2f6e2b1;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  function randomState(): DockerState {
    const layout = pick(['classic', 'v28', 'v29'] as const);
    const iptabler = layout !== 'classic';
    const networks = Array.from({ length: 1 + rand(4) }, (_, i) => {
      const internal = rand(4) === 0;
      const dual = rand(2) === 0;
      const modes = internal ? (iptabler ? ['nat', 'routed', 'isolated'] : ['nat', 'routed']) : iptabler ? ['nat', 'nat-unprotected', 'routed'] : ['nat', 'routed'];
      return {
        name: `net${i}`,
        bridge: `br-${String(i).repeat(12)}`,
        subnet: `10.${70 + i}.0.0/16`,
        ...(dual ? { subnet6: `fd${70 + i}::/64` } : {}),
        icc: rand(2) === 0,
        masquerade: rand(3) !== 0,
        internal,
        ...(rand(2) ? { gatewayModeIpv4: pick(modes) } : {}),
        ...(rand(2) ? { gatewayModeIpv6: pick(modes) } : {}),
        ...(rand(3) === 0 ? { hostIpv4: `192.0.2.${10 + i}` } : {}),
        ...(rand(3) === 0 ? { hostIpv6: `2001:db8::${10 + i}` } : {}),
        ...(iptabler && rand(3) === 0 ? { trustedHostInterfaces: pick([['eth1'], ['eth1', 'wg0']]) } : {}),
      };
    });
    const ports: unknown[] = [];
    let hostPort = 8000;
    for (const family of ['ipv4', 'ipv6'] as const) {
      networks.forEach((n, i) => {
        if (n.internal || (family === 'ipv6' && n.subnet6 === undefined)) return;
        for (let k = rand(3); k > 0; k--) {
          const c = 2 + rand(200);
          ports.push({
            network: n.name,
            proto: pick(['tcp', 'udp']),
            hostIp: family === 'ipv4' ? pick(['0.0.0.0', '127.0.0.1']) : '::',
            hostPort: hostPort++,
            containerIp: family === 'ipv4' ? `10.${70 + i}.0.${c}` : `fd${70 + i}::${c.toString(16)}`,
            containerPort: 80,
          });
        }
      });
    }
    return validateState({
      layout,
      userlandProxy: rand(2) === 0,
      ...(iptabler && rand(5) === 0 ? { allowDirectRouting: true } : {}),
      ...(layout === 'v29' && rand(4) === 0 ? { acceptFwMark: pick(['0x1', '0x10/0xf0']) } : {}),
      ...(rand(4) === 0 ? { ip6tables: true } : {}),
      ...(rand(3) === 0 ? { ipForwardNoDrop: true } : {}),
      networks,
      ports,
    });
  }
  const samples = Array.from({ length: 300 }, randomState);

  it('300 states: with the record, the state itself; without it, the same rules', () => {
    let withPorts = 0;
    for (const [i, state] of samples.entries()) {
      const host = hostOf(state);
      expect({ i, got: inferState(host, recordOf(state)) }).toEqual({ i, got: state });
      expect({ i, rules: desiredRules(inferState(host, { networks: state.networks.map((n) => ({ bridge: n.bridge, name: n.name, subnet: n.subnet, subnet6: n.subnet6 })) })) }).toEqual({
        i,
        rules: desiredRules(state),
      });
      if (state.ports.length > 0) withPorts++;
    }
    expect(withPorts).toBeGreaterThan(100);
  });
});
