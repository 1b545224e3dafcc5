// Layout v28.0 (Docker Engine 28.0.0 only). moby has no iptables golden files before 28.2, so
// these expectations are derived by hand from moby v28.0.0's code, rule by rule:
// libnetwork/drivers/bridge/setup_ip_tables_linux.go (setupIPChains, setupNonInternalNetworkRules,
// setDefaultForwardRule, setupInternalNetworkRules, setIcc, setINC), bridge_linux.go (the order
// of a network's setup steps, isolateNetwork for every enabled family), port_mapping_linux.go
// (setPerPortIptables: loopback DROP, direct-access DROP, DNAT, hairpin MASQUERADE, ACCEPT) and
// libnetwork/firewall_linux.go (DOCKER-USER with its RETURN, jumped to from the top of FORWARD),
// each line printed as iptables-save 1.8.9 prints Docker's arguments.

import { describe, expect, it } from 'vitest';
import { savesOf } from '../helpers/docker-saves.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { isDockerRule } from '../../src/docker/recognise.js';
import { extBridgesMembers } from '../../src/docker/v280.js';
import { inferState } from '../../src/docker/infer.js';
import { doctor, ipsetFindings, readsIpset } from '../../src/docker/doctor.js';
import { readSaves, type FamilySaves } from '../../src/docker/saves.js';

/** Every state below, for the round trips at the end. */
const STATES: DockerState[] = [];
function v280(json: Record<string, unknown>): DockerState {
  const s = validateState({ layout: 'v28.0', ...json });
  STATES.push(s);
  return s;
}

function save(state: DockerState, family: 'ipv4' | 'ipv6'): string {
  return Object.values(toSaveText(desiredRules(state)[family])).join('');
}

const FILTER_HEAD = (policy: string): string => `*filter
:INPUT ACCEPT [0:0]
:FORWARD ${policy} [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
`;
const NAT_HEAD = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
`;
const RAW_HEAD = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
`;
// setupIPChains inserts the ipset jump to DOCKER, the jump to stage 1 and the ipset conntrack
// ACCEPT each at the top; the controller then inserts DOCKER-USER's jump above them.
const forwardJumps = (v: 4 | 6): string => `-A FORWARD -j DOCKER-USER
-A FORWARD -m set --match-set docker-ext-bridges-v${v} dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -m set --match-set docker-ext-bridges-v${v} dst -j DOCKER
`;

