// The ipsets a Docker layout keeps its bridges' subnets in (Docker 28.0.0: hash:net sets
// docker-ext-bridges-v4 / -v6, matched by `-m set --match-set NAME dst` in FORWARD), made to
// exist with exactly their members over the ipset netlink protocol by the addon
// (native/ipset), in the namespace the rules go to, before the rules that name them are
// committed: a rule cannot name a set the kernel has not. No `ipset` tool is run.

import { native } from '../binding.js';
import { netnsPath } from '../backend/env.js';
import type { NativeIpsetOutcome, NativeListedIpset } from '../native-binding.js';

export interface HashNetSet {
  name: string;
  family: 'inet' | 'inet6';
  /** Networks as ADDRESS/LENGTH, host bits zero (a network's subnet as the state gives it). */
  members: string[];
}

export type IpsetOutcome = NativeIpsetOutcome;

/**
 * Makes each set exist in the namespace (a name under /var/run/netns, a path, or this
 * process's) as a hash:net set of its family holding exactly `members`: created when missing,
 * missing members added before extra ones are deleted (a member that stays is never absent).
 * A set of that name but another type or family is an error naming it and is left alone.
 */
export function ensureHashNetSets(sets: readonly HashNetSet[], netns?: string): Promise<IpsetOutcome[]> {
  return native.ipsetEnsure(
    netnsPath(netns) ?? null,
    sets.map((s) => ({ name: s.name, type: 'hash:net', family: s.family, members: [...s.members] })),
  );
}

export type ListedIpset = NativeListedIpset;

/** The named sets of the namespace as the kernel lists them (null: no such set), for doctor. */
export function listIpsets(names: readonly string[], netns?: string): Promise<Array<ListedIpset | null>> {
  return native.ipsetList(netnsPath(netns) ?? null, [...names]);
}
