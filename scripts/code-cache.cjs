// Makes FILE.cache, V8's code cache of the bundled command FILE (dist/iptkit-cli.cjs), compiled
// exactly as the bin (src/cli/launch.ts) compiles it: node's CommonJS wrapper, the same file
// name. Run by scripts/bundle.sh; the cache is only valid for this node (V8 version and flags),
// and the bin compiles the bundle as usual when V8 refuses it.
//
// A cache made right after compiling holds only the top-level code: V8 compiles a function when
// it first runs, and a one-shot `iptkit save` then compiles the ones it calls. So the cache is
// made after the command has run what a one-shot read runs: `save` and `list` on each back end,
// in a network namespace of its own (unshare -n: new and empty, never the host's rules), output
// discarded. Where that cannot run (not root, no unshare), the cache is the compiled-only one.
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');

const file = resolve(process.argv[2]);
const compile = () => new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file });

// The commands the cache is made after, run one after the other in one process.
const RUNS = [['save'], ['list'], ['save', '--backend', 'legacy'], ['list', '--backend', 'legacy']];

if (process.env.IPTKIT_CODE_CACHE_RUN === '1') {
  // Here, inside the throwaway namespace: run the bundle once per command, each after the
  // previous one has finished (its event loop ran dry), then write the cache.
  const script = compile();
  const { createRequire } = Module;
  let next = 0;
  const runOne = () => {
    const argv = RUNS[next++];
    process.argv = [process.argv[0], file, ...argv];
    const module = { exports: {} };
    script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  };
  process.on('beforeExit', () => {
    if (process.exitCode) {
      process.stderr.write(`iptkit code cache: \`iptkit ${RUNS[next - 1].join(' ')}\` exited ${process.exitCode}\n`);
      return;
    }
    if (next < RUNS.length) runOne();
    else writeFileSync(`${file}.cache`, script.createCachedData());
  });
  runOne();
} else {
  const r = spawnSync('unshare', ['-n', process.execPath, __filename, file], {
    env: { ...process.env, IPTKIT_CODE_CACHE_RUN: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop();
    process.stderr.write(`iptkit code cache: made without a run (${why || `status ${r.status}`})\n`);
    writeFileSync(`${file}.cache`, compile().createCachedData());
  }
}
