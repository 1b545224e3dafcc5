// `iptkit recover [-4|-6] [--netns NAME|PATH] [-w SECONDS] [--json]`: finishes or rolls back
// a legacy commit of several tables that a killed process left half done (its intent record
// in /run/iptkit), so that every table is wholly old or wholly new. A table another writer
// changed since is left as it is and reported (exit 1). Both families unless -4 or -6.
// Its arguments are parsed here, self-contained.

import { Netfilter } from '../netfilter.js';
import type { Family } from '../rules/model.js';
import { UsageError } from './args.js';
import type { Io } from './common.js';
import { jsonDocument } from './json.js';

const HELP = `usage: iptkit recover [-4|-6] [--netns NAME|PATH] [-w SECONDS] [--json]

Finishes or rolls back a legacy commit of several tables that a killed process left half done
(its intent record in /run/iptkit), so that every table is wholly old or wholly new. A table
another writer changed since is left as it is and reported (exit 1). Both families unless -4
or -6. Every other legacy operation on the namespace does this first on its own.

  -4 | -6                IPv4 or IPv6 only
  --netns NAME|PATH      the network namespace (NAME means /var/run/netns/NAME)
  -w, --wait SECONDS     how long to wait for the xtables lock (default 10)
  --json                 machine-readable output
  -h, --help             print this help and do nothing else
`;

export async function recoverCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(HELP);
    return 0;
  }
  const families: Family[] = [];
  let netns: string | undefined;
  let lockTimeoutMs: number | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-4' || a === '--ipv4') families.push('ipv4');
    else if (a === '-6' || a === '--ipv6') families.push('ipv6');
    else if (a === '--netns') netns = value();
    else if (a.startsWith('--netns=')) netns = a.slice('--netns='.length);
    else if (a === '-w' || a === '--wait') {
      const w = value();
      const s = Number(w);
      if (!Number.isFinite(s) || s < 0) throw new UsageError(`--wait takes seconds, not '${w}'`);
      lockTimeoutMs = s * 1000;
    } else if (a === '--json') json = true;
    else if (a === '--backend' && argv[i + 1] === 'legacy') i++;
    else throw new UsageError(`recover: unexpected argument '${a}'`);
  }
  if (families.length === 0) families.push('ipv4', 'ipv6');
  const results = [];
  let left = false;
  for (const family of families) {
    const nf = await Netfilter.open({
      backend: 'legacy',
      family,
      ...(netns !== undefined ? { netns } : {}),
      ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    });
    const r = await nf.recover();
    results.push(r);
    if (r.tables.some((t) => t.action.startsWith('left'))) left = true;
    if (json) continue;
    if (!r.found) {
      io.out(`${family}: no unfinished commit\n`);
      continue;
    }
    io.out(`${family}: unfinished commit (${r.path}): ${r.outcome}\n`);
    for (const t of r.tables) io.out(`  ${t.name}: ${t.state}, ${t.action}\n`);
  }
  if (json) io.out(jsonDocument({ families: results }));
  return left ? 1 : 0;
}
