#!/usr/bin/env bash
# npm pack/publish: the TypeScript (dist/), the command bundled (dist/iptkit-cli.cjs, its code cache, the bin dist/iptkit.cjs) and
# the addon built here (with -Werror), the addon copied to prebuilds/<platform>-<arch>/ so
# that installs on such a machine need no compiler;
# on an x64 host also prebuilds/linux-arm64/, cross-built when Debian's aarch64 toolchain and
# the arm64 dev packages are installed (README, "The package"), else skipped with the reason.
# `--arm64-only` runs the cross build alone (test/package/arm64.test.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m[iptkit prepack]\033[0m %s\n' "$*" >&2; }

arm64() {
  local target=prebuilds/linux-arm64 out=build-arm64 toolchain=cmake/aarch64-linux-gnu.cmake
  local libdir=/usr/lib/aarch64-linux-gnu/pkgconfig why=
  if [[ $(node -p process.arch) != x64 ]]; then
    why="the cross build runs on x64 hosts only"
  elif ! command -v aarch64-linux-gnu-g++ >/dev/null; then
    why="aarch64-linux-gnu-g++ is not installed (apt-get install g++-aarch64-linux-gnu)"
  elif ! why=$(PKG_CONFIG_LIBDIR=$libdir pkg-config --print-errors --exists libmnl libnftnl 2>&1); then
    why="the arm64 dev packages are missing ($(head -1 <<<"$why"))"
  else
    why=
  fi
  if [[ -n $why ]]; then
    # A prebuild left from an earlier pack would not match this version's sources.
    rm -rf "$target"
    say "skipping linux-arm64: $why"
    return 0
  fi
  local newest
  newest=$(find native CMakeLists.txt "$toolchain" -type f -newer "$out/Release/iptkit.node" 2>/dev/null | head -1 || true)
  if [[ ! -f $out/Release/iptkit.node || -n $newest ]]; then
    say "cross-building the addon for linux-arm64 (cmake-js, $toolchain → $out/Release/iptkit.node)"
    npx --no-install cmake-js compile --out "$out" --arch arm64 --CDCMAKE_TOOLCHAIN_FILE="$PWD/$toolchain" \
      --CDIPTKIT_WERROR=ON --log-level error >/dev/null
  fi
  mkdir -p "$target"
  cp "$out/Release/iptkit.node" "$target/iptkit.node"
  say "linux-arm64 addon → $target/iptkit.node"
}

if [[ ${1:-} == --arm64-only ]]; then arm64; exit 0; fi

bash scripts/setup.sh --build-only
target="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$target"
cp build/Release/iptkit.node "$target/iptkit.node"
arm64
