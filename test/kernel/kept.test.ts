// Netfilter.update with `reuse`: the back end keeps the tables as its commit left them and gives
// them again, without a read, while it can prove nothing but counters changed since (nf_tables:
// the generation the commit made, moved on only by this process's own commits to other tables;
// legacy: a digest of the entries, which the commit itself checks). Derived from what iptables
// itself shows: every kept table must equal a fresh read, and another writer's change must
// never be planned over.

import { describe, expect, test } from 'vitest';
import { native, nativeDialect } from '../../src/binding.js';
import { Netfilter } from '../../src/netfilter.js';
import type { Backend } from '../../src/backend/backend.js';
import type { TableIntent } from '../../src/plan/plan.js';
import type { Family, Table } from '../../src/rules/model.js';
import { MATCH_CASES, matchChain, withIpsets } from '../cases/matches.js';
import { TARGET_CASES, targetPlace } from '../cases/targets.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';
import { countReads } from '../helpers/reads.js';

const reads = countReads();

const SEED = '*filter\n:FWD - [0:0]\n-A FORWARD -j FWD\n-A FWD -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n';

/**
 * The port rules of FWD are the caller's: `ports` at the top, as iptables-save prints them (the
 * planner keeps a rule whose text is the kernel's), or, `asWritten`, as a person would write
 * them (the kept text must then be made canonical).
 */
function ports(ps: number[], asWritten = false): TableIntent[] {
  const text = (p: number): string => (asWritten ? `-p tcp --dport ${p} -j ACCEPT` : `-p tcp -m tcp --dport ${p} -j ACCEPT`);
  return [
    {
      table: 'filter',
      chains: [{ chain: 'FWD', mode: 'owned', owns: (r) => r.includes('--dport'), blocks: [{ position: 'top', rules: ps.map(text) }] }],
    },
  ];
}

/** What a table holds as text: its chains, policies and rules (no counters). */
function shape(tables: readonly Table[]): unknown {
  return tables.map((t) => ({ name: t.name, chains: t.chains.map((c) => ({ name: c.name, policy: c.policy, rules: [...c.rules] })) }));
}

function fwd(ns: Netns, backend: string, family: 'iptables' | 'ip6tables' = 'iptables'): string[] {
  return saveLines(ns.ok(`${family}-${backend}-save`, ['-t', 'filter'])).filter((l) => l.startsWith('-A FWD'));
}

/** SEED restored, a Netfilter open on it, and `reuse` options that record what the back end keeps. */
async function seeded(ns: Netns, backend: 'legacy' | 'nft') {
  ns.ok(`iptables-${backend}-restore`, [], SEED);
  const nf = await Netfilter.open({ backend, netns: ns.name });
  let last: readonly Table[] | undefined;
  const keep = { reuse: true, kept: (t: readonly Table[]) => void (last = t) };
  return { nf, keep, kept: (): readonly Table[] | undefined => last };
}

