// Native nftables objects of a table of the caller's own (Docker 29's `docker-bridges` is one):
// base and regular chains, sets and verdict maps with their elements, rules as lists of the
// kernel's own expressions. Checked whole by the addon (a TypeError names the field), committed
// in one batch under the ruleset generation, re-planned when another writer got in between.

import { native } from '../binding.js';
import { netnsPath } from '../backend/env.js';

/** Base chain priorities by nft's names for them. */
export const NftPriority = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 } as const;

/**
 * One expression as libnftnl names it and its fields (registers as numbers, bytes as hex in
 * memory order, enumerations by nft's names), e.g. `{ expr: 'meta', key: 'iifname', dreg: 1 }`,
 * `{ expr: 'cmp', sreg: 1, op: 'neq', data: '62722d78000000000000000000000000' }`,
 * `{ expr: 'immediate', dreg: 0, verdict: 'jump', chain: 'x' }`. A counter's packets and bytes
 * are read back and never compared.
 */
export interface NftExpr {
  expr: 'payload' | 'meta' | 'cmp' | 'bitwise' | 'fib' | 'ct' | 'immediate' | 'lookup' | 'counter' | 'nat' | 'masq';
  [field: string]: string | number | bigint;
}

/** An anonymous set of one rule (nft's `{ a, b }`): constant; its lookups name it `__set<index>`. */
export interface NftAnonymousSet {
  type: NftSet['type'];
  elements: Array<{ key: string | number }>;
}

export interface NftRule {
  exprs: NftExpr[];
  /** The rule's anonymous sets; a lookup's `set: '__set0'` is anonymousSets[0]. */
  anonymousSets?: NftAnonymousSet[];
  /** nft's `comment "…"`: the rule's user data. */
  comment?: string;
  /** Read back only: the rule has an expression this model does not know (it is never kept as is). */
  foreign?: boolean;
}

export interface NftChain {
  name: string;
  /** A base chain has a type, a hook and a priority (policy accept unless given). */
  type?: 'filter' | 'nat' | 'route';
  hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  priority?: number;
  policy?: 'accept' | 'drop';
  rules?: NftRule[];
}

export interface NftElement {
  /** As the key type writes it: an interface name, an address, a port or protocol number, a mark. */
  key: string | number;
  /** Verdict maps only. */
  verdict?: 'accept' | 'drop' | 'jump' | 'goto' | 'return';
  chain?: string;
}

export interface NftSet {
  name: string;
  type: 'ifname' | 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service' | 'mark';
  /** `type KEY : verdict`: a verdict map. */
  map?: 'verdict';
  flags?: 'constant'[];
  elements?: NftElement[];
}

export interface NftTable {
  family: 'ip' | 'ip6';
  name: string;
  sets?: NftSet[];
  /** In the order nft lists them (the order they are made in). */
  chains?: NftChain[];
}

export interface NftCommitOptions {
  netns?: string;
  /**
   * replace (the default): the table holds exactly what is described, as Docker's own table;
   * merge: chains and sets the description does not name are left as they are.
   */
  mode?: 'replace' | 'merge';
}

export interface NftCommitResult {
  /** How many times the commit was planned: more than 1 when another writer got in between. */
  attempts: number;
}

/** The table as the kernel has it now, or null when there is none. */
export async function readNftTable(family: 'ip' | 'ip6', name: string, options: { netns?: string } = {}): Promise<NftTable | null> {
  return native.nftObjectsRead(family, netnsPath(options.netns) ?? null, name);
}

/**
 * Makes the kernel's table what `table` describes, in one batch carrying the generation its plan
 * was read at. A chain whose rules stay is not touched (counters survive); one whose rules change
 * is flushed and written again, as Docker does; map elements change one by one.
 */
export async function commitNftTable(table: NftTable, options: NftCommitOptions = {}): Promise<NftCommitResult> {
  return native.nftObjectsCommit(netnsPath(options.netns) ?? null, table, options.mode ?? 'replace');
}

/**
 * commitNftTable of several tables (of either family) in one batch under one generation: all of
 * them change, or none. Docker's ip and ip6 `docker-bridges` tables go together this way.
 */
export async function commitNftTables(tables: readonly NftTable[], options: NftCommitOptions = {}): Promise<NftCommitResult> {
  return native.nftObjectsCommit(netnsPath(options.netns) ?? null, [...tables], options.mode ?? 'replace');
}
