// The nft phrases of Docker's nftables rules read back from the object layer's expressions
// (the inverse of src/nft/exprs.ts for the phrases Docker's nftabler writes), and a rule written
// in nft's words from them: what `docker state` (nftabler-infer.ts), `doctor`
// (nftabler-doctor.ts) and `apply --test` (nftabler-host.ts) read and print.

import type { NftAnonymousSet, NftExpr, NftRule } from '../nft/objects.js';
import { formatAddress } from './address.js';
import type { DockerProto } from './state.js';

/** One nft phrase of a rule, as Docker writes them. */
export type Phrase =
  | { k: 'if'; dir: 'iifname' | 'oifname'; neq: boolean; name: string }
  | { k: 'ifset'; dir: 'iifname' | 'oifname'; neq: boolean; names: string[] }
  | { k: 'addr'; which: 'saddr' | 'daddr'; neq: boolean; cidr: string }
  | { k: 'icmp' }
  | { k: 'port'; proto: DockerProto; which: 'sport' | 'dport'; port: number }
  | { k: 'mark'; mark: number; mask: number }
  | { k: 'fib'; which: 'saddr' | 'daddr' }
  | { k: 'ct' }
  | { k: 'counter' }
  | { k: 'verdict'; v: string; chain?: string }
  | { k: 'dnat'; ip: string; port: number }
  | { k: 'snat'; ip: string }
  | { k: 'masq' }
  | { k: 'vmap'; dir: 'iifname' | 'oifname'; set: string };

const bytesOf = (hex: unknown): Buffer => Buffer.from(String(hex), 'hex');
const u32le = (hex: unknown): number => Buffer.from(String(hex), 'hex').readUInt32LE(0);
const PROTOS: Record<number, DockerProto> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

function addressText(b: Uint8Array): string {
  return formatAddress({ family: b.length === 4 ? 'ipv4' : 'ipv6', bytes: b });
}

