// The command: runs main() on this process's arguments. It is not run from dist/src but
// bundled by scripts/bundle.sh into dist/iptkit-cli.cjs, which the package's bin
// (src/cli/launch.ts, dist/iptkit.cjs) compiles with its code cache and runs: one file to read
// and compile instead of the module graph, so that a one-shot command starts like `node -e 0`
// (docs/design.md, "Start-up of the command").

import { writeSync } from 'node:fs';
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

let stdoutStream = false;

/**
 * Standard output written straight to fd 1, as iptables-save writes it: node's stream is a
 * millisecond of a one-shot run to set up, and for a file, a pipe or a terminal it writes
 * synchronously on Linux anyway. A descriptor left non-blocking by whoever opened it (EAGAIN)
 * hands the rest, and everything after it, to the stream, which waits for it.
 */
function out(t: string | Uint8Array): void {
  if (!stdoutStream) {
    const bytes = typeof t === 'string' ? Buffer.from(t) : t;
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(1, bytes, done);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(141);
      if (code !== 'EAGAIN') throw e;
      stdoutStream = true;
      t = bytes.subarray(done);
    }
  }
  output('stdout').write(t);
}

const io: Io = {
  out,
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
