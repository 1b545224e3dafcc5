// Docker's filter FORWARD policy DROP on a live kernel, both back ends, both families, in
// throwaway namespaces: `docker apply` sets it (moby's iptabler FilterForwardDrop) without
// touching FORWARD's rules or counters, `docker state` reads it back, doctor reports it gone,
// repair puts it back, and ipForwardNoDrop leaves the policy alone. Checked with iptables-save.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { validateState, type DockerState } from '../../src/docker/state.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker-fwpolicy-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');
function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

const BACKENDS = [
  { backend: 'legacy', tools: { ipv4: 'iptables-legacy', ipv6: 'ip6tables-legacy' } },
  { backend: 'nft', tools: { ipv4: 'iptables-nft', ipv6: 'ip6tables-nft' } },
] as const;
const FAMILIES = ['ipv4', 'ipv6'] as const;

const net = { name: 'app', bridge: 'br-fwpolicy', subnet: '172.19.0.0/16', subnet6: 'fd00:19::/64' };
const ports = [
  { network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.19.0.2', containerPort: 80 },
  { network: 'app', proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00:19::2', containerPort: 80 },
];
const dropping: DockerState = validateState({ layout: 'v29', networks: [net], ports });
const leaving: DockerState = validateState({ layout: 'v29', ipForwardNoDrop: true, networks: [net], ports });
const hints = { networks: [{ bridge: net.bridge, name: net.name }] };

// A host's own FORWARD rule and counters, there before Docker: the policy's and the rule's.
const FOREIGN = { ipv4: '-A FORWARD -s 10.9.0.0/24 -j ACCEPT', ipv6: '-A FORWARD -s fd00:9::/64 -j ACCEPT' };
function seedForward(ns: Netns, tool: string, family: 'ipv4' | 'ipv6'): void {
  ns.ok(`${tool}-restore`, ['-c'], `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [5:500]\n:OUTPUT ACCEPT [0:0]\n[3:300] ${FOREIGN[family]}\nCOMMIT\n`);
}

/** FORWARD as `iptables-save -c` shows it: its policy line and its rules with counters. */
function forwardOf(ns: Netns, tool: string): string[] {
  return saveLines(ns.ok(`${tool}-save`, ['-c', '-t', 'filter'])).filter((l) => l.startsWith(':FORWARD ') || / -A FORWARD /.test(` ${l}`));
}

/**
 * FORWARD now holds `before`'s rules with their counters, and its policy is `policy` with
 * `before`'s policy counters. (The counters are the tools': ip6tables-nft-restore -c 1.8.9
 * gives its rules none, and iptables-legacy -P zeroes the policy's.)
 */
function expectKept(now: string[], before: string[], policy: string, what: string): void {
  expect(now[0], what).toBe(before[0]!.replace(/^:FORWARD \S+/, `:FORWARD ${policy}`));
  expect(now, what).toEqual(expect.arrayContaining(before.slice(1)));
}

describe.skipIf(!isRoot).each(BACKENDS)("Docker's FORWARD policy, $backend back end", (b) => {
  const common = (ns: Netns) => ['--backend', b.backend, '--netns', ns.name];

  test('apply sets DROP in both families, keeping FORWARD\'s rules and counters; state reads it back; doctor and repair', () =>
    withNetns(async (ns) => {
      ns.ok('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
      for (const f of FAMILIES) seedForward(ns, b.tools[f], f);
      const seeded = { ipv4: forwardOf(ns, b.tools.ipv4), ipv6: forwardOf(ns, b.tools.ipv6) };
      expect(seeded.ipv4).toEqual([':FORWARD ACCEPT [5:500]', `[3:300] ${FOREIGN.ipv4}`]);
      const stateFile = file(`drop-${b.backend}.json`, dropping);
      const preview = await iptkit('docker', 'apply', ...common(ns), stateFile, '--test');
      expect(preview.code, preview.stderr).toBe(3);
      expect(preview.stdout).toMatch(/^-P FORWARD DROP$/m);
      const applied = await iptkit('docker', 'apply', ...common(ns), stateFile);
      expect(applied.code, applied.stderr).toBe(0);
      for (const f of FAMILIES) {
        const forward = forwardOf(ns, b.tools[f]);
        expectKept(forward, seeded[f], 'DROP', f);
        expect(forward, f).toContain('[0:0] -A FORWARD -j DOCKER-FORWARD');
      }
      const read = await iptkit('docker', 'state', ...common(ns), '--hints', file(`hints-${b.backend}.json`, hints));
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(dropping);
      expect((await iptkit('docker', 'doctor', ...common(ns), stateFile)).stdout).toBe('no problems found\n');

      // Someone sets IPv6's back to ACCEPT: a warning, in that family only.
      ns.ok(b.tools.ipv6, ['-P', 'FORWARD', 'ACCEPT']);
      const sickForward = { ipv4: forwardOf(ns, b.tools.ipv4), ipv6: forwardOf(ns, b.tools.ipv6) };
      const sick = await iptkit('docker', 'doctor', ...common(ns), stateFile, '--json');
      expect(sick.code, sick.stderr).toBe(0);
      const report = JSON.parse(sick.stdout) as { findings: Array<Record<string, unknown>> };
      expect(report.findings).toEqual([expect.objectContaining({ severity: 'warning', code: 'differs-from-state', family: 'ipv6', table: 'filter', chain: 'FORWARD' })]);
      expect((await iptkit('docker', 'doctor', ...common(ns), stateFile, '--fail-on', 'warning')).code).toBe(1);

      const repaired = await iptkit('docker', 'repair', ...common(ns), stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      for (const f of FAMILIES) expectKept(forwardOf(ns, b.tools[f]), sickForward[f], 'DROP', f);
      // Applying again changes nothing.
      const again = await iptkit('docker', 'apply', ...common(ns), stateFile, '--test');
      expect(again.code, again.stdout + again.stderr).toBe(0);
    }, 'iptkit-docker'));

  test('ipForwardNoDrop: the policy is left as found, and the host reads back with it', () =>
    withNetns(async (ns) => {
      ns.ok('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
      for (const f of FAMILIES) seedForward(ns, b.tools[f], f);
      const stateFile = file(`nodrop-${b.backend}.json`, leaving);
      const applied = await iptkit('docker', 'apply', ...common(ns), stateFile);
      expect(applied.code, applied.stderr).toBe(0);
      for (const f of FAMILIES) expect(forwardOf(ns, b.tools[f])[0], f).toBe(':FORWARD ACCEPT [5:500]');
      expect(forwardOf(ns, b.tools.ipv4)).toContain(`[3:300] ${FOREIGN.ipv4}`);
      const read = await iptkit('docker', 'state', ...common(ns), '--hints', file(`hints-nodrop-${b.backend}.json`, hints));
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(leaving);
      expect((await iptkit('docker', 'doctor', ...common(ns), stateFile)).stdout).toBe('no problems found\n');
      // An admin's DROP is no drift either: Docker with ip-forward-no-drop does not care; the
      // record of the applied state keeps the option the policy no longer shows.
      ns.ok(b.tools.ipv4, ['-P', 'FORWARD', 'DROP']);
      ns.ok(b.tools.ipv6, ['-P', 'FORWARD', 'DROP']);
      expect((await iptkit('docker', 'doctor', ...common(ns), stateFile)).stdout).toBe('no problems found\n');
      const again = await iptkit('docker', 'state', ...common(ns), '--hints', file(`hints-nodrop-${b.backend}.json`, hints));
      expect(JSON.parse(again.stdout)).toEqual(leaving);
    }, 'iptkit-docker'));
});
