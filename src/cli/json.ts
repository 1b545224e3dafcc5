// The documents `--json` prints (docs/json.md; each has its JSON Schema in schemas/). Every
// document carries `version`, the version of its shape: it goes up when a field changes its
// meaning or goes away, never for a new field. Rules are their canonical text (what
// iptables-save prints after `-A CHAIN`); counters are numbers, and decimal strings only above
// 2^53 - 1, where a JSON number would lose digits.

import type { Chain, Counters, Table } from '../rules/model.js';
import { ruleCounters } from '../rules/model.js';

export const JSON_VERSION = 1;

/** A 64-bit counter: a number while it is exact as one, else its decimal text. */
export type JsonCounter = number | string;

export interface JsonCounters {
  packets: JsonCounter;
  bytes: JsonCounter;
}

export interface JsonRule {
  text: string;
  counters: JsonCounters;
}

export interface JsonChain {
  name: string;
  policy?: 'ACCEPT' | 'DROP';
  counters?: JsonCounters;
  references?: number;
  rules: JsonRule[];
}

export interface JsonTable {
  name: string;
  chains: JsonChain[];
}

export function counter(v: bigint): JsonCounter {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function counters(c: Counters): JsonCounters {
  return { packets: counter(c.packets), bytes: counter(c.bytes) };
}

function chainJson(c: Chain): JsonChain {
  return {
    name: c.name,
    ...(c.policy !== undefined ? { policy: c.policy } : {}),
    ...(c.counters !== undefined ? { counters: counters(c.counters) } : {}),
    ...(c.references !== undefined ? { references: c.references } : {}),
    rules: c.rules.map((text, i) => ({ text, counters: counters(ruleCounters(c, i)) })),
  };
}

/** A table as the JSON documents give it (its family is the document's). */
export function tableJson(t: Table, onlyChain?: string): JsonTable {
  const chains = onlyChain === undefined ? t.chains : t.chains.filter((c) => c.name === onlyChain);
  return { name: t.name, chains: chains.map(chainJson) };
}

/** A document: `version` first, then its fields; two-space indented, one trailing newline. */
export function jsonDocument(fields: object): string {
  return JSON.stringify({ version: JSON_VERSION, ...fields }, null, 2) + '\n';
}
