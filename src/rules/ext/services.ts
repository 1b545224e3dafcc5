// Port names ↔ numbers from /etc/services, as iptables resolves them through getservbyname
// and getservbyport (glibc's "files" source): a name or alias finds the first entry for that
// protocol; a port prints as the official name of the first entry for that protocol.

import { readFileSync } from 'node:fs';

interface ServicesDb {
  byName: Map<string, number>; // `${proto}/${name}` → port
  byPort: Map<string, string>; // `${proto}/${port}` → official name
}

let db: ServicesDb | undefined;
let path = '/etc/services';

/** Tests point this at a fixture; resets the cache. */
export function setServicesPath(file: string): void {
  path = file;
  db = undefined;
}

function load(): ServicesDb {
  if (db) return db;
  const byName = new Map<string, number>();
  const byPort = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No services file: every port prints as its number, as with an empty file.
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    const m = /^(\d+)\/(\S+)$/.exec(words[1] ?? '');
    if (!m) continue;
    const port = Number(m[1]);
    const proto = m[2]!;
    if (port > 65535) continue;
    const name = words[0]!;
    const pk = `${proto}/${port}`;
    if (!byPort.has(pk)) byPort.set(pk, name);
    for (const n of [name, ...words.slice(2)]) {
      const nk = `${proto}/${n}`;
      if (!byName.has(nk)) byName.set(nk, port);
    }
  }
  db = { byName, byPort };
  return db;
}

/** getservbyname(name, proto): the port, or undefined. */
export function serviceToPort(name: string, proto: string): number | undefined {
  return load().byName.get(`${proto}/${name}`);
}

/** getservbyport(port, proto): the official name, or undefined. */
export function portToService(port: number, proto: string): string | undefined {
  return load().byPort.get(`${proto}/${port}`);
}
