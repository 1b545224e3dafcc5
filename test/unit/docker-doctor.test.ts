// doctor: one test per finding, each starting from a healthy host (the rules of a golden
// state) and breaking one thing the way it breaks on real hosts.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { savesOf } from '../helpers/docker-saves.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { doctor, summary, type Finding } from '../../src/docker/doctor.js';
import type { FamilySaves } from '../../src/docker/saves.js';
import { readMobyGoldens, tablesOfGolden } from '../helpers/moby.js';

const root = new URL('../../', import.meta.url);
const golden = (name: string): DockerState =>
  validateState(JSON.parse(readFileSync(new URL(`test/golden/docker/${name}.json`, root), 'utf8')));
const seedRules = readFileSync(new URL('fixtures/seed-docker-host.rules', root), 'utf8');
const seedState = validateState(JSON.parse(readFileSync(new URL('fixtures/seed-docker-host.json', root), 'utf8')));

/** Applies `edit` to the lines of one table of one family. */
function edit(saves: FamilySaves[], family: string, table: string, fn: (lines: string[]) => string[]): FamilySaves[] {
  return saves.map((s) =>
    s.family !== family ? s : { ...s, tables: { ...s.tables, [table]: fn(s.tables[table]!.split('\n')).join('\n') } },
  );
}
const without = (re: RegExp) => (lines: string[]) => lines.filter((l) => !re.test(l));
const appendRule = (line: string) => (lines: string[]) => {
  const at = lines.lastIndexOf('COMMIT');
  return [...lines.slice(0, at), line, ...lines.slice(at)];
};
const codes = (f: Finding[]) => f.map((x) => x.code);
const bridgesOf = (s: DockerState) => s.networks.map((n) => n.bridge);

