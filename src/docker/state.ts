// The Docker state (docs/design.md, "The Docker state"): the bridge networks and published ports whose
// netfilter rules iptkit models, and validateState, which turns untrusted JSON into a
// DockerState with canonical addresses or throws a TypeError/RangeError naming the JSON path.
//
// Decisions, taken from how Docker behaves (moby/moby v27.5.1 and v28.5.2):
// - A network has one IPv4 or IPv6 `subnet`; a dual-stack network (`docker network create
//   --ipv6`) puts its IPv6 subnet in `subnet6`, and its rules go to both families' tables.
// - A port's family is its containerIp's. hostIp must be of the same family: Docker writes no
//   rule for a v6 host address mapped to a v4 container (docker-proxy alone serves it).
//   `docker run -p 80:80` on a dual-stack network is two ports: hostIp 0.0.0.0 and ::.
// - A host port range "A-B" needs a container range "C-D" of the same length; Docker writes one
//   rule per port of the range (it never writes `--dport A:B`).
// - Internal networks have no published ports (Docker ignores them), so such a port is refused.
// - `endpoints` (optional, Docker 28+): container addresses, in the order Docker joined them,
//   for the raw-PREROUTING direct-access DROP rules; addresses of published ports need not be
//   listed. Absent means "the containers with published ports, in port order".
// - `networks` and `ports` are required ([] for none): a state that forgot one is not taken
//   for a host without any. `layout` defaults to DEFAULT_LAYOUT (v29, Docker 29.x).
// - A bridge is one plain interface name as an iptables rule names it (no `+` wildcard, no
//   leading `!`, no quote); subnets of one family do not overlap between networks; container
//   and endpoint addresses are usable host addresses of their subnet (issue 12).
// - Gateway modes (com.docker.network.bridge.gateway_mode_ipv4/ipv6) and the SNAT host
//   address (com.docker.network.host_ipv4/ipv6) are per family, absent meaning Docker's default
//   (nat, MASQUERADE) and left out of the canonical state. `isolated` is for internal networks
//   only and `nat-unprotected`/`isolated` did not exist before Docker 28 (v27.5.1 newGwMode:
//   nat and routed), so classic refuses them, as dockerd did.
// - Every refusal is one line naming the JSON path and the value (show(): bounded, so a deeply
//   nested or non-finite value is described, not a stack overflow or `null`).

import type { Family } from '../rules/model.js';
import { pausesAt, runSteps, type Steps } from '../turn.js';
import {
  type Address,
  type Prefix,
  canonicalAddress,
  formatAddress,
  formatPrefix,
  hostBitsSet,
  isIPv4Text,
  isUnspecified,
  parseAddress,
  parsePrefix,
  prefixContains,
} from './address.js';

export type DockerLayout = 'classic' | 'v28.0' | 'v28.1' | 'v28' | 'v29' | 'docker-nft';
export type DockerProto = 'tcp' | 'udp' | 'sctp';
/** Docker's gateway modes (bridge driver newGwMode). */
export type GatewayMode = 'nat' | 'nat-unprotected' | 'routed' | 'isolated';
export const GATEWAY_MODES: readonly GatewayMode[] = ['nat', 'nat-unprotected', 'routed', 'isolated'];

export interface DockerNetwork {
  name: string;
  /** The Linux bridge: `docker0`, `br-<first 12 hex of the network id>`, or a chosen name. */
  bridge: string;
  /** IPv4 or IPv6 prefix without host bits, canonical. */
  subnet: string;
  /** The IPv6 prefix of a dual-stack network whose `subnet` is IPv4. */
  subnet6?: string;
  /** com.docker.network.bridge.enable_icc */
  icc: boolean;
  /** com.docker.network.bridge.enable_ip_masquerade */
  masquerade: boolean;
  /** `docker network create --internal` */
  internal: boolean;
  /** com.docker.network.bridge.gateway_mode_ipv4; absent: nat. */
  gatewayModeIpv4?: GatewayMode;
  /** com.docker.network.bridge.gateway_mode_ipv6; absent: nat. */
  gatewayModeIpv6?: GatewayMode;
  /** com.docker.network.host_ipv4: `-j SNAT --to-source` this address instead of MASQUERADE. */
  hostIpv4?: string;
  /** com.docker.network.host_ipv6, the same for IPv6. */
  hostIpv6?: string;
  /**
   * com.docker.network.bridge.trusted_host_interfaces (Docker 28+): host interfaces whose
   * packets may reach the containers directly, as the bridge's own (raw `-d EP -i IF -j ACCEPT`).
   */
  trustedHostInterfaces?: string[];
}

