// inferState: the Docker state a host's iptables-save texts describe, so that on a healthy
// host desiredRules(inferState(x)) gives back x's Docker rules.
//
// The rules determine: layout (DOCKER-FORWARD exists → v28), userlandProxy, each network's
// bridge, order, icc, internal, masquerade, and its subnet when a MASQUERADE or internal DROP
// rule names it; each port's proto, host address and port, container address and port, and
// network. They do not hold network names, the subnet of a network that neither masquerades
// nor is internal, nor whether an internal network would masquerade: names and subnets come
// from `hints` (`docker network inspect`); else the name is "bridge" for docker0 and the
// bridge name otherwise, an internal network's masquerade is Docker's default (true), and the
// subnet is the /16 (IPv6: /64) around the network's first container address, or 0.0.0.0/32
// (::/128) when it has none.
// Consecutive DNAT rules that differ only by one more host and container port are one range.

import type { Family } from '../rules/model.js';
import { familyOf, parseAddress, parsePrefix, formatPrefix, maskAddress } from './address.js';
import { neg, parseArgs, pos, type RuleArgs } from './args.js';
import { readSaves, rulesOf, hasChain, type FamilySaves, type FamilyTables } from './saves.js';
import type { DockerEndpoint, DockerLayout, DockerNetwork, DockerPort, DockerProto, DockerState } from './state.js';
import { DOCKER_PROTOS } from './state.js';
import { v28Rules } from './v28.js';
import { builtinChainRules } from './ruleset.js';
import { isDockerRule } from './recognise.js';

export interface InferHints {
  /** What `docker network inspect` knows and the rules do not: names and subnets by bridge. */
  networks?: Array<{ bridge: string; name?: string; subnet?: string; subnet6?: string }>;
}

interface NetFacts {
  bridge: string;
  subnet?: string;
  masquerade: boolean;
  internal: boolean;
  iccDrop: boolean;
}

interface FamilyFacts {
  family: Family;
  layout: DockerLayout;
  userlandProxy?: boolean;
  nets: Map<string, NetFacts>;
  order: string[];
  ports: Array<Omit<DockerPort, 'network'> & { bridge?: string }>;
  /** raw PREROUTING direct-access DROPs, in order: container address → bridge. */
  direct: Array<{ ip: string; bridge: string }>;
}

function stripHost(cidr: string): string {
  return cidr.replace(/\/(32|128)$/, '');
}

/** A published port as nat DOCKER's DNAT rule describes it (`notIn`: its `! -i` bridge). */
export interface DnatPort {
  proto: DockerProto;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  notIn?: string;
}

/** The port a nat DOCKER rule publishes, or undefined when it is not a port's DNAT. */
export function dnatPortOf(r: RuleArgs, family: Family): DnatPort | undefined {
  if (r.target !== 'DNAT') return undefined;
  const proto = pos(r, '-p');
  const dport = pos(r, '--dport');
  const to = pos(r, '--to-destination');
  if (!proto || !DOCKER_PROTOS.includes(proto as DockerProto) || !dport || !to) return undefined;
  const m = /^\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/.exec(to);
  if (!m) return undefined;
  const notIn = neg(r, '-i');
  const d = pos(r, '-d');
  return {
    proto: proto as DockerProto,
    hostIp: d !== undefined ? stripHost(d) : family === 'ipv4' ? '0.0.0.0' : '::',
    hostPort: Number(dport),
    containerIp: m[1]!,
    containerPort: Number(m[2]),
    ...(notIn !== undefined ? { notIn } : {}),
  };
}

