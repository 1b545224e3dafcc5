// The network interfaces of a namespace, read over rtnetlink by the addon (RTM_GETLINK dump,
// native/rtnl): which bridges exist, for `docker doctor`'s unknown-bridge finding. No `ip`
// is run.

import { native } from '../binding.js';
import { netnsPath } from '../backend/env.js';

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: 'bridge', 'veth', …; null for a link without one (lo, a physical NIC). */
  kind: string | null;
}

/** Every link of the namespace (a name under /var/run/netns, a path, or this process's). */
export function readLinks(netns?: string): Promise<Link[]> {
  return native.rtnlLinks(netnsPath(netns) ?? null);
}

/** The names of the namespace's bridge interfaces (kind "bridge"). */
export async function bridgeNames(netns?: string): Promise<string[]> {
  return (await readLinks(netns)).filter((l) => l.kind === 'bridge').map((l) => l.name);
}
