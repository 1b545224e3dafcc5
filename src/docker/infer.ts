// inferState: the Docker state a host's iptables-save texts describe, so that on a healthy
// host desiredRules(inferState(x)) gives back x's Docker rules.
//
// The rules determine: layout (recognise.ts layoutOfTables: DOCKER-INTERNAL → v29,
// DOCKER-FORWARD with the isolation chains → v28, or v28.1 with a per-port raw direct-access
// DROP in either family or the record's layout, else classic), userlandProxy, each network's
// bridge, order, icc, internal, masquerade, and its subnet when a MASQUERADE/SNAT or internal
// DROP rule names it; in the iptabler layouts an external network's gateway mode per family
// (routed: ICMP ACCEPT, v28's isolation RETURN; nat-unprotected: default ACCEPT), and the SNAT
// host address wherever a NAT rule of the network's shows it; each port's proto, host address
// and port, container address and port, and network. They do not hold network names, the
// subnet of a network without a NAT rule, masquerade where no NAT rule is written (internal,
// routed), classic's or an internal network's gateway mode, a SNAT address no rule shows:
// these come from `hints` (`docker network inspect`, the record of the applied state:
// record.ts), where the rules do not contradict them; else the name is "bridge" for docker0
// and the bridge name otherwise, masquerade and the modes are Docker's defaults, and the
// subnet is the /16 (IPv6: /64) around the network's first container address, or 0.0.0.0/32
// (::/128) when it has none.
// Consecutive DNAT rules that differ only by one more host and container port are one range.
//
// Rules are canonical text (what iptables-save prints after `-A CHAIN`). Docker's per-port
// rules, nearly all of a big host's rules, are recognised by their exact text in one regular
// expression test each (DNAT_TEXT, ACCEPT_TEXT, DIRECT_TEXT) or skipped when their text cannot
// be what a test looks for; every other rule is read by parseArgs.

import type { Family } from '../rules/model.js';
import { canonicalAddress, familyOf, parseAddress, parsePrefix, formatPrefix, maskAddress } from './address.js';
import { neg, parseArgs, pos, type RuleArgs } from './args.js';
import { readSaves, rulesOf, type FamilySaves, type FamilyTables } from './saves.js';
import type { DockerEndpoint, DockerLayout, DockerNetwork, DockerPort, DockerProto, DockerState, GatewayMode } from './state.js';
import { DEFAULT_LAYOUT, DOCKER_PROTOS, GATEWAY_MODES, canonicalFwMark, gatewayModeOf, hasDockerForward, isIptablerLayout, subnetFor } from './state.js';
import { filtersDirectAccess, v28RawRules } from './v28.js';
import { isDockerRule, layoutOfTables } from './recognise.js';
import { forwardDrop, writesFamily } from './desired.js';
import type { PortBinding } from './ruleset.js';

/** What a hint may say of a network, by bridge (unchecked JSON: each value is checked before use). */
export interface NetworkHint {
  bridge: string;
  name?: unknown;
  subnet?: unknown;
  subnet6?: unknown;
  masquerade?: unknown;
  gatewayModeIpv4?: unknown;
  gatewayModeIpv6?: unknown;
  hostIpv4?: unknown;
  hostIpv6?: unknown;
  trustedHostInterfaces?: unknown;
  [key: string]: unknown;
}

export interface InferHints {
  /**
   * What `docker network inspect` (or the record of the applied state, record.ts) knows and
   * the rules do not, by bridge: names, subnets, and masquerade, gateway modes and SNAT host
   * addresses where the rules do not show them. A hint whose subnet the rules contradict is
   * not used; the rules win wherever they speak.
   */
  networks?: NetworkHint[];
  /** The daemon's --ip6tables, used when the IPv6 tables agree with it. */
  ip6tables?: boolean;
  /** The daemon's --iptables, the same for IPv4. */
  iptables?: boolean;
  /** The daemon's allow-direct-routing, used when no container would show it. */
  allowDirectRouting?: boolean;
  /** Docker 29's bridge-accept-fwmark, used when no external network would show it. */
  acceptFwMark?: string;
  /** The daemon's --ip-forward-no-drop: true holds whatever FORWARD policy the host has. */
  ipForwardNoDrop?: boolean;
  /**
   * The layout applied, used only where the rules cannot tell: `v28.1` on tables that read as
   * v28 (28.0.1-28.1's rules are 28.2's when no nat family has a published port).
   */
  layout?: string;
}

