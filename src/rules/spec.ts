// Rules as objects on demand, in iptables' own words: parseRule reads a rule's options
// (`-p tcp --dport 80 -j ACCEPT`) into a RuleSpec whose keys are iptables' option names in
// camelCase (`dport`, `toDestination`), and formatRule turns a RuleSpec back into the rule's
// canonical text — the line iptables-save prints, which is how iptkit compares rules. Both go
// through the native dialect, so a spec means exactly what the same text means to iptables;
// there is no second description of any extension here.

import { nativeDialect, type NativeOption } from '../binding.js';
import { ParseError } from '../errors.js';
import type { Family } from './model.js';

/**
 * A flag option is `true`; an option with a value is its text, one with several arguments
 * (`--tcp-flags MASK COMP`) an array of them. `<name>Invert: true` is `!`.
 */
export type OptionValue = string | true | string[];

/** A match (`-m NAME`) with its options: `{ name: 'tcp', dport: '80' }`. */
export interface MatchSpec {
  name: string;
  [option: string]: OptionValue;
}

/** A target extension or verdict (`-j NAME`) with its options: `{ name: 'DNAT', toDestination: '…' }`. */
export interface TargetSpec {
  name: string;
  [option: string]: OptionValue;
}

export interface RuleSpec {
  source?: string;
  sourceInvert?: true;
  destination?: string;
  destinationInvert?: true;
  inInterface?: string;
  inInterfaceInvert?: true;
  outInterface?: string;
  outInterfaceInvert?: true;
  protocol?: string;
  protocolInvert?: true;
  /** `-f` (IPv4): true; `! -f`: with fragmentInvert. */
  fragment?: true;
  fragmentInvert?: true;
  matches?: MatchSpec[];
  /** `-j`: a verdict, a chain, or a target extension with its options. */
  target?: TargetSpec;
  /** `-g CHAIN` (instead of target). */
  goto?: string;
}

export interface RuleTextOptions {
  family?: Family;
}

// Generic options: iptables' long name ↔ the RuleSpec key.
const GENERIC: ReadonlyArray<readonly [option: string, key: keyof RuleSpec]> = [
  ['source', 'source'],
  ['destination', 'destination'],
  ['in-interface', 'inInterface'],
  ['out-interface', 'outInterface'],
  ['protocol', 'protocol'],
  ['fragments', 'fragment'],
];

const camel = (option: string): string => option.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function family(opts: RuleTextOptions): Family {
  const f = opts.family ?? 'ipv4';
  if (f !== 'ipv4' && f !== 'ipv6') throw new RangeError(`family: '${String(f)}' is not 'ipv4' or 'ipv6'`);
  return f;
}

function put(target: Record<string, OptionValue>, options: readonly NativeOption[]): void {
  for (const [option, value, invert] of options) {
    const key = camel(option);
    target[key] = value ?? true;
    if (invert) target[key + 'Invert'] = true;
  }
}

/** A rule's options (no `-A CHAIN`) → its RuleSpec. Throws ParseError naming the token. */
export function parseRule(text: string, opts: RuleTextOptions = {}): RuleSpec {
  if (typeof text !== 'string') throw new TypeError(`text: expected a string, got ${typeof text}`);
  const r = nativeDialect.rule(family(opts), text);
  const spec: RuleSpec = {};
  const bag = spec as Record<string, unknown>;
  for (const [option, value, invert] of r.generic) {
    const g = GENERIC.find(([o]) => o === option);
    if (!g) continue; // -j/-g come with the target below
    bag[g[1]] = value ?? true;
    if (invert) bag[g[1] + 'Invert'] = true;
  }
  if (r.matches.length) {
    spec.matches = r.matches.map((m) => {
      const out: MatchSpec = { name: m.name };
      put(out, m.options);
      return out;
    });
  }
  if (r.target?.kind === 'goto') spec.goto = r.target.name;
  else if (r.target) {
    const t: TargetSpec = { name: r.target.name };
    put(t, r.target.options);
    spec.target = t;
  }
  return spec;
}

/** An argument as the restore tokenizer reads it back: bare when safe, else "…" with `\`. */
function quote(value: string): string {
  return /^[A-Za-z0-9_.:/,+=@%-]+$/.test(value) && !value.startsWith('-') && value !== '!'
    ? value
    : '"' + value.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

interface Piece {
  tokens: string[];
  field: string;
  /** An extension option's long name, as written. */
  option?: string;
}

function optionPieces(obj: Record<string, unknown>, path: string, skip: ReadonlySet<string>): Piece[] {
  const pieces: Piece[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (skip.has(key) || value === undefined) continue;
    const field = `${path}.${key}`;
    if (key.endsWith('Invert')) {
      const base = key.slice(0, -'Invert'.length);
      if (value !== true) throw new TypeError(`${field}: expected true, got ${JSON.stringify(value)}`);
      if (!(base in obj)) throw new TypeError(`${field}: inverts ${path}.${base}, which is not given`);
      continue;
    }
    if (!/^[a-z][A-Za-z0-9]*$/.test(key)) throw new TypeError(`${field}: not an option name`);
    const tokens = obj[key + 'Invert'] === true ? ['!', '--' + kebab(key)] : ['--' + kebab(key)];
    if (typeof value === 'string') tokens.push(quote(value));
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) tokens.push(...value.map(quote));
    else if (value !== true) throw new TypeError(`${field}: expected a string, an array of strings or true, got ${JSON.stringify(value)}`);
    pieces.push({ tokens, field, option: kebab(key) });
  }
  return pieces;
}

