// Layout "docker-nft" on a live host: Docker 29's `docker-bridges` tables (nftabler.ts)
// committed through the object layer (src/nft/objects.ts). Docker considers each of these
// tables wholly its own ("replace": a table holds exactly what is described; every other table,
// iptables' included, is left as it is). Docker writes the ip and ip6 tables in separate `nft -f`
// scripts; here both go in one generation-checked batch, so a host never holds one family's new
// table beside the other's old one. A family the state does not write is left alone, as apply
// leaves an iptables family without rules.

import type { CommitResult } from '../netfilter.js';
import { NetfilterError } from '../errors.js';
import type { Family } from '../rules/model.js';
import { commitNftTables, readNftTable, type NftChain, type NftExpr, type NftRule, type NftSet, type NftTable } from '../nft/objects.js';
import { nftablerTables, DOCKER_NFT_TABLE } from './nftabler.js';
import { nftRuleText } from './nftabler-phrases.js';
import { mergeRanges } from './infer.js';
import { unpublishMatches, type UnpublishMatch } from './ports.js';
import { expandPorts } from './ruleset.js';
import { portFamily, validateState, type DockerPort, type DockerState } from './state.js';

export const nftFamilyOf = (family: Family): 'ip' | 'ip6' => (family === 'ipv4' ? 'ip' : 'ip6');

/** A JSON text with sorted keys: a rule read back has its fields in the addon's order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'bigint') return v.toString();
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A rule's identity as the object layer compares it: expressions and comment, counters' values left out. */
export function nftRuleKey(r: NftRule): string {
  if (r.foreign) return '\u0001foreign';
  const exprs = r.exprs.map((e: NftExpr) => (e.expr === 'counter' ? { expr: 'counter' } : e));
  // An anonymous set by what it holds (the kernel keeps its elements in an order of its own).
  const sets = (r.anonymousSets ?? []).map((s) => ({ type: s.type, elements: s.elements.map((e) => String(e.key)).sort() }));
  return canonical({ exprs, comment: r.comment, ...(sets.length ? { sets } : {}) });
}

/** Whether two chains hold the same rules in the same order (nftRuleKey), the first difference ending the walk. */
function sameRules(a: readonly NftRule[], b: readonly NftRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (nftRuleKey(a[i]!) !== nftRuleKey(b[i]!)) return false;
  return true;
}

const sameHook = (a: NftChain, b: NftChain): boolean => a.type === b.type && a.hook === b.hook && a.priority === b.priority;
const setKey = (s: NftSet): string =>
  canonical({ type: s.type, map: s.map, flags: s.flags ?? [], elements: (s.elements ?? []).map((e) => canonical(e)).sort() });

/**
 * What committing `want` over `current` does, counted as the object layer plans it: a chain
 * whose rules stay is kept (counters too), one whose rules change is written whole, a base
 * chain whose hook changes is made again, chains the description lacks go.
 */
export function nftTableDelta(current: NftTable | null, want: NftTable): { changed: boolean; added: number; deleted: number; kept: number } {
  let changed = current === null;
  let added = 0;
  let deleted = 0;
  let kept = 0;
  const curChains = new Map((current?.chains ?? []).map((c) => [c.name, c]));
  const curSets = new Map((current?.sets ?? []).map((s) => [s.name, s]));
  for (const c of want.chains ?? []) {
    const rules = c.rules ?? [];
    const cur = curChains.get(c.name);
    curChains.delete(c.name);
    const curRules = cur?.rules ?? [];
    if (cur && sameHook(c, cur) && sameRules(curRules, rules)) {
      kept += rules.length;
      if ((c.policy ?? (c.hook ? 'accept' : undefined)) !== cur.policy) changed = true;
      continue;
    }
    changed = true;
    added += rules.length;
    deleted += curRules.length;
  }
  for (const gone of curChains.values()) {
    changed = true;
    deleted += (gone.rules ?? []).length;
  }
  for (const s of want.sets ?? []) {
    const cur = curSets.get(s.name);
    curSets.delete(s.name);
    if (!cur || setKey(cur) !== setKey(s)) changed = true;
  }
  if (curSets.size > 0) changed = true;
  return { changed, added, deleted, kept };
}

/** Makes each family's `docker-bridges` table what the state says, both in one batch. */
export async function applyNftabler(state: DockerState, netns: string | undefined, only?: readonly Family[]): Promise<Partial<Record<Family, CommitResult>>> {
  const out: Partial<Record<Family, CommitResult>> = {};
  const opts = netns === undefined ? {} : { netns };
  // A port operation commits only the families its ports are of.
  const todo = nftablerTables(state).filter(({ family }) => only === undefined || only.includes(family));
  if (todo.length === 0) return out;
  // The counts are planned from this read; the commit plans again from its own read under the
  // generation it sends, so a writer in between changes only what is reported.
  const deltas: Array<ReturnType<typeof nftTableDelta>> = [];
  for (const { family, table } of todo) deltas.push(nftTableDelta(await readNftTable(nftFamilyOf(family), DOCKER_NFT_TABLE, opts), table));
  const { attempts } = await commitNftTables(todo.map((t) => t.table), opts);
  todo.forEach(({ family }, i) => {
    const delta = deltas[i]!;
    out[family] = { backend: 'nft', attempts, changed: delta.changed ? [DOCKER_NFT_TABLE] : [], added: delta.added, deleted: delta.deleted, kept: delta.kept };
  });
  return out;
}

