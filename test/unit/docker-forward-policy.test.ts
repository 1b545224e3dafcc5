// Docker's filter FORWARD policy DROP (dockerd --ip-forward-no-drop): which families a state
// sets it in, how `docker state` reads it back, what doctor says when it is gone, and the plan
// `docker apply` makes for it. Docker's behaviour from the bridge driver: moby v27.5.1
// setup_ip_forwarding.go setupIPForwarding (classic), v28.5.2 and docker-v29.7.2
// setupIPv4Forwarding/setupIPv6Forwarding with the iptabler's FilterForwardDrop.

import { describe, expect, it } from 'vitest';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { inferState } from '../../src/docker/infer.js';
import { doctor } from '../../src/docker/doctor.js';
import { mergeHints, recordOf } from '../../src/docker/record.js';
import { applyIntents } from '../../src/docker/ops.js';
import { planTable } from '../../src/plan/plan.js';
import type { FamilySaves } from '../../src/docker/saves.js';
import type { Family, Table } from '../../src/rules/model.js';
import { schemaErrors } from '../helpers/schemas.js';

const v4 = { name: 'app', bridge: 'br-app', subnet: '172.19.0.0/16' };
const dual = { name: 'dual', bridge: 'br-dual', subnet: '172.20.0.0/16', subnet6: 'fd00:20::/64' };
const v6only = { name: 'six', bridge: 'br-six', subnet: 'fd00:30::/64' };

const state = (layout: string, networks: object[], extra: object = {}): DockerState =>
  validateState({ layout, networks, ports: [], ...extra });

const policies = (s: DockerState) => {
  const rs = desiredRules(s);
  return { ipv4: rs.ipv4.forwardPolicy, ipv6: rs.ipv6.forwardPolicy };
};

function savesOf(s: DockerState): FamilySaves[] {
  const rs = desiredRules(s);
  return (['ipv4', 'ipv6'] as const).map((family) => ({ family, tables: toSaveText(rs[family]) }));
}

/** The saves with one family's FORWARD policy printed as `policy`. */
function withPolicy(saves: FamilySaves[], family: Family, policy: string): FamilySaves[] {
  return saves.map((s) =>
    s.family !== family ? s : { ...s, tables: { ...s.tables, filter: s.tables['filter']!.replace(/^:FORWARD \S+/m, `:FORWARD ${policy}`) } },
  );
}

const names = (s: DockerState) => ({ networks: s.networks.map((n) => ({ bridge: n.bridge, name: n.name })) });

describe('the FORWARD policy a state sets', () => {
  it('v28 and v29: DROP in each family a network has a subnet of, unless ipForwardNoDrop', () => {
    for (const layout of ['v28', 'v29']) {
      expect(policies(state(layout, [v4]))).toEqual({ ipv4: 'DROP', ipv6: undefined });
      expect(policies(state(layout, [dual]))).toEqual({ ipv4: 'DROP', ipv6: 'DROP' });
      expect(policies(state(layout, [v6only]))).toEqual({ ipv4: undefined, ipv6: 'DROP' });
      expect(policies(state(layout, [dual], { ipForwardNoDrop: true }))).toEqual({ ipv4: undefined, ipv6: undefined });
    }
  });

  it('v28 and v29: the skeleton of a family without a network (iptables/ip6tables on) turns no forwarding on', () => {
    expect(policies(state('v29', [v4], { ip6tables: true }))).toEqual({ ipv4: 'DROP', ipv6: undefined });
    expect(policies(state('v28', [v6only], { iptables: true }))).toEqual({ ipv4: undefined, ipv6: 'DROP' });
  });

  it('--iptables/--ip6tables off: Docker leaves the family alone', () => {
    expect(policies(state('v29', [dual], { iptables: false }))).toEqual({ ipv4: undefined, ipv6: 'DROP' });
    expect(policies(state('v29', [dual], { ip6tables: false }))).toEqual({ ipv4: 'DROP', ipv6: undefined });
  });

  it('classic (Docker 27): IPv6 DROP whenever ip6tables is on, forwarding on before or not', () => {
    expect(policies(state('classic', [v4]))).toEqual({ ipv4: 'DROP', ipv6: undefined });
    expect(policies(state('classic', [v4], { ip6tables: true }))).toEqual({ ipv4: 'DROP', ipv6: 'DROP' });
    expect(policies(state('classic', [dual], { ipForwardNoDrop: true }))).toEqual({ ipv4: undefined, ipv6: 'DROP' });
  });

  it('the rules are the same either way; only the policy line differs', () => {
    const on = state('v29', [dual]);
    const off = state('v29', [dual], { ipForwardNoDrop: true });
    for (const family of ['ipv4', 'ipv6'] as const) {
      const a = toSaveText(desiredRules(on)[family]);
      const b = toSaveText(desiredRules(off)[family]);
      expect(a['filter']).toMatch(/^:FORWARD DROP \[0:0\]$/m);
      expect(b['filter']).toMatch(/^:FORWARD ACCEPT \[0:0\]$/m);
      expect(a['filter']!.replace(':FORWARD DROP', ':FORWARD ACCEPT')).toBe(b['filter']);
      expect(a['nat']).toBe(b['nat']);
    }
  });

  it('validateState: a boolean, left out of the canonical state when false; the schema agrees', () => {
    expect(state('v29', [v4], { ipForwardNoDrop: false })).not.toHaveProperty('ipForwardNoDrop');
    expect(state('v29', [v4], { ipForwardNoDrop: true }).ipForwardNoDrop).toBe(true);
    expect(() => state('v29', [v4], { ipForwardNoDrop: 'yes' })).toThrow(/^ipForwardNoDrop: "yes" is not a boolean$/);
    const json = { layout: 'v29', ipForwardNoDrop: true, networks: [v4], ports: [] };
    expect(schemaErrors('docker-state', json)).toBe('');
    expect(schemaErrors('docker-state', { ...json, ipForwardNoDrop: 1 })).not.toBe('');
  });
});

