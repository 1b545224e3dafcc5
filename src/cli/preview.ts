// `iptkit restore --test`: what a restore would change, as iptables commands per table
// (-N, -P, -D, -I/-A, -X) that, run in order, turn the tables now into the tables after it,
// and how many rules each chain keeps. Planned like the commit: an LCS over rule texts.

import { exactIntent, planTable } from '../plan/plan.js';
import { restoreResult } from '../rules/restore.js';
import { parseRestore } from '../rules/restore.js';
import type { Netfilter, RestoreOptions } from '../netfilter.js';
import type { Table } from '../rules/model.js';

export interface Preview {
  changed: boolean;
  text: string;
}

export async function previewRestore(nf: Netfilter, text: string, options: RestoreOptions): Promise<Preview> {
  const opts = { family: nf.family, counters: options.counters ?? false, noflush: options.noflush ?? false, ...(options.table ? { table: options.table } : {}) };
  const names = [...new Set(parseRestore(text, opts).map((t) => t.name))];
  const current = await nf.read(names);
  const after = restoreResult(text, opts, current);
  let out = '';
  let changed = false;
  for (const want of after) {
    const lines = tableChanges(current.find((t) => t.name === want.name), want);
    if (lines.length === 0) continue;
    changed = true;
    out += `*${want.name}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return { changed, text: out };
}

function tableChanges(cur: Table | undefined, want: Table): string[] {
  const plan = planTable(cur, exactIntent(want));
  const curChains = new Map((cur?.chains ?? []).map((c) => [c.name, c]));
  const wantChains = new Map(want.chains.map((c) => [c.name, c]));
  const create: string[] = [];
  const policy: string[] = [];
  const remove: string[] = [];
  const add: string[] = [];
  const kept: string[] = [];
  const drop: string[] = [];
  for (const c of want.chains) if (!curChains.has(c.name) && c.policy === undefined) create.push(`-N ${c.name}`);
  for (const chain of plan.chains) {
    const before = curChains.get(chain.name);
    const after = wantChains.get(chain.name);
    if (after?.policy !== undefined && after.policy !== (before?.policy ?? 'ACCEPT')) policy.push(`-P ${chain.name} ${after.policy}`);
    const keptIdx = new Set<number>();
    for (const e of chain.entries) if ('keep' in e) keptIdx.add(e.keep);
    (before?.rules ?? []).forEach((r, i) => {
      if (!keptIdx.has(i)) remove.push(`-D ${chain.name} ${r}`);
    });
    const lastKept = chain.entries.reduce((at, e, i) => ('keep' in e ? i : at), -1);
    chain.entries.forEach((e, i) => {
      if ('keep' in e) return;
      add.push(i > lastKept ? `-A ${chain.name} ${e.rule}` : `-I ${chain.name} ${i + 1} ${e.rule}`);
    });
    if (keptIdx.size > 0) kept.push(`# ${chain.name}: ${keptIdx.size} rule${keptIdx.size === 1 ? '' : 's'} kept`);
  }
  const gone = (cur?.chains ?? []).filter((c) => !wantChains.has(c.name));
  // A chain is deleted empty, and after every chain that jumps to it is emptied too.
  for (const c of gone) if (c.rules.length) drop.push(`-F ${c.name}`);
  for (const c of gone) drop.push(`-X ${c.name}`);
  // Deletions before the chains they empty are removed; new chains before the jumps to them.
  const changes = [...create, ...policy, ...remove, ...add, ...drop];
  return changes.length ? [...changes, ...kept] : [];
}