export interface DockerPort {
  network: string;
  proto: DockerProto;
  /** 0.0.0.0 or :: for every address of the family, else one host address. Canonical. */
  hostIp: string;
  /** A port, or a range "A-B" (A < B). */
  hostPort: number | string;
  containerIp: string;
  /** A port, or a range "C-D" of the same length as hostPort's. */
  containerPort: number | string;
}

export interface DockerEndpoint {
  network: string;
  ip: string;
}

export interface DockerState {
  layout: DockerLayout;
  /** dockerd --userland-proxy (default true); false is Docker's "hairpin mode". */
  userlandProxy: boolean;
  /**
   * dockerd --ip6tables. true: Docker's IPv6 chains and jumps exist even when no network has
   * an IPv6 subnet (the skeleton Docker 27+ writes by default; classic also puts every
   * network's isolation rules there); false: no IPv6 rule at all. Absent: IPv6 rules exactly
   * when a network has an IPv6 subnet.
   */
  ip6tables?: boolean;
  /**
   * dockerd --iptables, the same for IPv4 (v28, v29: `true` writes the chains and jumps of
   * moby's "cleaned" iptables golden without an IPv4 network; `false` no IPv4 rule at all).
   * Absent: IPv4 rules exactly when a network has an IPv4 subnet.
   */
  iptables?: boolean;
  /**
   * dockerd's allow-direct-routing (Docker 28+): no raw direct-access rules for any container.
   * Absent: false.
   */
  allowDirectRouting?: boolean;
  /**
   * dockerd --bridge-accept-fwmark (Docker 29): packets with this mark[/mask] are accepted in
   * DOCKER-FORWARD. Canonical as iptables-save prints it: `0x1`, `0x100/0xff00`.
   */
  acceptFwMark?: string;
  /**
   * dockerd --ip-forward-no-drop (Docker 28+): Docker leaves the filter FORWARD policy as it
   * finds it. Absent (false): the policy is DROP in each family whose forwarding Docker turned
   * on (desired.ts forwardDrop). Also what a host reads as when forwarding was on before Docker
   * started, the only way classic (Docker 27, no such option; its IPv6 DROP stays) has it.
   */
  ipForwardNoDrop?: boolean;
  /** Top first: Docker inserts each new network's rules above the older ones'. */
  networks: DockerNetwork[];
  /** In the order their DNAT rules appear. */
  ports: DockerPort[];
  endpoints?: DockerEndpoint[];
}

export const DOCKER_LAYOUTS: readonly DockerLayout[] = ['classic', 'v28.0', 'v28.1', 'v28', 'v29', 'docker-nft'];

/**
 * The layouts of Docker's iptabler (28.2+): DOCKER-FORWARD, raw direct-access DROPs per
 * endpoint, per-port ACCEPTs inserted. v28.1 (28.0.1 to 28.1.x) has v28's chains but per-port
 * direct-access DROPs: see hasDockerForward.
 */
export function isIptablerLayout(layout: DockerLayout): layout is 'v28' | 'v29' {
  return layout === 'v28' || layout === 'v29';
}
/** The layouts whose filter FORWARD jumps to DOCKER-FORWARD (Docker 28.0.1+): v28.1, v28, v29. */
export function hasDockerForward(layout: DockerLayout): layout is 'v28.1' | 'v28' | 'v29' {
  return layout === 'v28.1' || isIptablerLayout(layout);
}
/** The layout of a host without any of Docker's chains: the current Docker's (29.x). */
export const DEFAULT_LAYOUT: DockerLayout = 'v29';

export const DOCKER_PROTOS: readonly DockerProto[] = ['tcp', 'udp', 'sctp'];

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;

