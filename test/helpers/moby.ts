// Docker's own golden files as stored in test/golden/moby/*.txt (scripts/moby-goldens.mjs):
// `=== NAME` sections, NAME being Docker's golden file name (TestIptabler/<case>__iptables,
// TestUserChain/<case>) without `.golden`.

import { readFileSync } from 'node:fs';

export function readMobyGoldens(file: string): Map<string, string> {
  const text = readFileSync(new URL(`../golden/moby/${file}`, import.meta.url), 'utf8');
  const out = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  const flush = (): void => {
    if (name !== undefined) out.set(name, lines.join('\n'));
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('=== ')) {
      flush();
      name = line.slice(4);
      lines = [];
    } else if (name !== undefined && line !== '') lines.push(line);
  }
  flush();
  return out;
}

/** A TestIptabler golden (raw, filter, nat) as iptables-save texts per table. */
export function tablesOfGolden(text: string): Record<string, string> {
  const tables: Record<string, string> = {};
  for (const part of text.split(/(?=^\*)/m)) tables[part.slice(1, part.indexOf('\n'))] = part.endsWith('\n') ? part : `${part}\n`;
  return tables;
}
