// Defaults shared by the back ends and the CLI.
import { isAbsolute } from 'node:path';

export const DEFAULT_LOCK_PATH = '/run/xtables.lock';

/** The lock file `iptables -w` uses: $XTABLES_LOCKFILE, else /run/xtables.lock. */
export function lockPath(): string {
  const env = process.env['XTABLES_LOCKFILE'];
  return env && env.length > 0 ? env : DEFAULT_LOCK_PATH;
}

/** `--netns NAME|PATH`: a bare name means /var/run/netns/NAME, like `ip netns`. */
export function netnsPath(netns: string | undefined): string | undefined {
  if (netns === undefined || netns === '') return undefined;
  if (isAbsolute(netns) || netns.startsWith('./') || netns.startsWith('../')) return netns;
  if (netns.includes('/')) throw new RangeError(`netns: '${netns}' is neither a name nor a path`);
  return `/var/run/netns/${netns}`;
}
