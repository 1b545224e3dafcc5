// The shape of the native module (build/Release/iptkit.node). Only src/binding.ts loads it;
// the public API never exposes these types. Every kernel call runs off the event loop and
// returns a Promise; tables cross as one wire string each (docs/wire.md).
//
// Rejections are Error objects with: code ('EPERM', 'ENOENT', 'ESTALE', 'ERESTART', …),
// errno (number), op ('read', 'commit', 'lock', 'setns', …), and where known table, chain.

export type NativeFamily = 'ipv4' | 'ipv6';

export interface NativeNftRead {
  /** The ruleset generation the tables were read at (NFT_MSG_GETGEN). */
  generation: number;
  /** One wire string per iptables-nft table present in that family. */
  tables: string[];
}

export interface NativeBinding {
  /** Names of the x_tables tables the kernel has loaded in that netns (ip_tables_names). */
  legacyTableNames(family: NativeFamily, netns: string | null): Promise<string[]>;
  /** Reads one x_tables table with libiptc. */
  legacyRead(family: NativeFamily, netns: string | null, table: string): Promise<string>;
  /**
   * Replaces each given table (wire strings, docs/wire.md), all or nothing: if a later table
   * fails, the tables already replaced are put back as they were.
   */
  legacyCommit(family: NativeFamily, netns: string | null, tables: string[]): Promise<void>;

  /** flock(LOCK_EX) on the xtables lock file, waiting up to timeoutMs; resolves with the fd. */
  lockAcquire(path: string, timeoutMs: number, intervalMs: number): Promise<number>;
  lockRelease(fd: number): void;

  /** Reads the iptables-nft tables of one family (ip / ip6) over netlink. */
  nftRead(family: NativeFamily, netns: string | null, tables: string[] | null): Promise<NativeNftRead>;
  /**
   * One netlink batch for all the given tables, guarded by the generation (NFTA_GEN_ID).
   * Rejects with code 'ERESTART' when the ruleset changed since that generation.
   */
  nftCommit(family: NativeFamily, netns: string | null, generation: number, tables: string[]): Promise<void>;

  /** The network interfaces of the namespace (RTM_GETLINK dump): kind is IFLA_INFO_KIND or null. */
  rtnlLinks(netns: string | null): Promise<NativeLink[]>;
}

export interface NativeLink {
  index: number;
  name: string;
  /** 'bridge', 'veth', …; null for a link without a kind (lo, a physical NIC). */
  kind: string | null;
}
