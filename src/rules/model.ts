// The table model shared by every layer: tables, chains with their policies and counters, and
// rules as canonical text (the native dialect owns what a rule means; see Rule).

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

/**
 * A rule is its canonical text: the options iptables-save prints after `-A CHAIN`
 * (`-s 10.0.0.0/8 -p tcp -m tcp --dport 80 -j ACCEPT`). The native dialect prints every rule it
 * reads this way and parses every rule committed, so two rules are the same rule exactly when
 * their texts are equal. A rule on an nf_tables host that is not in iptables-nft form (written
 * by `nft` directly) reads as `# …` describing it: it is kept where it is, never rewritten.
 * parseRule/formatRule (rules/spec.ts) give a rule as an object in iptables' words.
 */
export type Rule = string;

/** Whether a rule read from nf_tables is not in iptables-nft form (see Rule). */
export function isForeignRule(rule: Rule): boolean {
  return rule.charCodeAt(0) === 0x23; // '#'
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
  /**
   * The rules' counters, two entries (packets, bytes) per rule, as read from the kernel. On a
   * commit with `counters: true` they are the counters to give new rules (restore -c); a
   * chain without them gives new rules zero counters.
   */
  ruleCounters?: BigUint64Array;
}

/** The counters of a chain's rule `i`, zero when the chain carries none. */
export function ruleCounters(chain: Chain, i: number): Counters {
  const c = chain.ruleCounters;
  if (!c || 2 * i + 1 >= c.length) return { packets: 0n, bytes: 0n };
  return { packets: c[2 * i]!, bytes: c[2 * i + 1]! };
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
