// The shape of the native module (build/Release/iptkit.node). Only src/binding.ts loads it;
// the public API never exposes these types. Every kernel call runs off the event loop and
// returns a Promise; tables cross as one wire string each (docs/wire.md). The dialect functions
// (dialect*) are synchronous.
//
// Rejections are Error objects with: code ('EPERM', 'ENOENT', 'ESTALE', 'ERESTART', …),
// errno (number), op ('read', 'commit', 'lock', 'setns', …), and where known table, chain.

import type { NftTable } from './nft/objects.js';

export type NativeFamily = 'ipv4' | 'ipv6';

/** What Netfilter.recover() found and did for one family (iptkit recover prints it). */
export interface RecoverResult {
  family: 'ipv4' | 'ipv6';
  /** An intent record of an unfinished commit was there. */
  found: boolean;
  /** The intent record's path under /run/iptkit. */
  path: string;
  /** finished: the commit was completed; rolled back: undone; stale: the record's namespace is gone. */
  outcome?: 'finished' | 'rolled back' | 'stale';
  /** Each table of the commit: what it held when found, and what was done to it. */
  tables: { name: string; state: 'old' | 'new' | 'changed' | 'missing'; action: string }[];
}

/** One table as read (docs/wire.md, "Read"): rules as canonical text, counters and handles beside. */
export interface NativeTableRead {
  wire: string;
  /** Two per rule (packets, bytes), in the order the rules appear in `wire`. */
  counters: BigUint64Array;
  /** nft: the rules' handles, one per rule; null on legacy. */
  handles: Float64Array | null;
}

/** The chains a readHolding kept natively, for the commit that plans them (opaque). */
export type NativeHeld = { readonly __held: unique symbol };

export interface NativeHeldChain {
  table: string;
  chain: string;
  /** Its rule count when read. */
  rules: number;
  /** The interfaces (-i/-o) its rules name, rules written by nft directly aside. */
  interfaces: string[];
}

export interface NativeHeldRead {
  /** nft: the generation of the read (0 on legacy). */
  generation: number;
  tables: NativeTableRead[];
  chains: NativeHeldChain[];
  held: NativeHeld;
}

/** Per commit wire: whether it was committed (a table a held plan leaves as read is not) and its lines= chains' rules. */
export interface NativeCommitOutcome {
  committed: boolean;
  added: number;
  kept: number;
  /**
   * nf_tables, a small commit (the addon asks the kernel to echo its new rules): the new rules'
   * handles in plan order and the generation the commit made. Absent unless every new rule of
   * the call came back and the batch made exactly the next generation.
   */
  echo?: { generation: number; netns: string; handles: Float64Array };
  /** Legacy, a commit given `expect`: the table's digest as committed (its legacyFingerprint part). */
  digest?: string;
}

export interface NativeNftRead {
  /** The ruleset generation the tables were read at (NFT_MSG_GETGEN). */
  generation: number;
  /** The namespace's cookie (SO_NETNS_COOKIE, never reused in a boot), '0' when unknown. */
  netns: string;
  /** Each iptables-nft table present in that family. */
  tables: NativeTableRead[];
}

export interface NativeRestoreOptions {
  noflush?: boolean;
  counters?: boolean;
  /** Parse, read and plan; commit nothing. */
  test?: boolean;
  table?: string | null;
  /** Legacy: the xtables lock file, and how long to wait for it. */
  lockPath?: string;
  lockTimeoutMs?: number;
  /** Fresh read and plan after another writer got in between, at most this many times. */
  maxRetries?: number;
}

export type NativeRestoreResult =
  | { parseError: { message: string; line?: number; token?: string; expected?: string } }
  | { none: true }
  | { changed: string[]; attempts: number; added: number; deleted: number; kept: number; appendOnly?: true };

export interface NativeBinding {
  /**
   * iptables-restore input, natively end to end: parsed once, read, planned and committed
   * under the back end's guard (all tables in one commit). A bad line or a failed step
   * resolves with parseError (nothing committed); kernel errors reject, op 'conflict' when
   * other writers kept changing the ruleset for maxRetries tries.
   */
  restore(backend: 'legacy' | 'nft', family: NativeFamily, netns: string | null, text: string | Uint8Array, options: NativeRestoreOptions): Promise<NativeRestoreResult>;

  /**
   * Tables (every one there is when `tables` is null) read and printed as iptables-save prints
   * them, natively in one call: no rule crosses into JavaScript. A table that does not exist
   * prints nothing. The text comes as UTF-8 in a Buffer over the native memory (no copy).
   */
  save(backend: 'legacy' | 'nft', family: NativeFamily, netns: string | null, tables: readonly string[] | null, options: { counters?: boolean; generator?: string }): Promise<Buffer>;