describe('doctor', () => {
  for (const name of ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin', 'v29-mixed', 'v29-hairpin']) {
    it(`a healthy ${name} host has no finding, with or without its state`, () => {
      const state = golden(name);
      expect(doctor(savesOf(state))).toEqual([]);
      expect(doctor(savesOf(state), { state, bridges: bridgesOf(state) })).toEqual([]);
    });
  }

  for (const [file, layout] of [['v28.5.2.txt', 'v28'], ['docker-v29.7.2.txt', 'v29']] as const) {
    it(`a Docker ${layout.slice(1)} host as moby ${file.replace(/\.txt$/, '')}'s goldens show it has no finding, with or without its layout`, () => {
      // TestIptabler's dumps, with the DOCKER-USER chain and jump the daemon adds
      // (TestUserChain): the test itself does not create them. The "cleaned" dumps are the
      // daemon's chains without a network.
      const goldens = readMobyGoldens(file);
      let hosts = 0;
      for (const [name, text] of goldens) {
        const m = /^TestIptabler\/((?:cleaned,hairpin=\w+)|hairpin=\w+,internal=\w+,icc=\w+(?:,masq=\w+,snat=false,gwm=nat,bindlh=\w+)?)__(ip6?tables)$/.exec(name);
        if (!m) continue;
        hosts++;
        const at = text.indexOf('\n-A FORWARD ');
        const withUser = `${text.slice(0, at)}\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER${text.slice(at)}`;
        const saves = [{ family: m[2] === 'iptables' ? ('ipv4' as const) : ('ipv6' as const), tables: tablesOfGolden(withUser) }];
        expect(doctor(saves), name).toEqual([]);
        expect(doctor(saves, { state: validateState({ layout, networks: [], ports: [] }) }).filter((x) => x.severity === 'error'), name).toEqual([]);
      }
      expect(hosts).toBe(44);
    });
  }

  it('a v29 host: DOCKER-INTERNAL missing, or its jump, is an error; no isolation chain is asked for', () => {
    const state = golden('v29-mixed');
    const gone = doctor(edit(savesOf(state), 'ipv4', 'filter', without(/DOCKER-INTERNAL/)));
    expect(gone.filter((x) => x.severity === 'error').map((x) => [x.code, x.chain])).toEqual([['missing-chain', 'DOCKER-INTERNAL']]);
    const noJump = doctor(edit(savesOf(state), 'ipv4', 'filter', without(/^-A DOCKER-FORWARD -j DOCKER-INTERNAL$/)));
    expect(noJump.filter((x) => x.severity === 'error').map((x) => [x.code, x.chain])).toEqual([['missing-jump', 'DOCKER-FORWARD']]);
    expect(doctor(savesOf(state)).some((x) => x.chain.startsWith('DOCKER-ISOLATION'))).toBe(false);
  });

  it("a v29 state on a host that still has Docker 28's isolation chains: they are reported as not the layout's", () => {
    const state = golden('v29-mixed');
    const found = doctor(savesOf({ ...state, layout: 'v28' }), { state });
    expect(found.some((x) => x.chain === 'DOCKER-ISOLATION-STAGE-1' && x.code === 'differs-from-state' && x.message.includes('not part of'))).toBe(true);
  });

  for (const name of ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v29-mixed']) {
    it(`a healthy ${name} host with ip6tables on has no finding, IPv4-only networks too`, () => {
      const state = { ...golden(name), ip6tables: true };
      const v4only = { ...state, networks: state.networks.map(({ subnet6: _s, ...n }) => n), ports: state.ports.filter((p) => !p.containerIp.includes(':')) };
      for (const s of [state, v4only]) {
        expect(doctor(savesOf(s))).toEqual([]);
        expect(doctor(savesOf(s), { state: s, bridges: bridgesOf(s) })).toEqual([]);
      }
    });
  }

  it('the seed host (nat only) is healthy against its state', () => {
    const saves: FamilySaves[] = [{ family: 'ipv4', tables: { nat: seedRules } }];
    expect(doctor(saves, { state: seedState, bridges: bridgesOf(seedState) })).toEqual([]);
    expect(summary(doctor(saves))).toBe('no problems found');
  });

  it("missing-chain: the seed's failure, nat DOCKER flushed and deleted", () => {
    const saves = edit([{ family: 'ipv4', tables: { nat: seedRules } }], 'ipv4', 'nat', without(/DOCKER/));
    const found = doctor(saves, { state: seedState });
    expect(found[0]).toMatchObject({ severity: 'error', code: 'missing-chain', table: 'nat', chain: 'DOCKER' });
    expect(found[0]!.message).toContain('No chain/target/match by that name');
    // Only the one missing chain, not one finding per rule it held.
    expect(codes(found).filter((c) => c === 'missing-chain')).toHaveLength(1);
  });

  it('missing-chain: DOCKER-USER deleted', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'filter', without(/DOCKER-USER/));
    expect(doctor(saves)).toContainEqual(expect.objectContaining({ code: 'missing-chain', chain: 'DOCKER-USER' }));
  });

  it('missing-jump: the PREROUTING jump to DOCKER deleted', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'nat', without(/^-A PREROUTING/));
    expect(doctor(saves)).toEqual([expect.objectContaining({ code: 'missing-jump', table: 'nat', chain: 'PREROUTING' })]);
  });

  it('missing-jump: v28 FORWARD lost its jump to DOCKER-FORWARD', () => {
    const saves = edit(savesOf(golden('v28-mixed')), 'ipv4', 'filter', without(/^-A FORWARD -j DOCKER-FORWARD/));
    expect(codes(doctor(saves))).toEqual(['missing-jump']);
  });

  it('misplaced-jump: a rule above the jump to DOCKER-USER', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'filter', (lines) => {
      const at = lines.findIndex((l) => l.startsWith('-A FORWARD'));
      return [...lines.slice(0, at), '-A FORWARD -i eth0 -j ACCEPT', ...lines.slice(at)];
    });
    expect(doctor(saves)).toEqual([expect.objectContaining({ code: 'misplaced-jump', severity: 'warning' })]);
  });

  it('dnat-without-accept: the filter ACCEPT of a published port deleted', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'filter', without(/^-A DOCKER -d 10\.20\.0\.5/));
    const found = doctor(saves);
    expect(codes(found)).toEqual(['dnat-without-accept']);
    expect(found[0]!.rule).toBe('! -i br-noicc -p sctp -m sctp --dport 9999 -j DNAT --to-destination 10.20.0.5:9999');
  });

  it('accept-without-dnat and hairpin-without-dnat: the DNAT of a published port deleted', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'nat', without(/--to-destination 10\.20\.0\.5/));
    expect(codes(doctor(saves)).sort()).toEqual(['accept-without-dnat', 'hairpin-without-dnat']);
  });

  it('missing-hairpin: classic needs the per-port MASQUERADE, v28 with the proxy does not', () => {
    const classic = edit(savesOf(golden('classic-mixed')), 'ipv4', 'nat', without(/-s 10\.20\.0\.5\/32 -d 10\.20\.0\.5\/32/));
    expect(doctor(classic)).toEqual([expect.objectContaining({ code: 'missing-hairpin', severity: 'warning' })]);
    expect(doctor(savesOf(golden('v28-mixed')))).toEqual([]);
    const hairpin = edit(savesOf(golden('v28-hairpin')), 'ipv4', 'nat', without(/-s 10\.20\.0\.5\/32 -d 10\.20\.0\.5\/32/));
    expect(codes(doctor(hairpin))).toEqual(['missing-hairpin']);
  });

  it('duplicate-rule: a DNAT written twice', () => {
    const saves = edit(
      savesOf(golden('classic-mixed')),
      'ipv4',
      'nat',
      appendRule('-A DOCKER ! -i br-noicc -p sctp -m sctp --dport 9999 -j DNAT --to-destination 10.20.0.5:9999'),
    );
    expect(doctor(saves)).toEqual([expect.objectContaining({ code: 'duplicate-rule', chain: 'DOCKER', table: 'nat' })]);
  });

  it('duplicate-rule: foreign duplicates in built-in chains are not reported', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'filter', (l) => appendRule('-A INPUT -j ACCEPT')(appendRule('-A INPUT -j ACCEPT')(l)));
    expect(doctor(saves)).toEqual([]);
  });

  it('unknown-bridge: rules for a bridge the host does not have', () => {
    const state = golden('classic-mixed');
    const found = doctor(savesOf(state), { bridges: bridgesOf(state).filter((b) => b !== 'br-noicc') });
    expect(new Set(codes(found))).toEqual(new Set(['unknown-bridge']));
    expect(found.every((x) => x.rule?.includes('br-noicc'))).toBe(true);
    expect(found.length).toBeGreaterThan(5);
  });

  it('differs-from-state: a port of the state not on the host, and a host port not in the state', () => {
    const state = golden('classic-mixed');
    const fewer = { ...state, ports: state.ports.filter((p) => p.proto !== 'sctp') };
    const found = doctor(savesOf(fewer), { state });
    expect(new Set(codes(found))).toEqual(new Set(['differs-from-state']));
    expect(found.filter((x) => x.severity === 'error').map((x) => x.rule)).toContain(
      '! -i br-noicc -p sctp -m sctp --dport 9999 -j DNAT --to-destination 10.20.0.5:9999',
    );
    const reverse = doctor(savesOf(state), { state: fewer });
    expect(reverse.every((x) => x.code === 'differs-from-state' && x.severity === 'warning')).toBe(true);
    expect(reverse.map((x) => `${x.table} ${x.chain}`)).toEqual(
      expect.arrayContaining(['nat DOCKER', 'filter DOCKER', 'nat POSTROUTING', 'mangle POSTROUTING']),
    );
  });

  it('differs-from-state: the same rules in another order', () => {
    const state = golden('classic-mixed');
    const swapped = { ...state, networks: [state.networks[2]!, state.networks[0]!, state.networks[1]!, ...state.networks.slice(3)] };
    const found = doctor(savesOf(swapped), { state });
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((x) => x.code === 'differs-from-state' && x.message.includes('order'))).toBe(true);
  });

  it('differs-from-state: a host in the other layout', () => {
    const state = golden('classic-mixed');
    const found = doctor(savesOf({ ...state, layout: 'v28' }), { state });
    expect(found.some((x) => x.chain === 'DOCKER-FORWARD' && x.code === 'differs-from-state')).toBe(true);
  });

  it('foreign rules in built-in chains are left alone', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'nat', appendRule('-A POSTROUTING -s 10.8.0.0/24 ! -o eth0 -j MASQUERADE'));
    const state = golden('classic-mixed');
    expect(doctor(saves, { state, bridges: bridgesOf(state) })).toEqual([]);
  });

  it('summary counts by severity and code', () => {
    const saves = edit(savesOf(golden('classic-mixed')), 'ipv4', 'nat', without(/--to-destination 10\.20\.0\.5/));
    expect(summary(doctor(saves))).toBe('0 errors, 2 warnings: accept-without-dnat ×1, hairpin-without-dnat ×1');
    const broken = edit([{ family: 'ipv4', tables: { nat: seedRules } }], 'ipv4', 'nat', without(/DOCKER/));
    expect(summary(doctor(broken))).toMatch(/^1 error, \d+ warnings?: missing-chain ×1/);
  });
});
