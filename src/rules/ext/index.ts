// The extension registry: finds the module for `-m NAME` / `-j NAME` on input, and for a
// match or target read from the kernel (kernel name + revision) on output.

import type { Family, Match } from '../model.js';
import type { ExtensionTarget, MatchExtension, TargetExtension } from './types.js';
import { MATCHES } from './matches.js';
import { TARGETS } from './targets.js';

export type * from './types.js';

function byName<T extends { names: readonly string[] }>(list: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const ext of list) for (const name of ext.names) map.set(name, ext);
  return map;
}

const matchByName = byName(MATCHES);
const targetByName = byName(TARGETS);

function fits(ext: { family?: Family }, family: Family): boolean {
  return ext.family === undefined || ext.family === family;
}

/** The match module for `-m NAME` in this family. */
export function matchByUserName(name: string, family: Family): MatchExtension | undefined {
  const ext = matchByName.get(name);
  return ext && fits(ext, family) ? ext : undefined;
}

/** The target module for `-j NAME` in this family. */
export function targetByUserName(name: string, family: Family): TargetExtension | undefined {
  const ext = targetByName.get(name);
  return ext && fits(ext, family) ? ext : undefined;
}

/** The module that prints a match read from the kernel, or undefined (opaque). */
function byKernelName<T extends { kernelName: string }>(list: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const ext of list) {
    const l = map.get(ext.kernelName);
    if (l) l.push(ext);
    else map.set(ext.kernelName, [ext]);
  }
  return map;
}

// The modules of each kernel name, in registry order (the first that fits prints).
const matchesByKernelName = byKernelName(MATCHES);
const targetsByKernelName = byKernelName(TARGETS);
const NONE: readonly never[] = [];

export function matchForKernel(match: Match, family: Family): MatchExtension | undefined {
  if (match.opaque) return undefined;
  for (const ext of matchesByKernelName.get(match.name) ?? NONE) {
    if (ext.kernelName !== match.name || !fits(ext, family)) continue;
    if (!ext.revisions.includes(match.revision)) continue;
    if (ext.accepts && !ext.accepts(match)) continue;
    return ext;
  }
  return undefined;
}

/** The module that prints an extension target read from the kernel, or undefined (opaque). */
export function targetForKernel(target: ExtensionTarget, family: Family): TargetExtension | undefined {
  if (target.opaque) return undefined;
  for (const ext of targetsByKernelName.get(target.name) ?? NONE) {
    if (ext.kernelName !== target.name || !fits(ext, family)) continue;
    if (ext.revisions.includes(target.revision)) return ext;
  }
  return undefined;
}

export function isTargetName(name: string, family: Family): boolean {
  return targetByUserName(name, family) !== undefined;
}
