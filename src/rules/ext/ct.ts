// The CT target and its `-j NOTRACK` alias (xt_CT.h). iptables 1.8.9 writes revision 2
// (struct xt_ct_target_info_v1) for both; NOTRACK is flags XT_CT_NOTRACK|XT_CT_NOTRACK_ALIAS
// and prints back as `-j NOTRACK`. Revision 0 (struct xt_ct_target_info, no timeout) and
// revision 1 print the same way (libxt_CT).
// `-j CT [--notrack] [--helper NAME] [--timeout NAME] [--ctevents E,…] [--expevents new]
//        [--zone|--zone-orig|--zone-reply ID|mark]`
//
// Fields (native/ext/xt_CT.cc), every one always present (timeout from revision 1 on):
//   flags=N        XT_CT_NOTRACK=1 NOTRACK_ALIAS=2 ZONE_DIR_ORIG=4 ZONE_DIR_REPL=8 ZONE_MARK=16
//   zone=N         zone id
//   ct_events=N    bits 1<<IPCT_*
//   exp_events=N   bits 1<<IPEXP_*
//   helper=STR     at most 15 bytes
//   timeout=STR    at most 31 bytes

import type { Family, Fields } from '../model.js';
import type { ExtensionTarget, OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { collectOptions, num, parseUnsigned, truncateBytes } from './target-util.js';

const XT_CT_NOTRACK = 1 << 0;
const XT_CT_NOTRACK_ALIAS = 1 << 1;
const XT_CT_ZONE_DIR_ORIG = 1 << 2;
const XT_CT_ZONE_DIR_REPL = 1 << 3;
const XT_CT_ZONE_MARK = 1 << 4;

// [name, enum ip_conntrack_events value], in iptables' order (printing follows it).
const CT_EVENTS: readonly (readonly [string, number])[] = [
  ['new', 0], ['related', 1], ['destroy', 2], ['reply', 3], ['assured', 4],
  ['protoinfo', 5], ['helper', 6], ['mark', 7], ['natseqinfo', 8], ['secmark', 9],
];
const EXP_EVENTS: readonly (readonly [string, number])[] = [['new', 0]];

const options: readonly OptionSpec[] = [
  { name: 'notrack', hasArg: false },
  { name: 'helper', hasArg: true },
  { name: 'timeout', hasArg: true },
  { name: 'ctevents', hasArg: true },
  { name: 'expevents', hasArg: true },
  { name: 'zone-orig', hasArg: true },
  { name: 'zone-reply', hasArg: true },
  { name: 'zone', hasArg: true },
];

function parseEvents(opt: ParsedOption, table: readonly (readonly [string, number])[], ctx: ParseContext): number {
  let mask = 0;
  for (const e of opt.value!.split(',')) {
    const hit = table.find(([n]) => n === e);
    if (!hit) ctx.fail(`CT: unknown event type "${e}"`, opt.token, table.map(([n]) => n).join(','));
    mask |= 1 << hit[1];
  }
  return mask >>> 0;
}

function formatEvents(mask: number, table: readonly (readonly [string, number])[]): string {
  return table.filter(([, bit]) => mask & (1 << bit)).map(([n]) => n).join(',');
}

function ctFields(revision: number, f: { flags: number; zone: number; ct: number; exp: number; helper: string; timeout: string }): Fields {
  const out: Fields = {
    flags: String(f.flags),
    zone: String(f.zone),
    ct_events: String(f.ct),
    exp_events: String(f.exp),
    helper: f.helper,
  };
  if (revision >= 1) out['timeout'] = f.timeout;
  return out;
}

/** Options after the name, as ct_print_v1 / ct_save_v1 write them; `dash` is '--' for save. */
function describe(target: ExtensionTarget, dash: string): string[] {
  const f = target.fields;
  const flags = num(f['flags']);
  const zone = num(f['zone']);
  const parts: string[] = [];
  if (flags & XT_CT_NOTRACK) parts.push(`${dash}notrack`);
  if (f['helper']) parts.push(`${dash}helper ${f['helper']}`);
  if (target.revision >= 1 && f['timeout']) parts.push(`${dash}timeout ${f['timeout']}`);
  const ct = num(f['ct_events']);
  if (ct) parts.push(`${dash}ctevents ${formatEvents(ct, CT_EVENTS)}`);
  const exp = num(f['exp_events']);
  if (exp) parts.push(`${dash}expevents ${formatEvents(exp, EXP_EVENTS)}`);
  if (flags & XT_CT_ZONE_MARK || zone) {
    let z = `${dash}zone`;
    const dir = flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL);
    if (dir === XT_CT_ZONE_DIR_ORIG) z += '-orig';
    if (dir === XT_CT_ZONE_DIR_REPL) z += '-reply';
    z += flags & XT_CT_ZONE_MARK ? ' mark' : ` ${zone}`;
    parts.push(z);
  }
  return parts;
}

