// Docker 28.0.0 hosts (layout v28.0) on a live kernel, both back ends, in throwaway namespaces:
// apply makes the ipsets docker-ext-bridges-v4/-v6 (hash:net, the non-internal networks'
// subnets) before committing the FORWARD rules that name them; iptables-save and ip6tables-save
// then show exactly the rules test/unit/docker-v280.test.ts pins from moby v28.0.0's code, and
// `ipset save` the sets; a second apply changes nothing. The host then reads back (`docker
// state`) as the state that made it, `docker doctor` finds nothing, and repair brings back what
// 28.0.0 has and removes what later Dockers add (DOCKER-FORWARD and its chains). publish and
// unpublish change only their ports' rules and leave the tables as apply of the state they
// lead to would (a twin namespace is the oracle).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { validateState } from '../../src/docker/state.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns, type Netns } from '../helpers/netns.js';
import { BACKENDS, mixedState, publishMatchesApply, tablesOf } from '../helpers/docker-per-port.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker280-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

const mixed = mixedState('v28.0');

/** `ipset save` of the namespace, without the per-set random initval, sorted (hash order). */
function ipsetSave(ns: Netns): string[] {
  return saveLines(ns.ok('ipset', ['save']))
    .map((l) => l.replace(/ initval 0x[0-9a-f]+/, ''))
    .sort();
}

// The internal network's 172.19.0.0/16 is not a member.
const EXPECTED_SETS = [
  'create docker-ext-bridges-v4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12',
  'add docker-ext-bridges-v4 172.17.0.0/16',
  'add docker-ext-bridges-v4 172.18.0.0/16',
  'add docker-ext-bridges-v4 172.20.0.0/16',
  'create docker-ext-bridges-v6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12',
  'add docker-ext-bridges-v6 fd00:18::/64',
].sort();

