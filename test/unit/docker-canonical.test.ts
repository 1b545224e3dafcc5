// Every rule text the Docker rulesets write is already canonical: the native dialect, which
// prints every rule iptkit reads from the kernel, gives it back unchanged. This is what lets
// the Docker layer find its rules in the kernel's chains by comparing texts. Covered: both
// layouts, userland proxy on and off, both families, for the golden states
// (test/golden/docker/) and the seed host (fixtures/seed-docker-host.json), and a state with
// every kind of port and network Docker writes rules for.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nativeDialect } from '../../src/binding.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { allRules } from '../../src/docker/ruleset.js';
import type { Family } from '../../src/rules/model.js';

const root = new URL('../../', import.meta.url);
const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(path, root), 'utf8')) as Record<string, unknown>;

const states: Array<[string, Record<string, unknown>, string[]?]> = [
  ['seed', json('fixtures/seed-docker-host.json')],
  ...['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin'].map((n): [string, Record<string, unknown>] => [n, json(`test/golden/docker/${n}.json`)]),
  [
    'every kind',
    {
      layout: 'classic',
      networks: [
        { name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' },
        { name: 'ds', bridge: 'br-00000000d5d5', subnet: '10.1.0.0/16', subnet6: '2001:db8:1::/64', icc: false },
        { name: 'named', bridge: 'my_bridge.1', subnet: '192.168.77.0/24', masquerade: false },
        { name: 'int', bridge: 'br-int', subnet: '10.9.0.0/24', subnet6: 'fd00::/64', internal: true, icc: false },
        { name: 'six', bridge: 'br-v6only', subnet: 'fd12:3456:789a::/48' },
      ],
      ports: [
        { network: 'bridge', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 1, containerIp: '172.17.0.2', containerPort: 65535 },
        { network: 'bridge', proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, containerIp: '172.17.0.2', containerPort: 53 },
        { network: 'bridge', proto: 'sctp', hostIp: '203.0.113.9', hostPort: '7000-7002', containerIp: '172.17.255.254', containerPort: '7100-7102' },
        { network: 'ds', proto: 'tcp', hostIp: '::', hostPort: 443, containerIp: '2001:db8:1::a', containerPort: 8443 },
        { network: 'ds', proto: 'udp', hostIp: '::1', hostPort: 5353, containerIp: '2001:db8:1::ffff:1.2.3.4', containerPort: 53 },
        { network: 'ds', proto: 'sctp', hostIp: '2001:db8:ff::1', hostPort: 9, containerIp: '2001:db8:1::b', containerPort: 9 },
        { network: 'named', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 65535, containerIp: '192.168.77.200', containerPort: 1 },
        { network: 'six', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd12:3456:789a::2', containerPort: 80 },
      ],
      endpoints: [
        { network: 'int', ip: '10.9.0.3' },
        { network: 'bridge', ip: '172.17.0.9' },
      ],
    },
  ],
  [
    'gateway modes and SNAT addresses',
    {
      networks: [
        { name: 'r', bridge: 'br-routed', subnet: '10.20.0.0/16', subnet6: 'fd20::/64', gatewayModeIpv4: 'routed', gatewayModeIpv6: 'routed', hostIpv6: 'fd34:d0d4:672f::123' },
        { name: 's', bridge: 'br-snat', subnet: '10.21.0.0/16', subnet6: 'fd21::/64', hostIpv4: '192.168.123.0', hostIpv6: '2001:db8::1', gatewayModeIpv6: 'routed' },
      ],
      ports: [
        { network: 'r', proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerIp: '10.20.0.2', containerPort: 80 },
        { network: 's', proto: 'udp', hostIp: '::', hostPort: 53, containerIp: 'fd21::5', containerPort: 53 },
      ],
    },
  ],
  [
    'nat-unprotected, isolated, trusted interfaces (Docker 28+)',
    {
      networks: [
        { name: 'u', bridge: 'br-unprot', subnet: '10.22.0.0/16', subnet6: 'fd22::/64', gatewayModeIpv4: 'nat-unprotected', gatewayModeIpv6: 'nat-unprotected', hostIpv4: '203.0.113.7' },
        { name: 'iso', bridge: 'br-iso', subnet: '10.23.0.0/16', internal: true, gatewayModeIpv4: 'isolated' },
        { name: 't', bridge: 'br-trusted', subnet: '10.24.0.0/16', subnet6: 'fd24::/64', trustedHostInterfaces: ['eth1', 'wg.0'] },
      ],
      ports: [{ network: 'u', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerIp: '10.22.0.2', containerPort: 80 }],
      endpoints: [{ network: 't', ip: '10.24.0.9' }, { network: 't', ip: 'fd24::9' }],
    },
    ['v28', 'v29'],
  ],
  [
    'bridge-accept-fwmark (Docker 29), with and without a mask',
    {
      acceptFwMark: '0x10/0xff0',
      networks: [{ name: 'a', bridge: 'br-fwmark', subnet: '10.25.0.0/16', subnet6: 'fd25::/64' }],
      ports: [],
    },
    ['v29'],
  ],
  ['bridge-accept-fwmark, a bare mark', { acceptFwMark: '7', networks: [{ name: 'a', bridge: 'br-fwmark', subnet: '10.25.0.0/16' }], ports: [] }, ['v29']],
];

/** The state in each layout with iptables rules (or those given), with the userland proxy on and off. */
function variants(state: Record<string, unknown>, layouts = ['classic', 'v28', 'v29']): DockerState[] {
  const out: DockerState[] = [];
  for (const layout of layouts) {
    for (const userlandProxy of [true, false]) out.push(validateState({ ...state, layout, userlandProxy }));
  }
  return out;
}

const isSctp = (rule: string): boolean => rule.includes('-p sctp');

describe('the rule texts of the Docker rulesets are canonical', () => {
  for (const [name, state, layouts] of states) {
    for (const s of variants(state, layouts)) {
      it(`${name}, ${s.layout}, userland proxy ${s.userlandProxy ? 'on' : 'off'}`, () => {
        const rs = desiredRules(s);
        let seen = 0;
        for (const family of ['ipv4', 'ipv6'] as Family[]) {
          const texts = allRules(rs[family]).map((r) => r.rule).filter((r) => !isSctp(r));
          seen += texts.length;
          expect(nativeDialect.canonical(family, texts)).toEqual(texts);
        }
        expect(seen).toBeGreaterThan(0);
      });
    }
  }

  // Docker's SCTP ports: DNAT, ACCEPT and hairpin MASQUERADE with `-m sctp --dport`, and the
  // checksum rule with `-m sctp --sport` (classic only), as the native dialect's xt_sctp prints them.
  it('the rules of SCTP ports, every state and layout', () => {
    const texts: Record<Family, Set<string>> = { ipv4: new Set(), ipv6: new Set() };
    for (const [, state, layouts] of states) {
      for (const s of variants(state, layouts)) {
        const rs = desiredRules(s);
        for (const family of ['ipv4', 'ipv6'] as Family[]) for (const r of allRules(rs[family])) if (isSctp(r.rule)) texts[family].add(r.rule);
      }
    }
    expect(texts.ipv4.size + texts.ipv6.size).toBeGreaterThan(0);
    for (const family of ['ipv4', 'ipv6'] as Family[]) {
      const list = [...texts[family]];
      expect(nativeDialect.canonical(family, list)).toEqual(list);
    }
  });

  it('a text that is not canonical is caught (the check is not vacuous)', () => {
    expect(nativeDialect.canonical('ipv4', ['-p tcp --dport 80 -j ACCEPT'])).not.toEqual(['-p tcp --dport 80 -j ACCEPT']);
    expect(nativeDialect.canonical('ipv6', ['-d 2001:DB8::1/128 -j DROP'])).not.toEqual(['-d 2001:DB8::1/128 -j DROP']);
  });
});
