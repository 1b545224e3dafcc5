// One iptables command line as iptables 1.8.9 reads it: the restore-line tokenizer (its
// quoting rules), then getopt_long over the generic options and the options of every loaded
// extension (unambiguous long-option prefixes, newest module first, generic options before
// all), `!` before an option, the implicit `-p tcp` match, and the command (-A, -I, …).
// Extension options go to the modules through the registry (src/rules/ext/index.ts).

import { ParseError } from '../errors.js';
import type { Counters, Family, Rule, Target, Verdict } from './model.js';
import { createRule } from './model.js';
import { matchByUserName, targetByUserName } from './ext/index.js';
import type { MatchExtension, OptionSpec, ParseContext, ParsedOption, TargetExtension } from './ext/index.js';
import { parseCidr, parseInterface } from './address.js';
import { implicitMatchNames, parseProtocol } from './protocols.js';
import { OPAQUE_OPTION } from './save.js';

/** XT_EXTENSION_MAXNAMELEN - 1: the longest chain name. */
export const MAX_CHAIN_NAME = 28;

const VERDICTS: ReadonlySet<string> = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

/**
 * Splits one restore line into arguments as iptables-restore does (add_param_to_argv):
 * blanks separate; `"…"` quotes, and inside quotes `\x` is x; a closing quote ends the
 * argument; a backslash outside quotes is literal. (`-t` is refused where getopt meets it as
 * an option, not here: as an option's value, `--comment -t`, it is plain text.)
 */
export function tokenizeRestoreLine(text: string, line?: number): string[] {
  // Fast path: no quotes, so arguments are the runs between blanks (the loop below gives the
  // same for such a line, one character at a time).
  if (text.indexOf('"') < 0) return splitBlanks(text, line);
  const out: string[] = [];
  let buf = '';
  let quoteOpen = false;
  let escaped = false;
  const flush = (): void => {
    out.push(buf);
    buf = '';
  };
  for (const ch of text) {
    if (quoteOpen) {
      if (escaped) {
        buf += ch;
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
      } else if (ch === '"') {
        quoteOpen = false;
        flush();
      } else {
        buf += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoteOpen = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (buf.length) flush();
      continue;
    }
    buf += ch;
  }
  if (quoteOpen) throw new ParseError('unterminated quoted string', lineInit(line, text, 'a closing "'));
  if (buf.length) flush();
  return out;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * tokenizeRestoreLine(text.slice(start, end)) for a range without `"`: the same arguments,
 * read in place (restore input is one flat string; a slice of it reads slower).
 */
export function tokenizeRange(text: string, start: number, end: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < end) {
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i >= end) break;
    const from = i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    out.push(token(text, from, i));
  }
  return out;
}

function splitBlanks(text: string, line: number | undefined): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isBlank(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isBlank(text.charCodeAt(i))) i++;
    out.push(token(text, start, i));
  }
  return out;
}

// Recent tokens, direct-mapped by a few of their characters: restore input repeats the same
// words line after line (`-A`, chain names, `-m`, `tcp`, interface names), and reusing the
// string already made saves an allocation per word (and a slice that would keep the whole
// line alive from the rule model). A miss or a collision just slices, as before.
const TOKEN_SLOTS = 1024;
const recentTokens: string[] = new Array<string>(TOKEN_SLOTS).fill('');

function token(text: string, start: number, end: number): string {
  const len = end - start;
  if (len > 40) return text.slice(start, end);
  const h =
    (Math.imul(len, 31) ^
      Math.imul(text.charCodeAt(start), 7) ^
      Math.imul(text.charCodeAt(end - 1), 131) ^
      Math.imul(text.charCodeAt(start + (len >> 1)), 17) ^
      Math.imul(text.charCodeAt(start + (len >> 2)), 257)) &
    (TOKEN_SLOTS - 1);
  const c = recentTokens[h]!;
  if (c.length === len) {
    let k = 0;
    while (k < len && c.charCodeAt(k) === text.charCodeAt(start + k)) k++;
    if (k === len) return c;
  }
  const t = text.slice(start, end);
  recentTokens[h] = t;
  return t;
}

