// The workload every benchmark and the demo share: N published ports in Docker's classic
// layout, 3 rules each (nat DOCKER DNAT, nat POSTROUTING hairpin MASQUERADE, filter DOCKER
// ACCEPT), as iptables-restore input for --noflush on top of a Docker host.

import { desiredRules } from '../src/docker/desired.js';
import type { DockerPort, DockerState } from '../src/docker/state.js';
import { BUILTIN_CHAINS } from '../src/rules/model.js';

export const DEMO_BRIDGE = 'br-0123456789ab';

export interface PortRules {
  /** `-A …` lines per table. */
  nat: string[];
  filter: string[];
}

/** Host ports one protocol offers from 10000 on; later ports go to the next protocol. */
const PORTS_PER_PROTO = 65_536 - 10_000;

/**
 * The container address of the i-th published port: 172.19.0.2 onwards, then (past 65,533
 * ports, for the scale run) 172.18.0.1 onwards, all in the network's 172.18.0.0/15.
 */
export function containerIp(i: number): string {
  const n = i + 2;
  if (n < 65_535) return `172.19.${(n >> 8) & 255}.${n & 255}`;
  const m = n - 65_535 + 1;
  return `172.18.${(m >> 8) & 255}.${m & 255}`;
}

/** Host port of the i-th published port: 10000 onwards, like a large port range. */
export function hostPort(i: number): number {
  return 10_000 + (i % PORTS_PER_PROTO);
}

/** Protocol of the i-th published port: tcp, then udp once tcp's host ports are used up. */
export function portProto(i: number): 'tcp' | 'udp' {
  return i < PORTS_PER_PROTO ? 'tcp' : 'udp';
}

export function portRules(count: number, offset = 0, bridge = DEMO_BRIDGE): PortRules {
  const nat: string[] = [];
  const filter: string[] = [];
  for (let k = offset; k < offset + count; k++) {
    const ip = containerIp(k);
    const hp = hostPort(k);
    const p = portProto(k);
    nat.push(`-A DOCKER ! -i ${bridge} -p ${p} -m ${p} --dport ${hp} -j DNAT --to-destination ${ip}:80`);
    nat.push(`-A POSTROUTING -s ${ip}/32 -d ${ip}/32 -p ${p} -m ${p} --dport 80 -j MASQUERADE`);
    filter.push(`-A DOCKER -d ${ip}/32 ! -i ${bridge} -o ${bridge} -p ${p} -m ${p} --dport 80 -j ACCEPT`);
  }
  return { nat, filter };
}

/**
 * The restore input (for --noflush) that adds the ports' rules to an existing Docker host.
 * `createFilterDocker` declares filter's DOCKER chain, for a host (the seed) that has only nat.
 */
export function portRestoreInput(count: number, offset = 0, bridge = DEMO_BRIDGE, createFilterDocker = false): string {
  const r = portRules(count, offset, bridge);
  const filterHead = createFilterDocker ? [':DOCKER - [0:0]'] : [];
  return ['*nat', ...r.nat, 'COMMIT', '*filter', ...filterHead, ...r.filter, 'COMMIT', ''].join('\n');
}

/** A minimal Docker host (classic layout, one bridge) as iptables-restore input. */
export function dockerHostInput(bridge = DEMO_BRIDGE): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    `-A POSTROUTING -s 172.19.0.0/16 ! -o ${bridge} -j MASQUERADE`,
    `-A DOCKER -i ${bridge} -j RETURN`,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    `-A FORWARD -o ${bridge} -j DOCKER`,
    'COMMIT',
    '',
  ].join('\n');
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- Added for the benchmark (bench/run.ts); the functions above are unchanged. ----

/** The i-th published port of the workload as a DockerPort (its rules are portRules' i-th). */
export function dockerPort(i: number, bridge = DEMO_BRIDGE): DockerPort {
  return { network: bridge, proto: portProto(i), hostIp: '0.0.0.0', hostPort: hostPort(i), containerIp: containerIp(i), containerPort: 80 };
}

/**
 * The Docker state (classic layout, one bridge network) whose per-port rules are exactly
 * portRules(count): the input of DockerHost.apply. Another layout (the scale scenario's v29,
 * the default) gives the same ports in that layout's rules.
 */
export function dockerState(count: number, bridge = DEMO_BRIDGE, layout: DockerState['layout'] = 'classic'): DockerState {
  return {
    layout,
    userlandProxy: true,
    networks: [{ name: 'app', bridge, subnet: '172.18.0.0/15', icc: true, masquerade: true, internal: false }],
    ports: Array.from({ length: count }, (_, i) => ({ ...dockerPort(i, bridge), network: 'app' })),
  } as DockerState;
}

/**
 * The rules DockerHost.apply(dockerState(count)) writes to a fresh namespace, as one full
 * (flushing) iptables-restore input: Docker's model (desiredRules) printed as restore text —
 * built-in chains' top blocks, then bottom blocks, then Docker's own chains and DOCKER-USER.
 * The back end's own restore tool loads it for the yardstick and for the reference end state.
 */
export function dockerApplyInput(count: number, bridge = DEMO_BRIDGE, layout: DockerState['layout'] = 'classic'): string {
  const rs = desiredRules(dockerState(count, bridge, layout)).ipv4;
  const out: string[] = [];
  for (const table of ['raw', 'mangle', 'nat', 'filter'] as const) {
    const own = [...rs.ownedChains, ...rs.userChains].filter((c) => c.table === table);
    const builtin = rs.builtinRules.filter((g) => g.table === table);
    if (own.length + builtin.length === 0) continue;
    out.push(`*${table}`);
    // Docker's FORWARD policy DROP, where the state has it set (desiredRules' forwardPolicy).
    const policy = (c: string): string => (table === 'filter' && c === 'FORWARD' ? (rs.forwardPolicy ?? 'ACCEPT') : 'ACCEPT');
    for (const c of BUILTIN_CHAINS[table]) out.push(`:${c} ${policy(c)} [0:0]`);
    for (const c of own) out.push(`:${c.chain} - [0:0]`);
    for (const c of BUILTIN_CHAINS[table]) {
      for (const pos of ['top', 'bottom'] as const) {
        for (const g of builtin) if (g.chain === c && g.position === pos) for (const r of g.rules) out.push(`-A ${c} ${r}`);
      }
    }
    for (const c of own) for (const r of c.rules) out.push(`-A ${c.chain} ${r}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** A Docker host that already has `count` published ports, as one full (flushing) restore input. */
export function dockerHostWithPortsInput(count: number, bridge = DEMO_BRIDGE): string {
  const r = portRules(count, 0, bridge);
  const host = dockerHostInput(bridge).split('\n');
  const out: string[] = [];
  let table = '';
  for (const line of host) {
    if (line.startsWith('*')) table = line.slice(1);
    if (line === 'COMMIT') for (const rule of table === 'nat' ? r.nat : table === 'filter' ? r.filter : []) out.push(rule);
    out.push(line);
  }
  return out.join('\n');
}

/** The restore input (for --noflush) that removes the ports' rules again (`-D` of each). */
export function portDeleteRestoreInput(count: number, offset = 0, bridge = DEMO_BRIDGE): string {
  const r = portRules(count, offset, bridge);
  const del = (l: string): string => l.replace(/^-A /, '-D ');
  return ['*nat', ...r.nat.map(del), 'COMMIT', '*filter', ...r.filter.map(del), 'COMMIT', ''].join('\n');
}
