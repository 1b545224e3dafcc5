// Docker 28.0.2 to 28.1.x hosts (layout v28.1) on a live kernel, both back ends, in throwaway
// namespaces: iptables-save and ip6tables-save show exactly the rules
// test/unit/docker-v281.test.ts pins from moby v28.1.1's code (v28's chains, per-port raw
// direct-access DROPs, DOCKER-USER's RETURN); a second apply changes nothing. The host reads
// back (`docker state`) as the state that made it, `docker doctor` finds nothing, and repair
// turns a 28.2 host's per-endpoint DROPs into 28.1's per-port ones. publish and unpublish
// change only their ports' rules and leave the tables as apply of the state they lead to would
// (a twin namespace is the oracle).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { iptkit } from '../helpers/cli.js';
import { isRoot, withNetns } from '../helpers/netns.js';
import { BACKENDS, mixedState, publishMatchesApply, tablesOf } from '../helpers/docker-per-port.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker281-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
process.env['IPTKIT_INTENT_DIR'] = join(tmp, 'run');

function file(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

const mixed = mixedState('v28.1');

describe.skipIf(!isRoot).each(BACKENDS)('layout v28.1 on a live kernel, $backend back end', (b) => {
  test('apply: exactly the rules of the model; again: nothing changes', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const host = await DockerHost.open({ backend: b.backend, netns: ns.name });
      const first = await host.apply(mixed);
      expect(first.ipv4?.changed.length).toBeGreaterThan(0);
      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
      expect(kernel).toContain('ipv4 -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -p tcp -m tcp --dport 80 -j DROP');
      expect(kernel).toContain('ipv6 -A PREROUTING -d fd00:18::2/128 ! -i br-0123456789ab -p tcp -m tcp --dport 80 -j DROP');
      expect(kernel).toContain('ipv4 -A DOCKER-USER -j RETURN');
      const again = await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply(mixed);
      expect(again.ipv4?.changed).toEqual([]);
      expect(again.ipv6?.changed).toEqual([]);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(kernel);
    }, 'iptkit-docker'));

  test('docker state reads the state back, doctor finds nothing, repair turns 28.2 rules into 28.1 ones', () =>
    withNetns(async (ns) => {
      for (const n of mixed.networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const common = ['--backend', b.backend, '--netns', ns.name];
      const stateFile = file(`mixed-${b.backend}.json`, mixed);
      const applied = await iptkit('docker', 'apply', ...common, stateFile);
      expect(applied.code, applied.stderr).toBe(0);
      const read = await iptkit('docker', 'state', ...common);
      expect(read.code, read.stderr).toBe(0);
      expect(JSON.parse(read.stdout)).toEqual(mixed);
      for (const args of [[], [stateFile]]) {
        const doc = await iptkit('docker', 'doctor', ...common, ...args);
        expect(doc.stdout, doc.stderr).toBe('no problems found\n');
      }

      // Damage: a per-port DROP gone; doctor with the state sees it, repair puts it back.
      ns.ok(b.cmd, ['-t', 'raw', '-D', 'PREROUTING', '-d', '172.18.0.2/32', '!', '-i', 'br-0123456789ab', '-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'DROP']);
      const sick = await iptkit('docker', 'doctor', ...common, stateFile);
      expect(sick.stdout).toContain('172.18.0.2/32');
      const repaired = await iptkit('docker', 'repair', ...common, stateFile);
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      expect(repaired.stdout).toMatch(/^after: no problems found$/m);
      expect(tablesOf(ns, b, mixed).kernel).toEqual(tablesOf(ns, b, mixed).model);

      // A host Docker 28.2 left (per-endpoint DROPs, no DOCKER-USER RETURN): repair to 28.1's state.
      await (await DockerHost.open({ backend: b.backend, netns: ns.name })).apply({ ...mixed, layout: 'v28' });
      expect(tablesOf(ns, b, mixed).kernel).toContain('ipv4 -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP');
      const again = await iptkit('docker', 'repair', ...common, stateFile);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^after: no problems found$/m);
      const { kernel, model } = tablesOf(ns, b, mixed);
      expect(kernel).toEqual(model);
    }, 'iptkit-docker'));

  test('publish and unpublish: only their rules, as apply of the state they lead to', () => publishMatchesApply(b, mixed));
});