function lineInit(line: number | undefined, token?: string, expected?: string): { line?: number; token?: string; expected?: string } {
  const init: { line?: number; token?: string; expected?: string } = {};
  if (line !== undefined) init.line = line;
  if (token !== undefined) init.token = token;
  if (expected !== undefined) init.expected = expected;
  return init;
}

/** A command of an iptables(-restore) line. Rule numbers are 1-based as on the command line. */
export type RuleCommand =
  | { op: 'append'; chain: string; rule: Rule }
  | { op: 'insert'; chain: string; index: number; rule: Rule }
  | { op: 'delete'; chain: string; rule: Rule }
  | { op: 'deleteNum'; chain: string; index: number }
  | { op: 'replace'; chain: string; index: number; rule: Rule }
  | { op: 'check'; chain: string; rule: Rule }
  | { op: 'newChain'; chain: string }
  | { op: 'deleteChain'; chain?: string }
  | { op: 'flush'; chain?: string }
  | { op: 'zero'; chain?: string }
  | { op: 'policy'; chain: string; policy: 'ACCEPT' | 'DROP' }
  | { op: 'rename'; chain: string; newName: string };

export interface ParseArgsOptions {
  /** 1-based input line, for errors. */
  line?: number;
}

type HasArg = 0 | 1 | 2;

interface Generic {
  kind: 'generic';
  name: string;
  short: string;
  hasArg: HasArg;
}

interface ExtOption {
  kind: 'ext';
  name: string;
  hasArg: HasArg;
  spec: OptionSpec;
  owner: Instance;
}

type OptionEntry = Generic | ExtOption;

interface MatchInstance {
  kind: 'match';
  ext: MatchExtension;
  options: ParsedOption[];
}

interface TargetInstance {
  kind: 'target';
  ext: TargetExtension;
  options: ParsedOption[];
}

type Instance = MatchInstance | TargetInstance;

// iptables 1.8.9 original_opts, in its order (getopt_long reports the first exact match).
const GENERIC: readonly Generic[] = (
  [
    ['append', 'A', 1], ['delete', 'D', 1], ['check', 'C', 1], ['insert', 'I', 1], ['replace', 'R', 1],
    ['list', 'L', 2], ['list-rules', 'S', 2], ['flush', 'F', 2], ['zero', 'Z', 2], ['new-chain', 'N', 1],
    ['delete-chain', 'X', 2], ['rename-chain', 'E', 1], ['policy', 'P', 1], ['source', 's', 1],
    ['destination', 'd', 1], ['src', 's', 1], ['dst', 'd', 1], ['protocol', 'p', 1],
    ['in-interface', 'i', 1], ['jump', 'j', 1], ['table', 't', 1], ['match', 'm', 1], ['numeric', 'n', 0],
    ['out-interface', 'o', 1], ['verbose', 'v', 0], ['wait', 'w', 2], ['wait-interval', 'W', 2],
    ['exact', 'x', 0], ['fragments', 'f', 0], ['version', 'V', 0], ['help', 'h', 2], ['line-numbers', '0', 0],
    ['modprobe', 'M', 1], ['set-counters', 'c', 1], ['goto', 'g', 1], ['ipv4', '4', 0], ['ipv6', '6', 0],
  ] as const
).map(([name, short, hasArg]) => ({ kind: 'generic' as const, name, short, hasArg }));

const SHORT: ReadonlyMap<string, Generic> = new Map(
  GENERIC.filter((g) => g.name !== 'src' && g.name !== 'dst').map((g) => [g.short, g]),
);

const GENERIC_BY_NAME: ReadonlyMap<string, Generic> = new Map(GENERIC.map((g) => [g.name, g]));

const optionTables = new WeakMap<MatchExtension | TargetExtension, Map<string, OptionSpec>>();

