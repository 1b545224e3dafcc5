// `--backend auto`: the back end that holds rules; nf_tables when neither does (what
// iptables-nft, the default on current distributions, would use).

import { NetfilterError } from '../errors.js';
import type { Table } from '../rules/model.js';
import type { Backend, BackendKind, BackendOptions } from './backend.js';
import { LegacyBackend } from './legacy.js';
import { NftBackend } from './nft.js';

export function createBackend(kind: BackendKind, opts: BackendOptions): Backend {
  return kind === 'legacy' ? new LegacyBackend(opts) : new NftBackend(opts);
}

/** Rules, user chains and non-default policies: what makes a table "hold rules". */
function weight(tables: readonly Table[]): number {
  let n = 0;
  for (const t of tables) {
    for (const c of t.chains) {
      n += c.rules.length;
      if (c.policy === undefined || c.policy !== 'ACCEPT') n += 1;
    }
  }
  return n;
}

export async function detectBackend(opts: BackendOptions): Promise<BackendKind> {
  const legacy = new LegacyBackend(opts);
  const nft = new NftBackend(opts);
  let nftWeight = 0;
  let nftAvailable = true;
  try {
    nftWeight = weight((await nft.read(null)).tables);
  } catch (e) {
    // An addon built without the nf_tables back end, or a kernel without nf_tables.
    if (e instanceof NetfilterError && (e.code === 'ENOSYS' || e.code === 'EPROTONOSUPPORT' || e.code === 'EAFNOSUPPORT')) {
      nftAvailable = false;
    } else {
      throw e;
    }
  }
  if (nftWeight > 0) return 'nft';
  // Only tables the kernel already has: reading others would create them.
  const names = await legacy.tableNames();
  const legacyWeight = names.length ? weight((await legacy.read(names)).tables) : 0;
  if (legacyWeight > 0 || !nftAvailable) return 'legacy';
  return 'nft';
}
