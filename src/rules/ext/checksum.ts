// The CHECKSUM target (struct xt_CHECKSUM_info, revision 0, both families):
// `-j CHECKSUM --checksum-fill`, the option being mandatory.
//
// Fields (native/ext/xt_CHECKSUM.cc):
//   operation=N   XT_CHECKSUM_OP_FILL=1

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { collectOptions, num, requireOption } from './target-util.js';

const XT_CHECKSUM_OP_FILL = 1;
const options: readonly OptionSpec[] = [{ name: 'checksum-fill', hasArg: false }];

export const CHECKSUM: TargetExtension = {
  kind: 'target',
  names: ['CHECKSUM'],
  kernelName: 'CHECKSUM',
  revisions: [0],
  options,
  revision: (_family: Family) => 0,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('CHECKSUM', opts, options, ctx);
    requireOption('CHECKSUM', seen, 'checksum-fill', ctx);
    return { operation: String(XT_CHECKSUM_OP_FILL) };
  },
  save(target) {
    return num(target.fields['operation']) & XT_CHECKSUM_OP_FILL ? '-j CHECKSUM --checksum-fill' : '-j CHECKSUM';
  },
  list(target) {
    return num(target.fields['operation']) & XT_CHECKSUM_OP_FILL ? 'CHECKSUM fill' : 'CHECKSUM';
  },
};
