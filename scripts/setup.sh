#!/usr/bin/env bash
# Makes this checkout ready to run, on Debian/Ubuntu as root, saying what it does:
#   1. system packages (apt-get): iptables, nftables, iproute2, the libmnl/libnftnl dev
#      packages, cmake, g++, pkg-config — only those that are missing;
#   2. npm packages (npm ci), when node_modules is missing or older than package-lock.json;
#   3. the native addon (cmake-js → build/Release/iptkit.node), when native/ changed;
#   4. the TypeScript (tsc → dist/);
#   5. the command (esbuild → dist/iptkit-cli.cjs, V8's code cache of it, and the bin
#      dist/iptkit.cjs that runs it): the CLI's modules in one CommonJS file, which node reads
#      and compiles faster than their ES module graph.
# `--build-only` skips steps 1 and 2.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m[iptkit setup]\033[0m %s\n' "$*" >&2; }

build_only=0
[[ "${1:-}" == "--build-only" ]] && build_only=1

if [[ $build_only == 0 ]]; then
  packages=(iptables ipset nftables iproute2 libmnl-dev libnftnl-dev cmake g++ make pkg-config
            util-linux libcap2-bin strace clang libclang-rt-dev groff-base)
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) != 0 ]]; then
      say "missing system packages: ${missing[*]} — run this as root (apt-get needs it)"; exit 1
    fi
    say "installing system packages with apt-get: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi

  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

newest_native=$(find native CMakeLists.txt -type f -newer build/Release/iptkit.node 2>/dev/null | head -1 || true)
if [[ ! -f build/Release/iptkit.node || -n "$newest_native" ]]; then
  say "building the native addon (cmake-js → build/Release/iptkit.node)"
  npx --no-install cmake-js compile --out build --CDIPTKIT_WERROR=ON --log-level error >/dev/null
fi

say "compiling TypeScript (tsc → dist/)"
npx --no-install tsc -p tsconfig.json

say "bundling the command (esbuild dist/src/cli/bin.js → dist/iptkit-cli.cjs, its code cache, the bin dist/iptkit.cjs)"
bash scripts/bundle.sh
