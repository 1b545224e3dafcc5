// The planner: which rules stay, where new ones go, and that foreign rules never move out.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { keepPlanSteps } from '../../src/plan/diff.js';
import { planTable, type TableIntent } from '../../src/plan/plan.js';
import type { Rule, Table } from '../../src/rules/model.js';
import { runSteps } from '../../src/turn.js';

const keepPlan = (current: readonly string[], desired: readonly string[]): number[] => runSteps(keepPlanSteps(current, desired));

function lcsLength(a: readonly string[], b: readonly string[]): number {
  const dp: number[][] = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
  return dp[a.length]![b.length]!;
}

const rule = (comment: string): Rule => `-m comment --comment ${comment} -j ACCEPT`;
/** The comment a rule of rule() carries (or the foreign rule's text). */
const commentOf = (r: Rule): string => (r.startsWith('#') ? r.slice(2) : r.split(' ')[3]!);

const table = (chains: Record<string, string[]>): Table => ({
  name: 'filter',
  family: 'ipv4',
  chains: Object.entries(chains).map(([name, rules]) => ({
    name,
    ...(['INPUT', 'FORWARD', 'OUTPUT'].includes(name) ? { policy: 'ACCEPT' as const } : {}),
    rules: rules.map((c) => rule(c)),
  })),
});

/** The chain a plan leads to, with kept rules named by their current comment. */
function result(current: Table, intent: TableIntent): Record<string, string[]> {
  const plan = planTable(current, intent);
  const out: Record<string, string[]> = {};
  for (const c of plan.chains) {
    const cur = current.chains.find((x) => x.name === c.name);
    out[c.name] = c.entries.map((e) =>
      'keep' in e ? `=${commentOf(cur!.rules[e.keep]!)}` : `+${commentOf(e.rule)}`,
    );
  }
  return out;
}

describe('keepPlan', () => {
  test('keeps a longest common subsequence, strictly increasing', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), (cur, want) => {
        const plan = keepPlan(cur, want);
        const kept = plan.filter((k) => k >= 0);
        for (let i = 1; i < kept.length; i++) expect(kept[i]!).toBeGreaterThan(kept[i - 1]!);
        plan.forEach((k, j) => {
          if (k >= 0) expect(cur[k]).toBe(want[j]);
        });
        expect(kept.length).toBe(lcsLength(cur, want));
      }),
    );
  });

  test('plans 30,000 rules with one moved to the front', () => {
    const cur = Array.from({ length: 30_000 }, (_, i) => `r${i}`);
    const want = [cur[29_999]!, ...cur.slice(0, 29_999)];
    const plan = keepPlan(cur, want);
    expect(plan.filter((k) => k >= 0)).toHaveLength(29_999);
  });
});

describe('planTable', () => {
  test('an unchanged table plans as unchanged, every rule kept', () => {
    const cur = table({ INPUT: ['a', 'b'], FORWARD: [], OUTPUT: [], USER: ['x'] });
    const intent: TableIntent = {
      table: 'filter',
      exclusive: true,
      chains: cur.chains.map((c) => ({ chain: c.name, mode: 'exact' as const, rules: c.rules, policy: 'ACCEPT' as const })),
    };
    const plan = planTable(cur, intent);
    expect(plan.unchanged).toBe(true);
    expect(result(cur, intent)).toEqual({ INPUT: ['=a', '=b'], FORWARD: [], OUTPUT: [], USER: ['=x'] });
  });

  test('an exact chain keeps the rules it shares with the kernel and drops the rest', () => {
    const cur = table({ INPUT: ['a', 'b', 'c'], FORWARD: [], OUTPUT: [] });
    const intent: TableIntent = { table: 'filter', chains: [{ chain: 'INPUT', mode: 'exact', rules: ['a', 'x', 'c'].map((c) => rule(c)) }] };
    expect(result(cur, intent)['INPUT']).toEqual(['=a', '+x', '=c']);
    expect(planTable(cur, intent).unchanged).toBe(false);
  });

  test('a foreign rule survives around an owned block at the top and at the bottom', () => {
    const cur = table({ INPUT: [], FORWARD: ['f1', 'D-old', 'f2'], OUTPUT: [] });
    const owns = (r: Rule) => commentOf(r).startsWith('D');
    const intent: TableIntent = {
      table: 'filter',
      chains: [
        {
          chain: 'FORWARD',
          mode: 'owned',
          owns,
          blocks: [
            { position: 'top', rules: [rule('D-jump1'), rule('D-jump2')] },
            { position: 'bottom', rules: [rule('D-net1')] },
          ],
        },
      ],
    };
    expect(result(cur, intent)['FORWARD']).toEqual(['+D-jump1', '+D-jump2', '=f1', '=f2', '+D-net1']);
  });

  test('owned rules already in place are kept where they are', () => {
    const cur = table({ INPUT: [], FORWARD: ['D-j', 'f1', 'D-n1'], OUTPUT: [] });
    const owns = (r: Rule) => commentOf(r).startsWith('D');
    const intent: TableIntent = {
      table: 'filter',
      chains: [{ chain: 'FORWARD', mode: 'owned', owns, blocks: [{ position: 'top', rules: [rule('D-j')] }, { position: 'bottom', rules: [rule('D-n1'), rule('D-n2')] }] }],
    };
    expect(result(cur, intent)['FORWARD']).toEqual(['=D-j', '=f1', '=D-n1', '+D-n2']);
    const same: TableIntent = {
      table: 'filter',
      chains: [{ chain: 'FORWARD', mode: 'owned', owns, blocks: [{ position: 'top', rules: [rule('D-j')] }, { position: 'bottom', rules: [rule('D-n1')] }] }],
    };
    expect(planTable(cur, same).unchanged).toBe(true);
  });

  test('exclusive intents delete user chains they do not name; others keep them', () => {
    const cur = table({ INPUT: ['a'], FORWARD: [], OUTPUT: [], OLD: ['o'] });
    const excl: TableIntent = { table: 'filter', exclusive: true, chains: [{ chain: 'INPUT', mode: 'exact', rules: [rule('a')] }] };
    expect(Object.keys(result(cur, excl))).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
    const shared: TableIntent = { table: 'filter', chains: [{ chain: 'NEW', mode: 'ensure', rules: [rule('n')] }] };
    expect(result(cur, shared)).toEqual({ INPUT: ['=a'], FORWARD: [], OUTPUT: [], OLD: ['=o'], NEW: ['+n'] });
  });

  test('rules written by nft directly stay in an exact chain', () => {
    const cur = table({ INPUT: ['a'], FORWARD: [], OUTPUT: [] });
    cur.chains[0]!.rules.push('# nft-own');
    const intent: TableIntent = { table: 'filter', chains: [{ chain: 'INPUT', mode: 'exact', rules: [rule('b')] }] };
    expect(result(cur, intent)['INPUT']).toEqual(['+b', '=nft-own']);
  });

  test('was= carries each current chain length', () => {
    const cur = table({ INPUT: ['a', 'b'], FORWARD: [], OUTPUT: [] });
    const plan = planTable(cur, { table: 'filter', chains: [] });
    expect(plan.chains.map((c) => [c.name, c.was])).toEqual([['INPUT', 2], ['FORWARD', 0], ['OUTPUT', 0]]);
  });
});

