// Runs the `iptkit` CLI in-process (main() with captured output), the way kernel tests
// drive it; names the command users run, for the tests that spawn it; and the real tools'
// listing normalised for the one documented difference.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

const root = join(import.meta.dirname, '..', '..');
let bin: string | undefined;

/**
 * The `iptkit` executable as installed: package.json's bin, the bundle scripts/setup.sh makes of
 * dist/src. Refused when tsc ran after it (`npx tsc` alone): it would run the old code.
 */
export function iptkitBin(): string {
  if (bin !== undefined) return bin;
  const path = join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { iptkit: string } }).bin.iptkit);
  const made = existsSync(path) ? statSync(path).mtimeMs : -1;
  const src = join(root, 'dist', 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.js') && statSync(join(src, f)).mtimeMs > made);
  if (made < 0 || newer !== undefined) {
    throw new Error(`${path} is ${made < 0 ? 'missing' : `older than dist/src/${newer}`}: run \`npm run build\` (or \`npm run build:cli\` after tsc)`);
  }
  return (bin = path);
}

let protocols: Map<string, number> | undefined;

/** A protocol name of the listing → its number, from /etc/protocols (`all` is 0). */
function protocolNumber(name: string): number {
  if (!protocols) {
    protocols = new Map([['all', 0]]);
    for (const line of readFileSync('/etc/protocols', 'utf8').split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/);
      if (words.length < 2 || !/^\d+$/.test(words[1]!)) continue;
      for (const w of [words[0]!, ...words.slice(2)]) if (!protocols.has(w)) protocols.set(w, Number(words[1]));
    }
  }
  const n = /^\d+$/.test(name) ? Number(name) : protocols.get(name);
  if (n === undefined) throw new Error(`protocol ${name} is not in /etc/protocols`);
  return n;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function iptkit(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

/**
 * iptkit's listing with the prot column put back into numbers, as iptables 1.8.9 prints it
 * with -n: docs/design.md has iptkit print names (all, tcp, …) like the seed's listing does.
 * Every other column must still line up exactly. The prot cell
 * is the one before the opt cell (`--`, `-f`, `!f`); columns shift after a long target, so
 * it is found by token, not by offset.
 */
export function protColumnAsNumbers(listing: string): string {
  return listing
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('Chain ') || / prot opt /.test(line)) return line;
      const tokens = [...line.matchAll(/\S+/g)];
      const opt = tokens.findIndex((t, i) => i > 0 && (t[0] === '--' || t[0] === '-f' || t[0] === '!f'));
      if (opt < 1) return line;
      const prot = tokens[opt - 1]!;
      // The cell is a one-character sign (' ' or '!') and the name as "%-4s ": a longer name
      // widens it and shifts what follows.
      const bang = prot[0].startsWith('!') ? 1 : 0;
      const name = prot[0].slice(bang);
      const start = prot.index! + bang;
      const cell = String(protocolNumber(name)).padEnd(4, ' ');
      return line.slice(0, start) + cell + line.slice(start + Math.max(4, name.length));
    })
    .join('\n');
}