describe.skipIf(!isRoot)('update with reuse', () => {
  for (const backend of ['legacy', 'nft'] as const) {
    test(`${backend}: the kept tables are a fresh read's, canonical; the next update plans on them without a read`, () =>
      withNetns(async (ns) => {
        const { nf, keep, kept } = await seeded(ns, backend);
        await nf.update(['filter'], () => ports([80, 81], true), keep);
        expect(kept()).toBeDefined();
        expect(shape(kept()!)).toEqual(shape(await nf.read(['filter'])));
        expect(kept()![0]!.chains.find((c) => c.name === 'FWD')!.rules[0]).toBe('-p tcp -m tcp --dport 80 -j ACCEPT');

        // Nothing changed since: the same array, no read; the rules that stay are kept (on
        // nf_tables by the handles the kernel echoed) and the new one goes between them and the
        // rule that is not the caller's.
        const first = kept();
        reads.n = 0;
        let seen: readonly Table[] | undefined;
        const r = await nf.update(['filter'], (current) => ((seen = current), ports([80, 81, 82])), keep);
        expect(seen).toBe(first);
        expect(reads.n).toBe(0);
        expect(r).toMatchObject({ attempts: 1, added: 1, deleted: 0 });
        expect(fwd(ns, backend)).toEqual([
          '-A FWD -p tcp -m tcp --dport 80 -j ACCEPT',
          '-A FWD -p tcp -m tcp --dport 81 -j ACCEPT',
          '-A FWD -p tcp -m tcp --dport 82 -j ACCEPT',
          '-A FWD -s 10.0.0.1/32 -j ACCEPT',
        ]);
        // And one goes: planned on the tables the last commit kept.
        reads.n = 0;
        const second = kept();
        await nf.update(['filter'], (current) => ((seen = current), ports([80, 82])), keep);
        expect(seen).toBe(second);
        expect(reads.n).toBe(0);
        expect(fwd(ns, backend)).toEqual(['-A FWD -p tcp -m tcp --dport 80 -j ACCEPT', '-A FWD -p tcp -m tcp --dport 82 -j ACCEPT', '-A FWD -s 10.0.0.1/32 -j ACCEPT']);
        expect(shape(kept()!)).toEqual(shape(await nf.read(['filter'])));
        // Zeroed counters are no change to the rules.
        ns.ok(`iptables-${backend}`, ['-w', '-Z']);
        if (backend === 'legacy') {
          const before = kept();
          reads.n = 0;
          await nf.update(['filter'], (current) => ((seen = current), ports([82])), keep);
          expect(seen).toBe(before);
          expect(reads.n).toBe(0);
        }
      }));

    test(`${backend}: another writer's change between two updates is planned on, never over`, () =>
      withNetns(async (ns) => {
        const { nf, keep, kept } = await seeded(ns, backend);
        await nf.update(['filter'], () => ports([80]), keep);
        const before = kept();
        ns.ok(`iptables-${backend}`, ['-w', '-A', 'FWD', '-s', '10.0.0.2/32', '-j', 'DROP']);
        const seen: Array<readonly Table[]> = [];
        const r = await nf.update(['filter'], (current) => (seen.push(current), ports([80, 90])), keep);
        // nf_tables sees the generation move before it plans; legacy plans on the kept tables,
        // and its commit, finding other entries than it kept, refuses (ESTALE) and plans again
        // on a read.
        expect(r.attempts).toBe(backend === 'legacy' ? 2 : 1);
        expect(seen.length).toBe(r.attempts);
        expect(seen[0] === before).toBe(backend === 'legacy');
        expect(seen[seen.length - 1]).not.toBe(before);
        expect(fwd(ns, backend)).toEqual([
          '-A FWD -p tcp -m tcp --dport 80 -j ACCEPT',
          '-A FWD -p tcp -m tcp --dport 90 -j ACCEPT',
          '-A FWD -s 10.0.0.1/32 -j ACCEPT',
          '-A FWD -s 10.0.0.2/32 -j DROP',
        ]);
        expect(shape(kept()!)).toEqual(shape(await nf.read(['filter'])));
      }));

    test(`${backend}: an update with nothing to change on tables another writer changed says so only after a look`, () =>
      withNetns(async (ns) => {
        const { nf, keep, kept } = await seeded(ns, backend);
        await nf.update(['filter'], () => ports([80]), keep);
        const before = kept();
        // Another writer takes the caller's rule away: the same intent must put it back.
        ns.ok(`iptables-${backend}`, ['-w', '-D', 'FWD', '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT']);
        const seen: Array<readonly Table[]> = [];
        const r = await nf.update(['filter'], (current) => (seen.push(current), ports([80])), keep);
        // legacy: nothing to change on the kept tables, so it looks (a digest) before saying so,
        // finds them changed and plans again on a read.
        expect(r).toMatchObject({ attempts: backend === 'legacy' ? 2 : 1, added: 1 });
        expect(seen[0] === before).toBe(backend === 'legacy');
        expect(seen[seen.length - 1]).not.toBe(before);
        expect(fwd(ns, backend)).toEqual(['-A FWD -p tcp -m tcp --dport 80 -j ACCEPT', '-A FWD -s 10.0.0.1/32 -j ACCEPT']);
      }));

    test(`${backend}: a refusal decided on kept tables is decided again on a read when another writer changed them`, () =>
      withNetns(async (ns) => {
        const { nf, keep } = await seeded(ns, backend);
        await nf.update(['filter'], () => ports([80]), keep);
        // Another writer takes port 80's rule away; the caller refuses to go on while it is there.
        ns.ok(`iptables-${backend}`, ['-w', '-D', 'FWD', '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT']);
        const refuse = (current: readonly Table[]): TableIntent[] => {
          if (current[0]!.chains.find((c) => c.name === 'FWD')!.rules.some((r) => r.includes('--dport 80 '))) throw new RangeError('port 80 is taken');
          return ports([81]);
        };
        const r = await nf.update(['filter'], refuse, { reuse: true });
        expect(r.attempts).toBe(backend === 'legacy' ? 2 : 1);
        expect(fwd(ns, backend)).toEqual(['-A FWD -p tcp -m tcp --dport 81 -j ACCEPT', '-A FWD -s 10.0.0.1/32 -j ACCEPT']);
        // Unchanged tables: the refusal stands, decided on the kept tables.
        reads.n = 0;
        const no = (): TableIntent[] => {
          throw new RangeError('no');
        };
        await expect(nf.update(['filter'], no, { reuse: true })).rejects.toThrow('no');
        expect(reads.n).toBe(0);
      }));
  }

  test('nft: kept tables carry a fresh read\'s handles and absent built-in chains', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], SEED);
      const nf = await Netfilter.open({ backend: 'nft', netns: ns.name });
      const impl = (nf as unknown as { impl: Backend }).impl;
      // FWD gains two rules at the top; INPUT, which iptables-nft has not made yet, gains one.
      const intents = (): TableIntent[] => [
        { table: 'filter', chains: [...ports([80, 81])[0]!.chains, { chain: 'INPUT', mode: 'owned', owns: () => true, blocks: [{ position: 'top', rules: ['-i lo -j ACCEPT'] }] }] },
      ];
      expect((await impl.read(['filter'])).absentChains?.get('filter')).toEqual(new Set(['INPUT', 'OUTPUT']));
      await nf.update(['filter'], intents, { reuse: true });
      const kept = await impl.readReusing(['filter']);
      const fresh = await impl.read(['filter']);
      expect(shape(kept.tables)).toEqual(shape(fresh.tables));
      expect([...kept.handles!.get('filter')!].map((h) => [...h])).toEqual([...fresh.handles!.get('filter')!].map((h) => [...h]));
      expect(kept.absentChains?.get('filter')).toEqual(new Set(['OUTPUT']));
      expect(kept.generation).toBe(fresh.generation);
    }));

  for (const backend of ['legacy', 'nft'] as const) {
    test(`${backend}: tables kept from an update of fewer tables are not taken for a read of more`, () =>
      withNetns(async (ns) => {
        ns.ok(`iptables-${backend}-restore`, [], SEED);
        ns.ok(`iptables-${backend}-restore`, ['--noflush'], '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 10.9.0.0/16 -j RETURN\nCOMMIT\n');
        const nf = await Netfilter.open({ backend, netns: ns.name });
        const natIntent: TableIntent[] = [{ table: 'nat', chains: [{ chain: 'PREROUTING', mode: 'owned', owns: (r) => r.includes('10.8.'), blocks: [{ position: 'bottom', rules: ['-s 10.8.0.0/16 -j RETURN'] }] }] }];
        await nf.update(['filter', 'nat'], () => ports([80]), { reuse: true });
        await nf.update(['nat'], () => natIntent, { reuse: true });
        // Both tables again: filter must be what the kernel holds, not absent.
        let seen: readonly Table[] = [];
        await nf.update(['filter', 'nat'], (current) => ((seen = current), [...ports([80, 81]), ...natIntent]), { reuse: true });
        expect(seen.map((t) => t.name).sort()).toEqual(['filter', 'nat']);
        expect(fwd(ns, backend)).toEqual(['-A FWD -p tcp -m tcp --dport 80 -j ACCEPT', '-A FWD -p tcp -m tcp --dport 81 -j ACCEPT', '-A FWD -s 10.0.0.1/32 -j ACCEPT']);
        expect(saveLines(ns.ok(`iptables-${backend}-save`, ['-t', 'nat'])).filter((l) => l.startsWith('-A'))).toEqual([
          '-A PREROUTING -s 10.9.0.0/16 -j RETURN',
          '-A PREROUTING -s 10.8.0.0/16 -j RETURN',
        ]);
      }));
  }

  // The legacy digest of a table laid out for a replace must be the kernel's of the same table
  // read back (kernel-private parts of matches and targets zero both ways, `comefrom` left
  // out): otherwise nothing kept would ever be found again, and a crashed commit's record could
  // not tell its new tables. Every extension case, written as new entries in one commit.
  for (const family of ['ipv4', 'ipv6'] as const) {
    test(`legacy, ${family}: the digest a commit computes of what it writes is the kernel's, every extension`, () =>
      withNetns(async (ns) => {
        const rules = new Map<string, Map<string, string[]>>();
        const put = (table: string, chain: string, rule: string): void => {
          let t = rules.get(table);
          if (!t) rules.set(table, (t = new Map()));
          t.set(chain, [...(t.get(chain) ?? []), rule]);
        };
        const protos: Record<number, string> = { 6: 'tcp', 17: 'udp', 33: 'dccp', 132: 'sctp' };
        for (const c of MATCH_CASES) if (c.family === family) put('filter', matchChain(c.input), `${c.proto ? `-p ${c.proto} ` : ''}${c.input} -j ACCEPT`);
        for (const c of TARGET_CASES) {
          if (c.family !== family || c.noRoundTrip) continue;
          const [table, chain] = targetPlace(c.input.split(' ')[0]!);
          put(table, chain, `${c.proto ? `-p ${protos[c.proto] ?? c.proto} ` : ''}-j ${c.input}`);
        }
        withIpsets(ns);
        const nf = await Netfilter.open({ backend: 'legacy', family: family as Family, netns: ns.name });
        const tables = [...rules.keys()];
        // The tables exist (a legacy read of a missing one makes it), then every rule is new.
        await nf.read(tables);
        const all = (): TableIntent[] =>
          [...rules].map(([table, chains]) => ({ table, chains: [...chains].map(([chain, rs]) => ({ chain, mode: 'owned' as const, owns: () => true, blocks: [{ position: 'bottom' as const, rules: nativeDialect.canonical(family, rs) }] })) }));
        const first = await nf.update(tables, all, { reuse: true });
        expect(first.added).toBe([...rules.values()].reduce((n, t) => n + [...t.values()].reduce((m, rs) => m + rs.length, 0), 0));
        reads.n = 0;
        // Nothing to change: on legacy the kept tables are then looked at (a digest) before that
        // is said; a digest that differed would make it read and plan again.
        const again = await nf.update(tables, all, { reuse: true });
        expect(again).toMatchObject({ attempts: 1, added: 0, deleted: 0 });
        expect(reads.n).toBe(0);
      }));
  }

  test('nft: a commit of this process to the other family leaves a kept read in place; anyone else’s change does not', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], SEED);
      ns.ok('ip6tables-nft-restore', [], SEED.replace('10.0.0.1/32', 'fd00::1/128'));
      const v4 = await Netfilter.open({ backend: 'nft', netns: ns.name });
      const v6 = await Netfilter.open({ backend: 'nft', family: 'ipv6', netns: ns.name });
      const six = await v6.readReusing(['filter']);
      await v4.update(['filter'], () => ports([80]), { reuse: true });
      await v4.update(['filter'], () => ports([81]), { reuse: true });
      reads.n = 0;
      expect(await v6.readReusing(['filter'])).toBe(six);
      expect(reads.n).toBe(0);
      // A change of the IPv4 tables by another writer: not this process's, so not known.
      ns.ok('iptables-nft', ['-A', 'FWD', '-j', 'RETURN']);
      const again = await v6.readReusing(['filter']);
      expect(again).not.toBe(six);
      expect(shape(again)).toEqual(shape(six));
      expect(reads.n).toBe(1);
    }));

  test('without reuse nothing is kept, and transaction() always reads', () =>
    withNetns(async (ns) => {
      const { nf, keep, kept } = await seeded(ns, 'nft');
      await nf.update(['filter'], () => ports([80]), { kept: keep.kept });
      expect(kept()).toBeUndefined();
      await nf.update(['filter'], () => ports([81]), keep);
      expect(kept()).toBeDefined();
      reads.n = 0;
      await nf.transaction(['filter'], (tables) => tables);
      expect(reads.n).toBe(1);
    }));

  // DockerHost.apply asks for the fingerprint of Docker's tables after its commit: a table the
  // commit wrote gets the digest of what it wrote (the laid-out entries digest as the kernel
  // gives them back), the others are digested as the kernel holds them.
  test('legacy: the fingerprint after a commit is the kernel\'s; only the tables it did not write are digested', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-legacy-restore', [], SEED.replace('COMMIT\n', 'COMMIT\n*nat\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n'));
      const nf = await Netfilter.open({ backend: 'legacy', netns: ns.name });
      const asked: string[][] = [];
      const original = native.legacyFingerprint;
      native.legacyFingerprint = (...a: Parameters<typeof original>) => {
        asked.push([...a[2]]);
        return original(...a);
      };
      try {
        const tables = ['filter', 'nat', 'mangle'];
        const r = await nf.update(['filter'], () => ports([80, 443]), { fingerprint: tables });
        expect(asked).toEqual([['nat', 'mangle']]);
        expect(r.fingerprint).toMatch(/^filter=[0-9a-f]{16};nat=[0-9a-f]{16};mangle=absent;$/);
        expect(r.fingerprint).toBe(await nf.fingerprint(tables));
        // Nothing committed: every table is digested as it is.
        asked.length = 0;
        const again = await nf.update(['filter'], () => ports([80, 443]), { fingerprint: tables });
        expect(asked).toEqual([tables]);
        expect(again.fingerprint).toBe(r.fingerprint);
      } finally {
        native.legacyFingerprint = original;
      }
    }));
});