describe('planTable builds the plan keepPlan gives over the rules\' texts', () => {
  // The planner skips the LCS where it can (same sequence, empty chain); the result must be
  // exactly keepPlan over the texts.
  const arbRule = fc.constantFrom('-j ACCEPT', '-j DROP', '-s 10.0.0.1/32 -j ACCEPT', '-p tcp -m tcp --dport 80 -j DOCKER', '-m comment --comment x -j MARK --set-xmark 0x1/0xffffffff');

  test('exact chains: kept positions are keepPlan of the texts', () => {
    fc.assert(
      fc.property(fc.array(arbRule, { maxLength: 25 }), fc.array(arbRule, { maxLength: 25 }), fc.boolean(), (cur, want, same) => {
        const desired = same ? cur.slice() : want;
        const current: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'X', rules: cur }] };
        const plan = planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'exact', rules: desired }] });
        const entries = plan.chains.find((c) => c.name === 'X')!.entries;
        expect(entries.map((e) => ('keep' in e ? e.keep : -1))).toEqual(keepPlan(cur, desired));
      }),
      { numRuns: 300 },
    );
  });

  test('owned blocks: kept positions are keepPlan of the owned rules\' texts', () => {
    fc.assert(
      fc.property(fc.array(arbRule, { maxLength: 25 }), fc.array(arbRule, { maxLength: 25 }), (cur, want) => {
        const owns = (r: Rule): boolean => !r.endsWith('-j DOCKER');
        const current: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'X', rules: cur }] };
        const plan = planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'owned', owns, blocks: [{ position: 'top', rules: want }] }] });
        const kept = plan.chains.find((c) => c.name === 'X')!.entries.filter((e) => 'keep' in e).map((e) => (e as { keep: number }).keep);
        const ownedIdx = cur.map((r, i) => (owns(r) ? i : -1)).filter((i) => i >= 0);
        const expected = keepPlan(ownedIdx.map((i) => cur[i]!), want).filter((k) => k >= 0).map((k) => ownedIdx[k]!);
        const foreign = cur.map((r, i) => (owns(r) ? -1 : i)).filter((i) => i >= 0);
        expect(kept).toEqual([...expected, ...foreign].sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });

  test('owned by a set of texts: the same entries as a test of membership in it, few texts or many', () => {
    // Runs of foreign rules long enough to be copied as slices (64 and more) sit between the
    // owned ones; a text may be there twice, and the set may name texts the chain lacks.
    const arbChain = fc.array(fc.oneof(arbRule, fc.integer({ min: 0, max: 200 }).map((n) => Array.from({ length: n }, (_, i) => `-s 10.9.${i >> 8}.${i & 255}/32 -j DROP`))), { maxLength: 12 });
    fc.assert(
      fc.property(arbChain, fc.array(fc.oneof(arbRule, fc.integer({ min: 0, max: 40 }).map((i) => `-s 10.9.0.${i}/32 -j DROP`)), { maxLength: 30 }), fc.array(arbRule, { maxLength: 30 }), fc.constantFrom('top', 'bottom'), (parts, ownedTexts, want, position) => {
        const cur = parts.flat();
        const texts = new Set(ownedTexts);
        const current: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'X', rules: cur }] };
        const plan = (owns: ((r: Rule) => boolean) | ReadonlySet<Rule>) =>
          planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'owned', owns, blocks: [{ position, rules: want }] }] }).chains;
        const chains = plan(texts);
        expect(chains).toEqual(plan((r) => texts.has(r)));
        // And what it keeps, worked out apart: every rule not owned, and keepPlan's of the owned.
        const entries = chains.find((c) => c.name === 'X')!.entries;
        const ownedIdx = cur.map((r, i) => (texts.has(r) ? i : -1)).filter((i) => i >= 0);
        const keptOwned = keepPlan(ownedIdx.map((i) => cur[i]!), want).filter((k) => k >= 0).map((k) => ownedIdx[k]!);
        const others = cur.map((r, i) => (texts.has(r) ? -1 : i)).filter((i) => i >= 0);
        expect(entries.filter((e) => 'keep' in e).map((e) => (e as { keep: number }).keep)).toEqual([...keptOwned, ...others].sort((a, b) => a - b));
        expect(entries.filter((e) => 'rule' in e)).toHaveLength(want.length - keptOwned.length);
      }),
      { numRuns: 300 },
    );
  });

  test('owned by a set: a rule added to a chain of 20,000 keeps every other one in place', () => {
    const cur = Array.from({ length: 20_000 }, (_, i) => `-d 172.18.${i >> 8}.${i & 255}/32 -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`);
    const gone = cur[7_000]!;
    const add = '-d 172.19.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT';
    const current: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'X', rules: [...cur, gone] }] };
    const entries = planTable(current, {
      table: 'filter',
      chains: [{ chain: 'X', mode: 'owned', owns: new Set([add, gone]), blocks: [{ position: 'bottom', rules: [add] }] }],
    }).chains.find((c) => c.name === 'X')!.entries;
    // Both copies of the rule the caller no longer wants go; the new one is last.
    const keeps = Array.from({ length: 20_001 }, (_, i) => i).filter((i) => i !== 7_000 && i !== 20_000);
    expect(entries).toEqual([...keeps.map((keep) => ({ keep })), { rule: add }]);
  });

  test('restore -c: every desired rule is written with the counters its chain gives it', () => {
    const current: Table = { name: 'filter', family: 'ipv4', chains: [{ name: 'X', rules: ['-j ACCEPT'] }] };
    const plan = planTable(current, {
      table: 'filter',
      counters: true,
      chains: [{ chain: 'X', mode: 'exact', rules: ['-j ACCEPT', '-j DROP'], ruleCounters: new BigUint64Array([5n, 500n, 0n, 0n]) }],
    });
    expect(plan.chains.find((c) => c.name === 'X')!.entries).toEqual([
      { rule: '-j ACCEPT', counters: { packets: 5n, bytes: 500n } },
      { rule: '-j DROP', counters: { packets: 0n, bytes: 0n } },
    ]);
  });
});

