// The JSON Schemas of schemas/: each compiles under Ajv's strict draft 2020-12 and ships in the
// package; the Docker state schema accepts the repository's example states and refuses, as
// validateState refuses, states of the wrong shape; counters are numbers while exact.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateState } from '../../src/docker/state.js';
import { counter } from '../../src/cli/json.js';
import { SCHEMA_FILES, schema, schemaErrors } from '../helpers/schemas.js';

const root = new URL('../../', import.meta.url).pathname;
const json = (path: string): unknown => JSON.parse(readFileSync(root + path, 'utf8'));

describe('the schemas', () => {
  it('every one compiles, and the package ships them', () => {
    for (const f of SCHEMA_FILES) expect(typeof schema(f.replace('.schema.json', ''))).toBe('function');
    expect(SCHEMA_FILES.length).toBeGreaterThanOrEqual(11);
    expect((json('package.json') as { files: string[] }).files).toContain('schemas');
  });
});

describe('the Docker state schema against validateState', () => {
  const examples = [
    'fixtures/seed-docker-host.json',
    ...readdirSync(root + 'test/golden/docker')
      .filter((f) => f.endsWith('.json'))
      .map((f) => `test/golden/docker/${f}`),
  ];
  it.each(examples)('accepts %s, as validateState does, and validateState’s canonical form of it', (path) => {
    const state = json(path);
    const canonical = validateState(state);
    expect(schemaErrors('docker-state', state)).toBe('');
    expect(schemaErrors('docker-state', canonical)).toBe('');
  });

  it('accepts the defaults left out, ranges, endpoints and ip6tables', () => {
    const good = [
      { networks: [], ports: [] },
      {
        ip6tables: false,
        networks: [{ name: 'a', bridge: 'docker0', subnet: '172.17.0.0/16', subnet6: 'fd00::/64' }],
        ports: [{ network: 'a', proto: 'udp', hostIp: '::', hostPort: '1000-1002', containerIp: 'fd00::2', containerPort: '2000-2002' }],
        endpoints: [{ network: 'a', ip: '172.17.0.3' }],
      },
    ];
    for (const s of good) {
      expect(() => validateState(s)).not.toThrow();
      expect(schemaErrors('docker-state', s)).toBe('');
    }
  });

  const seed = json('fixtures/seed-docker-host.json') as { networks: Array<Record<string, unknown>>; ports: Array<Record<string, unknown>> };
  const bad = (change: (s: typeof seed) => void): unknown => {
    const s = structuredClone(seed);
    change(s);
    return s;
  };
  const cases: Array<[string, unknown]> = [
    ['not an object', []],
    ['networks missing', { ports: [] }],
    ['ports missing', { networks: [] }],
    ['an unknown key', { version: 1, networks: [], ports: [] }],
    ['an unknown layout', { layout: 'v27', networks: [], ports: [] }],
    ['userlandProxy not a boolean', { userlandProxy: 'yes', networks: [], ports: [] }],
    ['a network without its bridge', bad((s) => delete s.networks[0]!['bridge'])],
    ['an empty network name', bad((s) => (s.networks[0]!['name'] = ''))],
    ['a wildcard bridge', bad((s) => (s.networks[0]!['bridge'] = 'br+'))],
    ['a negated bridge', bad((s) => (s.networks[0]!['bridge'] = '!docker0'))],
    ['a bridge with a space', bad((s) => (s.networks[0]!['bridge'] = 'br 0'))],
    ['a bridge of 16 characters', bad((s) => (s.networks[0]!['bridge'] = 'br-0123456789abc'))],
    ['a subnet without a prefix length', bad((s) => (s.networks[0]!['subnet'] = '172.19.0.0'))],
    ['icc not a boolean', bad((s) => (s.networks[0]!['icc'] = 1))],
    ['an unknown network key', bad((s) => (s.networks[0]!['driver'] = 'bridge'))],
    ['an unknown protocol', bad((s) => (s.ports[0]!['proto'] = 'icmp'))],
    ['port 0', bad((s) => (s.ports[0]!['hostPort'] = 0))],
    ['port 65536', bad((s) => (s.ports[0]!['containerPort'] = 65536))],
    ['a fractional port', bad((s) => (s.ports[0]!['hostPort'] = 80.5))],
    ['a half range', bad((s) => (s.ports[0]!['hostPort'] = '100-'))],
    ['a host name for an address', bad((s) => (s.ports[0]!['hostIp'] = 'localhost'))],
    ['a port without its container address', bad((s) => delete s.ports[0]!['containerIp'])],
    ['an unknown port key', bad((s) => (s.ports[0]!['hostip'] = '0.0.0.0'))],
    ['endpoints not an array', { networks: [], ports: [], endpoints: {} }],
    ['an endpoint without its address', bad((s) => ((s as Record<string, unknown>)['endpoints'] = [{ network: 'app' }]))],
  ];
  it.each(cases)('refuses %s, as validateState does', (_what, state) => {
    expect(() => validateState(state)).toThrow();
    expect(schemaErrors('docker-state', state)).not.toBe('');
  });
});

describe('counters', () => {
  it('are numbers up to 2^53 - 1 and decimal strings above', () => {
    expect(counter(0n)).toBe(0);
    expect(counter(9007199254740991n)).toBe(9007199254740991);
    expect(counter(9007199254740992n)).toBe('9007199254740992');
    expect(counter(18446744073709551615n)).toBe('18446744073709551615');
    for (const c of [0n, 9007199254740991n, 9007199254740992n, 18446744073709551615n]) {
      expect(schemaErrors('defs#/$defs/counter', counter(c))).toBe('');
      expect(BigInt(counter(c))).toBe(c);
    }
    expect(schemaErrors('defs#/$defs/counter', '12')).not.toBe('');
    expect(schemaErrors('defs#/$defs/counter', 9007199254740992)).not.toBe('');
  });
});