  /** Names of the x_tables tables the kernel has loaded in that netns (ip_tables_names). */
  legacyTableNames(family: NativeFamily, netns: string | null): Promise<string[]>;
  /**
   * Whether a table the kernel already has holds a rule, a user-defined chain or a policy other
   * than ACCEPT (`--backend auto`): its entry count, and for a table of built-in chains alone
   * their policies; no rule is printed and no table created.
   */
  legacyHoldsRules(family: NativeFamily, netns: string | null): Promise<boolean>;
  /**
   * Per table its name and a digest of its entries as the kernel gives them back, counters
   * zeroed (or "absent"): equal exactly when nothing but counters changed. Nothing parsed.
   */
  legacyFingerprint(family: NativeFamily, netns: string | null, tables: readonly string[]): Promise<string>;
  /** Reads one x_tables table (IPT_SO_GET_ENTRIES). */
  /** `digest`: also `digest`, the table's part of legacyFingerprint, of the very copy read. */
  legacyRead(family: NativeFamily, netns: string | null, table: string, digest?: boolean): Promise<NativeTableRead & { digest?: string }>;
  /**
   * Replaces each given table (its wire, docs/wire.md: a string, or its pieces in order), all
   * or nothing: if a later table fails, the tables already replaced are put back as they were.
   */
  /**
   * `expect`: a fingerprint (legacyFingerprint's) of present tables the commit must find, ESTALE
   * otherwise (a commit planned on kept tables); the outcomes then carry `digest`.
   */
  legacyCommit(
    family: NativeFamily,
    netns: string | null,
    tables: ReadonlyArray<string | readonly string[]>,
    held?: NativeHeld | null,
    expect?: string | null,
  ): Promise<NativeCommitOutcome[]>;

  /**
   * Finds this namespace's record of an unfinished multi-table legacy commit (a process killed
   * between two table replaces) and finishes or rolls it back under the xtables lock: every
   * table ends wholly old or wholly new, and a table another writer changed since is left.
   */
  legacyRecover(family: NativeFamily, netns: string | null, lockPath?: string, lockTimeoutMs?: number): Promise<RecoverResult>;

  /** flock(LOCK_EX) on the xtables lock file, waiting up to timeoutMs; resolves with the fd. */
  lockAcquire(path: string, timeoutMs: number, intervalMs: number): Promise<number>;
  lockRelease(fd: number): void;

  /**
   * The same for the iptables-nft tables of one family: stops at the first rule, user-defined
   * chain or non-ACCEPT policy it finds, and decodes no rule.
   */
  /** The namespace's SO_NETNS_COOKIE as decimal text, unique for the boot ("0": the kernel has none). */
  netnsCookie(netns: string | null): Promise<string>;
  /** The iptables tables of the family that exist (only the table list is dumped). */
  nftTableNames(family: NativeFamily, netns: string | null): Promise<string[]>;
  nftHoldsRules(family: NativeFamily, netns: string | null): Promise<boolean>;
  /** The namespace's nf_tables ruleset generation (NFT_MSG_GETGEN); every committed batch moves it. */
  /** The ruleset generation now, and the namespace's cookie ('0' when unknown). */
  nftGeneration(netns: string | null): Promise<{ generation: number; netns: string }>;
  /** Reads the iptables-nft tables of one family (ip / ip6) over netlink. */
  nftRead(family: NativeFamily, netns: string | null, tables: string[] | null): Promise<NativeNftRead>;
  /**
   * One netlink batch for all the given tables (wires as legacyCommit takes them), guarded by
   * the generation (NFTA_GEN_ID). Rejects with code 'ERESTART' when the ruleset changed since
   * that generation.
   */
  nftCommit(
    family: NativeFamily,
    netns: string | null,
    generation: number,
    tables: ReadonlyArray<string | readonly string[]>,
    held?: NativeHeld | null,
    /** Ask for the new rules back (NLM_F_ECHO), at most 256 of them: NativeCommitOutcome.echo. */
    echo?: boolean,
  ): Promise<NativeCommitOutcome[]>;
  /** A table of native nftables objects (src/nft/objects.ts), or null when there is none. */
  nftObjectsRead(family: 'ip' | 'ip6', netns: string | null, name: string): Promise<NftTable | null>;
  /** Makes the table what `table` describes in one generation-guarded batch (objects_commit.cc). */
  nftObjectsCommit(netns: string | null, table: NftTable | NftTable[], mode: 'replace' | 'merge'): Promise<{ attempts: number }>;

  /**
   * Reads tables (those that exist come back), holding the chains `hold[i]` of `tables[i]`
   * natively: their records in the wires say 0 rules, and `chains` gives each one's rule
   * count and the interfaces its rules name. A commit given `held` plans the `lines=` chains
   * of its wires against them (legacy: the caller holds the xtables lock from this read to
   * that commit).
   */
  readHolding(backend: 'legacy' | 'nft', family: NativeFamily, netns: string | null, tables: string[], hold: string[][]): Promise<NativeHeldRead>;

