// `iptkit restore --test` prints the change as iptables commands: run with the real iptables
// on a twin namespace, they leave it as the restore leaves the first; nothing is committed by
// --test; exit 3 when something would change, 0 when nothing would.

import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { Netns, saveLines, withNetns } from '../helpers/netns.js';

const cli = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

function restore(argv: readonly string[], input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [cli, 'restore', ...argv], { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const before = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:OLD - [0:0]
:KEEP - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 10.0.0.1/32 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j OLD
-A OLD -j LOG
-A KEEP -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.19.0.0/16 -j MASQUERADE
COMMIT
`;

const after = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KEEP - [0:0]
:NEW - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j NEW
-A KEEP -j RETURN
-A NEW -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.19.0.0/16 -j MASQUERADE
COMMIT
`;

describe.each(['legacy', 'nft'] as const)('%s', (backend) => {
  const ipt = `iptables-${backend}`;
  const save = (ns: Netns): string[] => saveLines(ns.ok(`${ipt}-save`));

  test('restore --test commits nothing and prints commands that make the same change', () =>
    withNetns((ours) =>
      withNetns((twin) => {
        for (const ns of [ours, twin]) ns.ok(`${ipt}-restore`, [], before);
        const was = save(ours);

        const preview = restore(['--test', '--backend', backend, '--netns', ours.name], after);
        expect(preview.stderr).toBe('');
        expect(preview.status).toBe(3);
        expect(save(ours)).toEqual(was);
        expect(preview.stdout).toBe(
          [
            '*filter',
            '-N NEW',
            '-P INPUT DROP',
            '-D INPUT -s 10.0.0.1/32 -j DROP',
            '-D INPUT -j OLD',
            '-I INPUT 2 -p udp -m udp --dport 53 -j ACCEPT',
            '-A INPUT -j NEW',
            '-A NEW -j ACCEPT',
            '-F OLD',
            '-X OLD',
            '# INPUT: 2 rules kept',
            '# KEEP: 1 rule kept',
            'COMMIT',
            '',
          ].join('\n'),
        );

        // The printed commands, run with the real tool on the twin.
        let table = '';
        for (const line of preview.stdout.split('\n')) {
          if (line.startsWith('*')) table = line.slice(1);
          else if (line.startsWith('-')) twin.ok(ipt, ['-t', table, ...line.split(' ')]);
        }
        expect(restore(['--backend', backend, '--netns', ours.name], after).status).toBe(0);
        expect(save(twin)).toEqual(save(ours));

        const again = restore(['--test', '--backend', backend, '--netns', ours.name], after);
        expect(again).toEqual({ status: 0, stdout: '', stderr: '' });
      }),
    ));
});