interface NetFacts {
  bridge: string;
  subnet?: string;
  masquerade: boolean;
  /** The subnet's NAT rule or v28's skip-DNAT RETURN was looked for where Docker writes it. */
  masqueradeSeen?: boolean;
  /** The SNAT host address of `-j SNAT --to-source`. */
  hostIp?: string;
  /** A subnet or hairpin-LOCAL NAT rule of the network's was seen (so its target is known). */
  natSeen?: boolean;
  /** The subnet's own NAT rule was seen. */
  subnetNat?: boolean;
  /** The userland proxy's skip-DNAT RETURN was seen (classic: only for a NAT family). */
  skipDnat?: boolean;
  /** routed (ICMP ACCEPT, v28's isolation RETURN) or nat-unprotected (default ACCEPT), from filter. */
  mode?: GatewayMode;
  internal: boolean;
  iccDrop: boolean;
  /** Seen only in the inter-network isolation rules (classic, ip6tables on: an IPv4-only network in the IPv6 tables). */
  isolationOnly: boolean;
}

/** A binding as read from its DNAT, with the bridge it was found on (if any). */
interface FactPort extends PortBinding {
  bridge: string | undefined;
}

interface FamilyFacts {
  family: Family;
  layout: DockerLayout;
  userlandProxy?: boolean;
  nets: Map<string, NetFacts>;
  order: string[];
  /** The bindings of the DNAT rules; `network` is set once the bridge's network is known. */
  ports: FactPort[];
  /** Docker 29's bridge-accept-fwmark, from DOCKER-FORWARD. */
  acceptFwMark?: string;
  /** raw PREROUTING direct-access DROPs, in order: container address → bridge, with the trusted interfaces' ACCEPTs above it. */
  direct: Array<{ ip: string; bridge: string; trusted: string[] }>;
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

const IP = '[0-9a-fA-F.:]+';
/** An interface name as iptables-save prints it (no quoting needed). */
const IFNAME = `[^\\s"'\\\\!]+`;

/** Docker's DNAT, as canonical text: [! -s fe80::/10] [-d HOST] [! -i BRIDGE] -p P -m P --dport N -j DNAT. */
const DNAT_TEXT = new RegExp(
  `^(?:! -s fe80::/10 )?(?:-d (${IP})/(?:32|128) )?(?:! -i (${IFNAME}) )?-p (tcp|udp|sctp) -m \\3 --dport (\\d+) -j DNAT --to-destination \\[?(${IP}?)\\]?:(\\d+)$`,
);
/** Docker's per-port filter ACCEPT: -d CONTAINER ! -i BRIDGE -o BRIDGE -p P -m P --dport N -j ACCEPT. */
const ACCEPT_TEXT = new RegExp(`^-d (${IP})/(?:32|128) ! -i (${IFNAME}) -o (${IFNAME}) -p (tcp|udp|sctp) -m \\4 --dport \\d+ -j ACCEPT$`);
/** v28's raw PREROUTING direct-access DROP: -d CONTAINER ! -i BRIDGE -j DROP. */
const DIRECT_TEXT = new RegExp(`^-d (\\S+) ! -i (${IFNAME}) -j DROP$`);

/** Docker 28's raw PREROUTING ACCEPT of a trusted host interface: -d CONTAINER -i IF -j ACCEPT. */
const TRUSTED_TEXT = new RegExp(`^-d (${IP})/(?:32|128) -i (${IFNAME}) -j ACCEPT$`);

/** dnatPortOf of a rule read by parseArgs (any text; dnatPortOf reads Docker's own forms directly). */
export function dnatPortOfArgs(r: RuleArgs, family: Family): DnatPort | undefined {
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

/**
 * The port a nat DOCKER rule publishes (its canonical text), or undefined when it is not a
 * port's DNAT. Docker's own forms are read by one regular expression, any other text by
 * parseArgs.
 */
export function dnatPortOf(rule: string, family: Family): DnatPort | undefined {
  const m = DNAT_TEXT.exec(rule);
  if (!m) return rule.includes('DNAT') ? dnatPortOfArgs(parseArgs(rule), family) : undefined;
  const p: DnatPort = {
    proto: m[3] as DockerProto,
    hostIp: m[1] ?? (family === 'ipv4' ? '0.0.0.0' : '::'),
    hostPort: Number(m[4]),
    containerIp: m[5]!,
    containerPort: Number(m[6]),
  };
  if (m[2] !== undefined) p.notIn = m[2];
  return p;
}

function factsOf(t: FamilyTables): FamilyFacts {
  const layout: DockerLayout = layoutOfTables(t);
  // Docker 28.0.1+ (v28.1, v28, v29) has DOCKER-FORWARD.
  const iptabler = hasDockerForward(layout);
  // Docker 28.0.0 appends each network's FORWARD rules as the iptabler appends DOCKER-FORWARD's.
  const appended = iptabler || layout === 'v28.0';
  const nets = new Map<string, NetFacts>();
  const seen: string[] = [];
  const net = (bridge: string, isolationOnly = false): NetFacts => {
    let n = nets.get(bridge);
    if (!n) {
      n = { bridge, masquerade: false, internal: false, iccDrop: false, isolationOnly };
      nets.set(bridge, n);
      seen.push(bridge);
    } else if (!isolationOnly) n.isolationOnly = false;
    return n;
  };
  const parsed = (table: string, chain: string): RuleArgs[] => rulesOf(t, table, chain).map(parseArgs);

  let userlandProxy: boolean | undefined;
  for (const r of parsed('nat', 'OUTPUT')) {
    if (r.target === 'DOCKER' && r.matches.includes('addrtype')) userlandProxy = neg(r, '-d') !== undefined;
  }

  for (const rule of rulesOf(t, 'nat', 'POSTROUTING')) {
    // Both tests need an `-o`: the per-port hairpin MASQUERADEs have none.
    if (!rule.includes('-o ')) continue;
    const r = parseArgs(rule);
    const o = neg(r, '-o');
    const s = pos(r, '-s');
    // MASQUERADE, or SNAT to the network's host address (com.docker.network.host_ipv4/6).
    const to = r.target === 'SNAT' ? pos(r, '--to-source') : undefined;
    const nat = r.target === 'MASQUERADE' || to !== undefined;
    const size = to !== undefined ? 3 : 2;
    if (nat && o !== undefined && s !== undefined && r.opts.size === size) {
      const n = net(o);
      n.subnet = s;
      n.masquerade = true;
      n.natSeen = true;
      n.subnetNat = true;
      if (to !== undefined) n.hostIp = to;
    } else if (nat && pos(r, '-o') !== undefined && pos(r, '--src-type') === 'LOCAL') {
      const n = net(pos(r, '-o')!);
      n.natSeen = true;
      if (to !== undefined) n.hostIp = to;
      userlandProxy ??= false;
    }
  }

  // An internal network's DROPs: in DOCKER-ISOLATION-STAGE-1 up to Docker 28, in
  // DOCKER-INTERNAL from 29.
  const iso1 = [...parsed('filter', 'DOCKER-ISOLATION-STAGE-1'), ...parsed('filter', 'DOCKER-INTERNAL')];
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
      isoOrder.push(net(pos(r, '-i')!, true).bridge);
    } else if (r.target === 'RETURN' && pos(r, '-o') !== undefined && r.opts.size === 1) {
      // v28: a routed network lets anything in at this stage.
      net(pos(r, '-o')!).mode = 'routed';
    }
  }

