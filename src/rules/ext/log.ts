// The LOG target (struct xt_log_info, revision 0, both families): `-j LOG [--log-level L]
// [--log-prefix P] [--log-tcp-sequence] [--log-tcp-options] [--log-ip-options] [--log-uid]
// [--log-macdecode]`.
//
// Fields (native/ext/xt_LOG.cc), every one always present:
//   level=N      syslog level 0..7 (default 4)
//   logflags=N   XT_LOG_TCPSEQ=1 TCPOPT=2 IPOPT=4 UID=8 MACDECODE=0x20
//   prefix=STR   at most 29 bytes, may be empty

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { collectOptions, num, parseUnsigned, saveString, truncateBytes } from './target-util.js';

const LOG_DEFAULT_LEVEL = 4;
const XT_LOG_MASK = 0x2f;
const PREFIX_MAX = 29; // char prefix[30], NUL-terminated

// [option, flag bit, listing word], in the order iptables prints them.
const FLAGS: readonly (readonly [string, number, string])[] = [
  ['log-tcp-sequence', 0x01, 'tcp-sequence'],
  ['log-tcp-options', 0x02, 'tcp-options'],
  ['log-ip-options', 0x04, 'ip-options'],
  ['log-uid', 0x08, 'uid'],
  ['log-macdecode', 0x20, 'macdecode'],
];

// What --log-level accepts besides 0..7 (xtables' syslog level table; case-sensitive).
const LEVEL_NAMES: ReadonlyMap<string, number> = new Map([
  ['alert', 1], ['crit', 2], ['debug', 7], ['emerg', 0], ['error', 3],
  ['info', 6], ['notice', 5], ['panic', 0], ['warning', 4],
]);

// What the listing prints for a level: the first name glibc's prioritynames has for it.
const PRIORITY_NAMES: readonly string[] = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

const options: readonly OptionSpec[] = [
  { name: 'log-level', hasArg: true },
  { name: 'log-prefix', hasArg: true },
  ...FLAGS.map(([name]) => ({ name, hasArg: false })),
];

export const LOG: TargetExtension = {
  kind: 'target',
  names: ['LOG'],
  kernelName: 'LOG',
  revisions: [0],
  options,
  revision: (_family: Family) => 0,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('LOG', opts, options, ctx);
    let level = LOG_DEFAULT_LEVEL;
    const lv = seen.get('log-level');
    if (lv) {
      const n = parseUnsigned(lv.value!, 0, 7) ?? LEVEL_NAMES.get(lv.value!);
      if (n === undefined) ctx.fail(`LOG: log level "${lv.value}" unknown`, lv.token, '0-7 or a syslog level name');
      level = n;
    }
    let prefix = '';
    const px = seen.get('log-prefix');
    if (px) {
      const v = px.value!;
      if (v === '') ctx.fail('LOG: --log-prefix must have a minimum length of 1 character', px.token, 'a prefix');
      if (v.includes('\n')) ctx.fail('LOG: newlines not allowed in --log-prefix', px.token);
      // iptables silently keeps the first 29 bytes.
      prefix = truncateBytes(v, PREFIX_MAX);
    }
    let logflags = 0;
    for (const [name, bit] of FLAGS) if (seen.has(name)) logflags |= bit;
    return { level: String(level), logflags: String(logflags), prefix };
  },
  save(target) {
    const f = target.fields;
    const level = num(f['level'], LOG_DEFAULT_LEVEL);
    const logflags = num(f['logflags']);
    const prefix = f['prefix'] ?? '';
    const parts = ['-j LOG'];
    if (prefix !== '') parts.push(`--log-prefix ${saveString(prefix)}`);
    if (level !== LOG_DEFAULT_LEVEL) parts.push(`--log-level ${level}`);
    for (const [name, bit] of FLAGS) if (logflags & bit) parts.push(`--${name}`);
    return parts.join(' ');
  },
  list(target, ctx) {
    const f = target.fields;
    const level = num(f['level'], LOG_DEFAULT_LEVEL);
    const logflags = num(f['logflags']);
    const prefix = f['prefix'] ?? '';
    const parts = ['LOG'];
    if (ctx.numeric) {
      parts.push(`flags ${logflags} level ${level}`);
    } else {
      const name = level === 16 ? 'none' : PRIORITY_NAMES[level];
      parts.push(name !== undefined ? `level ${name}` : `UNKNOWN level ${level}`);
      for (const [, bit, word] of FLAGS) if (logflags & bit) parts.push(word);
      if (logflags & ~XT_LOG_MASK) parts.push('unknown-flags');
    }
    if (prefix !== '') parts.push(`prefix "${prefix}"`);
    return parts.join(' ');
  },
};
