// Netfilter.restore runs natively end to end (native/restore): inputs whose effect depends on
// the order of their steps, checked against the back end's own restore tool on the same
// starting state in a second namespace.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { native } from '../../src/binding.js';
import { Netfilter } from '../../src/netfilter.js';
import { ParseError } from '../../src/errors.js';
import { saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-restore-native-'));

const START = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -s 10.0.0.1/32 -j X\n-A X -j RETURN\nCOMMIT\n';

describe.each(['legacy', 'nft'] as const)('%s: native restore against the tool', (backend) => {
  const restoreTool = `iptables-${backend}-restore`;
  const saveTool = `iptables-${backend}-save`;
  const rules = (ns: Netns): string[] => saveLines(ns.ok(saveTool));

  const cases: [string, string, boolean][] = [
    ['a table given twice with -n', '*filter\n-I INPUT 1 -s 10.1.1.1/32 -j DROP\nCOMMIT\n*filter\nCOMMIT\n', true],
    ['a table given twice without -n: the second block starts afresh', '*filter\n:Y - [0:0]\n-A INPUT -j Y\nCOMMIT\n*filter\n-A OUTPUT -j DROP\nCOMMIT\n', false],
    // (-R of the rule an -I of the same input just put there crashes iptables-nft-restore 1.8.9.)
    ['insert, replace and delete by rule and by number', '*filter\n-I INPUT 1 -p tcp -j ACCEPT\n-R INPUT 2 -s 10.0.0.2/32 -j X\n-A OUTPUT -j ACCEPT\n-A OUTPUT -j DROP\n-D OUTPUT 1\n-D OUTPUT -j DROP\nCOMMIT\n', true],
    ['flush, delete chain and policy', '*filter\n-F\n-X\n-P FORWARD ACCEPT\n-N W\n-A W -j DROP\n-A INPUT -j W\nCOMMIT\n', true],
  ];
  // iptables-nft-restore 1.8.9 cannot be the oracle for -E here: it refuses a chain renamed
  // earlier in the same input ("Chain 'Z' does not exist") and crashes (SIGSEGV) renaming a
  // chain a rule jumps to. iptables-legacy-restore does both.
  if (backend === 'legacy') {
    cases.push(['rules that use a chain renamed in the same input', '*filter\n-E X Z\n-I INPUT 1 -p tcp -j Z\n-R INPUT 2 -s 10.0.0.2/32 -j Z\n-A Z -j ACCEPT\n-D Z -j RETURN\nCOMMIT\n', true]);
  }
  for (const [what, input, noflush] of cases) {
    test(what, () =>
      withNetns((ns) =>
        withNetns(async (oracle) => {
          ns.ok(restoreTool, [], START);
          oracle.ok(restoreTool, [], START);
          const nf = await Netfilter.open({ backend, netns: ns.name });
          await nf.restore(input, { noflush });
          oracle.ok(restoreTool, noflush ? ['-n'] : [], input);
          expect(rules(ns)).toEqual(rules(oracle));
        }),
      ));
  }

  test('a step iptables-restore refuses names its line, and nothing changes', () =>
    withNetns(async (ns) => {
      ns.ok(restoreTool, [], START);
      const before = rules(ns);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      const input = '*filter\n-A INPUT -j ACCEPT\n-X X\nCOMMIT\n';
      const err = await nf.restore(input, { noflush: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParseError);
      expect((err as ParseError).line).toBe(3);
      expect((err as ParseError).message).toMatch(/line 3 failed: .*X/);
      expect(ns.run(restoreTool, ['-n'], input).status).not.toBe(0);
      expect(rules(ns)).toEqual(before);
    }));

  test('a restore that changes nothing commits nothing, and kept rules keep their counters', () =>
    withNetns(async (ns) => {
      ns.ok(restoreTool, ['-c'], START.replace('-A X -j RETURN', '[5:500] -A X -j RETURN'));
      const nf = await Netfilter.open({ backend, netns: ns.name });
      const again = START.replace(':FORWARD DROP [0:0]', ':FORWARD DROP [0:0]');
      const r = await nf.restore(again);
      expect(r).toMatchObject({ added: 0, deleted: 0, kept: 2 });
      expect(saveLines(ns.ok(saveTool, ['-c']))).toContain('[5:500] -A X -j RETURN');
    }));

  // The command passes the file's bytes as they are; a Latin-1 comment byte that is not UTF-8
  // goes to the kernel unchanged, as iptables-restore writes it.
  test('the input as bytes (a Buffer) restores as the tool restores the same file', () =>
    withNetns((ns) =>
      withNetns(async (oracle) => {
        const input = Buffer.concat([Buffer.from(START.replace('COMMIT\n', '-A X -m comment --comment "caf')), Buffer.from([0xe9]), Buffer.from('" -j ACCEPT\nCOMMIT\n')]);
        const nf = await Netfilter.open({ backend, netns: ns.name });
        await nf.restore(new Uint8Array(input));
        oracle.ok(restoreTool, [], input);
        expect(rules(ns)).toEqual(rules(oracle));
        expect(rules(ns).some((l) => l.includes('--comment'))).toBe(true);
        await expect(nf.restore(42 as unknown as string)).rejects.toThrow(/^text: expected iptables-restore input as a string or its bytes/);
      }),
    ));

  // A large input's rule lines are parsed on several threads (native/common/parallel.h), each
  // in the namespace of the restore: ipset names must resolve there, `[p:b]` prefixes and `-6`
  // lines must mean what they mean on one thread, and the first bad line is the one named.
  const LARGE = 6000;
  const large = (bad: number[] = []): string => {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':Y - [0:0]'];
    for (let i = 0; i < LARGE; i++) {
      const ip = `10.${(i >> 8) & 255}.${i & 255}.1`;
      if (bad.includes(i)) lines.push(`-A Y -s ${ip} -p tcp --dport 70000 -j ACCEPT`);
      else if (i % 3 === 0) lines.push(`[${i}:${i * 60}] -A Y -s ${ip}/32 -m set --match-set ${set} src -j ACCEPT`);
      else if (i % 1000 === 7) lines.push(`-6 -A Y -s ${ip} -j DROP`);
      else lines.push(`-A Y -d ${ip}/32 -p tcp -m tcp --dport ${1 + (i % 65000)} -j RETURN`);
    }
    lines.push('-A INPUT -j Y', 'COMMIT', '');
    return lines.join('\n');
  };
  // A set of this describe's name only: a helper thread left in another namespace finds none.
  const set = `big-${backend}`;
  const withSet = (ns: Netns): void => void ns.ok('ipset', ['create', set, 'hash:ip']);

  test('a large input restores as the tool restores it, ipsets and counters included', () =>
    withNetns((ns) =>
      withNetns(async (oracle) => {
        withSet(ns);
        withSet(oracle);
        const input = large();
        const nf = await Netfilter.open({ backend, netns: ns.name });
        await nf.restore(input, { counters: true });
        oracle.ok(restoreTool, ['-c'], input);
        const mine = saveLines(ns.ok(saveTool, ['-c']));
        expect(mine).toEqual(saveLines(oracle.ok(saveTool, ['-c'])));
        expect(mine.filter((l) => l.includes(`--match-set ${set} src`)).length).toBe(LARGE / 3);
        expect(mine).toContain(`[2997:179820] -A Y -s 10.11.181.1/32 -m set --match-set ${set} src -j ACCEPT`);
        // No thread of this process stays in the namespace: a helper there would keep it alive
        // after it is deleted. (Legacy only: nf_tables keeps idle sockets of the namespace for a
        // second, and the thread that closes them, made there, ends with them.)
        if (backend === 'legacy') {
          const inode = statSync(ns.path).ino;
          const threads = readdirSync('/proc/self/task');
          expect(threads.length).toBeGreaterThan(1);
          expect(threads.filter((t) => statSync(`/proc/self/task/${t}/ns/net`).ino === inode)).toEqual([]);
        }
      }),
    ));

  test('the first bad line of a large input is named, as the tool names it, and nothing changes', () =>
    withNetns(async (ns) => {
      withSet(ns);
      ns.ok(restoreTool, [], START);
      const before = rules(ns);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      // Bad lines in both halves, and a missing COMMIT after them: the earliest is named.
      for (const bad of [[4501, 5800], [1200, 4501]]) {
        const input = large(bad).replace('COMMIT\n', '');
        const err = await nf.restore(input).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ParseError);
        const line = bad[0]! + 6;
        expect((err as ParseError).line).toBe(line);
        expect((err as ParseError).message).toContain('70000');
        // From a file: the tool stops reading at the bad line.
        const file = join(tmp, `large-${line}.rules`);
        writeFileSync(file, input);
        const tool = ns.run('bash', ['-c', `${restoreTool} < ${file}`]);
        expect(tool.status).not.toBe(0);
        expect(tool.stderr).toContain(`Error occurred at line: ${line}`);
        expect(rules(ns)).toEqual(before);
      }
    }));

  // A large restore's text and steps (legacy: also its entries and replacement) are scratch
  // blocks (native/common/scratch.h) that the next restore writes again without zeroing them: each
  // block goes back when the restore ends, the same input takes the same blocks again, and a
  // smaller input written over a bigger one's leftovers restores exactly as the tool does,
  // also after the process forked (blocks are MADV_WIPEONFORK).
  test('large restores reuse their scratch blocks, and leftovers in them change nothing', () =>
    withNetns((ns) =>
      withNetns(async (oracle) => {
        withSet(ns);
        withSet(oracle);
        const nf = await Netfilter.open({ backend, netns: ns.name });
        const first = large();
        await nf.restore(first, { counters: true });
        const after = native.scratchBytes();
        expect(after.lent).toBe(0);
        expect(after.kept).toBeGreaterThanOrEqual(1 << 20);
        expect(after.kept).toBeLessThanOrEqual(64 << 20);

        // Fewer, different rules (other ports and addresses), after a fork of this process.
        const second = large().split('\n').filter((l, i) => i % 2 === 0 || !l.startsWith('-A Y')).join('\n').replace(/ -([sd]) 10\./g, ' -$1 172.');
        execFileSync('true');
        await nf.restore(second);
        oracle.ok(restoreTool, [], second);
        expect(rules(ns)).toEqual(rules(oracle));
        expect(native.scratchBytes().lent).toBe(0);

        await nf.restore(first, { counters: true });
        oracle.ok(restoreTool, ['-c'], first);
        expect(saveLines(ns.ok(saveTool, ['-c']))).toEqual(saveLines(oracle.ok(saveTool, ['-c'])));
        expect(native.scratchBytes()).toEqual(after);
      }),
    ));
});
