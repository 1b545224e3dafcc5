// A Docker state's rules as the save texts the pure Docker model reads (inferState, doctor):
// both families, every table desiredRules writes.

import { desiredRules } from '../../src/docker/desired.js';
import { toSaveText } from '../../src/docker/ruleset.js';
import type { FamilySaves } from '../../src/docker/saves.js';
import type { DockerState } from '../../src/docker/state.js';

export function savesOf(state: DockerState): FamilySaves[] {
  const r = desiredRules(state);
  return [
    { family: 'ipv4', tables: toSaveText(r.ipv4) },
    { family: 'ipv6', tables: toSaveText(r.ipv6) },
  ];
}