function factsOf(t: FamilyTables): FamilyFacts {
  const layout: DockerLayout = hasChain(t, 'filter', 'DOCKER-FORWARD') ? 'v28' : 'classic';
  const nets = new Map<string, NetFacts>();
  const seen: string[] = [];
  const net = (bridge: string): NetFacts => {
    let n = nets.get(bridge);
    if (!n) {
      n = { bridge, masquerade: false, internal: false, iccDrop: false };
      nets.set(bridge, n);
      seen.push(bridge);
    }
    return n;
  };
  const parsed = (table: string, chain: string): RuleArgs[] => rulesOf(t, table, chain).map(parseArgs);

  let userlandProxy: boolean | undefined;
  for (const r of parsed('nat', 'OUTPUT')) {
    if (r.target === 'DOCKER' && r.matches.includes('addrtype')) userlandProxy = neg(r, '-d') !== undefined;
  }

  for (const r of parsed('nat', 'POSTROUTING')) {
    const o = neg(r, '-o');
    const s = pos(r, '-s');
    if (r.target === 'MASQUERADE' && o !== undefined && s !== undefined && r.opts.size === 2) {
      const n = net(o);
      n.subnet = s;
      n.masquerade = true;
    } else if (r.target === 'MASQUERADE' && pos(r, '-o') !== undefined && pos(r, '--src-type') === 'LOCAL') {
      net(pos(r, '-o')!);
      userlandProxy ??= false;
    }
  }

  const iso1 = parsed('filter', 'DOCKER-ISOLATION-STAGE-1');
  const isoOrder: string[] = [];
  for (const r of iso1) {
    if (r.target === 'DROP' && neg(r, '-s') !== undefined && r.opts.get('-o')?.neg === false) {
      const n = net(pos(r, '-o')!);
      n.internal = true;
      n.subnet = neg(r, '-s');
      isoOrder.push(n.bridge);
    } else if (r.target === 'DROP' && neg(r, '-d') !== undefined && pos(r, '-i') !== undefined) {
      const n = net(pos(r, '-i')!);
      n.internal = true;
      n.subnet ??= neg(r, '-d');
      isoOrder.push(n.bridge);
    } else if (r.target === 'DOCKER-ISOLATION-STAGE-2' && pos(r, '-i') !== undefined) {
      isoOrder.push(net(pos(r, '-i')!).bridge);
    }
  }

  const forwardOrder: string[] = [];
  const iccRules = layout === 'v28' ? parsed('filter', 'DOCKER-FORWARD') : parsed('filter', 'FORWARD');
  for (const r of iccRules) {
    const i = pos(r, '-i');
    const o = pos(r, '-o');
    if (i !== undefined && (o === i || (o === undefined && !r.opts.has('-o')) || neg(r, '-o') === i)) {
      const n = net(i);
      if (o === i && r.target === 'DROP') n.iccDrop = true;
      forwardOrder.push(i);
    } else if (o !== undefined && (r.target === 'DOCKER' || r.matches.includes('conntrack'))) {
      net(o);
    }
  }
  for (const chain of ['DOCKER-BRIDGE', 'DOCKER-CT']) for (const r of parsed('filter', chain)) if (pos(r, '-o')) net(pos(r, '-o')!);
  for (const r of parsed('filter', 'DOCKER-ISOLATION-STAGE-2')) if (pos(r, '-o')) net(pos(r, '-o')!);

  // Which bridge a container address:port belongs to, from filter DOCKER's ACCEPT rules.
  const acceptBridge = new Map<string, string>();
  for (const r of parsed('filter', 'DOCKER')) {
    const d = pos(r, '-d');
    const o = pos(r, '-o');
    if (r.target === 'ACCEPT' && d !== undefined && o !== undefined) acceptBridge.set(stripHost(d), o);
  }

  const ports: FamilyFacts['ports'] = [];
  for (const r of parsed('nat', 'DOCKER')) {
    if (r.target === 'RETURN' && pos(r, '-i') !== undefined) {
      const n = net(pos(r, '-i')!);
      n.masquerade = true;
      userlandProxy ??= true;
      continue;
    }
    const p = dnatPortOf(r, t.family);
    if (!p) continue;
    if (p.notIn !== undefined) userlandProxy ??= true;
    const { notIn, ...port } = p;
    ports.push({
      ...port,
      ...(notIn !== undefined ? { bridge: notIn } : acceptBridge.has(port.containerIp) ? { bridge: acceptBridge.get(port.containerIp)! } : {}),
    });
  }

  const direct: FamilyFacts['direct'] = [];
  for (const r of parsed('raw', 'PREROUTING')) {
    const d = pos(r, '-d');
    const notIn = neg(r, '-i');
    if (r.target === 'DROP' && d !== undefined && notIn !== undefined && notIn !== 'lo' && r.opts.size === 2) {
      direct.push({ ip: stripHost(d), bridge: notIn });
    }
  }

  // Top first: classic lists every network in DOCKER-ISOLATION-STAGE-1 newest first; v28
  // appends each network's DOCKER-FORWARD rules, so that chain is oldest first.
  const primary = layout === 'v28' ? [...new Set(forwardOrder)].reverse() : [...new Set(isoOrder)];
  const order = [...new Set([...primary, ...seen])];
  return { family: t.family, layout, nets, order, ports, direct, ...(userlandProxy !== undefined ? { userlandProxy } : {}) };
}

function guessSubnet(family: Family, ips: string[]): string {
  const a = ips.map(parseAddress).find((x) => x?.family === family);
  if (!a) return family === 'ipv4' ? '0.0.0.0/32' : '::/128';
  const length = family === 'ipv4' ? 16 : 64;
  return formatPrefix({ addr: maskAddress(a, length), length });
}

