// inferState: rules → state → rules gives back the same rules, and the state the rules
// determine equals the one they were made from.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { savesOf } from '../helpers/docker-saves.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { expandPorts, toSaveText } from '../../src/docker/ruleset.js';
import { dnatPortOf, dnatPortOfArgs, inferState, inferTables } from '../../src/docker/infer.js';
import { parseArgs } from '../../src/docker/args.js';
import { readSaves } from '../../src/docker/saves.js';

const root = new URL('../../', import.meta.url);
const seedJson = JSON.parse(readFileSync(new URL('fixtures/seed-docker-host.json', root), 'utf8')) as DockerState;
const seedRules = readFileSync(new URL('fixtures/seed-docker-host.rules', root), 'utf8');
const golden = (name: string): DockerState =>
  validateState(JSON.parse(readFileSync(new URL(`test/golden/docker/${name}.json`, root), 'utf8')));

const namesOf = (s: DockerState) => ({ networks: s.networks.map((n) => ({ bridge: n.bridge, name: n.name })) });

describe('inferState', () => {
  it('the seed nat table gives the seed state, names aside', () => {
    const got = inferState([{ family: 'ipv4', tables: { nat: seedRules } }]);
    const withoutNames = (s: DockerState) => ({ ...s, networks: s.networks.map(({ name: _n, ...n }) => n), ports: s.ports.map(({ network: _n, ...p }) => p) });
    expect(withoutNames(got)).toEqual(withoutNames(seedJson));
    // Only docker0 has a name the rules imply.
    expect(got.networks.map((n) => n.name)).toEqual(['br-96a729b6b174', 'bridge', 'br-2752d520c67d', 'br-08d32297f556', 'br-df07ce3e6f03', 'br-6052a0c8ee6f', 'br-3e981750d170']);
  });

  it('with the network names as hints, the seed nat table gives exactly the seed JSON', () => {
    expect(inferState([{ family: 'ipv4', tables: { nat: seedRules } }], namesOf(seedJson))).toEqual(seedJson);
  });

  it('seed rules → state → rules are the seed rules', () => {
    const again = toSaveText(desiredRules(inferState([{ family: 'ipv4', tables: { nat: seedRules } }])).ipv4).nat!;
    const rulesOnly = (t: string) => t.split('\n').filter((l) => /-A /.test(l)).map((l) => l.replace(/^\[\d+:\d+\] /, ''));
    expect(rulesOnly(again)).toEqual(rulesOnly(seedRules));
  });

  for (const name of ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin', 'v29-mixed', 'v29-hairpin']) {
    it(`${name}: rules → state → the same rules, both families`, () => {
      const state = golden(name);
      const inferred = inferState(savesOf(state), namesOf(state));
      expect(desiredRules(inferred)).toEqual(desiredRules(state));
      // The inferred state is itself valid.
      expect(validateState(JSON.parse(JSON.stringify(inferred)))).toEqual(inferred);
    });
  }

  it('classic-mixed: the inferred state is the original, ports grouped by family', () => {
    const state = golden('classic-mixed');
    const inferred = inferState(savesOf(state), namesOf(state));
    const v4first = [...state.ports.filter((p) => !p.containerIp.includes(':')), ...state.ports.filter((p) => p.containerIp.includes(':'))];
    // Whether an internal network would masquerade leaves no trace: Docker's default, true.
    const networks = state.networks.map((n) => (n.internal ? { ...n, masquerade: true } : n));
    expect(inferred).toEqual({ ...state, networks, ports: v4first });
  });

  it('v28: raw DROPs of containers without a published port come back as endpoints', () => {
    const state = golden('v28-mixed');
    const inferred = inferState(savesOf(state), namesOf(state));
    expect(inferred.endpoints?.slice(0, 2)).toEqual([
      { network: 'web', ip: '172.30.0.9' },
      { network: 'web', ip: '172.30.0.2' },
    ]);
    const plain = { ...state };
    delete plain.endpoints;
    expect(inferState(savesOf(plain), namesOf(plain)).endpoints).toBeUndefined();
  });

  it('a port range published as consecutive rules becomes one range', () => {
    const state = validateState({
      layout: 'classic',
      networks: [{ name: 'n', bridge: 'br-aaaaaaaaaaaa', subnet: '10.1.0.0/16' }],
      ports: [{ network: 'n', proto: 'tcp', hostIp: '0.0.0.0', hostPort: '10000-10099', containerIp: '10.1.0.2', containerPort: '20000-20099' }],
    });
    expect(inferState(savesOf(state), namesOf(state)).ports).toEqual(state.ports);
  });

  it('layout v28 is recognised by DOCKER-FORWARD, userland proxy off by the OUTPUT jump', () => {
    const state = golden('v28-hairpin');
    const got = inferState(savesOf(state));
    expect(got.layout).toBe('v28');
    expect(got.userlandProxy).toBe(false);
  });

  for (const name of ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v29-mixed']) {
    it(`${name} with ip6tables on: rules → state → the same rules, ip6tables read back`, () => {
      const state = { ...golden(name), ip6tables: true };
      const inferred = inferState(savesOf(state), namesOf(state));
      // With an IPv6 network, v28 and v29 write the same rules with ip6tables on or unsaid;
      // classic's IPv6 isolation rules for IPv4-only networks show it.
      expect(inferred.ip6tables).toBe(name.startsWith('classic') ? true : undefined);
      expect(desiredRules(inferred)).toEqual(desiredRules(state));
      // Only IPv4 networks: the IPv6 tables hold the skeleton (and classic's isolation rules).
      const v4only = { ...state, networks: state.networks.map(({ subnet6: _s, ...n }) => n), ports: state.ports.filter((p) => !p.containerIp.includes(':')) };
      const back = inferState(savesOf(v4only), namesOf(v4only));
      expect(back.ip6tables).toBe(true);
      expect(back.networks.every((n) => n.subnet6 === undefined)).toBe(true);
      expect(desiredRules(back)).toEqual(desiredRules(v4only));
    });
  }

  it('layout v29 is recognised by DOCKER-INTERNAL, an internal network by its DROPs there', () => {
    const state = golden('v29-mixed');
    const got = inferState(savesOf(state));
    expect(got.layout).toBe('v29');
    const internal = got.networks.filter((n) => n.internal);
    expect(internal.map((n) => [n.bridge, n.subnet])).toEqual([
      ['br-internal01', '10.10.0.0/24'],
      ['br-sealed', '10.30.0.0/24'],
    ]);
  });

  it('the generation of a host: by its chains, and by the jumps left when a chain is gone', () => {
    const layoutOf = (lines: string[]) => inferState([{ family: 'ipv4', tables: { filter: `*filter\n${lines.join('\n')}\nCOMMIT\n` } }]).layout;
    expect(layoutOf([':DOCKER-FORWARD - [0:0]', ':DOCKER-INTERNAL - [0:0]'])).toBe('v29');
    expect(layoutOf([':DOCKER-FORWARD - [0:0]', '-A DOCKER-FORWARD -j DOCKER-INTERNAL'])).toBe('v29');
    expect(layoutOf([':DOCKER-FORWARD - [0:0]', ':DOCKER-ISOLATION-STAGE-1 - [0:0]'])).toBe('v28');
    expect(layoutOf([':DOCKER-FORWARD - [0:0]', '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1'])).toBe('v28');
    expect(layoutOf([':DOCKER - [0:0]', ':DOCKER-ISOLATION-STAGE-1 - [0:0]'])).toBe('classic');
    expect(layoutOf(['-A FORWARD -j DOCKER-ISOLATION-STAGE-1'])).toBe('classic');
    // No Docker chain at all: the current generation.
    expect(layoutOf([':FORWARD ACCEPT [0:0]'])).toBe('v29');
  });

  it('a DNAT read by its text is read as parseArgs reads it, Docker’s forms and others', () => {
    const texts: string[] = [];
    for (const name of ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin', 'v29-mixed', 'v29-hairpin']) {
      for (const userlandProxy of [true, false]) {
        const rs = desiredRules({ ...golden(name), userlandProxy });
        for (const f of ['ipv4', 'ipv6'] as const) for (const c of rs[f].ownedChains) if (c.table === 'nat') texts.push(...c.rules);
      }
    }
    texts.push(
      '-d 10.0.0.0/8 ! -i br-x -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.2:80',
      '-i eth0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.2:80',
      '! -i br-x -p tcp -m tcp --dport 80:90 -j DNAT --to-destination 10.1.0.2:80-90',
      '-p tcp -m tcp --dport 80 -m comment --comment "x y" -j DNAT --to-destination 10.1.0.2',
      '-i br-x -j RETURN',
    );
    let ports = 0;
    for (const t of texts) {
      const family = t.includes('[') || t.includes('fe80') ? 'ipv6' : 'ipv4';
      const p = dnatPortOf(t, family);
      expect(p, t).toEqual(dnatPortOfArgs(parseArgs(t), family));
      if (p) ports++;
    }
    expect(ports).toBeGreaterThan(20);
  });

  it('inferTables without endpoints or ports: the same networks, and every binding', () => {
    for (const name of ['classic-mixed', 'v28-mixed', 'v29-mixed']) {
      const state = golden(name);
      const full = inferState(savesOf(state), namesOf(state));
      const lean = inferTables(readSaves(savesOf(state)), namesOf(state), { endpoints: false, ports: false });
      expect(lean.state.networks).toEqual(full.networks);
      expect(lean.state.ports).toEqual([]);
      expect(lean.state.endpoints).toBeUndefined();
      const bindings = lean.bindings.map(({ network, proto, hostIp, hostPort, containerIp, containerPort, family }) => ({ network, proto, hostIp, hostPort, containerIp, containerPort, family }));
      const expected = (['ipv4', 'ipv6'] as const).flatMap((f) => expandPorts(full.ports, f));
      expect(bindings).toEqual(expected);
    }
  });
});
