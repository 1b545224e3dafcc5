// The fast path of publish and unpublish on a big host: the same result as the general path
// (ops.ts: print every Docker table, infer the whole state, build every rule of the state
// before and after, diff them), computed from the few rules the changed ports touch.
//
// It applies to the common host only, and says so (FastPathUnavailable) for anything else, so
// the caller runs the general path instead:
// - the classic layout, in one address family; the other family has no port (no DNAT) rules;
// - every rule of nat DOCKER that publishes a port has Docker's exact shape with `! -i BRIDGE`
//   (the userland-proxy form), recognised on the rule model without printing it.
// The state's networks still come from inferState, fed with the tables minus the per-port
// rules it does not need (it needs, of the DNATs, only the first of each bridge: the guessed
// subnet of a network without a MASQUERADE rule comes from its first port). The ports come
// from the DNAT rules directly, as inferState would read them.

import type { Family, Rule, Table } from '../rules/model.js';
import { printSave } from '../rules/save.js';
import { ruleKey, ruleKeyHash, sameRuleKey } from '../plan/key.js';
import { canonicalAddress, parseAddress, parsePrefix, type Address, type Prefix } from './address.js';
import { inferState } from './infer.js';
import type { FamilySaves } from './saves.js';
import type { DockerNetwork, DockerProto, DockerState } from './state.js';
import { subnetFor } from './state.js';
import { DOCKER_CHAIN, type PortBinding } from './ruleset.js';

/** The fast path does not apply here: run the general one (which gives the same result). */
export class FastPathUnavailable extends Error {}

function unavailable(why: string): never {
  throw new FastPathUnavailable(why);
}

interface StrictDnat {
  proto: DockerProto;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  bridge: string;
}

const DIGITS = /^[0-9]+$/;

function hasKeys(f: Record<string, string>, n: number): boolean {
  let k = 0;
  for (const _ in f) k++;
  return k === n;
}

/**
 * A DNAT rule of exactly the shape Docker writes with the userland proxy on:
 * `[-d HOST/32] ! -i BRIDGE -p tcp|udp -m tcp|udp --dport N -j DNAT --to-destination C:P`,
 * read as inferState reads its iptables-save text; undefined for any other rule.
 */
export function strictDnat(r: Rule, family: Family): StrictDnat | undefined {
  if (r.foreign !== undefined || r.source !== undefined || r.sourceInvert || r.destinationInvert) return undefined;
  if (r.outInterface !== undefined || r.outInterfaceInvert || r.protocolInvert || r.fragment !== undefined) return undefined;
  if (r.inInterface === undefined || r.inInterfaceInvert !== true) return undefined;
  const proto = r.protocol === 6 ? 'tcp' : r.protocol === 17 ? 'udp' : undefined;
  if (proto === undefined || r.matches.length !== 1) return undefined;
  const m = r.matches[0]!;
  if (m.name !== proto || m.revision !== 0 || m.opaque) return undefined;
  const f = m.fields;
  if (f['spts'] !== '0:65535' || f['invflags'] !== '0') return undefined;
  if (proto === 'tcp') {
    if (f['option'] !== '0' || f['flg_mask'] !== '0' || f['flg_cmp'] !== '0' || !hasKeys(f, 6)) return undefined;
  } else if (!hasKeys(f, 3)) return undefined;
  const dpts = f['dpts'];
  if (dpts === undefined) return undefined;
  const colon = dpts.indexOf(':');
  const port = dpts.slice(0, colon);
  if (colon < 0 || dpts.slice(colon + 1) !== port || !DIGITS.test(port)) return undefined;
  const t = r.target;
  if (t.kind !== 'extension' || t.name !== 'DNAT' || t.opaque) return undefined;
  const tf = t.fields;
  if (tf['flags'] !== '3' || tf['base_proto'] !== '0' || !hasKeys(tf, 6)) return undefined;
  const addr = tf['min_addr'];
  const cport = tf['min_proto'];
  if (addr === undefined || tf['max_addr'] !== addr || cport === undefined || tf['max_proto'] !== cport || !DIGITS.test(cport)) return undefined;
  if (!/^[0-9a-fA-F.:]+$/.test(addr) || (family === 'ipv4') === addr.includes(':')) return undefined;
  let hostIp = family === 'ipv4' ? '0.0.0.0' : '::';
  if (r.destination !== undefined) {
    const suffix = family === 'ipv4' ? '/32' : '/128';
    if (!r.destination.endsWith(suffix)) return undefined;
    hostIp = r.destination.slice(0, -suffix.length);
  }
  return { proto, hostIp, hostPort: Number(port), containerIp: addr, containerPort: Number(cport), bridge: r.inInterface };
}

