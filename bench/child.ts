// One iptkit operation in a process of its own, for the measurements that need a clean
// process: peak RSS growth, the longest event-loop stall, and the kernel floor (run under
// strace by bench/run.ts). Prints one JSON line on stdout.
//
//   node dist/bench/child.js apply  BACKEND NETNS PORTS [OFFSET] [--stall]
//   node dist/bench/child.js delete BACKEND NETNS PORTS [OFFSET]
//   node dist/bench/child.js read   BACKEND NETNS

import { Netfilter } from '../src/netfilter.js';
import { portDeleteRestoreInput, portRestoreInput } from './workload.js';

const [mode, backend, netns, portsArg, offsetArg] = process.argv.slice(2);
const stall = process.argv.includes('--stall');

async function main(): Promise<void> {
  if (backend !== 'legacy' && backend !== 'nft') throw new Error(`backend: ${String(backend)}`);
  if (!netns) throw new Error('netns missing');
  const nf = await Netfilter.open({ backend, netns });
  if (mode === 'read') {
    const t0 = performance.now();
    const tables = await nf.read();
    const ms = performance.now() - t0;
    const rules = tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
    process.stdout.write(JSON.stringify({ ms, rules }) + '\n');
    return;
  }
  const ports = Number(portsArg);
  const offset = Number(offsetArg ?? 0);
  if (!Number.isInteger(ports) || !Number.isInteger(offset)) throw new Error('ports/offset');
  // The input is the caller's: made before the baseline.
  const text = mode === 'delete' ? portDeleteRestoreInput(ports, offset) : portRestoreInput(ports, offset);
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
    // Let the timer settle before the apply starts.
    await new Promise((r) => setTimeout(r, 20));
    maxStall = 0;
    last = performance.now();
  }

  const t0 = performance.now();
  const result = await nf.restore(text, { noflush: true });
  if (!result) throw new Error('restore committed nothing');
  const ms = performance.now() - t0;
  if (timer) {
    // One more tick, so a stall at the very end is seen too.
    await new Promise((r) => setTimeout(r, 2));
    clearInterval(timer);
  }
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    JSON.stringify({
      ms,
      added: result.added,
      deleted: result.deleted,
      baselineRss: baseline,
      maxRss: maxRssBytes,
      rssGrowth: maxRssBytes - baseline,
      ...(stall ? { maxStallMs: maxStall } : {}),
    }) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
