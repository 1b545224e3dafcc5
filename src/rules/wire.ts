// The TypeScript side of the wire (docs/wire.md): one string per table each way, rules as
// their canonical text. decodeTable turns a read (the string plus its counters and handles as
// typed arrays) into the table model without an object per rule; encodeCommit turns the
// planner's chains into a commit string.

import type { Chain, Counters, Family, Rule, Table } from './model.js';
import { pausesAt, runSteps, type Steps } from '../turn.js';

/** A read of one table, as the addon resolves it. */
export interface ReadWire {
  wire: string;
  /** Two per rule (packets, bytes), in the order the rules appear in `wire`. */
  counters: BigUint64Array;
  /** nft: one per rule. */
  handles?: Float64Array | null;
}

export interface DecodedTable {
  table: Table;
  /** nft only: rule handles, per chain in table order, per rule in chain order. */
  handles?: Float64Array[];
}

function wireError(line: string, why: string): Error {
  return new Error(`wire: ${why}: ${JSON.stringify(line.length > 200 ? line.slice(0, 200) + '…' : line)}`);
}

/** A read (docs/wire.md, "Read") → the table; rules are the wire's own lines. */
export function decodeTable(read: ReadWire): DecodedTable {
  const lines = read.wire.split('\n');
  const head = lines[0]!.split('\t');
  if (head[0] !== 'table' || head.length !== 3 || (head[2] !== 'ipv4' && head[2] !== 'ipv6')) throw wireError(lines[0]!, 'expected `table NAME FAMILY`');
  const table: Table = { name: head[1]!, family: head[2], chains: [] };
  const handles: Float64Array[] | undefined = read.handles ? [] : undefined;
  let rule = 0; // ordinal of the next rule in the table
  // The wire ends with a newline: its last piece is empty.
  const end = lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  let i = 1;
  while (i < end) {
    const line = lines[i++]!;
    const f = line.split('\t');
    if (f[0] !== 'chain' || f.length < 5) throw wireError(line, 'expected a chain record');
    const n = Number(f[f.length - 1]);
    if (!Number.isInteger(n) || n < 0 || i + n > end) throw wireError(line, 'bad rule count');
    const chain: Chain = { name: f[1]!, rules: lines.slice(i, i + n), ruleCounters: read.counters.subarray(2 * rule, 2 * (rule + n)) };
    if (f[2] === '-') {
      chain.references = Number(f[3]);
    } else {
      if (f[2] !== 'ACCEPT' && f[2] !== 'DROP') throw wireError(line, 'bad policy');
      chain.policy = f[2];
      chain.counters = { packets: BigInt(f[3]!), bytes: BigInt(f[4]!) };
    }
    if (handles) handles.push(read.handles!.subarray(rule, rule + n));
    table.chains.push(chain);
    i += n;
    rule += n;
  }
  if (2 * rule !== read.counters.length) throw new Error(`wire: ${rule} rules but ${read.counters.length / 2} counters`);
  return handles ? { table, handles } : { table };
}

/** One entry of a chain in a commit: keep a rule read under the same guard, or a new rule. */
export type CommitEntry = { keep: number } | { rule: Rule; counters?: Counters };

export interface CommitChain {
  name: string;
  /** Built-in chains: the policy to set; absent keeps policy and counters. */
  policy?: 'ACCEPT' | 'DROP';
  /** With policy: set the policy counters (restore -c). */
  policyCounters?: Counters;
  /** The chain's rule count when read: the commit fails with ESTALE if it changed. */
  was?: number;
  entries: CommitEntry[];
  /**
   * A chain the read held natively: its rules as canonical texts, one per line (entries
   * empty), planned by the addon against the held read (`lines=`, docs/wire.md).
   */
  lines?: string;
}

/** A rule text iptables could save and read back: no line break, no NUL (TypeError naming the field). */
export function checkRuleText(rule: Rule): void {
  if (typeof rule !== 'string') throw new TypeError(`rule: expected its text, got ${typeof rule}`);
  // iptables-save would print such a rule on two lines (or cut it at the NUL), and neither
  // iptables-restore nor iptkit could read the saved text back: refused before any commit.
  const bad = /[\n\r\0]/.exec(rule);
  if (bad) {
    const comment = rule.indexOf('--comment');
    const field = comment >= 0 && bad.index > comment ? 'rule comment' : 'rule';
    const what = bad[0] === '\0' ? 'a NUL byte' : 'a line break (CR or LF)';
    throw new TypeError(`${field}: ${what} cannot be part of a rule: ${JSON.stringify(rule)}`);
  }
}