/** An extension's option names (aliases included) → spec; the first spelling wins, as in its list. */
function optionTable(ext: MatchExtension | TargetExtension): Map<string, OptionSpec> {
  let t = optionTables.get(ext);
  if (!t) {
    t = new Map();
    for (const spec of ext.options) {
      for (const n of [spec.name, ...(spec.aliases ?? [])]) if (!t.has(n)) t.set(n, spec);
    }
    optionTables.set(ext, t);
  }
  return t;
}

const COMMAND_LETTERS = 'ADCIRLSFZNXEP';
const OPAQUE_EQ = OPAQUE_OPTION + '=';
const INVERTIBLE = 'sdpiof';

/** Whether a token may be taken as the optional/positional argument of a command. */
function positional(tok: string | undefined): tok is string {
  return tok !== undefined && tok[0] !== '-' && tok[0] !== '!';
}

function parseRuleNumber(text: string, fail: (m: string, t?: string, e?: string) => never): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) fail(`Invalid rule number \`${text}'`, text, 'a rule number ≥ 1');
  return n;
}

function parseCounter(text: string, which: string, fail: (m: string, t?: string, e?: string) => never): bigint {
  // sscanf("%llu"): leading blanks and a plus sign are fine.
  const m = /^\s*\+?([0-9]+)/.exec(text);
  if (!m) fail(`-c ${which} counter not numeric`, text, 'a decimal counter');
  const v = BigInt(m[1]!);
  if (v >= 1n << 64n) fail(`-c ${which} counter too large`, text, 'a 64-bit counter');
  return v;
}

/** Checks a chain name as iptables does for -N and -E (and restore's `:CHAIN` lines). */
export function chainNameProblem(name: string, family: Family): string | undefined {
  if (name.length > MAX_CHAIN_NAME) return `chain name \`${name}' too long (must be under ${MAX_CHAIN_NAME + 1} chars)`;
  if (name === '') return 'chain name must not be empty';
  if (name[0] === '-') return "chain name not allowed to start with `-'";
  if (name[0] === '!') return "chain name not allowed to start with `!'";
  if (/\s/.test(name)) return `Invalid chain name \`${name}'`;
  if (VERDICTS.has(name) || targetByUserName(name, family)) return 'chain name may not clash with target name';
  return undefined;
}

interface CommandState {
  letter?: string;
  chain?: string;
  index?: number;
  policy?: string;
  newName?: string;
}

/**
 * Parses one command line (already tokenized, without `iptables` or `-t`), getopt_long style.
 * Returns the command; rule commands carry the rule.
 */
