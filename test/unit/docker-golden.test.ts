// Golden rules of richer Docker states (test/golden/docker/*.json → *.ipv4.rules/*.ipv6.rules),
// and, as root, proof that every generated rule is byte for byte what iptables-save prints:
// the text is restored with iptables-legacy-restore in a throwaway namespace and read back.
// Docker's behaviour from moby/moby v27.5.1 (classic) and v28.5.2 (v28, iptabler testdata
// goldens, commit 89c5e8fd66634b6128fc4c0e6f1236e2540e46e0) and docker-v29.7.2 (v29, commit
// 6a43e3d5afddf4111da0f864bbc7cae5d7e95001; docker-moby-golden.test.ts holds both to Docker's
// own golden files). Regenerate the golden files with
// IPTKIT_UPDATE_GOLDEN=1 after checking the difference by hand.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateState } from '../../src/docker/state.js';
import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import { isRoot, saveLines, withNetns } from '../helpers/netns.js';

const dir = new URL('../golden/docker/', import.meta.url);
const scenarios = ['classic-mixed', 'classic-hairpin', 'v28-mixed', 'v28-hairpin', 'v29-mixed', 'v29-hairpin'];
const update = process.env.IPTKIT_UPDATE_GOLDEN === '1';

function render(name: string, family: 'ipv4' | 'ipv6'): string {
  const state = validateState(JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')));
  return Object.values(toSaveText(desiredRules(state)[family])).join('');
}

describe('golden Docker rulesets', () => {
  for (const name of scenarios) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      it(`${name} ${family} matches its golden file`, () => {
        const file = new URL(`${name}.${family}.rules`, dir);
        const got = render(name, family);
        if (update || !existsSync(file)) writeFileSync(file, got);
        expect(got).toBe(readFileSync(file, 'utf8'));
      });

      it.skipIf(!isRoot)(`${name} ${family}: iptables-save prints every rule as generated`, async () => {
        const text = render(name, family);
        const [restore, save] = family === 'ipv4'
          ? ['iptables-legacy-restore', 'iptables-legacy-save']
          : ['ip6tables-legacy-restore', 'ip6tables-legacy-save'];
        await withNetns((ns) => {
          ns.ok(restore, [], text);
          const tables = Object.keys(toSaveText(desiredRules(validateState(JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'))))[family]));
          const back = tables.map((t) => saveLines(ns.ok(save, ['-t', t])).join('\n') + '\n').join('');
          expect(back).toBe(text);
        }, 'iptkit-docker');
      });
    }
  }
});
