// desiredRules against Docker's own expectations, and isDockerRule.
// Layout v28 is compared with the iptabler golden files of moby/moby v28.5.2 (commit
// 89c5e8fd66634b6128fc4c0e6f1236e2540e46e0), libnetwork/drivers/bridge/internal/iptabler/
// testdata/TestIptabler_<options>__ip[6]tables.golden: one network br-dummy, 192.168.0.0/24
// and fd49:efd7:54aa::/64, endpoint .2 / ::1, tcp host port 8080 → container port 80. Docker's
// test does not set up DOCKER-USER (the daemon's controller does), so those lines are left out.

import { describe, expect, it } from 'vitest';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { isDockerRule } from '../../src/docker/recognise.js';

function dummy(opts: { hairpin: boolean; internal?: boolean; icc?: boolean; masq?: boolean; hostIp4?: string }): DockerState {
  const internal = opts.internal ?? false;
  return validateState({
    layout: 'v28',
    userlandProxy: !opts.hairpin,
    networks: [{ name: 'dummy', bridge: 'br-dummy', subnet: '192.168.0.0/24', subnet6: 'fd49:efd7:54aa::/64', icc: opts.icc ?? true, masquerade: opts.masq ?? true, internal }],
    ports: internal
      ? []
      : [
          { network: 'dummy', proto: 'tcp', hostIp: opts.hostIp4 ?? '0.0.0.0', hostPort: 8080, containerIp: '192.168.0.2', containerPort: 80 },
          { network: 'dummy', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd49:efd7:54aa::1', containerPort: 80 },
        ],
    ...(internal ? { endpoints: [{ network: 'dummy', ip: '192.168.0.2' }, { network: 'dummy', ip: 'fd49:efd7:54aa::1' }] } : {}),
  });
}

/** `*table` and `-A` lines, DOCKER-USER left out. */
function ruleLines(text: string): string[] {
  return text.split('\n').filter((l) => (l.startsWith('*') || l.startsWith('-A')) && !l.includes('DOCKER-USER'));
}

function ours(state: DockerState, family: 'ipv4' | 'ipv6'): string[] {
  const t = toSaveText(desiredRules(state)[family]);
  // Docker's goldens list raw, filter, nat; print ours in that order.
  return ruleLines(['raw', 'filter', 'nat'].map((n) => t[n] ?? `*${n}\n`).join(''));
}

describe('layout v28 against Docker 28.5.2 goldens', () => {
  it('hairpin=false,internal=false,icc=true,masq=true,gwm=nat,bindlh=false (iptables)', () => {
    expect(ours(dummy({ hairpin: false }), 'ipv4')).toEqual([
      '*raw',
      '-A PREROUTING -d 192.168.0.2/32 ! -i br-dummy -j DROP',
      '*filter',
      '-A FORWARD -j DOCKER-FORWARD',
      '-A DOCKER -d 192.168.0.2/32 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A DOCKER ! -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-BRIDGE -o br-dummy -j DOCKER',
      '-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A DOCKER-FORWARD -j DOCKER-CT',
      '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      '-A DOCKER-FORWARD -i br-dummy -j ACCEPT',
      '-A DOCKER-ISOLATION-STAGE-1 -i br-dummy ! -o br-dummy -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-2 -o br-dummy -j DROP',
      '*nat',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -s 192.168.0.0/24 ! -o br-dummy -j MASQUERADE',
      '-A DOCKER -i br-dummy -j RETURN',
      '-A DOCKER ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.0.2:80',
    ]);
  });

  it('hairpin=false,…,icc=true,masq=true,gwm=nat,bindlh=false (ip6tables)', () => {
    expect(ours(dummy({ hairpin: false }), 'ipv6')).toEqual([
      '*raw',
      '-A PREROUTING -d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP',
      '*filter',
      '-A FORWARD -j DOCKER-FORWARD',
      '-A DOCKER -d fd49:efd7:54aa::1/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A DOCKER ! -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-BRIDGE -o br-dummy -j DOCKER',
      '-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A DOCKER-FORWARD -j DOCKER-CT',
      '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      '-A DOCKER-FORWARD -i br-dummy -j ACCEPT',
      '-A DOCKER-ISOLATION-STAGE-1 -i br-dummy ! -o br-dummy -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-2 -o br-dummy -j DROP',
      '*nat',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -s fd49:efd7:54aa::/64 ! -o br-dummy -j MASQUERADE',
      '-A DOCKER -i br-dummy -j RETURN',
      '-A DOCKER ! -s fe80::/10 ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80',
    ]);
  });

  it('hairpin=true,internal=false,icc=false,masq=false,gwm=nat,bindlh=false (iptables)', () => {
    expect(ours(dummy({ hairpin: true, icc: false, masq: false }), 'ipv4')).toEqual([
      '*raw',
      '-A PREROUTING -d 192.168.0.2/32 ! -i br-dummy -j DROP',
      '*filter',
      '-A FORWARD -j DOCKER-FORWARD',
      '-A DOCKER -d 192.168.0.2/32 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A DOCKER ! -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-BRIDGE -o br-dummy -j DOCKER',
      '-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A DOCKER-FORWARD -j DOCKER-CT',
      '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      '-A DOCKER-FORWARD -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-FORWARD -i br-dummy ! -o br-dummy -j ACCEPT',
      '-A DOCKER-ISOLATION-STAGE-1 -i br-dummy ! -o br-dummy -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-2 -o br-dummy -j DROP',
      '*nat',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j MASQUERADE',
      '-A POSTROUTING -s 192.168.0.2/32 -d 192.168.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
      '-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.0.2:80',
    ]);
  });

  it('hairpin=false,internal=false,icc=false,masq=true,gwm=nat,bindlh=true (iptables)', () => {
    const got = ours(dummy({ hairpin: false, icc: false, hostIp4: '127.0.0.1' }), 'ipv4');
    expect(got.slice(0, 3)).toEqual([
      '*raw',
      '-A PREROUTING -d 192.168.0.2/32 ! -i br-dummy -j DROP',
      '-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP',
    ]);
    expect(got).toContain('-A DOCKER -d 127.0.0.1/32 ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.0.2:80');
  });

  it('hairpin=false,internal=true,icc=true (iptables)', () => {
    expect(ours(dummy({ hairpin: false, internal: true }), 'ipv4')).toEqual([
      '*raw',
      '*filter',
      '-A FORWARD -j DOCKER-FORWARD',
      '-A DOCKER-FORWARD -j DOCKER-CT',
      '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      '-A DOCKER-FORWARD -i br-dummy -o br-dummy -j ACCEPT',
      '-A DOCKER-ISOLATION-STAGE-1 ! -s 192.168.0.0/24 -o br-dummy -j DROP',
      '-A DOCKER-ISOLATION-STAGE-1 ! -d 192.168.0.0/24 -i br-dummy -j DROP',
      '*nat',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    ]);
  });

  it('hairpin=false,internal=true,icc=false (ip6tables)', () => {
    expect(ours(dummy({ hairpin: false, internal: true, icc: false }), 'ipv6')).toEqual([
      '*raw',
      '*filter',
      '-A FORWARD -j DOCKER-FORWARD',
      '-A DOCKER-FORWARD -j DOCKER-CT',
      '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
      '-A DOCKER-FORWARD -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-ISOLATION-STAGE-1 ! -s fd49:efd7:54aa::/64 ! -i br-dummy -o br-dummy -j DROP',
      '-A DOCKER-ISOLATION-STAGE-1 ! -d fd49:efd7:54aa::/64 -i br-dummy ! -o br-dummy -j DROP',
      '*nat',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER',
    ]);
  });
});

describe('layout classic specifics (moby/moby v27.5.1)', () => {
  const one = (userlandProxy: boolean) =>
    desiredRules(validateState({
      layout: 'classic',
      userlandProxy,
      networks: [{ name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' }],
      ports: [{ network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '172.17.0.2', containerPort: 80 }],
    })).ipv4;
  const lines = (r: ReturnType<typeof one>) => ruleLines(Object.values(toSaveText(r)).join(''));

  it('with the userland proxy: RETURN for the bridge, DNAT skips its own bridge, OUTPUT skips loopback', () => {
    expect(lines(one(true))).toEqual(expect.arrayContaining([
      '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
      '-A DOCKER -i docker0 -j RETURN',
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.2:80',
      '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
    ]));
    expect(lines(one(true)).some((l) => l.includes('--src-type LOCAL'))).toBe(false);
  });

  it('in hairpin mode: no RETURN, DNAT from every interface, MASQUERADE of local sources onto the bridge', () => {
    const got = lines(one(false));
    expect(got).toEqual(expect.arrayContaining([
      '-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -o docker0 -m addrtype --src-type LOCAL -j MASQUERADE',
      '-A DOCKER -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.2:80',
    ]));
    expect(got).not.toContain('-A DOCKER -i docker0 -j RETURN');
  });

  it('the default bridge gives the FORWARD rules every Docker host shows', () => {
    const all = Object.values(toSaveText(one(true))).join('').split('\n');
    expect(all.filter((l) => l.startsWith('-A FORWARD'))).toEqual([
      '-A FORWARD -j DOCKER-USER',
      '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A FORWARD -o docker0 -j DOCKER',
      '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
      '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    ]);
  });

  // ip6tables on (Docker 27's default) on a host with IPv4-only networks, from v27.5.1:
  // setupIPChains makes nat/filter DOCKER and the isolation chains ending in RETURN for each
  // enabled family; isolateNetwork calls setINC (insert `-i BR ! -o BR -j STAGE-2` and
  // `-o BR -j DROP`) for each enabled family whatever the network's subnets, internal networks
  // excepted; arrangeUserFilterRule makes DOCKER-USER (`-j RETURN`) and its FORWARD jump; the
  // FORWARD jump to STAGE-1 and the nat jumps only come with a network of that family;
  // setupIPForwarding sets ip6tables' FORWARD policy to DROP whenever ip6tables is on.
  it('ip6tables on: the IPv6 tables of an IPv4-only host', () => {
    const state = validateState({
      layout: 'classic',
      ip6tables: true,
      networks: [
        { name: 'new', bridge: 'br-0a1b2c3d4e5f', subnet: '172.30.0.0/16' },
        { name: 'int', bridge: 'br-internal01', subnet: '10.10.0.0/24', internal: true },
        { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' },
      ],
      ports: [{ network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '172.17.0.2', containerPort: 80 }],
    });
    expect(Object.values(toSaveText(desiredRules(state).ipv6)).join('').split('\n').filter((l) => l !== '')).toEqual([
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      'COMMIT',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      ':DOCKER-ISOLATION-STAGE-1 - [0:0]',
      ':DOCKER-ISOLATION-STAGE-2 - [0:0]',
      ':DOCKER-USER - [0:0]',
      '-A FORWARD -j DOCKER-USER',
      '-A DOCKER-ISOLATION-STAGE-1 -i br-0a1b2c3d4e5f ! -o br-0a1b2c3d4e5f -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
      '-A DOCKER-ISOLATION-STAGE-2 -o br-0a1b2c3d4e5f -j DROP',
      '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
      '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
      '-A DOCKER-USER -j RETURN',
      'COMMIT',
    ]);
    // Without ip6tables (or with it off) nothing goes to the IPv6 tables.
    expect(desiredRules({ ...state, ip6tables: undefined }).ipv6.ownedChains).toEqual([]);
    expect(desiredRules({ ...state, ip6tables: false }).ipv6.ownedChains).toEqual([]);
  });

  it('layout nft has no iptables rules', () => {
    expect(() => desiredRules(validateState({ layout: 'docker-nft', networks: [], ports: [] }))).toThrow(RangeError);
  });
});

describe('isDockerRule', () => {
  const yes: Array<[string, string, string]> = [
    ['nat', 'PREROUTING', '-m addrtype --dst-type LOCAL -j DOCKER'],
    ['nat', 'OUTPUT', '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER'],
    ['nat', 'POSTROUTING', '-s 172.31.0.0/16 ! -o br-0123456789ab -j MASQUERADE'],
    ['nat', 'POSTROUTING', '-o docker0 -m addrtype --src-type LOCAL -j MASQUERADE'],
    ['nat', 'POSTROUTING', '-s 172.31.0.9/32 -d 172.31.0.9/32 -p udp -m udp --dport 53 -j MASQUERADE'],
    ['nat', 'DOCKER', '! -i br-0123456789ab -p tcp -m tcp --dport 1 -j DNAT --to-destination 172.31.0.9:1'],
    ['filter', 'FORWARD', '-j DOCKER-USER'],
    ['filter', 'FORWARD', '-o br-0123456789ab -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'],
    ['filter', 'FORWARD', '-i docker1 -o docker1 -j DROP'],
    ['filter', 'DOCKER-ISOLATION-STAGE-2', '-o br-0123456789ab -j DROP'],
    ['mangle', 'POSTROUTING', '-p sctp -m sctp --sport 9 -j CHECKSUM --checksum-fill'],
    ['raw', 'PREROUTING', '-d 172.31.0.9/32 ! -i br-0123456789ab -j DROP'],
    ['raw', 'PREROUTING', '-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP'],
  ];
  for (const [table, chain, rule] of yes) {
    it(`knows Docker's ${table} ${chain} ${rule}`, () => expect(isDockerRule('ipv4', table, chain, rule)).toBe(true));
  }

  const no: Array<[string, string, string]> = [
    ['nat', 'POSTROUTING', '-s 10.8.0.0/24 ! -o eth0 -j MASQUERADE'],
    ['nat', 'POSTROUTING', '-s 10.0.0.1/32 -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE'],
    ['filter', 'FORWARD', '-i eth0 -o eth1 -j ACCEPT'],
    ['filter', 'FORWARD', '-i docker0 -o br-0123456789ab -j ACCEPT'],
    ['filter', 'DOCKER-USER', '-s 10.0.0.0/8 -j DROP'],
    ['filter', 'INPUT', '-j DOCKER-USER'],
    ['raw', 'PREROUTING', '-d 10.0.0.1/32 ! -i eth0 -j DROP'],
  ];
  for (const [table, chain, rule] of no) {
    it(`leaves the foreign ${table} ${chain} ${rule}`, () => expect(isDockerRule('ipv4', table, chain, rule)).toBe(false));
  }

  it('knows a chosen bridge name once told the bridges', () => {
    const rule = '-s 10.20.0.0/24 ! -o br-noicc -j MASQUERADE';
    expect(isDockerRule('ipv4', 'nat', 'POSTROUTING', rule)).toBe(false);
    expect(isDockerRule('ipv4', 'nat', 'POSTROUTING', rule, ['br-noicc'])).toBe(true);
  });

  it('the loopback exclusion belongs to its family', () => {
    expect(isDockerRule('ipv6', 'nat', 'OUTPUT', '! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER')).toBe(true);
    expect(isDockerRule('ipv6', 'nat', 'OUTPUT', '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER')).toBe(false);
  });

  it('every rule desiredRules writes in a built-in chain is recognised', () => {
    const state = dummy({ hairpin: true });
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const g of desiredRules(state)[family].builtinRules) {
        for (const rule of g.rules) expect(isDockerRule(family, g.table, g.chain, rule, ['br-dummy']), rule).toBe(true);
      }
    }
  });
});

// Trusted host interfaces and allow-direct-routing (Docker 28+). No golden file covers them;
// the expected lines follow moby v28.5.2 / docker-v29.7.2 iptabler/endpoint.go
// filterDirectAccess: per endpoint, one `-d EP -i IF -j ACCEPT` appended per trusted interface
// in the network's order, then the `-d EP ! -i BRIDGE -j DROP`; nothing for an internal,
// routed or nat-unprotected family, nor with the daemon's AllowDirectRouting.
describe('the direct-access rules of trusted interfaces and direct routing', () => {
  const state = (layout: 'v28' | 'v29', over: Record<string, unknown> = {}, net: Record<string, unknown> = {}): DockerState =>
    validateState({
      layout,
      networks: [{ name: 'dummy', bridge: 'br-dummy', subnet: '192.168.0.0/24', subnet6: 'fd49:efd7:54aa::/64', trustedHostInterfaces: ['foo0', 'bar1'], ...net }],
      ports: [{ network: 'dummy', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerIp: '192.168.0.2', containerPort: 80 }],
      endpoints: [{ network: 'dummy', ip: '192.168.0.2' }, { network: 'dummy', ip: 'fd49:efd7:54aa::1' }],
      ...over,
    });
  const raw = (s: DockerState, family: 'ipv4' | 'ipv6'): string[] =>
    desiredRules(s)[family].builtinRules.filter((g) => g.table === 'raw').flatMap((g) => g.rules);
  for (const layout of ['v28', 'v29'] as const) {
    it(`${layout}: each trusted interface's ACCEPT above the endpoint's DROP, both families`, () => {
      expect(raw(state(layout), 'ipv4')).toEqual([
        '-d 192.168.0.2/32 -i foo0 -j ACCEPT',
        '-d 192.168.0.2/32 -i bar1 -j ACCEPT',
        '-d 192.168.0.2/32 ! -i br-dummy -j DROP',
        '-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP',
      ]);
      expect(raw(state(layout), 'ipv6')).toEqual([
        '-d fd49:efd7:54aa::1/128 -i foo0 -j ACCEPT',
        '-d fd49:efd7:54aa::1/128 -i bar1 -j ACCEPT',
        '-d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP',
      ]);
      for (const r of raw(state(layout), 'ipv4')) expect(isDockerRule('ipv4', 'raw', 'PREROUTING', r, ['br-dummy', 'foo0', 'bar1'])).toBe(true);
      // Not the state's trusted interface: not Docker's rule.
      expect(isDockerRule('ipv4', 'raw', 'PREROUTING', '-d 192.168.0.2/32 -i eth0 -j ACCEPT', ['br-dummy'])).toBe(false);
    });
    it(`${layout}: allow-direct-routing leaves the direct-access rules out; the loopback DROP stays`, () => {
      const s = state(layout, { allowDirectRouting: true });
      expect(raw(s, 'ipv4')).toEqual(['-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP']);
      expect(raw(s, 'ipv6')).toEqual([]);
    });
    it(`${layout}: a routed family has none, the other keeps them`, () => {
      const s = state(layout, {}, { gatewayModeIpv6: 'routed' });
      expect(raw(s, 'ipv4')).toHaveLength(4);
      expect(raw(s, 'ipv6')).toEqual([]);
    });
  }
  // Docker 29's bridge-accept-fwmark (network.go setupNonInternalNetworkRules): inserted at the
  // top of DOCKER-FORWARD with each external network, above the jumps setupIPChains made at
  // start; the same text for every network, so once; none for a family with only internal networks.
  it('v29: bridge-accept-fwmark heads DOCKER-FORWARD once, in families with an external network', () => {
    const s = validateState({
      layout: 'v29',
      acceptFwMark: '1/255',
      networks: [
        { name: 'a', bridge: 'br-a', subnet: '10.1.0.0/16' },
        { name: 'b', bridge: 'br-b', subnet: '10.2.0.0/16' },
        { name: 'i', bridge: 'br-i', subnet: 'fd00::/64', internal: true },
      ],
      ports: [],
    });
    const fwd = (family: 'ipv4' | 'ipv6') => desiredRules(s)[family].ownedChains.find((c) => c.chain === 'DOCKER-FORWARD')!.rules;
    expect(fwd('ipv4').slice(0, 4)).toEqual(['-m mark --mark 0x1/0xff -j ACCEPT', '-j DOCKER-CT', '-j DOCKER-INTERNAL', '-j DOCKER-BRIDGE']);
    expect(fwd('ipv4').filter((r) => r.includes('mark'))).toHaveLength(1);
    expect(fwd('ipv6').some((r) => r.includes('mark'))).toBe(false);
  });
  it('classic refuses both: Docker 27 has no direct-access rules', () => {
    expect(() => state('classic' as 'v28')).toThrow('networks[0].trustedHostInterfaces: trusted host interfaces do not exist before Docker 28');
    expect(() => state('classic' as 'v28', { allowDirectRouting: true }, { trustedHostInterfaces: [] })).toThrow(/^allowDirectRouting: true, but Docker before 28/);
  });
  it('trusted interfaces are interface names, each once', () => {
    expect(() => state('v29', {}, { trustedHostInterfaces: ['eth+'] })).toThrow('networks[0].trustedHostInterfaces[0]: "eth+" ends in "+"');
    expect(() => state('v29', {}, { trustedHostInterfaces: ['eth0', 'eth0'] })).toThrow('networks[0].trustedHostInterfaces[1]: "eth0" is already trustedHostInterfaces[0]');
    expect(() => state('v29', {}, { trustedHostInterfaces: 'eth0' })).toThrow('networks[0].trustedHostInterfaces: "eth0" is not an array of interface names');
  });
});
