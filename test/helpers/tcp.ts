// TCP servers and clients inside network namespaces, for the e2e packet tests: a server that
// answers every connection with its name, and a client that tells what it got.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Netns } from './netns.js';

const SERVER = `
const [name, port] = process.argv.slice(1);
require('net').createServer((s) => s.end(name)).listen(Number(port), '0.0.0.0', () => console.log('listening'));
`;

// A blocked path drops the SYN: one second without an answer is "no connection".
const CLIENT = `
const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let data = '';
s.setTimeout(1000, () => { console.log('timeout'); process.exit(1); });
s.on('data', (d) => { data += d; });
s.on('end', () => { console.log(data); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(1); });
`;

/** Starts a server in `ns` on `port` that answers `name`; `listening` resolves once it does. */
export function serve(ns: Netns, port: number, name: string): { process: ChildProcess; listening: Promise<void> } {
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, name, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`the server ${name} exited with ${code}`)));
  });
  return { process: p, listening };
}

/** What a client in `ns` gets from addr:port: the server's name, or `no connection (why)`. */
export async function connect(ns: Netns, addr: string, port: number): Promise<string> {
  const r = await ns.exec(process.execPath, ['-e', CLIENT, addr, String(port)], undefined, 10_000);
  return r.status === 0 ? r.stdout.trim() : `no connection (${r.stdout.trim() || r.status})`;
}
