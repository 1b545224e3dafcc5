#!/usr/bin/env node
// The `iptkit` executable: runs main() on this process's arguments. It is not run from dist/src
// but bundled by scripts/bundle.sh into dist/iptkit.cjs, the package's `bin`: one file to read
// and compile instead of the module graph, so that a one-shot command starts like `node -e 0`
// (docs/design.md, "Start-up of the command").

import type { Io } from './common.js';
import { main } from './main.js';

const hooked = { stdout: false, stderr: false };

/**
 * process.stdout or process.stderr, made on first use: each costs milliseconds of start-up (a
 * stream, and for a terminal or a pipe node's tty and net modules), and most runs write to only
 * one. It exits quietly when the reader went away, as iptables-save does.
 */
function output(name: 'stdout' | 'stderr'): NodeJS.WriteStream {
  const stream = process[name];
  if (!hooked[name]) {
    hooked[name] = true;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
  return stream;
}

const io: Io = {
  out: (t) => void output('stdout').write(t),
  err: (t) => void output('stderr').write(t),
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    io.err(`iptkit: internal error (a bug in iptkit; please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
