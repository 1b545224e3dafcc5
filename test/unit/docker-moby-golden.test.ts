// The iptabler layouts against Docker's own golden files: every TestIptabler case of moby/moby
// v28.5.2 (layout v28) and docker-v29.7.2 (layout v29) that the state can express is built as
// a state and compared, table for table and line for line, with the iptables-save text
// Docker's test recorded (test/golden/moby/*.txt, extracted by scripts/moby-goldens.mjs).
//
// Docker's test (iptabler_test.go): one network on bridge br-dummy, 192.168.0.0/24 and
// fd49:efd7:54aa::/64; an endpoint 192.168.0.2 / fd49:efd7:54aa::1; a tcp binding of host port
// 8080 to container port 80 on 0.0.0.0 and :: (bindlh=true: 127.0.0.1 and ::1); hairpin=true
// is the userland proxy off; the dump is `iptables-save -t raw`, `-t filter`, `-t nat`. The
// test does not create DOCKER-USER (the daemon's controller does: TestUserChain, below), so
// those two lines are left out of ours. gwm= is the network's gateway mode in both families
// (gatewayModeIpv4/6) and snat=true its host addresses 192.168.123.0 and fd34:d0d4:672f::123
// (hostIpv4/6), as the test sets them. Every case is compared; the "cleaned" and "no"
// ip6tables cases (the daemon's chains with no IPv6 network; ip6tables off) are the
// `ip6tables` skeleton's, below.

import { describe, expect, it } from 'vitest';
import { validateState, type DockerLayout, type DockerState, type GatewayMode } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { inferState } from '../../src/docker/infer.js';
import { doctor } from '../../src/docker/doctor.js';
import { readMobyGoldens, tablesOfGolden } from '../helpers/moby.js';

const EMPTY: Record<string, string> = {
  raw: '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT',
  filter: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT',
  nat: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT',
};

/** Our rules as Docker's test dumps them: raw, filter, nat (empty ones too), no DOCKER-USER. */
function dump(state: DockerState, family: 'ipv4' | 'ipv6'): { text: string; otherTables: string[] } {
  const t = toSaveText(desiredRules(state)[family]);
  const text = ['raw', 'filter', 'nat']
    .map((n) => (t[n] ?? EMPTY[n]!).replace(/\n$/, ''))
    .join('\n')
    .split('\n')
    .filter((l) => l !== ':DOCKER-USER - [0:0]' && l !== '-A FORWARD -j DOCKER-USER')
    .join('\n');
  return { text, otherTables: Object.keys(t).filter((n) => !['raw', 'filter', 'nat'].includes(n)) };
}

interface Case {
  hairpin: boolean;
  internal: boolean;
  icc: boolean;
  masq: boolean;
  bindlh: boolean;
  gwm: GatewayMode;
  snat: boolean;
}

/** The case a TestIptabler golden name describes, or why it is not a network's case. */
function caseOf(name: string): Case | string {
  const params = new Map(name.split(',').map((kv) => kv.split('=') as [string, string]));
  if (params.has('cleaned') || name === 'no') return 'no network';
  const on = (k: string): boolean => params.get(k) === 'true';
  if (on('internal')) return { hairpin: on('hairpin'), internal: true, icc: on('icc'), masq: true, bindlh: false, gwm: 'nat', snat: false };
  const gwm = params.get('gwm') as GatewayMode;
  return { hairpin: on('hairpin'), internal: false, icc: on('icc'), masq: on('masq'), bindlh: on('bindlh'), gwm, snat: on('snat') };
}