function mergeRanges(ports: DockerPort[]): DockerPort[] {
  const out: Array<DockerPort & { hostLast: number; contLast: number }> = [];
  for (const p of ports) {
    const last = out[out.length - 1];
    if (
      last &&
      last.network === p.network &&
      last.proto === p.proto &&
      last.hostIp === p.hostIp &&
      last.containerIp === p.containerIp &&
      p.hostPort === last.hostLast + 1 &&
      p.containerPort === last.contLast + 1
    ) {
      last.hostLast++;
      last.contLast++;
      continue;
    }
    out.push({ ...p, hostLast: p.hostPort as number, contLast: p.containerPort as number });
  }
  return out.map(({ hostLast, contLast, ...p }) => ({
    ...p,
    hostPort: hostLast === p.hostPort ? p.hostPort : `${p.hostPort}-${hostLast}`,
    containerPort: contLast === p.containerPort ? p.containerPort : `${p.containerPort}-${contLast}`,
  }));
}

export function inferState(saves: readonly FamilySaves[], hints: InferHints = {}): DockerState {
  const facts = readSaves(saves).map(factsOf);
  const v4 = facts.find((f) => f.family === 'ipv4' && f.nets.size > 0);
  const lead = v4 ?? facts.find((f) => f.nets.size > 0) ?? facts[0];
  const hintOf = new Map((hints.networks ?? []).map((h) => [h.bridge, h]));

  const networks = new Map<string, DockerNetwork>();
  const families = new Map<string, Map<Family, string>>();
  const portsByFamily: DockerPort[] = [];
  for (const f of facts) {
    const bridgeOfIp = (ip: string): string | undefined => {
      const a = parseAddress(ip);
      for (const n of f.nets.values()) {
        const p = n.subnet !== undefined ? parsePrefix(n.subnet) : undefined;
        if (p && a && formatPrefix({ addr: maskAddress(a, p.length), length: p.length }) === formatPrefix(p)) return n.bridge;
      }
      return undefined;
    };
    const famPorts = f.ports.map((p) => ({ ...p, bridge: p.bridge ?? bridgeOfIp(p.containerIp) }));
    for (const bridge of f.order) {
      const nf = f.nets.get(bridge)!;
      const hint = hintOf.get(bridge);
      const fromHint = f.family === 'ipv4' ? hint?.subnet : (hint?.subnet6 ?? (familyOf(hint?.subnet?.split('/')[0] ?? '') === 'ipv6' ? hint?.subnet : undefined));
      const subnet =
        nf.subnet ?? fromHint ?? guessSubnet(f.family, famPorts.filter((p) => p.bridge === bridge).map((p) => p.containerIp));
      let n = networks.get(bridge);
      if (!n) {
        n = {
          name: hint?.name ?? (bridge === 'docker0' ? 'bridge' : bridge),
          bridge,
          subnet,
          icc: !nf.iccDrop,
          // An internal network has no NAT rule either way: keep Docker's default.
          masquerade: nf.internal ? true : nf.masquerade,
          internal: nf.internal,
        };
        networks.set(bridge, n);
        families.set(bridge, new Map([[f.family, subnet]]));
      } else if (f.family === 'ipv6' && familyOf(n.subnet.split('/')[0]!) === 'ipv4') {
        n.subnet6 = subnet;
      } else if (f.family === 'ipv4' && familyOf(n.subnet.split('/')[0]!) === 'ipv6') {
        n.subnet6 = n.subnet;
        n.subnet = subnet;
      }
    }
    for (const p of famPorts) {
      const n = p.bridge !== undefined ? networks.get(p.bridge) : undefined;
      if (!n) continue;
      const { bridge: _b, ...rest } = p;
      portsByFamily.push({ network: n.name, ...rest });
    }
  }

  // Keep the IPv4 order, with networks seen only in the IPv6 tables after them.
  const order = [...new Set(facts.flatMap((f) => f.order))];
  const state: DockerState = {
    layout: lead?.layout ?? 'classic',
    userlandProxy: lead?.userlandProxy ?? facts.find((f) => f.userlandProxy !== undefined)?.userlandProxy ?? true,
    networks: order.map((b) => networks.get(b)!),
    ports: mergeRanges(portsByFamily),
  };

  if (state.layout === 'v28') {
    // Keep the endpoints only when the raw DROPs are not just the published containers'.
    const byBridge = new Map(state.networks.map((n) => [n.bridge, n.name]));
    const endpoints: DockerEndpoint[] = facts.flatMap((f) =>
      f.direct.filter((d) => byBridge.has(d.bridge)).map((d) => ({ network: byBridge.get(d.bridge)!, ip: d.ip })),
    );
    const actual = facts.map((f) =>
      rulesOf({ family: f.family, tables: readSaves(saves).find((s) => s.family === f.family)!.tables }, 'raw', 'PREROUTING').filter((r) =>
        isDockerRule(f.family, 'raw', 'PREROUTING', r, state.networks.map((n) => n.bridge)),
      ),
    );
    const without = facts.map((f) => builtinChainRules(v28Rules(state, f.family), 'raw', 'PREROUTING'));
    if (JSON.stringify(actual) !== JSON.stringify(without) && endpoints.length > 0) state.endpoints = endpoints;
  }
  return state;
}
