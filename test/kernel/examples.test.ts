// examples/*.mjs run as a user runs them (node, importing the package by its name, which
// resolves to the built dist/), each in a throwaway namespace on both back ends; what they did
// is read back with the real iptables-save, and held to the same change made by the real tools
// where there is one. They also type-check against the package's declarations.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { iptkit } from '../helpers/cli.js';
import { userEnv } from '../helpers/user-env.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const repo = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'iptkit-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// A private xtables lock: the namespaces are this file's own, so nothing else need wait on it.
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs examples/NAME with the namespace and back end in its environment. */
function example(name: string, ns: Netns, backend: string, args: readonly string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repo, 'examples', name), ...args],
      { cwd: tmp, env: userEnv({ IPTKIT_NETNS: ns.name, IPTKIT_BACKEND: backend }), maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

const BACKENDS = [
  { backend: 'legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore', cmd: 'iptables-legacy' },
  { backend: 'nft', save: 'iptables-nft-save', restore: 'iptables-nft-restore', cmd: 'iptables-nft' },
] as const;

const built = existsSync(join(repo, 'dist/src/index.js'));

test("the examples type-check against the package's declarations (examples/tsconfig.json)", async () => {
  expect(built).toBe(true);
  const r = await new Promise<Run>((resolve) =>
    execFile('npx', ['--no-install', 'tsc', '-p', 'examples'], { cwd: repo, env: userEnv() }, (e, stdout, stderr) => resolve({ code: e ? (e.code as number) : 0, stdout, stderr })),
  );
  expect(r.stdout + r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe.skipIf(!isRoot)('examples', () => {
  test('the examples find the package by its name (npm run build made dist/)', () => {
    expect(built).toBe(true);
  });

  test.each(BACKENDS)('an example without IPTKIT_NETNS refuses to run ($backend)', async ({ backend }) => {
    for (const name of ['orchestrator.mjs', 'bulk-publish.mjs', 'drift-repair.mjs', 'read-counters.mjs']) {
      const r = await new Promise<Run>((resolve) => {
        const env = userEnv({ IPTKIT_BACKEND: backend });
        delete env['IPTKIT_NETNS'];
        execFile(process.execPath, [join(repo, 'examples', name)], { env }, (e, stdout, stderr) => resolve({ code: e ? (e.code as number) : 0, stdout, stderr }));
      });
      expect(r.code, name).toBe(2);
      expect(r.stderr).toMatch(/set IPTKIT_NETNS/);
    }
  });

  describe.each(BACKENDS)('$backend', ({ backend, save, restore, cmd }) => {
    test('orchestrator: its chain and jump as iptables would make them; foreign rules and counters kept; idempotent; --remove', async () => {
      const foreign = '*filter\n:INPUT ACCEPT [0:0]\n[5:300] -A INPUT -s 203.0.113.0/24 -j DROP\nCOMMIT\n';
      await withNetns(async (ns) => {
        await withNetns(async (ref) => {
          for (const n of [ns, ref]) n.ok(restore, ['-c'], foreign);
          const before = saveLines(ns.ok(save, ['-t', 'filter']));
          // The same change made with the real tool.
          ref.ok(cmd, ['-N', 'MYORCH-INPUT']);
          ref.ok(cmd, ['-A', 'MYORCH-INPUT', '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', 'myorch', '-j', 'ACCEPT']);
          ref.ok(cmd, ['-A', 'MYORCH-INPUT', '-p', 'udp', '--dport', '53', '-m', 'comment', '--comment', 'myorch', '-j', 'ACCEPT']);
          ref.ok(cmd, ['-I', 'INPUT', '-m', 'comment', '--comment', 'myorch', '-j', 'MYORCH-INPUT']);

          const first = await example('orchestrator.mjs', ns, backend, ['tcp/80', 'udp/53']);
          expect(first, first.stderr).toMatchObject({ code: 0, stderr: '' });
          expect(first.stdout).toMatch(new RegExp(`^${backend}: changed filter: \\+3 -0 rules, 1 kept$`, 'm'));
          const after = ns.ok(save, ['-c', '-t', 'filter']);
          expect(saveLines(after)).toEqual(saveLines(ref.ok(save, ['-c', '-t', 'filter'])));
          expect(after).toContain('[5:300] -A INPUT -s 203.0.113.0/24 -j DROP');

          const again = await example('orchestrator.mjs', ns, backend, ['tcp/80', 'udp/53']);
          expect(again.stdout).toMatch(new RegExp(`^${backend}: nothing changed: \\+0 -0 rules, 4 kept$`, 'm'));
          expect(saveLines(ns.ok(save, ['-c', '-t', 'filter']))).toEqual(saveLines(after));

          const removed = await example('orchestrator.mjs', ns, backend, ['--remove']);
          expect(removed.code).toBe(0);
          expect(saveLines(ns.ok(save, ['-t', 'filter']))).toEqual(before);
          expect(ns.ok(save, ['-c', '-t', 'filter'])).toContain('[5:300] -A INPUT -s 203.0.113.0/24 -j DROP');
        });
      });
    });

    test('bulk-publish: every port DNATed and accepted in one publish; a second run changes nothing', async () => {
      await withNetns(async (ns) => {
        ns.ok('ip', ['link', 'add', 'br-media', 'type', 'bridge']);
        const count = 300;
        const first = 30000;
        const r = await example('bulk-publish.mjs', ns, backend, [String(count), String(first)]);
        expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`^published ${count} ports \\(0 already were\\) on ${backend}`, 'm'));
        const nat = saveLines(ns.ok(save, ['-t', 'nat']));
        const filter = saveLines(ns.ok(save, ['-t', 'filter']));
        for (let p = first; p < first + count; p++) {
          expect(nat).toContain(`-A DOCKER ! -i br-media -p udp -m udp --dport ${p} -j DNAT --to-destination 172.30.0.2:${p}`);
          expect(filter).toContain(`-A DOCKER -d 172.30.0.2/32 ! -i br-media -o br-media -p udp -m udp --dport ${p} -j ACCEPT`);
        }
        expect(nat.filter((l) => l.includes('-j DNAT'))).toHaveLength(count);
        expect(nat).toContain('-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER');

        const again = await example('bulk-publish.mjs', ns, backend, [String(count), String(first)]);
        expect(again.stdout).toMatch(new RegExp(`^published 0 ports \\(${count} already were\\)`, 'm'));
        expect(saveLines(ns.ok(save, ['-t', 'nat']))).toEqual(nat);
        expect(saveLines(ns.ok(save, ['-t', 'filter']))).toEqual(filter);
      });
    });

    test('drift-repair: a flushed DOCKER chain and a deleted jump are put back, foreign rules kept', async () => {
      await withNetns(async (ns) => {
        ns.ok('ip', ['link', 'add', 'br-media', 'type', 'bridge']);
        const state = {
          layout: 'v29',
          networks: [{ name: 'media', bridge: 'br-media', subnet: '172.30.0.0/16', icc: true, masquerade: true, internal: false }],
          ports: [{ network: 'media', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.30.0.2', containerPort: 80 }],
        };
        const file = join(tmp, `state-${backend}.json`);
        writeFileSync(file, JSON.stringify(state));
        // The host as dockerd left it.
        const made = await iptkit('docker', 'apply', file, '--netns', ns.name, '--backend', backend);
        expect(made, made.stderr).toMatchObject({ code: 0, stderr: '' });
        const good = { nat: saveLines(ns.ok(save, ['-t', 'nat'])), filter: saveLines(ns.ok(save, ['-t', 'filter'])) };
        expect(good.nat).toContain('-A DOCKER ! -i br-media -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80');

        // Drift, made with the real tool: what a firewall reload does to Docker's nat rules.
        ns.ok(cmd, ['-t', 'nat', '-F', 'DOCKER']);
        ns.ok(cmd, ['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
        ns.ok(cmd, ['-I', 'FORWARD', '-s', '198.51.100.0/24', '-j', 'DROP']);
        const fixed = await example('drift-repair.mjs', ns, backend, [file]);
        expect(fixed, fixed.stderr).toMatchObject({ code: 0, stderr: '' });
        expect(fixed.stdout).toMatch(/error missing-jump \[ipv4 nat PREROUTING\]/);
        expect(fixed.stdout).toMatch(/^after: no problems found$/m);
        expect(saveLines(ns.ok(save, ['-t', 'nat']))).toEqual(good.nat);
        const filter = saveLines(ns.ok(save, ['-t', 'filter']));
        expect(filter).toContain('-A FORWARD -s 198.51.100.0/24 -j DROP');
        expect(filter.filter((l) => l !== '-A FORWARD -s 198.51.100.0/24 -j DROP')).toEqual(good.filter);

        const clean = await example('drift-repair.mjs', ns, backend, [file]);
        expect(clean).toMatchObject({ code: 0, stdout: 'doctor: no problems found\n' });
      });
    });

    test('read-counters: every rule with the counters iptables-save -c gives, busiest first', async () => {
      await withNetns(async (ns) => {
        ns.ok(
          restore,
          ['-c'],
          '*filter\n:INPUT ACCEPT [0:0]\n:SSH - [0:0]\n[7:420] -A INPUT -p tcp -m tcp --dport 22 -j SSH\n[123:98765] -A INPUT -i lo -j ACCEPT\n' +
            '[2:120] -A SSH -s 192.0.2.0/24 -j ACCEPT\nCOMMIT\n' +
            '*nat\n:POSTROUTING ACCEPT [0:0]\n[40:2400] -A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n',
        );
        const r = await example('read-counters.mjs', ns, backend);
        expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
        const rows = r.stdout.trimEnd().split('\n');
        // The oracle: iptables-save -c of every table, as PACKETS BYTES TABLE CHAIN RULE.
        const expected: { line: string; bytes: bigint }[] = [];
        let table = '';
        for (const l of ns.ok(save, ['-c']).split('\n')) {
          if (l.startsWith('*')) table = l.slice(1);
          const m = /^\[(\d+):(\d+)\] -A (\S+) (.*)$/.exec(l);
          if (m) expected.push({ line: `${m[1]}\t${m[2]}\t${table}\t${m[3]}\t${m[4]}`, bytes: BigInt(m[2]!) });
        }
        expect(expected).toHaveLength(4);
        expect([...rows].sort()).toEqual(expected.map((e) => e.line).sort());
        expect(rows.map((l) => BigInt(l.split('\t')[1]!))).toEqual(expected.map((e) => e.bytes).sort((a, b) => (b > a ? 1 : b < a ? -1 : 0)));

        const nat = await example('read-counters.mjs', ns, backend, ['nat']);
        expect(nat.stdout).toBe('40\t2400\tnat\tPOSTROUTING\t-s 10.0.0.0/8 -j MASQUERADE\n');
      });
    });
  });
});
