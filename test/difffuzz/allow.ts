// What the differential fuzzer does not count as a finding, each entry narrow and with its
// reason: inputs outside what iptkit supports (its own message says so), and one quirk of
// iptables-legacy-restore that iptables-nft-restore does not share. No class is allowed
// wholesale; the run prints how many cases each entry covered.

import type { FindingClass } from './run.js';

export interface Seen {
  backend: 'legacy' | 'nft';
  input: string;
  /** The real tool's stderr. */
  tool: string;
  /** iptkit's message ('accepted' when it accepted). */
  iptkit: string;
}

export interface Allowance {
  class: FindingClass;
  reason: string;
  covers: (s: Seen) => boolean;
}

export const ALLOWED: readonly Allowance[] = [
  {
    // A mutation makes a word a module iptables has and iptkit does not (-m u32, -j TRACE …):
    // iptkit's extensions are native/ext, and it names the one it cannot load.
    class: 'refused but iptables accepts',
    reason: 'an extension outside native/ext',
    covers: (s) => /Couldn't load (match|target) `[^']*': iptkit has no module for it/.test(s.iptkit),
  },
  {
    // iptables-restore expands `-s a,b` into one rule per address; iptkit commits a line as one
    // rule and refuses a list, naming it.
    class: 'refused but iptables accepts',
    reason: 'an address list, which iptables expands into several rules',
    covers: (s) => /address lists are not supported/.test(s.iptkit),
  },
  {
    // iptables-legacy-restore 1.8.9 compares a line with "COMMIT\n", so a COMMIT at the end of
    // the input without a newline, or one a NUL ends (the line is a C string), is a "Bad
    // argument"; iptables-nft-restore 1.8.9 accepts both, and iptkit reads restore input one
    // way for both back ends.
    class: 'accepted but iptables refuses',
    reason: 'a COMMIT line without its newline (iptables-legacy-restore only)',
    covers: (s) => s.backend === 'legacy' && /(^|\n)COMMIT(\0[^\n]*)?$|(^|\n)COMMIT\0/.test(s.input) && /^Bad argument `COMMIT'/.test(s.tool),
  },
  {
    // iptables-nft-restore 1.8.9 takes a jump to a chain that does not exist for one to be
    // made, and learns otherwise only when the kernel refuses the batch: it names the COMMIT
    // line. iptables-legacy-restore, and iptkit on both back ends, name the rule's line.
    class: 'error without a line',
    reason: 'a jump to a missing chain, which iptables-nft-restore names at COMMIT',
    covers: (s) => {
      const chain = /Chain '(.+)' does not exist/.exec(s.tool)?.[1];
      const at = Number(/Error occurred at line: (\d+)/.exec(s.tool)?.[1]);
      const ours = lineOf(s.iptkit);
      return (
        s.backend === 'nft' && chain !== undefined && s.input.split('\n')[at - 1] === 'COMMIT' && ours < at &&
        new RegExp(` -[jg] ${chain.replace(/\W/g, '\\$&')}( |\0|$)`).test(s.input.split('\n')[ours - 1]!)
      );
    },
  },
  {
    // A rule the kernel would refuse (-m udp without -p udp, …): iptables-legacy-restore
    // learns it from the kernel at the table's COMMIT ("line N failed"), after any other
    // line's failure; iptkit checks it before committing and names the rule.
    class: 'error without a line',
    reason: 'a rule the kernel refuses, which iptables-legacy-restore finds only at COMMIT',
    covers: (s) => s.backend === 'legacy' && /the kernel refuses/.test(s.iptkit) && lineOf(s.iptkit) < Number(/line:? (\d+)/.exec(s.tool)?.[1]),
  },
  {
    // iptables-nft-restore 1.8.9 cannot rename a chain that a `:` line of the same input
    // declared: the kernel refuses its batch ("CHAIN_RENAME failed (No such file or
    // directory)"); with -N, or with iptables-legacy-restore, the same rename works.
    class: 'accepted but iptables refuses',
    reason: 'an iptables-nft-restore bug: -E of a chain the input declares',
    covers: (s) => {
      const chain = /CHAIN_RENAME failed \(No such file or directory\)/.test(s.tool) ? /^-E (\S+) /m.exec(s.input)?.[1] : undefined;
      return s.backend === 'nft' && chain !== undefined && s.input.split('\n').some((l) => l.startsWith(`:${chain} `));
    },
  },
  // Chain lines, where iptables-nft-restore 1.8.9 departs from iptables-legacy-restore 1.8.9;
  // iptkit reads restore input one way for both back ends, iptables-legacy-restore's.
  {
    // nft makes `:NAME ACCEPT` a user-defined chain and drops the policy.
    class: 'refused but iptables accepts',
    reason: 'a policy on a chain that is not built in (iptables-nft-restore ignores it)',
    covers: (s) => s.backend === 'nft' && /Can't set policy `[^']*' on `[^']*': Bad built-in chain name/.test(s.iptkit),
  },
  {
    // nft takes a chain declared twice in one table (without -n) as declared once.
    class: 'refused but iptables accepts',
    reason: 'a chain declared twice in a table (iptables-nft-restore takes it once)',
    covers: (s) => s.backend === 'nft' && /error creating chain '[^']*': File exists/.test(s.iptkit),
  },
  {
    // nft checks commands against the table's chains (a chain that is missing or already
    // there, a policy) only when it commits the table, so a later line's error comes first:
    // `-N FORWARD` then a bad option is "unknown option" at the next line for nft, "line 2
    // failed" for legacy and iptkit.
    class: 'error without a line',
    reason: "a command's check against the table's chains, which iptables-nft-restore makes after later lines",
    covers: (s) =>
      s.backend === 'nft' &&
      /ip6?tables-restore: line \d+ failed: |Can't set policy `/.test(s.iptkit) &&
      lineOf(s.iptkit) < Number(/line:? (\d+)/.exec(s.tool)?.[1]),
  },
];

/** The line iptkit's message names (NaN when none). */
function lineOf(message: string): number {
  return Number(/\bline (\d+)\b/.exec(message)?.[1]);
}

export function allowance(cls: FindingClass, seen: Seen): Allowance | undefined {
  return ALLOWED.find((a) => a.class === cls && a.covers(seen));
}
