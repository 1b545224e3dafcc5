// The shape of one extension (match or target) on the TypeScript side: its command-line
// options, how parsed options become the codec's fields, and how fields print in
// iptables-save syntax and in the `iptables -L` listing. The C++ twin in native/ext/ moves
// the same fields in and out of the kernel struct; the field schema is written in both.

import type { Family, Fields, Match, Target } from '../model.js';

export interface OptionSpec {
  /** Long option name without the leading dashes: 'dport'. */
  name: string;
  /** Other spellings accepted on input: 'destination-port'. */
  aliases?: readonly string[];
  /** Whether the option takes an argument. */
  hasArg: boolean;
  /**
   * Arguments it takes when more than one (tcp --tcp-flags MASK COMP: 2). The parser hands
   * them to build() joined by one space.
   */
  args?: number;
  /** Whether `!` may precede it. */
  invertible?: boolean;
}

/** One option as the rule parser found it, in input order. */
export interface ParsedOption {
  /** Canonical name (an alias is reported under the spec's `name`). */
  name: string;
  value?: string;
  invert: boolean;
  /** The option as written, for error messages: '--dport'. */
  token: string;
}

export interface ParseContext {
  family: Family;
  /** The rule's `-p` protocol number, if any (tcp needs -p tcp, and so on). */
  protocol?: number;
  protocolInvert?: boolean;
  /** Throws a ParseError naming the token; never returns. */
  fail(message: string, token?: string, expected?: string): never;
}

export interface PrintContext {
  family: Family;
  /** `-n`: numeric addresses and ports (the listing); save is always numeric. */
  numeric: boolean;
  /** The rule's `-p` protocol: service names depend on it (multiport). */
  protocol?: number;
}

interface ExtensionBase {
  /** Names accepted after -m / -j (first one is the canonical user name). */
  names: readonly string[];
  /** The kernel's extension name and the revisions this module can print. */
  kernelName: string;
  revisions: readonly number[];
  /** Limited to one family (icmp: ipv4; icmp6: ipv6); absent means both. */
  family?: Family;
  options: readonly OptionSpec[];
  /** The revision iptables 1.8.9 would write on a current kernel. */
  revision(family: Family): number;
  /** Options after `-m NAME` / `-j NAME` → fields. Validates and fails with the token. */
  build(options: readonly ParsedOption[], ctx: ParseContext): Fields;
}

export interface MatchExtension extends ExtensionBase {
  kind: 'match';
  /** Distinguishes modules sharing one kernel name (state vs conntrack). */
  accepts?(match: Match): boolean;
  /** iptables-save text for this match, including `-m name`: '-m tcp --dport 80'. */
  save(match: Match, ctx: PrintContext): string;
  /** `iptables -L` text for the options column: 'tcp dpt:80'. */
  list(match: Match, ctx: PrintContext): string;
}

export type ExtensionTarget = Extract<Target, { kind: 'extension' }>;

export interface TargetExtension extends ExtensionBase {
  kind: 'target';
  /** iptables-save text including `-j NAME`: '-j DNAT --to-destination 172.19.0.2:443'. */
  save(target: ExtensionTarget, ctx: PrintContext): string;
  /** `iptables -L` options-column text: 'to:172.19.0.2:443'. */
  list(target: ExtensionTarget, ctx: PrintContext): string;
}

export type Extension = MatchExtension | TargetExtension;