  // filter DOCKER's per-network rules (not the per-port ACCEPTs, which start with `-d`): a
  // routed network's ICMP ACCEPT, a nat-unprotected network's default ACCEPT.
  for (const rule of rulesOf(t, 'filter', 'DOCKER')) {
    if (rule.startsWith('-d ')) continue;
    const icmp = /^-o (\S+) -p (?:icmp|ipv6-icmp) -j ACCEPT$/.exec(rule);
    if (icmp) {
      net(icmp[1]!).mode = 'routed';
      continue;
    }
    const open = /^! -i (\S+) -o \1 -j ACCEPT$/.exec(rule);
    if (open) net(open[1]!).mode = 'nat-unprotected';
  }

  const forwardOrder: string[] = [];
  const iccRules = iptabler ? parsed('filter', 'DOCKER-FORWARD') : parsed('filter', 'FORWARD');
  let acceptFwMark: string | undefined;
  for (const r of iccRules) {
    if (iptabler && r.target === 'ACCEPT' && r.matches.includes('mark') && r.opts.size === 1 && pos(r, '--mark') !== undefined) acceptFwMark ??= pos(r, '--mark');
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
  for (const r of parsed('filter', 'DOCKER-ISOLATION-STAGE-2')) if (pos(r, '-o')) net(pos(r, '-o')!, true);

  // Which bridge a container address:port belongs to, from filter DOCKER's ACCEPT rules: read
  // only when a DNAT does not name its bridge (`! -i`, the userland proxy's form).
  let acceptBridge: Map<string, string> | undefined;
  const bridgeOfAccept = (ip: string): string | undefined => {
    if (!acceptBridge) {
      acceptBridge = new Map();
      for (const rule of rulesOf(t, 'filter', 'DOCKER')) {
        const m = ACCEPT_TEXT.exec(rule);
        if (m) {
          acceptBridge.set(m[1]!, m[3]!);
          continue;
        }
        const r = parseArgs(rule);
        const d = pos(r, '-d');
        const o = pos(r, '-o');
        if (r.target === 'ACCEPT' && d !== undefined && o !== undefined) acceptBridge.set(stripHost(d), o);
      }
    }
    return acceptBridge.get(ip);
  };

  const ports: FactPort[] = [];
  const wildcard = t.family === 'ipv4' ? '0.0.0.0' : '::';
  for (const rule of rulesOf(t, 'nat', 'DOCKER')) {
    // One object per port, made once: a big host has tens of thousands.
    const m = DNAT_TEXT.exec(rule);
    if (m) {
      if (m[2] !== undefined) userlandProxy ??= true;
      const containerIp = m[5]!;
      ports.push({
        network: '',
        proto: m[3] as DockerProto,
        hostIp: m[1] ?? wildcard,
        hostPort: Number(m[4]),
        containerIp,
        containerPort: Number(m[6]),
        family: t.family,
        bridge: m[2] ?? bridgeOfAccept(containerIp),
      });
      continue;
    }
    const r = parseArgs(rule);
    if (r.target === 'RETURN' && pos(r, '-i') !== undefined) {
      const n = net(pos(r, '-i')!);
      n.skipDnat = true;
      // Docker 28.0.0 skips DNAT for a routed family whatever masquerade and the proxy say.
      if (layout === 'v28.0' && n.mode === 'routed') continue;
      n.masquerade = true;
      userlandProxy ??= true;
      continue;
    }
    const p = dnatPortOfArgs(r, t.family);
    if (!p) continue;
    if (p.notIn !== undefined) userlandProxy ??= true;
    ports.push({
      network: '',
      proto: p.proto,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerIp: p.containerIp,
      containerPort: p.containerPort,
      family: t.family,
      bridge: p.notIn ?? bridgeOfAccept(p.containerIp),
    });
  }

  const direct: FamilyFacts['direct'] = [];
  /** Trusted interfaces' ACCEPTs waiting for their container's DROP, by address. */
  const trusted = new Map<string, string[]>();
  const drop = (ip: string, bridge: string): void => {
    direct.push({ ip, bridge, trusted: trusted.get(ip) ?? [] });
    trusted.delete(ip);
  };
  for (const rule of rulesOf(t, 'raw', 'PREROUTING')) {
    const m = DIRECT_TEXT.exec(rule);
    if (m) {
      if (m[2] !== 'lo') drop(stripHost(m[1]!), m[2]!);
      continue;
    }
    const a = TRUSTED_TEXT.exec(rule);
    if (a) {
      trusted.set(a[1]!, [...(trusted.get(a[1]!) ?? []), a[2]!]);
      continue;
    }
    // A long option (`--dport`, …) makes a third option: not a direct-access DROP.
    if (rule.includes(' --')) continue;
    const r = parseArgs(rule);
    const d = pos(r, '-d');
    const notIn = neg(r, '-i');
    if (r.target === 'DROP' && d !== undefined && notIn !== undefined && notIn !== 'lo' && r.opts.size === 2) drop(stripHost(d), notIn);
  }

  // Top first: classic lists every network in DOCKER-ISOLATION-STAGE-1 newest first; v28 and
  // v29 append each network's DOCKER-FORWARD rules (v28.0 its FORWARD rules), so that chain is
  // oldest first.
  let primary = appended ? [...new Set(forwardOrder)].reverse() : [...new Set(isoOrder)];
  if (layout === 'v28.0') primary = withIsolationOrder(primary, parsed('filter', 'DOCKER-ISOLATION-STAGE-2'));
  const order = [...new Set([...primary, ...seen])];
  return {
    family: t.family,
    layout,
    nets,
    order,
    ports,
    direct,
    ...(userlandProxy !== undefined ? { userlandProxy } : {}),
    ...(acceptFwMark !== undefined ? { acceptFwMark } : {}),
  };
}

/**
 * Docker 28.0.0's networks top first: FORWARD shows the family's own (oldest first), stage 2's
 * inserted DROPs every external network of each enabled family (newest first). A network seen
 * only there goes just above the next older network FORWARD shows.
 */
function withIsolationOrder(own: readonly string[], stage2: readonly RuleArgs[]): string[] {
  const isolated = stage2.map((r) => pos(r, '-o')).filter((b): b is string => b !== undefined);
  const out: string[] = [];
  let k = 0;
  for (const bridge of own) {
    const at = isolated.indexOf(bridge, k);
    if (at >= 0) {
      for (; k < at; k++) if (!own.includes(isolated[k]!)) out.push(isolated[k]!);
      k = at + 1;
    }
    out.push(bridge);
  }
  for (; k < isolated.length; k++) if (!own.includes(isolated[k]!)) out.push(isolated[k]!);
  return [...new Set(out)];
}

function canonicalPrefix(text: string): string | undefined {
  const p = parsePrefix(text);
  return p ? formatPrefix(p) : undefined;
}

/**
 * A hint's options where the rules are silent: masquerade where no rule shows it (an internal
 * network, a routed family), a gateway mode where the filter rules do not show it (classic,
 * internal networks: `isolated`), a SNAT host address where no NAT rule of the network's
 * shows its target. Values Docker could not have are left out.
 */
function applyHint(
  n: DockerNetwork,
  hint: NetworkHint,
  layout: DockerLayout,
  masqueradeUnseen: boolean,
  modeShown: ReadonlySet<string>,
  natShown: ReadonlySet<string>,
  dropsShown: boolean,
): void {
  const families = (['ipv4', 'ipv6'] as const).filter((f) => subnetFor(n, f) !== undefined);
  // Both families: a network's options of a family it has no subnet in write no rule either.
  for (const family of ['ipv4', 'ipv6'] as const) {
    const modeKey = family === 'ipv4' ? 'gatewayModeIpv4' : 'gatewayModeIpv6';
    const mode = hint[modeKey];
    if (
      !modeShown.has(`${n.bridge}|${family}`) &&
      typeof mode === 'string' &&
      GATEWAY_MODES.includes(mode as GatewayMode) &&
      mode !== 'nat' &&
      (mode !== 'isolated' || n.internal) &&
      (layout !== 'classic' || mode === 'routed')
    ) {
      n[modeKey] = mode as GatewayMode;
    }
    const hostKey = family === 'ipv4' ? 'hostIpv4' : 'hostIpv6';
    const host = hint[hostKey];
    if (!natShown.has(`${n.bridge}|${family}`) && typeof host === 'string' && parseAddress(host)?.family === family) n[hostKey] = canonicalAddress(host)!;
  }
  // Classic writes no NAT rule at all for a routed family, so its rules cannot show masquerade.
  const natless = layout === 'classic' && families.every((f) => (f === 'ipv4' ? n.gatewayModeIpv4 : n.gatewayModeIpv6) === 'routed');
  if ((n.internal || masqueradeUnseen || natless) && typeof hint.masquerade === 'boolean') n.masquerade = hint.masquerade;
  // Trusted interfaces show only above a container's direct-access DROP.
  const trusted = hint.trustedHostInterfaces;
  if (!dropsShown && isIptablerLayout(layout) && Array.isArray(trusted) && trusted.length > 0 && trusted.every((i) => typeof i === 'string' && IFNAME_RE.test(i))) {
    n.trustedHostInterfaces = [...new Set(trusted as string[])];
  }
}

const IFNAME_RE = new RegExp(`^${IFNAME}$`);

/**
 * The daemon's allow-direct-routing: no direct-access DROP at all although a published port's
 * container would have one (its family's mode is nat); with no such container, the hint's.
 */
function directRoutingAllowed(facts: readonly FamilyFacts[], networks: readonly DockerNetwork[], bindings: readonly PortBinding[], hint: boolean | undefined): boolean {
  if (facts.some((f) => f.direct.length > 0)) return false;
  const netOf = new Map(networks.map((n) => [n.name, n]));
  const filtered = bindings.some((b) => {
    const n = netOf.get(b.network);
    return n !== undefined && !n.internal && filtersDirectAccess(gatewayModeOf(n, b.family));
  });
  return filtered || hint === true;
}

export function fwMarkHint(hint: unknown): string | undefined {
  if (typeof hint !== 'string') return undefined;
  try {
    return canonicalFwMark(hint);
  } catch {
    return undefined;
  }
}

/** Whether a family's tables hold Docker's chains. */
function hasDockerChains(t: FamilyTables | undefined): boolean {
  return t !== undefined && (t.tables.get('nat')?.has('DOCKER') === true || t.tables.get('filter')?.has('DOCKER') === true);
}

/**
 * A family's --iptables/--ip6tables: true when its tables hold Docker's chains without a
 * network of the family (the skeleton); else a hint's when the tables agree (false: no Docker
 * chain there; true: a network of the family, whose rules are the same either way).
 */
function familyEnabled(family: Family, t: FamilyTables | undefined, networks: readonly DockerNetwork[], hint: boolean | undefined, skeleton = true): boolean | undefined {
  const own = networks.some((n) => subnetFor(n, family) !== undefined);
  if (!own && hasDockerChains(t)) return skeleton ? true : undefined;
  if (hint === false) return hasDockerChains(t) ? undefined : false;
  return hint === true && own ? true : undefined;
}

/** The subnet of a family a hint gives. */
export function subnetHint(hint: NetworkHint | undefined, family: Family): string | undefined {
  const subnet = typeof hint?.subnet === 'string' && parsePrefix(hint.subnet) ? hint.subnet : undefined;
  const subnet6 = typeof hint?.subnet6 === 'string' && parsePrefix(hint.subnet6)?.addr.family === 'ipv6' ? hint.subnet6 : undefined;
  const of = (text: string | undefined): Family | undefined => (text === undefined ? undefined : parsePrefix(text)!.addr.family);
  if (family === 'ipv4') return of(subnet) === 'ipv4' ? subnet : undefined;
  return subnet6 ?? (of(subnet) === 'ipv6' ? subnet : undefined);
}

export function guessSubnet(family: Family, ips: string[]): string {
  const a = ips.map(parseAddress).find((x) => x?.family === family);
  if (!a) return family === 'ipv4' ? '0.0.0.0/32' : '::/128';
  const length = family === 'ipv4' ? 16 : 64;
  return formatPrefix({ addr: maskAddress(a, length), length });
}

export function mergeRanges(ports: readonly PortBinding[]): DockerPort[] {
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
    out.push({
      network: p.network,
      proto: p.proto,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerIp: p.containerIp,
      containerPort: p.containerPort,
      hostLast: p.hostPort,
      contLast: p.containerPort,
    });
  }
  return out.map(({ hostLast, contLast, ...p }) => ({
    ...p,
    hostPort: hostLast === p.hostPort ? p.hostPort : `${p.hostPort}-${hostLast}`,
    containerPort: contLast === p.containerPort ? p.containerPort : `${p.containerPort}-${contLast}`,
  }));
}

