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