const STATE_KEYS = ['layout', 'userlandProxy', 'iptables', 'ip6tables', 'allowDirectRouting', 'acceptFwMark', 'ipForwardNoDrop', 'networks', 'ports', 'endpoints'];
const NETWORK_KEYS = [
  'name',
  'bridge',
  'subnet',
  'subnet6',
  'icc',
  'masquerade',
  'internal',
  'gatewayModeIpv4',
  'gatewayModeIpv6',
  'hostIpv4',
  'hostIpv6',
  'trustedHostInterfaces',
];
const PORT_KEYS = ['network', 'proto', 'hostIp', 'hostPort', 'containerIp', 'containerPort'];
const ENDPOINT_KEYS = ['network', 'ip'];

/**
 * A value of untrusted JSON as one short line: strings quoted (escapes keep it on one line),
 * non-finite numbers as such (`1e309` parses to Infinity, which JSON.stringify prints as null),
 * arrays and objects to two levels and three members. Never recursive past that, so a deeply
 * nested value cannot exhaust the stack.
 */
export function show(v: unknown, depth = 0): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) {
    if (depth >= 2) return v.length === 0 ? '[]' : '[…]';
    const items = v.slice(0, 3).map((x: unknown) => show(x, depth + 1));
    if (v.length > 3) items.push('…');
    return `[${items.join(',')}]`;
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (depth >= 2) return keys.length === 0 ? '{}' : '{…}';
    const items = keys.slice(0, 3).map((k) => `${JSON.stringify(k)}:${show((v as Record<string, unknown>)[k], depth + 1)}`);
    if (keys.length > 3) items.push('…');
    return `{${items.join(',')}}`;
  }
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      const at = path === '' ? k : `${path}.${k}`;
      throw new TypeError(`${at}: unknown key (expected one of ${known.join(', ')})`);
    }
  }
}

function str(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (v === undefined) throw new TypeError(`${path}.${key}: missing`);
  if (typeof v !== 'string') throw new TypeError(`${path}.${key}: ${show(v)} is not a string`);
  return v;
}

function bool(obj: Record<string, unknown>, key: string, path: string, dflt: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${path}${key}: ${show(v)} is not a boolean`);
  return v;
}

/**
 * Linux's dev_valid_name, plus the length limit counted in bytes, plus what an iptables rule
 * cannot name as one plain interface: a trailing `+` is iptables' wildcard (`br+` matches every
 * interface starting with `br`), a leading `!` reads as negation, and a quote or backslash
 * cannot be written in an iptables-restore line.
 */
export function checkInterfaceName(name: string, path: string): void {
  if (name === '' || name === '.' || name === '..') throw new RangeError(`${path}: ${show(name)} is not an interface name`);
  if (/[\s/:]/.test(name)) {
    throw new RangeError(`${path}: ${show(name)} is not an interface name (no whitespace, "/" or ":")`);
  }
  if (name.endsWith('+')) {
    throw new RangeError(`${path}: ${show(name)} ends in "+", iptables' interface wildcard: its rules would match every interface starting with ${show(name.slice(0, -1))}`);
  }
  if (name.startsWith('!')) throw new RangeError(`${path}: ${show(name)} starts with "!", which iptables reads as negation`);
  if (/["'\\]/.test(name)) {
    throw new RangeError(`${path}: ${show(name)} holds a quote or backslash, which an iptables rule cannot name as an interface`);
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IFNAME_BYTES) {
    throw new RangeError(`${path}: ${show(name)} is ${bytes} bytes, longer than an interface name's ${MAX_IFNAME_BYTES}`);
  }
}

function subnetOf(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new TypeError(`${path}: ${show(v)} is not a string`);
  const p = parsePrefix(v);
  if (!p) throw new RangeError(`${path}: ${show(v)} is not a subnet (address/prefix length)`);
  if (hostBitsSet(p)) {
    const masked = formatPrefix({ addr: { ...p.addr, bytes: maskedBytes(p.addr.bytes, p.length) }, length: p.length });
    throw new RangeError(`${path}: ${show(v)} has host bits set (the network is ${masked})`);
  }
  return formatPrefix(p);
}

function maskedBytes(b: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(b);
  for (let bit = length; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

export interface PortRange {
  first: number;
  last: number;
}

/** A port (number) or "A-B" as a range; undefined when neither. */
export function parsePortSpec(v: unknown): PortRange | undefined {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= 1 && v <= 65535 ? { first: v, last: v } : undefined;
  }
  if (typeof v !== 'string') return undefined;
  const m = /^([1-9][0-9]{0,4})-([1-9][0-9]{0,4})$/.exec(v);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > 65535 || last > 65535 || first >= last) return undefined;
  return { first, last };
}

