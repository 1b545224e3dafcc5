// A large restore runs natively on libuv's pool, from the compiled package as a user runs it:
// the result and the kernel state are the real tool's, and errors keep their types.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { portRestoreInput } from '../../bench/workload.js';
import { saveLines, withNetns } from '../helpers/netns.js';

const lib = new URL('../../dist/src/index.js', import.meta.url).pathname;

function runNode(script: string, stdin: string): { stdout: string; stderr: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'iptkit-restore-async-'));
  const file = join(dir, 'script.mjs');
  writeFileSync(file, script);
  const r = spawnSync('node', [file], { input: stdin, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe.each(['legacy', 'nft'] as const)('%s: restore from the compiled package', (backend) => {
  const restore = backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
  const save = backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';

  test('a large input commits like the real tool, and errors keep their type', () =>
    withNetns((ns) =>
      withNetns((oracle) => {
        const input = portRestoreInput(500, 0, 'br-0123456789ab', true).replace('*nat', '*nat\n:DOCKER - [0:0]');
        const script = `
          import { readFileSync } from 'node:fs';
          const m = await import(${JSON.stringify(lib)});
          const text = readFileSync(0, 'utf8');
          const nf = await m.Netfilter.open({ backend: '${backend}', netns: '${ns.name}' });
          const r = await nf.restore(text, { noflush: true });
          console.log(JSON.stringify({ added: r.added, attempts: r.attempts }));
          try { await nf.restore(text.replace('--dport 10007 ', '--dportt 10007 '), { noflush: true }); }
          catch (e) { console.log(JSON.stringify({ parse: e instanceof m.ParseError, line: e.line, token: e.token })); }
          try { await nf.restore(text.replace('*nat', '*nat\\n-A PREROUTING -p tcp -j MASQUERADE'), { noflush: true }); }
          catch (e) { console.log(JSON.stringify({ netfilter: e instanceof m.NetfilterError, code: e.code })); }
        `;
        const r = runNode(script, input);
        expect(r.status, r.stderr).toBe(0);
        const [ok, parse, kernel] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(ok).toEqual({ added: 1500, attempts: 1 });
        expect(parse).toEqual({ parse: true, line: 17, token: '--dportt' });
        expect(kernel).toEqual({ netfilter: true, code: 'EINVAL' });
        oracle.ok(restore, ['-n'], input);
        expect(saveLines(ns.ok(save))).toEqual(saveLines(oracle.ok(save)));
      }),
    ));
});
