// What every `iptkit` command shares: opening the back end from the common options, and
// reading an input file or stdin. (--json documents: json.ts.)

import { readFileSync } from 'node:fs';
import { Netfilter } from '../netfilter.js';
import type { Family } from '../rules/model.js';
import { flagBool, flagString, InputError, UsageError, type Parsed } from './args.js';

export function familyOf(p: Parsed): Family {
  if (flagBool(p, 'ipv4') && flagBool(p, 'ipv6')) throw new UsageError('-4 and -6 exclude each other');
  return flagBool(p, 'ipv6') ? 'ipv6' : 'ipv4';
}

/** The options every command shares (--backend, --netns, -w), checked. */
export function commonOpenOptions(p: Parsed): { backend: 'auto' | 'legacy' | 'nft'; netns?: string; lockTimeoutMs?: number } {
  const backend = flagString(p, 'backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'legacy' && backend !== 'nft') {
    throw new UsageError(`--backend must be auto, legacy or nft, not '${backend}'`);
  }
  const wait = flagString(p, 'wait');
  let lockTimeoutMs: number | undefined;
  if (wait !== undefined) {
    const s = Number(wait);
    if (wait.trim() === '' || !Number.isFinite(s) || s < 0) throw new UsageError(`-w/--wait takes seconds, not '${wait}'`);
    lockTimeoutMs = s * 1000;
  }
  const netns = flagString(p, 'netns');
  // An unset shell variable (`--netns "$NS"`) must not mean this process's own namespace.
  if (netns === '') throw new UsageError("--netns '' names no namespace; leave the option out to work in this process's own namespace");
  return {
    backend,
    ...(netns !== undefined ? { netns } : {}),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
  };
}

export async function openFrom(p: Parsed, defaultFamily?: Family): Promise<Netfilter> {
  const family = flagBool(p, 'ipv4') || flagBool(p, 'ipv6') || !defaultFamily ? familyOf(p) : defaultFamily;
  return Netfilter.open({ ...commonOpenOptions(p), family });
}

/** The named file, or standard input for none or '-'; a file that cannot be read is an InputError. */
export function readInput(path: string | undefined): string;
export function readInput(path: string | undefined, as: 'bytes'): Buffer;
export function readInput(path: string | undefined, as?: 'bytes'): string | Buffer {
  const stdin = path === undefined || path === '-';
  try {
    // Bytes for what goes to the addon as it is (restore): no UTF-8 decoding and encoding.
    return as === 'bytes' ? readFileSync(stdin ? 0 : path) : readFileSync(stdin ? 0 : path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code !== 'string') throw e;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.code;
    throw new InputError(`cannot read ${stdin ? 'standard input' : path}: ${why}`);
  }
}

export interface Io {
  /** Bytes are UTF-8 text (a save's output, passed on without a copy). */
  out(text: string | Uint8Array): void;
  err(text: string): void;
}
