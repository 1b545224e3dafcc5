// `iptkit restore --test`, `iptkit diff` and `iptkit docker apply --test` print the change as
// iptables commands: run with the real iptables on a twin namespace, they leave it as the
// restore (apply) leaves the first; nothing is committed; exit 3 when something would change,
// 0 when nothing would; diff is restore --test.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { iptkit, iptkitBin } from '../helpers/cli.js';
import { Netns, saveLines, withNetns } from '../helpers/netns.js';

function restore(argv: readonly string[], input: string, command = 'restore'): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [iptkitBin(), command, ...argv], { input, encoding: 'utf8' });
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
        expect(restore(['--backend', backend, '--netns', ours.name], after, 'diff')).toEqual(preview);
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
        expect(restore(['--backend', backend, '--netns', ours.name, '-'], after, 'diff')).toEqual(again);
      }),
    ));

  test('docker apply --test prints commands that make the change apply makes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'iptkit-preview-'));
    const seed = JSON.parse(readFileSync(new URL('../../fixtures/seed-docker-host.json', import.meta.url), 'utf8')) as {
      layout: string;
      ports: Array<Record<string, unknown>>;
    };
    // From an empty host to the seed (with Docker's IPv6 skeleton), then to Docker 29's layout
    // with a port gone and one added: chains made, rules inserted, jumps and chains deleted.
    const states = [
      { ...seed, ip6tables: true },
      { ...seed, ip6tables: true, layout: 'v29', ports: [...seed.ports.slice(1), { ...seed.ports[0], hostPort: 18080 }] },
    ];
    const tables = (ns: Netns, family: 'ipv4' | 'ipv6'): string[] => {
      const text = ns.ok(`${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-save`);
      // Without counters; a table with nothing in it (iptables has no command that makes or
      // removes a table) left out.
      return text
        .split(/^(?=\*)/m)
        .map((t) => saveLines(t).map((l) => l.replace(/ \[\d+:\d+\]$/, '')))
        .filter((t) => t.some((l) => l.startsWith('-A ') || (l.startsWith(':') && !l.endsWith(' ACCEPT'))))
        .flat();
    };
    await withNetns((ours) =>
      withNetns(async (twin) => {
        const common = ['--backend', backend, '--netns', ours.name];
        for (const [i, state] of states.entries()) {
          const stateFile = join(tmp, `state-${i}.json`);
          writeFileSync(stateFile, JSON.stringify(state));
          const preview = await iptkit('docker', 'apply', '--test', ...common, stateFile);
          expect(preview.stderr).toBe('');
          expect(preview.code).toBe(3);
          expect(preview.stdout).toMatch(/^# ipv4\n\*/);
          expect(preview.stdout).toMatch(/^# ipv6$/m);
          let family = 'ipv4';
          let table = '';
          for (const line of preview.stdout.split('\n')) {
            if (line === '# ipv4' || line === '# ipv6') family = line.slice(2);
            else if (line.startsWith('*')) table = line.slice(1);
            else if (line.startsWith('-')) twin.ok(`${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}`, ['-t', table, ...line.split(' ')]);
          }
          const applied = await iptkit('docker', 'apply', ...common, stateFile);
          expect(applied.code, applied.stderr).toBe(0);
          for (const family of ['ipv4', 'ipv6'] as const) expect(tables(twin, family)).toEqual(tables(ours, family));
          expect(await iptkit('docker', 'apply', '--test', ...common, stateFile)).toEqual({ code: 0, stdout: '', stderr: '' });
        }
      }, 'iptkit-docker'),
    );
  });
});