function portSpec(obj: Record<string, unknown>, key: string, path: string): PortRange {
  const v = obj[key];
  if (typeof v !== 'number' && typeof v !== 'string') {
    throw new TypeError(`${path}.${key}: ${show(v)} is not a port number or a range "A-B"`);
  }
  const r = parsePortSpec(v);
  if (!r) {
    if (typeof v === 'number') throw new RangeError(`${path}.${key}: ${show(v)} is not a port (an integer 1 to 65535)`);
    throw new RangeError(`${path}.${key}: ${show(v)} is not a port range "A-B" with 1 <= A < B <= 65535`);
  }
  return r;
}

/** Two prefixes of one family share an address exactly when one contains the other. */
function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return a.addr.family === b.addr.family && (prefixContains(a, b.addr) || prefixContains(b, a.addr));
}

/**
 * A container address must be a usable host address of its subnet: not the network address
 * (all host bits zero: IPv4, and IPv6's subnet-router anycast address, which Docker's IPAM
 * never hands out either) nor, in IPv4, the broadcast address (all host bits one). /31, /32,
 * /127 and /128 have no such reserved addresses.
 */
function checkHostAddress(a: Address, subnet: Prefix, path: string, text: string): void {
  const bits = a.bytes.length * 8;
  if (subnet.length >= bits - 1) return;
  const hostBits = (value: 0 | 1): boolean => {
    for (let bit = subnet.length; bit < bits; bit++) if (((a.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) !== value) return false;
    return true;
  };
  if (hostBits(0)) throw new RangeError(`${path}: ${show(text)} is the network address of ${formatPrefix(subnet)}, not a host address`);
  if (a.family === 'ipv4' && hostBits(1)) throw new RangeError(`${path}: ${show(text)} is the broadcast address of ${formatPrefix(subnet)}, not a host address`);
}

/** The family whose tables a network's rules go to, with that family's subnet. */
export function networkSubnets(n: DockerNetwork): Array<{ family: Family; subnet: string }> {
  const out: Array<{ family: Family; subnet: string }> = [];
  const fam = parsePrefix(n.subnet)?.addr.family ?? 'ipv4';
  out.push({ family: fam, subnet: n.subnet });
  if (n.subnet6 !== undefined) out.push({ family: 'ipv6', subnet: n.subnet6 });
  return out;
}

export function subnetFor(n: DockerNetwork, family: Family): string | undefined {
  return networkSubnets(n).find((s) => s.family === family)?.subnet;
}

/** A network's gateway mode in one family (Docker's default: nat). */
export function gatewayModeOf(n: DockerNetwork, family: Family): GatewayMode {
  return (family === 'ipv4' ? n.gatewayModeIpv4 : n.gatewayModeIpv6) ?? 'nat';
}

/** A network's SNAT host address in one family, if it has one. */
export function hostIpOf(n: DockerNetwork, family: Family): string | undefined {
  return family === 'ipv4' ? n.hostIpv4 : n.hostIpv6;
}

/** The gateway-mode and host-address keys of one network, checked, canonical, defaults left out. */
function networkOptions(raw: Record<string, unknown>, path: string, layout: DockerLayout, internal: boolean): Partial<DockerNetwork> {
  const out: Partial<DockerNetwork> = {};
  for (const key of ['gatewayModeIpv4', 'gatewayModeIpv6'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !GATEWAY_MODES.includes(v as GatewayMode)) {
      throw new RangeError(`${path}.${key}: ${show(v)} is not one of ${GATEWAY_MODES.join(', ')}`);
    }
    if (v === 'isolated' && !internal) throw new RangeError(`${path}.${key}: "isolated" is for internal networks only (Docker refuses it otherwise)`);
    if (layout === 'classic' && (v === 'nat-unprotected' || v === 'isolated')) {
      throw new RangeError(`${path}.${key}: ${show(v)} does not exist before Docker 28 (classic has nat and routed)`);
    }
    if (v !== 'nat') out[key] = v as GatewayMode;
  }
  for (const [key, family] of [['hostIpv4', 'ipv4'], ['hostIpv6', 'ipv6']] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new TypeError(`${path}.${key}: ${show(v)} is not a string`);
    const a = parseAddress(v);
    if (!a) throw new RangeError(`${path}.${key}: ${show(v)} is not an IP address`);
    if (a.family !== family) throw new RangeError(`${path}.${key}: ${show(v)} is not an ${family} address`);
    out[key] = canonicalAddress(v)!;
  }
  const trusted = raw['trustedHostInterfaces'];
  if (trusted !== undefined) {
    const key = `${path}.trustedHostInterfaces`;
    if (!Array.isArray(trusted)) throw new TypeError(`${key}: ${show(trusted)} is not an array of interface names`);
    if (layout === 'classic' && trusted.length > 0) throw new RangeError(`${key}: trusted host interfaces do not exist before Docker 28`);
    if (layout === 'v28.0' && trusted.length > 0) throw new RangeError(`${key}: trusted host interfaces do not exist in Docker 28.0.0 (it has no per-endpoint rules)`);
    if (layout === 'v28.1' && trusted.length > 0) throw new RangeError(`${key}: trusted host interfaces do not exist before Docker 28.2 (28.1 has no per-endpoint rules)`);
    trusted.forEach((name: unknown, i: number) => {
      if (typeof name !== 'string') throw new TypeError(`${key}[${i}]: ${show(name)} is not a string`);
      checkInterfaceName(name, `${key}[${i}]`);
      if (trusted.indexOf(name) !== i) throw new RangeError(`${key}[${i}]: ${show(name)} is already trustedHostInterfaces[${trusted.indexOf(name)}]`);
    });
    if (trusted.length > 0) out.trustedHostInterfaces = [...(trusted as string[])];
  }
  return out;
}

export function portFamily(p: DockerPort): Family {
  // Most states are IPv4: a dotted quad needs no full parse.
  if (isIPv4Text(p.containerIp)) return 'ipv4';
  return parseAddress(p.containerIp)?.family ?? 'ipv4';
}

/**
 * A firewall mark[/mask] as Docker reads it (Go's strconv.ParseUint(s, 0, 32): decimal, 0x, 0o
 * or 0 octal, 0b), written as iptables-save prints xt_mark: hex, the mask left out when all ones.
 */
export function canonicalFwMark(text: string): string {
  const num = (part: string, what: string): number => {
    const t = part.replace(/_/g, '');
    const m = /^(?:0[xX]([0-9a-fA-F]+)|0[oO]?([0-7]+)|0[bB]([01]+)|([1-9][0-9]*|0))$/.exec(t);
    const v = m ? (m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? parseInt(m[2], 8) : m[3] !== undefined ? parseInt(m[3], 2) : Number(m[4])) : NaN;
    if (part.startsWith('_') || part.endsWith('_') || !Number.isSafeInteger(v) || v > 0xffffffff) {
      throw new RangeError(`acceptFwMark: ${show(text)} has ${what} ${show(part)}, not a number 0 to 4294967295`);
    }
    return v;
  };
  const [markText, maskText, ...rest] = text.split('/');
  if (rest.length > 0) throw new RangeError(`acceptFwMark: ${show(text)} is not a mark or mark/mask`);
  const mark = num(markText!, 'mark');
  const mask = maskText === undefined ? 0xffffffff : num(maskText, 'mask');
  return mask === 0xffffffff ? `0x${mark.toString(16)}` : `0x${mark.toString(16)}/0x${mask.toString(16)}`;
}

/** Validates untrusted JSON (already parsed) and returns it as a canonical DockerState. */
export function validateState(json: unknown): DockerState {
  return runSteps(validateStateSteps(json));
}

/** validateState as Steps (turn.ts), pausing between ports and endpoints: for DockerHost.apply. */
export function* validateStateSteps(json: unknown): Steps<DockerState> {
  if (!isObject(json)) throw new TypeError(`state: ${show(json)} is not an object`);
  checkKeys(json, STATE_KEYS, '');
  // A new state is for the current Docker unless it says otherwise.
  const layout = json.layout ?? DEFAULT_LAYOUT;
  if (typeof layout !== 'string' || !DOCKER_LAYOUTS.includes(layout as DockerLayout)) {
    throw new RangeError(`layout: ${show(layout)} is not one of ${DOCKER_LAYOUTS.join(', ')}`);
  }
  const userlandProxy = bool(json, 'userlandProxy', '', true);
  // Required, so that a state that forgot them is not taken for a host with none.
  const rawNetworks = json.networks;
  if (rawNetworks === undefined) throw new TypeError('networks: missing (the bridge networks; [] for none)');
  if (!Array.isArray(rawNetworks)) throw new TypeError(`networks: ${show(rawNetworks)} is not an array`);
  const rawPorts = json.ports;
  if (rawPorts === undefined) throw new TypeError('ports: missing (the published ports; [] for none)');
  if (!Array.isArray(rawPorts)) throw new TypeError(`ports: ${show(rawPorts)} is not an array`);

  const networks: DockerNetwork[] = [];
  const byName = new Map<string, DockerNetwork>();
  const bridges = new Map<string, number>();
  rawNetworks.forEach((raw: unknown, i: number) => {
    const path = `networks[${i}]`;
    if (!isObject(raw)) throw new TypeError(`${path}: ${show(raw)} is not an object`);
    checkKeys(raw, NETWORK_KEYS, path);
    const name = str(raw, 'name', path);
    if (name === '') throw new RangeError(`${path}.name: "" is not a network name`);
    if (byName.has(name)) throw new RangeError(`${path}.name: ${show(name)} is already the name of another network`);
    const bridge = str(raw, 'bridge', path);
    checkInterfaceName(bridge, `${path}.bridge`);
    const other = bridges.get(bridge);
    if (other !== undefined) {
      throw new RangeError(`${path}.bridge: ${show(bridge)} is already the bridge of networks[${other}]`);
    }
    const subnet = subnetOf(raw.subnet, `${path}.subnet`);
    const net: DockerNetwork = {
      name,
      bridge,
      subnet,
      icc: bool(raw, 'icc', `${path}.`, true),
      masquerade: bool(raw, 'masquerade', `${path}.`, true),
      internal: bool(raw, 'internal', `${path}.`, false),
    };
    Object.assign(net, networkOptions(raw, path, layout as DockerLayout, net.internal));
    if (raw.subnet6 !== undefined) {
      const s6 = subnetOf(raw.subnet6, `${path}.subnet6`);
      if (parsePrefix(s6)!.addr.family !== 'ipv6') throw new RangeError(`${path}.subnet6: ${show(raw.subnet6)} is not an IPv6 subnet`);
      if (parsePrefix(subnet)!.addr.family !== 'ipv4') {
        throw new RangeError(`${path}.subnet6: ${show(raw.subnet6)} given, but subnet ${show(subnet)} is not IPv4`);
      }
      net.subnet6 = s6;
    }
    // Two networks of one family must not share addresses: Docker's IPAM refuses it, and the
    // rules of one would then match the other's containers.
    for (const [key, subnetText] of [['subnet', net.subnet], ['subnet6', net.subnet6]] as const) {
      if (subnetText === undefined) continue;
      const mine = parsePrefix(subnetText)!;
      networks.forEach((o, j) => {
        for (const [okey, otherText] of [['subnet', o.subnet], ['subnet6', o.subnet6]] as const) {
          if (otherText === undefined) continue;
          const other = parsePrefix(otherText)!;
          if (prefixesOverlap(mine, other)) {
            throw new RangeError(`${path}.${key}: ${show(subnetText)} overlaps networks[${j}].${okey} ${show(otherText)}`);
          }
        }
      });
    }
    networks.push(net);
    byName.set(name, net);
    bridges.set(bridge, i);
  });

  const ports: DockerPort[] = [];
  // Each network's subnets parsed once, not once per port.
  const prefixes = new Map<string, Partial<Record<Family, Prefix>>>();
  for (const n of networks) {
    const own: Partial<Record<Family, Prefix>> = {};
    for (const s of networkSubnets(n)) own[s.family] = parsePrefix(s.subnet)!;
    prefixes.set(n.name, own);
  }
  // Host bindings already taken, to refuse a second binding of the same address and port:
  // exact (proto|hostIp|port), wildcard and any specific (both keyed by proto, family, port
  // as one number: this runs for every port of a big state).
  const exact = new Map<string, number>();
  const wildcard = new Map<number, number>();
  const specific = new Map<number, number>();
  for (let i = 0; i < rawPorts.length; i++) {
    if (pausesAt(i)) yield;
    const raw: unknown = rawPorts[i];
    const path = `ports[${i}]`;
    if (!isObject(raw)) throw new TypeError(`${path}: ${show(raw)} is not an object`);
    checkKeys(raw, PORT_KEYS, path);
    const netName = str(raw, 'network', path);
    const net = byName.get(netName);
    if (!net) throw new RangeError(`${path}.network: ${show(netName)} is not one of the networks`);
    if (net.internal) throw new RangeError(`${path}.network: ${show(netName)} is internal; Docker publishes no port on it`);
    const proto = raw.proto;
    if (typeof proto !== 'string' || !DOCKER_PROTOS.includes(proto as DockerProto)) {
      throw new RangeError(`${path}.proto: ${show(proto)} is not one of ${DOCKER_PROTOS.join(', ')}`);
    }
    const hostIpText = str(raw, 'hostIp', path);
    const hostAddr = parseAddress(hostIpText);
    if (!hostAddr) throw new RangeError(`${path}.hostIp: ${show(hostIpText)} is not an IP address`);
    const containerIpText = str(raw, 'containerIp', path);
    const containerAddr = parseAddress(containerIpText);
    if (!containerAddr) throw new RangeError(`${path}.containerIp: ${show(containerIpText)} is not an IP address`);
    if (hostAddr.family !== containerAddr.family) {
      throw new RangeError(
        `${path}.hostIp: ${show(hostIpText)} is not of the containerIp's family (${containerAddr.family}); ` +
          'Docker writes no rule for such a binding (docker-proxy alone serves it)',
      );
    }
    const subnet = prefixes.get(netName)![containerAddr.family];
    if (subnet === undefined) {
      throw new RangeError(`${path}.containerIp: ${show(containerIpText)} is ${containerAddr.family}, but network ${show(netName)} has no ${containerAddr.family} subnet`);
    }
    if (!prefixContains(subnet, containerAddr)) {
      throw new RangeError(`${path}.containerIp: ${show(containerIpText)} is outside network ${show(netName)}'s subnet ${formatPrefix(subnet)}`);
    }
    checkHostAddress(containerAddr, subnet, `${path}.containerIp`, containerIpText);
    const host = portSpec(raw, 'hostPort', path);
    const cont = portSpec(raw, 'containerPort', path);
    if (host.last - host.first !== cont.last - cont.first) {
      throw new RangeError(
        `${path}.containerPort: ${show(raw.containerPort)} is ${cont.last - cont.first + 1} ports, hostPort ${show(raw.hostPort)} is ${host.last - host.first + 1}`,
      );
    }
    // An IPv4 address that parsed is already in canonical form (see isIPv4Text).
    const hostIp = hostAddr.family === 'ipv4' ? hostIpText : formatAddress(hostAddr);
    const fam = hostAddr.family;
    const wild = isUnspecified(hostAddr);
    const famBase = (DOCKER_PROTOS.indexOf(proto as DockerProto) * 2 + (fam === 'ipv4' ? 0 : 1)) * 65536;
    for (let port = host.first; port <= host.last; port++) {
      const famKey = famBase + port;
      const clash = wild
        ? (wildcard.get(famKey) ?? specific.get(famKey))
        : (exact.get(`${proto}|${hostIp}|${port}`) ?? wildcard.get(famKey));
      if (clash !== undefined) {
        throw new RangeError(
          `${path}.hostPort: ${proto} ${hostIp}:${port} overlaps the binding of ports[${clash}] (${ports[clash]!.proto} ${ports[clash]!.hostIp}:${ports[clash]!.hostPort})`,
        );
      }
    }
    for (let port = host.first; port <= host.last; port++) {
      const famKey = famBase + port;
      if (wild) wildcard.set(famKey, i);
      else {
        exact.set(`${proto}|${hostIp}|${port}`, i);
        if (!specific.has(famKey)) specific.set(famKey, i);
      }
    }
    ports.push({
      network: netName,
      proto: proto as DockerProto,
      hostIp,
      hostPort: raw.hostPort as number | string,
      containerIp: containerAddr.family === 'ipv4' ? containerIpText : formatAddress(containerAddr),
      containerPort: raw.containerPort as number | string,
    });
  }

  const allowDirectRouting = bool(json, 'allowDirectRouting', '', false);
  const ipForwardNoDrop = bool(json, 'ipForwardNoDrop', '', false);
  // Docker's nftables back end never touches the filter FORWARD policy (it has no iptables).
  if (ipForwardNoDrop && layout === 'docker-nft') throw new RangeError('ipForwardNoDrop: true, but layout docker-nft sets no FORWARD policy to leave alone');
  if (allowDirectRouting && layout === 'classic') throw new RangeError('allowDirectRouting: true, but Docker before 28 has no direct-access rules to leave out');
  if (allowDirectRouting && layout === 'v28.0') throw new RangeError('allowDirectRouting: true, but Docker 28.0.0 has no allow-direct-routing option');
  if (allowDirectRouting && layout === 'v28.1') throw new RangeError('allowDirectRouting: true, but Docker before 28.2 has no allow-direct-routing option');
  let acceptFwMark: string | undefined;
  if (json.acceptFwMark !== undefined) {
    if (typeof json.acceptFwMark !== 'string') throw new TypeError(`acceptFwMark: ${show(json.acceptFwMark)} is not a string`);
    if (layout !== 'v29' && layout !== 'docker-nft') throw new RangeError('acceptFwMark: bridge-accept-fwmark is Docker 29\'s (layout v29 or docker-nft)');
    acceptFwMark = canonicalFwMark(json.acceptFwMark);
  }
  let iptables: boolean | undefined;
  if (json.iptables !== undefined) {
    if (typeof json.iptables !== 'boolean') throw new TypeError(`iptables: ${show(json.iptables)} is not a boolean`);
    // Docker 27's IPv4 chains without an IPv4 network are not modelled (no golden holds them).
    if (json.iptables && layout === 'classic') throw new RangeError('iptables: true is modelled for v28.0, v28.1, v28 and v29 only (classic: leave it out, or false)');
    iptables = json.iptables;
  }
  let ip6tables: boolean | undefined;
  if (json.ip6tables !== undefined) {
    if (typeof json.ip6tables !== 'boolean') throw new TypeError(`ip6tables: ${show(json.ip6tables)} is not a boolean`);
    ip6tables = json.ip6tables;
  }
  const state: DockerState = {
    layout: layout as DockerLayout,
    userlandProxy,
    ...(iptables !== undefined ? { iptables } : {}),
    ...(ip6tables !== undefined ? { ip6tables } : {}),
    ...(allowDirectRouting ? { allowDirectRouting } : {}),
    ...(acceptFwMark !== undefined ? { acceptFwMark } : {}),
    ...(ipForwardNoDrop ? { ipForwardNoDrop } : {}),
    networks,
    ports,
  };
  if (json.endpoints !== undefined) {
    if (!Array.isArray(json.endpoints)) throw new TypeError(`endpoints: ${show(json.endpoints)} is not an array`);
    const seen = new Map<string, number>();
    const endpoints: DockerEndpoint[] = [];
    for (let i = 0; i < json.endpoints.length; i++) {
      if (pausesAt(i)) yield;
      const raw: unknown = json.endpoints[i];
      const path = `endpoints[${i}]`;
      if (!isObject(raw)) throw new TypeError(`${path}: ${show(raw)} is not an object`);
      checkKeys(raw, ENDPOINT_KEYS, path);
      const netName = str(raw, 'network', path);
      const net = byName.get(netName);
      if (!net) throw new RangeError(`${path}.network: ${show(netName)} is not one of the networks`);
      const ipText = str(raw, 'ip', path);
      const addr = parseAddress(ipText);
      if (!addr) throw new RangeError(`${path}.ip: ${show(ipText)} is not an IP address`);
      const subnet = subnetFor(net, addr.family);
      if (subnet === undefined || !prefixContains(parsePrefix(subnet)!, addr)) {
        throw new RangeError(`${path}.ip: ${show(ipText)} is outside network ${show(netName)}'s subnets`);
      }
      checkHostAddress(addr, parsePrefix(subnet)!, `${path}.ip`, ipText);
      const ip = canonicalAddress(ipText)!;
      const dup = seen.get(ip);
      if (dup !== undefined) throw new RangeError(`${path}.ip: ${show(ipText)} is already endpoints[${dup}]`);
      seen.set(ip, i);
      endpoints.push({ network: netName, ip });
    }
    state.endpoints = endpoints;
  }
  return state;
}
