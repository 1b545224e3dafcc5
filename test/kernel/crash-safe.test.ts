// A commit killed half way: the CLI runs under strace, which kills it (SIGKILL) at a chosen
// setsockopt (legacy: each table is an IPT_SO_SET_REPLACE, and an IPT_SO_SET_ADD_COUNTERS when
// it has counters to add: none here, all its rules' counters are zero) or
// netlink send (nft), at every such point for legacy and at seeded random ones for nft. After
// recovery (`iptkit recover`, or the next legacy operation on the namespace) every table must
// be wholly what iptables-restore made of the old input or of the new one, and a table another
// writer changed after the kill must keep that change.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { iptkitBin } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const TABLES = ['nat', 'filter', 'mangle'] as const;

function input(family: 'ipv4' | 'ipv6', n: number): string {
  const to = family === 'ipv4' ? '10.0.0.1' : '[fd00::1]';
  return [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':DOCKER - [0:0]',
    `-A PREROUTING -j DOCKER`, `-A DOCKER -p tcp -m tcp --dport ${8000 + n} -j DNAT --to-destination ${to}:80`, 'COMMIT',
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]',
    `-A INPUT -p tcp -m tcp --dport ${2200 + n} -j ACCEPT`, 'COMMIT',
    '*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    `-A OUTPUT -j MARK --set-xmark 0x${n}/0xffffffff`, 'COMMIT', '',
  ].join('\n');
}

