#!/usr/bin/env bash
# The `iptkit` command as one CommonJS file: esbuild bundles the compiled CLI (dist/src/cli/bin.js,
# from tsc) into dist/iptkit.cjs, the package's bin, which node reads and compiles faster than
# the ES module graph it comes from (docs/design.md, "Start-up of the command"). Run by
# scripts/setup.sh after tsc; alone as `npm run build:cli`.
#
# Format cjs: each dynamic import() becomes a lazy require of its part of the file, so a command
# still evaluates only its own modules. import.meta.dirname/filename (src/binding.ts finds the
# package root and the addon from them) become the bundle's own __dirname/__filename, and any
# other import.meta is an error rather than an empty object. The addon is loaded by path at run
# time, never bundled. No source map and no minifying: a bug's stack names readable lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npx --no-install esbuild dist/src/cli/bin.js --bundle --platform=node --format=cjs --target=node20 \
  --define:import.meta.dirname=__dirname --define:import.meta.filename=__filename \
  --log-override:empty-import-meta=error --log-level=warning --outfile=dist/iptkit.cjs
