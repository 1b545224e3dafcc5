// The only module that loads the native addon. It fails early with an actionable message,
// and turns the addon's plain errors into NetfilterError with the caller's stack.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NativeBinding } from './native-binding.js';
import { AddonLoadError, NetfilterError, ParseError } from './errors.js';

export type { NativeBinding, NativeFamily, NativeNftRead, NativeTableRead, NativeOption, NativeRule, NativeRestoreTable, NativeListOptions } from './native-binding.js';

export function packageRoot(): string {
  // src/binding.ts (vitest), dist/src/binding.js (the library) or dist/iptkit.cjs (the command,
  // bundled by scripts/bundle.sh with import.meta.dirname as __dirname): walk up to package.json.
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('iptkit: cannot find the package root');
    dir = parent;
  }
  return dir;
}

let cached: NativeBinding | undefined;

function load(): NativeBinding {
  if (cached) return cached;
  if (process.platform !== 'linux') {
    throw new Error(`iptkit: netfilter exists only on Linux; this is ${process.platform}`);
  }
  const root = packageRoot();
  // IPTKIT_NATIVE points at another build (a sanitizer build, a helper's own build dir).
  const override = process.env['IPTKIT_NATIVE'];
  // A source build (a checkout, or an install where no prebuild fitted) comes first; else the
  // prebuilt addon shipped in the package, which is built against glibc (the report that says
  // so costs milliseconds, so it is asked only when there is no source build).
  const candidates = override ? [override] : [join(root, 'build', 'Release', 'iptkit.node'), join(root, 'build', 'Debug', 'iptkit.node')];
  let path = candidates.find((p) => existsSync(p));
  if (!path && !override) {
    const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'iptkit.node');
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    if (existsSync(prebuild) && header?.glibcVersionRuntime) path = prebuild;
  }
  if (!path) {
    throw new AddonLoadError(
      root.split('/').includes('node_modules')
        ? `no prebuilt addon fits ${process.platform}-${process.arch} and none was built from source.\n` +
            '  Install cmake, g++, pkg-config and the libmnl and libnftnl dev packages\n' +
            '  (Debian/Ubuntu: apt-get install cmake g++ pkg-config libmnl-dev libnftnl-dev),\n' +
            '  then run `npm rebuild iptkit`.'
        : 'the native addon is not built (build/Release/iptkit.node is missing).\n' +
            '  1. Run `npm run setup` as root: it installs the libmnl/libnftnl dev packages,\n' +
            '     cmake and g++ with apt-get, then builds the addon.\n' +
            '  2. Or build it alone: `npx cmake-js compile --out build`.',
    );
  }
  const require = createRequire(import.meta.filename);
  try {
    cached = require(path) as NativeBinding;
  } catch (e) {
    throw new AddonLoadError(loadFailure(path, e));
  }
  return cached;
}

/**
 * Loads the addon now (Netfilter.open): a handle that opens has a working addon, and its
 * dlopen (milliseconds, on the event loop) is not paid inside the first operation.
 */
export function loadNative(): void {
  load();
}

/** The system libraries the addon links, and the packages that provide them. */
const LIBRARIES: Record<string, { debian: string; fedora: string; alpine: string }> = {
  'libnftnl.so.11': { debian: 'libnftnl11', fedora: 'libnftnl', alpine: 'libnftnl' },
  'libmnl.so.0': { debian: 'libmnl0', fedora: 'libmnl', alpine: 'libmnl' },
};

/** Says what to install when dlopen failed for a missing system library. */
export function loadFailure(path: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const missing = /([\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
  const pkg = missing !== undefined ? LIBRARIES[missing] : undefined;
  if (missing !== undefined && pkg !== undefined) {
    return (
      `the native addon needs ${missing}, which is not installed. Install it with:\n` +
      `  Debian/Ubuntu: apt-get install ${pkg.debian}\n` +
      `  Fedora/RHEL:   dnf install ${pkg.fedora}\n` +
      `  Alpine:        apk add ${pkg.alpine}`
    );
  }
  if (missing !== undefined) return `the native addon ${path} needs ${missing}, which is not installed (${message.split('\n')[0]})`;
  return `cannot load the native addon ${path}: ${message.split('\n')[0]}`;
}

/** What a permission error means here: the capability (or root) that is missing. */
function privilegeHint(code: string, op: string): string {
  if (code !== 'EPERM' && code !== 'EACCES') return '';
  if (op === 'setns') return ' — entering a network namespace needs root or CAP_SYS_ADMIN (and CAP_NET_ADMIN for netfilter)';
  if (op === 'lock') return ' — the xtables lock needs root (or set XTABLES_LOCKFILE to a file you can write)';
  return ' — netfilter needs root or CAP_NET_ADMIN';
}

interface NativeErrorShape {
  message?: string;
  code?: string;
  errno?: number;
  op?: string;
  table?: string;
  chain?: string;
}

/** Re-throws a native rejection as NetfilterError, with the stack of the JS caller. */
function wrap<T>(promise: Promise<T>, backend: 'legacy' | 'nft' | undefined, caller: CallSite): Promise<T> {
  return promise.catch((e: unknown) => {
    const n = (e ?? {}) as NativeErrorShape;
    if (typeof n.code !== 'string') throw e;
    const op = n.op ?? 'unknown';
    const notNetns = n.code === 'EINVAL' && op === 'setns' ? ' (not a network namespace)' : '';
    const err = new NetfilterError((n.message ?? n.code) + notNetns + privilegeHint(n.code, op), {
      code: n.code,
      errno: n.errno ?? 0,
      op,
      ...(n.table !== undefined ? { table: n.table } : {}),
      ...(n.chain !== undefined ? { chain: n.chain } : {}),
      ...(backend !== undefined ? { backend } : {}),
    });
    const callerStack = caller.stack;
    if (callerStack) err.stack = `${err.name}: ${err.message}\n${callerStack.split('\n').slice(1).join('\n')}`;
    throw err;
  });
}

/** Where a native call was made. The frames are captured now, but formatted as text only
 * when the call fails: formatting every call's stack was a tenth of a publish's JavaScript,
 * and the first formatting in a process costs milliseconds of a command's start. */
interface CallSite {
  stack?: string;
}

function stack(): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, stack);
  return site;
}