function stateOf(layout: DockerLayout, c: Case): DockerState {
  const port = (hostIp: string, containerIp: string) => ({ network: 'dummy', proto: 'tcp', hostIp, hostPort: 8080, containerIp, containerPort: 80 });
  return validateState({
    layout,
    userlandProxy: !c.hairpin,
    // TestIptabler drives the iptabler alone, which turns no forwarding on: its dumps keep
    // FORWARD's ACCEPT, as a daemon does when forwarding was on or with ip-forward-no-drop.
    ipForwardNoDrop: true,
    networks: [
      {
        name: 'dummy',
        bridge: 'br-dummy',
        subnet: '192.168.0.0/24',
        subnet6: 'fd49:efd7:54aa::/64',
        icc: c.icc,
        masquerade: c.masq,
        internal: c.internal,
        gatewayModeIpv4: c.gwm,
        gatewayModeIpv6: c.gwm,
        ...(c.snat ? { hostIpv4: '192.168.123.0', hostIpv6: 'fd34:d0d4:672f::123' } : {}),
      },
    ],
    ports: c.internal
      ? []
      : [port(c.bindlh ? '127.0.0.1' : '0.0.0.0', '192.168.0.2'), port(c.bindlh ? '::1' : '::', 'fd49:efd7:54aa::1')],
    // Docker's test adds the endpoint before the ports; an internal network's writes no rule.
    endpoints: [{ network: 'dummy', ip: '192.168.0.2' }, { network: 'dummy', ip: 'fd49:efd7:54aa::1' }],
  });
}

const SOURCES: Array<{ file: string; layout: DockerLayout; modelled: number }> = [
  // 96 external cases (hairpin × icc × masq × bindlh × snat × gwm nat, nat-unprotected,
  // routed) + 4 internal (hairpin × icc), both families: every network case Docker's test has.
  { file: 'v28.5.2.txt', layout: 'v28', modelled: 200 },
  { file: 'docker-v29.7.2.txt', layout: 'v29', modelled: 200 },
];

for (const { file, layout, modelled } of SOURCES) {
  describe(`layout ${layout} against moby ${file.replace(/\.txt$/, '')} TestIptabler goldens`, () => {
    const goldens = readMobyGoldens(file);
    const cases = [...goldens].filter(([n]) => n.startsWith('TestIptabler/'));
    let compared = 0;
    const skipped = new Set<string>();
    for (const [name, golden] of cases) {
      const m = /^TestIptabler\/(.*)__(ip6?tables)$/.exec(name)!;
      const c = caseOf(m[1]!);
      if (typeof c === 'string') {
        skipped.add(c);
        continue;
      }
      compared++;
      const family = m[2] === 'iptables' ? 'ipv4' : 'ipv6';
      it(`${m[1]} (${m[2]})`, () => {
        const got = dump(stateOf(layout, c), family);
        expect(got.text).toBe(golden);
        expect(got.otherTables).toEqual([]);
      });
      it(`${m[1]} (${m[2]}): Docker's rules read back as a state that gives them again`, () => {
        // The rules do not hold a network's name, nor the subnet of one that does not masquerade.
        const hints = { networks: [{ bridge: 'br-dummy', name: 'dummy', subnet: '192.168.0.0/24', subnet6: 'fd49:efd7:54aa::/64' }] };
        const inferred = inferState([{ family, tables: tablesOfGolden(golden) }], hints);
        expect(inferred.layout).toBe(layout);
        expect(inferred.userlandProxy).toBe(!c.hairpin);
        expect(dump(inferred, family).text).toBe(golden);
        // The gateway mode and the SNAT address read back wherever a rule shows them.
        const n = inferred.networks[0]!;
        const v4 = family === 'ipv4';
        if (!c.internal) expect(v4 ? n.gatewayModeIpv4 : n.gatewayModeIpv6).toBe(c.gwm === 'nat' ? undefined : c.gwm);
        const snatShown = !c.internal && c.snat && (c.hairpin || (c.masq && c.gwm !== 'routed'));
        if (snatShown || !c.snat) expect(v4 ? n.hostIpv4 : n.hostIpv6).toBe(snatShown ? (v4 ? '192.168.123.0' : 'fd34:d0d4:672f::123') : undefined);
      });
    }
    it(`compares all ${modelled} network cases; only the no-network ones are left to the skeleton tests`, () => {
      expect(compared).toBe(modelled);
      expect([...skipped]).toEqual(['no network']);
    });
  });
}

