// Defaults shared by the back ends and the CLI.
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';

export const DEFAULT_LOCK_PATH = '/run/xtables.lock';

/** The lock file `iptables -w` uses: $XTABLES_LOCKFILE, else /run/xtables.lock. */
export function lockPath(): string {
  const env = process.env['XTABLES_LOCKFILE'];
  return env && env.length > 0 ? env : DEFAULT_LOCK_PATH;
}

/**
 * `--netns NAME|PATH`: a bare name means /var/run/netns/NAME, like `ip netns`. Only an absent
 * option means this process's own namespace: an empty string (an unset shell variable) or a
 * file that is no namespace is refused here, before any kernel work.
 */
export function netnsPath(netns: string | undefined): string | undefined {
  if (netns === undefined) return undefined;
  if (typeof netns !== 'string') throw new TypeError(`netns: expected a namespace name or path, got ${typeof netns}`);
  if (netns === '') throw new RangeError("netns: '' names no namespace; leave the option out for this process's own namespace");
  let path: string;
  if (isAbsolute(netns) || netns.startsWith('./') || netns.startsWith('../')) path = netns;
  else if (netns.includes('/') || netns === '.' || netns === '..') throw new RangeError(`netns: '${netns}' is neither a name nor a path`);
  else path = `/var/run/netns/${netns}`;
  let dev: number;
  try {
    dev = statSync(path).dev;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new RangeError(`netns: '${netns}' is not a network namespace (${path} does not exist)`);
    return path; // the kernel's own refusal (EACCES, …) says more
  }
  // Namespace files (bind mounts under /var/run/netns, /proc/PID/ns/net) all live on nsfs.
  if (dev !== statSync('/proc/self/ns/net').dev) throw new RangeError(`netns: '${netns}' is not a network namespace (${path} is not a namespace file)`);
  return path;
}
