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

import type { Family } from '../rules/model.js';
import {
  canonicalAddress,
  formatPrefix,
  hostBitsSet,
  isUnspecified,
  parseAddress,
  parsePrefix,
  prefixContains,
} from './address.js';

export type DockerLayout = 'classic' | 'v28' | 'v29' | 'nft';
export type DockerProto = 'tcp' | 'udp' | 'sctp';

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
  /** Top first: Docker inserts each new network's rules above the older ones'. */
  networks: DockerNetwork[];
  /** In the order their DNAT rules appear. */
  ports: DockerPort[];
  endpoints?: DockerEndpoint[];
}

export const DOCKER_LAYOUTS: readonly DockerLayout[] = ['classic', 'v28', 'v29', 'nft'];

/** The layouts of Docker's iptabler (28.2+): DOCKER-FORWARD, raw direct-access DROPs, per-port ACCEPTs inserted. */
export function isIptablerLayout(layout: DockerLayout): layout is 'v28' | 'v29' {
  return layout === 'v28' || layout === 'v29';
}
/** The layout of a host without any of Docker's chains: the current Docker's (29.x). */
export const DEFAULT_LAYOUT: DockerLayout = 'v29';

export const DOCKER_PROTOS: readonly DockerProto[] = ['tcp', 'udp', 'sctp'];

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;

const STATE_KEYS = ['layout', 'userlandProxy', 'networks', 'ports', 'endpoints'];
const NETWORK_KEYS = ['name', 'bridge', 'subnet', 'subnet6', 'icc', 'masquerade', 'internal'];
const PORT_KEYS = ['network', 'proto', 'hostIp', 'hostPort', 'containerIp', 'containerPort'];
const ENDPOINT_KEYS = ['network', 'ip'];

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
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
  if (typeof v !== 'string') throw new TypeError(`${path}.${key}: ${show(v)} is not a string`);
  return v;
}

function bool(obj: Record<string, unknown>, key: string, path: string, dflt: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${path}${key}: ${show(v)} is not a boolean`);
  return v;
}

/** Linux's dev_valid_name, plus the length limit counted in bytes. */
export function checkInterfaceName(name: string, path: string): void {
  if (name === '' || name === '.' || name === '..') throw new RangeError(`${path}: ${show(name)} is not an interface name`);
  if (/[\s/:]/.test(name)) {
    throw new RangeError(`${path}: ${show(name)} is not an interface name (no whitespace, "/" or ":")`);
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
    if (typeof v === 'number') throw new RangeError(`${path}.${key}: ${show(v)} is not a port`);
    throw new RangeError(`${path}.${key}: ${show(v)} is not a port range "A-B" with 1 <= A < B <= 65535`);
  }
  return r;
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

export function portFamily(p: DockerPort): Family {
  return parseAddress(p.containerIp)?.family ?? 'ipv4';
}

/** Validates untrusted JSON (already parsed) and returns it as a canonical DockerState. */
export function validateState(json: unknown): DockerState {
  if (!isObject(json)) throw new TypeError(`state: ${show(json)} is not an object`);
  checkKeys(json, STATE_KEYS, '');
  const layout = json.layout;
  if (typeof layout !== 'string' || !DOCKER_LAYOUTS.includes(layout as DockerLayout)) {
    throw new RangeError(`layout: ${show(layout)} is not one of ${DOCKER_LAYOUTS.join(', ')}`);
  }
  const userlandProxy = bool(json, 'userlandProxy', '', true);
  const rawNetworks = json.networks ?? [];
  if (!Array.isArray(rawNetworks)) throw new TypeError(`networks: ${show(rawNetworks)} is not an array`);
  const rawPorts = json.ports ?? [];
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
    if (raw.subnet6 !== undefined) {
      const s6 = subnetOf(raw.subnet6, `${path}.subnet6`);
      if (parsePrefix(s6)!.addr.family !== 'ipv6') throw new RangeError(`${path}.subnet6: ${show(raw.subnet6)} is not an IPv6 subnet`);
      if (parsePrefix(subnet)!.addr.family !== 'ipv4') {
        throw new RangeError(`${path}.subnet6: ${show(raw.subnet6)} given, but subnet ${show(subnet)} is not IPv4`);
      }
      net.subnet6 = s6;
    }
    networks.push(net);
    byName.set(name, net);
    bridges.set(bridge, i);
  });

  const ports: DockerPort[] = [];
  // Host bindings already taken, to refuse a second binding of the same address and port:
  // exact (proto|hostIp|port), wildcard (proto|family|port) and any specific (proto|family|port).
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  const specific = new Map<string, number>();
  rawPorts.forEach((raw: unknown, i: number) => {
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
    const subnet = subnetFor(net, containerAddr.family);
    if (subnet === undefined) {
      throw new RangeError(`${path}.containerIp: ${show(containerIpText)} is ${containerAddr.family}, but network ${show(netName)} has no ${containerAddr.family} subnet`);
    }
    if (!prefixContains(parsePrefix(subnet)!, containerAddr)) {
      throw new RangeError(`${path}.containerIp: ${show(containerIpText)} is outside network ${show(netName)}'s subnet ${subnet}`);
    }
    const host = portSpec(raw, 'hostPort', path);
    const cont = portSpec(raw, 'containerPort', path);
    if (host.last - host.first !== cont.last - cont.first) {
      throw new RangeError(
        `${path}.containerPort: ${show(raw.containerPort)} is ${cont.last - cont.first + 1} ports, hostPort ${show(raw.hostPort)} is ${host.last - host.first + 1}`,
      );
    }
    const hostIp = canonicalAddress(hostIpText)!;
    const fam = hostAddr.family;
    const wild = isUnspecified(hostAddr);
    for (let port = host.first; port <= host.last; port++) {
      const famKey = `${proto}|${fam}|${port}`;
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
      const famKey = `${proto}|${fam}|${port}`;
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
      containerIp: canonicalAddress(containerIpText)!,
      containerPort: raw.containerPort as number | string,
    });
  });

  const state: DockerState = { layout: layout as DockerLayout, userlandProxy, networks, ports };
  if (json.endpoints !== undefined) {
    if (!Array.isArray(json.endpoints)) throw new TypeError(`endpoints: ${show(json.endpoints)} is not an array`);
    const seen = new Map<string, number>();
    state.endpoints = json.endpoints.map((raw: unknown, i: number) => {
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
      const ip = canonicalAddress(ipText)!;
      const dup = seen.get(ip);
      if (dup !== undefined) throw new RangeError(`${path}.ip: ${show(ipText)} is already endpoints[${dup}]`);
      seen.set(ip, i);
      return { network: netName, ip };
    });
  }
  return state;
}
