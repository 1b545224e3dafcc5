// Layout "docker-nft" read back: the Docker state that Docker 29's `docker-bridges` tables (as
// the object layer reads them) describe, the inverse of nftabler.ts. Each rule's expressions are
// first read as the nft phrases Docker writes (src/nft/exprs.ts makes the same phrases); a rule
// of another shape is not Docker's and says nothing. What the tables cannot say comes from the
// hints (the record of the last apply, or the caller's), as for the iptables layouts (infer.ts):
// network names, a routed or internal network's masquerade and subnet, an internal network's
// `isolated` mode, the daemon options that no rule shows. The phrases: nftabler-phrases.ts.

import type { Family } from '../rules/model.js';
import type { NftRule, NftTable } from '../nft/objects.js';
import { canonicalAddress, parseAddress, parsePrefix, prefixContains } from './address.js';
import { fwMarkHint, guessSubnet, mergeRanges, subnetHint, type InferHints, type NetworkHint } from './infer.js';
import { FWD_IN_VMAP, NAT_CHAIN, OUTPUT_CHAIN, RAW_PREROUTING_CHAIN, fwdInChain, fwdOutChain, postrtInChain, postrtOutChain } from './nftabler.js';
import { phrasesOf, type Phrase } from './nftabler-phrases.js';
import type { PortBinding } from './ruleset.js';
import { canonicalFwMark, type DockerEndpoint, type DockerNetwork, type DockerState, type GatewayMode } from './state.js';

interface FamilyNet {
  bridge: string;
  subnet?: string;
  internal: boolean;
  icc: boolean;
  mode?: GatewayMode;
  masquerade: boolean;
  hostIp?: string;
  fwMark?: string;
}

interface FamilyRead {
  family: Family;
  /** Oldest network first, as Docker makes their chains. */
  nets: FamilyNet[];
  userlandProxy: boolean;
  bindings: Array<PortBinding & { bridge?: string }>;
  /** DROP DIRECT ACCESS rules in order: container address, bridge, the trusted interfaces beside it. */
  direct: Array<{ ip: string; bridge: string; trusted: string[] }>;
}

const rulesOf = (t: NftTable, chain: string): NftRule[] => t.chains?.find((c) => c.name === chain)?.rules ?? [];

function readFamily(t: NftTable, family: Family): FamilyRead {
  const v6 = family === 'ipv6';
  const ph = (r: NftRule): Phrase[] => phrasesOf(r.exprs, v6, r.anonymousSets) ?? [];
  const find = <K extends Phrase['k']>(p: Phrase[], k: K): Extract<Phrase, { k: K }> | undefined => p.find((x) => x.k === k) as Extract<Phrase, { k: K }> | undefined;
  const output = rulesOf(t, OUTPUT_CHAIN).map(ph);
  // With the userland proxy nat-OUTPUT skips loopback destinations.
  const userlandProxy = output.some((p) => p.some((x) => x.k === 'addr' && x.which === 'daddr' && x.neq));
  const bridges = (t.sets?.find((s) => s.name === FWD_IN_VMAP)?.elements ?? []).map((e) => String(e.key));
  // Chains are listed in the order they were made: the oldest network's first.
  const order = (t.chains ?? []).map((c) => c.name).filter((n) => n.startsWith('filter-forward-in__')).map((n) => n.slice('filter-forward-in__'.length));
  const nets: FamilyNet[] = [];
  for (const bridge of order) {
    if (!bridges.includes(bridge)) continue;
    const fwdIn = rulesOf(t, fwdInChain(bridge));
    const comment = (c: string): NftRule | undefined => fwdIn.find((r) => r.comment === c);
    const internal = comment('INTERNAL NETWORK INGRESS') !== undefined || rulesOf(t, fwdOutChain(bridge)).some((r) => r.comment === 'INTERNAL NETWORK EGRESS');
    const icc = find(ph(comment('ICC') ?? { exprs: [] }), 'verdict')?.v === 'accept';
    const mode: GatewayMode | undefined = internal ? undefined : comment('ICMP') ? 'routed' : comment('UNPROTECTED') ? 'nat-unprotected' : undefined;
    const n: FamilyNet = { bridge, internal, icc, masquerade: false, ...(mode ? { mode } : {}) };
    const mark = find(ph(comment('ALLOW FW MARK') ?? { exprs: [] }), 'mark');
    if (mark) n.fwMark = canonicalFwMark(mark.mask === 0xffffffff ? String(mark.mark) : `${mark.mark}/${mark.mask}`);
    for (const r of rulesOf(t, postrtOutChain(bridge))) {
      if (r.comment !== 'MASQUERADE' && r.comment !== 'SNAT') continue;
      const p = ph(r);
      const saddr = p.find((x) => x.k === 'addr' && x.which === 'saddr') as Extract<Phrase, { k: 'addr' }> | undefined;
      if (saddr) n.subnet = saddr.cidr.includes('/') ? saddr.cidr : `${saddr.cidr}/${v6 ? 128 : 32}`;
      n.masquerade = true;
      const s = find(p, 'snat');
      if (s) n.hostIp = s.ip;
    }
    for (const r of rulesOf(t, postrtInChain(bridge))) {
      const s = r.comment === 'SNAT FROM HOST' ? find(ph(r), 'snat') : undefined;
      if (s) n.hostIp = s.ip;
    }
    nets.push(n);
  }
  const bindings: FamilyRead['bindings'] = [];
  for (const r of rulesOf(t, NAT_CHAIN)) {
    if (r.comment !== 'DNAT') continue;
    const p = ph(r);
    const to = find(p, 'dnat');
    const port = find(p, 'port');
    if (!to || !port) continue;
    const daddr = p.find((x) => x.k === 'addr' && x.which === 'daddr' && !x.neq) as Extract<Phrase, { k: 'addr' }> | undefined;
    const skip = p.find((x) => x.k === 'if' && x.dir === 'iifname' && x.neq) as Extract<Phrase, { k: 'if' }> | undefined;
    bindings.push({
      network: '',
      proto: port.proto,
      hostIp: daddr ? daddr.cidr : v6 ? '::' : '0.0.0.0',
      hostPort: port.port,
      containerIp: to.ip,
      containerPort: to.port,
      family,
      ...(skip ? { bridge: skip.name } : {}),
    });
  }
  const direct: FamilyRead['direct'] = [];
  for (const r of rulesOf(t, RAW_PREROUTING_CHAIN)) {
    if (r.comment !== 'DROP DIRECT ACCESS') continue;
    const p = ph(r);
    const d = find(p, 'addr');
    const i = find(p, 'if');
    const set = find(p, 'ifset');
    if (d && i) direct.push({ ip: d.cidr, bridge: i.name, trusted: [] });
    // With trusted host interfaces: the set's name that is a network's bridge, and the others.
    const bridge = set?.names.find((n) => order.includes(n));
    if (d && set && bridge !== undefined) direct.push({ ip: d.cidr, bridge, trusted: set.names.filter((n) => n !== bridge) });
  }
  return { family, nets, userlandProxy, bindings, direct };
}

