// Profiles the native legacy paths (legacyRead / legacyCommit) on bench/workload.ts's workload:
// the seed Docker host (fixtures/seed-docker-host.rules) plus N published ports
// (portRestoreInput(N, 0, 'br-96a729b6b174', true), restored with iptables-legacy-restore -n):
// nat DOCKER DNAT + POSTROUTING hairpin MASQUERADE, filter DOCKER ACCEPT. Everything happens in
// throwaway network namespaces that are always deleted again.
//
//   IPTKIT_NATIVE=build-legperf/Release/iptkit.node node bench/native-legacy-profile.mjs [ports] [runs] [only-op]
//
// only-op (for perf / callgrind): read | commit-new | keep1 — runs just that operation, RUNS times.
// Without only-op it also measures the kernel floor of each commit: the same commit from a child
// node process under `strace -f -T -e trace=setsockopt,getsockopt`, summing the time spent in
// setsockopt (IPT_SO_SET_REPLACE + IPT_SO_SET_ADD_COUNTERS) and, for reads, getsockopt.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const nativePath = process.env.IPTKIT_NATIVE ?? new URL('../build/Release/iptkit.node', import.meta.url).pathname;
const native = require(nativePath);
const self = fileURLToPath(import.meta.url);

// Child mode (under strace): node native-legacy-profile.mjs --child read|commit NSPATH [wirefile…]
if (process.argv[2] === '--child') {
  const [, , , op, nsPath, ...files] = process.argv;
  const t0 = performance.now();
  if (op === 'read') {
    await native.legacyRead('ipv4', nsPath, 'nat');
    await native.legacyRead('ipv4', nsPath, 'filter');
  } else {
    await native.legacyCommit('ipv4', nsPath, files.map((f) => readFileSync(f, 'latin1')));
  }
  process.stdout.write(`${(performance.now() - t0).toFixed(2)}\n`);
  process.exit(0);
}