describe('planTable, exact text intents', () => {
  test('a text intent on a chain the read did not hold plans as its lines would', () => {
    const current = table({ INPUT: [], FORWARD: [], OUTPUT: [], X: ['a', 'b', 'c'] });
    const text: TableIntent = { table: 'filter', chains: [{ chain: 'X', mode: 'exact', text: [rule('a'), rule('d'), rule('c')].join('\n') }] };
    const rules: TableIntent = { table: 'filter', chains: [{ chain: 'X', mode: 'exact', rules: [rule('a'), rule('d'), rule('c')] }] };
    expect(result(current, text)).toEqual(result(current, rules));
    expect(result(current, text)['X']).toEqual(['=a', '+d', '=c']);
    const empty = planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'exact', text: '' }] });
    expect(empty.chains.find((c) => c.name === 'X')!.entries).toEqual([]);
  });

  test('a held chain goes to the addon as its text; nothing else may plan it', () => {
    const current = table({ INPUT: [], FORWARD: [], OUTPUT: [], X: [] });
    const held = new Map([['X', { rules: 3, interfaces: [] }]]);
    const plan = planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'exact', text: rule('a') }] }, held);
    expect(plan.unchanged).toBe(false);
    expect(plan.chains.find((c) => c.name === 'X')).toEqual({ name: 'X', entries: [], lines: rule('a') });
    // Its rules are not in the table read: keeping "all" of them would empty it.
    expect(() => planTable(current, { table: 'filter', chains: [] }, held)).toThrow(/chain X: held by the read/);
    expect(() => planTable(current, { table: 'filter', chains: [{ chain: 'X', mode: 'exact', rules: [] }] }, held)).toThrow(/chain X: held by the read/);
  });
});
