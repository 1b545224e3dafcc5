// publish and unpublish plan only the rules of the ports that change (src/docker/ports.ts);
// this checks, without a kernel, that the result is what Docker's model says the host holds
// afterwards: for every port of the golden states and the seed host, on both families and in
// both layouts, taking the port away from a host holding the state's rules (and foreign
// rules) leaves exactly the rules of the state without it, and putting it back (as Docker
// does: appended to the ports) gives exactly the rules of the state with it. The plan is
// played on the tables with the planner itself (planTable), as a commit would apply it.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateState, type DockerPort, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { expandPorts, toSaveText } from '../../src/docker/ruleset.js';
import { parseSavedTable, tablesOf } from '../../src/docker/saves.js';
import { portView, publishDelta, unpublishDelta, type UnpublishMatch } from '../../src/docker/ports.js';
import { planTable, type TableIntent } from '../../src/plan/plan.js';
import { BUILTIN_CHAINS, type Family, type Table, type TableName } from '../../src/rules/model.js';

const root = new URL('../../', import.meta.url);
const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(path, root), 'utf8')) as Record<string, unknown>;
const FAMILIES: Family[] = ['ipv4', 'ipv6'];

/** Rules that are not Docker's, in chains Docker shares, at their top and bottom. */
const FOREIGN: Partial<Record<TableName, Record<string, string[]>>> = {
  nat: {
    PREROUTING: ['-s 198.51.100.0/24 -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22'],
    POSTROUTING: ['-s 10.8.0.0/24 -o eth0 -j MASQUERADE', '-s 10.9.0.0/24 -o eth0 -j MASQUERADE'],
  },
  filter: { FORWARD: ['-s 203.0.113.0/24 -j DROP', '-s 203.0.113.1/32 -j ACCEPT'], 'DOCKER-USER': [] },
  raw: { PREROUTING: ['-s 192.0.2.1/32 -j DROP', '-s 192.0.2.2/32 -j DROP'] },
  mangle: { POSTROUTING: ['-o eth0 -j ACCEPT', '-o eth1 -j ACCEPT'] },
};
const foreign = new Set(Object.values(FOREIGN).flatMap((t) => Object.values(t).flat()));

/** The tables of a host holding the state's rules of one family, foreign rules added. */
function host(state: DockerState, family: Family): Table[] {
  const saves = toSaveText(desiredRules(state)[family]);
  return (['raw', 'mangle', 'nat', 'filter'] as const).map((name) => {
    const saved = saves[name] !== undefined ? [...parseSavedTable(saves[name], name).values()] : [];
    const names = [...BUILTIN_CHAINS[name], ...saved.map((c) => c.name).filter((c) => !BUILTIN_CHAINS[name].includes(c))];
    const chains = names.map((chain) => {
      const c = saved.find((x) => x.name === chain);
      const extra = FOREIGN[name]?.[chain] ?? [];
      // The first foreign rule on top, the others at the bottom.
      const docker = c?.rules ?? [];
      const rules = extra.length ? [extra[0]!, ...docker, ...extra.slice(1)] : [...docker];
      return BUILTIN_CHAINS[name].includes(chain) ? { name: chain, policy: 'ACCEPT' as const, counters: { packets: 0n, bytes: 0n }, rules } : { name: chain, rules };
    });
    return { name, family, chains };
  });
}

/** The tables after a commit of `intents`, played with the planner. */
function commit(current: readonly Table[], intents: readonly TableIntent[]): Table[] {
  const out = current.map((t) => ({ ...t }));
  for (const intent of intents) {
    const cur = current.find((t) => t.name === intent.table);
    const plan = planTable(cur, intent);
    const chains = plan.chains.map((c) => {
      const was = cur?.chains.find((x) => x.name === c.name);
      return { ...(was ?? { name: c.name }), rules: c.entries.map((e) => ('keep' in e ? was!.rules[e.keep]! : e.rule)) };
    });
    const t: Table = { name: intent.table, family: current[0]?.family ?? 'ipv4', chains };
    const at = out.findIndex((x) => x.name === intent.table);
    if (at >= 0) out[at] = t;
    else out.push(t);
  }
  return out;
}

