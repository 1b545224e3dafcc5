// The transaction loop: read under the back end's guard, let the caller state what it wants,
// plan, commit; when another writer got in between (legacy: ESTALE/EAGAIN from a writer that
// ignored the lock; nft: ERESTART, the generation moved), read again and re-plan, a bounded
// number of times.

import { ConflictError, NetfilterError } from '../errors.js';
import { planTableSteps, type HeldChains, type TableIntent, type TablePlan } from '../plan/plan.js';
import type { Table } from '../rules/model.js';
import type { Backend, CommitOutcomes, Hold, Snapshot } from './backend.js';
import { nextTurn, runStepsYielding } from '../turn.js';

// Generous: a writer in a tight loop (a script of `iptables-nft -A` runs) commits every few
// milliseconds, and each try only succeeds if it fits between two of those commits.
export const DEFAULT_MAX_RETRIES = 32;

/** A short random pause before a retry, growing with the attempt, so tries do not fall into
 * lockstep with another writer's rhythm. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface TransactionResult {
  plans: TablePlan[];
  /** 1 when the first try committed. */
  attempts: number;
  snapshot: Snapshot;
  /** Per table committed: what the addon did (held chains are planned there). */
  outcomes: CommitOutcomes;
  /** With `fingerprint`: the tables' fingerprint right after the commit (Backend.fingerprint). */
  fingerprint?: string;
  /** With `reuse`: the tables as the commit left them, when the back end kept them (kept.ts). */
  kept?: readonly Table[];
}

const NOTHING_HELD: HeldChains = new Map();

/** Whether the commit wrote `plan`'s table: one with held chains only if the addon's plan of them changed it. */
export function committedTable(plan: TablePlan, outcomes: CommitOutcomes): boolean {
  return !plan.unchanged && (outcomes.get(plan.table)?.committed ?? true);
}

function retryable(e: unknown, backend: Backend): boolean {
  if (!(e instanceof NetfilterError)) return false;
  // nft: ERESTART from a commit planned at an old generation, and EAGAIN from a read whose
  // dumps kept being interrupted by other writers: both mean "read again", so both retry.
  if (backend.kind === 'nft') return e.code === 'ERESTART' || e.code === 'EINTR' || e.code === 'EAGAIN';
  return e.code === 'ESTALE' || e.code === 'EAGAIN';
}

export async function runTransaction(
  backend: Backend,
  tables: readonly string[],
  intend: (current: readonly Table[], held: HeldChains) => TableIntent[] | Promise<TableIntent[]>,
  maxRetries = DEFAULT_MAX_RETRIES,
  hold?: Hold,
  fingerprint?: readonly string[],
  reuse = false,
): Promise<TransactionResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await backend.guarded(async (g) => {
        const snapshot = await g.read(tables, hold, reuse);
        await nextTurn(); // after the read's decoding
        const held = snapshot.held?.chains ?? NOTHING_HELD;
        let intents: TableIntent[];
        try {
          intents = await intend(snapshot.tables, held);
        } catch (e) {
          // A refusal decided on tables not yet checked against the kernel: check them first.
          if (snapshot.unchecked) await g.check(snapshot);
          throw e;
        }
        await nextTurn();
        const plans: TablePlan[] = [];
        for (const i of intents) {
          // A table's plan at a time, in slices; the commit then encodes them.
          plans.push(await runStepsYielding(planTableSteps(snapshot.tables.find((t) => t.name === i.table), i, held.get(i.table))));
        }
        const outcomes = await g.commit(snapshot, plans, reuse, fingerprint !== undefined);
        const kept = reuse ? g.kept() : undefined;
        const out: TransactionResult = { plans, attempts: attempt, snapshot, outcomes, ...(kept ? { kept } : {}) };
        if (!fingerprint) return out;
        const committed = plans.some((p) => committedTable(p, outcomes));
        return { ...out, fingerprint: await g.fingerprint(fingerprint, snapshot, committed) };
      });
    } catch (e) {
      if (!retryable(e, backend)) throw e;
      if (attempt > maxRetries) {
        const err = e as NetfilterError;
        throw new ConflictError(
          `the ruleset kept changing under the commit: gave up after ${attempt} attempts (${err.message})`,
          { op: 'commit', backend: backend.kind, ...(err.table ? { table: err.table } : {}) },
        );
      }
      await backoff(attempt);
    }
  }
}
