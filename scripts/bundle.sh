#!/usr/bin/env bash
# The `iptkit` command as one CommonJS file: esbuild bundles the compiled CLI (dist/src/cli/bin.js,
# from tsc) into dist/iptkit-cli.cjs, which node reads and compiles faster than the ES module
# graph it comes from, with V8's code cache of it beside it; the package's bin, dist/iptkit.cjs,
# compiles it with that cache (docs/design.md, "Start-up of the command"). Run by
# scripts/setup.sh after tsc; alone as `npm run build:cli`.
#
# Format cjs: each dynamic import() becomes a lazy require of its part of the file, so a command
# still evaluates only its own modules. import.meta.dirname/filename (src/binding.ts finds the
# package root and the addon from them) become the bundle's own __dirname/__filename, and any
# other import.meta is an error rather than an empty object. The addon is loaded by path at run
# time, never bundled. No source map and no minifying: a bug's stack names readable lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bundle() {
  npx --no-install esbuild "$1" --bundle --platform=node --format=cjs --target=node20 \
    --define:import.meta.dirname=__dirname --define:import.meta.filename=__filename \
    --log-override:empty-import-meta=error --log-level=warning --outfile="$2"
}
# The command, and V8's code cache of it (scripts/code-cache.cjs); then the bin, a few lines
# that compile the command with that cache (src/cli/launch.ts).
bundle dist/src/cli/bin.js dist/iptkit-cli.cjs
# esbuild writes strings, templates, regular expressions and names in ASCII (--charset=ascii, its
# default) but keeps the comments it keeps as written. Escaping theirs as well makes the bundle
# ASCII, which the bin reads as Latin-1 straight into a one-byte string: decoding 300 KB of UTF-8
# into a two-byte source was ~2 ms of a one-shot command's start.
node -e 'const fs = require("node:fs"); const f = process.argv[1];
  fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`));' dist/iptkit-cli.cjs
node scripts/code-cache.cjs dist/iptkit-cli.cjs
bundle dist/src/cli/launch.js dist/iptkit.cjs