describe('docker state reads the FORWARD policy back', () => {
  const cases: Array<[string, DockerState]> = [
    ['v29, dual-stack, Docker default', state('v29', [dual])],
    ['v29, dual-stack, ipForwardNoDrop', state('v29', [dual], { ipForwardNoDrop: true })],
    ['v28, IPv4 only, ipForwardNoDrop', state('v28', [v4], { ipForwardNoDrop: true })],
    ['classic, ip6tables on, Docker default', state('classic', [v4], { ip6tables: true })],
    ['classic, ip6tables on, forwarding on before', state('classic', [dual], { ipForwardNoDrop: true })],
  ];
  it.each(cases)('%s: the host a state makes reads back as that state', (_name, s) => {
    expect(inferState(savesOf(s), names(s))).toEqual(s);
  });

  it('one family Docker would have set left ACCEPT (its forwarding was on before) reads as ipForwardNoDrop', () => {
    const s = state('v29', [dual]);
    const got = inferState(withPolicy(savesOf(s), 'ipv6', 'ACCEPT'), names(s));
    expect(got.ipForwardNoDrop).toBe(true);
    // ... and doctor finds nothing wrong with that host against the state it reads as.
    expect(doctor(withPolicy(savesOf(s), 'ipv6', 'ACCEPT'), { state: got })).toEqual([]);
  });

  it('classic: an IPv6 ACCEPT says nothing of the option Docker 27 did not have', () => {
    const s = state('classic', [dual]);
    expect(inferState(withPolicy(savesOf(s), 'ipv6', 'ACCEPT'), names(s))).not.toHaveProperty('ipForwardNoDrop');
  });

  it('a DROP in a family Docker does not set (an admin\'s) is not Docker\'s and reads as the default', () => {
    const s = state('v29', [v4], { ip6tables: true });
    expect(inferState(withPolicy(savesOf(s), 'ipv6', 'DROP'), names(s))).toEqual(s);
  });

  it('the record of a state with ipForwardNoDrop keeps it where the host shows DROP', () => {
    const s = state('v29', [dual], { ipForwardNoDrop: true });
    const dropped = withPolicy(withPolicy(savesOf(s), 'ipv4', 'DROP'), 'ipv6', 'DROP');
    expect(inferState(dropped, names(s))).not.toHaveProperty('ipForwardNoDrop');
    expect(recordOf(s).ipForwardNoDrop).toBe(true);
    expect(inferState(dropped, mergeHints(recordOf(s), names(s)))).toEqual(s);
  });

  it('saves without the filter table say nothing of the policy', () => {
    const s = state('v29', [v4]);
    const natOnly = savesOf(s).map((x) => ({ ...x, tables: x.tables['nat'] ? { nat: x.tables['nat'] } : {} }));
    expect(inferState(natOnly, names(s))).not.toHaveProperty('ipForwardNoDrop');
  });
});

