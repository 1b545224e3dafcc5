// The linux-arm64 prebuild that prepack cross-builds when Debian's aarch64 toolchain and the
// arm64 dev packages are installed. No arm64 node runs here, so the addon is checked, not
// loaded: an AArch64 shared object that needs the same libraries as the x64 build this suite
// loads, finds every symbol it uses in those arm64 libraries, and leaves to node only the
// Node-API functions the x64 build takes from node too.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const repo = new URL('../..', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

async function run(cmd: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(cmd, args, { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} exited ${String(err.code)}:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** The libraries a file needs (its NEEDED entries). */
async function needed(file: string): Promise<string[]> {
  const { stdout } = await run('readelf', ['-d', file]);
  return [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

/** The dynamic symbols of a file, `name@version` (`@@`, the default version, made `@`). */
async function symbols(nm: string, file: string, which: '--undefined-only' | '--defined-only'): Promise<Set<string>> {
  const { stdout } = await run(nm, ['-D', which, file]);
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [type, name] = line.trim().split(/\s+/).slice(-2);
    // Weak undefined symbols (w, v) may stay unresolved.
    if (name === undefined || (which === '--undefined-only' && type !== 'U')) continue;
    out.add(name.replace('@@', '@'));
  }
  return out;
}

test('prepack cross-builds prebuilds/linux-arm64/iptkit.node: AArch64, the x64 build’s libraries, every symbol provided', async (ctx) => {
  // The reason prepack gives when the toolchain is missing is the reason of the skip.
  const { stderr } = await run('bash', ['scripts/prepack.sh', '--arm64-only']);
  const skipped = /skipping linux-arm64: (.*)/.exec(stderr);
  if (skipped) ctx.skip(skipped[1]);

  const arm64 = join(repo, 'prebuilds/linux-arm64/iptkit.node');
  const x64 = join(repo, 'build/Release/iptkit.node');
  const header = (await run('readelf', ['-h', arm64])).stdout;
  expect(header).toMatch(/Class:\s+ELF64/);
  expect(header).toMatch(/Type:\s+DYN/);
  expect(header).toMatch(/Machine:\s+AArch64/);

  // The dynamic loader has a name of its own on each architecture (and x64 names it here, for
  // __tls_get_addr); the libraries are the same.
  const libs = await needed(arm64);
  const notLoader = (lib: string): boolean => !lib.startsWith('ld-linux');
  expect(libs.filter(notLoader)).toEqual((await needed(x64)).filter(notLoader));
  // No path of the build machine is baked in.
  expect((await run('readelf', ['-d', arm64])).stdout).not.toMatch(/RPATH|RUNPATH/);

  // Each needed library as an arm64 machine has it: Debian's multiarch directory, else the
  // cross toolchain's (libstdc++, libgcc_s).
  const provided = new Set<string>();
  for (const lib of libs) {
    const path = ['/usr/lib/aarch64-linux-gnu', '/usr/aarch64-linux-gnu/lib'].map((d) => join(d, lib)).find((p) => existsSync(p));
    expect(path, `${lib} for arm64`).toBeDefined();
    for (const s of await symbols('aarch64-linux-gnu-nm', path!, '--defined-only')) {
      provided.add(s);
      provided.add(s.split('@')[0]!);
    }
  }
  const fromNode = [...(await symbols('aarch64-linux-gnu-nm', arm64, '--undefined-only'))].filter((s) => !provided.has(s));
  expect(fromNode.length).toBeGreaterThan(0);
  const x64FromNode = [...(await symbols('nm', x64, '--undefined-only'))].filter((s) => s.startsWith('napi_'));
  expect(fromNode.sort()).toEqual(x64FromNode.sort());
}, 600_000);