// The daemon's --ip6tables skeleton: with ip6tables on, the iptabler sets up the IPv6 chains
// when it starts, and a network without an IPv6 subnet adds nothing to them, so an IPv4-only
// host's ip6tables are Docker's "cleaned" golden (chains and jumps, no network). With
// ip6tables off they are the "no" golden: empty.
for (const { file, layout } of SOURCES) {
  describe(`layout ${layout}: the IPv6 tables of an IPv4-only host, moby ${file.replace(/\.txt$/, '')}`, () => {
    const goldens = readMobyGoldens(file);
    const v4only = (hairpin: boolean, ip6tables: boolean | undefined, withNetwork: boolean): DockerState =>
      validateState({
        layout,
        userlandProxy: !hairpin,
        ...(ip6tables !== undefined ? { ip6tables } : {}),
        networks: withNetwork ? [{ name: 'dummy', bridge: 'br-dummy', subnet: '192.168.0.0/24' }] : [],
        ports: withNetwork ? [{ network: 'dummy', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '192.168.0.2', containerPort: 80 }] : [],
      });
    for (const hairpin of [false, true]) {
      const golden = goldens.get(`TestIptabler/cleaned,hairpin=${hairpin}__ip6tables`)!;
      for (const withNetwork of [true, false]) {
        it(`ip6tables on, hairpin=${hairpin}, ${withNetwork ? 'an IPv4-only network' : 'no network'}: the "cleaned" golden`, () => {
          const state = v4only(hairpin, true, withNetwork);
          expect(dump(state, 'ipv6')).toEqual({ text: golden, otherTables: [] });
          const rs = desiredRules(state).ipv6;
          expect(rs.userChains).toEqual([{ table: 'filter', chain: 'DOCKER-USER', rules: [] }]);
          expect(rs.builtinRules.filter((g) => g.chain === 'FORWARD').flatMap((g) => g.rules)).toEqual(['-j DOCKER-USER', '-j DOCKER-FORWARD']);
        });
      }
      it(`hairpin=${hairpin}: the IPv4-only host reads back with ip6tables on`, () => {
        const state = v4only(hairpin, true, true);
        const saves = (['ipv4', 'ipv6'] as const).map((family) => ({ family, tables: toSaveText(desiredRules(state)[family]) }));
        expect(inferState(saves, { networks: [{ bridge: 'br-dummy', name: 'dummy' }] })).toEqual(state);
      });
    }
    it('ip6tables absent: no IPv6 rule for an IPv4-only host (as before)', () => {
      expect(dump(v4only(false, undefined, true), 'ipv6').text).toBe(goldens.get('TestIptabler/no__ip6tables'));
    });
    // --iptables, the same for IPv4: an IPv6-only host's IPv4 tables.
    const v6only = (hairpin: boolean, iptables: boolean): DockerState =>
      validateState({
        layout,
        userlandProxy: !hairpin,
        iptables,
        networks: [{ name: 'dummy', bridge: 'br-dummy', subnet: 'fd49:efd7:54aa::/64' }],
        ports: [{ network: 'dummy', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd49:efd7:54aa::1', containerPort: 80 }],
      });
    for (const hairpin of [false, true]) {
      it(`iptables on, hairpin=${hairpin}, an IPv6-only network: the IPv4 tables are the "cleaned" golden, and read back`, () => {
        const state = v6only(hairpin, true);
        expect(dump(state, 'ipv4')).toEqual({ text: goldens.get(`TestIptabler/cleaned,hairpin=${hairpin}__iptables`), otherTables: [] });
        const saves = (['ipv4', 'ipv6'] as const).map((family) => ({ family, tables: toSaveText(desiredRules(state)[family]) }));
        expect(inferState(saves, { networks: [{ bridge: 'br-dummy', name: 'dummy' }] })).toEqual(state);
      });
    }
    it('iptables off: no IPv4 rule even for a dual-stack network (the "no" golden)', () => {
      const state = { ...stateOf(layout, { hairpin: false, internal: false, icc: true, masq: true, bindlh: false, gwm: 'nat', snat: false }), iptables: false };
      expect(dump(state, 'ipv4').text).toBe(goldens.get('TestIptabler/no__iptables'));
    });
    it('ip6tables off: no IPv6 rule even for a dual-stack network (the "no" golden)', () => {
      const state = { ...stateOf(layout, { hairpin: false, internal: false, icc: true, masq: true, bindlh: false, gwm: 'nat', snat: false }), ip6tables: false };
      expect(dump(state, 'ipv6').text).toBe(goldens.get('TestIptabler/no__ip6tables'));
    });
  });
}

describe('DOCKER-USER and the FORWARD jumps against TestUserChain', () => {
  for (const { file, layout } of SOURCES) {
    const goldens = readMobyGoldens(file);
    for (const fam of ['4', '6'] as const) {
      it(`${layout}: filter FORWARD, DOCKER-FORWARD and DOCKER-USER as moby ${file.replace(/\.txt$/, '')} leaves them (ipv${fam})`, () => {
        const family = fam === '4' ? 'ipv4' : 'ipv6';
        const state = stateOf(layout, { hairpin: false, internal: true, icc: true, masq: true, bindlh: false, gwm: 'nat', snat: false });
        const rs = desiredRules(state)[family];
        const chainS = (chain: string): string => {
          const rules = chain === 'FORWARD'
            ? rs.builtinRules.filter((g) => g.table === 'filter' && g.chain === 'FORWARD').flatMap((g) => g.rules)
            : [...rs.ownedChains, ...rs.userChains].find((c) => c.table === 'filter' && c.chain === chain)!.rules;
          const head = chain === 'FORWARD' ? '-P FORWARD ACCEPT' : `-N ${chain}`;
          // The network's own rules are not in Docker's test: keep the chain's jumps only.
          return [head, ...rules.filter((r) => /^-j \S+$/.test(r)).map((r) => `-A ${chain} ${r}`)].join('\n');
        };
        const g = (k: string): string => goldens.get(`TestUserChain/iptables-true_append-false_${k}${fam}`)!;
        expect(chainS('FORWARD')).toBe(g('fwdafter'));
        expect(chainS('DOCKER-FORWARD')).toBe(g('dockerfwdafter'));
        expect(chainS('DOCKER-USER')).toBe(g('usrafter'));
      });
    }
  }
});

// doctor on Docker's own hosts: every network case of TestIptabler (gateway modes, SNAT, both
// families), with the DOCKER-USER chain and jump the daemon adds (TestUserChain), holds no
// error; with the state that made it, no finding at all.
describe('doctor knows every TestIptabler host', () => {
  /** Docker's dump with DOCKER-USER as the daemon adds it: the chain, and FORWARD's first jump. */
  const withUserChain = (golden: string): Record<string, string> => {
    const tables = tablesOfGolden(golden);
    tables.filter = tables.filter!.replace(':DOCKER - [0:0]\n', ':DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n').replace(
      /^(-A FORWARD )/m,
      '-A FORWARD -j DOCKER-USER\n$1',
    );
    return tables;
  };
  for (const { file, layout } of SOURCES) {
    const goldens = readMobyGoldens(file);
    it(`${layout}: no error without a state, no finding with it (moby ${file.replace(/\.txt$/, '')})`, () => {
      let checked = 0;
      for (const [name, golden] of goldens) {
        const m = /^TestIptabler\/(.*)__(ip6?tables)$/.exec(name);
        const c = m ? caseOf(m[1]!) : 'not TestIptabler';
        if (typeof c === 'string') continue;
        const family = m![2] === 'iptables' ? 'ipv4' : 'ipv6';
        const saves = [{ family, tables: withUserChain(golden) }] as const;
        const errors = doctor(saves).filter((x) => x.severity === 'error');
        expect({ name, errors }).toEqual({ name, errors: [] });
        expect({ name, findings: doctor(saves, { state: stateOf(layout, c) }) }).toEqual({ name, findings: [] });
        checked++;
      }
      expect(checked).toBe(200);
    });
  }
});
