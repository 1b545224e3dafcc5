// Big commits off the event loop. Parsing, planning and encoding 30,000 rules is CPU work in
// JavaScript; done on the caller's thread it would stall every timer and socket of an
// orchestrator for its whole length. A restore of a large input therefore runs in one shared
// worker thread (unref'd: it never keeps the process alive), which opens the same back end and
// does the whole transaction there; the caller's thread only waits for a message.

import { Worker } from 'node:worker_threads';
import { ConflictError, NetfilterError, ParseError } from './errors.js';

export interface OffloadRequest {
  open: Record<string, unknown>;
  op: 'restore';
  args: unknown[];
}

interface Reply {
  id: number;
  ok?: unknown;
  error?: SerializedError;
}

export interface SerializedError {
  kind: string;
  message: string;
  fields: Record<string, unknown>;
}

/** Inputs at least this large are worth a thread hop (≈ 1,000 rules). */
export const OFFLOAD_MIN_BYTES = 64 * 1024;

/** Only the compiled package can start its worker (the .ts sources need a loader). */
export function offloadAvailable(): boolean {
  return import.meta.url.endsWith('.js') && process.env['IPTKIT_OFFLOAD'] !== '0';
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(e)) fields[k] = (e as unknown as Record<string, unknown>)[k];
    return { kind: e.name, message: e.message, fields };
  }
  return { kind: 'Error', message: String(e), fields: {} };
}

function reviveError(s: SerializedError): Error {
  const f = s.fields;
  switch (s.kind) {
    case 'ParseError': {
      // ParseError prefixes the line itself; rebuild from the bare message.
      const err = new ParseError('', {});
      Object.assign(err, f, { message: s.message });
      return err;
    }
    case 'ConflictError':
      return Object.assign(new ConflictError(s.message, { op: String(f['op'] ?? 'commit') }), f, { message: s.message });
    case 'NetfilterError':
      return new NetfilterError(s.message, f as never);
    case 'RangeError':
      return new RangeError(s.message);
    case 'TypeError':
      return new TypeError(s.message);
    default:
      return new Error(s.message);
  }
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./offload-worker.js', import.meta.url));
  w.unref();
  w.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.error) p.reject(reviveError(m.error));
    else p.resolve(m.ok);
  });
  w.on('error', (e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    worker = undefined;
  });
  w.on('exit', () => {
    worker = undefined;
  });
  worker = w;
  return w;
}

export function offload<T>(req: OffloadRequest): Promise<T> {
  const w = getWorker();
  const id = nextId++;
  // Referenced while a request is out, so the process waits for the answer.
  w.ref();
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    w.postMessage({ id, ...req });
  });
}
