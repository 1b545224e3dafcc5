// Layout "docker-nft" against Docker's own output: for every TestNftabler case of moby
// docker-v29.7.2 (test/golden/moby/docker-v29.7.2-nftables.txt), the state the case's name
// describes is turned into tables by src/docker/nftabler.ts, committed through the object layer
// into a throwaway namespace, and `nft list table` must equal Docker's golden. The only edit:
// nft 1.0.6 prints nat-OUTPUT's `priority dstnat` as -100 (docs/design.md), which moby's own
// test also undoes; counters are compared without their values.
import { describe, expect, it } from 'vitest';
import { commitNftTable } from '../../src/nft/objects.js';
import { nftablerTable } from '../../src/docker/nftabler.js';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { readMobyGoldens } from '../helpers/moby.js';
import { isRoot, withNetns } from '../helpers/netns.js';

const goldens = readMobyGoldens('docker-v29.7.2-nftables.txt');

/**
 * nftabler_test.go: one network br-dummy (192.168.0.0/24 and fd49:efd7:54aa::/64), one endpoint
 * (192.168.0.2, fd49:efd7:54aa::1), ports tcp 8080 -> 80 on 0.0.0.0 and :: (bindlh: 127.0.0.1
 * and ::1), snat: host addresses 192.168.123.0 and fd34:d0d4:672f::123, both families enabled.
 * "cleaned": the daemon's table without networks. An internal case's name leaves out the port
 * options, which Docker ignores for it (as the state model refuses ports on an internal network).
 */
export function stateOfCase(name: string): DockerState {
  const opts = new Map(name.split(',').map((kv) => kv.split('=') as [string, string]));
  const flag = (k: string): boolean => {
    const v = opts.get(k);
    if (v !== 'true' && v !== 'false') throw new Error(`case ${name}: ${k}=${v}`);
    return v === 'true';
  };
  const base = { layout: 'docker-nft', userlandProxy: !flag('hairpin'), iptables: true, ip6tables: true };
  if (opts.has('cleaned')) return validateState({ ...base, networks: [], ports: [] });
  const internal = flag('internal');
  const gwm = internal ? 'nat' : opts.get('gwm')!;
  const snat = !internal && flag('snat');
  const bindlh = !internal && flag('bindlh');
  const network = {
    name: 'dummy',
    bridge: 'br-dummy',
    subnet: '192.168.0.0/24',
    subnet6: 'fd49:efd7:54aa::/64',
    icc: flag('icc'),
    masquerade: internal ? true : flag('masq'),
    internal,
    gatewayModeIpv4: gwm,
    gatewayModeIpv6: gwm,
    ...(snat ? { hostIpv4: '192.168.123.0', hostIpv6: 'fd34:d0d4:672f::123' } : {}),
  };
  const ports = internal
    ? []
    : [
        { network: 'dummy', proto: 'tcp', hostIp: bindlh ? '127.0.0.1' : '0.0.0.0', hostPort: 8080, containerIp: '192.168.0.2', containerPort: 80 },
        { network: 'dummy', proto: 'tcp', hostIp: bindlh ? '::1' : '::', hostPort: 8080, containerIp: 'fd49:efd7:54aa::1', containerPort: 80 },
      ];
  const endpoints = [
    { network: 'dummy', ip: '192.168.0.2' },
    { network: 'dummy', ip: 'fd49:efd7:54aa::1' },
  ];
  return validateState({ ...base, networks: [network], ports, endpoints });
}

const normalise = (text: string): string =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace('type nat hook output priority -100;', 'type nat hook output priority dstnat;').replace(/counter packets \d+ bytes \d+/g, 'counter'))
    .join('\n');

describe.skipIf(!isRoot)("Docker 29's nftables back end (layout docker-nft) against moby's TestNftabler goldens", () => {
  const cases = [...goldens.keys()].filter((k) => k.startsWith('TestNftabler/'));

  it('the golden file holds the cases nftabler_test.go writes', () => {
    // 2 "cleaned" + 4 internal (hairpin, icc) + 2*2*2*2*3*2 external configurations, each for ip and ip6.
    expect(cases).toHaveLength(2 * (2 + 4 + 96));
  });

  it('every case lists exactly as Docker wrote it', async () => {
    const failures: string[] = [];
    await withNetns(async (ns) => {
      for (const key of cases) {
        const m = /^TestNftabler\/(.*)__(ip6?)$/.exec(key)!;
        const fam = m[2] as 'ip' | 'ip6';
        const state = stateOfCase(m[1]!);
        // A fresh table per case, so that chains are made in the order Docker makes them.
        ns.ok('nft', ['-f', '-'], `table ${fam} docker-bridges {}\ndelete table ${fam} docker-bridges\n`);
        await commitNftTable(nftablerTable(state, fam === 'ip' ? 'ipv4' : 'ipv6'), { netns: ns.name });
        const listed = normalise(ns.ok('nft', ['list', 'table', fam, 'docker-bridges']));
        const golden = normalise(goldens.get(key)!);
        if (listed !== golden) failures.push(`${key}\n--- listed\n${listed}\n--- golden\n${golden}`);
      }
    });
    expect(failures.length, failures.slice(0, 2).join('\n\n')).toBe(0);
  }, 300_000);
});