const RULE_KEYS: ReadonlySet<string> = new Set([
  ...GENERIC.flatMap(([, k]) => [k, k + 'Invert']),
  'matches',
  'target',
  'goto',
]);

/**
 * A RuleSpec → the rule's canonical text (as iptables-save prints it after `-A CHAIN`).
 * A missing, unknown or malformed field is a TypeError naming it; nothing half-formed comes out.
 */
export function formatRule(spec: RuleSpec, opts: RuleTextOptions = {}): string {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`rule: expected an object, got ${spec === null ? 'null' : typeof spec}`);
  for (const key of Object.keys(spec)) if (!RULE_KEYS.has(key)) throw new TypeError(`rule.${key}: not a field of a rule`);
  const pieces: Piece[] = [];
  for (const [option, key] of GENERIC) {
    const value = spec[key];
    if (value === undefined) continue;
    const inv = (spec as Record<string, unknown>)[key + 'Invert'];
    if (inv !== undefined && inv !== true) throw new TypeError(`rule.${key}Invert: expected true, got ${JSON.stringify(inv)}`);
    const tokens = inv === true ? ['!', '--' + option] : ['--' + option];
    if (key === 'fragment') {
      if (value !== true) throw new TypeError(`rule.fragment: expected true, got ${JSON.stringify(value)}`);
    } else {
      if (typeof value !== 'string') throw new TypeError(`rule.${key}: expected a string, got ${JSON.stringify(value)}`);
      tokens.push(quote(value));
    }
    pieces.push({ tokens, field: `rule.${key}` });
  }
  for (const [option, key] of GENERIC) {
    if ((spec as Record<string, unknown>)[key + 'Invert'] !== undefined && spec[key] === undefined) {
      throw new TypeError(`rule.${key}Invert: inverts rule.${key}, which is not given (${option})`);
    }
  }
  if (spec.matches !== undefined) {
    if (!Array.isArray(spec.matches)) throw new TypeError('rule.matches: expected an array');
    spec.matches.forEach((m, i) => {
      const path = `rule.matches[${i}]`;
      if (m === null || typeof m !== 'object') throw new TypeError(`${path}: expected an object`);
      if (typeof m.name !== 'string' || m.name === '') throw new TypeError(`${path}.name: expected the match's name`);
      pieces.push({ tokens: ['-m', quote(m.name)], field: `${path}.name` });
      pieces.push(...optionPieces(m, path, new Set(['name'])));
    });
  }
  if (spec.target !== undefined && spec.goto !== undefined) throw new TypeError('rule.goto: a rule has either target or goto');
  if (spec.target !== undefined) {
    const t = spec.target;
    if (t === null || typeof t !== 'object') throw new TypeError('rule.target: expected an object');
    if (typeof t.name !== 'string' || t.name === '') throw new TypeError("rule.target.name: expected the target's name");
    pieces.push({ tokens: ['-j', quote(t.name)], field: 'rule.target.name' });
    pieces.push(...optionPieces(t, 'rule.target', new Set(['name'])));
  }
  if (spec.goto !== undefined) {
    if (typeof spec.goto !== 'string' || spec.goto === '') throw new TypeError('rule.goto: expected a chain name');
    pieces.push({ tokens: ['-g', quote(spec.goto)], field: 'rule.goto' });
  }
  const text = pieces.map((p) => p.tokens.join(' ')).join(' ');
  let parsed;
  try {
    parsed = nativeDialect.rule(family(opts), text, true);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    // Name the field the refused token came from.
    const piece = e.token !== undefined ? pieces.find((p) => p.tokens.some((t) => t === e.token || t === quote(e.token!))) : undefined;
    throw new TypeError(`${piece?.field ?? 'rule'}: ${e.message}`);
  }
  checkPlacement(spec, parsed);
  return parsed.text;
}

/**
 * Each option must have been read as an option of the object that holds it: on one command
 * line, getopt would also take `matches[0].source` as the rule's -s, a target's `dport` as an
 * implicit tcp match, or `dpo` as an abbreviation of `dport`.
 */
function checkPlacement(spec: RuleSpec, parsed: { matches: Array<{ name: string; options: NativeOption[] }>; target: { options: NativeOption[] } | null }): void {
  const given = (obj: Record<string, unknown>): string[] =>
    Object.keys(obj).filter((k) => k !== 'name' && !k.endsWith('Invert') && obj[k] !== undefined).map(kebab);
  const read = (options: readonly NativeOption[]): string[] => options.map(([o]) => o);
  const same = (path: string, want: string[], got: string[]): void => {
    for (const o of want) {
      if (!got.includes(o)) throw new TypeError(`${path}.${camel(o)}: not an option of ${path} (read as ${got.length ? got.map((g) => '--' + g).join(' ') : 'something else'})`);
    }
    if (got.length !== want.length) throw new TypeError(`${path}: its options were read as ${got.map((g) => '--' + g).join(' ')}`);
  };
  // Each object against what was read for it first (so the error names the stray option), then
  // the count: an option of nobody's loads a match of its own (`-p tcp` implies tcp).
  const matches = spec.matches ?? [];
  matches.forEach((m, i) => same(`rule.matches[${i}]`, given(m), read(parsed.matches[i]?.options ?? [])));
  if (spec.target) same('rule.target', given(spec.target), read(parsed.target?.options ?? []));
  if (parsed.matches.length !== matches.length) {
    throw new TypeError(`rule.matches: ${matches.length} given, but the rule reads as ${parsed.matches.map((m) => '-m ' + m.name).join(' ') || 'no match'}`);
  }
}