export interface InferOptions {
  /** Work out state.endpoints (layouts v28, v29) from raw PREROUTING; default true. */
  endpoints?: boolean;
  /** Give state.ports (the bindings merged into ranges); default true. */
  ports?: boolean;
}

export interface InferredHost {
  state: DockerState;
  /** Every host port the DNAT rules publish, per family in rule order, ranges not merged. */
  bindings: readonly PortBinding[];
}

export function inferState(saves: readonly FamilySaves[], hints: InferHints = {}): DockerState {
  return inferTables(readSaves(saves), hints).state;
}

/** inferState of tables already split into rules (read from the kernel: saves.ts tablesOf). */
export function inferTables(tables: readonly FamilyTables[], hints: InferHints = {}, opts: InferOptions = {}): InferredHost {
  const facts = tables.map(factsOf);
  const v4 = facts.find((f) => f.family === 'ipv4' && f.nets.size > 0);
  const lead = v4 ?? facts.find((f) => f.nets.size > 0) ?? facts[0];
  // Only a family with a published nat port shows 28.0.1-28.1's per-port raw DROP (recognise.ts):
  // the other family's v28 is the same generation.
  // The record's v28.1 says the same of tables that show no such DROP.
  const hostLayout: DockerLayout | undefined =
    lead?.layout === 'v28' && (hints.layout === 'v28.1' || facts.some((f) => f.layout === 'v28.1')) ? 'v28.1' : lead?.layout;
  const hintOf = new Map((hints.networks ?? []).map((h) => [h.bridge, h]));
  // A hint whose subnet the rules contradict is of another network (one recreated since).
  for (const f of facts) {
    for (const nf of f.nets.values()) {
      const given = subnetHint(hintOf.get(nf.bridge), f.family);
      if (nf.subnet !== undefined && given !== undefined && canonicalPrefix(given) !== canonicalPrefix(nf.subnet)) hintOf.delete(nf.bridge);
    }
  }
  /** Per bridge and family: whether the rules show the gateway mode / the NAT target. */
  const modeShown = new Set<string>();
  const noSubnetNat = new Set<string>();
  const natShown = new Set<string>();

  const networks = new Map<string, DockerNetwork>();
  /** Networks whose masquerade no family's rules have shown yet. */
  const masqueradeUnseen = new Set<string>();
  const usedNames = new Set<string>();
  const bindings: PortBinding[] = [];
  let isolationOnlyV6 = false;
  let isolationOnlyV4 = false;
  for (const f of facts) {
    const bridgeOfIp = (ip: string): string | undefined => {
      const a = parseAddress(ip);
      for (const n of f.nets.values()) {
        const known = n.subnet ?? subnetHint(hintOf.get(n.bridge), f.family);
        const p = known !== undefined ? parsePrefix(known) : undefined;
        if (p && a && formatPrefix({ addr: maskAddress(a, p.length), length: p.length }) === formatPrefix(p)) return n.bridge;
      }
      return undefined;
    };
    // A port whose DNAT names no bridge and that no ACCEPT names: the network whose subnet holds it.
    for (const p of f.ports) if (p.bridge === undefined) p.bridge = bridgeOfIp(p.containerIp);
    const famPorts = f.ports;
    for (const bridge of f.order) {
      const nf = f.nets.get(bridge)!;
      // A network's isolation rules alone in the IPv6 tables: classic and v28.0 with ip6tables
      // on write them for IPv4-only networks too; they give the network no IPv6 subnet (v28.0:
      // nor in the IPv4 tables, for an IPv6-only network with iptables on).
      if (nf.isolationOnly && (f.family === 'ipv6' || f.layout === 'v28.0')) {
        if (f.family === 'ipv6') isolationOnlyV6 = true;
        else isolationOnlyV4 = true;
        continue;
      }
      const hint = hintOf.get(bridge);
      const fromHint = subnetHint(hint, f.family);
      const subnet =
        nf.subnet ?? fromHint ?? guessSubnet(f.family, famPorts.filter((p) => p.bridge === bridge).map((p) => p.containerIp));
      // An internal network has no NAT rule either way, nor has a routed family a subnet NAT
      // (only v28's skip-DNAT RETURN of the userland proxy shows it): Docker's default then.
      const masquerade = nf.internal || nf.masquerade ? true : nf.mode !== 'routed' || ((f.layout === 'v28' || f.layout === 'v28.1') && f.userlandProxy !== false) ? false : undefined;
      let n = networks.get(bridge);
      if (!n) {
        // A hint's name, unless another network has it already (names are unique).
        const named = typeof hint?.name === 'string' && hint.name !== '' && !usedNames.has(hint.name) ? hint.name : undefined;
        n = {
          name: named ?? (bridge === 'docker0' ? 'bridge' : bridge),
          bridge,
          subnet,
          icc: !nf.iccDrop,
          masquerade: masquerade ?? true,
          internal: nf.internal,
        };
        networks.set(bridge, n);
        usedNames.add(n.name);
        if (masquerade === undefined) masqueradeUnseen.add(bridge);
      } else {
        if (f.family === 'ipv6' && familyOf(n.subnet.split('/')[0]!) === 'ipv4') {
          n.subnet6 = subnet;
        } else if (f.family === 'ipv4' && familyOf(n.subnet.split('/')[0]!) === 'ipv6') {
          n.subnet6 = n.subnet;
          n.subnet = subnet;
        }
        // A NAT rule in one family shows masquerade on, whatever another family's lack of one
        // (a routed family in classic, which shows no mode) seemed to say.
        if (masquerade === true || (masquerade !== undefined && masqueradeUnseen.has(bridge))) n.masquerade = masquerade;
        if (masquerade !== undefined) masqueradeUnseen.delete(bridge);
      }
      if (nf.mode !== undefined) n[f.family === 'ipv4' ? 'gatewayModeIpv4' : 'gatewayModeIpv6'] = nf.mode;
      if (nf.hostIp !== undefined) n[f.family === 'ipv4' ? 'hostIpv4' : 'hostIpv6'] = nf.hostIp;
      // The iptabler's (and 28.0.0's) filter rules show an external network's mode; classic's do not.
      if ((hasDockerForward(f.layout) || f.layout === 'v28.0') && !nf.internal) modeShown.add(`${bridge}|${f.family}`);
      if (nf.natSeen) natShown.add(`${bridge}|${f.family}`);
      if (!nf.subnetNat && !nf.skipDnat && !nf.internal && f.layout === 'classic') noSubnetNat.add(`${bridge}|${f.family}`);
    }
    for (const p of famPorts) {
      const n = p.bridge !== undefined ? networks.get(p.bridge) : undefined;
      if (!n) continue;
      p.network = n.name;
      bindings.push(p);
    }
  }

  // Classic writes a family's subnet NAT (and, with the userland proxy, its skip-DNAT RETURN)
  // exactly when the network masquerades and the family is not routed: a masquerading network
  // without either in a family is routed there. (A lost MASQUERADE reads as drift while the
  // RETURN stays.)
  for (const n of networks.values()) {
    if (!n.masquerade) continue;
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (!noSubnetNat.has(`${n.bridge}|${family}`) || subnetFor(n, family) === undefined) continue;
      n[family === 'ipv4' ? 'gatewayModeIpv4' : 'gatewayModeIpv6'] = 'routed';
      modeShown.add(`${n.bridge}|${family}`);
    }
  }
  // A network's trusted host interfaces, from the ACCEPTs above its containers' DROPs.
  const dropsOf = new Set<string>();
  for (const f of facts) {
    for (const d of f.direct) {
      const n = networks.get(d.bridge);
      if (!n) continue;
      dropsOf.add(d.bridge);
      if (n.trustedHostInterfaces === undefined && d.trusted.length > 0) n.trustedHostInterfaces = [...d.trusted];
    }
  }
  // What the rules do not show, from the hints.
  for (const n of networks.values()) {
    const hint = hintOf.get(n.bridge);
    if (hint) applyHint(n, hint, hostLayout ?? DEFAULT_LAYOUT, masqueradeUnseen.has(n.bridge), modeShown, natShown, dropsOf.has(n.bridge));
  }

  // Keep the IPv4 order, with networks seen only in the IPv6 tables after them.
  const order = [...new Set(facts.flatMap((f) => f.order))].filter((b) => networks.has(b));
  const stateNetworks = order.map((b) => networks.get(b)!);
  // Docker's IPv6 chains without an IPv6 network, or (classic) IPv4-only networks in the IPv6
  // isolation chains: the daemon's --ip6tables.
  // (Docker 27's IPv4 chains without an IPv4 network are not modelled: classic leaves it unsaid.)
  const leadLayout = hostLayout ?? DEFAULT_LAYOUT;
  const v4on = isolationOnlyV4 ? true : familyEnabled('ipv4', tables.find((t) => t.family === 'ipv4'), stateNetworks, hints.iptables, leadLayout !== 'classic');
  const v6on = isolationOnlyV6 ? true : familyEnabled('ipv6', tables.find((t) => t.family === 'ipv6'), stateNetworks, hints.ip6tables);
  const state: DockerState = {
    layout: hostLayout ?? DEFAULT_LAYOUT,
    userlandProxy: lead?.userlandProxy ?? facts.find((f) => f.userlandProxy !== undefined)?.userlandProxy ?? true,
    ...(v4on !== undefined ? { iptables: v4on } : {}),
    ...(v6on !== undefined ? { ip6tables: v6on } : {}),
    networks: stateNetworks,
    ports: opts.ports === false ? [] : mergeRanges(bindings),
  };
  // The fwmark rule comes with an external network; without one, the hint's.
  const fwmark = facts.map((f) => f.acceptFwMark).find((m) => m !== undefined) ?? (stateNetworks.every((n) => n.internal) ? fwMarkHint(hints.acceptFwMark) : undefined);
  if (state.layout === 'v29' && fwmark !== undefined) state.acceptFwMark = fwmark;
  // A family whose FORWARD policy Docker would set to DROP, read as ACCEPT: the daemon had
  // --ip-forward-no-drop, or forwarding was on before it started (the rules cannot tell which,
  // and both write the same). Unread (no filter table given) says nothing. A DROP does not
  // contradict the option (it leaves the policy as it finds it): the hint's true stands.
  const noDrop: DockerState = { ...state, ipForwardNoDrop: true };
  const notDropped = tables.some((t) => {
    const on = writesFamily(state, t.family);
    return forwardDrop(state, t.family, on) && !forwardDrop(noDrop, t.family, on) && t.tables.get('filter')?.get('FORWARD')?.policy === 'ACCEPT';
  });
  if (notDropped || hints.ipForwardNoDrop === true) state.ipForwardNoDrop = true;
  if (isIptablerLayout(state.layout) && directRoutingAllowed(facts, stateNetworks, bindings, hints.allowDirectRouting)) state.allowDirectRouting = true;

  if (isIptablerLayout(state.layout) && opts.endpoints !== false) {
    // Keep the endpoints only when the raw DROPs are not just the published containers'.
    const byBridge = new Map(state.networks.map((n) => [n.bridge, n.name]));
    const endpoints: DockerEndpoint[] = facts.flatMap((f) =>
      f.direct.filter((d) => byBridge.has(d.bridge)).map((d) => ({ network: byBridge.get(d.bridge)!, ip: d.ip })),
    );
    const bridges = new Set(state.networks.flatMap((n) => [n.bridge, ...(n.trustedHostInterfaces ?? [])]));
    const withPorts: DockerState = { ...state, ports: opts.ports === false ? mergeRanges(bindings) : state.ports };
    const same = tables.every((t) => {
      const actual = rulesOf(t, 'raw', 'PREROUTING').filter((r) => isDockerRule(t.family, 'raw', 'PREROUTING', r, bridges));
      const without = v28RawRules(withPorts, t.family);
      return actual.length === without.length && actual.every((r, i) => r === without[i]);
    });
    if (!same && endpoints.length > 0) state.endpoints = endpoints;
  }
  return { state, bindings };
}