/**
 * A commit's wire for one table: every chain it must have afterwards, in order.
 * `keepAs`: the nft back end names a kept rule by its handle (the rule's index in the chain as
 * read → its handle), and handles follow the order rules were added, not their place.
 */
export function encodeCommit(table: string, family: Family, chains: readonly CommitChain[], keepAs?: (chain: string, index: number) => number): string {
  return runSteps(encodeCommitSteps(table, family, chains, keepAs)).join('');
}

/**
 * encodeCommit as Steps (turn.ts), pausing between entries: for commits of an async caller.
 * The wire comes as its pieces in order, which the addon takes as they are: each held chain's
 * text (`lines`) is a piece of its own, so that the wire is never one more string holding all
 * of them (29 MB at 100,000 Docker ports, alive through the commit).
 */
export function* encodeCommitSteps(table: string, family: Family, chains: readonly CommitChain[], keepAs?: (chain: string, index: number) => number): Steps<string[]> {
  // One string grown with += (V8 keeps it as a rope until the addon flattens it once): about
  // half the time of pushing the pieces to an array and joining, for 30,000 rules.
  const pieces: string[] = [];
  let out = `table\t${table}\tfamily=${family}\n`;
  let lines = 1;
  for (const c of chains) {
    // A chain name is a field of its record: a tab, line break or NUL would break the wire.
    if (/[\t\n\r\0]/.test(c.name)) throw new TypeError(`chain: a tab, line break or NUL cannot be part of a chain name: ${JSON.stringify(c.name)}`);
    if (c.lines !== undefined) {
      const n = c.lines === '' ? 0 : countLines(c.lines) + 1;
      out += `chain\t${c.name}\tlines=${n}\n`;
      if (n > 0) {
        pieces.push(out, c.lines);
        out = '\n';
      }
      lines += 1 + n;
      continue;
    }
    out += `chain\t${c.name}`;
    if (c.policy) {
      out += `\tpolicy=${c.policy}`;
      if (c.policyCounters) out += `\tpkts=${c.policyCounters.packets}\tbytes=${c.policyCounters.bytes}`;
    }
    if (c.was !== undefined) out += `\twas=${c.was}`;
    out += '\n';
    lines += 1;
    let lastKeep = -1;
    for (let i = 0; i < c.entries.length; i++) {
      if (pausesAt(i)) yield;
      const e = c.entries[i]!;
      const keep = (e as { keep?: number }).keep;
      if (keep !== undefined) {
        if (!Number.isInteger(keep) || keep < 0 || keep <= lastKeep) {
          throw new RangeError(`encodeCommit: chain ${c.name}: keep indices must be strictly increasing integers (got ${keep} after ${lastKeep})`);
        }
        // Rules kept one after another as read: one record (by position on both back ends).
        let n = 1;
        while (i + n < c.entries.length && (c.entries[i + n] as { keep?: number }).keep === keep + n) n++;
        lastKeep = keep + n - 1;
        lines++;
        if (n > 1) {
          out += `keeprun\t${keep}\t${n}\n`;
          i += n - 1;
        } else {
          out += `keep\t${keepAs ? keepAs(c.name, keep) : keep}\n`;
        }
      } else {
        lines++;
        const { rule, counters } = e as { rule: Rule; counters?: Counters };
        if (typeof rule !== 'string') checkRuleText(rule);
        out += counters ? `rule\t${counters.packets}\t${counters.bytes}\t${rule}\n` : 'rule\t-\t-\t' + rule + '\n';
      }
    }
  }
  pieces.push(out);
  // A rule with a line break or a NUL: checked once over each piece (which the addon
  // flattens anyway) rather than per rule, which flattened each of 300,000 fresh strings;
  // the rule is then found and named. Three passes over each piece, each a slice of its own.
  let cr = false;
  let nul = false;
  let counted = 0;
  for (const piece of pieces) {
    yield;
    cr ||= piece.includes('\r');
    yield;
    nul ||= piece.includes('\0');
    yield;
    counted += countLines(piece);
  }
  if (cr || nul || counted !== lines) {
    for (const c of chains) {
      for (const e of c.entries) if ('rule' in e) checkRuleText(e.rule);
      if (c.lines !== undefined) for (const rule of c.lines.split('\n')) checkRuleText(rule);
    }
  }
  return pieces;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
