// The benchmark's own network-namespace helper (the tests' helper imports vitest): throwaway
// namespaces with unique names, the real tools run inside them through nsenter, and every
// namespace deleted again — on success, on an exception, on SIGINT/SIGTERM and at exit.
// Nothing here touches the root namespace's rules.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
  /** Wall time of the whole process (spawn to exit), in ms. */
  ms: number;
}

export type BackendKind = 'legacy' | 'nft';

/** The tool names of a back end. */
export function tools(backend: BackendKind): { iptables: string; restore: string; save: string } {
  return backend === 'legacy'
    ? { iptables: 'iptables-legacy', restore: 'iptables-legacy-restore', save: 'iptables-legacy-save' }
    : { iptables: 'iptables-nft', restore: 'iptables-nft-restore', save: 'iptables-nft-save' };
}

const live = new Set<Netns>();

/** No command may run longer than this (a hung tool must not hang the benchmark). */
export const RUN_TIMEOUT_MS = Number(process.env['IPTKIT_BENCH_TIMEOUT_MS'] ?? 15 * 60_000);

/** Who holds flock locks now (for a timeout's error message: usually the xtables lock). */
function lockHolders(): string {
  try {
    const l = readFileSync('/proc/locks', 'utf8').split('\n').filter((x) => x.includes('FLOCK') && !x.includes('->'));
    return l.length ? `; flock holders: ${l.map((x) => x.split(/\s+/)[4]).join(', ')} (this process: ${process.pid})` : '';
  } catch {
    return '';
  }
}

export class Netns {
  readonly name: string;
  readonly path: string;
  private deleted = false;

  constructor(prefix = 'iptkit-bench') {
    this.name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.path = `/var/run/netns/${this.name}`;
    execFileSync('ip', ['netns', 'add', this.name]);
    live.add(this);
  }

  /**
   * Runs a command inside the namespace (nsenter --net: one setns and an exec, no mount
   * namespace as `ip netns exec` makes); never throws on a non-zero exit.
   */
  run(cmd: string, args: readonly string[] = [], input?: string): RunResult {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('nsenter', [`--net=${this.path}`, cmd, ...args], {
      input,
      encoding: 'utf8',
      maxBuffer: 1024 * 1024 * 1024,
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      if (code === 'ETIMEDOUT') throw new Error(`${cmd} timed out after ${RUN_TIMEOUT_MS / 1000} s in ${this.name}${lockHolders()}`);
      throw r.error;
    }
    return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1, ms };
  }

  /** Like run, but throws with stderr when the command fails. */
  ok(cmd: string, args: readonly string[] = [], input?: string): RunResult {
    const r = this.run(cmd, args, input);
    if (r.status !== 0) {
      const what = `${cmd} ${args.join(' ')}`.slice(0, 200);
      throw new Error(`${what} exited ${r.status} in ${this.name}: ${r.stderr.trim().slice(0, 500)}`);
    }
    return r;
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    live.delete(this);
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

/** Deletes every namespace this process still has. */
export function deleteAll(): void {
  for (const ns of [...live]) ns.delete();
}

let installed = false;
/** Deletes the namespaces on exit and on SIGINT/SIGTERM/SIGHUP (then exits 130/143/129). */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', deleteAll);
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [sig, code] of Object.entries(codes)) {
    process.on(sig, () => {
      process.stderr.write(`\n[bench] ${sig}: deleting ${live.size} namespace(s) and stopping\n`);
      deleteAll();
      process.exit(code);
    });
  }
}

/** Creates a namespace, runs fn, and deletes the namespace whatever happens. */
export async function withNetns<T>(fn: (ns: Netns) => Promise<T> | T, prefix?: string): Promise<T> {
  const ns = new Netns(prefix);
  try {
    return await fn(ns);
  } finally {
    ns.delete();
  }
}

/** The chain and rule lines of iptables-save output, without comments and counters. */
export function saveLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('[') ? l.replace(/^\[[0-9]+:[0-9]+\] /, '') : l.startsWith(':') ? l.replace(/ \[[0-9]+:[0-9]+\]$/, '') : l));
}
