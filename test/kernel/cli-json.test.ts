// Every --json document the command prints, from real runs in throwaway namespaces on both back
// ends, validated against its schema in schemas/; rule texts are the real iptables-save's
// lines, and counters are numbers, or decimal strings above 2^53 - 1 (set with the real
// iptables-restore -c).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { validateState } from '../../src/docker/state.js';
import { iptkit } from '../helpers/cli.js';
import { saveLines, withNetns } from '../helpers/netns.js';
import { schemaErrors } from '../helpers/schemas.js';

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-json-'));
// A private xtables lock: these namespaces are this file's own (see docker-ops.test.ts).
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}
const seedState = readFileSync(new URL('../../fixtures/seed-docker-host.json', import.meta.url), 'utf8');

/** Runs iptkit, expects the exit status, and returns stdout parsed after checking it against the schema. */
async function document(schemaName: string, status: number, ...argv: string[]): Promise<Record<string, unknown>> {
  const r = await iptkit(...argv);
  expect(r.stderr).toBe('');
  expect(r.code, `${argv.join(' ')}: ${r.stdout.slice(0, 3000)}`).toBe(status);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(schemaErrors(schemaName, doc), `${argv.join(' ')}: ${r.stdout.slice(0, 2000)}`).toBe('');
  expect(doc['version']).toBe(1);
  return doc;
}

const BIG = '9007199254740993'; // 2^53 + 1: a JSON number would read it as 2^53
const MAX = '18446744073709551615';
const filterWithCounters = `*filter
:INPUT ACCEPT [5:300]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:LOGDROP - [0:0]
[${BIG}:${MAX}] -A INPUT -s 10.1.2.3/32 -j LOGDROP
[7:420] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A LOGDROP -j DROP
COMMIT
`;

interface JsonTable {
  name: string;
  chains: Array<{ name: string; policy?: string; counters?: { packets: unknown; bytes: unknown }; references?: number; rules: Array<{ text: string; counters: { packets: unknown; bytes: unknown } }> }>;
}

/** A JSON table's rules as iptables-save's `-A CHAIN TEXT` lines. */
const ruleLines = (t: JsonTable): string[] => t.chains.flatMap((c) => c.rules.map((r) => `-A ${c.name} ${r.text}`));

