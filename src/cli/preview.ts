// The plan preview of `iptkit diff`, `restore --test` and `docker apply --test`: a commit's
// plan shown as the iptables commands per table (-N, -P, -D, -I/-A, -F, -X) that, run in order
// with `iptables -t TABLE`, turn the tables now into the tables after it, and how many rules
// each chain keeps. One printer for every plan (src/plan/plan.ts TablePlan).

import { exactIntent, planTable, type TablePlan } from '../plan/plan.js';
import { parseRestore, restoreResult } from '../rules/restore.js';
import { isBuiltinChain, type Family, type Table } from '../rules/model.js';
import type { Netfilter, RestoreOptions } from '../netfilter.js';

/** The exit status of a preview when something would change (0: nothing would). */
export const WOULD_CHANGE = 3;

/** What one table's commit would change. */
export interface TableChange {
  family: Family;
  table: string;
  /** The commands, in the order they make the change. */
  commands: string[];
  /** Chains that keep rules, and how many. */
  kept: Array<{ chain: string; rules: number }>;
}

/** The tables a commit would change (none: nothing would). */
export type Preview = TableChange[];

/** The change `plan` makes to `current` (undefined: the table does not exist yet); undefined for none. */
export function tableChange(family: Family, current: Table | undefined, plan: TablePlan): TableChange | undefined {
  const curChains = new Map((current?.chains ?? []).map((c) => [c.name, c]));
  const planned = new Set(plan.chains.map((c) => c.name));
  const create: string[] = [];
  const policy: string[] = [];
  const remove: string[] = [];
  const add: string[] = [];
  const drop: string[] = [];
  const kept: TableChange['kept'] = [];
  for (const chain of plan.chains) {
    const before = curChains.get(chain.name);
    if (!before && !isBuiltinChain(plan.table, chain.name)) create.push(`-N ${chain.name}`);
    // A table made anew has ACCEPT policies, as iptables creates it.
    if (chain.policy !== undefined && chain.policy !== (before?.policy ?? 'ACCEPT')) policy.push(`-P ${chain.name} ${chain.policy}`);
    const keptIdx = new Set<number>();
    for (const e of chain.entries) if ('keep' in e) keptIdx.add(e.keep);
    (before?.rules ?? []).forEach((r, i) => {
      if (!keptIdx.has(i)) remove.push(`-D ${chain.name} ${r}`);
    });
    const lastKept = chain.entries.reduce((at, e, i) => ('keep' in e ? i : at), -1);
    // After the deletions a chain holds its kept rules; each new rule goes in at its final place.
    chain.entries.forEach((e, i) => {
      if ('keep' in e) return;
      add.push(i > lastKept ? `-A ${chain.name} ${e.rule}` : `-I ${chain.name} ${i + 1} ${e.rule}`);
    });
    if (keptIdx.size > 0) kept.push({ chain: chain.name, rules: keptIdx.size });
  }
  const gone = (current?.chains ?? []).filter((c) => !planned.has(c.name));
  // A chain is deleted empty, and after every chain that jumps to it is emptied too.
  for (const c of gone) if (c.rules.length) drop.push(`-F ${c.name}`);
  for (const c of gone) drop.push(`-X ${c.name}`);
  // Deletions before the chains they empty are removed; new chains before the jumps to them.
  const commands = [...create, ...policy, ...remove, ...add, ...drop];
  return commands.length ? { family, table: plan.table, commands, kept } : undefined;
}

/**
 * The preview as text: per table `*TABLE`, the commands, the kept counts as `#` lines, `COMMIT`.
 * With `families`, each family's tables follow a `# ipv4` / `# ipv6` line (docker apply plans both).
 */
export function formatPreview(preview: Preview, families = false): string {
  let out = '';
  let family: Family | undefined;
  for (const t of preview) {
    if (families && t.family !== family) out += `# ${t.family}\n`;
    family = t.family;
    const kept = t.kept.map((k) => `# ${k.chain}: ${k.rules} rule${k.rules === 1 ? '' : 's'} kept`);
    out += `*${t.table}\n${[...t.commands, ...kept].join('\n')}\nCOMMIT\n`;
  }
  return out;
}

/** What restoring `text` would change in the kernel's tables, planned as the commit plans. */
export async function previewRestore(nf: Netfilter, text: string, options: RestoreOptions): Promise<Preview> {
  const opts = { family: nf.family, counters: options.counters ?? false, noflush: options.noflush ?? false, ...(options.table ? { table: options.table } : {}) };
  const names = [...new Set(parseRestore(text, opts).map((t) => t.name))];
  const current = await nf.read(names);
  const out: Preview = [];
  for (const want of restoreResult(text, opts, current)) {
    const cur = current.find((t) => t.name === want.name);
    const change = tableChange(nf.family, cur, planTable(cur, exactIntent(want)));
    if (change) out.push(change);
  }
  return out;
}
