// Counts the table reads the addon is asked for: every guarded read of either back end goes
// through one of these, so a test can tell a read from kept or recorded tables.

import { afterEach } from 'vitest';
import { native } from '../../src/binding.js';

/** Wraps the addon's read calls for the test file; `n` is reset after each test. */
export function countReads(): { n: number } {
  const reads = { n: 0 };
  const originals = { readHolding: native.readHolding, legacyRead: native.legacyRead, nftRead: native.nftRead };
  for (const k of Object.keys(originals) as Array<keyof typeof originals>) {
    (native as Record<string, unknown>)[k] = (...a: unknown[]) => {
      reads.n++;
      return (originals[k] as (...x: unknown[]) => unknown)(...a);
    };
  }
  afterEach(() => void (reads.n = 0));
  return reads;
}