/** A rule inferState reads as a port (or may: anything unusual), that strictDnat did not take. */
function maybePort(r: Rule): boolean {
  if (r.foreign !== undefined) return true;
  const t = r.target;
  return (t.kind === 'extension' && t.name === 'DNAT') || (t.kind === 'jump' && t.chain === 'DNAT') || t.kind === 'none';
}

/** A nat POSTROUTING rule inferState never looks at: no `-o`, nothing it cannot see into. */
function ignoredInPostrouting(r: Rule): boolean {
  if (r.foreign !== undefined || r.outInterface !== undefined) return false;
  if (r.target.kind === 'extension' && r.target.opaque) return false;
  return r.matches.every((m) => !m.opaque);
}

export interface FastBase {
  /** What inferState gives for networks, layout and userlandProxy (its ports are not used). */
  kernel: DockerState;
  /** Every port of the family's nat DOCKER, one host port each, in rule order. */
  bindings: PortBinding[];
  /** Rules known to hold no character ruleKeyHash refuses (strict DNATs): see ownsKeysOf. */
  clean: WeakSet<Rule>;
}

/** True when the other family's tables publish no port (its Docker rules may be networks'). */
export function otherFamilyQuiet(tables: readonly Table[]): boolean {
  const docker = tables.find((t) => t.name === 'nat')?.chains.find((c) => c.name === DOCKER_CHAIN);
  return !docker || docker.rules.every((r) => !maybePort(r));
}

/**
 * The state (networks) and the ports of the kernel's tables of `family` (nat and filter as
 * read), with `other` the other family's iptables-save texts.
 */
export function fastBase(family: Family, current: readonly Table[], other: FamilySaves): FastBase {
  const nat = current.find((t) => t.name === 'nat');
  const filter = current.find((t) => t.name === 'filter');
  if (!nat || !filter) unavailable('nat or filter missing');
  if (filter.chains.some((c) => c.name === 'DOCKER-FORWARD')) unavailable('v28 layout');
  const ports: StrictDnat[] = [];
  const cleanRules = new WeakSet<Rule>();
  const reducedNat: Table = {
    ...nat,
    chains: nat.chains.map((c) => {
      if (c.name === DOCKER_CHAIN) {
        const firstOf = new Set<string>();
        const kept: Rule[] = [];
        for (const r of c.rules) {
          const p = strictDnat(r, family);
          if (p) {
            ports.push(p);
            // Its other texts are digits, address characters and fixed names (strictDnat).
            if (!holds(r.destination, PIPE) && !holds(r.inInterface, PIPE)) cleanRules.add(r);
            if (!firstOf.has(p.bridge)) {
              firstOf.add(p.bridge);
              kept.push(r);
            }
            continue;
          }
          if (maybePort(r)) unavailable('a nat DOCKER rule of another shape');
          kept.push(r);
        }
        return { ...c, rules: kept };
      }
      if (c.name === 'POSTROUTING') return { ...c, rules: c.rules.filter((r) => !ignoredInPostrouting(r)) };
      return c;
    }),
  };
  // filter DOCKER only tells inferState the bridge of a DNAT without `! -i`: there is none.
  const reducedFilter: Table = { ...filter, chains: filter.chains.map((c) => (c.name === DOCKER_CHAIN ? { ...c, rules: [] } : c)) };
  const mine: FamilySaves = { family, tables: { nat: printSave([reducedNat]), filter: printSave([reducedFilter]) } };
  const saves = family === 'ipv4' ? [mine, other] : [other, mine];
  const kernel = inferState(saves);
  if (kernel.layout !== 'classic') unavailable(`layout ${kernel.layout}`);
  const byBridge = new Map(kernel.networks.map((n) => [n.bridge, n]));
  const bindings: PortBinding[] = [];
  for (const p of ports) {
    const n = byBridge.get(p.bridge);
    if (!n) continue;
    bindings.push({
      network: n.name,
      proto: p.proto,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerIp: p.containerIp,
      containerPort: p.containerPort,
      family,
    });
  }
  return { kernel, bindings, clean: cleanRules };
}