export function parseCommand(tokens: readonly string[], family: Family, opts: ParseArgsOptions = {}): RuleCommand {
  const line = opts.line;
  // Annotated so that TypeScript narrows after a call (assertion-style `never`).
  const fail: (message: string, token?: string, expected?: string) => never = (message, token, expected) => {
    throw new ParseError(message, lineInit(line, token, expected));
  };
  // Errors from address/protocol helpers get this line.
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ParseError && e.line === undefined) {
        throw new ParseError(e.message, lineInit(line, e.token, e.expected));
      }
      throw e;
    }
  };

  const rule: Rule = createRule([], { kind: 'none' });
  const instances: MatchInstance[] = [];
  let target: TargetInstance | undefined;
  let targetName: string | undefined;
  let isGoto = false;
  // Loaded extensions, oldest first; getopt sees generic options, then the newest extension's.
  const loaded: Instance[] = [];
  const seen = new Set<string>();
  const cmd: CommandState = {};
  let invert = false;
  let invertToken = '';
  let protoText: string | undefined;
  let protoUsed = false;
  let counters: Counters | undefined;

  const addInstance = (inst: Instance): void => {
    // New options go after the generic ones and before older extensions' (xtables_merge_options).
    loaded.push(inst);
  };

  // `invert` is passed, not captured: a variable a closure captures lives in a heap context,
  // and the loop below reads and writes it for every token.
  const setOnce = (letter: string, tok: string, inverted: boolean): void => {
    if (seen.has(letter)) fail(`multiple -${letter} flags not allowed`, tok);
    seen.add(letter);
    if (inverted && !INVERTIBLE.includes(letter)) fail(`cannot have ! before -${letter}`, tok);
  };

  const lookupLong = (name: string, tok: string): OptionEntry | undefined => {
    // An exact name: the first in merge order (generic, then newest extension first).
    const g = GENERIC_BY_NAME.get(name);
    if (g) return g;
    for (let k = loaded.length - 1; k >= 0; k--) {
      const inst = loaded[k]!;
      const spec = optionTable(inst.ext).get(name);
      if (spec) return { kind: 'ext', name, hasArg: spec.hasArg ? 1 : 0, spec, owner: inst };
    }
    // A prefix (rare): the whole merged list, as getopt_long walks it.
    const merged: OptionEntry[] = [...GENERIC];
    for (let k = loaded.length - 1; k >= 0; k--) {
      const inst = loaded[k]!;
      for (const spec of inst.ext.options) {
        for (const n of [spec.name, ...(spec.aliases ?? [])]) {
          merged.push({ kind: 'ext', name: n, hasArg: spec.hasArg ? 1 : 0, spec, owner: inst });
        }
      }
    }
    const cands = merged.filter((o) => o.name.startsWith(name));
    if (cands.length === 0) return undefined;
    const first = cands[0]!;
    const same = (o: OptionEntry): boolean =>
      o.kind === first.kind &&
      o.hasArg === first.hasArg &&
      (o.kind === 'generic' ? o.short === (first as Generic).short : o.spec === (first as ExtOption).spec && o.owner === (first as ExtOption).owner);
    if (!cands.every(same)) {
      fail(`option "${tok}" is ambiguous; possibilities: ${cands.map((c) => '--' + c.name).join(' ')}`, tok, 'an unambiguous option');
    }
    return first;
  };

  // The token index: no closure captures it (the argument is taken inline below).
  let i = 0;

  const opaque = (tok: string): never =>
    fail(
      'this rule holds an extension iptkit cannot print (it was read from the kernel without a codec); it cannot be restored from text',
      tok,
      'a rule without opaque extensions',
    );
  while (i < tokens.length) {
    const tok = tokens[i++]!;
    if (tok === OPAQUE_OPTION || tok.startsWith(OPAQUE_EQ)) opaque(tok);
    let entry: OptionEntry | undefined;
    let attached: string | undefined;
    let shownTok = tok;
    if (tok.startsWith('--') && tok.length > 2) {
      const eq = tok.indexOf('=');
      const name = eq >= 0 ? tok.slice(2, eq) : tok.slice(2);
      if (eq >= 0) attached = tok.slice(eq + 1);
      entry = lookupLong(name, tok);
      if (!entry) {
        // command_default: an unknown option may belong to the `-p` protocol's match.
        if (protoText !== undefined && !protoUsed) {
          protoUsed = true;
          const ext = implicitMatchNames(protoText, family)
            .map((n) => matchByUserName(n, family))
            .find((e) => e !== undefined);
          if (ext) {
            const inst: MatchInstance = { kind: 'match', ext, options: [] };
            instances.push(inst);
            addInstance(inst);
            i--; // getopt again over the same option, now with the match's options merged
            continue;
          }
        }
        fail(`unknown option "${tok}"`, tok, 'an option of iptables or of a loaded match or target');
      }
    } else if (tok.length > 1 && tok[0] === '-' && tok !== '--') {
      const g = SHORT.get(tok[1]!);
      if (!g) fail(`unknown option "${tok}"`, tok, 'an option of iptables');
      entry = g;
      shownTok = '-' + tok[1];
      if (tok.length > 2) {
        if (g.hasArg === 0) fail(`unknown option "${tok}" (short options are not combined here)`, tok);
        attached = tok.slice(2);
      }
    } else {
      if (tok === '!') {
        if (invert) fail('multiple consecutive ! not allowed', tok);
        invert = true;
        invertToken = tok;
        continue;
      }
      fail(`Bad argument \`${tok}'`, tok, 'an option');
    }
    let value: string | undefined;
    if (entry.hasArg === 0) {
      if (attached !== undefined) fail(`option "${shownTok}" doesn't allow an argument`, shownTok);
    } else if (attached !== undefined) {
      value = attached;
    } else if (entry.hasArg !== 2) {
      if (i >= tokens.length) fail(`option "${shownTok}" requires an argument`, shownTok, 'an argument');
      value = tokens[i++]!;
    }

    if (entry.kind === 'ext') {
      const spec = entry.spec;
      // Deprecated intrapositioned negation: `--dport ! 80`.
      if (value === '!' && spec.invertible) {
        if (invert) fail("Multiple `!' flags not allowed", tok);
        invert = true;
        if (i >= tokens.length) fail("no argument following `!'", tok);
        value = tokens[i++]!;
      }
      if (invert && !spec.invertible) fail(`${entry.owner.ext.names[0]}: option "--${spec.name}" cannot be inverted.`, tok);
      // getopt hands over one argument; iptables' multi-argument options take the following
      // words themselves (tcp --tcp-flags MASK COMP).
      for (let extra = (spec.args ?? 1) - 1; extra > 0 && value !== undefined; extra--) {
        if (!positional(tokens[i])) fail(`option "${tok}" requires ${spec.args} arguments`, tok, `${spec.args} arguments`);
        value += ' ' + tokens[i++]!;
      }
      const parsed: ParsedOption = { name: spec.name, invert, token: shownTok };
      if (value !== undefined) parsed.value = value;
      entry.owner.options.push(parsed);
      invert = false;
      continue;
    }

    const letter = entry.short;
    if (COMMAND_LETTERS.includes(letter)) {
      if (invert) fail(`cannot have ! before -${letter}`, tok);
      if (cmd.letter !== undefined) fail(`Can't use -${letter} with -${cmd.letter}`, tok, 'one command per line');
      cmd.letter = letter;
      if (value === undefined && entry.hasArg === 2 && positional(tokens[i])) value = tokens[i++]!;
      if (value !== undefined) cmd.chain = value;
      switch (letter) {
        case 'I':
          cmd.index = positional(tokens[i]) ? parseRuleNumber(tokens[i++]!, fail) : 1;
          break;
        case 'R':
          if (!positional(tokens[i])) fail('-R requires a rule number', tok, 'a rule number');
          cmd.index = parseRuleNumber(tokens[i++]!, fail);
          break;
        case 'D':
          if (positional(tokens[i])) cmd.index = parseRuleNumber(tokens[i++]!, fail);
          break;
        case 'P':
          if (!positional(tokens[i])) fail('-P requires a chain and a policy', tok, 'a policy');
          cmd.policy = tokens[i++]!;
          break;
        case 'E':
          if (!positional(tokens[i])) fail('-E requires old-chain-name and new-chain-name', tok, 'a new chain name');
          cmd.newName = tokens[i++]!;
          break;
        case 'Z':
          break;
        case 'L':
        case 'S':
          fail(`-${letter} lists rules; it has no place in restore input`, tok);
      }
      continue;
    }

    switch (letter) {
      case 's':
        setOnce('s', tok, invert);
        rule.source = guard(() => parseCidr(value!, family));
        if (invert) rule.sourceInvert = true;
        else if (rule.source.endsWith('/0')) rule.source = undefined;
        break;
      case 'd':
        setOnce('d', tok, invert);
        rule.destination = guard(() => parseCidr(value!, family));
        if (invert) rule.destinationInvert = true;
        else if (rule.destination.endsWith('/0')) rule.destination = undefined;
        break;
      case 'i':
        setOnce('i', tok, invert);
        rule.inInterface = guard(() => parseInterface(value!));
        if (invert) rule.inInterfaceInvert = true;
        break;
      case 'o':
        setOnce('o', tok, invert);
        rule.outInterface = guard(() => parseInterface(value!));
        if (invert) rule.outInterfaceInvert = true;
        break;
      case 'p': {
        setOnce('p', tok, invert);
        const n = guard(() => parseProtocol(value!, family));
        if (n === 0 && invert) fail('rule would never match protocol', value, 'a protocol other than all');
        protoText = value!;
        if (n !== 0) rule.protocol = n;
        if (invert) rule.protocolInvert = true;
        break;
      }
      case 'f':
        if (family !== 'ipv4') fail('-f (fragments) exists only in iptables (IPv4)', tok);
        setOnce('f', tok, invert);
        rule.fragment = !invert;
        break;
      case 'j':
      case 'g': {
        if (seen.has('j')) fail('multiple -j flags not allowed', tok);
        setOnce('j', tok, invert);
        targetName = value!;
        isGoto = letter === 'g';
        if (!isGoto && !VERDICTS.has(targetName)) {
          const ext = targetByUserName(targetName, family);
          if (ext) {
            target = { kind: 'target', ext, options: [] };
            addInstance(target);
          }
        }
        break;
      }
      case 'm': {
        if (invert) fail('cannot have ! before -m', tok);
        const ext = matchByUserName(value!, family);
        if (!ext && tokens[i] === OPAQUE_OPTION) opaque(tokens[i]!);
        if (!ext) fail(`Couldn't load match \`${value}': iptkit has no module for it`, value, 'a match iptkit understands');
        const inst: MatchInstance = { kind: 'match', ext, options: [] };
        instances.push(inst);
        addInstance(inst);
        break;
      }
      case 'c': {
        setOnce('c', tok, invert);
        let pc = value!;
        let bc: string | undefined;
        const comma = pc.indexOf(',', 1);
        if (comma >= 0) {
          bc = pc.slice(comma + 1);
          pc = pc.slice(0, comma);
        } else if (positional(tokens[i])) {
          bc = tokens[i++]!;
        }
        if (bc === undefined) fail('-c requires packet and byte counter', tok, 'PKTS BYTES');
        counters = { packets: parseCounter(pc, 'packet', fail), bytes: parseCounter(bc, 'byte', fail) };
        break;
      }
      case '4':
      case '6':
        if ((letter === '4') !== (family === 'ipv4')) fail(`this line is for ${letter === '4' ? 'IPv4' : 'IPv6'} only`, tok);
        break;
      case 'n':
      case 'v':
      case 'x':
      case 'w':
      case 'W':
      case '0':
      case 'M':
        // Listing and locking options: meaningless for a rule, harmless as iptables treats them.
        break;
      case 't':
        // Checked where getopt sees it (as iptables does), so that `--comment -t` stays an
        // argument: `-t` as an option is refused, as an option's value it is just text.
        fail('The -t option cannot be used in iptables-restore (the table comes from the *table line)', tok);
        break;
      default:
        fail(`option "${tok}" is not supported`, tok);
    }
    invert = false;
  }
  if (invert) fail("`!' at the end of the line, with nothing to invert", invertToken);
  if (cmd.letter === undefined) fail('no command specified', tokens[0], 'a command such as -A CHAIN');

  // Extension fields, in load order (iptables' final checks).
  const pctx = (): ParseContext => {
    const c: ParseContext = { family, fail };
    if (rule.protocol !== undefined) c.protocol = rule.protocol;
    if (rule.protocolInvert) c.protocolInvert = true;
    return c;
  };
  // An array of the exact size (push on the empty one would reserve room for 17).
  if (instances.length) {
    rule.matches = instances.map((inst) => ({ name: inst.ext.kernelName, revision: inst.ext.revision(family), fields: inst.ext.build(inst.options, pctx()) }));
  }
  if (targetName !== undefined) {
    let t: Target;
    if (target) {
      t = { kind: 'extension', name: target.ext.kernelName, revision: target.ext.revision(family), fields: target.ext.build(target.options, pctx()) };
    } else if (!isGoto && VERDICTS.has(targetName)) {
      t = { kind: 'verdict', verdict: targetName as Verdict };
    } else {
      t = isGoto ? { kind: 'jump', chain: targetName, goto: true } : { kind: 'jump', chain: targetName };
    }
    rule.target = t;
  }
  if (counters) rule.counters = counters;

  const chain = cmd.chain!;
  const needsChain = 'ADCIRNEP'.includes(cmd.letter);
  if (needsChain && chain === undefined) fail(`-${cmd.letter} requires a chain name`, undefined, 'a chain name');
  if ('ADCIR'.includes(cmd.letter) && !(cmd.letter === 'D' && cmd.index !== undefined)) {
    if (chain === 'PREROUTING' || chain === 'INPUT') {
      if (rule.outInterface !== undefined) fail(`Can't use -o with ${chain}`, '-o');
    }
    if (chain === 'POSTROUTING' || chain === 'OUTPUT') {
      if (rule.inInterface !== undefined) fail(`Can't use -i with ${chain}`, '-i');
    }
  }
  const noRule = (): void => {
    if (rule.matches.length || rule.target.kind !== 'none' || seen.size) fail(`-${cmd.letter} takes no rule options`);
  };
  switch (cmd.letter) {
    case 'A': return { op: 'append', chain, rule };
    case 'I': return { op: 'insert', chain, index: cmd.index!, rule };
    case 'R': return { op: 'replace', chain, index: cmd.index!, rule };
    case 'C': return { op: 'check', chain, rule };
    case 'D':
      if (cmd.index !== undefined) {
        noRule();
        return { op: 'deleteNum', chain, index: cmd.index };
      }
      return { op: 'delete', chain, rule };
    case 'N': {
      noRule();
      const problem = chainNameProblem(chain, family);
      if (problem) fail(problem, chain, 'a valid chain name');
      return { op: 'newChain', chain };
    }
    case 'X': noRule(); return chain === undefined ? { op: 'deleteChain' } : { op: 'deleteChain', chain };
    case 'F': noRule(); return chain === undefined ? { op: 'flush' } : { op: 'flush', chain };
    case 'Z': noRule(); return chain === undefined ? { op: 'zero' } : { op: 'zero', chain };
    case 'P': {
      noRule();
      if (cmd.policy !== 'ACCEPT' && cmd.policy !== 'DROP') fail(`Bad built-in chain policy \`${cmd.policy}'`, cmd.policy, 'ACCEPT or DROP');
      return { op: 'policy', chain, policy: cmd.policy };
    }
    case 'E': {
      noRule();
      const problem = chainNameProblem(cmd.newName!, family);
      if (problem) fail(problem, cmd.newName, 'a valid chain name');
      return { op: 'rename', chain, newName: cmd.newName! };
    }
  }
  return fail(`-${cmd.letter} is not supported here`);
}

/**
 * Parses the arguments of one rule (`-s … -j …`, optionally led by `-A CHAIN`) into the
 * model, as iptables 1.8.9 would build it.
 */
export function parseRuleArgs(tokens: readonly string[], family: Family, opts: ParseArgsOptions = {}): { chain?: string; rule: Rule } {
  const hasCommand = tokens.some((t) => /^-[ADCIR]/.test(t) || /^--(append|delete|check|insert|replace)/.test(t));
  const cmd = parseCommand(hasCommand ? tokens : ['-A', '\u0000', ...tokens], family, opts);
  if (!('rule' in cmd)) throw new ParseError(`expected a rule, got a -${cmd.op} command`, lineInit(opts.line));
  if (!hasCommand) return { rule: cmd.rule };
  return { chain: cmd.chain, rule: cmd.rule };
}
