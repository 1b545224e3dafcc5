// The Docker record's file outlives nothing: each apply that writes it removes the records of namespaces that
// are gone (src/docker/record.ts pruneRecords), and keeps those of namespaces that still exist,
// whether a mount holds them (`ip netns add`) or only a process inside them does.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerHost } from '../../src/docker/ops.js';
import { recordPath } from '../../src/docker/record.js';
import { isRoot, Netns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-record-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
const run = join(tmp, 'run');
process.env['IPTKIT_INTENT_DIR'] = run;

const state = {
  layout: 'v29',
  userlandProxy: true,
  networks: [{ name: 'app', bridge: 'br-0123456789ab', subnet: '172.30.0.0/16', icc: true, masquerade: true, internal: false }],
  ports: [{ network: 'app', proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.30.0.2', containerPort: 80 }],
};

// Each apply gives another host port: an apply of the state the record already names, on
// unchanged tables, writes nothing (and so prunes nothing).
let nextPort = 8080;
async function apply(netns: string): Promise<string> {
  const host = await DockerHost.open({ backend: 'nft', netns });
  await host.apply({ ...state, ports: [{ ...state.ports[0]!, hostPort: nextPort++ }] });
  return recordPath(netns);
}

const records = (): string[] => readdirSync(run).filter((n) => n.endsWith('.docker.json')).sort();

describe.skipIf(!isRoot)('Docker records of namespaces that are gone', () => {
  test('are removed by the next apply; those of live namespaces stay', async () => {
    const a = new Netns('iptkit-record');
    const b = new Netns('iptkit-record');
    // A namespace no mount holds: only the process inside it keeps it alive.
    // It says "ready" from inside the new namespace, so its ns/net is never the host's.
    const inside = spawn('unshare', ['--net', 'sh', '-c', 'echo ready; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => {
        inside.stdout!.once('data', () => resolve());
        inside.once('exit', (code) => reject(new Error(`unshare exited with ${code}`)));
      });
      const procNs = `/proc/${inside.pid}/ns/net`;
      expect(statSync(procNs).ino).not.toBe(statSync('/proc/self/ns/net').ino);
      const recA = await apply(a.name);
      const recP = await apply(procNs);
      const recB = await apply(b.name);
      expect(records()).toEqual([recA, recB, recP].map((p) => p.slice(run.length + 1)).sort());

      a.delete();
      await apply(b.name);
      expect(existsSync(recA)).toBe(false);
      expect(existsSync(recP)).toBe(true);
      expect(existsSync(recB)).toBe(true);

      inside.kill();
      await new Promise((r) => inside.once('exit', r));
      await apply(b.name);
      expect(records()).toEqual([recB.slice(run.length + 1)]);
    } finally {
      inside.kill();
      a.delete();
      b.delete();
    }
  });
});
