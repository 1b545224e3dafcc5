#!/usr/bin/env node
// `npm run demo`: iptkit on a safe default. Everything happens in throwaway network
// namespaces that this script creates and deletes; the machine's own rules are never read or
// changed. It loads the seed Docker host, lists its nat table the way the seed article shows
// it, then commits 10,000 published ports in one commit with iptkit and with
// iptables-legacy-restore, and compares the times and the resulting kernel state.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median, portRestoreInput } from '../../bench/workload.js';
import { Netfilter } from '../netfilter.js';
import { main } from './main.js';

const SEED_BRIDGE = 'br-96a729b6b174';
const PORTS = 10_000;
const RUNS = 5;

const seedPath = fileURLToPath(new URL('../../../fixtures/seed-docker-host.rules', import.meta.url));

function say(text: string): void {
  process.stderr.write(`\x1b[1m[iptkit demo]\x1b[0m ${text}\n`);
}

function run(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

const created: string[] = [];

function netnsAdd(): string {
  const name = `iptkit-demo-${process.pid}-${randomBytes(2).toString('hex')}`;
  run('ip', ['netns', 'add', name]);
  created.push(name);
  return name;
}

function netnsDelete(name: string): void {
  spawnSync('ip', ['netns', 'delete', name]);
  const i = created.indexOf(name);
  if (i >= 0) created.splice(i, 1);
}

function cleanup(): void {
  for (const name of [...created]) netnsDelete(name);
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

/** A fresh namespace holding the seed Docker host, loaded by the real tool. */
function seededNetns(restore: string): string {
  const ns = netnsAdd();
  run('ip', ['netns', 'exec', ns, restore, '-c'], readFileSync(seedPath, 'utf8'));
  return ns;
}

function ruleLines(ns: string, save: string): string[] {
  return run('ip', ['netns', 'exec', ns, save]).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

async function compare(backend: 'legacy' | 'nft'): Promise<{ ours: number; theirs: number } | undefined> {
  const restore = backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
  const save = backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
  const input = portRestoreInput(PORTS, 0, SEED_BRIDGE, true);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const a = seededNetns(restore);
    const b = seededNetns(restore);
    try {
      const nf = await Netfilter.open({ backend, netns: a });
      let t = performance.now();
      await nf.restore(input, { noflush: true });
      ours.push(performance.now() - t);
      t = performance.now();
      run('ip', ['netns', 'exec', b, restore, '-n'], input);
      theirs.push(performance.now() - t);
      if (i === 1) {
        const same = JSON.stringify(ruleLines(a, save)) === JSON.stringify(ruleLines(b, save));
        if (!same) throw new Error(`after the commit, ${save} differs between iptkit's namespace and ${restore}'s`);
        say(`  ${backend}: both namespaces hold the same ${ruleLines(a, save).filter((l) => l.startsWith('-A')).length} rules (checked with ${save})`);
      }
      say(`  ${backend} run ${i}/${RUNS}: iptkit ${ours.at(-1)!.toFixed(1)} ms, ${restore} -n ${theirs.at(-1)!.toFixed(1)} ms`);
    } finally {
      netnsDelete(a);
      netnsDelete(b);
    }
  }
  return { ours: median(ours), theirs: median(theirs) };
}

async function demo(): Promise<number> {
  say('working in throwaway network namespaces only; the machine\'s own rules are not touched');
  const ns = seededNetns('iptables-legacy-restore');
  say(`created namespace ${ns} and loaded the seed Docker host (fixtures/seed-docker-host.rules) with iptables-legacy-restore -c`);
  say(`$ iptkit list -t nat -n -v --backend legacy --netns ${ns}`);
  const code = await main(['list', '-t', 'nat', '-n', '-v', '--backend', 'legacy', '--netns', ns]);
  if (code !== 0) return code;
  netnsDelete(ns);

  say(`committing ${PORTS.toLocaleString('en')} published ports (${(3 * PORTS).toLocaleString('en')} rules: nat DNAT, nat hairpin MASQUERADE, filter ACCEPT) in one commit,`);
  say(`each run in two fresh namespaces with the seed loaded: iptkit (in-process: parse + plan + commit) vs the real tool on the same input`);
  const rows: string[] = [];
  for (const backend of ['legacy', 'nft'] as const) {
    try {
      const r = await compare(backend);
      if (r) {
        const tool = backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
        rows.push(
          `  ${backend.padEnd(6)}  iptkit ${r.ours.toFixed(1).padStart(7)} ms   ${tool.padEnd(23)} ${r.theirs.toFixed(1).padStart(7)} ms   ` +
            (r.theirs >= r.ours
              ? `iptkit is ${(r.theirs / r.ours).toFixed(2)}x faster`
              : `iptkit takes ${(r.ours / r.theirs).toFixed(2)}x as long`),
        );
      }
    } catch (e) {
      rows.push(`  ${backend.padEnd(6)}  failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  say(`medians of ${RUNS} runs, ${PORTS.toLocaleString('en')} published ports:`);
  for (const r of rows) process.stdout.write(r + '\n');
  say('deleted every namespace the demo created');
  return rows.some((r) => r.includes('failed')) ? 1 : 0;
}

demo().then(
  (code) => {
    cleanup();
    process.exitCode = code;
  },
  (e: unknown) => {
    cleanup();
    process.stderr.write(`iptkit demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
