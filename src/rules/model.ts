// The rule model shared by every layer: tables, chains, rules, matches and targets as the
// kernel holds them. Match and target options are the codec's fields (docs/wire.md), so a
// rule read from the kernel compares equal, field by field, to the same rule parsed from text.

export type Family = 'ipv4' | 'ipv6';

export type TableName = 'filter' | 'nat' | 'mangle' | 'raw' | 'security';

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export interface Counters {
  packets: bigint;
  bytes: bigint;
}

/** Option fields of one match or target, as its codec defines them (docs/wire.md). */
export type Fields = Record<string, string>;

export interface Match {
  name: string;
  revision: number;
  fields: Fields;
  /** Read from the kernel without a codec: `fields.raw` holds the data byte for byte. */
  opaque?: boolean;
}

export type Verdict = 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE';

export type Target =
  | { kind: 'verdict'; verdict: Verdict }
  | { kind: 'jump'; chain: string; goto?: boolean }
  | { kind: 'extension'; name: string; revision: number; fields: Fields; opaque?: boolean }
  | { kind: 'none' };

/** An address with its mask, canonical: `10.0.0.0/8`, or `10.0.0.0/255.0.255.0` when the
 * mask is not a prefix. Host bits are cleared as the kernel stores them. */
export type Cidr = string;

export interface Rule {
  source?: Cidr;
  sourceInvert?: boolean;
  destination?: Cidr;
  destinationInvert?: boolean;
  /** Interface name; a trailing `+` matches every name with that prefix. */
  inInterface?: string;
  inInterfaceInvert?: boolean;
  outInterface?: string;
  outInterfaceInvert?: boolean;
  /** IP protocol number; absent means all. */
  protocol?: number;
  protocolInvert?: boolean;
  /** IPv4 only: true is `-f`, false is `! -f`. */
  fragment?: boolean;
  matches: Match[];
  target: Target;
  /** Present when read from the kernel, or when restoring with `-c`. */
  counters?: Counters;
  /**
   * nft only: a rule in an iptables-nft chain that is not in iptables-nft form (written by
   * `nft` directly). The text says what it is; iptkit never rewrites or removes it.
   */
  foreign?: string;
}

/**
 * A rule with every property of the model present (absent ones undefined), always in this
 * order: the one construction path of the parsers and the wire decoder, so every pass over
 * rules reads them through one object shape. The order is the order a read assigns them, so
 * JSON output (which leaves undefined out) lists the present keys as before.
 */
export function createRule(matches: Match[], target: Target): Rule {
  return {
    matches,
    target,
    source: undefined,
    destination: undefined,
    inInterface: undefined,
    outInterface: undefined,
    protocol: undefined,
    fragment: undefined,
    counters: undefined,
    sourceInvert: undefined,
    destinationInvert: undefined,
    inInterfaceInvert: undefined,
    outInterfaceInvert: undefined,
    protocolInvert: undefined,
    foreign: undefined,
  };
}

/** A copy of `rule` in createRule's shape, with other counters. */
export function copyRule(rule: Rule, counters: Counters | undefined): Rule {
  return {
    matches: rule.matches,
    target: rule.target,
    source: rule.source,
    destination: rule.destination,
    inInterface: rule.inInterface,
    outInterface: rule.outInterface,
    protocol: rule.protocol,
    fragment: rule.fragment,
    counters,
    sourceInvert: rule.sourceInvert,
    destinationInvert: rule.destinationInvert,
    inInterfaceInvert: rule.inInterfaceInvert,
    outInterfaceInvert: rule.outInterfaceInvert,
    protocolInvert: rule.protocolInvert,
    foreign: rule.foreign,
  };
}

export interface Chain {
  name: string;
  /** Built-in chains only. */
  policy?: 'ACCEPT' | 'DROP';
  /** Built-in chains only: the policy's counters. */
  counters?: Counters;
  /** User-defined chains, when read from the kernel: how many rules jump here. */
  references?: number;
  rules: Rule[];
}

export interface Table {
  name: string;
  family: Family;
  chains: Chain[];
}

export function isBuiltinChain(table: string, chain: string): boolean {
  const builtins = BUILTIN_CHAINS[table as TableName];
  return builtins !== undefined && builtins.includes(chain);
}
