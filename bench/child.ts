// One iptkit operation in a process of its own, for the measurements that need a clean
// process: peak RSS growth, the longest event-loop stall, and the kernel floor (run under
// strace by bench/run.ts). Prints one JSON line on stdout.
//
//   node dist/bench/child.js restore   BACKEND NETNS PORTS   Netfilter.restore (full) of the workload
//   node dist/bench/child.js apply     BACKEND NETNS PORTS [--stall] [--layout L]   DockerHost.apply
//   node dist/bench/child.js publish   BACKEND NETNS PORTS   DockerHost.publish of port PORTS (0-based)
//   node dist/bench/child.js unpublish BACKEND NETNS PORTS   DockerHost.unpublish of it
//   node dist/bench/child.js read      BACKEND NETNS         Netfilter.read (all tables, counters)

import { readFileSync } from 'node:fs';
import { DockerHost } from '../src/docker/ops.js';
import type { DockerState } from '../src/docker/state.js';
import { Netfilter } from '../src/netfilter.js';
import { dockerHostWithPortsInput, dockerPort, dockerState, hostPort } from './workload.js';

const [mode, backend, netns, portsArg] = process.argv.slice(2);
const stall = process.argv.includes('--stall');
// `--layout L`: apply the workload's ports in that Docker layout (default: classic).
const layoutAt = process.argv.indexOf('--layout');
const layout = (layoutAt > 0 ? process.argv[layoutAt + 1] : 'classic') as DockerState['layout'];

async function main(): Promise<void> {
  if (backend !== 'legacy' && backend !== 'nft') throw new Error(`backend: ${String(backend)}`);
  if (!netns) throw new Error('netns missing');
  const n = Number(portsArg ?? 0);
  if (!Number.isInteger(n)) throw new Error('ports');
  let op: () => Promise<unknown>;
  if (mode === 'read' || mode === 'restore') {
    const nf = await Netfilter.open({ backend, netns });
    if (mode === 'read') op = () => nf.read();
    else {
      const text = dockerHostWithPortsInput(n);
      op = () => nf.restore(text);
    }
  } else {
    const host = await DockerHost.open({ backend, netns });
    if (mode === 'apply') {
      const state = dockerState(n, undefined, layout);
      op = () => host.apply(state);
    } else if (mode === 'publish') {
      op = async () => {
        const r = await host.publish([dockerPort(n)]);
        if (r.changed !== 1) throw new Error(`publish changed ${r.changed} ports`);
      };
    } else if (mode === 'unpublish') {
      op = async () => {
        const r = await host.unpublish([{ proto: 'tcp', hostPort: hostPort(n) }]);
        if (r.changed !== 1) throw new Error(`unpublish changed ${r.changed} ports`);
      };
    } else throw new Error(`mode: ${String(mode)}`);
  }
  // The input is the caller's: made before the baseline.
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage.rss();

  let maxStall = 0;
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  if (stall) {
    timer = setInterval(() => {
      const now = performance.now();
      const late = now - last - 1;
      if (late > maxStall) maxStall = late;
      last = now;
    }, 1);
    // Let the timer settle before the operation starts.
    await new Promise((r) => setTimeout(r, 20));
    maxStall = 0;
    last = performance.now();
  }

  const t0 = performance.now();
  await op();
  const ms = performance.now() - t0;
  if (timer) {
    // One more tick, so a stall at the very end is seen too.
    await new Promise((r) => setTimeout(r, 2));
    clearInterval(timer);
  }
  const maxRssBytes = peakRss();
  process.stdout.write(
    JSON.stringify({
      ms,
      baselineRss: baseline,
      maxRss: maxRssBytes,
      rssGrowth: maxRssBytes - baseline,
      ...(stall ? { maxStallMs: maxStall } : {}),
    }) + '\n',
  );
}

/**
 * This process's peak RSS: VmHWM, the high-water mark of its own memory map. Not
 * resourceUsage().maxRSS: Linux carries a process's maxrss over from the parent it was forked
 * from (the copy of the parent's map counts until exec), so a child of a big benchmark process
 * reported the parent's size as its own peak.
 */
function peakRss(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/self/status');
  return Number(m[1]) * 1024;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
