// Profiles the native nf_tables paths (nftRead / nftCommit) on bench/workload.ts's workload:
// N published ports in Docker's classic layout (nat DNAT + hairpin MASQUERADE, filter ACCEPT),
// in throwaway network namespaces that are always deleted again.
//
//   IPTKIT_NATIVE=build-nftperf/Release/iptkit.node node bench/native-nft-profile.mjs [ports] [runs] [only-op]
//
// only-op (for perf/callgrind): commit-new | read | keep1 | one — runs just that operation.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const native = require(process.env.IPTKIT_NATIVE ?? new URL('../build/Release/iptkit.node', import.meta.url).pathname);
const PORTS = Number(process.argv[2] ?? 10000);
const RUNS = Number(process.argv[3] ?? 5);
const ONLY = process.argv[4];
const BR = 'br-0123456789ab';

const live = new Set();
function netns() {
  const name = `iptkit-nftprof-${process.pid}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  live.add(name);
  return { name, path: `/var/run/netns/${name}` };
}
function del(ns) {
  spawnSync('ip', ['netns', 'delete', ns.name]);
  live.delete(ns.name);
}
function cleanup() {
  for (const n of live) spawnSync('ip', ['netns', 'delete', n]);
  live.clear();
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function run(ns, cmd, args, input) {
  const t0 = performance.now();
  const r = spawnSync('nsenter', [`--net=${ns.path}`, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return { out: r.stdout, ms: performance.now() - t0 };
}

function hostInput(n) {
  const nat = [], filter = [];
  for (let k = 0; k < n; k++) {
    const m = k + 2, ip = `172.19.${(m >> 8) & 255}.${m & 255}`, hp = 10000 + k;
    nat.push(`-A DOCKER ! -i ${BR} -p tcp -m tcp --dport ${hp} -j DNAT --to-destination ${ip}:80`);
    nat.push(`-A POSTROUTING -s ${ip}/32 -d ${ip}/32 -p tcp -m tcp --dport 80 -j MASQUERADE`);
    filter.push(`-A DOCKER -d ${ip}/32 ! -i ${BR} -o ${BR} -p tcp -m tcp --dport 80 -j ACCEPT`);
  }
  return [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    `-A POSTROUTING -s 172.19.0.0/16 ! -o ${BR} -j MASQUERADE`, `-A DOCKER -i ${BR} -j RETURN`, ...nat, 'COMMIT',
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER - [0:0]',
    `-A FORWARD -o ${BR} -j DOCKER`, ...filter, 'COMMIT', '',
  ].join('\n');
}

const stripHandles = (w) => w.replace(/\thandle=\d+/g, '');
function keepAll(wire) {
  const out = [];
  let skipping = false;
  for (const line of wire.split('\n')) {
    const m = /^(rule|foreign)\thandle=(\d+)/.exec(line);
    if (m) { out.push(`keep\t${m[2]}`); skipping = true; continue; }
    if (skipping && /^(match|target|verdict|jump)\t/.test(line)) continue;
    skipping = false;
    out.push(line);
  }
  return out.join('\n');
}
const atHead = (wire, chain, rec) => wire.replace(new RegExp(`^(chain\\t${chain}(\\t[^\\n]*)?\\n)`, 'm'), `$1${rec}`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs) => `median ${median(xs).toFixed(2)} ms  [${xs.map((x) => x.toFixed(1)).join(' ')}]`;
const NEW_RULE = 'rule\tin=eth9\tproto=6\nmatch\ttcp\t0\tspts=0:65535\tdpts=9:9\toption=0\tflg_mask=0\tflg_cmp=0\tinvflags=0\nverdict\tRETURN\n';

try {
  const src = netns();
  run(src, 'iptables-nft-restore', [], hostInput(PORTS));
  let read = await native.nftRead('ipv4', src.path, null);
  const rules = (read.tables.join('').match(/^rule\t/gm) ?? []).length;
  console.log(`${PORTS} ports: ${rules} rules, wire ${read.tables.reduce((a, t) => a + t.length, 0)} bytes`);
  const fresh = read.tables.map(stripHandles);

  if (!ONLY || ONLY === 'read') {
    const t = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      read = await native.nftRead('ipv4', src.path, null);
      t.push(performance.now() - t0);
    }
    console.log(`nftRead                       ${fmt(t)}`);
    if (!ONLY) {
      const s = [];
      for (let i = 0; i < Math.min(RUNS, 5); i++) s.push(run(src, 'iptables-nft-save', ['-c']).ms);
      console.log(`iptables-nft-save -c (process) ${fmt(s)}`);
    }
  }
  if (!ONLY || ONLY === 'commit-new') {
    const t = [], r = [];
    for (let i = 0; i < RUNS; i++) {
      const dst = netns();
      const empty = await native.nftRead('ipv4', dst.path, null);
      const t0 = performance.now();
      await native.nftCommit('ipv4', dst.path, empty.generation, fresh);
      t.push(performance.now() - t0);
      if (!ONLY) {
        const d2 = netns();
        r.push(run(d2, 'iptables-nft-restore', [], hostInput(PORTS)).ms);
        del(d2);
      }
      del(dst);
    }
    console.log(`nftCommit all new             ${fmt(t)}`);
    if (!ONLY) console.log(`iptables-nft-restore (process) ${fmt(r)}`);
  }
  if (!ONLY || ONLY === 'keep1' || ONLY === 'one') {
    const k = [], o = [];
    for (let i = 0; i < RUNS; i++) {
      if (!ONLY || ONLY === 'keep1') {
        read = await native.nftRead('ipv4', src.path, null);
        const wire = read.tables.map((t) => (t.startsWith('table\tnat') ? atHead(keepAll(t), 'DOCKER', NEW_RULE) : keepAll(t)));
        const t0 = performance.now();
        await native.nftCommit('ipv4', src.path, read.generation, wire);
        k.push(performance.now() - t0);
      }
      if (!ONLY || ONLY === 'one') {
        read = await native.nftRead('ipv4', src.path, ['nat']);
        const wire = [atHead(keepAll(read.tables[0]), 'DOCKER', NEW_RULE)];
        const t0 = performance.now();
        await native.nftCommit('ipv4', src.path, read.generation, wire);
        o.push(performance.now() - t0);
      }
    }
    if (k.length) console.log(`nftCommit keep all + 1 new    ${fmt(k)}`);
    if (o.length) console.log(`nftCommit nat only, 1 new     ${fmt(o)}`);
  }
  del(src);
} finally {
  cleanup();
}