const PORTS = Number(process.argv[2] ?? 10000);
const RUNS = Number(process.argv[3] ?? 7);
const ONLY = process.argv[4];
const BR = 'br-96a729b6b174';
const SEED = readFileSync(new URL('../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');
// Our own xtables lock file: the tools must not wait on (or block) anyone else's.
process.env.XTABLES_LOCKFILE = `/tmp/iptkit-legprof-${process.pid}.lock`;

const live = new Set();
const tmp = mkdtempSync(join(tmpdir(), 'iptkit-legprof-'));
function netns() {
  const name = `iptkit-legprof-${process.pid}-${randomBytes(3).toString('hex')}`;
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
  rmSync(tmp, { recursive: true, force: true });
  rmSync(process.env.XTABLES_LOCKFILE, { force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function run(ns, cmd, args, input) {
  const r = spawnSync('nsenter', [`--net=${ns.path}`, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// bench/workload.ts portRestoreInput(n, 0, BR, true), repeated here (this script is plain JS).
function portInput(n) {
  const nat = [], filter = [];
  for (let k = 0; k < n; k++) {
    const m = k + 2, ip = `172.19.${(m >> 8) & 255}.${m & 255}`, hp = 10000 + k;
    nat.push(`-A DOCKER ! -i ${BR} -p tcp -m tcp --dport ${hp} -j DNAT --to-destination ${ip}:80`);
    nat.push(`-A POSTROUTING -s ${ip}/32 -d ${ip}/32 -p tcp -m tcp --dport 80 -j MASQUERADE`);
    filter.push(`-A DOCKER -d ${ip}/32 ! -i ${BR} -o ${BR} -p tcp -m tcp --dport 80 -j ACCEPT`);
  }
  return ['*nat', ...nat, 'COMMIT', '*filter', ':DOCKER - [0:0]', ...filter, 'COMMIT', ''].join('\n');
}

function chainsOf(wire) {
  const out = [];
  for (const line of wire.split('\n')) {
    if (line === '' || line.startsWith('table\t')) continue;
    if (line.startsWith('chain\t')) out.push({ name: line.split('\t')[1], rules: 0 });
    else if (line.startsWith('rule')) out.at(-1).rules++;
  }
  return out;
}
function keepAll(wire) {
  const lines = [wire.split('\n')[0]];
  for (const c of chainsOf(wire)) {
    lines.push(`chain\t${c.name}\twas=${c.rules}`);
    for (let i = 0; i < c.rules; i++) lines.push(`keep\t${i}`);
  }
  return lines.join('\n') + '\n';
}
// All rules new: chain lines reduced to their name (built-ins keep policy and counters).
const allNew = (wire) =>
  wire.split('\n').map((l) => (l.startsWith('chain\t') ? l.split('\t').slice(0, 2).join('\t') : l)).join('\n');
const atHead = (wire, chain, rec) => wire.replace(new RegExp(`^(chain\\t${chain}(\\t[^\\n]*)?\\n)`, 'm'), `$1${rec}`);
const NEW_RULE = 'rule\tin=eth9\tproto=6\nmatch\ttcp\t0\tspts=0:65535\tdpts=9:9\toption=0\tflg_mask=0\tflg_cmp=0\tinvflags=0\nverdict\tRETURN\n';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs) => `median ${median(xs).toFixed(2)} ms  [${xs.map((x) => x.toFixed(1)).join(' ')}]`;

async function readBoth(ns) {
  return [await native.legacyRead('ipv4', ns.path, 'nat'), await native.legacyRead('ipv4', ns.path, 'filter')];
}

// The same operation from a child node under strace -T: the time inside the kernel calls.
function floor(op, ns, wires) {
  const files = wires.map((w, i) => {
    const f = join(tmp, `wire${i}`);
    writeFileSync(f, w, 'latin1');
    return f;
  });
  const log = join(tmp, 'strace.log');
  const r = spawnSync('strace', ['-f', '-T', '-o', log, '-e', 'trace=setsockopt,getsockopt', process.execPath, self, '--child', op, ns.path, ...files], {
    encoding: 'utf8', env: { ...process.env },
  });
  if (r.status !== 0) throw new Error(`strace child: ${r.stderr}`);
  let set = 0, get = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /<(\d+\.\d+)>$/.exec(line);
    if (!m) continue;
    if (/setsockopt\(/.test(line)) set += Number(m[1]) * 1000;
    if (/getsockopt\(/.test(line)) get += Number(m[1]) * 1000;
  }
  return { set, get };
}

try {
  const src = netns();
  run(src, 'iptables-legacy-restore', ['-c'], SEED);
  run(src, 'iptables-legacy-restore', ['-n'], portInput(PORTS));
  let wires = await readBoth(src);
  const rules = wires.reduce((a, w) => a + (w.match(/^rule\t/gm) ?? []).length, 0);
  console.log(`${PORTS} ports: ${rules} rules, wire ${wires.reduce((a, w) => a + w.length, 0)} bytes`);
  const fresh = wires.map(allNew);

  if (!ONLY || ONLY === 'read') {
    const t = [], tn = [], tf = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const n = await native.legacyRead('ipv4', src.path, 'nat');
      const t1 = performance.now();
      const f = await native.legacyRead('ipv4', src.path, 'filter');
      const t2 = performance.now();
      if (n !== wires[0] || f !== wires[1]) throw new Error('read differs between runs');
      tn.push(t1 - t0);
      tf.push(t2 - t1);
      t.push(t2 - t0);
    }
    console.log(`legacyRead nat+filter          ${fmt(t)}`);
    console.log(`  nat                          ${fmt(tn)}`);
    console.log(`  filter                       ${fmt(tf)}`);
    if (!ONLY) {
      const fl = [];
      for (let i = 0; i < 3; i++) fl.push(floor('read', src, []).get);
      console.log(`  floor (getsockopt, strace)   ${fmt(fl)}`);
    }
  }
  if (!ONLY || ONLY === 'commit-new') {
    const t = [], fl = [];
    for (let i = 0; i < RUNS; i++) {
      const dst = netns();
      run(dst, 'iptables-legacy-save', []);  // instantiate the tables (iptc_init would too)
      const t0 = performance.now();
      await native.legacyCommit('ipv4', dst.path, fresh);
      t.push(performance.now() - t0);
      const back = await readBoth(dst);
      const count = (ws) => ws.reduce((a, w) => a + (w.match(/^rule\t/gm) ?? []).length, 0);
      if (count(back) !== rules) throw new Error(`commit gave ${count(back)} rules, not ${rules}`);
      del(dst);
      if (!ONLY && i < 3) {
        const d2 = netns();
        run(d2, 'iptables-legacy-save', []);
        fl.push(floor('commit', d2, fresh).set);
        del(d2);
      }
    }
    console.log(`legacyCommit all new           ${fmt(t)}`);
    if (fl.length) console.log(`  floor (setsockopt, strace)   ${fmt(fl)}`);
  }
  if (!ONLY || ONLY === 'keep1') {
    const t = [], fl = [];
    for (let i = 0; i < RUNS; i++) {
      wires = await readBoth(src);
      const commit = [atHead(keepAll(wires[0]), 'DOCKER', NEW_RULE), keepAll(wires[1])];
      const t0 = performance.now();
      await native.legacyCommit('ipv4', src.path, commit);
      t.push(performance.now() - t0);
      if (!ONLY && i < 3) {
        wires = await readBoth(src);
        fl.push(floor('commit', src, [atHead(keepAll(wires[0]), 'DOCKER', NEW_RULE), keepAll(wires[1])]).set);
      }
    }
    console.log(`legacyCommit keep all + 1 new  ${fmt(t)}`);
    if (fl.length) console.log(`  floor (setsockopt, strace)   ${fmt(fl)}`);
  }
  del(src);
} finally {
  cleanup();
}
