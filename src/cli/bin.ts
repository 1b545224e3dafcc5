#!/usr/bin/env node
// The `iptkit` executable: runs main() on this process's arguments. It is not run from dist/src
// but bundled by scripts/setup.sh into dist/iptkit.cjs, the package's `bin`: one file to read
// and compile instead of the module graph, so that a one-shot command starts like `node -e 0`
// (docs/design.md, "Start-up of the command").

import { main, processIo } from './main.js';

/** Exits quietly when the reader of stdout (or stderr) went away, as iptables-save does. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

quietOnClosedPipe(process.stdout);
quietOnClosedPipe(process.stderr);
main(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`iptkit: internal error (a bug in iptkit; please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
