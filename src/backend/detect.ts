// `--backend auto`: the back end that holds rules; nf_tables when neither does (what
// iptables-nft, the default on current distributions, would use).

import { NetfilterError } from '../errors.js';
import { native } from '../binding.js';
import type { Backend, BackendKind, BackendOptions } from './backend.js';
import { LegacyBackend } from './legacy.js';
import { NftBackend } from './nft.js';

export function createBackend(kind: BackendKind, opts: BackendOptions): Backend {
  return kind === 'legacy' ? new LegacyBackend(opts) : new NftBackend(opts);
}

/**
 * The back end that holds something — a rule, a user-defined chain or a policy other than
 * ACCEPT — asked natively without reading the tables (a read of a busy host is most of the
 * time of a command: the entry count of each x_tables table, and nf_tables dumps that stop at
 * the first rule). Legacy tables the kernel does not have are not created by asking.
 */
export async function detectBackend(opts: BackendOptions): Promise<BackendKind> {
  const netns = opts.netns ?? null;
  let nftAvailable = true;
  try {
    if (await native.nftHoldsRules(opts.family, netns)) return 'nft';
  } catch (e) {
    // An addon built without the nf_tables back end, or a kernel without nf_tables.
    if (e instanceof NetfilterError && (e.code === 'ENOSYS' || e.code === 'EPROTONOSUPPORT' || e.code === 'EAFNOSUPPORT')) {
      nftAvailable = false;
    } else {
      throw e;
    }
  }
  if ((await native.legacyHoldsRules(opts.family, netns)) || !nftAvailable) return 'legacy';
  return 'nft';
}
