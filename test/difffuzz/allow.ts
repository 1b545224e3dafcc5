// What the differential fuzzer does not count as a finding, each entry narrow and with its
// reason: input outside what iptkit supports (its own message says so); iptables quirks iptkit
// refuses on purpose, because what iptables commits then cannot be restored; quirks of one of
// iptables' two restore tools the other does not share (iptkit reads input one way, legacy's);
// and iptables naming another line where iptkit checks sooner or later than it does. No class
// is allowed wholesale; a run prints how many cases each entry covered.

import type { FindingClass } from './run.js';

export interface Seen {
  backend: 'legacy' | 'nft';
  input: string;
  /** The real tool's stderr and stdout. */
  tool: string;
  toolOut: string;
  /** iptkit's message ('accepted' when it accepted). */
  iptkit: string;
}

export interface Allowance {
  /** Several when iptkit refuses a line iptables takes: 'error without a line' if iptables then
   * fails at a later line. */
  class: FindingClass | readonly FindingClass[];
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
    // getopt reads `-V` (alone or in a cluster such as `-2V-dport`) as --version: iptables
    // prints its version and exits 0 on that line, committing none of the rest.
    class: 'refused but iptables accepts',
    reason: '-V in a rule: iptables prints its version and stops, exit 0',
    covers: (s) => /^ip6?tables\S* v\d/.test(s.toolOut) && lineText(s, lineOf(s.iptkit)).split(' ').some((w) => /^-[^-]/.test(w) && w.includes('V')),
  },
  {
    // iptables 1.8.9 checks a new chain's name at -N, but not at -E: `-E a DNAT`, a name with
    // a CR or 29 characters long are taken (legacy), and iptables-save then prints a chain
    // that iptables-restore refuses. iptkit holds -E to -N's rules.
    class: ['refused but iptables accepts', 'error without a line'],
    reason: '-E to a name -N refuses',
    covers: (s) =>
      lineText(s, lineOf(s.iptkit)).startsWith('-E ') &&
      /chain name `.*' too long|Invalid chain name|chain name may not clash|chain name not allowed to start/.test(s.iptkit),
  },
  {
    // iptables 1.8.9 runs an unterminated quote to the end of the line, newline included: a
    // comment then holds a line break, and the saved text cannot be restored (issue 12).
    class: ['refused but iptables accepts', 'error without a line'],
    reason: 'an unterminated quote (iptables takes the line break into the word)',
    covers: (s) => /unterminated quoted string/.test(s.iptkit) && (lineText(s, lineOf(s.iptkit)).match(/"/g) ?? []).length % 2 === 1,
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
    // A rule the kernel would refuse (-m udp without -p udp; -p udp … -m tcp for nft, where it
    // is an xt match): iptables learns it from the kernel when it commits the table (legacy:
    // "line N failed" at COMMIT), after any other line's failure; iptkit checks it before
    // committing and names the rule.
    class: 'error without a line',
    reason: 'a rule the kernel refuses, which iptables finds only when it commits',
    covers: (s) => /the kernel refuses/.test(s.iptkit) && lineOf(s.iptkit) < Number(/line:? (\d+)/.exec(s.tool)?.[1]),
  },
  {
    // iptables-nft-restore 1.8.9 cannot rename a chain the same input creates (-N or a `:`
    // line): the kernel refuses its batch ("CHAIN_RENAME failed (No such file or
    // directory)"). iptables-legacy-restore renames it.
    class: 'accepted but iptables refuses',
    reason: 'an iptables-nft-restore bug: -E of a chain the input creates',
    covers: (s) => {
      const chain = /CHAIN_RENAME failed \(No such file or directory\)/.test(s.tool) ? /^-E (\S+) /m.exec(s.input)?.[1] : undefined;
      return s.backend === 'nft' && chain !== undefined && s.input.split('\n').some((l) => l.startsWith(`:${chain} `) || l === `-N ${chain}`);
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
    // there, a policy of a chain line or of -P) only when it commits the table, so a later line's error comes first:
    // `-N FORWARD` then a bad option is "unknown option" at the next line for nft, "line 2
    // failed" for legacy and iptkit.
    class: 'error without a line',
    reason: "a command's check against the table's chains, which iptables-nft-restore makes after later lines",
    covers: (s) =>
      s.backend === 'nft' &&
      /ip6?tables-restore: line \d+ failed: |Can't set policy `|Bad built-in chain policy `/.test(s.iptkit) &&
      lineOf(s.iptkit) < Number(/line:? (\d+)/.exec(s.tool)?.[1]),
  },
];

/** The text of input line `n` (1-based; '' when there is none). */
function lineText(s: Seen, n: number): string {
  return s.input.split('\n')[n - 1] ?? '';
}

/** The line iptkit's message names (NaN when none). */
function lineOf(message: string): number {
  return Number(/\bline (\d+)\b/.exec(message)?.[1]);
}

export function allowance(cls: FindingClass, seen: Seen): Allowance | undefined {
  return ALLOWED.find((a) => [a.class].flat().includes(cls) && a.covers(seen));
}
