// Publishing many ports of a Docker host at once (a media server's UDP range, say): one
// DockerHost.publish call writes every port's rules — nat DNAT, filter ACCEPT, and the rest of
// the host's Docker layout — in one commit per address family, where `iptables -A` per rule
// would take one whole-table replace each.
//
//   IPTKIT_NETNS=demo node examples/bulk-publish.mjs [COUNT [FIRST_PORT]]   # default 1000 30000
//
// IPTKIT_NETNS: the network namespace (a name under /var/run/netns, or a path) to work in.
// IPTKIT_BACKEND: auto (default), legacy or nft.

import { DockerHost } from 'iptkit';

const netns = process.env.IPTKIT_NETNS;
if (!netns) {
  console.error('bulk-publish: set IPTKIT_NETNS to the network namespace to work in (ip netns add demo)');
  process.exit(2);
}
const backend = process.env.IPTKIT_BACKEND ?? 'auto';
if (backend !== 'auto' && backend !== 'legacy' && backend !== 'nft') {
  console.error(`bulk-publish: IPTKIT_BACKEND is auto, legacy or nft, not '${backend}'`);
  process.exit(2);
}
const count = Number(process.argv[2] ?? 1000);
const first = Number(process.argv[3] ?? 30000);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(first) || first < 1 || first + count - 1 > 65535) {
  throw new RangeError(`ports ${first}..${first + count - 1} are not within 1..65535`);
}

// The host as Docker 29 would have it (docs/design.md, "The Docker state"): one bridge network
// with a container at 172.30.0.2, nothing published yet.
const state = {
  layout: 'v29',
  networks: [{ name: 'media', bridge: 'br-media', subnet: '172.30.0.0/16', icc: true, masquerade: true, internal: false }],
  ports: [],
};

const host = await DockerHost.open({ backend, netns });
// The network's own chains and rules, as dockerd writes them when it creates the network: only
// if the host has none yet, since apply() makes the host hold exactly `state` (no ports).
const current = await host.inferState();
if (!current.networks.some((n) => n.bridge === 'br-media')) await host.apply(state);

const ports = Array.from({ length: count }, (_, i) => ({
  network: 'media',
  proto: 'udp',
  hostIp: '0.0.0.0',
  hostPort: first + i,
  containerIp: '172.30.0.2',
  containerPort: first + i,
}));
const r = await host.publish(ports, { state });
console.log(`published ${r.changed} ports (${r.unchanged} already were) on ${host.backend}: +${r.ipv4?.added ?? 0} IPv4 rules in one commit`);