function tool(backend: 'legacy' | 'nft', family: 'ipv4' | 'ipv6', what: 'save' | 'restore' | ''): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}${what ? `-${what}` : ''}`;
}

function tableLines(ns: Netns, backend: 'legacy' | 'nft', family: 'ipv4' | 'ipv6'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of TABLES) out[t] = saveLines(ns.ok(tool(backend, family, 'save'), ['-t', t])).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n');
  return out;
}

function cli(args: string[], strace?: string[]): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const cmd = strace ? 'strace' : process.execPath;
  const argv = strace ? ['-f', '-o', '/dev/null', ...strace, process.execPath, iptkitBin(), ...args] : [iptkitBin(), ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** How many of `syscalls` a run makes (strace counting them, nothing injected). */
function countSyscalls(args: string[], syscalls: string): number {
  const log = join(tmpdir(), `iptkit-crash-${process.pid}.strace`);
  const r = spawnSync('strace', ['-f', '-o', log, '-e', `trace=${syscalls}`, process.execPath, iptkitBin(), ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const text = readFileSync(log, 'utf8');
  rmSync(log, { force: true });
  const names = syscalls.split(',');
  return text.split('\n').filter((l) => names.some((n) => new RegExp(`^\\d+\\s+${n}\\(`).test(l))).length;
}

/**
 * One turn of the event loop. The runs here are synchronous and a test makes dozens: without a
 * turn between them the worker misses vitest's own messages for over a minute, and vitest
 * fails the run ("Timeout calling onTaskUpdate").
 */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Which tables are wholly old, wholly new, or neither. */
function classify(now: Record<string, string>, old: Record<string, string>, next: Record<string, string>): Record<string, 'old' | 'new' | 'mixed'> {
  const r: Record<string, 'old' | 'new' | 'mixed'> = {};
  for (const t of TABLES) r[t] = now[t] === old[t] ? 'old' : now[t] === next[t] ? 'new' : 'mixed';
  return r;
}

describe.skipIf(!isRoot)('legacy: a multi-table commit killed at every replace', () => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    const fam = family === 'ipv6' ? ['-6'] : [];
    test(`${family}: every table wholly old or wholly new after recovery, at every kill point`, async () => {
      await withNetns(async (ns) => {
        // The states iptables-legacy-restore makes of the two inputs: the oracle.
        ns.ok(tool('legacy', family, 'restore'), [], input(family, 2));
        const next = tableLines(ns, 'legacy', family);
        ns.ok(tool('legacy', family, 'restore'), [], input(family, 1));
        const old = tableLines(ns, 'legacy', family);
        const restore = ['restore', '--backend', 'legacy', '--netns', ns.name, ...fam];
        const file = join(import.meta.dirname, '..', '..', 'dist', `crash-${ns.name}.rules`);
        (await import('node:fs')).writeFileSync(file, input(family, 2));
        try {
          const points = countSyscalls([...restore, file], 'setsockopt');
          expect(points).toBeGreaterThanOrEqual(TABLES.length); // a replace per table
          ns.ok(tool('legacy', family, 'restore'), [], input(family, 1));
          let mixedBefore = 0, mixedAfter = 0, runs = 0;
          for (let when = 1; when <= points; when++) {
            for (const recovery of ['recover', 'next operation'] as const) {
              await turn();
              ns.ok(tool('legacy', family, 'restore'), [], input(family, 1));
              const killed = cli([...restore, file], ['-e', 'trace=setsockopt', '-e', `inject=setsockopt:signal=KILL:when=${when}`]);
              expect(killed.status === null || killed.status === 137, `kill at setsockopt ${when}`).toBe(true);
              const before = classify(tableLines(ns, 'legacy', family), old, next);
              if (Object.values(before).includes('new') && Object.values(before).includes('old')) mixedBefore++;
              if (recovery === 'recover') {
                const r = cli(['recover', '--netns', ns.name, ...fam]);
                expect(r.status, r.stderr).toBe(0);
                expect(r.stdout).toMatch(/unfinished commit .*: (finished|rolled back)/);
              } else {
                const r = cli(['save', '--backend', 'legacy', '--netns', ns.name, ...fam]);
                expect(r.status, r.stderr).toBe(0);
              }
              const after = classify(tableLines(ns, 'legacy', family), old, next);
              const states = Object.values(after);
              expect(states, `kill at setsockopt ${when}, then ${recovery}`).not.toContain('mixed');
              if (states.includes('old') && states.includes('new')) mixedAfter++;
              // Nothing is left to recover.
              const again = cli(['recover', '--netns', ns.name, ...fam]);
              expect(again.stdout).toMatch(/no unfinished commit/);
              runs++;
            }
          }
          expect(runs).toBe(2 * points);
          expect(mixedBefore).toBeGreaterThan(0); // the faults did leave half-done commits
          expect(mixedAfter).toBe(0);
        } finally {
          (await import('node:fs')).rmSync(file, { force: true });
        }
      });
    }, 300_000);
  }

  test('a table another writer changed after the kill is left as it is and reported', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-legacy-restore', [], input('ipv4', 2));
      const next = tableLines(ns, 'legacy', 'ipv4');
      ns.ok('iptables-legacy-restore', [], input('ipv4', 1));
      const old = tableLines(ns, 'legacy', 'ipv4');
      const file = join(import.meta.dirname, '..', '..', 'dist', `crash-${ns.name}.rules`);
      (await import('node:fs')).writeFileSync(file, input('ipv4', 2));
      try {
        // Killed at the second table's replace (the second setsockopt): the first table the
        // commit replaced is new, the other two old. (The order is the commit's: the biggest
        // table last.)
        const killed = cli(['restore', '--backend', 'legacy', '--netns', ns.name, file], ['-e', 'trace=setsockopt', '-e', 'inject=setsockopt:signal=KILL:when=2']);
        expect(killed.status === null || killed.status === 137).toBe(true);
        const states = classify(tableLines(ns, 'legacy', 'ipv4'), old, next);
        const fresh = TABLES.filter((t) => states[t] === 'new');
        expect(fresh).toHaveLength(1);
        expect(TABLES.filter((t) => states[t] === 'old')).toHaveLength(2);
        const t = fresh[0]!;
        ns.ok('iptables-legacy', ['-w', '-t', t, '-A', 'OUTPUT', '-p', 'udp', '-m', 'udp', '--dport', '99', '-j', 'ACCEPT']);
        const changed = tableLines(ns, 'legacy', 'ipv4')[t];
        const r = cli(['recover', '--netns', ns.name, '-4']);
        expect(r.status).toBe(1);
        expect(r.stdout).toMatch(new RegExp(`${t}: changed, left: changed by another writer`));
        const after = tableLines(ns, 'legacy', 'ipv4');
        expect(after[t]).toBe(changed);
        expect(after[t]).toContain('--dport 99');
        for (const o of TABLES.filter((x) => x !== t)) expect(after[o]).toBe(old[o]);
        expect(cli(['recover', '--netns', ns.name, '-4']).stdout).toMatch(/no unfinished commit/);
      } finally {
        (await import('node:fs')).rmSync(file, { force: true });
      }
    });
  }, 60_000);
});

describe.skipIf(!isRoot)('nft: a commit killed at random points is one batch', () => {
  test('every table wholly old or wholly new', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], input('ipv4', 2));
      const next = tableLines(ns, 'nft', 'ipv4');
      ns.ok('iptables-nft-restore', [], input('ipv4', 1));
      const old = tableLines(ns, 'nft', 'ipv4');
      const file = join(import.meta.dirname, '..', '..', 'dist', `crash-${ns.name}.rules`);
      (await import('node:fs')).writeFileSync(file, input('ipv4', 2));
      try {
        const restore = ['restore', '--backend', 'nft', '--netns', ns.name, file];
        const points = countSyscalls(restore, 'sendmsg,sendto');
        expect(points).toBeGreaterThan(0);
        let seed = 20261206;
        const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const seen = { old: 0, new: 0 };
        for (let k = 0; k < 8; k++) {
          await turn();
          ns.ok('iptables-nft-restore', [], input('ipv4', 1));
          const when = 1 + Math.floor(random() * points);
          const killed = cli(restore, ['-e', 'trace=sendmsg,sendto', '-e', `inject=sendmsg,sendto:signal=KILL:when=${when}`]);
          expect(killed.status === null || killed.status === 137, `kill at send ${when}`).toBe(true);
          const states = Object.values(classify(tableLines(ns, 'nft', 'ipv4'), old, next));
          expect(states, `kill at send ${when}`).not.toContain('mixed');
          expect(new Set(states).size, `kill at send ${when}: one batch`).toBe(1);
          seen[states[0] as 'old' | 'new']++;
        }
        expect(seen.old + seen.new).toBe(8);
      } finally {
        (await import('node:fs')).rmSync(file, { force: true });
      }
    });
  }, 120_000);
});