describe('doctor and the FORWARD policy', () => {
  it('a policy back to ACCEPT where the state sets DROP is a warning in that family', () => {
    const s = state('v29', [dual]);
    expect(doctor(savesOf(s), { state: s })).toEqual([]);
    const found = doctor(withPolicy(savesOf(s), 'ipv4', 'ACCEPT'), { state: s });
    expect(found).toEqual([
      {
        severity: 'warning',
        code: 'differs-from-state',
        family: 'ipv4',
        table: 'filter',
        chain: 'FORWARD',
        message: "the FORWARD policy is ACCEPT, but the state's daemon sets DROP (ipForwardNoDrop is off)",
      },
    ]);
  });

  it('with ipForwardNoDrop, or without a state, any policy is no finding', () => {
    const s = state('v29', [dual], { ipForwardNoDrop: true });
    expect(doctor(withPolicy(savesOf(s), 'ipv4', 'DROP'), { state: s })).toEqual([]);
    expect(doctor(withPolicy(savesOf(state('v29', [dual])), 'ipv4', 'ACCEPT'))).toEqual([]);
  });
});

describe('docker apply plans the FORWARD policy', () => {
  /** A family's current tables from its save texts, with the FORWARD counters given. */
  function tablesOf(saves: FamilySaves, forwardPolicy: 'ACCEPT' | 'DROP'): Table[] {
    return Object.entries(saves.tables).map(([name, text]) => {
      const chains = new Map<string, { name: string; policy?: 'ACCEPT' | 'DROP'; counters?: { packets: bigint; bytes: bigint }; rules: string[] }>();
      for (const line of text.split('\n')) {
        const head = /^:(\S+) (\S+)/.exec(line);
        if (head) {
          const builtin = head[2] !== '-';
          const policy = name === 'filter' && head[1] === 'FORWARD' ? forwardPolicy : (head[2] as 'ACCEPT');
          chains.set(head[1]!, builtin ? { name: head[1]!, policy, counters: { packets: 7n, bytes: 700n }, rules: [] } : { name: head[1]!, rules: [] });
        }
        const rule = /^-A (\S+) (.*)$/.exec(line);
        if (rule) chains.get(rule[1]!)!.rules.push(rule[2]!);
      }
      return { name, chains: [...chains.values()] } as Table;
    });
  }

  it('sets DROP on a host whose FORWARD is ACCEPT, keeping every rule and no counters given', () => {
    const s = state('v29', [dual]);
    for (const family of ['ipv4', 'ipv6'] as const) {
      const current = tablesOf(savesOf(s)[family === 'ipv4' ? 0 : 1]!, 'ACCEPT');
      const filter = applyIntents(s, desiredRules(s)[family], family, current).find((t) => t.table === 'filter')!;
      const plan = planTable(current.find((t) => t.name === 'filter'), filter);
      const forward = plan.chains.find((c) => c.name === 'FORWARD')!;
      expect(plan.unchanged).toBe(false);
      expect(forward.policy).toBe('DROP');
      // Counters are not set: the back ends keep the chain's own (kernel tests check it).
      expect(forward.policyCounters).toBeUndefined();
      expect(forward.entries.every((e, i) => 'keep' in e && e.keep === i)).toBe(true);
      expect(plan.chains.filter((c) => c.name !== 'FORWARD').every((c) => c.policy === undefined)).toBe(true);
    }
  });

  it('changes nothing when the policy is already DROP, or when the state leaves it alone', () => {
    const s = state('v29', [dual]);
    const current = tablesOf(savesOf(s)[0]!, 'DROP');
    const plan = planTable(current.find((t) => t.name === 'filter'), applyIntents(s, desiredRules(s).ipv4, 'ipv4', current).find((t) => t.table === 'filter')!);
    expect(plan.unchanged).toBe(true);
    const noDrop = state('v29', [dual], { ipForwardNoDrop: true });
    const accept = tablesOf(savesOf(noDrop)[0]!, 'ACCEPT');
    const kept = planTable(accept.find((t) => t.name === 'filter'), applyIntents(noDrop, desiredRules(noDrop).ipv4, 'ipv4', accept).find((t) => t.table === 'filter')!);
    expect(kept.unchanged).toBe(true);
    expect(kept.chains.find((c) => c.name === 'FORWARD')!.policy).toBeUndefined();
  });
});