/** The state the tables (ip, ip6; null: absent) describe, with the hints for what they cannot say. */
export function inferNftabler(tables: Partial<Record<Family, NftTable | null>>, hints: InferHints = {}): DockerState {
  const reads = (['ipv4', 'ipv6'] as const).flatMap((f) => (tables[f] ? [readFamily(tables[f]!, f)] : []));
  const hintOf = new Map<string, NetworkHint>((hints.networks ?? []).map((h) => [h.bridge, h]));
  const networks = new Map<string, DockerNetwork>();
  const used = new Set<string>();
  let fwMark: string | undefined;
  for (const r of reads) {
    // The network a binding belongs to: the bridge its DNAT skips, else the subnet holding it.
    const known = (n: FamilyNet): string | undefined => n.subnet ?? subnetHint(hintOf.get(n.bridge), r.family);
    for (const b of r.bindings) {
      if (b.bridge !== undefined) continue;
      const a = parseAddress(b.containerIp)!;
      b.bridge = r.nets.find((n) => {
        const s = known(n);
        return s !== undefined && prefixContains(parsePrefix(s)!, a);
      })?.bridge;
      // Hairpin mode: the container's own-port MASQUERADE names its network's chain.
      b.bridge ??= r.nets.find((n) =>
        rulesOf(tables[r.family]!, postrtInChain(n.bridge)).some((x) => x.comment === 'MASQ TO OWN PORT' && (phrasesOf(x.exprs, r.family === 'ipv6', x.anonymousSets) ?? []).some((p) => p.k === 'addr' && p.cidr === b.containerIp)),
      )?.bridge;
    }
    for (const n of r.nets) {
      const hint = hintOf.get(n.bridge);
      const subnet = known(n) ?? guessSubnet(r.family, [...r.bindings.filter((b) => b.bridge === n.bridge).map((b) => b.containerIp), ...r.direct.filter((d) => d.bridge === n.bridge).map((d) => d.ip)]);
      let net = networks.get(n.bridge);
      if (!net) {
        const named = typeof hint?.name === 'string' && hint.name !== '' && !used.has(hint.name) ? hint.name : undefined;
        // A routed or internal network writes no subnet NAT: its masquerade is the hint's (else Docker's default).
        const masquerade = n.masquerade || ((n.internal || n.mode === 'routed') && hint?.masquerade !== false);
        net = { name: named ?? (n.bridge === 'docker0' ? 'bridge' : n.bridge), bridge: n.bridge, subnet, icc: n.icc, masquerade, internal: n.internal };
        used.add(net.name);
        networks.set(n.bridge, net);
      } else if (r.family === 'ipv6') {
        net.subnet6 = subnet;
        if (n.masquerade) net.masquerade = true;
      }
      const modeKey = r.family === 'ipv4' ? 'gatewayModeIpv4' : 'gatewayModeIpv6';
      const hintMode = hint?.[modeKey];
      if (n.mode) net[modeKey] = n.mode;
      else if (n.internal && hintMode === 'isolated') net[modeKey] = 'isolated';
      const hostKey = r.family === 'ipv4' ? 'hostIpv4' : 'hostIpv6';
      const hintHost = hint?.[hostKey];
      if (n.hostIp) net[hostKey] = n.hostIp;
      // A routed family shows no SNAT target unless hairpin writes its FROM HOST rule.
      else if (n.mode === 'routed' && typeof hintHost === 'string' && parseAddress(hintHost)?.family === r.family) net[hostKey] = canonicalAddress(hintHost)!;
      fwMark ??= n.fwMark;
    }
  }
  // Newest network first, as the state lists them; networks only in the ip6 table after.
  const order = [...new Set(reads.flatMap((r) => [...r.nets].reverse().map((n) => n.bridge)))];
  const stateNets = order.map((b) => networks.get(b)!);
  const nameOf = new Map(stateNets.map((n) => [n.bridge, n.name]));
  const bindings: PortBinding[] = reads.flatMap((r) => r.bindings.filter((b) => b.bridge !== undefined && nameOf.has(b.bridge)).map(({ bridge, ...b }) => ({ ...b, network: nameOf.get(bridge!)! })));
  const state: DockerState = {
    layout: 'docker-nft',
    userlandProxy: reads[0]?.userlandProxy ?? true,
    networks: stateNets,
    ports: mergeRanges(bindings),
  };
  // A table without a network of its family: the daemon's --iptables/--ip6tables.
  for (const [family, key] of [['ipv4', 'iptables'], ['ipv6', 'ip6tables']] as const) {
    const own = reads.find((r) => r.family === family)?.nets.length ?? 0;
    if (tables[family] && own === 0) state[key] = true;
    else if (!tables[family] && hints[key] === false) state[key] = false;
  }
  // The mark rule comes with an external network; without one, the hint's.
  const mark = fwMark ?? (stateNets.every((n) => n.internal) ? fwMarkHint(hints.acceptFwMark) : undefined);
  if (mark !== undefined) state.acceptFwMark = mark;
  // allow-direct-routing: no direct-access DROP although a published container would have one.
  const direct = reads.flatMap((r) => r.direct);
  const filtered = bindings.some((b) => {
    const n = stateNets.find((x) => x.name === b.network)!;
    const mode = (b.family === 'ipv4' ? n.gatewayModeIpv4 : n.gatewayModeIpv6) ?? 'nat';
    return !n.internal && mode === 'nat';
  });
  if (direct.length === 0 && (filtered || hints.allowDirectRouting === true)) state.allowDirectRouting = true;
  // Trusted host interfaces show in a container's direct-access drop; without one, the hint's.
  for (const n of stateNets) {
    const shown = direct.find((d) => d.bridge === n.bridge);
    const hinted = hintOf.get(n.bridge)?.trustedHostInterfaces;
    if (shown && shown.trusted.length > 0) n.trustedHostInterfaces = [...shown.trusted];
    else if (!shown && Array.isArray(hinted) && hinted.length > 0 && hinted.every((x) => typeof x === 'string')) n.trustedHostInterfaces = [...(hinted as string[])];
  }
  // Endpoints only when the DROPs are not just the published containers' in port order.
  const endpoints: DockerEndpoint[] = direct.filter((d) => nameOf.has(d.bridge)).map((d) => ({ network: nameOf.get(d.bridge)!, ip: d.ip }));
  const fromPorts: string[] = [];
  for (const b of bindings) {
    const n = stateNets.find((x) => x.name === b.network)!;
    const mode = (b.family === 'ipv4' ? n.gatewayModeIpv4 : n.gatewayModeIpv6) ?? 'nat';
    if (mode === 'nat' && !fromPorts.includes(b.containerIp)) fromPorts.push(b.containerIp);
  }
  const seen = reads.flatMap((r) => r.direct.map((d) => d.ip));
  if (!state.allowDirectRouting && (seen.length !== fromPorts.length || seen.some((ip, i) => ip !== fromPorts[i]))) state.endpoints = endpoints;
  return state;
}
