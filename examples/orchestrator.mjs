// Embedding iptkit in an orchestrator: it owns one chain of the filter table and one jump to it
// at the top of INPUT, and states them as a whole on every run. Everything else in the table —
// other tools' rules and chains, and the counters of every rule that did not change — is kept,
// and the change is one atomic commit.
//
//   IPTKIT_NETNS=demo node examples/orchestrator.mjs tcp/80 tcp/443 udp/53   # open these ports
//   IPTKIT_NETNS=demo node examples/orchestrator.mjs --remove                # take it all away
//
// IPTKIT_NETNS: the network namespace (a name under /var/run/netns, or a path) to work in.
// IPTKIT_BACKEND: auto (default), legacy or nft.

import { Netfilter, ruleCounters } from 'iptkit';

const netns = process.env.IPTKIT_NETNS;
if (!netns) {
  console.error('orchestrator: set IPTKIT_NETNS to the network namespace to work in (ip netns add demo)');
  process.exit(2);
}
const backend = process.env.IPTKIT_BACKEND ?? 'auto';
if (backend !== 'auto' && backend !== 'legacy' && backend !== 'nft') {
  console.error(`orchestrator: IPTKIT_BACKEND is auto, legacy or nft, not '${backend}'`);
  process.exit(2);
}

const CHAIN = 'MYORCH-INPUT';
// Rules are written as iptables-save prints them: that text is how iptkit tells a rule that is
// already there (kept, counters and all) from one to add.
const JUMP = `-m comment --comment myorch -j ${CHAIN}`;

const args = process.argv.slice(2);
const remove = args.includes('--remove');
const services = args.filter((a) => a !== '--remove').map((s) => {
  const m = /^(tcp|udp)\/(\d+)$/.exec(s);
  if (!m) throw new Error(`service '${s}' is not PROTO/PORT (tcp/80, udp/53)`);
  return { proto: m[1], port: Number(m[2]) };
});

const nf = await Netfilter.open({ backend, family: 'ipv4', netns });

// What the orchestrator's chain has seen so far: read, with counters.
const [filter] = await nf.read(['filter']);
const mine = filter?.chains.find((c) => c.name === CHAIN);
if (mine) {
  for (const [i, rule] of mine.rules.entries()) console.log(`was: ${rule}  (${ruleCounters(mine, i).packets} packets)`);
}

// The commit, stated as ownership: the chain is wholly ours ('exact', or 'delete' to remove
// it); in INPUT, a chain shared with others, only the jump is ours ('owned').
/** @type {import('iptkit').TableIntent[]} */
const intents = [
  {
    table: 'filter',
    chains: [
      remove
        ? { chain: CHAIN, mode: 'delete' }
        : {
            chain: CHAIN,
            mode: 'exact',
            rules: services.map(({ proto, port }) => `-p ${proto} -m ${proto} --dport ${port} -m comment --comment myorch -j ACCEPT`),
          },
      { chain: 'INPUT', mode: 'owned', owns: (/** @type {string} */ rule) => rule === JUMP, blocks: remove ? [] : [{ position: 'top', rules: [JUMP] }] },
    ],
  },
];
const r = await nf.apply(intents);
console.log(
  `${nf.backend}: ${r.changed.length ? `changed ${r.changed.join(', ')}` : 'nothing changed'}: ` +
    `+${r.added} -${r.deleted} rules, ${r.kept} kept`,
);
