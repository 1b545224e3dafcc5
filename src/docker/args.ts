// Reads the options of one rule's canonical text (what iptables-save prints after `-A CHAIN`:
// `[! ]-s X [! ]-d X [! ]-i X [! ]-o X [! ]-p X`, the matches with their options, then
// `-j X` and its options) into a map, enough to tell Docker's shapes apart by their options
// (addresses, interfaces, protocol, ports, addrtype, conntrack, DNAT, MASQUERADE, CHECKSUM).
// It does not check or interpret a rule (the native dialect does): it only splits the text.

export interface Opt {
  value: string;
  neg: boolean;
}

export interface RuleArgs {
  /** `-s -d -i -o -p`, and every `--long` option of matches and target, by name. */
  opts: Map<string, Opt>;
  /** Match modules in order (`-m tcp -m conntrack`). */
  matches: string[];
  /** The `-j`/`-g` target; undefined for a rule without one. */
  target?: string;
  goto: boolean;
}

export function tokenize(args: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(args)) !== null) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

const SHORT: Record<string, string> = { '--source': '-s', '--destination': '-d', '--in-interface': '-i', '--out-interface': '-o', '--protocol': '-p', '--match': '-m', '--jump': '-j', '--goto': '-g', '--dst': '-d', '--src': '-s' };

export function parseArgs(args: string): RuleArgs {
  const t = tokenize(args);
  const r: RuleArgs = { opts: new Map(), matches: [], goto: false };
  let neg = false;
  for (let k = 0; k < t.length; k++) {
    let tok = t[k]!;
    if (tok === '!') {
      neg = true;
      continue;
    }
    tok = SHORT[tok] ?? tok;
    const next = t[k + 1];
    const hasValue = next !== undefined && next !== '!' && !next.startsWith('-');
    const value = hasValue ? next : '';
    if (hasValue) k++;
    if (tok === '-m') r.matches.push(value);
    else if (tok === '-j' || tok === '-g') {
      r.target = value;
      r.goto = tok === '-g';
    } else r.opts.set(tok, { value, neg });
    neg = false;
  }
  return r;
}

/** The option's value when present and not negated. */
export function pos(r: RuleArgs, name: string): string | undefined {
  const o = r.opts.get(name);
  return o && !o.neg ? o.value : undefined;
}

/** The option's value when present and negated. */
export function neg(r: RuleArgs, name: string): string | undefined {
  const o = r.opts.get(name);
  return o && o.neg ? o.value : undefined;
}

/** The set of option names, to test a rule's exact shape. */
export function shape(r: RuleArgs): string {
  return [...r.opts.entries()].map(([k, o]) => (o.neg ? `!${k}` : k)).sort().join(' ');
}