function contains(p: Prefix, a: Address): boolean {
  if (p.addr.family !== a.family) return false;
  const full = p.length >> 3;
  for (let i = 0; i < full; i++) if (p.addr.bytes[i] !== a.bytes[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.addr.bytes[full]! & mask) === (a.bytes[full]! & mask);
}

/**
 * Whether validateState would accept these bindings (with the networks of `state`) as its
 * ports: each on a network that has a subnet of its family holding the container address,
 * not internal, with valid ports, and no two binding the same host address and port.
 * Returns the bindings with canonical addresses, as validateState gives them; undefined when
 * it would throw.
 */
export function validBindings(state: DockerState, bindings: readonly PortBinding[]): PortBinding[] | undefined {
  const nets = new Map<string, { net: DockerNetwork; prefix: Map<Family, Prefix | undefined> }>();
  for (const n of state.networks) nets.set(n.name, { net: n, prefix: new Map() });
  const addrCache = new Map<string, Address | undefined>();
  const addr = (s: string): Address | undefined => {
    let a = addrCache.get(s);
    if (a === undefined && !addrCache.has(s)) addrCache.set(s, (a = parseAddress(s)));
    return a;
  };
  const canon = new Map<string, string>();
  const canonical = (s: string): string => {
    let c = canon.get(s);
    if (c === undefined) canon.set(s, (c = canonicalAddress(s)!));
    return c;
  };
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  const specific = new Set<string>();
  const out: PortBinding[] = [];
  for (const b of bindings) {
    const n = nets.get(b.network);
    if (!n || n.net.internal) return undefined;
    if (!Number.isInteger(b.hostPort) || b.hostPort < 1 || b.hostPort > 65535) return undefined;
    if (!Number.isInteger(b.containerPort) || b.containerPort < 1 || b.containerPort > 65535) return undefined;
    const host = addr(b.hostIp);
    const cont = parseAddress(b.containerIp);
    if (!host || !cont || host.family !== cont.family) return undefined;
    let prefix = n.prefix.get(cont.family);
    if (!n.prefix.has(cont.family)) {
      const s = subnetFor(n.net, cont.family);
      prefix = s === undefined ? undefined : parsePrefix(s);
      n.prefix.set(cont.family, prefix);
    }
    if (!prefix || !contains(prefix, cont)) return undefined;
    const hostIp = canonical(b.hostIp);
    const famKey = `${b.proto}|${host.family}|${b.hostPort}`;
    const exactKey = `${b.proto}|${hostIp}|${b.hostPort}`;
    const wild = host.bytes.every((x) => x === 0);
    if (wild ? wildcard.has(famKey) || specific.has(famKey) : exact.has(exactKey) || wildcard.has(famKey)) return undefined;
    if (wild) wildcard.add(famKey);
    else {
      exact.add(exactKey);
      specific.add(famKey);
    }
    // A dotted quad parseAddress accepts is already canonical (no leading zeros).
    out.push({ ...b, hostIp, containerIp: cont.family === 'ipv4' ? b.containerIp : canonical(b.containerIp) });
  }
  return out;
}

// Characters ruleKeyHash refuses (plan/key.ts), by where they occur.
const PIPE = 1; // addresses, interfaces: |
const NAME = 2; // extension names: / { } ;
const FKEY = 4; // field names: = ; { }
const FVAL = 8; // field values: ; { }
const CLASS = new Uint8Array(0x80);
CLASS[0x7c] = PIPE;
CLASS[0x2f] = NAME;
CLASS[0x7b] = NAME | FKEY | FVAL;
CLASS[0x7d] = NAME | FKEY | FVAL;
CLASS[0x3b] = NAME | FKEY | FVAL;
CLASS[0x3d] = FKEY;

function holds(s: string | undefined, what: number): boolean {
  if (s === undefined) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && CLASS[c]! & what) return true;
  }
  return false;
}

function cleanFields(f: Record<string, string>): boolean {
  for (const k in f) {
    if (!Object.prototype.hasOwnProperty.call(f, k)) continue;
    if (holds(k, FKEY) || holds(f[k], FVAL)) return false;
  }
  return true;
}

/**
 * No text of the rule holds a character ruleKeyHash refuses (plan/key.ts), so it would have
 * a hash: for two such rules, equal keys mean equal parts, which sameRuleKey compares.
 */
function clean(r: Rule): boolean {
  if (holds(r.source, PIPE) || holds(r.destination, PIPE) || holds(r.inInterface, PIPE) || holds(r.outInterface, PIPE)) return false;
  for (const m of r.matches) if (holds(m.name, NAME) || !cleanFields(m.fields)) return false;
  const t = r.target;
  return t.kind !== 'extension' || (!holds(t.name, NAME) && cleanFields(t.fields));
}

/**
 * owns() of a delta intent: the rules whose ruleKey is one of `rules`' keys (and not foreign).
 * A big chain's rules are compared part by part (sameRuleKey, no key built) when both sides
 * are clean, where that is the same test; the key decides otherwise.
 */
export function ownsKeysOf(rules: readonly Rule[], known?: WeakSet<Rule>): (r: Rule) => boolean {
  const keys = new Set(rules.map(ruleKey));
  const allClean = rules.every((c) => ruleKeyHash(c) >= 0);
  return (r) => {
    if (r.foreign !== undefined) return false;
    if (allClean) {
      // sameRuleKey true: the keys are equal, whatever the texts hold.
      for (const c of rules) if (sameRuleKey(c, r)) return true;
      if (known?.has(r) || clean(r)) return false;
    }
    return keys.has(ruleKey(r));
  };
}

