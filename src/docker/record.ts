// The Docker record: what `apply` was told that the kernel's rules cannot hold (network names,
// a subnet without a NAT rule, the options the rules do not show, `ip6tables: false`), kept
// BESIDE the rules so that `docker state` gives back the state that was applied and `publish`
// accepts its network names. Never inside Docker's chains: dockerd deletes its rules by their
// exact text, so a comment or match added to them would strand them (docs/design.md, "The
// Docker record").
//
// One file per network namespace, `netns-MAJOR:MINOR-INODE.docker.json` in iptkit's run
// directory ($IPTKIT_INTENT_DIR, else /run/iptkit, as the intent records of
// native/common/intent.cc), keyed by the namespace file's device and inode. It is a tmpfs
// file, so it goes with a reboot, as the rules it describes do. It is only ever a hint: each
// network's entry is used for a bridge the rules still have and whose subnet the rules do not
// contradict (infer.ts), so a record outliving its network, or its namespace's inode number
// coming back, names nothing wrongly. Each write removes the records of namespaces that are
// gone (pruneRecords), so a host that makes and deletes namespaces does not collect them.
//
// It also says what the last apply left (`applied`): the state's digest, and per family the
// fingerprint of the Docker tables right after its commit. An apply of the same state by
// any process (`iptkit docker apply` is a new DockerHost every time) that finds the tables
// still at those fingerprints has nothing to do, and reads and plans nothing. The record
// names its namespace by cookie as well (SO_NETNS_COOKIE, never reused in a boot), so a
// namespace that took over a deleted one's inode number never matches its record's marks.

import { readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { BackendKind } from '../backend/backend.js';
import { netnsPath } from '../backend/env.js';
import { native } from '../binding.js';
import { NetfilterError } from '../errors.js';
import type { Family } from '../rules/model.js';
import type { InferHints } from './infer.js';
import type { DockerCommitResult } from './ops.js';
import type { DockerState } from './state.js';

const VERSION = 1;

function runDir(): string {
  const d = process.env['IPTKIT_INTENT_DIR'];
  return d !== undefined && d !== '' ? d : '/run/iptkit';
}

/** `MAJOR:MINOR-INODE` of a namespace file: Linux's dev_t encoding (glibc major()/minor()), as the intent records name it. */
function nsKey(dev: bigint, ino: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}-${ino}`;
}

/** The record's path for a namespace (`--netns` NAME or path; undefined: this process's). */
export async function recordPath(netns: string | undefined): Promise<string> {
  // Synchronous: a stat of a namespace file is microseconds, a thread-pool round trip more
  // (every publish and unpublish reads the record).
  const st = statSync(netnsPath(netns) ?? '/proc/self/ns/net', { bigint: true });
  return `${runDir()}/netns-${nsKey(st.dev, st.ino)}.docker.json`;
}

const RECORD_NAME = /^netns-(\d+:\d+-\d+)\.docker\.json$/;

/**
 * The network namespaces that exist, as `MAJOR:MINOR-INODE`: the ones a process is in and the
 * ones a mount holds (`ip netns add`, Docker's /var/run/docker/netns). A namespace held only by
 * an open file descriptor is not seen; its record, a hint, may then go.
 */
async function liveNamespaces(): Promise<Set<string>> {
  const live = new Set<string>();
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const st = await stat(`/proc/${pid}/ns/net`, { bigint: true });
        live.add(nsKey(st.dev, st.ino));
      } catch {
        // The process ended, or is not ours to look at: it holds no namespace we could lose.
      }
    }),
  );
  // mountinfo: `ID PARENT MAJ:MIN ROOT MOUNTPOINT … - nsfs …`, ROOT `net:[INODE]`.
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const f = line.split(' ');
    const m = /^net:\[(\d+)\]$/.exec(f[3] ?? '');
    if (m && f[f.indexOf('-') + 1] === 'nsfs') live.add(`${f[2]}-${m[1]}`);
  }
  return live;
}

/**
 * Removes the records of namespaces that no longer exist (best effort: a failure leaves them,
 * as harmless as before). `own` is the record just written, never touched.
 */
export async function pruneRecords(own: string): Promise<void> {
  try {
    const names = (await readdir(runDir())).filter((n) => RECORD_NAME.test(n) && `${runDir()}/${n}` !== own);
    if (names.length === 0) return;
    const live = await liveNamespaces();
    await Promise.all(
      names
        .filter((n) => !live.has(RECORD_NAME.exec(n)![1]!))
        .map((n) => unlink(`${runDir()}/${n}`).catch(() => undefined)),
    );
  } catch {
    // Nothing depends on pruning.
  }
}

/** The hints a state's record holds: every network's options, and the daemon options given. */
export function recordOf(state: DockerState): InferHints {
  return {
    networks: state.networks.map((n) => ({ ...n })),
    ...(state.iptables !== undefined ? { iptables: state.iptables } : {}),
    ...(state.ip6tables !== undefined ? { ip6tables: state.ip6tables } : {}),
    ...(state.allowDirectRouting !== undefined ? { allowDirectRouting: state.allowDirectRouting } : {}),
    ...(state.acceptFwMark !== undefined ? { acceptFwMark: state.acceptFwMark } : {}),
    ...(state.ipForwardNoDrop !== undefined ? { ipForwardNoDrop: state.ipForwardNoDrop } : {}),
    // Only the one layout the rules may not show (infer.ts: v28.1 without a per-port DROP).
    ...(state.layout === 'v28.1' ? { layout: state.layout } : {}),
  };
}

/** A file-system failure as the one-line error the intent records give (op 'record'). */
function recordError(what: string, path: string, e: unknown): NetfilterError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const errno = (constants.errno as Record<string, number>)[code] ?? 0;
  return new NetfilterError(`${what} the Docker record ${path}: ${code} (${(e as Error).message.split(',')[0]})`, { code, errno, op: 'record' });
}

/**
 * What an apply left: the digest of the state it was given, the back end, per family the
 * fingerprint its commit returned (Netfilter.update's), and its result.
 */
export interface AppliedMarks {
  digest: string;
  backend: BackendKind;
  marks: Partial<Record<Family, string>>;
  result: DockerCommitResult;
}

/**
 * Writes the record of an applied state (a temporary file renamed over the old one), with
 * what the apply left when it can be trusted by the next one (`applied`).
 */
export async function writeRecord(netns: string | undefined, state: DockerState, applied?: AppliedMarks): Promise<void> {
  const path = await recordPath(netns);
  const tmp = `${path}.${process.pid}.tmp`;
  const cookie = applied ? await namespaceCookie(netns) : '0';
  try {
    await mkdir(runDir(), { recursive: true, mode: 0o700 });
    const record = { version: VERSION, ...recordOf(state), ...(applied && cookie !== '0' ? { applied: { ...applied, cookie } } : {}) };
    await writeFile(tmp, JSON.stringify(record) + '\n', { mode: 0o600 });
    await rename(tmp, path);
  } catch (e) {
    throw recordError('the rules are committed, but iptkit cannot write', path, e);
  }
  await pruneRecords(path);
}

/**
 * The record of a namespace, or undefined when there is none. A record iptkit cannot read (a
 * newer version, damaged JSON) is treated as absent: it only ever names what rules show.
 */
export async function readRecord(netns: string | undefined): Promise<InferHints | undefined> {
  const json = await recordJson(netns);
  if (!json) return undefined;
  const { networks, iptables, ip6tables, allowDirectRouting, acceptFwMark, ipForwardNoDrop, layout } = json;
  if (!Array.isArray(networks)) return undefined;
  return {
    networks: networks.filter((n): n is { bridge: string } => typeof n === 'object' && n !== null && typeof (n as { bridge?: unknown }).bridge === 'string'),
    ...(typeof iptables === 'boolean' ? { iptables } : {}),
    ...(typeof ip6tables === 'boolean' ? { ip6tables } : {}),
    ...(typeof allowDirectRouting === 'boolean' ? { allowDirectRouting } : {}),
    ...(typeof acceptFwMark === 'string' ? { acceptFwMark } : {}),
    ...(typeof ipForwardNoDrop === 'boolean' ? { ipForwardNoDrop } : {}),
    ...(typeof layout === 'string' ? { layout } : {}),
  };
}

/**
 * What the last apply in this namespace left, if the record holds it for this back end and
 * was written in this very namespace (its cookie); else undefined.
 */
export async function readApplied(netns: string | undefined, backend: BackendKind): Promise<AppliedMarks | undefined> {
  const a = (await recordJson(netns))?.['applied'];
  if (typeof a !== 'object' || a === null) return undefined;
  const { digest, marks, result, cookie } = a as Record<string, unknown>;
  if (typeof digest !== 'string' || (a as { backend?: unknown }).backend !== backend) return undefined;
  if (typeof marks !== 'object' || marks === null || typeof result !== 'object' || result === null) return undefined;
  if (!Object.values(marks).every((m) => typeof m === 'string')) return undefined;
  const counted = (r: unknown): boolean => typeof r === 'object' && r !== null && typeof (r as CommitLike).kept === 'number' && typeof (r as CommitLike).added === 'number';
  if (!Object.values(result).every(counted)) return undefined;
  if (typeof cookie !== 'string' || cookie === '0' || cookie !== (await namespaceCookie(netns))) return undefined;
  return { digest, backend, marks: marks as AppliedMarks['marks'], result: result as DockerCommitResult };
}

type CommitLike = { kept?: unknown; added?: unknown };

/** The namespace's cookie, '0' when it has none or cannot be entered (then no mark is trusted; the operation itself reports the namespace). */
function namespaceCookie(netns: string | undefined): Promise<string> {
  return native.netnsCookie(netnsPath(netns) ?? null).catch(() => '0');
}

/** The record's JSON object, or undefined when there is none or iptkit cannot read it (a newer version, damaged JSON). */
async function recordJson(netns: string | undefined): Promise<Record<string, unknown> | undefined> {
  const path = await recordPath(netns);
  let text: string;
  try {
    // A file of a few hundred bytes under /run: read at once rather than in four thread-pool
    // round trips (open, stat, read, close).
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw recordError('iptkit cannot read', path, e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || (json as { version?: unknown }).version !== VERSION) return undefined;
  return json as Record<string, unknown>;
}

/** Hints given by the caller over the record's: the caller's entries win, bridge by bridge. */
export function mergeHints(record: InferHints | undefined, given: InferHints): InferHints {
  if (!record) return given;
  const mine = new Set((given.networks ?? []).map((n) => n.bridge));
  return {
    networks: [...(given.networks ?? []), ...(record.networks ?? []).filter((n) => !mine.has(n.bridge))],
    ...pick('iptables'),
    ...pick('ip6tables'),
    ...pick('allowDirectRouting'),
    ...pick('acceptFwMark'),
    ...pick('ipForwardNoDrop'),
    ...pick('layout'),
  };
  function pick(key: 'iptables' | 'ip6tables' | 'allowDirectRouting' | 'acceptFwMark' | 'ipForwardNoDrop' | 'layout'): InferHints {
    const v = given[key] ?? record![key];
    return v === undefined ? {} : { [key]: v };
  }
}
