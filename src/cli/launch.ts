#!/usr/bin/env node
// The `iptkit` executable (dist/iptkit.cjs, package.json's bin): compiles the bundled command,
// dist/iptkit-cli.cjs (src/cli/bin.ts and what it imports, scripts/bundle.sh), with the V8 code
// cache scripts/code-cache.cjs made of it at build time, and runs it as node would run it.
// Compiling the 220 KB bundle was the biggest part of what a one-shot command spends over
// `node -e 0`. A cache V8 refuses (another node version, other V8 flags) or a missing one costs
// nothing but that compile (docs/design.md, "Start-up of the command").

import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

const dir = import.meta.dirname;
const file = join(dir, 'iptkit-cli.cjs');
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(`${file}.cache`);
} catch {
  // No cache beside the bundle: compiled as usual.
}
// The same wrapper and file name as scripts/code-cache.cjs: V8 takes a cache only for the same
// source, and the stack of a bug names the bundle's lines as if node had loaded it. The bundle
// is ASCII (scripts/bundle.sh), so Latin-1 reads it as it is, without UTF-8's decoding.
const script = new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, ...(cachedData ? { cachedData } : {}) });
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, dir);
