// Which rules of a chain can stay: the longest run of current rules that also appear, in the
// same order, among the desired rules. Those are kept (their counters survive, and on nft
// they are not even sent); the rest of the current rules go and the rest of the desired
// rules are inserted. O(n log n), so a 30,000-rule chain plans in milliseconds, written as
// steps (src/turn.ts) so that an apply can let the event loop in on the way.

import { pausesAt, type Steps } from '../turn.js';

/**
 * For each desired position, the current index to keep there, or -1 for a new rule.
 * Kept indices are strictly increasing, and as many as possible (a longest common
 * subsequence, by Hunt–Szymanski: an LIS over the matching pairs, which for rule sets,
 * where duplicates are rare, is about one pair per rule).
 */
export function* keepPlanSteps(currentKeys: readonly string[], desiredKeys: readonly string[]): Steps<number[]> {
  const positions = new Map<string, number[]>();
  for (let i = 0; i < currentKeys.length; i++) {
    const k = currentKeys[i]!;
    const q = positions.get(k);
    if (q) q.push(i);
    else positions.set(k, [i]);
    if (pausesAt(i)) yield;
  }
  // Pairs (j, i) in order of j, and of decreasing i within one j, so that an increasing run
  // over i uses each desired position at most once.
  const pairJ: number[] = [];
  const pairI: number[] = [];
  for (let j = 0; j < desiredKeys.length; j++) {
    const q = positions.get(desiredKeys[j]!);
    if (!q) continue;
    for (let x = q.length - 1; x >= 0; x--) {
      pairJ.push(j);
      pairI.push(q[x]!);
    }
    if (pausesAt(j)) yield;
  }
  const tails: number[] = []; // tails[len-1] = pair index ending the best run of that length
  const prev = new Int32Array(pairJ.length).fill(-1);
  for (let p = 0; p < pairJ.length; p++) {
    const i = pairI[p]!;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairI[tails[mid]!]! < i) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[p] = tails[lo - 1]!;
    tails[lo] = p;
    if (pausesAt(p)) yield;
  }
  const result: number[] = new Array(desiredKeys.length).fill(-1);
  let p = tails.length ? tails[tails.length - 1]! : -1;
  while (p >= 0) {
    result[pairJ[p]!] = pairI[p]!;
    p = prev[p]!;
  }
  return result;
}