// ---------------------------------------------------------------------------------------
// Docker's per-port rules as read from the kernel, back to the text Docker's model writes.

const TCP_DEFAULT_FIELDS = 6;

/** The one tcp/udp match of a per-port rule with only a destination port: that port. */
function dportOnly(r: Rule): { proto: 'tcp' | 'udp'; port: string } | undefined {
  const proto = r.protocol === 6 ? 'tcp' : r.protocol === 17 ? 'udp' : undefined;
  if (proto === undefined || r.protocolInvert || r.fragment !== undefined || r.matches.length !== 1) return undefined;
  const m = r.matches[0]!;
  if (m.name !== proto || m.revision !== 0 || m.opaque) return undefined;
  const f = m.fields;
  if (f['spts'] !== '0:65535' || f['invflags'] !== '0') return undefined;
  if (proto === 'tcp') {
    if (f['option'] !== '0' || f['flg_mask'] !== '0' || f['flg_cmp'] !== '0' || !hasKeys(f, TCP_DEFAULT_FIELDS)) return undefined;
  } else if (!hasKeys(f, 3)) return undefined;
  const dpts = f['dpts'];
  if (dpts === undefined) return undefined;
  const colon = dpts.indexOf(':');
  const port = dpts.slice(0, colon);
  if (colon < 0 || dpts.slice(colon + 1) !== port || !DIGITS.test(port)) return undefined;
  return { proto, port };
}

const HOST_TEXT = /^[0-9a-fA-F.:]+\/(32|128)$/;
const IFNAME_TEXT = /^[^\s!"'\\|]+$/;

/**
 * For a rule of one of Docker's per-port shapes (DNAT, hairpin MASQUERADE, ACCEPT; fields
 * checked one by one), the text Docker's model writes for it, and its shape (the kind of
 * rule, protocol and which options it has); undefined for any other rule.
 */
export function perPortText(r: Rule, family: Family): { text: string; shape: string } | undefined {
  if (r.foreign !== undefined || r.sourceInvert || r.destinationInvert || r.outInterfaceInvert) return undefined;
  const t = r.target;
  if (t.kind === 'extension' && t.name === 'DNAT') {
    const d = strictDnat(r, family);
    if (!d || !IFNAME_TEXT.test(d.bridge) || (r.destination !== undefined && !HOST_TEXT.test(r.destination))) return undefined;
    const to = family === 'ipv4' ? `${d.containerIp}:${d.containerPort}` : `[${d.containerIp}]:${d.containerPort}`;
    const dest = r.destination !== undefined ? `-d ${r.destination} ` : '';
    return {
      text: `${dest}! -i ${d.bridge} -p ${d.proto} -m ${d.proto} --dport ${d.hostPort} -j DNAT --to-destination ${to}`,
      shape: `dnat|${d.proto}|${dest !== ''}|${family}|${t.revision}`,
    };
  }
  const p = dportOnly(r);
  if (!p) return undefined;
  if (t.kind === 'extension' && t.name === 'MASQUERADE' && !t.opaque) {
    if (r.inInterface !== undefined || r.inInterfaceInvert || r.outInterface !== undefined) return undefined;
    const s = r.source;
    if (s === undefined || s !== r.destination || !HOST_TEXT.test(s)) return undefined;
    const f = t.fields;
    const zero = family === 'ipv4' ? '0.0.0.0' : '::';
    if (f['flags'] !== '0' || f['min_addr'] !== zero || f['max_addr'] !== zero || f['min_proto'] !== '0' || f['max_proto'] !== '0' || !hasKeys(f, 5)) {
      return undefined;
    }
    return { text: `-s ${s} -d ${s} -p ${p.proto} -m ${p.proto} --dport ${p.port} -j MASQUERADE`, shape: `hairpin|${p.proto}|${family}|${t.revision}` };
  }
  if (t.kind === 'verdict' && t.verdict === 'ACCEPT') {
    if (r.source !== undefined || r.destination === undefined || !HOST_TEXT.test(r.destination)) return undefined;
    const br = r.outInterface;
    if (br === undefined || r.inInterface !== br || r.inInterfaceInvert !== true || !IFNAME_TEXT.test(br)) return undefined;
    return {
      text: `-d ${r.destination} ! -i ${br} -o ${br} -p ${p.proto} -m ${p.proto} --dport ${p.port} -j ACCEPT`,
      shape: `accept|${p.proto}|${family}`,
    };
  }
  return undefined;
}
