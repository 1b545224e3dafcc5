// Command-line parsing for `iptkit`, on node:util's parseArgs: each command declares its
// options and help text; -h/--help anywhere before `--` means "print this command's help and
// do nothing else"; an unknown command or option is a usage error with a "did you mean".

import { parseArgs } from 'node:util';

/** A mistake in the command line: one line on stderr, exit 2. */
export class UsageError extends Error {
  /** The command the mistake was made in (`restore`, `docker apply`), for the help hint. */
  command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** A user's mistake that is not in the command line (a missing file, bad JSON): exit 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The options of every command that opens the kernel (docs/design.md, common options). */
export const COMMON_OPTIONS = {
  backend: { type: 'string' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  netns: { type: 'string' },
  wait: { type: 'string', short: 'w' },
} as const satisfies OptionSpecs;

export interface CommandSpec {
  /** As typed after `iptkit`: 'list', 'docker apply'. */
  name: string;
  help: string;
  options: OptionSpecs;
  /** How many positional arguments it takes, and what they are (for the message). */
  positionals: { max: number; what: string };
}

export interface Parsed {
  values: Readonly<Record<string, string | boolean | undefined>>;
  positional: string[];
}

/** The parsed command line, or 'help' when -h/--help was given: the caller prints the help. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed | 'help' {
  const options: Record<string, OptionSpec> = { ...spec.options, help: { type: 'boolean', short: 'h' } };
  // strict: false gives every token, known or not, so that the errors can be our own: a
  // "did you mean", and the command's name.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const isHelp = (s: string | undefined): boolean => s === '-h' || s === '--help';
  if (tokens.some((t) => t.kind === 'option' && (t.name === 'help' || (!t.inlineValue && isHelp(t.value))))) return 'help';

  const values: Record<string, string | boolean | undefined> = {};
  const positional: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positional.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    const o = options[t.name];
    if (o === undefined || (t.rawName !== `--${t.name}` && t.rawName !== `-${o.short}`)) {
      throw new UsageError(unknownOption(t.rawName, options), spec.name);
    }
    const display = o.short !== undefined ? `-${o.short}/--${t.name}` : `--${t.name}`;
    if (o.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`${t.rawName} takes no value (got '${t.value}')`, spec.name);
      values[t.name] = true;
      continue;
    }
    // A string option: its value is the next argument unless that is another option.
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value !== '-')) {
      throw new UsageError(`${display} needs a value`, spec.name);
    }
    if (values[t.name] !== undefined && values[t.name] !== t.value) {
      throw new UsageError(`${display} given twice ('${String(values[t.name])}' and '${t.value}')`, spec.name);
    }
    values[t.name] = t.value;
  }
  if (positional.length > spec.positionals.max) {
    const extra = positional[spec.positionals.max]!;
    throw new UsageError(
      spec.positionals.max === 0
        ? `unexpected argument '${extra}': ${spec.name} takes no arguments`
        : `unexpected argument '${extra}': ${spec.name} takes ${spec.positionals.what}`,
      spec.name,
    );
  }
  return { values, positional };
}

export function flagString(p: Parsed, key: string): string | undefined {
  const v = p.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(p: Parsed, key: string): boolean {
  return p.values[key] === true;
}

function unknownOption(raw: string, options: OptionSpecs): string {
  const names = Object.entries(options).flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
  const guess = raw.startsWith('--') ? didYouMean(raw, names.filter((n) => n.startsWith('--'))) : undefined;
  return `unknown option '${raw}'${guess ? ` (did you mean ${guess}?)` : ''}`;
}

/** The candidate closest to `word`, when it is close enough to be what was meant. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    // An unambiguous start (`--noflu`) is what getopt_long would have taken.
    const d = c.startsWith(word) && word.replace(/^-+/, '').length >= 2 ? 0 : distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.floor(word.replace(/^-+/, '').length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
