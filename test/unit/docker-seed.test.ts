// The seed host (docs/design.md): its Docker state in layout classic gives exactly the nat rules
// the seed article listed, in the same order.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { builtinChainRules } from '../../src/docker/ruleset.js';

const root = new URL('../../', import.meta.url);
const seedJson = JSON.parse(readFileSync(new URL('fixtures/seed-docker-host.json', root), 'utf8')) as unknown;
const seedRules = readFileSync(new URL('fixtures/seed-docker-host.rules', root), 'utf8');

/** `-A CHAIN args` lines of one table, counters dropped, grouped by chain in file order. */
function chainsOf(text: string, table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) current = line.slice(1);
    if (current !== table) continue;
    if (line.startsWith(':')) out.set(line.slice(1).split(' ')[0]!, []);
    const m = /^(?:\[\d+:\d+\] )?-A (\S+) (.*)$/.exec(line);
    if (m) out.get(m[1]!)!.push(m[2]!);
  }
  return out;
}

describe('seed Docker host', () => {
  it('the classic layout of the seed state gives exactly the seed nat table', () => {
    const rules = desiredRules(validateState(seedJson)).ipv4;
    const want = chainsOf(seedRules, 'nat');
    const docker = rules.ownedChains.find((c) => c.table === 'nat' && c.chain === 'DOCKER')!;
    expect(docker.rules).toEqual(want.get('DOCKER'));
    for (const chain of ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']) {
      expect(builtinChainRules(rules, 'nat', chain), chain).toEqual(want.get(chain));
    }
    expect(rules.ownedChains.filter((c) => c.table === 'nat').map((c) => c.chain)).toEqual(
      [...want.keys()].filter((c) => !['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'].includes(c)),
    );
  });

  it('the seed state, IPv4 only, has no IPv6 chain or rule', () => {
    expect(desiredRules(validateState(seedJson)).ipv6).toEqual({ ownedChains: [], builtinRules: [], userChains: [] });
  });
});
