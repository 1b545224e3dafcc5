// doctor for layout "docker-nft": what is wrong with a host's `docker-bridges` tables (Docker
// 29's nftables back end), read through the object layer. The same finding codes as the
// iptables layouts' doctor (doctor.ts): a base chain or a jump of Docker's missing, a network
// whose verdict-map element is gone (its chains are then skipped), a DNAT without its forward
// accept or hairpin MASQUERADE or the reverse, duplicate rules, a bridge the host does not have,
// and, given a state, every difference from the tables nftabler.ts builds for it. A rule is
// named in nft's own words (`ip daddr 172.17.0.2 tcp dport 80 counter accept`).

import type { Family } from '../rules/model.js';
import type { NftRule, NftTable } from '../nft/objects.js';
import type { Finding } from './doctor.js';
import { nftablerTable, DOCKER_NFT_TABLE, VMAPS, fwdInChain, postrtInChain } from './nftabler.js';
import { inferNftabler } from './nftabler-infer.js';
import { nftRuleText, phrasesOf } from './nftabler-phrases.js';
import { nftRuleKey } from './nftabler-host.js';
import { gatewayModeOf, type DockerState } from './state.js';
import { writesFamily } from './desired.js';

function familyFindings(family: Family, t: NftTable | null, state: DockerState | undefined, inferred: DockerState, bridges: readonly string[] | undefined): Finding[] {
  const out: Finding[] = [];
  const v6 = family === 'ipv6';
  const fam = v6 ? 'ip6' : 'ip';
  const add = (x: Omit<Finding, 'family' | 'table'>): void => void out.push({ family, table: DOCKER_NFT_TABLE, ...x });
  const wanted = state !== undefined && writesFamily(state, family) ? nftablerTable(state, family) : undefined;
  if (!t) {
    if (wanted) add({ severity: 'error', code: 'missing-chain', chain: '', message: `table ${fam} ${DOCKER_NFT_TABLE} is missing: none of Docker's rules of this family apply; iptkit docker repair, or restart dockerd` });
    return out;
  }
  // The skeleton the table's own options call for (base chains and their rules).
  const own = wanted ?? nftablerTable({ ...inferred, networks: [], ports: [] }, family);
  const chainOf = (name: string) => t.chains?.find((c) => c.name === name);
  for (const c of own.chains ?? []) {
    if (!c.hook) continue;
    const have = chainOf(c.name);
    if (!have) {
      add({ severity: 'error', code: 'missing-chain', chain: c.name, message: `base chain ${c.name} is missing from table ${fam} ${DOCKER_NFT_TABLE}: its rules do not run` });
      continue;
    }
    const keys = new Set((have.rules ?? []).map(nftRuleKey));
    for (const r of c.rules ?? []) {
      if (keys.has(nftRuleKey(r))) continue;
      const jump = phrasesOf(r.exprs, v6, r.anonymousSets)?.find((x) => x.k === 'vmap' || (x.k === 'verdict' && x.chain !== undefined));
      if (!jump) continue;
      add({ severity: 'error', code: 'missing-jump', chain: c.name, rule: nftRuleText(r, v6), message: `${c.name} lacks \`${nftRuleText(r, v6)}\`: the chains it leads to do not run` });
    }
  }
  // Each network's chains are reached through its element in the four verdict maps.
  const netChains = (t.chains ?? []).map((c) => c.name).filter((n) => n.startsWith('filter-forward-in__')).map((n) => n.slice('filter-forward-in__'.length));
  for (const map of VMAPS) {
    const keys = new Set((t.sets?.find((s) => s.name === map)?.elements ?? []).map((e) => String(e.key)));
    for (const br of netChains) {
      if (!keys.has(br)) add({ severity: 'error', code: 'missing-jump', chain: map, message: `verdict map ${map} has no element for ${br}: that network's ${map.replace('-jumps', '')} chain does not run` });
    }
  }
  if (bridges !== undefined) {
    for (const br of netChains) {
      if (!bridges.includes(br)) add({ severity: 'warning', code: 'unknown-bridge', chain: fwdInChain(br), message: `rules for bridge ${br}, which this host does not have (a network deleted while dockerd was down?)` });
    }
  }
  // Duplicates: Docker never writes a rule twice in a chain.
  for (const c of t.chains ?? []) {
    const seen = new Set<string>();
    for (const r of c.rules ?? []) {
      const k = nftRuleKey(r);
      if (r.foreign !== true && seen.has(k)) add({ severity: 'warning', code: 'duplicate-rule', chain: c.name, rule: nftRuleText(r, v6), message: `\`${nftRuleText(r, v6)}\` appears more than once in ${c.name}` });
      seen.add(k);
    }
  }
  // Ports: each DNAT needs its forward accept (unless the network is nat-unprotected) and, in
  // hairpin mode, its own-port MASQUERADE; an accept or MASQUERADE without a DNAT is left over.
  // Each chain's rules are read once, keyed `address|proto|port` of the container side.
  const portRules = new Map<string, Map<string, NftRule>>();
  const portRulesOf = (chain: string, wanted: (r: NftRule) => boolean): Map<string, NftRule> => {
    let m = portRules.get(chain);
    if (m) return m;
    m = new Map();
    for (const r of chainOf(chain)?.rules ?? []) {
      if (!wanted(r)) continue;
      const ph = phrasesOf(r.exprs, v6, r.anonymousSets) ?? [];
      const d = ph.find((x) => x.k === 'addr' && x.which === 'daddr');
      const port = ph.find((x) => x.k === 'port');
      if (d?.k === 'addr' && port?.k === 'port') m.set(`${d.cidr}|${port.proto}|${port.port}`, r);
    }
    portRules.set(chain, m);
    return m;
  };
  const accepts = (bridge: string): Map<string, NftRule> => portRulesOf(fwdInChain(bridge), (r) => r.comment === undefined);
  const hairpins = (bridge: string): Map<string, NftRule> => portRulesOf(postrtInChain(bridge), (r) => r.comment === 'MASQ TO OWN PORT');
  const netOf = new Map(inferred.networks.map((n) => [n.name, n]));
  const exposed = new Set<string>();
  for (const p of inferred.ports) {
    if ((p.containerIp.includes(':') ? 'ipv6' : 'ipv4') !== family) continue;
    const n = netOf.get(p.network)!;
    const [first, last] = typeof p.containerPort === 'number' ? [p.containerPort, p.containerPort] : (p.containerPort.split('-').map(Number) as [number, number]);
    for (let cp = first; cp <= last; cp++) {
      const key = `${p.containerIp}|${p.proto}|${cp}`;
      exposed.add(key);
      if (gatewayModeOf(n, family) !== 'nat-unprotected' && !accepts(n.bridge).has(key)) {
        add({ severity: 'error', code: 'dnat-without-accept', chain: fwdInChain(n.bridge), message: `${p.proto} port ${cp} of ${p.containerIp} is DNATed to but ${fwdInChain(n.bridge)} does not accept it: the published port does not answer` });
      }
      if (!inferred.userlandProxy && !hairpins(n.bridge).has(key)) {
        add({ severity: 'warning', code: 'missing-hairpin', chain: postrtInChain(n.bridge), message: `${p.proto} port ${cp} of ${p.containerIp} has no MASQ TO OWN PORT: the container cannot reach its own published port through the host` });
      }
    }
  }
  for (const n of inferred.networks) {
    for (const [rules, chain, code] of [[accepts(n.bridge), fwdInChain(n.bridge), 'accept-without-dnat'], [hairpins(n.bridge), postrtInChain(n.bridge), 'hairpin-without-dnat']] as const) {
      for (const [key, r] of rules) {
        if (!exposed.has(key)) add({ severity: 'warning', code, chain, rule: nftRuleText(r, v6), message: `\`${nftRuleText(r, v6)}\` is for a port no DNAT publishes (left over)` });
      }
    }
  }
  // A given state: every difference from the tables it calls for.
  if (wanted) {
    for (const c of wanted.chains ?? []) {
      const have = chainOf(c.name);
      if (!have) {
        if (!c.hook) add({ severity: 'error', code: 'differs-from-state', chain: c.name, message: `chain ${c.name} of the state is missing` });
        continue;
      }
      // Rules as a multiset: each wanted rule takes one rule of the chain; what is left is extra.
      const rest = (have.rules ?? []).map((r) => ({ r, key: nftRuleKey(r), taken: false }));
      const byKey = new Map<string, Array<(typeof rest)[number]>>();
      for (const x of rest) byKey.set(x.key, [...(byKey.get(x.key) ?? []), x]);
      const matched: string[] = [];
      for (const r of c.rules ?? []) {
        const key = nftRuleKey(r);
        const hit = byKey.get(key)?.find((x) => !x.taken);
        if (hit) {
          hit.taken = true;
          matched.push(key);
        } else add({ severity: 'error', code: 'differs-from-state', chain: c.name, rule: nftRuleText(r, v6), message: `\`${nftRuleText(r, v6)}\` of the state is missing from ${c.name}` });
      }
      for (const x of rest) {
        if (!x.taken) add({ severity: 'warning', code: 'differs-from-state', chain: c.name, rule: nftRuleText(x.r, v6), message: `\`${nftRuleText(x.r, v6)}\` in ${c.name} is not the state's` });
      }
      if (rest.filter((x) => x.taken).map((x) => x.key).join('\n') !== matched.join('\n')) {
        add({ severity: 'warning', code: 'differs-from-state', chain: c.name, message: `the rules of ${c.name} are not in the state's order` });
      }
    }
    for (const c of t.chains ?? []) {
      if (!(wanted.chains ?? []).some((w) => w.name === c.name)) add({ severity: 'warning', code: 'differs-from-state', chain: c.name, message: `chain ${c.name} is not the state's` });
    }
  }
  return out;
}

/** Every finding about a host's docker-bridges tables, errors first. */
export function doctorNftabler(tables: Partial<Record<Family, NftTable | null>>, opts: { state?: DockerState; bridges?: string[] } = {}): Finding[] {
  const inferred = inferNftabler(tables);
  const findings = (['ipv4', 'ipv6'] as const).flatMap((f) => familyFindings(f, tables[f] ?? null, opts.state, inferred, opts.bridges));
  const rank = (s: Finding['severity']): number => (s === 'error' ? 0 : 1);
  return findings.map((x, i) => ({ x, i })).sort((a, b) => rank(a.x.severity) - rank(b.x.severity) || a.i - b.i).map(({ x }) => x);
}