export const CT: TargetExtension = {
  kind: 'target',
  names: ['CT'],
  kernelName: 'CT',
  revisions: [0, 1, 2],
  options,
  revision: (_family: Family) => 2,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('CT', opts, options, ctx);
    let flags = 0;
    let zone = 0;
    let ct = 0;
    let exp = 0;
    let helper = '';
    let timeout = '';
    // Options apply in input order, as xtables calls ct_parse_v1 once per option.
    for (const opt of opts) {
      switch (opt.name) {
        case 'notrack':
          flags |= XT_CT_NOTRACK;
          break;
        case 'helper':
          helper = truncateBytes(opt.value!, 15);
          break;
        case 'timeout':
          timeout = truncateBytes(opt.value!, 31);
          break;
        case 'ctevents':
          ct = parseEvents(opt, CT_EVENTS, ctx);
          break;
        case 'expevents':
          exp = parseEvents(opt, EXP_EVENTS, ctx);
          break;
        case 'zone':
        case 'zone-orig':
        case 'zone-reply': {
          if (opt.name === 'zone-orig') flags |= XT_CT_ZONE_DIR_ORIG;
          if (opt.name === 'zone-reply') flags |= XT_CT_ZONE_DIR_REPL;
          zone = 0;
          if (opt.value!.toLowerCase() === 'mark') {
            flags |= XT_CT_ZONE_MARK;
          } else {
            const id = parseUnsigned(opt.value!, 0, 0xffff);
            if (id === undefined) ctx.fail(`CT: cannot parse ${opt.value} as a zone ID`, opt.token, '0-65535 or mark');
            zone = id;
          }
          break;
        }
      }
    }
    void seen;
    return ctFields(2, { flags, zone, ct, exp, helper, timeout });
  },
  save(target) {
    if (num(target.fields['flags']) & XT_CT_NOTRACK_ALIAS) return '-j NOTRACK';
    return ['-j CT', ...describe(target, '--')].join(' ');
  },
  list(target) {
    // ct_print_v1 shows the alias alone; revision 0 has no alias and always says CT.
    if (target.revision >= 1 && num(target.fields['flags']) & XT_CT_NOTRACK_ALIAS) return 'NOTRACK';
    return ['CT', ...describe(target, '')].join(' ');
  },
};

/** `-j NOTRACK`: iptables 1.8.9 writes CT revision 2 with the alias flag; CT prints it back. */
export const NOTRACK: TargetExtension = {
  kind: 'target',
  names: ['NOTRACK'],
  kernelName: 'CT',
  // Never chosen to print a kernel target (CT does that); it only parses `-j NOTRACK`.
  revisions: [],
  options: [],
  revision: (_family: Family) => 2,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    collectOptions('NOTRACK', opts, [], ctx);
    return ctFields(2, { flags: XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS, zone: 0, ct: 0, exp: 0, helper: '', timeout: '' });
  },
  save: (target, ctx) => CT.save(target, ctx),
  list: (target, ctx) => CT.list(target, ctx),
};
