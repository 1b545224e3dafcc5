// The REJECT target, two modules of one kernel name: IPv4 (struct ipt_reject_info) and IPv6
// (struct ip6t_reject_info), revision 0 each, with different reply types.
// `-j REJECT [--reject-with TYPE]`; TYPE may be any case-insensitive prefix of a name or its
// alias, the first one in iptables' table order winning (libipt_REJECT / libip6t_REJECT).
//
// Fields (native/ext/ipt_REJECT.cc, ip6t_REJECT.cc):
//   with=N     enum ipt_reject_with / enum ip6t_reject_with

import type { Family, Fields } from '../model.js';
import type { ExtensionTarget, OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { collectOptions, num } from './target-util.js';

interface RejectType {
  name: string;
  alias: string;
  with: number;
}

// In iptables' order: parsing takes the first prefix match.
const IPV4_TYPES: readonly RejectType[] = [
  { name: 'icmp-net-unreachable', alias: 'net-unreach', with: 0 },
  { name: 'icmp-host-unreachable', alias: 'host-unreach', with: 1 },
  { name: 'icmp-proto-unreachable', alias: 'proto-unreach', with: 2 },
  { name: 'icmp-port-unreachable', alias: 'port-unreach', with: 3 },
  { name: 'icmp-net-prohibited', alias: 'net-prohib', with: 5 },
  { name: 'icmp-host-prohibited', alias: 'host-prohib', with: 6 },
  { name: 'tcp-reset', alias: 'tcp-rst', with: 7 },
  { name: 'icmp-admin-prohibited', alias: 'admin-prohib', with: 8 },
];
const IPT_TCP_RESET = 7;

const IPV6_TYPES: readonly RejectType[] = [
  { name: 'icmp6-no-route', alias: 'no-route', with: 0 },
  { name: 'icmp6-adm-prohibited', alias: 'adm-prohibited', with: 1 },
  { name: 'icmp6-addr-unreachable', alias: 'addr-unreach', with: 3 },
  { name: 'icmp6-port-unreachable', alias: 'port-unreach', with: 4 },
  { name: 'tcp-reset', alias: 'tcp-reset', with: 6 },
  { name: 'icmp6-policy-fail', alias: 'policy-fail', with: 7 },
  { name: 'icmp6-reject-route', alias: 'reject-route', with: 8 },
];
const IP6T_TCP_RESET = 6;

const options: readonly OptionSpec[] = [{ name: 'reject-with', hasArg: true }];

function makeReject(family: Family, types: readonly RejectType[], defaultWith: number, tcpReset: number): TargetExtension {
  const typeName = (w: number): string => types.find((t) => t.with === w)?.name ?? String(w);
  return {
    kind: 'target',
    names: ['REJECT'],
    kernelName: 'REJECT',
    revisions: [0],
    family,
    options,
    revision: () => 0,
    build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
      const seen = collectOptions('REJECT', opts, options, ctx);
      let w = defaultWith;
      const opt = seen.get('reject-with');
      if (opt) {
        const arg = opt.value!.toLowerCase();
        const type = types.find((t) => t.name.startsWith(arg) || t.alias.startsWith(arg));
        if (!type) {
          ctx.fail(`REJECT: unknown reject type "${opt.value}"`, opt.token, types.map((t) => t.name).join('|'));
        }
        w = type.with;
      }
      // The kernel refuses a TCP reset for anything but `-p tcp` (EINVAL at commit); say why now.
      if (w === tcpReset && (ctx.protocol !== 6 || ctx.protocolInvert)) {
        ctx.fail('REJECT: --reject-with tcp-reset needs -p tcp', opt?.token, '-p tcp');
      }
      return { with: String(w) };
    },
    save(target: ExtensionTarget) {
      return `-j REJECT --reject-with ${typeName(num(target.fields['with'], defaultWith))}`;
    },
    list(target: ExtensionTarget) {
      return `reject-with ${typeName(num(target.fields['with'], defaultWith))}`;
    },
  };
}

export const REJECT4 = makeReject('ipv4', IPV4_TYPES, 3, IPT_TCP_RESET);
export const REJECT6 = makeReject('ipv6', IPV6_TYPES, 4, IP6T_TCP_RESET);

const byFamily = (family: Family): TargetExtension => (family === 'ipv6' ? REJECT6 : REJECT4);

/**
 * The one module registered for `-j REJECT`: the registry maps a user name to one module,
 * so this dispatches on the family to REJECT4 / REJECT6 instead of registering both.
 */
export const REJECT: TargetExtension = {
  kind: 'target',
  names: ['REJECT'],
  kernelName: 'REJECT',
  revisions: [0],
  options,
  revision: () => 0,
  build: (opts, ctx) => byFamily(ctx.family).build(opts, ctx),
  save: (target, ctx) => byFamily(ctx.family).save(target, ctx),
  list: (target, ctx) => byFamily(ctx.family).list(target, ctx),
};
