// Seeded mutations of iptables-restore input. One 32-bit seed and a case number fix the case
// completely (the seed, the mutations and where they land), so a finding replays exactly.

/** mulberry32: small, fast, and the same sequence on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** The case's own generator: the run's seed and the case number, mixed. */
export function caseRng(seed: number, index: number): Rng {
  return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

const HUGE = ['4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '99999999999999999999999', '65535', '65536', '-1', '0', '00', '0x', '0xffffffff', '1e3', '255', '256', '32', '33', '128', '129'];
const UNKNOWN = ['--bogus', '-m bogus', '-j BOGUS', '-y', '--dport 1', '-m tcp', '-m udp --dport 1', '-p', '!', '! !', '--', '-', '-j', '-m', '-g', '-4', '-6', '-f', '-c 1 2', '--set-counters 1', '-N X', '-t nat'];
const NAME_LENGTHS = [16, 28, 29, 30, 31, 32, 64, 255, 256, 300];

function longName(rng: Rng): string {
  return rng.pick(['a', 'Z', 'x-', '_9']).repeat(300).slice(0, rng.pick(NAME_LENGTHS));
}

/** A line's blank-separated words (quotes not honoured: mutations need not be well formed). */
const words = (line: string) => line.split(' ');

type Mutator = (lines: string[], rng: Rng) => void;

function anyLine(lines: string[], rng: Rng): number {
  return rng.int(lines.length);
}

/** A rule or command line, where token mutations mean most. */
function ruleLine(lines: string[], rng: Rng): number {
  const rules = lines.flatMap((l, i) => (l.startsWith('-') ? [i] : []));
  return rules.length ? rng.pick(rules) : anyLine(lines, rng);
}

function onWords(lines: string[], rng: Rng, f: (w: string[]) => void): void {
  const i = ruleLine(lines, rng);
  const w = words(lines[i]!);
  f(w);
  lines[i] = w.join(' ');
}

function insertAt(lines: string[], rng: Rng, text: string): void {
  const i = anyLine(lines, rng);
  const l = lines[i]!;
  const at = rng.int(l.length + 1);
  lines[i] = l.slice(0, at) + text + l.slice(at);
}

export const MUTATORS: Record<string, Mutator> = {
  'token drop': (lines, rng) => onWords(lines, rng, (w) => void w.splice(rng.int(w.length), 1)),
  'token duplicate': (lines, rng) =>
    onWords(lines, rng, (w) => {
      const i = rng.int(w.length);
      w.splice(i, 0, w[i]!);
    }),
  'token swap': (lines, rng) =>
    onWords(lines, rng, (w) => {
      const i = rng.int(w.length);
      const j = rng.next() < 0.5 ? Math.min(i + 1, w.length - 1) : rng.int(w.length);
      [w[i], w[j]] = [w[j]!, w[i]!];
    }),
  'token from another line': (lines, rng) => {
    const from = words(lines[anyLine(lines, rng)]!);
    const tok = rng.pick(from);
    onWords(lines, rng, (w) => void w.splice(rng.int(w.length + 1), 0, tok));
  },
  'random bytes': (lines, rng) => {
    let s = '';
    for (let n = 1 + rng.int(4); n > 0; n--) {
      // Printable ASCII mostly, with controls, quotes and backslashes, and some non-ASCII.
      const r = rng.next();
      s += r < 0.7 ? String.fromCharCode(0x20 + rng.int(95)) : r < 0.85 ? String.fromCharCode(1 + rng.int(31)) : rng.pick(['"', "'", '\\', 'é', '\u00ff', '\u2028', '#', '[', ']', ':', '*']);
    }
    insertAt(lines, rng, s);
  },
  'NUL': (lines, rng) => insertAt(lines, rng, '\0'),
  'CR': (lines, rng) => {
    const i = anyLine(lines, rng);
    lines[i] = rng.next() < 0.5 ? lines[i] + '\r' : lines[i]!.replace(/ /g, (m) => (rng.next() < 0.2 ? '\r' + m : m));
  },
  'huge number': (lines, rng) => {
    const i = ruleLine(lines, rng);
    const nums = [...lines[i]!.matchAll(/\d+/g)];
    const m = nums.length ? rng.pick(nums) : undefined;
    if (!m) return insertAt(lines, rng, rng.pick(HUGE));
    lines[i] = lines[i]!.slice(0, m.index) + rng.pick(HUGE) + lines[i]!.slice(m.index! + m[0].length);
  },
  'long name': (lines, rng) =>
    onWords(lines, rng, (w) => {
      // A chain, interface, target or value: the word after an option that takes a name.
      const at = w.findIndex((x, k) => k > 0 && /^-[AIDRNXEFZPij]$|^-[io]$|^--(comment|log-prefix|helper)$/.test(w[k - 1]!) && x !== '');
      w[at >= 0 && rng.next() < 0.8 ? at : rng.int(w.length)] = longName(rng);
    }),
  'long chain declaration': (lines, rng) => {
    const i = lines.findIndex((l) => l.startsWith('*'));
    lines.splice(i + 1, 0, `:${longName(rng)} - [0:0]`);
  },
  'unknown option': (lines, rng) => onWords(lines, rng, (w) => void w.splice(1 + rng.int(w.length), 0, rng.pick(UNKNOWN))),
  'missing COMMIT': (lines, rng) => {
    const commits = lines.flatMap((l, i) => (l === 'COMMIT' ? [i] : []));
    if (commits.length) lines.splice(rng.pick(commits), 1);
  },
  'duplicate table': (lines, rng) => {
    const starts = lines.flatMap((l, i) => (l.startsWith('*') ? [i] : []));
    if (!starts.length) return;
    const s = rng.pick(starts);
    let e = lines.indexOf('COMMIT', s);
    if (e < 0) e = lines.length - 1;
    const block = lines.slice(s, e + 1);
    lines.splice(rng.next() < 0.5 ? e + 1 : s, 0, ...block);
  },
  'duplicate chain': (lines, rng) => {
    const chains = lines.flatMap((l, i) => (l.startsWith(':') || /^-N /.test(l) ? [i] : []));
    if (!chains.length) return;
    const i = rng.pick(chains);
    const name = lines[i]!.startsWith(':') ? lines[i]!.slice(1).split(' ')[0] : words(lines[i]!)[1];
    lines.splice(i + rng.int(2), 0, rng.next() < 0.5 ? lines[i]! : rng.next() < 0.5 ? `-N ${name}` : `:${name} - [0:0]`);
  },
  'line drop': (lines, rng) => void lines.splice(anyLine(lines, rng), 1),
  'line duplicate': (lines, rng) => {
    const i = anyLine(lines, rng);
    lines.splice(i + rng.int(4), 0, lines[i]!);
  },
  'line swap': (lines, rng) => {
    const i = anyLine(lines, rng);
    const j = anyLine(lines, rng);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  },
};

export interface Case {
  index: number;
  input: string;
  /** restore -n. */
  noflush: boolean;
  /** The mutations applied, in order. */
  mutations: string[];
}

/** Case `index` of the run `seed`: one to three mutations of one or two seed inputs. */
export function makeCase(seed: number, index: number, corpus: readonly string[]): Case {
  const rng = caseRng(seed, index);
  let text = rng.pick(corpus);
  if (rng.next() < 0.2) text += rng.pick(corpus);
  const lines = text.replace(/\n$/, '').split('\n');
  const names = Object.keys(MUTATORS);
  const mutations: string[] = [];
  // Case 0 of every run is an unmutated seed: the comparison itself must hold on valid input.
  for (let n = index === 0 ? 0 : 1 + rng.int(3); n > 0 && lines.length; n--) {
    const m = rng.pick(names);
    mutations.push(m);
    MUTATORS[m]!(lines, rng);
  }
  return { index, input: lines.join('\n') + (rng.next() < 0.05 ? '' : '\n'), noflush: rng.next() < 0.3, mutations };
}