describe.each(['legacy', 'nft'] as const)('%s', (backend) => {
  const common = (ns: { name: string }): string[] => ['--backend', backend, '--netns', ns.name];

  test('list and save: rule texts as iptables-save prints them, exact counters', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], filterWithCounters);
      const oracle = saveLines(ns.ok(`iptables-${backend}-save`, ['-t', 'filter'])).filter((l) => l.startsWith('-A '));

      const list = await document('list', 0, 'list', '--json', ...common(ns));
      expect(list).toMatchObject({ backend, family: 'ipv4' });
      const table = list['table'] as JsonTable;
      expect(ruleLines(table)).toEqual(oracle);
      const input = table.chains.find((c) => c.name === 'INPUT')!;
      expect(input.policy).toBe('ACCEPT');
      expect(input.counters).toEqual({ packets: 5, bytes: 300 });
      expect(input.rules.map((r) => r.counters)).toEqual([
        { packets: BIG, bytes: MAX },
        { packets: 7, bytes: 420 },
      ]);
      expect(table.chains.find((c) => c.name === 'LOGDROP')).toMatchObject({ references: 1 });

      const one = await document('list', 0, 'list', '--json', ...common(ns), 'LOGDROP');
      expect((one['table'] as JsonTable).chains.map((c) => c.name)).toEqual(['LOGDROP']);

      const save = await document('save', 0, 'save', '--json', ...common(ns));
      const tables = save['tables'] as JsonTable[];
      expect(ruleLines(tables.find((t) => t.name === 'filter')!)).toEqual(oracle);
      const ipv6 = await document('save', 0, 'save', '--json', '-6', '-t', 'filter', ...common(ns));
      expect(ipv6['family']).toBe('ipv6');
    }));

  test('diff and restore --test: the change, the same document from both', () =>
    withNetns(async (ns) => {
      ns.ok(`iptables-${backend}-restore`, ['-c'], filterWithCounters);
      const same = file(`same-${backend}.rules`, filterWithCounters.replace(/\[\d+:\d+\] /g, ''));
      expect(await document('plan', 0, 'diff', '--json', ...common(ns), same)).toEqual({ version: 1, changed: false, tables: [] });
      const other = file(`other-${backend}.rules`, filterWithCounters.replace(/\[\d+:\d+\] /g, '').replace('--dport 22', '--dport 2222'));
      const diff = await document('plan', 3, 'diff', '--json', ...common(ns), other);
      expect(diff).toEqual({
        version: 1,
        changed: true,
        tables: [
          {
            family: 'ipv4',
            table: 'filter',
            commands: ['-D INPUT -p tcp -m tcp --dport 22 -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT'],
            kept: [
              { chain: 'INPUT', rules: 1 },
              { chain: 'LOGDROP', rules: 1 },
            ],
          },
        ],
      });
      expect(await document('plan', 3, 'restore', '--test', '--json', ...common(ns), other)).toEqual(diff);
    }));

  test('docker apply, apply --test, state, doctor, repair, publish, unpublish', () =>
    withNetns(async (ns) => {
      // The state's bridges exist, as on a Docker host: no unknown-bridge warnings.
      for (const n of (JSON.parse(seedState) as { networks: Array<{ bridge: string }> }).networks) ns.ok('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
      const stateFile = file(`seed-${backend}.json`, seedState);
      const applied = await document('docker-apply', 0, 'docker', 'apply', '--json', ...common(ns), stateFile);
      expect(applied['ipv4']).toMatchObject({ backend, changed: expect.arrayContaining(['nat', 'filter']) as unknown });
      expect(await document('plan', 0, 'docker', 'apply', '--test', '--json', ...common(ns), stateFile)).toEqual({ version: 1, changed: false, tables: [] });

      // The bare state is a state file: it validates and docker apply takes it.
      const bare = await iptkit('docker', 'state', ...common(ns));
      expect(bare.code, bare.stderr).toBe(0);
      const inferred = JSON.parse(bare.stdout) as unknown;
      expect(schemaErrors('docker-state', inferred)).toBe('');
      expect(() => validateState(inferred)).not.toThrow();
      const wrapped = await document('docker-state-output', 0, 'docker', 'state', '--json', ...common(ns));
      expect(wrapped['state']).toEqual(inferred);

      const pub = await document('docker-publish', 0, 'docker', 'publish', '--json', ...common(ns), '--state', stateFile, '--network', 'app', '--container-ip', '172.19.0.30', '8443:443');
      expect(pub).toMatchObject({ changed: 1, unchanged: 0 });
      const unpub = await document('docker-publish', 0, 'docker', 'unpublish', '--json', ...common(ns), '8443');
      expect(unpub).toMatchObject({ changed: 1, unchanged: 0 });

      // The seed's failure: DOCKER gone. Doctor finds it, repair mends it.
      const ipt = `iptables-${backend}`;
      ns.ok(ipt, ['-t', 'nat', '-F', 'DOCKER']);
      ns.ok(ipt, ['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
      ns.ok(ipt, ['-t', 'nat', '-D', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
      ns.ok(ipt, ['-t', 'nat', '-X', 'DOCKER']);
      const doctor = await document('docker-doctor', 1, 'docker', 'doctor', '--json', ...common(ns));
      expect(doctor['findings']).toContainEqual(expect.objectContaining({ severity: 'error', code: 'missing-chain', chain: 'DOCKER' }));
      const plan = await document('plan', 3, 'docker', 'apply', '--test', '--json', ...common(ns), stateFile);
      expect(plan['changed']).toBe(true);
      const repair = await document('docker-repair', 0, 'docker', 'repair', '--json', ...common(ns), stateFile);
      expect(repair['after']).toEqual([]);
      expect(repair['before']).toContainEqual(expect.objectContaining({ code: 'missing-chain' }));
    }, 'iptkit-docker'));
});

test('recover --json', () =>
  withNetns(async (ns) => {
    const r = await document('recover', 0, 'recover', '--json', '--netns', ns.name);
    expect(r['families']).toEqual([expect.objectContaining({ family: 'ipv4', found: false }), expect.objectContaining({ family: 'ipv6', found: false })]);
  }));