/** Docker's rules per chain (foreign rules and empty built-in chains left out). */
function dockerRules(tables: readonly Table[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    for (const c of t.chains) {
      const rules = c.rules.filter((r) => !foreign.has(r));
      if (rules.length === 0 && BUILTIN_CHAINS[t.name as TableName]?.includes(c.name)) continue;
      out[`${t.name} ${c.name}`] = rules;
    }
  }
  return out;
}

function foreignKept(tables: readonly Table[]): void {
  for (const t of tables) {
    for (const [chain, rules] of Object.entries(FOREIGN[t.name as TableName] ?? {})) {
      const c = t.chains.find((x) => x.name === chain)!;
      for (const r of rules) expect(c.rules, `${t.name} ${chain}`).toContain(r);
    }
  }
}

function withPorts(state: DockerState, ports: DockerPort[]): DockerState {
  return validateState({ ...state, ports });
}

function matchOf(p: DockerPort): UnpublishMatch {
  const host = String(p.hostPort).split('-').map(Number);
  return { proto: p.proto, first: host[0]!, last: host[host.length - 1]!, hostIp: p.hostIp, containerIp: p.containerIp };
}

const LAYOUTS = ['classic', 'v28', 'v29'] as const;
const states: Array<[string, Record<string, unknown>, readonly (typeof LAYOUTS)[number][]]> = [
  ['seed', json('fixtures/seed-docker-host.json'), LAYOUTS],
  ...['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin'].map(
    (n): [string, Record<string, unknown>, typeof LAYOUTS] => [n, json(`test/golden/docker/${n}.json`), LAYOUTS],
  ),
];
// Trusted host interfaces add raw ACCEPTs per container address (Docker 28 and later).
{
  const raw = json('test/golden/docker/v28-mixed.json');
  const networks = (raw['networks'] as Array<Record<string, unknown>>).map((n) => ({ ...n, trustedHostInterfaces: ['eth9', 'wg0'] }));
  states.push(['v28-mixed with trusted interfaces', { ...raw, networks }, ['v28', 'v29']]);
}

describe('publish and unpublish of one port: the rules of the state after it', () => {
  for (const [name, raw, layouts] of states) {
    for (const layout of layouts) {
      for (const userlandProxy of [true, false]) {
        const state = validateState({ ...raw, layout, userlandProxy });
        it(`${name}, ${layout}, userland proxy ${userlandProxy ? 'on' : 'off'}`, () => {
          let checked = 0;
          for (const family of FAMILIES) {
            state.ports.forEach((p, i) => {
              const bindings = expandPorts([p], family);
              if (bindings.length === 0) return;
              const without = withPorts(state, state.ports.filter((_, k) => k !== i));
              const other = FAMILIES.filter((f) => f !== family).map((f) => tablesOf(f, host(state, f)));

              // unpublish from the whole state
              const full = host(state, family);
              const un = unpublishDelta(portView(family, full, other, state), full, [matchOf(p)], [p.network]);
              expect(un.changed, `unpublish ${i}`).toBe(bindings.length);
              const afterUn = commit(full, un.intents);
              expect(dockerRules(afterUn), `unpublish ${i} ${family}`).toEqual(dockerRules(host(without, family)));
              foreignKept(afterUn);

              // publish it back: appended to the ports
              const before = host(without, family);
              const again = withPorts(state, [...without.ports, p]);
              const pub = publishDelta(portView(family, before, other, without), before, bindings);
              expect(pub.changed, `publish ${i}`).toBe(bindings.length);
              const afterPub = commit(before, pub.intents);
              expect(dockerRules(afterPub), `publish ${i} ${family}`).toEqual(dockerRules(host(again, family)));
              foreignKept(afterPub);

              // and again: nothing to do
              const twice = publishDelta(portView(family, afterPub, other, again), afterPub, bindings);
              expect(twice).toEqual({ intents: [], changed: 0, unchanged: bindings.length });
              checked++;
            });
          }
          expect(checked).toBeGreaterThan(0);
        });
      }
    }
  }
});

