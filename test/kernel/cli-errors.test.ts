// The `iptkit` command as a user meets it, as a process (dist/), in throwaway namespaces:
// help commits nothing, an empty namespace lists like iptables -L, a closed pipe ends it like
// iptables-save, and a missing privilege is named.

import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { iptkitBin } from '../helpers/cli.js';
import { saveLines, withNetns } from '../helpers/netns.js';

function run(argv: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [iptkitBin(), ...argv], { input: input ?? '', encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(['legacy', 'nft'] as const)('%s', (backend) => {
  const save = `iptables-${backend}-save`;
  const tool = `iptables-${backend}`;

  test('restore --help prints the help and commits nothing from its input', () =>
    withNetns((ns) => {
      ns.ok(`iptables-${backend}-restore`, [], '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
      const before = saveLines(ns.ok(save));
      for (const help of ['--help', '-h']) {
        const r = run(['restore', help, '--backend', backend, '--netns', ns.name], '*filter\n:INPUT DROP [0:0]\nCOMMIT\n');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^usage: iptkit restore /);
      }
      expect(saveLines(ns.ok(save))).toEqual(before);
      expect(before).toContain(':INPUT ACCEPT [0:0]');
    }));

  test.each([[[]], [['-n']], [['-t', 'nat', '-n']], [['OUTPUT', '-n']]])('list %j of a fresh namespace prints the built-in chains as iptables -L does', (flags) =>
    withNetns((ns) => {
      const ours = run(['list', '--backend', backend, '--netns', ns.name, ...flags]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      const theirs = ns.run(tool, ['-L', ...flags]);
      expect(theirs.status).toBe(0);
      expect(ours.stdout).toBe(theirs.stdout);
    }));

  test('a closed pipe ends save quietly, with the status iptables-save gets', () =>
    withNetns((ns) => {
      // More than a pipe's buffer (64 KiB), so that the writer must meet the closed end.
      const rules = Array.from({ length: 4000 }, (_, i) => `-A INPUT -s 10.${i >> 8}.${i & 255}.1/32 -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`);
      ns.ok(`iptables-${backend}-restore`, [], `*filter\n:INPUT ACCEPT [0:0]\n${rules.join('\n')}\nCOMMIT\n`);
      const pipe = (cmd: string): { status: string; stderr: string } => {
        const r = spawnSync('bash', ['-c', `${cmd} 2>"$0" | true; echo "\${PIPESTATUS[0]}"; cat "$0" >&2; rm -f "$0"`, `/tmp/iptkit-epipe-${ns.name}`], { encoding: 'utf8' });
        return { status: r.stdout.trim(), stderr: r.stderr };
      };
      const theirs = pipe(`ip netns exec ${ns.name} ${save}`);
      const ours = pipe(`node ${iptkitBin()} save --backend ${backend} --netns ${ns.name}`);
      expect(theirs).toEqual({ status: '141', stderr: '' });
      expect(ours).toEqual(theirs);
    }));

  test('without CAP_NET_ADMIN the message names it, one line, exit 1', () =>
    withNetns((ns) => {
      ns.ok(`iptables-${backend}-restore`, [], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n');
      const before = saveLines(ns.ok(save));
      const input = '*filter\n:INPUT DROP [0:0]\nCOMMIT\n';
      for (const argv of [['list'], ['restore']]) {
        const r = ns.run('capsh', ['--drop=cap_net_admin', '--', '-c', `node ${iptkitBin()} ${argv.join(' ')} --backend ${backend}`], input);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^iptkit ${argv[0]}: .*\\(EPERM\\) — netfilter needs root or CAP_NET_ADMIN\\n$`));
      }
      expect(saveLines(ns.ok(save))).toEqual(before);
    }));

  test('entering a namespace without CAP_SYS_ADMIN names it', () =>
    withNetns((ns) => {
      const r = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--reuid=65534', '--regid=65534', '--clear-groups', 'node', iptkitBin(), 'save', '--backend', backend, '--netns', ns.name], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toBe(`iptkit save: cannot enter network namespace ${ns.path}: Operation not permitted (EPERM) — entering a network namespace needs root or CAP_SYS_ADMIN (and CAP_NET_ADMIN for netfilter)\n`);
    }));
});

test('a file that is a namespace but not a network namespace is refused by the kernel, named', async () => {
  const r = run(['list', '--backend', 'nft', '--netns', '/proc/self/ns/mnt']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^iptkit list: cannot enter network namespace \/proc\/self\/ns\/mnt: Invalid argument \(EINVAL\) \(not a network namespace\)\n$/);
});

test('docker doctor exits 1 on errors only; --fail-on warning on any finding', () =>
  withNetns((ns) => {
    const state = new URL('../../fixtures/seed-docker-host.json', import.meta.url).pathname;
    const common = ['--backend', 'nft', '--netns', ns.name];
    expect(run(['docker', 'apply', ...common, state]).status).toBe(0);
    // The state's bridges do not exist in this namespace: warnings, no error.
    const warned = run(['docker', 'doctor', ...common, '--json']);
    const findings = (JSON.parse(warned.stdout) as { findings: Array<{ severity: string; code: string }> }).findings;
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.severity === 'warning' && f.code === 'unknown-bridge')).toBe(true);
    expect(warned.status).toBe(0);
    expect(run(['docker', 'doctor', ...common, '--fail-on', 'error']).status).toBe(0);
    expect(run(['docker', 'doctor', ...common, '--fail-on', 'warning']).status).toBe(1);
    // An error fails either way.
    ns.ok('iptables-nft', ['-t', 'nat', '-F', 'DOCKER']);
    ns.ok('iptables-nft', ['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
    ns.ok('iptables-nft', ['-t', 'nat', '-D', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
    ns.ok('iptables-nft', ['-t', 'nat', '-X', 'DOCKER']);
    expect(run(['docker', 'doctor', ...common]).status).toBe(1);
  }));