/** The native calls, each wrapped so that a rejection is a NetfilterError. */
export const native = {
  legacyTableNames: (...a: Parameters<NativeBinding['legacyTableNames']>) => wrap(load().legacyTableNames(...a), 'legacy', stack()),
  legacyHoldsRules: (...a: Parameters<NativeBinding['legacyHoldsRules']>) => wrap(load().legacyHoldsRules(...a), 'legacy', stack()),
  legacyFingerprint: (...a: Parameters<NativeBinding['legacyFingerprint']>) => wrap(load().legacyFingerprint(...a), 'legacy', stack()),
  legacyRead: (...a: Parameters<NativeBinding['legacyRead']>) => wrap(load().legacyRead(...a), 'legacy', stack()),
  legacyCommit: (...a: Parameters<NativeBinding['legacyCommit']>) => wrap(load().legacyCommit(...a), 'legacy', stack()),
  legacyRecover: (...a: Parameters<NativeBinding['legacyRecover']>) => wrap(load().legacyRecover(...a), 'legacy', stack()),
  lockAcquire: (...a: Parameters<NativeBinding['lockAcquire']>) => wrap(load().lockAcquire(...a), undefined, stack()),
  lockRelease: (fd: number): void => load().lockRelease(fd),
  nftRead: (...a: Parameters<NativeBinding['nftRead']>) => wrap(load().nftRead(...a), 'nft', stack()),
  nftTableNames: (...a: Parameters<NativeBinding['nftTableNames']>) => wrap(load().nftTableNames(...a), 'nft', stack()),
  nftHoldsRules: (...a: Parameters<NativeBinding['nftHoldsRules']>) => wrap(load().nftHoldsRules(...a), 'nft', stack()),
  nftGeneration: (...a: Parameters<NativeBinding['nftGeneration']>) => wrap(load().nftGeneration(...a), 'nft', stack()),
  nftCommit: (...a: Parameters<NativeBinding['nftCommit']>) => wrap(load().nftCommit(...a), 'nft', stack()),
  nftObjectsRead: (...a: Parameters<NativeBinding['nftObjectsRead']>) => wrap(load().nftObjectsRead(...a), 'nft', stack()),
  nftObjectsCommit: (...a: Parameters<NativeBinding['nftObjectsCommit']>) => wrap(load().nftObjectsCommit(...a), 'nft', stack()),
  netnsCookie: (...a: Parameters<NativeBinding['netnsCookie']>) => wrap(load().netnsCookie(...a), undefined, stack()),
  rtnlLinks: (...a: Parameters<NativeBinding['rtnlLinks']>) => wrap(load().rtnlLinks(...a), undefined, stack()),
  ipsetEnsure: (...a: Parameters<NativeBinding['ipsetEnsure']>) => wrap(load().ipsetEnsure(...a), undefined, stack()),
  ipsetList: (...a: Parameters<NativeBinding['ipsetList']>) => wrap(load().ipsetList(...a), undefined, stack()),
  restore: (...a: Parameters<NativeBinding['restore']>) => wrap(load().restore(...a), a[0], stack()),
  readHolding: (...a: Parameters<NativeBinding['readHolding']>) => wrap(load().readHolding(...a), a[0], stack()),
  save: (...a: Parameters<NativeBinding['save']>) => wrap(load().save(...a), a[0], stack()),
  scratchBytes: (): { kept: number; lent: number } => load().scratchBytes(),
};

interface NativeParseErrorShape {
  message: string;
  code: 'EPARSE';
  line?: number;
  token?: string;
  expected?: string;
}

/** Runs a dialect call, turning its EPARSE errors into ParseError (with the caller's stack). */
function dialect<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const n = e as Partial<NativeParseErrorShape> | null;
    if (n === null || typeof n !== 'object' || n.code !== 'EPARSE') throw e;
    throw new ParseError(n.message ?? 'cannot parse', {
      ...(n.line !== undefined ? { line: n.line } : {}),
      ...(n.token !== undefined ? { token: n.token } : {}),
      ...(n.expected !== undefined ? { expected: n.expected } : {}),
    });
  }
}

/** The native iptables dialect (synchronous; bad text throws ParseError). */
export const nativeDialect = {
  rule: (...a: Parameters<NativeBinding['dialectRule']>) => dialect(() => load().dialectRule(...a)),
  canonical: (...a: Parameters<NativeBinding['dialectCanonical']>) => dialect(() => load().dialectCanonical(...a)),
  restore: (...a: Parameters<NativeBinding['dialectRestore']>) => dialect(() => load().dialectRestore(...a)),
  restoreResult: (...a: Parameters<NativeBinding['restoreResult']>) => dialect(() => load().restoreResult(...a)),
  listRule: (...a: Parameters<NativeBinding['dialectListRule']>) => dialect(() => load().dialectListRule(...a)),
  listChain: (...a: Parameters<NativeBinding['dialectListChain']>) => dialect(() => load().dialectListChain(...a)),
};