describe('layout v28.0: the rules of Docker 28.0.0', () => {
  it('the default bridge with a published port and a loopback-only one (userland proxy)', () => {
    const s = v280({
      networks: [{ name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16', icc: true, masquerade: true, internal: false }],
      ports: [
        { network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 },
        { network: 'bridge', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 5432, containerIp: '172.17.0.3', containerPort: 5432 },
      ],
    });
    expect(save(s, 'ipv4')).toBe(
      RAW_HEAD +
        // Per binding: the loopback DROP, then the per-port direct-access DROP (no per-endpoint rule).
        `-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -p tcp -m tcp --dport 80 -j DROP
-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 5432 -j DROP
-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -p tcp -m tcp --dport 5432 -j DROP
COMMIT
` +
        NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.3:5432
COMMIT
` +
        FILTER_HEAD('DROP') +
        forwardJumps(4) +
        `-A FORWARD -i docker0 -j ACCEPT
-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    expect(save(s, 'ipv6')).toBe('');
    expect(extBridgesMembers(s, 'ipv4')).toEqual(['172.17.0.0/16']);
  });

  it('icc off, an internal network, and the newest network on top', () => {
    const s = v280({
      networks: [
        { name: 'int', bridge: 'br-int', subnet: '172.19.0.0/16', icc: false, masquerade: true, internal: true },
        { name: 'app', bridge: 'br-app', subnet: '172.18.0.0/16', icc: false, masquerade: true, internal: false },
        { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16', icc: true, masquerade: true, internal: false },
      ],
      ports: [],
    });
    expect(save(s, 'ipv4')).toBe(
      NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.18.0.0/16 ! -o br-app -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i br-app -j RETURN
-A DOCKER -i docker0 -j RETURN
COMMIT
` +
        FILTER_HEAD('DROP') +
        forwardJumps(4) +
        // Appended per network, oldest first; icc=false: setIcc's DROP, then the outgoing ACCEPT.
        `-A FORWARD -i docker0 -j ACCEPT
-A FORWARD -i br-app -o br-app -j DROP
-A FORWARD -i br-app ! -o br-app -j ACCEPT
-A FORWARD -i br-int -o br-int -j DROP
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER ! -i br-app -o br-app -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -s 172.19.0.0/16 -o br-int -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -d 172.19.0.0/16 -i br-int -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-app ! -o br-app -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-app -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    // Internal networks are not in the ipset.
    expect(extBridgesMembers(s, 'ipv4')).toEqual(['172.18.0.0/16', '172.17.0.0/16']);
  });

  it('IPv6 without the userland proxy: hairpin NAT, link-local sources skip DNAT', () => {
    const s = v280({
      userlandProxy: false,
      networks: [{ name: 'v6', bridge: 'br-v6', subnet: 'fd00:6::/64', icc: true, masquerade: true, internal: false }],
      ports: [{ network: 'v6', proto: 'udp', hostIp: '::', hostPort: 53, containerIp: 'fd00:6::2', containerPort: 53 }],
    });
    expect(save(s, 'ipv4')).toBe('');
    expect(save(s, 'ipv6')).toBe(
      RAW_HEAD +
        `-A PREROUTING -d fd00:6::2/128 ! -i br-v6 -p udp -m udp --dport 53 -j DROP
COMMIT
` +
        NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -o br-v6 -m addrtype --src-type LOCAL -j MASQUERADE
-A POSTROUTING -s fd00:6::/64 ! -o br-v6 -j MASQUERADE
-A POSTROUTING -s fd00:6::2/128 -d fd00:6::2/128 -p udp -m udp --dport 53 -j MASQUERADE
-A DOCKER ! -s fe80::/10 -p udp -m udp --dport 53 -j DNAT --to-destination [fd00:6::2]:53
COMMIT
` +
        FILTER_HEAD('DROP') +
        forwardJumps(6) +
        `-A FORWARD -i br-v6 -j ACCEPT
-A DOCKER -d fd00:6::2/128 ! -i br-v6 -o br-v6 -p udp -m udp --dport 53 -j ACCEPT
-A DOCKER ! -i br-v6 -o br-v6 -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i br-v6 ! -o br-v6 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-v6 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    expect(extBridgesMembers(s, 'ipv6')).toEqual(['fd00:6::/64']);
  });

  it('routed and nat-unprotected modes, SNAT, and ip6tables on without an IPv6 network', () => {
    const s = v280({
      userlandProxy: false,
      ip6tables: true,
      networks: [
        { name: 'r', bridge: 'br-r', subnet: '10.1.0.0/24', icc: true, masquerade: true, internal: false, gatewayModeIpv4: 'routed' },
        { name: 'u', bridge: 'br-u', subnet: '10.2.0.0/24', icc: false, masquerade: true, internal: false, gatewayModeIpv4: 'nat-unprotected', hostIpv4: '192.0.2.1' },
        { name: 'i', bridge: 'br-i', subnet: '10.3.0.0/24', icc: false, masquerade: true, internal: true },
      ],
      ports: [
        { network: 'u', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '10.2.0.2', containerPort: 80 },
        { network: 'r', proto: 'sctp', hostIp: '0.0.0.0', hostPort: '9000-9001', containerIp: '10.1.0.2', containerPort: '9000-9001' },
      ],
    });
    expect(save(s, 'ipv4')).toBe(
      // No raw rules: neither mode filters direct access, and no port is on loopback.
      NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -o br-r -m addrtype --src-type LOCAL -j MASQUERADE
-A POSTROUTING -o br-u -m addrtype --src-type LOCAL -j SNAT --to-source 192.0.2.1
-A POSTROUTING -s 10.2.0.0/24 ! -o br-u -j SNAT --to-source 192.0.2.1
-A POSTROUTING -s 10.2.0.2/32 -d 10.2.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A POSTROUTING -s 10.1.0.2/32 -d 10.1.0.2/32 -p sctp -m sctp --dport 9000 -j MASQUERADE
-A POSTROUTING -s 10.1.0.2/32 -d 10.1.0.2/32 -p sctp -m sctp --dport 9001 -j MASQUERADE
-A DOCKER -i br-r -j RETURN
-A DOCKER -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.2:80
-A DOCKER -p sctp -m sctp --dport 9000 -j DNAT --to-destination 10.1.0.2:9000
-A DOCKER -p sctp -m sctp --dport 9001 -j DNAT --to-destination 10.1.0.2:9001
COMMIT
` +
        FILTER_HEAD('DROP') +
        forwardJumps(4) +
        `-A FORWARD -i br-i -o br-i -j DROP
-A FORWARD -i br-u -o br-u -j DROP
-A FORWARD -i br-u ! -o br-u -j ACCEPT
-A FORWARD -i br-r -j ACCEPT
-A DOCKER -d 10.1.0.2/32 ! -i br-r -o br-r -p sctp -m sctp --dport 9001 -j ACCEPT
-A DOCKER -d 10.1.0.2/32 ! -i br-r -o br-r -p sctp -m sctp --dport 9000 -j ACCEPT
-A DOCKER ! -i br-u -o br-u -j ACCEPT
-A DOCKER -o br-r -p icmp -j ACCEPT
-A DOCKER ! -i br-r -o br-r -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i br-r -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -o br-r -j RETURN
-A DOCKER-ISOLATION-STAGE-1 ! -s 10.3.0.0/24 -o br-i -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -d 10.3.0.0/24 -i br-i -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i br-u ! -o br-u -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-r ! -o br-r -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-r -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o br-u -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    // isolateNetwork runs setINC for every enabled family: the IPv4 networks are isolated in
    // the IPv6 tables too (their IPv6 gateway mode is nat), the policy left ACCEPT there.
    expect(save(s, 'ipv6')).toBe(
      NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
COMMIT
` +
        FILTER_HEAD('ACCEPT') +
        forwardJumps(6) +
        `-A DOCKER-ISOLATION-STAGE-1 -i br-u ! -o br-u -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-r ! -o br-r -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-r -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o br-u -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    expect(extBridgesMembers(s, 'ipv6')).toEqual([]);
  });

  it('refuses what Docker 28.0.0 does not have', () => {
    const net = { name: 'n', bridge: 'br-n', subnet: '10.0.0.0/24', icc: true, masquerade: true, internal: false };
    expect(() => v280({ networks: [{ ...net, trustedHostInterfaces: ['eth1'] }], ports: [] })).toThrow(
      'networks[0].trustedHostInterfaces: trusted host interfaces do not exist in Docker 28.0.0',
    );
    expect(() => v280({ allowDirectRouting: true, networks: [net], ports: [] })).toThrow('allowDirectRouting: true, but Docker 28.0.0 has no allow-direct-routing option');
    expect(() => v280({ acceptFwMark: '0x1', networks: [net], ports: [] })).toThrow("acceptFwMark: bridge-accept-fwmark is Docker 29's");
  });

  it('isDockerRule knows the rules only 28.0.0 writes in built-in chains', () => {
    expect(isDockerRule('ipv4', 'filter', 'FORWARD', '-m set --match-set docker-ext-bridges-v4 dst -j DOCKER')).toBe(true);
    expect(isDockerRule('ipv6', 'filter', 'FORWARD', '-m set --match-set docker-ext-bridges-v6 dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')).toBe(true);
    expect(isDockerRule('ipv4', 'filter', 'FORWARD', '-m set --match-set mine dst -j DOCKER')).toBe(false);
    expect(isDockerRule('ipv4', 'filter', 'FORWARD', '-i docker0 -j ACCEPT')).toBe(true);
    expect(isDockerRule('ipv4', 'filter', 'FORWARD', '-i eth0 -j ACCEPT')).toBe(false);
    expect(isDockerRule('ipv4', 'raw', 'PREROUTING', '-d 172.17.0.2/32 ! -i docker0 -p tcp -m tcp --dport 80 -j DROP')).toBe(true);
    expect(isDockerRule('ipv4', 'raw', 'PREROUTING', '-d 172.17.0.2/32 ! -i eth0 -p tcp -m tcp --dport 80 -j DROP')).toBe(false);
  });

  // Run after the cases above have registered their states (vitest runs `it`s in order).
  it('a 28.0.0 host reads back as the state that wrote it, and doctor finds nothing on it', () => {
    expect(STATES.length).toBe(4);
    for (const state of STATES) {
      const saves = savesOf(state);
      // The names, and the subnet no rule shows of a routed network (the Docker record's).
      const hints = { networks: state.networks.map((n) => ({ bridge: n.bridge, name: n.name, subnet: n.subnet })) };
      expect(inferState(saves, hints)).toEqual(state);
      expect(doctor(saves)).toEqual([]);
      expect(doctor(saves, { state })).toEqual([]);
    }
  });

  it("a routed family's skip-DNAT RETURN says nothing of masquerade; the hint does", () => {
    const state = validateState({
      layout: 'v28.0',
      networks: [{ name: 'r', bridge: 'br-r', subnet: '10.1.0.0/24', icc: true, masquerade: false, internal: false, gatewayModeIpv4: 'routed' }],
      ports: [],
    });
    const saves: FamilySaves[] = [{ family: 'ipv4', tables: toSaveText(desiredRules(state).ipv4) }];
    expect(saves[0]!.tables['nat']).toContain('-A DOCKER -i br-r -j RETURN');
    const hint = { bridge: 'br-r', name: 'r', subnet: '10.1.0.0/24' };
    expect(inferState(saves, { networks: [hint] }).networks[0]!.masquerade).toBe(true);
    expect(inferState(saves, { networks: [{ ...hint, masquerade: false }] })).toEqual(state);
  });

  it("doctor: a 28.0.0 host without its ipset jumps or isolation chain has errors, and only those", () => {
    const state = STATES[0]!;
    const tables = toSaveText(desiredRules(state).ipv4);
    const broken = (drop: string): FamilySaves[] => [{ family: 'ipv4', tables: { ...tables, filter: tables['filter']!.replace(drop + '\n', '') } }];
    const errors = (saves: FamilySaves[]) => doctor(saves).filter((f) => f.severity === 'error').map((f) => f.message.split(':')[0]);
    expect(errors(broken('-A FORWARD -m set --match-set docker-ext-bridges-v4 dst -j DOCKER'))).toEqual(['filter FORWARD has no jump to DOCKER']);
    expect(errors(broken('-A FORWARD -m set --match-set docker-ext-bridges-v4 dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'))).toEqual([
      'filter FORWARD has no jump to ACCEPT',
    ]);
    expect(errors(broken('-A FORWARD -j DOCKER-ISOLATION-STAGE-1'))).toEqual(['filter FORWARD has no jump to DOCKER-ISOLATION-STAGE-1']);
    // Docker 28.0.0 has no DOCKER-FORWARD: none is missing, with or without the state.
    expect(doctor([{ family: 'ipv4', tables }], { state }).map((f) => f.chain)).not.toContain('DOCKER-FORWARD');
  });

  it('doctor of the ipsets: a missing set or subnet is an error, a foreign member a warning with the state', () => {
    // The routed/nat-unprotected case: br-r (routed, 10.1.0.0/24) shows its subnet in no NAT rule.
    const state = STATES[3]!;
    const [t] = readSaves([{ family: 'ipv4', tables: toSaveText(desiredRules(state).ipv4) }]);
    const set = (members: string[], type = 'hash:net', family: 'inet' | 'inet6' | '?' = 'inet') => ({ name: 'docker-ext-bridges-v4', type, family, members });
    const codes = (fs: ReturnType<typeof ipsetFindings>) => fs.map((f) => `${f.severity} ${f.code} ${f.message.split(':')[0]}`);
    expect(readsIpset(t!, state)).toBe(true);
    expect(readsIpset(t!)).toBe(true);
    expect(ipsetFindings(t!, set(['10.1.0.0/24', '10.2.0.0/24']), state)).toEqual([]);
    expect(codes(ipsetFindings(t!, null, state))).toEqual(['error missing-set ipset docker-ext-bridges-v4 does not exist']);
    expect(ipsetFindings(t!, set([], 'hash:ip'), state).map((f) => f.message)).toEqual([
      "ipset docker-ext-bridges-v4 is hash:ip family inet, not hash:net family inet: FORWARD's rules for Docker's bridges cannot match it (iptkit docker repair)",
    ]);
    expect(codes(ipsetFindings(t!, set(['10.2.0.0/24', '10.9.0.0/16']), state))).toEqual([
      'error missing-set-member ipset docker-ext-bridges-v4 lacks 10.1.0.0/24',
      "warning stale-set-member ipset docker-ext-bridges-v4 holds 10.9.0.0/16, which is no external network of the state's",
    ]);
    // Without the state only what the NAT rules show is needed: br-u's SNAT shows 10.2.0.0/24.
    expect(codes(ipsetFindings(t!, set(['10.9.0.0/16'])))).toEqual(['error missing-set-member ipset docker-ext-bridges-v4 lacks 10.2.0.0/24']);
    expect(ipsetFindings(t!, set(['10.2.0.0/24']))).toEqual([]);
    // Not a 28.0.0 host: nothing to read.
    expect(readsIpset(t!, { ...state, layout: 'v28' })).toBe(false);
  });

  it("iptables and ip6tables on: each family isolates the other family's networks too, and reads back so", () => {
    const state = validateState({
      layout: 'v28.0',
      iptables: true,
      ip6tables: true,
      networks: [
        { name: 'six', bridge: 'br-six', subnet: 'fd00:6::/64', icc: true, masquerade: true, internal: false },
        { name: 'four', bridge: 'br-four', subnet: '10.4.0.0/24', icc: true, masquerade: true, internal: false },
      ],
      ports: [],
    });
    const r = desiredRules(state);
    const iso = (f: 'ipv4' | 'ipv6') => r[f].ownedChains.filter((c) => c.chain.startsWith('DOCKER-ISOLATION')).flatMap((c) => c.rules);
    for (const f of ['ipv4', 'ipv6'] as const) {
      expect(iso(f)).toEqual(['-i br-four ! -o br-four -j DOCKER-ISOLATION-STAGE-2', '-i br-six ! -o br-six -j DOCKER-ISOLATION-STAGE-2', '-o br-six -j DROP', '-o br-four -j DROP']);
    }
    const saves: FamilySaves[] = [
      { family: 'ipv4', tables: toSaveText(r.ipv4) },
      { family: 'ipv6', tables: toSaveText(r.ipv6) },
    ];
    expect(inferState(saves, { networks: state.networks.map((n) => ({ bridge: n.bridge, name: n.name })) })).toEqual(state);
  });
});
