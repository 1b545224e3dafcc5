// Profiles Docker's operations on a big host with the compiled code (dist/, or $IPTKIT_DIST;
// build it first with `npm run build`: --spawn runs the bundled dist/iptkit.cjs). Per back
// end, in throwaway namespaces (never the root one):
//   apply   `iptkit docker apply` of a 10,000-port state onto a fresh namespace
//   reapply the same state again (nothing changes)
//   publish one more port, then unpublish it (alternating, on the 10,000-port host)
//   restore `iptables-restore -n` of the same 3 rules publish adds, as a process (the yardstick
//           publish and unpublish are to beat), then of their deletion (not timed)
// Operations run in-process through the CLI's main() (what `iptkit docker …` runs, minus
// node's start-up); with --spawn, as real `node dist/iptkit.cjs` processes (the bin) instead.
// Prints median wall and CPU (user+system of this process) milliseconds per operation.
//
//   node bench/docker-profile.mjs [--backend legacy|nft] [--reps N] [--ports N[,N…]] [--spawn]
//                                 [--only apply,reapply,publish,unpublish,restore]
// A private xtables lock file is used, so a long lock hold elsewhere cannot skew the numbers.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backends = opt('backend') ? [opt('backend')] : ['legacy', 'nft'];
const reps = Number(opt('reps', '5'));
const portCounts = opt('ports', '10000').split(',').map(Number);
const spawnMode = args.includes('--spawn');
const only = new Set((opt('only', 'apply,reapply,publish,unpublish,restore')).split(','));

const root = new URL('..', import.meta.url).pathname;
const dist = process.env['IPTKIT_DIST'] ?? join(root, 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'iptkit-docker-prof-'));
process.env['XTABLES_LOCKFILE'] = join(tmp, 'xtables.lock');
const { main } = await import(join(dist, 'src/cli/main.js'));

const seed = JSON.parse(readFileSync(join(root, 'fixtures/seed-docker-host.json'), 'utf8'));
function stateFileOf(portCount) {
  const ports = Array.from({ length: portCount }, (_, i) => ({
    network: 'app',
    proto: 'tcp',
    hostIp: '0.0.0.0',
    hostPort: 20_000 + i,
    containerIp: `172.19.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`,
    containerPort: 8080,
  }));
  const file = join(tmp, `state-${portCount}.json`);
  writeFileSync(file, JSON.stringify({ ...seed, ports }));
  return file;
}
const BRIDGE = 'br-96a729b6b174';
/** The rules publishing host port `port` adds, as iptables-restore input (`-A`, or `-D`). */
function restoreInput(port, op) {
  return [
    '*nat',
    `${op} DOCKER ! -i ${BRIDGE} -p tcp -m tcp --dport ${port} -j DNAT --to-destination 172.19.200.2:80`,
    `${op} POSTROUTING -s 172.19.200.2/32 -d 172.19.200.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE`,
    'COMMIT',
    '*filter',
    `${op} DOCKER -d 172.19.200.2/32 ! -i ${BRIDGE} -o ${BRIDGE} -p tcp -m tcp --dport 80 -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}

const live = new Set();
function netnsAdd() {
  const name = `iptkit-dprof-${process.pid}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  live.add(name);
  return name;
}
function netnsDel(name) {
  if (!live.delete(name)) return;
  spawnSync('ip', ['netns', 'delete', name]);
}
process.on('exit', () => [...live].forEach(netnsDel));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

async function iptkit(argv) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let out = '';
  let err = '';
  let code;
  if (spawnMode) {
    const r = spawnSync(process.execPath, [join(dist, 'iptkit.cjs'), ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
    ({ stdout: out, stderr: err } = r);
    code = r.status;
  } else {
    code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cu = process.cpuUsage(c0);
  if (code !== 0) throw new Error(`iptkit ${argv.join(' ')} exited ${code}: ${err.trim()}`);
  return { ms, cpu: (cu.user + cu.system) / 1000, out };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const results = [];
function report(backend, portCount, op, samples, processes = spawnMode) {
  const wall = median(samples.map((s) => s.ms));
  const cpu = median(samples.map((s) => s.cpu));
  results.push({ backend, ports: portCount, op, wall, cpu, n: samples.length });
  console.log(
    `${backend.padEnd(6)} ${String(portCount).padStart(6)} ${op.padEnd(9)} median wall ${wall.toFixed(0).padStart(6)} ms  cpu ${processes ? '   (n/a)' : cpu.toFixed(0).padStart(6) + ' ms'}  [${samples.map((s) => s.ms.toFixed(0)).join(' ')}]`,
  );
}

function restoreTool(backend) {
  return backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
}

for (const backend of backends) for (const portCount of portCounts) {
  const stateFile = stateFileOf(portCount);
  const common = ['--backend', backend];
  if (only.has('apply')) {
    const samples = [];
    for (let r = 0; r < reps; r++) {
      const ns = netnsAdd();
      try {
        samples.push(await iptkit(['docker', 'apply', ...common, '--netns', ns, stateFile]));
      } finally {
        netnsDel(ns);
      }
    }
    report(backend, portCount, 'apply', samples);
  }
  const ns = netnsAdd();
  try {
    await iptkit(['docker', 'apply', ...common, '--netns', ns, stateFile]);
    if (only.has('reapply')) {
      const samples = [];
      for (let r = 0; r < reps; r++) {
        const s = await iptkit(['docker', 'apply', '--json', ...common, '--netns', ns, stateFile]);
        const changed = JSON.parse(s.out).ipv4.changed;
        if (changed.length) throw new Error(`re-apply changed ${changed.join(', ')}`);
        samples.push(s);
      }
      report(backend, portCount, 'reapply', samples);
    }
    if (only.has('publish') || only.has('unpublish')) {
      const pub = [];
      const unpub = [];
      for (let r = 0; r < reps; r++) {
        const port = String(40_000 + r);
        const p = await iptkit(['docker', 'publish', ...common, '--netns', ns, '--network', BRIDGE, '--container-ip', '172.19.200.2', `${port}:80`]);
        if (!p.out.startsWith('published 1 port')) throw new Error(`publish: ${p.out}`);
        pub.push(p);
        const u = await iptkit(['docker', 'unpublish', ...common, '--netns', ns, port]);
        if (!u.out.startsWith('unpublished 1 port')) throw new Error(`unpublish: ${u.out}`);
        unpub.push(u);
      }
      if (only.has('publish')) report(backend, portCount, 'publish', pub);
      if (only.has('unpublish')) report(backend, portCount, 'unpublish', unpub);
    }
    if (only.has('restore')) {
      const samples = [];
      for (let r = 0; r < reps; r++) {
        const port = 41_000 + r;
        const t0 = process.hrtime.bigint();
        const x = spawnSync('ip', ['netns', 'exec', ns, restoreTool(backend), '-n'], { input: restoreInput(port, '-A'), encoding: 'utf8' });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (x.status !== 0) throw new Error(`${restoreTool(backend)} -n: ${x.stderr.trim()}`);
        samples.push({ ms, cpu: 0 });
        const y = spawnSync('ip', ['netns', 'exec', ns, restoreTool(backend), '-n'], { input: restoreInput(port, '-D'), encoding: 'utf8' });
        if (y.status !== 0) throw new Error(`${restoreTool(backend)} -n (delete): ${y.stderr.trim()}`);
      }
      report(backend, portCount, 'restore', samples, true);
    }
  } finally {
    netnsDel(ns);
  }
}
if (args.includes('--json')) console.log(JSON.stringify(results));
