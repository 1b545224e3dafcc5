// Command-line parsing for `iptkit`: iptables-style short and long flags, with the common
// options of docs/design.md (--backend, -4/-6, --netns, --json). Unknown flags are errors that
// name the flag.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** Spellings: ['-t', '--table']. */
  names: readonly string[];
  /** The key in the parsed result. */
  key: string;
  /** Takes a value (the next argument, or --flag=value). */
  value?: boolean;
}

export interface Parsed {
  flags: Map<string, string | true>;
  positional: string[];
}

export const COMMON_FLAGS: readonly FlagSpec[] = [
  { names: ['--backend'], key: 'backend', value: true },
  { names: ['-4', '--ipv4'], key: 'ipv4' },
  { names: ['-6', '--ipv6'], key: 'ipv6' },
  { names: ['--netns'], key: 'netns', value: true },
  { names: ['--json'], key: 'json' },
  { names: ['-w', '--wait'], key: 'wait', value: true },
  { names: ['-h', '--help'], key: 'help' },
];

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const all = [...COMMON_FLAGS, ...specs];
  const byName = new Map<string, FlagSpec>();
  for (const s of all) for (const n of s.names) byName.set(n, s);
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    }
    const spec = byName.get(name);
    if (spec) {
      if (spec.value) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`${name} needs a value`);
        flags.set(spec.key, v);
      } else {
        if (inline !== undefined) throw new UsageError(`${name} takes no value`);
        flags.set(spec.key, true);
      }
      continue;
    }
    // Bundled short flags, as iptables accepts them: -nvx, -nL.
    if (!arg.startsWith('--') && arg.length > 2) {
      const letters = arg.slice(1).split('');
      const specsFor = letters.map((l) => byName.get(`-${l}`));
      if (specsFor.every((s) => s && !s.value)) {
        for (const s of specsFor) flags.set(s!.key, true);
        continue;
      }
    }
    throw new UsageError(`unknown option '${arg}'`);
  }
  return { flags, positional };
}

export function flagString(p: Parsed, key: string): string | undefined {
  const v = p.flags.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(p: Parsed, key: string): boolean {
  return p.flags.has(key);
}
