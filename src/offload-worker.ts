// The worker side of offload.ts: opens the back end it is told to (once per set of options)
// and runs the operation, answering with plain data or a serialised error.

import { parentPort } from 'node:worker_threads';
import { Netfilter, type OpenOptions, type RestoreOptions } from './netfilter.js';
import { serializeError, type OffloadRequest } from './offload.js';

const opened = new Map<string, Promise<Netfilter>>();

function open(options: OpenOptions): Promise<Netfilter> {
  const key = JSON.stringify(options);
  let nf = opened.get(key);
  if (!nf) {
    nf = Netfilter.open({ ...options, offload: false });
    opened.set(key, nf);
    nf.catch(() => opened.delete(key));
  }
  return nf;
}

parentPort!.on('message', async (m: OffloadRequest & { id: number }) => {
  try {
    const nf = await open(m.open as OpenOptions);
    const [text, options] = m.args as [string, RestoreOptions];
    const ok = await nf.restore(text, options);
    parentPort!.postMessage({ id: m.id, ok });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: serializeError(e) });
  }
});