/**
 * Each family's `docker-bridges` table as the kernel has it (null: none). A kernel without
 * nf_tables has none: the iptables layouts' operations, which look here first, still work there.
 */
export async function readNftabler(netns: string | undefined): Promise<Record<Family, NftTable | null>> {
  const opts = netns === undefined ? {} : { netns };
  const read = async (fam: 'ip' | 'ip6'): Promise<NftTable | null> => {
    try {
      return await readNftTable(fam, DOCKER_NFT_TABLE, opts);
    } catch (e) {
      if (e instanceof NetfilterError && (e.code === 'ENOSYS' || e.code === 'EPROTONOSUPPORT' || e.code === 'EAFNOSUPPORT')) return null;
      throw e;
    }
  };
  const [ipv4, ipv6] = await Promise.all([read('ip'), read('ip6')]);
  return { ipv4, ipv6 };
}

/** A binding's identity: its host side and where it goes. */
const bindingKey = (b: { network: string; proto: string; hostIp: string; hostPort: number; containerIp: string; containerPort: number }): string =>
  `${b.network}|${b.proto}|${b.hostIp}|${b.hostPort}|${b.containerIp}|${b.containerPort}`;

/**
 * Ports published on a docker-nft host: the state with them added is committed, and the object
 * layer's plan rewrites only the chains whose rules change (the DNAT chain, the network's
 * forward-in chain, raw PREROUTING, its hairpin chain), whole, as Docker's nftabler does for a
 * port. A binding already published is left alone; one whose host binding another port holds is
 * refused by validateState.
 */
export async function publishNftabler(
  state: DockerState,
  ports: readonly Record<string, unknown>[],
  netns: string | undefined,
): Promise<{ result: Partial<Record<Family, CommitResult>>; changed: number; unchanged: number }> {
  const byBridge = new Map(state.networks.map((n) => [n.bridge, n.name]));
  // A port's network may be named by its bridge.
  const named = ports.map((p) => (typeof p['network'] === 'string' && byBridge.has(p['network']) && !state.networks.some((n) => n.name === p['network']) ? { ...p, network: byBridge.get(p['network']) } : p));
  const fresh = validateState({ ...state, networks: state.networks, ports: named }).ports;
  const have = new Set((['ipv4', 'ipv6'] as const).flatMap((f) => expandPorts(state.ports, f).map(bindingKey)));
  const added: DockerPort[] = [];
  let changed = 0;
  let unchanged = 0;
  for (const p of fresh) {
    const bs = expandPorts([p], portFamily(p));
    const already = bs.filter((b) => have.has(bindingKey(b))).length;
    unchanged += already;
    if (already === bs.length) continue;
    changed += bs.length - already;
    added.push(p);
  }
  if (added.length === 0) return { result: {}, changed, unchanged };
  const next = validateState({ ...state, ports: [...state.ports, ...added] });
  const families = [...new Set(added.map(portFamily))];
  return { result: await applyNftabler(next, netns, families), changed, unchanged };
}

/** Ports unpublished on a docker-nft host: the state without the matching bindings is committed. */
export async function unpublishNftabler(
  state: DockerState,
  requests: readonly UnpublishMatch[],
  networks: readonly (string | undefined)[],
  netns: string | undefined,
): Promise<{ result: Partial<Record<Family, CommitResult>>; changed: number }> {
  const all = (['ipv4', 'ipv6'] as const).flatMap((f) => expandPorts(state.ports, f));
  const gone = all.filter((b) => requests.some((m, k) => unpublishMatches(m, networks[k], b)));
  if (gone.length === 0) return { result: {}, changed: 0 };
  const keep = all.filter((b) => !gone.includes(b));
  const families = [...new Set(gone.map((b) => b.family))];
  return { result: await applyNftabler(validateState({ ...state, ports: mergeRanges(keep) }), netns, families), changed: gone.length };
}

/** A chain's declaration as nft reads it (`{ type … hook … priority N; policy P; }` for a base chain). */
function chainSpec(c: NftChain): string {
  if (!c.hook) return '';
  return ` { type ${c.type ?? 'filter'} hook ${c.hook} priority ${c.priority ?? 0}; policy ${c.policy ?? 'accept'}; }`;
}

const elementText = (s: NftSet, e: NonNullable<NftSet['elements']>[number], withVerdict: boolean): string => {
  const key = s.type === 'ifname' ? `"${e.key}"` : String(e.key);
  return withVerdict && s.map === 'verdict' ? `${key} : ${e.verdict}${e.chain !== undefined ? ` ${e.chain}` : ''}` : key;
};