  /** The network interfaces of the namespace (RTM_GETLINK dump): kind is IFLA_INFO_KIND or null. */
  rtnlLinks(netns: string | null): Promise<NativeLink[]>;

  /**
   * Makes each hash:net set exist in the namespace with exactly its members (ipset netlink,
   * native/ipset): created when missing, members added then extra ones deleted; a set of that
   * name but another type or family is an error. Bad input throws a TypeError naming the field.
   */
  ipsetEnsure(netns: string | null, sets: NativeIpset[]): Promise<NativeIpsetOutcome[]>;
  /** Each named set of the namespace as the kernel lists it, or null where there is none. */
  ipsetList(netns: string | null, names: string[]): Promise<Array<NativeListedIpset | null>>;

  // The native iptables dialect: synchronous, no kernel. Bad text throws an Error with code
  // 'EPARSE' and line/token/expected where known.
  /** The rule's canonical text and options; with asWritten, the options as `text` gives them. */
  dialectRule(family: NativeFamily, text: string, asWritten?: boolean): NativeRule;
  /** Each rule's canonical text (a batch of dialectRule(...).text). */
  dialectCanonical(family: NativeFamily, rules: string[]): string[];
  dialectRestore(family: NativeFamily, text: string, counters: boolean, table: string | null): NativeRestoreTable[];
  /** The addon's scratch blocks (native/common/scratch.h): bytes kept for reuse, and taken now. */
  scratchBytes(): { kept: number; lent: number };
  /** The tables `text` leaves when restored onto `current` (reads), as reads: no kernel. */
  restoreResult(
    family: NativeFamily,
    text: string,
    options: { counters: boolean; noflush: boolean; table: string | null },
    current: { wire: string; counters: BigUint64Array }[],
  ): NativeTableRead[];
  /** A chain as `iptables -L` lists it: header, column header, one line per rule. */
  dialectListChain(
    family: NativeFamily,
    chain: { name: string; policy: string | null; packets: bigint; bytes: bigint; references: number },
    rules: string[],
    counters: BigUint64Array,
    options: NativeListOptions,
  ): string;
  dialectListRule(family: NativeFamily, text: string, num: number, options: NativeListOptions, packets?: bigint, bytes?: bigint): string;
}

/**
 * One option of a rule as the dialect read it: its long name, its value (null for a flag; the
 * arguments of a multi-argument option like --tcp-flags as an array), `!`.
 */
export type NativeOption = [option: string, value: string | string[] | null, invert: boolean];

/** dialectRule: the rule's canonical text (as iptables-save prints it) and its options. */
export interface NativeRule {
  text: string;
  /** -s, -d, -i, -o, -p, -f, -j, -g, -c by long name (source, destination, in-interface, …). */
  generic: NativeOption[];
  matches: Array<{ name: string; options: NativeOption[] }>;
  target: { kind: 'verdict' | 'jump' | 'goto' | 'extension'; name: string; options: NativeOption[] } | null;
}

/** dialectRestore: one table of iptables-restore input, each step in canonical form. */
export interface NativeRestoreTable {
  name: string;
  line: number;
  commitLine: number;
  /** `:CHAIN POLICY [p:b]` or a command (`-A CHAIN <canonical rule>`, `-N X`, …). */
  steps: string[];
  /** The input line of each step. */
  lines: number[];
  /** The chain each step's rule jumps to (-j/-g CHAIN), or null. */
  jumps: (string | null)[];
  /** Counters the step's rule carries (-c, or `[p:b]` with -c): two per step. */
  counters: BigUint64Array;
  /** 1 where the step's rule carries counters. */
  hasCounters: Uint8Array;
}

export interface NativeListOptions {
  numeric?: boolean;
  verbose?: boolean;
  exact?: boolean;
  lineNumbers?: boolean;
}

export interface NativeIpset {
  name: string;
  type: 'hash:net';
  family: 'inet' | 'inet6';
  /** Networks as ADDRESS/LENGTH, host bits zero. */
  members: string[];
}

export interface NativeListedIpset {
  name: string;
  type: string;
  family: 'inet' | 'inet6' | '?';
  /** ADDRESS/LENGTH, as the ipset tool prints them. */
  members: string[];
}

export interface NativeIpsetOutcome {
  name: string;
  created: boolean;
  added: number;
  deleted: number;
}

export interface NativeLink {
  index: number;
  name: string;
  /** 'bridge', 'veth', …; null for a link without a kind (lo, a physical NIC). */
  kind: string | null;
}
