// The `comment` match (kernel xt_comment_info, revision 0): --comment TEXT.
//
// Fields (native/ext/xt_comment.cc):
//   comment=TEXT     always present; at most 255 bytes (the kernel keeps a NUL in 256)

import type { Fields, Match } from '../model.js';
import { arg, noInvert, once, saveString } from './common.js';
import type { MatchExtension, ParseContext, ParsedOption } from './types.js';

export const XT_MAX_COMMENT_LEN = 256;

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  const seen = once(options, ctx, 'comment');
  const o = seen.get('comment');
  for (const other of options) if (other !== o) ctx.fail(`comment: unknown option ${other.token}`, other.token);
  if (!o) ctx.fail('comment: option "--comment" must be specified', '-m comment', '--comment TEXT');
  noInvert(o, ctx, 'comment');
  const text = arg(o, ctx);
  if (text.includes('\0')) ctx.fail('comment: a comment cannot hold a NUL byte', o.token, 'text without NUL');
  const bytes = Buffer.byteLength(text);
  if (bytes > XT_MAX_COMMENT_LEN - 1) {
    ctx.fail(
      `comment: "${text.slice(0, 20)}…" is ${bytes} bytes, longer than the kernel's ${XT_MAX_COMMENT_LEN - 1}`,
      o.token,
      `at most ${XT_MAX_COMMENT_LEN - 1} bytes`,
    );
  }
  return { comment: text };
}

function save(m: Match): string {
  return `-m comment --comment ${saveString(m.fields['comment'] ?? '')}`;
}

function list(m: Match): string {
  return `/* ${m.fields['comment'] ?? ''} */`;
}

export const comment: MatchExtension = {
  kind: 'match',
  names: ['comment'],
  kernelName: 'comment',
  revisions: [0],
  options: [{ name: 'comment', hasArg: true }],
  revision: () => 0,
  build,
  save,
  list,
};
