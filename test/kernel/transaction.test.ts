// The transaction loop against a writer that gets in between the read and the commit: the
// commit is re-planned on a fresh read (no lost update), and after too many tries the error
// is a typed ConflictError. Also: a rule written by `nft` directly survives a full restore.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { Netfilter } from '../../src/netfilter.js';
import { saveLines, withNetns } from '../helpers/netns.js';

describe.each(['legacy', 'nft'] as const)('%s: a writer between read and commit', (backend) => {
  const cmd = `iptables-${backend}`;
  const save = `iptables-${backend}-save`;
  // The legacy writer must bypass the xtables lock iptkit holds (as a tool that ignores the
  // lock would): give it a lock file of its own. nft needs no lock at all.
  const env = backend === 'legacy' ? ['env', `XTABLES_LOCKFILE=${join(tmpdir(), 'iptkit-other-writer.lock')}`] : ['env'];

  test('the commit is re-planned on a fresh read and loses nothing', () =>
    withNetns(async (ns) => {
      ns.ok(cmd, ['-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT']);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      let calls = 0;
      const result = await nf.transaction(['filter'], ([filter]) => {
        calls++;
        // Another writer changes the chain after iptkit read it (only on the first try).
        if (calls === 1) ns.ok(env[0]!, [...env.slice(1), cmd, '-A', 'INPUT', '-s', '10.0.0.2', '-j', 'ACCEPT']);
        // Rules are text; iptkit writes this one as iptables-save prints it (`/32`).
        filter!.chains.find((c) => c.name === 'INPUT')!.rules.push('-s 10.0.0.3 -j DROP');
      });
      expect(calls).toBe(2);
      expect(result.attempts).toBe(2);
      expect(saveLines(ns.ok(save)).filter((l) => l.startsWith('-A'))).toEqual([
        '-A INPUT -s 10.0.0.1/32 -j ACCEPT',
        '-A INPUT -s 10.0.0.2/32 -j ACCEPT',
        '-A INPUT -s 10.0.0.3/32 -j DROP',
      ]);
    }));

  test('after too many conflicts the error is a typed ConflictError and nothing is committed', () =>
    withNetns(async (ns) => {
      ns.ok(cmd, ['-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT']);
      const nf = await Netfilter.open({ backend, netns: ns.name, maxRetries: 1 });
      let n = 0;
      const p = nf.transaction(['filter'], ([filter]) => {
        n++;
        ns.ok(env[0]!, [...env.slice(1), cmd, '-A', 'INPUT', '-s', `10.0.1.${n}`, '-j', 'ACCEPT']);
        filter!.chains.find((c) => c.name === 'INPUT')!.rules.push('-s 10.0.0.3/32 -j DROP');
      });
      await expect(p).rejects.toBeInstanceOf(ConflictError);
      await expect(p).rejects.toMatchObject({ op: 'commit', backend });
      expect(saveLines(ns.ok(save)).filter((l) => l.startsWith('-A'))).toEqual([
        '-A INPUT -s 10.0.0.1/32 -j ACCEPT',
        '-A INPUT -s 10.0.1.1/32 -j ACCEPT',
        '-A INPUT -s 10.0.1.2/32 -j ACCEPT',
      ]);
    }));
});

describe.each(['legacy', 'nft'] as const)('%s: rules in a transaction are text', (backend) => {
  test('a rule written another way than iptables-save prints it keeps its place and counters', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], '*filter\n:INPUT ACCEPT [0:0]\n[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n');
      const nf = await Netfilter.open({ backend, netns: ns.name });
      const r = await nf.transaction(['filter'], ([filter]) => {
        const input = filter!.chains.find((c) => c.name === 'INPUT')!;
        input.rules = ['-p tcp --dport 22 -j ACCEPT', '-s 10.0.0.3 -j DROP'];
      });
      expect(r).toMatchObject({ kept: 1, added: 1, deleted: 0 });
      expect(saveLines(ns.ok(`iptables-${backend}-save`, ['-c'])).filter((l) => l.includes('-A'))).toEqual([
        '[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
        '[0:0] -A INPUT -s 10.0.0.3/32 -j DROP',
      ]);
    }));

  test('a rule that does not parse is a ParseError naming it, and nothing is committed', () =>
    withNetns(async (ns) => {
      const nf = await Netfilter.open({ backend, netns: ns.name });
      const p = nf.transaction(['filter'], ([filter]) => {
        filter!.chains.find((c) => c.name === 'INPUT')!.rules.push('-j ACCEPT', '-p tcp --dport 99999 -j DROP');
      });
      await expect(p).rejects.toThrow(/rule 2: .*99999/);
      expect(saveLines(ns.ok(`iptables-${backend}-save`)).filter((l) => l.startsWith('-A'))).toEqual([]);
    }));
});

describe('nft: rules written by nft directly', () => {
  test('survive a full iptkit restore of their chain, in place', () =>
    withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], '*filter\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A INPUT -s 10.0.0.2/32 -j ACCEPT\nCOMMIT\n');
      ns.ok('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'ct', 'state', 'established', 'counter', 'accept']);
      const before = ns.ok('nft', ['list', 'chain', 'ip', 'filter', 'INPUT']);
      expect(before).toContain('ct state established');
      const text = '*filter\n-A INPUT -s 10.0.0.9/32 -j DROP\nCOMMIT\n';
      const nf = await Netfilter.open({ backend: 'nft', netns: ns.name });
      await nf.restore(text);
      const after = ns.ok('nft', ['list', 'chain', 'ip', 'filter', 'INPUT']);
      expect(after).toContain('ct state established counter');
      expect(after).toContain('ip saddr 10.0.0.9 counter packets 0 bytes 0 drop');
      expect(after).not.toContain('10.0.0.1');
      // iptables-nft-save refuses the table ("incompatible"); iptkit prints the iptables rules
      // and says where the foreign one is, in a comment restore skips.
      const saved = await nf.save({ tables: ['filter'] });
      const lines = saveLines(saved).filter((l) => l.includes('INPUT') && !l.startsWith(':'));
      expect(lines).toEqual(['-A INPUT -s 10.0.0.9/32 -j DROP']);
      expect(saved).toMatch(/^# foreign rule in INPUT, kept as it is: .*ct load state/m);
    }));
});
