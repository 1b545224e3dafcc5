// Layout v28.1 (Docker Engine 28.0.2 to 28.1.x). moby has no iptables golden files before 28.2,
// so these expectations are derived from moby v28.1.1's code, rule by rule:
// libnetwork/drivers/bridge/setup_ip_tables_linux.go (setupIPChains: DOCKER-FORWARD and its three
// jumps; setupIPTables, setupNonInternalNetworkRules, setDefaultForwardRule, setIcc, setINC,
// setupInternalNetworkRules), port_mapping_linux.go (setPerPortIptables: loopback DROP, the
// per-port direct-access DROP, DNAT, hairpin MASQUERADE, ACCEPT inserted) and
// libnetwork/firewall_linux.go (DOCKER-USER with AddReturnRule's RETURN), each line printed as
// iptables-save 1.8.9 prints Docker's arguments. The first case is the host of v28.1.1's
// integration/network/bridge/iptablesdoc usernet-portmap page (a real daemon's dump).

import { describe, expect, it } from 'vitest';
import { savesOf } from '../helpers/docker-saves.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { isPortDirectAccessDrop, layoutOfTables } from '../../src/docker/recognise.js';
import { inferState } from '../../src/docker/infer.js';
import { doctor } from '../../src/docker/doctor.js';
import { readSaves } from '../../src/docker/saves.js';

