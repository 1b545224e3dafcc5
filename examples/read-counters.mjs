// Reading the rules' packet and byte counters (accounting, or finding the rules that see
// traffic): one read per table, the counters as 64-bit bigints beside each rule's text.
//
//   IPTKIT_NETNS=demo node examples/read-counters.mjs [TABLE...]   # default: every table there is
//
// Prints one line per rule, busiest first: PACKETS BYTES TABLE CHAIN RULE (tab-separated).
// IPTKIT_NETNS: the network namespace (a name under /var/run/netns, or a path) to work in.
// IPTKIT_BACKEND: auto (default), legacy or nft.

import { Netfilter, ruleCounters } from 'iptkit';

const netns = process.env.IPTKIT_NETNS;
if (!netns) {
  console.error('read-counters: set IPTKIT_NETNS to the network namespace to work in (ip netns add demo)');
  process.exit(2);
}
const backend = process.env.IPTKIT_BACKEND ?? 'auto';
if (backend !== 'auto' && backend !== 'legacy' && backend !== 'nft') {
  console.error(`read-counters: IPTKIT_BACKEND is auto, legacy or nft, not '${backend}'`);
  process.exit(2);
}

const nf = await Netfilter.open({ backend, family: 'ipv4', netns });
const tables = await nf.read(process.argv.length > 2 ? process.argv.slice(2) : undefined);

/** @type {{ table: string, chain: string, rule: string, packets: bigint, bytes: bigint }[]} */
const rows = [];
for (const table of tables) {
  for (const chain of table.chains) {
    chain.rules.forEach((rule, i) => rows.push({ table: table.name, chain: chain.name, rule, ...ruleCounters(chain, i) }));
  }
}
rows.sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0));
for (const r of rows) console.log(`${r.packets}\t${r.bytes}\t${r.table}\t${r.chain}\t${r.rule}`);