/** The phrases of a rule, or undefined when an expression is not of Docker's phrases. */
export function phrasesOf(exprs: readonly NftExpr[], v6: boolean, anon: readonly NftAnonymousSet[] = []): Phrase[] | undefined {
  const out: Phrase[] = [];
  let i = 0;
  const at = (k: number): NftExpr | undefined => exprs[i + k];
  while (i < exprs.length) {
    const e = exprs[i]!;
    const next = at(1);
    if (e.expr === 'meta' && (e.key === 'iifname' || e.key === 'oifname')) {
      if (next?.expr === 'cmp') {
        out.push({ k: 'if', dir: e.key, neq: next.op === 'neq', name: Buffer.from(bytesOf(next.data)).toString().replace(/\0+$/, '') });
        i += 2;
      } else if (next?.expr === 'lookup' && next.dreg === 0) {
        out.push({ k: 'vmap', dir: e.key, set: String(next.set) });
        i += 2;
      } else if (next?.expr === 'lookup' && next.dreg === undefined && /^__set\d+$/.test(String(next.set))) {
        // An anonymous set of names (`iifname != { a, b }`; flags 1: NFT_LOOKUP_F_INV).
        const set = anon[Number(String(next.set).slice(5))];
        if (!set || set.type !== 'ifname') return undefined;
        out.push({ k: 'ifset', dir: e.key, neq: Number(next.flags ?? 0) === 1, names: set.elements.map((x) => String(x.key)) });
        i += 2;
      } else return undefined;
    } else if (e.expr === 'payload' && e.base === 'network') {
      const off = Number(e.offset);
      if (!v6 && off === 9 && Number(e.len) === 1 && next?.expr === 'cmp' && next.data === '01') {
        out.push({ k: 'icmp' });
        i += 2;
        continue;
      }
      const which = ((v6 ? { 8: 'saddr', 24: 'daddr' } : { 12: 'saddr', 16: 'daddr' }) as Record<number, 'saddr' | 'daddr'>)[off];
      if (!which) return undefined;
      const full = v6 ? 16 : 4;
      let length = Number(e.len) * 8;
      let k = 1;
      if (next?.expr === 'bitwise') {
        length = [...bytesOf(next.mask)].reduce((n, b) => n + b.toString(2).replace(/0/g, '').length, 0);
        k = 2;
      }
      const cmp = at(k);
      if (cmp?.expr !== 'cmp') return undefined;
      const b = new Uint8Array(full);
      b.set(bytesOf(cmp.data).subarray(0, full));
      out.push({ k: 'addr', which, neq: cmp.op === 'neq', cidr: length === full * 8 ? addressText(b) : `${addressText(b)}/${length}` });
      i += k + 1;
    } else if (e.expr === 'meta' && e.key === 'l4proto' && next?.expr === 'cmp') {
      const proto = bytesOf(next.data)[0]!;
      const load = at(2);
      const cmp = at(3);
      if (load?.expr === 'payload' && load.base === 'transport' && cmp?.expr === 'cmp' && PROTOS[proto]) {
        out.push({ k: 'port', proto: PROTOS[proto], which: Number(load.offset) === 0 ? 'sport' : 'dport', port: bytesOf(cmp.data).readUInt16BE(0) });
        i += 4;
      } else if (v6 && proto === 58) {
        out.push({ k: 'icmp' });
        i += 2;
      } else return undefined;
    } else if (e.expr === 'meta' && e.key === 'mark') {
      let mask = 0xffffffff;
      let k = 1;
      if (next?.expr === 'bitwise') {
        mask = u32le(next.mask);
        k = 2;
      }
      const cmp = at(k);
      if (cmp?.expr !== 'cmp') return undefined;
      out.push({ k: 'mark', mark: u32le(cmp.data), mask });
      i += k + 1;
    } else if (e.expr === 'fib' && next?.expr === 'cmp') {
      out.push({ k: 'fib', which: Number(e.flags) === 2 ? 'daddr' : 'saddr' });
      i += 2;
    } else if (e.expr === 'ct' && e.key === 'state' && next?.expr === 'bitwise' && at(2)?.expr === 'cmp') {
      out.push({ k: 'ct' });
      i += 3;
    } else if (e.expr === 'counter') {
      out.push({ k: 'counter' });
      i += 1;
    } else if (e.expr === 'immediate' && Number(e.dreg) === 0) {
      out.push(e.chain === undefined ? { k: 'verdict', v: String(e.verdict) } : { k: 'verdict', v: String(e.verdict), chain: String(e.chain) });
      i += 1;
    } else if (e.expr === 'immediate' && Number(e.dreg) === 1) {
      const ip = addressText(bytesOf(e.data));
      if (next?.expr === 'immediate' && Number(next.dreg) === 2 && at(2)?.expr === 'nat' && at(2)!.type === 'dnat') {
        out.push({ k: 'dnat', ip, port: bytesOf(next.data).readUInt16BE(0) });
        i += 3;
      } else if (next?.expr === 'nat' && next.type === 'snat') {
        out.push({ k: 'snat', ip });
        i += 2;
      } else return undefined;
    } else if (e.expr === 'masq') {
      out.push({ k: 'masq' });
      i += 1;
    } else return undefined;
  }
  return out;
}

/** A rule as nft lists it (counters' values left out), for messages. */
export function nftRuleText(r: NftRule, v6: boolean): string {
  const fam = v6 ? 'ip6' : 'ip';
  const p = phrasesOf(r.exprs, v6, r.anonymousSets);
  if (!p) return `(${r.exprs.map((e) => e.expr).join(' ')})`;
  const words = p.map((x): string => {
    switch (x.k) {
      case 'if':
        return `${x.dir} ${x.neq ? '!= ' : ''}"${x.name}"`;
      case 'ifset':
        return `${x.dir} ${x.neq ? '!= ' : ''}{ ${x.names.map((n) => `"${n}"`).join(', ')} }`;
      case 'addr':
        return `${fam} ${x.which} ${x.neq ? '!= ' : ''}${x.cidr}`;
      case 'icmp':
        return v6 ? 'meta l4proto ipv6-icmp' : 'ip protocol icmp';
      case 'port':
        return `${x.proto} ${x.which} ${x.port}`;
      case 'mark':
        return x.mask === 0xffffffff ? `meta mark ${x.mark}` : `meta mark and ${x.mask} == ${x.mark}`;
      case 'fib':
        return `fib ${x.which} type local`;
      case 'ct':
        return 'ct state established,related';
      case 'counter':
        return 'counter';
      case 'verdict':
        return x.chain === undefined ? x.v : `${x.v} ${x.chain}`;
      case 'dnat':
        return `dnat to ${v6 ? `[${x.ip}]` : x.ip}:${x.port}`;
      case 'snat':
        return `snat to ${x.ip}`;
      case 'masq':
        return 'masquerade';
      case 'vmap':
        return `${x.dir} vmap @${x.set}`;
    }
  });
  return [...words, ...(r.comment !== undefined ? [`comment "${r.comment}"`] : [])].join(' ');
}