/** Every state below, for the round trips at the end. */
const STATES: DockerState[] = [];
function v281(json: Record<string, unknown>): DockerState {
  const s = validateState({ layout: 'v28.1', ...json });
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
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
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
// setupIPChains: EnsureJumpRule inserts DOCKER-BRIDGE, stage 1 and DOCKER-CT each at the top.
const FORWARD_JUMPS = `-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
`;

describe('layout v28.1: the rules of Docker 28.0.2 to 28.1.x', () => {
  it('docker0 and a newer network with a published port (userland proxy)', () => {
    const s = v281({
      networks: [
        { name: 'bridge1', bridge: 'bridge1', subnet: '192.0.2.0/24', icc: true, masquerade: true, internal: false },
        { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16', icc: true, masquerade: true, internal: false },
      ],
      ports: [{ network: 'bridge1', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '192.0.2.2', containerPort: 80 }],
    });
    expect(save(s, 'ipv4')).toBe(
      RAW_HEAD +
        // filterDirectAccess: one DROP per published container port, not per endpoint.
        `-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -p tcp -m tcp --dport 80 -j DROP
COMMIT
` +
        NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 192.0.2.0/24 ! -o bridge1 -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i bridge1 -j RETURN
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i bridge1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
COMMIT
` +
        FILTER_HEAD('DROP') +
        `-A DOCKER -d 192.0.2.2/32 ! -i bridge1 -o bridge1 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER ! -i bridge1 -o bridge1 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-BRIDGE -o bridge1 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-CT -o bridge1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
` +
        FORWARD_JUMPS +
        `-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-FORWARD -i bridge1 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i bridge1 ! -o bridge1 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o bridge1 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
    expect(save(s, 'ipv6')).toBe('');
  });

  it('loopback and shared container ports without the proxy, icc off, an internal network', () => {
    const s = v281({
      userlandProxy: false,
      networks: [
        { name: 'int', bridge: 'br-int', subnet: '172.19.0.0/16', icc: true, masquerade: true, internal: true },
        { name: 'app', bridge: 'br-app', subnet: '172.18.0.0/16', icc: false, masquerade: true, internal: false },
      ],
      ports: [
        { network: 'app', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 5432, containerIp: '172.18.0.3', containerPort: 5432 },
        { network: 'app', proto: 'udp', hostIp: '0.0.0.0', hostPort: 5353, containerIp: '172.18.0.3', containerPort: 53 },
        { network: 'app', proto: 'udp', hostIp: '10.9.9.9', hostPort: 5354, containerIp: '172.18.0.3', containerPort: 53 },
      ],
    });
    expect(save(s, 'ipv4')).toBe(
      RAW_HEAD +
        // Per binding: its loopback DROP, then its container port's DROP (once per port).
        `-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 5432 -j DROP
-A PREROUTING -d 172.18.0.3/32 ! -i br-app -p tcp -m tcp --dport 5432 -j DROP
-A PREROUTING -d 172.18.0.3/32 ! -i br-app -p udp -m udp --dport 53 -j DROP
COMMIT
` +
        NAT_HEAD +
        `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -o br-app -m addrtype --src-type LOCAL -j MASQUERADE
-A POSTROUTING -s 172.18.0.0/16 ! -o br-app -j MASQUERADE
-A POSTROUTING -s 172.18.0.3/32 -d 172.18.0.3/32 -p tcp -m tcp --dport 5432 -j MASQUERADE
-A POSTROUTING -s 172.18.0.3/32 -d 172.18.0.3/32 -p udp -m udp --dport 53 -j MASQUERADE
-A DOCKER -d 127.0.0.1/32 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.18.0.3:5432
-A DOCKER -p udp -m udp --dport 5353 -j DNAT --to-destination 172.18.0.3:53
-A DOCKER -d 10.9.9.9/32 -p udp -m udp --dport 5354 -j DNAT --to-destination 172.18.0.3:53
COMMIT
` +
        FILTER_HEAD('DROP') +
        `-A DOCKER -d 172.18.0.3/32 ! -i br-app -o br-app -p udp -m udp --dport 53 -j ACCEPT
-A DOCKER -d 172.18.0.3/32 ! -i br-app -o br-app -p tcp -m tcp --dport 5432 -j ACCEPT
-A DOCKER ! -i br-app -o br-app -j DROP
-A DOCKER-BRIDGE -o br-app -j DOCKER
-A DOCKER-CT -o br-app -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
` +
        FORWARD_JUMPS +
        `-A DOCKER-FORWARD -i br-app -o br-app -j DROP
-A DOCKER-FORWARD -i br-app ! -o br-app -j ACCEPT
-A DOCKER-FORWARD -i br-int -o br-int -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 ! -s 172.19.0.0/16 -o br-int -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -d 172.19.0.0/16 -i br-int -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i br-app ! -o br-app -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-app -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`,
    );
  });

  it('routed and nat-unprotected families write no direct-access DROP; IPv6 skips link-local sources', () => {
    const s = v281({
      networks: [
        { name: 'u', bridge: 'br-u', subnet: 'fd00:2::/64', icc: true, masquerade: true, internal: false, gatewayModeIpv6: 'nat-unprotected' },
        { name: 'r', bridge: 'br-r', subnet: 'fd00:1::/64', icc: true, masquerade: false, internal: false, gatewayModeIpv6: 'routed' },
        { name: 'n', bridge: 'br-n', subnet: 'fd00:3::/64', icc: true, masquerade: true, internal: false },
      ],
      ports: [
        { network: 'n', proto: 'tcp', hostIp: '::', hostPort: 80, containerIp: 'fd00:3::2', containerPort: 80 },
        { network: 'u', proto: 'tcp', hostIp: '::', hostPort: 81, containerIp: 'fd00:2::2', containerPort: 80 },
        { network: 'r', proto: 'tcp', hostIp: '::', hostPort: 82, containerIp: 'fd00:1::2', containerPort: 80 },
      ],
    });
    const v6 = save(s, 'ipv6');
    expect(v6).toContain(RAW_HEAD + '-A PREROUTING -d fd00:3::2/128 ! -i br-n -p tcp -m tcp --dport 80 -j DROP\nCOMMIT\n');
    expect(v6).toContain('-A DOCKER ! -s fe80::/10 ! -i br-n -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:3::2]:80\n');
    // 28.0.2+: a routed network's skip-DNAT RETURN only with masquerade (v28's condition).
    expect(v6).not.toContain('-A DOCKER -i br-r -j RETURN');
    expect(v6).toContain('-A DOCKER-ISOLATION-STAGE-1 -i br-r -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A DOCKER-ISOLATION-STAGE-1 -o br-r -j RETURN\n');
    expect(v6).toContain('-A DOCKER -o br-r -p ipv6-icmp -j ACCEPT\n-A DOCKER ! -i br-r -o br-r -j DROP\n-A DOCKER ! -i br-u -o br-u -j ACCEPT\n');
    expect(save(s, 'ipv4')).toBe('');
  });

  it('refuses what Docker before 28.2 does not have', () => {
    const net = { name: 'n', bridge: 'br-n', subnet: '10.0.0.0/24', icc: true, masquerade: true, internal: false };
    expect(() => validateState({ layout: 'v28.1', networks: [{ ...net, trustedHostInterfaces: ['eth1'] }], ports: [] })).toThrow(
      'networks[0].trustedHostInterfaces: trusted host interfaces do not exist before Docker 28.2',
    );
    expect(() => validateState({ layout: 'v28.1', allowDirectRouting: true, networks: [net], ports: [] })).toThrow(
      'allowDirectRouting: true, but Docker before 28.2 has no allow-direct-routing option',
    );
    expect(() => validateState({ layout: 'v28.1', acceptFwMark: '0x1', networks: [net], ports: [] })).toThrow("acceptFwMark: bridge-accept-fwmark is Docker 29's");
  });

  it('recognise: a per-port direct-access DROP tells 28.1 from 28.2+, the loopback DROP does not', () => {
    expect(isPortDirectAccessDrop('-d 172.17.0.2/32 ! -i docker0 -p tcp -m tcp --dport 80 -j DROP')).toBe(true);
    expect(isPortDirectAccessDrop('-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 80 -j DROP')).toBe(false);
    expect(isPortDirectAccessDrop('-d 172.17.0.2/32 ! -i docker0 -j DROP')).toBe(false);
    const layouts = (s: DockerState) => readSaves([{ family: 'ipv4', tables: toSaveText(desiredRules(s).ipv4) }]).map(layoutOfTables);
    expect(layouts(STATES[0]!)).toEqual(['v28.1']);
    expect(layouts({ ...STATES[0]!, layout: 'v28' })).toEqual(['v28']);
    // Without a nat port 28.1's rules are 28.2's (DOCKER-USER is the user's): read as v28.
    expect(layouts({ ...STATES[0]!, ports: [] })).toEqual(['v28']);
  });

  // Run after the cases above have registered their states (vitest runs `it`s in order).
  it('a 28.1 host reads back as the state that wrote it, and doctor finds nothing on it', () => {
    expect(STATES.length).toBe(3);
    for (const state of STATES) {
      const saves = savesOf(state);
      const hints = { networks: state.networks.map((n) => ({ bridge: n.bridge, name: n.name, subnet: n.subnet })) };
      expect(inferState(saves, hints)).toEqual(state);
      expect(doctor(saves)).toEqual([]);
      expect(doctor(saves, { state })).toEqual([]);
    }
  });

  it('a dual-stack host whose only nat port is IPv6 still reads as v28.1', () => {
    const state = validateState({
      layout: 'v28.1',
      networks: [{ name: 'ds', bridge: 'br-ds', subnet: '10.5.0.0/24', subnet6: 'fd00:5::/64', icc: true, masquerade: true, internal: false }],
      ports: [{ network: 'ds', proto: 'tcp', hostIp: '::', hostPort: 80, containerIp: 'fd00:5::2', containerPort: 80 }],
    });
    const saves = savesOf(state);
    expect(inferState(saves, { networks: [{ bridge: 'br-ds', name: 'ds' }] })).toEqual(state);
    expect(doctor(saves, { state })).toEqual([]);
  });

  it('doctor: a 28.1 host missing its per-port DROP, or with 28.2\'s per-endpoint one, differs from the state', () => {
    const state = STATES[0]!;
    const tables = toSaveText(desiredRules(state).ipv4);
    const perPort = '-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -p tcp -m tcp --dport 80 -j DROP';
    const swapped = { ...tables, raw: tables['raw']!.replace(perPort, '-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -j DROP') };
    const found = doctor([{ family: 'ipv4', tables: swapped }], { state }).map((f) => `${f.table} ${f.rule ?? ''}`);
    expect(found).toContain(`raw ${perPort.slice('-A PREROUTING '.length)}`);
  });
});
