// The one network-namespace helper every kernel and e2e test uses: creates a throwaway
// namespace with a unique name, runs the real tools inside it, and always deletes it.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
  /** exec(): the signal that ended the command (SIGKILL after its timeout). */
  signal?: NodeJS.Signals;
}

export class Netns {
  readonly name: string;
  readonly path: string;
  private deleted = false;

  constructor(prefix = 'iptkit-test') {
    this.name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.path = `/var/run/netns/${this.name}`;
    execFileSync('ip', ['netns', 'add', this.name]);
    live.add(this);
  }

  /** Runs a command inside the namespace; never throws on a non-zero exit. */
  run(cmd: string, args: readonly string[] = [], input?: string | Uint8Array): RunResult {
    const r = spawnSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      input,
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
  }

  /**
   * run() without blocking the event loop, for long loops (the differential fuzzer); a command
   * still running after timeoutMs is killed and reports status -1.
   */
  exec(cmd: string, args: readonly string[] = [], input?: string, timeoutMs = 30_000): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => (clearTimeout(timer), reject(e)));
      child.on('close', (code, signal) => (clearTimeout(timer), resolve({ stdout, stderr, status: code ?? -1, ...(signal ? { signal } : {}) })));
      // A tool that refuses early closes its stdin; what it did not read does not matter.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }

  /** Runs a command inside the namespace and returns stdout; throws with stderr on failure. */
  ok(cmd: string, args: readonly string[] = [], input?: string | Uint8Array): string {
    const r = this.run(cmd, args, input);
    if (r.status !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} exited ${r.status} in ${this.name}: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    live.delete(this);
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

const live = new Set<Netns>();
// Deleted even when a test fails or forgets to: no namespace outlives its test file. Outside
// vitest (the differential fuzzer's own script) vitest cannot be imported; exit still deletes.
if (process.env.VITEST) {
  const { afterAll } = await import('vitest');
  afterAll(() => {
    for (const ns of [...live]) ns.delete();
  });
}
process.on('exit', () => {
  for (const ns of [...live]) spawnSync('ip', ['netns', 'delete', ns.name]);
});

/** Creates a namespace, runs fn, and deletes the namespace whatever happens. */
export async function withNetns<T>(fn: (ns: Netns) => Promise<T> | T, prefix?: string): Promise<T> {
  const ns = new Netns(prefix);
  try {
    return await fn(ns);
  } finally {
    ns.delete();
  }
}

/**
 * The chain and rule lines of iptables-save output (and `*table`/COMMIT), without the
 * `# Generated`/`# Completed` comments that carry a timestamp.
 */
export function saveLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

export const isRoot = process.getuid?.() === 0;