/**
 * What committing `want` over `current` would do, as the nft commands that do the same (the
 * object layer's plan, in its order): chains made, flushed and written whole, or deleted; map
 * elements added and deleted one by one; the chains kept with their rule counts. Undefined when
 * nothing would change. Fed to `nft -f`, the commands make the same table.
 */
export interface NftablerPreview {
  family: Family;
  table: string;
  /** nft commands, in the order the commit makes the change. */
  commands: string[];
  /** Chains that keep their rules, and how many. */
  kept: Array<{ chain: string; rules: number }>;
}

export function nftablerPreview(family: Family, current: NftTable | null, want: NftTable): NftablerPreview | undefined {
  const fam = nftFamilyOf(family);
  const at = `${fam} ${want.name}`;
  const v6 = family === 'ipv6';
  const text = (r: NftRule): string => nftRuleText(r, v6);
  const cmds: string[] = [];
  const kept: Array<{ chain: string; rules: number }> = [];
  if (current === null) cmds.push(`add table ${at}`);
  const curChains = new Map((current?.chains ?? []).map((c) => [c.name, c]));
  const curSets = new Map((current?.sets ?? []).map((s) => [s.name, s]));
  const fate = new Map<string, 'new' | 'remade' | 'rewritten' | 'kept'>();
  for (const c of want.chains ?? []) {
    const cur = curChains.get(c.name);
    if (!cur) fate.set(c.name, 'new');
    else if (!sameHook(c, cur)) fate.set(c.name, 'remade');
    else if (sameRules(cur.rules ?? [], c.rules ?? [])) fate.set(c.name, 'kept');
    else fate.set(c.name, 'rewritten');
  }
  const gone = (current?.chains ?? []).filter((c) => !fate.has(c.name));
  for (const c of want.chains ?? []) {
    const f = fate.get(c.name)!;
    if (f === 'new') cmds.push(`add chain ${at} ${c.name}${chainSpec(c)}`);
    else if (f !== 'remade' && c.hook && curChains.get(c.name)!.policy !== (c.policy ?? 'accept')) cmds.push(`add chain ${at} ${c.name}${chainSpec(c)}`);
  }
  for (const c of want.chains ?? []) if (fate.get(c.name) === 'rewritten' || fate.get(c.name) === 'remade') cmds.push(`flush chain ${at} ${c.name}`);
  for (const c of gone) cmds.push(`flush chain ${at} ${c.name}`);
  for (const s of want.sets ?? []) {
    const cur = curSets.get(s.name);
    if (!cur || setKey({ ...cur, elements: [] }) !== setKey({ ...s, elements: [] })) continue;
    const keep = new Set((s.elements ?? []).map((e) => canonical(e)));
    const del = (cur.elements ?? []).filter((e) => !keep.has(canonical(e)));
    if (del.length) cmds.push(`delete element ${at} ${s.name} { ${del.map((e) => elementText(s, e, false)).join(', ')} }`);
  }
  for (const s of current?.sets ?? []) {
    const w = (want.sets ?? []).find((x) => x.name === s.name);
    if (!w || setKey({ ...w, elements: [] }) !== setKey({ ...s, elements: [] })) cmds.push(`delete ${s.map ? 'map' : 'set'} ${at} ${s.name}`);
  }
  for (const c of gone) cmds.push(`delete chain ${at} ${c.name}`);
  for (const c of want.chains ?? []) {
    if (fate.get(c.name) !== 'remade') continue;
    cmds.push(`delete chain ${at} ${c.name}`, `add chain ${at} ${c.name}${chainSpec(c)}`);
  }
  for (const s of want.sets ?? []) {
    const cur = curSets.get(s.name);
    const fresh = !cur || setKey({ ...cur, elements: [] }) !== setKey({ ...s, elements: [] });
    if (fresh) cmds.push(`add ${s.map ? 'map' : 'set'} ${at} ${s.name} { type ${s.type}${s.map ? ' : verdict' : ''};${(s.flags ?? []).length ? ` flags ${s.flags!.join(', ')};` : ''} }`);
    const have = new Set((fresh ? [] : (cur!.elements ?? [])).map((e) => canonical(e)));
    const add = (s.elements ?? []).filter((e) => !have.has(canonical(e)));
    if (add.length) cmds.push(`add element ${at} ${s.name} { ${add.map((e) => elementText(s, e, true)).join(', ')} }`);
  }
  for (const c of want.chains ?? []) {
    if (fate.get(c.name) === 'kept') {
      kept.push({ chain: c.name, rules: (c.rules ?? []).length });
      continue;
    }
    for (const r of c.rules ?? []) cmds.push(`add rule ${at} ${c.name} ${text(r)}`);
  }
  return cmds.length === 0 ? undefined : { family, table: want.name, commands: cmds, kept };
}

/** nftablerPreview of each family the state writes, against the tables as they are now. */
export async function previewNftabler(state: DockerState, netns: string | undefined): Promise<NftablerPreview[]> {
  const now = await readNftabler(netns);
  return nftablerTables(state).flatMap(({ family, table }) => {
    const p = nftablerPreview(family, now[family], table);
    return p ? [p] : [];
  });
}
