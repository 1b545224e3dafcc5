// The transaction loop against a writer that gets in between the read and the commit: the
// commit is re-planned on a fresh read (no lost update), and after too many tries the error
// is a typed ConflictError. Also: a rule written by `nft` directly survives a full restore.

import { describe, expect, test } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { Netfilter } from '../../src/netfilter.js';
import type { Rule } from '../../src/rules/model.js';
import { parseRuleArgs } from '../../src/rules/args.js';
import { saveLines, withNetns } from '../helpers/netns.js';

const rule = (args: string): Rule => parseRuleArgs(args.split(' '), 'ipv4').rule;

describe.each(['legacy', 'nft'] as const)('%s: a writer between read and commit', (backend) => {
  const cmd = `iptables-${backend}`;
  const save = `iptables-${backend}-save`;
  // The legacy writer must bypass the xtables lock iptkit holds (as a tool that ignores the
  // lock would): give it a lock file of its own. nft needs no lock at all.
  const env = backend === 'legacy' ? ['env', 'XTABLES_LOCKFILE=/tmp/iptkit-other-writer.lock'] : ['env'];

  test('the commit is re-planned on a fresh read and loses nothing', () =>
    withNetns(async (ns) => {
      ns.ok(cmd, ['-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT']);
      const nf = await Netfilter.open({ backend, netns: ns.name });
      let calls = 0;
      const result = await nf.transaction(['filter'], ([filter]) => {
        calls++;
        // Another writer changes the chain after iptkit read it (only on the first try).
        if (calls === 1) ns.ok(env[0]!, [...env.slice(1), cmd, '-A', 'INPUT', '-s', '10.0.0.2', '-j', 'ACCEPT']);
        filter!.chains.find((c) => c.name === 'INPUT')!.rules.push(rule('-s 10.0.0.3/32 -j DROP'));
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
        filter!.chains.find((c) => c.name === 'INPUT')!.rules.push(rule('-s 10.0.0.3/32 -j DROP'));
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
      const saved = await nf.read(['filter']);
      const { printSave } = await import('../../src/rules/save.js');
      const lines = saveLines(printSave(saved)).filter((l) => l.includes('INPUT') && !l.startsWith(':'));
      expect(lines).toEqual(['-A INPUT -s 10.0.0.9/32 -j DROP']);
      expect(printSave(saved)).toMatch(/^# foreign rule in INPUT, kept as it is: .*ct load state/m);
    }));
});
