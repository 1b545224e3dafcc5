// The `multiport` match, revision 1 (kernel xt_multiport_v1): --sports/--dports/--ports with
// up to 15 ports, where a range LO:HI takes two.
//
// Fields (native/ext/xt_multiport.cc), every one always present, in this order:
//   flags=N          SOURCE=0 DESTINATION=1 EITHER=2
//   count=N          entries used in ports/pflags
//   ports=P,P,…      decimal
//   pflags=F,F,…     1 where a range starts (its end is the next port)
//   invert=N         0 or 1

import type { Fields, Match } from '../model.js';
import { protocolName } from '../protocols.js';
import { arg, num, ruleProtocol } from './common.js';
import { parsePort, portText } from './ports.js';
import type { MatchExtension, ParseContext, ParsedOption, PrintContext } from './types.js';

export const XT_MULTI_PORTS = 15;
const FLAG_OF: Record<string, number> = { sports: 0, dports: 1, ports: 2 };
// The protocols multiport works with, as check_proto in libxt_multiport.
const PROTOS = new Map<number, string>([
  [6, 'tcp'],
  [17, 'udp'],
  [136, 'udplite'],
  [132, 'sctp'],
  [33, 'dccp'],
]);

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  if (ctx.protocolInvert) ctx.fail('multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP', '-m multiport', '-p tcp/udp/udplite/sctp/dccp without !');
  if (!ctx.protocol) {
    ctx.fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'", '-m multiport', '-p tcp, udp, udplite, sctp or dccp');
  }
  const proto = PROTOS.get(ctx.protocol);
  if (proto === undefined) ctx.fail('multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP', '-m multiport', '-p tcp, udp, udplite, sctp or dccp');
  if (options.length === 0) ctx.fail('multiport expects an option', '-m multiport', '--sports, --dports or --ports');
  if (options.length > 1) ctx.fail('multiport can only have one option', options[1]!.token, 'one of --sports, --dports, --ports');
  const o = options[0]!;
  const flags = FLAG_OF[o.name];
  if (flags === undefined) ctx.fail(`multiport: unknown option ${o.token}`, o.token);
  const ports: number[] = [];
  const pflags: number[] = [];
  for (const item of arg(o, ctx).split(',')) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      if (ports.length >= XT_MULTI_PORTS) ctx.fail('too many ports specified', o.token, `at most ${XT_MULTI_PORTS} ports, a range counting two`);
      ports.push(parsePort(item, proto, ctx, o.token));
      pflags.push(0);
    } else {
      if (ports.length + 1 >= XT_MULTI_PORTS) ctx.fail('too many ports specified', o.token, `at most ${XT_MULTI_PORTS} ports, a range counting two`);
      const lo = parsePort(item.slice(0, colon), proto, ctx, o.token);
      const hi = parsePort(item.slice(colon + 1), proto, ctx, o.token);
      if (lo >= hi) ctx.fail('invalid portrange specified', o.token, `a range LO:HI with LO < HI, got ${item}`);
      ports.push(lo, hi);
      pflags.push(1, 0);
    }
  }
  return {
    flags: String(flags),
    count: String(ports.length),
    ports: ports.join(','),
    pflags: pflags.join(','),
    invert: o.invert ? '1' : '0',
  };
}

interface Multi {
  flags: number;
  ports: number[];
  pflags: number[];
  invert: boolean;
}

function read(m: Match): Multi {
  const count = num(m.fields, 'count') || 0;
  const split = (v: string | undefined): number[] => (v ? v.split(',').map(Number) : []);
  return {
    flags: num(m.fields, 'flags'),
    ports: split(m.fields['ports']).slice(0, count),
    pflags: split(m.fields['pflags']).slice(0, count),
    invert: num(m.fields, 'invert') > 0,
  };
}

function portsText(mp: Multi, proto: string | undefined, numeric: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < mp.ports.length; i++) {
    let s = portText(mp.ports[i]!, proto, numeric);
    if (mp.pflags[i] && i + 1 < mp.ports.length) s += ':' + portText(mp.ports[++i]!, proto, numeric);
    out.push(s);
  }
  return out.join(',');
}

const SAVE_OPT = ['--sports', '--dports', '--ports'];
const LIST_WORD = ['sports', 'dports', 'ports'];

function save(m: Match): string {
  const mp = read(m);
  const opt = SAVE_OPT[mp.flags];
  // An unknown flags value prints no option word, as iptables-save does.
  return `-m multiport${mp.invert ? ' !' : ''}${opt ? ` ${opt}` : ''} ${portsText(mp, undefined, true)}`;
}

function list(m: Match, ctx: PrintContext): string {
  const mp = read(m);
  const p = ruleProtocol(ctx);
  const proto = p !== undefined && PROTOS.has(p) ? (protocolName(p) ?? PROTOS.get(p)) : undefined;
  // iptables prints 'multiport dports ' and then ' !' for an inverted one: two spaces.
  return `multiport ${LIST_WORD[mp.flags] ?? 'ERROR'} ${mp.invert ? ' !' : ''}${portsText(mp, proto, ctx.numeric)}`;
}

export const multiport: MatchExtension = {
  kind: 'match',
  names: ['multiport'],
  kernelName: 'multiport',
  revisions: [1],
  options: [
    { name: 'sports', aliases: ['source-ports'], hasArg: true, invertible: true },
    { name: 'dports', aliases: ['destination-ports'], hasArg: true, invertible: true },
    { name: 'ports', hasArg: true, invertible: true },
  ],
  revision: () => 1,
  build,
  save,
  list,
};
