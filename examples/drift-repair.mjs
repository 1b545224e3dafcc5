// Drift repair on a Docker host: `iptables: No chain/target/match by that name` from dockerd
// means its chains or jumps went missing (a firewall reload, a flush, a hand edit). Compare
// the host with the state it should hold, say what is wrong, and put it right in one commit
// per address family, keeping every rule that is not Docker's.
//
//   IPTKIT_NETNS=demo node examples/drift-repair.mjs STATE.json
//
// STATE.json: the Docker state (docs/design.md; `iptkit docker state` prints a host's).
// Exit 0 when the host holds the state (before or after the repair), 1 when errors remain.
// IPTKIT_NETNS: the network namespace (a name under /var/run/netns, or a path) to work in.
// IPTKIT_BACKEND: auto (default), legacy or nft.

import { readFileSync } from 'node:fs';
import { DockerHost, summary } from 'iptkit';

const netns = process.env.IPTKIT_NETNS;
if (!netns) {
  console.error('drift-repair: set IPTKIT_NETNS to the network namespace to work in (ip netns add demo)');
  process.exit(2);
}
const backend = process.env.IPTKIT_BACKEND ?? 'auto';
if (backend !== 'auto' && backend !== 'legacy' && backend !== 'nft') {
  console.error(`drift-repair: IPTKIT_BACKEND is auto, legacy or nft, not '${backend}'`);
  process.exit(2);
}
if (!process.argv[2]) {
  console.error('usage: node examples/drift-repair.mjs STATE.json');
  process.exit(2);
}
const state = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const host = await DockerHost.open({ backend, netns });
const findings = await host.doctor(state);
console.log(`doctor: ${summary(findings)}`);
const show = (/** @type {import('iptkit').Finding[]} */ list) => {
  for (const f of list.slice(0, 20)) console.log(`  ${f.severity} ${f.code} [${f.family} ${f.table} ${f.chain}]: ${f.message}`);
  if (list.length > 20) console.log(`  … and ${list.length - 20} more`);
};
show(findings);

if (findings.length) {
  // repair = apply the state: Docker's rules made as the state says, everything else kept.
  const r = await host.repair(state);
  for (const [family, c] of Object.entries({ ipv4: r.ipv4, ipv6: r.ipv6 })) {
    if (c) console.log(`repair ${family}: +${c.added} -${c.deleted} rules, ${c.kept} kept`);
  }
  console.log(`after: ${summary(r.after)}`);
  // What a commit cannot fix (a bridge the state names that the host lacks) stays a warning.
  show(r.after);
  process.exitCode = r.after.some((f) => f.severity === 'error') ? 1 : 0;
}