describe.skipIf(!isRoot).each(BACKENDS)('layout v28.0 on a live kernel, $backend back end', (b) => {
  test('apply: the ipsets, then exactly the rules of the model; again: nothing changes', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const first = await host.apply(mixed);
      expect(first.ipv4?.changed.length).toBeGreaterThan(0);
      expect(first.ipv6?.changed.length).toBeGreaterThan(0);

      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
      expect(kernel).toContain('ipv4 -A FORWARD -m set --match-set docker-ext-bridges-v4 dst -j DOCKER');
      expect(kernel).toContain('ipv6 -A FORWARD -m set --match-set docker-ext-bridges-v6 dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
      expect(ipsetSave(ns)).toEqual(EXPECTED_SETS);
      // iptables itself finds the rule that names the set (-C parses and compares it).
      ns.ok(b.cmd, ['-C', 'FORWARD', '-m', 'set', '--match-set', 'docker-ext-bridges-v4', 'dst', '-j', 'DOCKER']);

      // A new DockerHost (a new process's apply): nothing to commit, the sets as they were.
      const again = await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply(mixed);
      expect(again.ipv4?.changed).toEqual([]);
      expect(again.ipv6?.changed).toEqual([]);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(kernel);
      expect(ipsetSave(ns)).toEqual(EXPECTED_SETS);

      // A set emptied behind iptkit's back (the rules untouched): the next apply fills it again.
      ns.ok('ipset', ['flush', 'docker-ext-bridges-v4']);
      const refill = await host.apply(mixed);
      expect(refill.ipv4?.changed).toEqual([]);
      expect(ipsetSave(ns)).toEqual(EXPECTED_SETS);
    }, 'iptkit-docker'));

  test('a network removed: its subnet leaves the set, its rules go; the ipset-less layouts keep no set rule', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      await host.apply(mixed);
      const fewer = validateState({ ...mixed, networks: mixed.networks.filter((n) => n.name !== 'edge'), ports: mixed.ports.filter((p) => p.network !== 'edge') });
      await host.apply(fewer);
      const { kernel, model } = tablesOf(ns, b, fewer);
      expect(kernel).toEqual(model);
      expect(ipsetSave(ns)).toEqual(EXPECTED_SETS.filter((l) => !l.includes('172.20.')));
      // Docker 28.0.1+ has no ipset rule: a v28 state on the same host removes them.
      await host.apply({ ...fewer, layout: 'v28' });
      const v28 = tablesOf(ns, b, { ...fewer, layout: 'v28' });
      // DOCKER-USER is the user's: its RETURN from 28.0.0 stays, as dockerd leaves it.
      const user = (l: string): boolean => / -A DOCKER-USER /.test(l);
      expect(v28.kernel.filter((l) => !user(l))).toEqual(v28.model);
      expect(v28.kernel.filter(user)).toEqual(['ipv4 -A DOCKER-USER -j RETURN', 'ipv6 -A DOCKER-USER -j RETURN']);
      expect(v28.kernel.join('\n')).not.toContain('match-set');
    }, 'iptkit-docker'));

  test('docker state reads the state back, doctor finds nothing, repair keeps to what 28.0.0 has', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const common = ['--backend', b.backend, '--netns', ns.name];
      const stateFile = file(`mixed-${b.backend}.json`, mixed);
      const applied = await iptkit('docker', 'apply', ...common, stateFile);
      expect(applied.code, applied.stderr).toBe(0);

      const read = await iptkit('docker', 'state', ...common);
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(mixed);
      const host0 = await DockerHost.open({ backend: b.backend, netns: ns.name });
      for (const args of [[], [stateFile]]) {
        const doc = await iptkit('docker', 'doctor', ...common, ...args);
        expect(doc.stdout, doc.stderr).toBe('no problems found\n');
      }

      // The sets as doctor reads them: a subnet gone is an error (with the state, and without:
      // the NAT rule shows it), a foreign member a warning (with the state only).
      ns.ok('ipset', ['del', 'docker-ext-bridges-v4', '172.17.0.0/16']);
      ns.ok('ipset', ['add', 'docker-ext-bridges-v4', '10.66.0.0/16']);
      const json = async (...args: string[]) => {
        const r = await iptkit('docker', 'doctor', ...common, '--json', ...args);
        return (JSON.parse(r.stdout) as { findings: Array<{ severity: string; code: string; message: string }> }).findings.map((f) => `${f.severity} ${f.code} ${f.message.split(':')[0]}`);
      };
      expect(await json(stateFile)).toEqual([
        'error missing-set-member ipset docker-ext-bridges-v4 lacks 172.17.0.0/16',
        'warning stale-set-member ipset docker-ext-bridges-v4 holds 10.66.0.0/16, which is no external network of the state\'s',
      ]);
      expect(await json()).toEqual(['error missing-set-member ipset docker-ext-bridges-v4 lacks 172.17.0.0/16']);
      await host0.apply(mixed);

      // Damage: the ipset jump to DOCKER gone, a set emptied; repair puts back both.
      ns.ok(b.cmd, ['-D', 'FORWARD', '-m', 'set', '--match-set', 'docker-ext-bridges-v4', 'dst', '-j', 'DOCKER']);
      ns.ok('ipset', ['flush', 'docker-ext-bridges-v6']);
      const sick = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(sick.code).toBe(1);
      expect(sick.stdout).toContain('filter FORWARD has no jump to DOCKER');
      const repaired = await iptkit('docker', 'repair', ...common, stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(tablesOf(ns, b, mixed).model);
      expect(ipsetSave(ns)).toEqual(EXPECTED_SETS);

      // A host Docker 28.2 left (DOCKER-FORWARD, -CT, -BRIDGE, raw per-endpoint DROPs): repair
      // to 28.0.0's state removes them and does not put them back.
      await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply({ ...mixed, layout: 'v28' });
      const again = await iptkit('docker', 'repair', ...common, stateFile);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^after: no problems found$/m);
      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
      expect(kernel.join('\n')).not.toMatch(/DOCKER-FORWARD|DOCKER-CT|DOCKER-BRIDGE/);
    }, 'iptkit-docker'));

  test('publish and unpublish: only their rules, as apply of the state they lead to', () => publishMatchesApply(b, mixed));
});
