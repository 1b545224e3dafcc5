// validateState: the Docker state JSON of docs/design.md, accepted in canonical form or refused
// with a TypeError/RangeError that names the JSON path and the bad value.

import { describe, expect, it } from 'vitest';
import { validateState } from '../../src/docker/state.js';
import { canonicalAddress } from '../../src/docker/address.js';
import { schemaErrors } from '../helpers/schemas.js';

const net = (over: Record<string, unknown> = {}) => ({
  name: 'app', bridge: 'br-96a729b6b174', subnet: '172.19.0.0/16', icc: true, masquerade: true, internal: false, ...over,
});
const port = (over: Record<string, unknown> = {}) => ({
  network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 20443, containerIp: '172.19.0.2', containerPort: 443, ...over,
});
const state = (over: Record<string, unknown> = {}) => ({ layout: 'classic', userlandProxy: true, networks: [net()], ports: [port()], ...over });

describe('validateState', () => {
  it('accepts the docs/design.md example unchanged', () => {
    expect(validateState(state())).toEqual(state());
  });

  it('fills Docker defaults: userland proxy on, icc on, masquerade on, not internal', () => {
    const got = validateState({ layout: 'v28', networks: [{ name: 'a', bridge: 'docker0', subnet: '172.17.0.0/16' }], ports: [] });
    expect(got).toEqual({ layout: 'v28', userlandProxy: true, networks: [{ name: 'a', bridge: 'docker0', subnet: '172.17.0.0/16', icc: true, masquerade: true, internal: false }], ports: [] });
  });

  it('a state without a layout is for Docker 29 (v29), the default for new states', () => {
    expect(validateState({ networks: [], ports: [] })).toEqual({ layout: 'v29', userlandProxy: true, networks: [], ports: [] });
  });

  it('gateway modes and SNAT addresses: canonical, Docker\'s defaults (nat, MASQUERADE) left out', () => {
    const got = validateState(state({
      layout: 'v28',
      networks: [net({ gatewayModeIpv4: 'nat', gatewayModeIpv6: 'routed', hostIpv4: '192.168.123.0', hostIpv6: 'FD34:D0D4:672F:0:0:0:0:123' })],
    }));
    expect(got.networks[0]).toEqual({ ...net(), gatewayModeIpv6: 'routed', hostIpv4: '192.168.123.0', hostIpv6: 'fd34:d0d4:672f::123' });
    const iso = validateState(state({ layout: 'v29', networks: [net({ internal: true, gatewayModeIpv4: 'isolated' })], ports: [] }));
    expect(iso.networks[0]!.gatewayModeIpv4).toBe('isolated');
  });

  it('bridge-accept-fwmark as Go reads it, written as iptables-save prints xt_mark', () => {
    const mark = (m: string) => validateState(state({ layout: 'v29', acceptFwMark: m })).acceptFwMark;
    expect(mark('1')).toBe('0x1');
    expect(mark('256/65280')).toBe('0x100/0xff00');
    expect(mark('0x100/0xFF00')).toBe('0x100/0xff00');
    expect(mark('0o17/0b1111')).toBe('0xf/0xf');
    expect(mark('017')).toBe('0xf');
    expect(mark('1/4294967295')).toBe('0x1');
    expect(mark('1_000')).toBe('0x3e8');
  });

  it('writes addresses the way iptables-save prints them', () => {
    const got = validateState(state({
      networks: [net({ subnet6: 'FD00:0:0:1:0:0:0:0/64' })],
      ports: [port({ hostIp: '::', containerIp: 'FD00::1:0:0:0:2' })],
    }));
    expect(got.networks[0]!.subnet6).toBe('fd00:0:0:1::/64');
    expect(got.ports[0]!.containerIp).toBe('fd00:0:0:1::2');
  });

  const refusals: Array<[string, unknown, ErrorConstructor, string]> = [
    ['not an object', [], TypeError, 'state: [] is not an object'],
    ['unknown top-level key', state({ mtu: 1500 }), TypeError, 'mtu: unknown key'],
    ['unknown network key', state({ networks: [net({ mtu: 1 })] }), TypeError, 'networks[0].mtu: unknown key'],
    ['unknown port key', state({ ports: [port({ hostport: 1 })] }), TypeError, 'ports[0].hostport: unknown key'],
    ['bad layout', state({ layout: 'swarm' }), RangeError, 'layout: "swarm" is not one of classic, v28.0, v28.1, v28, v29, docker-nft'],
    ['userlandProxy not boolean', state({ userlandProxy: 'yes' }), TypeError, 'userlandProxy: "yes" is not a boolean'],
    ['port out of range', state({ ports: [port({ hostPort: 70000 })] }), RangeError, 'ports[0].hostPort: 70000 is not a port'],
    ['port zero', state({ ports: [port({ containerPort: 0 })] }), RangeError, 'ports[0].containerPort: 0 is not a port'],
    ['port not integer', state({ ports: [port({ hostPort: 80.5 })] }), RangeError, 'ports[0].hostPort: 80.5 is not a port'],
    ['port as a string', state({ ports: [port({ hostPort: '80' })] }), RangeError, 'ports[0].hostPort: "80" is not a port range'],
    ['backwards range', state({ ports: [port({ hostPort: '90-80', containerPort: '90-80' })] }), RangeError, 'ports[0].hostPort: "90-80"'],
    ['range length mismatch', state({ ports: [port({ hostPort: '8000-8009', containerPort: '80-88' })] }), RangeError, 'ports[0].containerPort: "80-88" is 9 ports, hostPort "8000-8009" is 10'],
    ['range to one port', state({ ports: [port({ hostPort: '8000-8009', containerPort: 80 })] }), RangeError, 'ports[0].containerPort: 80 is 1 ports'],
    ['bad protocol', state({ ports: [port({ proto: 'icmp' })] }), RangeError, 'ports[0].proto: "icmp" is not one of tcp, udp, sctp'],
    ['bad host address', state({ ports: [port({ hostIp: '1.2.3' })] }), RangeError, 'ports[0].hostIp: "1.2.3" is not an IP address'],
    ['bad container address', state({ ports: [port({ containerIp: '172.19.0.256' })] }), RangeError, 'ports[0].containerIp: "172.19.0.256" is not an IP address'],
    ['container outside subnet', state({ ports: [port({ containerIp: '172.20.0.2' })] }), RangeError, `ports[0].containerIp: "172.20.0.2" is outside network "app"'s subnet 172.19.0.0/16`],
    ['mixed families', state({ ports: [port({ hostIp: '::' })] }), RangeError, 'ports[0].hostIp: "::" is not of the containerIp\'s family'],
    ['IPv6 container on an IPv4 network', state({ ports: [port({ hostIp: '::', containerIp: 'fd00::2' })] }), RangeError, 'has no ipv6 subnet'],
    ['unknown network', state({ ports: [port({ network: 'db' })] }), RangeError, 'ports[0].network: "db" is not one of the networks'],
    ['port on an internal network', state({ networks: [net({ internal: true })] }), RangeError, 'ports[0].network: "app" is internal'],
    ['bad subnet', state({ networks: [net({ subnet: '172.19.0.0' })] }), RangeError, 'networks[0].subnet: "172.19.0.0" is not a subnet'],
    ['prefix too long', state({ networks: [net({ subnet: '172.19.0.0/33' })] }), RangeError, 'networks[0].subnet: "172.19.0.0/33" is not a subnet'],
    ['host bits', state({ networks: [net({ subnet: '172.19.0.1/16' })] }), RangeError, 'networks[0].subnet: "172.19.0.1/16" has host bits set (the network is 172.19.0.0/16)'],
    ['subnet6 not IPv6', state({ networks: [net({ subnet6: '10.0.0.0/8' })] }), RangeError, 'networks[0].subnet6: "10.0.0.0/8" is not an IPv6 subnet'],
    ['bridge too long', state({ networks: [net({ bridge: 'br-96a729b6b1745' })] }), RangeError, 'networks[0].bridge: "br-96a729b6b1745" is 16 bytes, longer than an interface name\'s 15'],
    ['bridge with a slash', state({ networks: [net({ bridge: 'br/0' })] }), RangeError, 'networks[0].bridge: "br/0" is not an interface name'],
    ['bridge with a space', state({ networks: [net({ bridge: 'br x' })] }), RangeError, 'networks[0].bridge: "br x" is not an interface name'],
    ['bridge with a tab', state({ networks: [net({ bridge: 'br\tx' })] }), RangeError, 'networks[0].bridge: "br\\tx" is not an interface name'],
    ['duplicate network name', state({ networks: [net(), net({ bridge: 'docker0', subnet: '172.17.0.0/16' })] }), RangeError, 'networks[1].name: "app" is already the name of another network'],
    ['duplicate bridge', state({ networks: [net(), net({ name: 'b', subnet: '172.17.0.0/16' })] }), RangeError, 'networks[1].bridge: "br-96a729b6b174" is already the bridge of networks[0]'],
    ['same binding twice', state({ ports: [port(), port({ containerIp: '172.19.0.3' })] }), RangeError, 'ports[1].hostPort: tcp 0.0.0.0:20443 overlaps the binding of ports[0]'],
    ['wildcard over a specific address', state({ ports: [port({ hostIp: '192.0.2.1' }), port({ containerIp: '172.19.0.3' })] }), RangeError, 'ports[1].hostPort: tcp 0.0.0.0:20443 overlaps the binding of ports[0] (tcp 192.0.2.1:20443)'],
    ['specific address under a wildcard', state({ ports: [port(), port({ hostIp: '192.0.2.1', containerIp: '172.19.0.3' })] }), RangeError, 'ports[1].hostPort: tcp 192.0.2.1:20443 overlaps'],
    // Issue 12: what Docker state must refuse, each refusal one line naming the path and value.
    ['bridge as an iptables wildcard', state({ networks: [net({ bridge: 'br+' })] }), RangeError, 'networks[0].bridge: "br+" ends in "+", iptables\' interface wildcard: its rules would match every interface starting with "br"'],
    ['bridge starting with "!"', state({ networks: [net({ bridge: '!br' })] }), RangeError, 'networks[0].bridge: "!br" starts with "!", which iptables reads as negation'],
    ['bridge with a quote', state({ networks: [net({ bridge: 'br"x' })] }), RangeError, 'networks[0].bridge: "br\\"x" holds a quote or backslash'],
    ['bridge with a single quote', state({ networks: [net({ bridge: "br'x" })] }), RangeError, 'networks[0].bridge: "br\'x" holds a quote or backslash'],
    ['identical subnets', state({ networks: [net(), net({ name: 'b', bridge: 'docker0' })], ports: [] }), RangeError, 'networks[1].subnet: "172.19.0.0/16" overlaps networks[0].subnet "172.19.0.0/16"'],
    ['a subnet inside another', state({ networks: [net(), net({ name: 'b', bridge: 'docker0', subnet: '172.19.4.0/24' })], ports: [] }), RangeError, 'networks[1].subnet: "172.19.4.0/24" overlaps networks[0].subnet "172.19.0.0/16"'],
    ['a subnet around another', state({ networks: [net(), net({ name: 'b', bridge: 'docker0', subnet: '172.0.0.0/8' })], ports: [] }), RangeError, 'networks[1].subnet: "172.0.0.0/8" overlaps networks[0].subnet "172.19.0.0/16"'],
    ['overlapping IPv6 subnets', state({ networks: [net({ subnet6: 'fd00::/48' }), net({ name: 'b', bridge: 'docker0', subnet: 'fd00:0:0:1::/64' })], ports: [] }), RangeError, 'networks[1].subnet: "fd00:0:0:1::/64" overlaps networks[0].subnet6 "fd00::/48"'],
    ['container at the network address', state({ ports: [port({ containerIp: '172.19.0.0' })] }), RangeError, 'ports[0].containerIp: "172.19.0.0" is the network address of 172.19.0.0/16, not a host address'],
    ['container at the broadcast address', state({ ports: [port({ containerIp: '172.19.255.255' })] }), RangeError, 'ports[0].containerIp: "172.19.255.255" is the broadcast address of 172.19.0.0/16, not a host address'],
    ['IPv6 container at the subnet-router address', state({ networks: [net({ subnet6: 'fd00::/64' })], ports: [port({ hostIp: '::', containerIp: 'fd00::' })] }), RangeError, 'ports[0].containerIp: "fd00::" is the network address of fd00::/64, not a host address'],
    ['endpoint at the broadcast address', state({ endpoints: [{ network: 'app', ip: '172.19.255.255' }] }), RangeError, 'endpoints[0].ip: "172.19.255.255" is the broadcast address of 172.19.0.0/16'],
    ['missing ports', { layout: 'v29', networks: [net()] }, TypeError, 'ports: missing (the published ports; [] for none)'],
    ['missing networks', { layout: 'v29', ports: [] }, TypeError, 'networks: missing (the bridge networks; [] for none)'],
    ['missing bridge', state({ networks: [{ name: 'app', subnet: '172.19.0.0/16' }] }), TypeError, 'networks[0].bridge: missing'],
    ['hostPort: 1e309', state({ ports: [port({ hostPort: JSON.parse('1e309') })] }), RangeError, 'ports[0].hostPort: Infinity is not a port (an integer 1 to 65535)'],
    ['ip6tables not a boolean', state({ layout: 'v29', ip6tables: 'yes' }), TypeError, 'ip6tables: "yes" is not a boolean'],
    ['range overlapping a port', state({ ports: [port(), port({ hostPort: '20440-20449', containerPort: '440-449' })] }), RangeError, 'ports[1].hostPort: tcp 0.0.0.0:20443 overlaps'],
    ['iptables not a boolean', state({ layout: 'v29', iptables: 1 }), TypeError, 'iptables: 1 is not a boolean'],
    ['iptables on for classic', state({ iptables: true }), RangeError, 'iptables: true is modelled for v28.0, v28.1, v28 and v29 only'],
    ['acceptFwMark before Docker 29', state({ layout: 'v28', acceptFwMark: '1' }), RangeError, "acceptFwMark: bridge-accept-fwmark is Docker 29's (layout v29 or docker-nft)"],
    ['docker-nft: ipForwardNoDrop (no FORWARD policy)', state({ layout: 'docker-nft', ipForwardNoDrop: true }), RangeError, 'ipForwardNoDrop: true, but layout docker-nft sets no FORWARD policy'],
    ['acceptFwMark not a number', state({ layout: 'v29', acceptFwMark: '0x1/zz' }), RangeError, 'acceptFwMark: "0x1/zz" has mask "zz", not a number 0 to 4294967295'],
    ['acceptFwMark too big', state({ layout: 'v29', acceptFwMark: '4294967296' }), RangeError, 'acceptFwMark: "4294967296" has mark "4294967296"'],
    ['an unknown gateway mode', state({ layout: 'v29', networks: [net({ gatewayModeIpv4: 'direct' })] }), RangeError, 'networks[0].gatewayModeIpv4: "direct" is not one of nat, nat-unprotected, routed, isolated'],
    ['a gateway mode not a string', state({ layout: 'v29', networks: [net({ gatewayModeIpv6: 1 })] }), RangeError, 'networks[0].gatewayModeIpv6: 1 is not one of'],
    ['isolated on a network that is not internal', state({ layout: 'v29', networks: [net({ gatewayModeIpv4: 'isolated' })] }), RangeError, 'networks[0].gatewayModeIpv4: "isolated" is for internal networks only'],
    ['nat-unprotected before Docker 28', state({ networks: [net({ gatewayModeIpv6: 'nat-unprotected' })] }), RangeError, 'networks[0].gatewayModeIpv6: "nat-unprotected" does not exist before Docker 28'],
    ['a host address that is not one', state({ networks: [net({ hostIpv4: '10.0.0' })] }), RangeError, 'networks[0].hostIpv4: "10.0.0" is not an IP address'],
    ['an IPv6 hostIpv4', state({ networks: [net({ hostIpv4: '::1' })] }), RangeError, 'networks[0].hostIpv4: "::1" is not an ipv4 address'],
    ['an IPv4 hostIpv6', state({ networks: [net({ hostIpv6: '10.0.0.1' })] }), RangeError, 'networks[0].hostIpv6: "10.0.0.1" is not an ipv6 address'],
    ['a host address not a string', state({ networks: [net({ hostIpv4: 7 })] }), TypeError, 'networks[0].hostIpv4: 7 is not a string'],
  ];
  for (const [what, input, type, message] of refusals) {
    it(`refuses ${what}`, () => {
      let caught: unknown;
      try {
        validateState(input);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(type);
      expect((caught as Error).message).toContain(message);
    });
  }

  it('deeply nested JSON is refused in one line naming the path, without exhausting the stack', () => {
    const depth = 100_000;
    for (const text of [
      `{"layout":"v29","networks":${'['.repeat(depth)}${']'.repeat(depth)},"ports":[]}`,
      `{"layout":"v29","networks":[],"ports":[${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]}`,
      `{"layout":${'['.repeat(depth)}${']'.repeat(depth)},"networks":[],"ports":[]}`,
    ]) {
      let caught: unknown;
      try {
        validateState(JSON.parse(text));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(Error);
      const message = (caught as Error).message;
      expect(message).not.toMatch(/call stack/);
      expect(message).not.toContain('\n');
      expect(message.length).toBeLessThan(200);
      expect(message).toMatch(/^(networks\[0\]|ports\[0\]\.a|layout): /);
    }
  });

  it('a bridge name is measured in bytes, not characters', () => {
    expect(() => validateState(state({ networks: [net({ bridge: 'brückebrücke12' })], ports: [] }))).toThrow(/16 bytes/);
    expect(validateState(state({ networks: [net({ bridge: 'brückebrücke1' })], ports: [] })).networks[0]!.bridge).toBe('brückebrücke1');
  });

  it('allows the same port on different protocols, families and specific addresses', () => {
    const s = validateState(state({
      networks: [net({ subnet6: 'fd00::/64' })],
      ports: [
        port(),
        port({ proto: 'udp' }),
        port({ hostIp: '::', containerIp: 'fd00::2' }),
        port({ hostPort: 80, hostIp: '192.0.2.1' }),
        port({ hostPort: 80, hostIp: '192.0.2.2' }),
      ],
    }));
    expect(s.ports).toHaveLength(5);
  });

  it('refuses an endpoint outside its network', () => {
    expect(() => validateState(state({ endpoints: [{ network: 'app', ip: '10.0.0.1' }] }))).toThrow(
      new RangeError(`endpoints[0].ip: "10.0.0.1" is outside network "app"'s subnets`),
    );
  });
});

describe('canonicalAddress', () => {
  it('gives IPv6 addresses as glibc inet_ntop (and so iptables-save) prints them', () => {
    // Values from Python's socket.inet_ntop(inet_pton(...)) on this machine (glibc).
    expect(canonicalAddress('::885a:6a3a')).toBe('::136.90.106.58');
    expect(canonicalAddress('::31de:0')).toBe('::49.222.0.0');
    expect(canonicalAddress('::ffff:1.2.3.4')).toBe('::ffff:1.2.3.4');
    expect(canonicalAddress('FD00:0:0:0:0:0:0:2')).toBe('fd00::2');
    expect(canonicalAddress('1.2.3.4::1.2.3.4')).toBeUndefined(); // inet_pton refuses it
    expect(canonicalAddress('010.1.2.3')).toBeUndefined();
  });
});

// schemas/docker-state.schema.json knows the gateway modes, SNAT addresses, trusted interfaces
// and daemon options as validateState does (test/unit/json-schema.test.ts holds the rest).
describe('the Docker state schema: modes, SNAT addresses, trusted interfaces, daemon options', () => {
  const full = {
    layout: 'v29',
    iptables: true,
    ip6tables: false,
    allowDirectRouting: true,
    acceptFwMark: '0x1/0xff',
    networks: [
      { name: 'r', bridge: 'br-r', subnet: '10.1.0.0/16', gatewayModeIpv4: 'routed', gatewayModeIpv6: 'nat-unprotected', hostIpv4: '192.0.2.1', hostIpv6: '2001:db8::1', trustedHostInterfaces: ['eth0', 'wg0'] },
      { name: 'i', bridge: 'br-i', subnet: '10.2.0.0/16', internal: true, gatewayModeIpv4: 'isolated' },
    ],
    ports: [],
  };
  it('accepts a state with all of them, and its canonical form', () => {
    expect(schemaErrors('docker-state', full)).toBe('');
    expect(schemaErrors('docker-state', validateState(full))).toBe('');
  });
  const bad: Array<[string, (s: typeof full) => void]> = [
    ['an unknown gateway mode', (s) => ((s.networks[0] as Record<string, unknown>)['gatewayModeIpv4'] = 'bridged')],
    ['a host address that is a name', (s) => ((s.networks[0] as Record<string, unknown>)['hostIpv4'] = 'gateway')],
    ['a wildcard trusted interface', (s) => (s.networks[0]!.trustedHostInterfaces = ['eth+'])],
    ['a trusted interface twice', (s) => (s.networks[0]!.trustedHostInterfaces = ['eth0', 'eth0'])],
    ['allowDirectRouting not a boolean', (s) => ((s as Record<string, unknown>)['allowDirectRouting'] = 'yes')],
    ['a fwmark that is not a number', (s) => (s.acceptFwMark = 'mark 1')],
  ];
  it.each(bad)('refuses %s, as validateState does', (_what, change) => {
    const s = structuredClone(full);
    change(s);
    expect(() => validateState(s)).toThrow();
    expect(schemaErrors('docker-state', s)).not.toBe('');
  });
});