describe('the port operations on a host whose state is read from its rules', () => {
  const seed = validateState(json('fixtures/seed-docker-host.json'));
  const app = 'br-96a729b6b174'; // the seed's "app", named by its bridge when inferred
  const port = (hostPort: number, containerIp: string, containerPort: number, proto: 'tcp' | 'udp' = 'tcp'): DockerPort => ({
    network: 'app',
    proto,
    hostIp: '0.0.0.0',
    hostPort,
    containerIp,
    containerPort,
  });
  const bind = (p: DockerPort) => expandPorts([{ ...p, network: app }], 'ipv4');

  it('two ports of one container port share its ACCEPT and hairpin: both go with the last', () => {
    let tables = host(seed, 'ipv4');
    const a = port(9001, '172.19.0.20', 80);
    const b = port(9002, '172.19.0.20', 80);
    for (const p of [a, b]) {
      const d = publishDelta(portView('ipv4', tables, []), tables, bind(p));
      tables = commit(tables, d.intents);
    }
    const both = withPorts(seed, [...seed.ports, a, b]);
    expect(dockerRules(tables)).toEqual(dockerRules(host(both, 'ipv4')));
    const one = unpublishDelta(portView('ipv4', tables, []), tables, [{ proto: 'tcp', first: 9001, last: 9001 }], [undefined]);
    // Only the DNAT goes: the ACCEPT and the MASQUERADE are 9002's too.
    expect(one.intents.map((t) => t.table)).toEqual(['nat']);
    tables = commit(tables, one.intents);
    expect(dockerRules(tables)).toEqual(dockerRules(host(withPorts(seed, [...seed.ports, b]), 'ipv4')));
    const two = unpublishDelta(portView('ipv4', tables, []), tables, [{ proto: 'tcp', first: 9002, last: 9002 }], [app]);
    tables = commit(tables, two.intents);
    expect(dockerRules(tables)).toEqual(dockerRules(host(seed, 'ipv4')));
    foreignKept(tables);
  });

  it('a binding already published is unchanged; one that takes its address and port is refused', () => {
    const tables = host(seed, 'ipv4');
    const view = portView('ipv4', tables, []);
    const existing = { ...seed.ports[2]!, network: app };
    expect(publishDelta(view, tables, expandPorts([existing], 'ipv4'))).toEqual({ intents: [], changed: 0, unchanged: 1 });
    expect(() => publishDelta(view, tables, bind(port(23, '172.19.0.99', 22)))).toThrow(/tcp 0\.0\.0\.0:23 overlaps .*172\.19\.0\.2:22/);
    expect(() => publishDelta(view, tables, expandPorts([{ ...port(23, '172.19.0.99', 22), hostIp: '10.0.0.1', network: app }], 'ipv4'))).toThrow(/overlaps/);
    // Another protocol, or another port, is free.
    expect(publishDelta(view, tables, bind(port(23, '172.19.0.99', 22, 'udp'))).changed).toBe(1);
  });

  it('unpublish of a port not published changes nothing', () => {
    const tables = host(seed, 'ipv4');
    expect(unpublishDelta(portView('ipv4', tables, []), tables, [{ proto: 'udp', first: 23, last: 23 }], [undefined])).toEqual({ intents: [], changed: 0, unchanged: 0 });
  });

  it('publish needs nat DOCKER (the seed failure: DOCKER deleted)', () => {
    const tables = host(seed, 'ipv4').map((t) => (t.name === 'nat' ? { ...t, chains: t.chains.filter((c) => c.name !== 'DOCKER') } : t));
    expect(() => publishDelta(portView('ipv4', tables, []), tables, bind(port(9001, '172.19.0.20', 80)))).toThrow(/chain DOCKER is missing from the nat table/);
  });
});
