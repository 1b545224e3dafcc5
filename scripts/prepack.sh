#!/usr/bin/env bash
# npm pack/publish: the TypeScript (dist/) and the addon built here (with -Werror), the addon
# copied to prebuilds/<platform>-<arch>/ so that installs on such a machine need no compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --build-only
target="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$target"
cp build/Release/iptkit.node "$target/iptkit.node"
