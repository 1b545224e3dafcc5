#!/usr/bin/env bash
# Fuzzes the native iptables dialect and the commit wire (native/fuzz/restore_fuzz.cc and
# wire_check.cc), saying what it does:
#   scripts/fuzz.sh [SECONDS]        builds the libFuzzer target with clang++ (ASan + UBSan)
#                                    into build/fuzz/ and runs it SECONDS (default 60) over a
#                                    temporary copy of test/fuzz/corpus/, test/fuzz/regressions/
#                                    and fixtures/seed-docker-host.rules (the repo's corpus is
#                                    never written). A finding is written to build/fuzz/ as
#                                    crash-… / timeout-… / oom-…, and the script exits 1.
#   scripts/fuzz.sh --build-only     only builds build/fuzz/restore_fuzz.
#   scripts/fuzz.sh --replay [PATH…] builds the same harness without libFuzzer, with g++ and
#                                    ASan + UBSan, into build/fuzz-replay/replay, and runs it
#                                    over PATH… (default: test/fuzz/corpus test/fuzz/regressions
#                                    fixtures/seed-docker-host.rules). No clang needed: the unit
#                                    test test/unit/fuzz-replay.test.ts runs this.
# clang++ and libFuzzer come from Debian's clang and libclang-rt-dev packages (scripts/setup.sh).
# Objects are rebuilt only when their source, or any header under native/, changed.
set -euo pipefail
self=$(realpath "${BASH_SOURCE[0]}")
cd "$(dirname "$self")/.."

say() { printf '\033[1m[iptkit fuzz]\033[0m %s\n' "$*" >&2; }

# What the dialect needs outside Node and the kernel (checked with the linker): the dialect and
# the extension modules, not the dialect's Node binding (a file that includes napi.h or js.h);
# and the restore planner that runs the parsed steps (native/restore, without its Node entry).
sources() {
  grep -L -E '#include [<"](napi|js)\.h[>"]' native/dialect/*.cc native/ext/*.cc
  echo native/restore/plan.cc native/restore/current.cc native/common/error.cc native/common/netns.cc \
    native/common/parallel.cc native/common/scratch.cc native/commit/wire.cc native/fuzz/wire_check.cc | tr ' ' '\n'
}

# build OUT_DIR CXX "COMPILE FLAGS" "LINK FLAGS" BINARY SOURCES…: incremental, $(nproc) at a time.
build() {
  local out=$1 cxx=$2 cflags=$3 lflags=$4 binary=$5
  shift 5
  mkdir -p "$out/obj"
  local newest_header
  newest_header=$(find native -name '*.h' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
  local objects=() stale=()
  for src in "$@"; do
    local obj="$out/obj/$(echo "${src%.cc}" | tr / _).o"
    objects+=("$obj")
    if [[ ! -f $obj || $src -nt $obj || $newest_header -nt $obj || $self -nt $obj ]]; then stale+=("$src:$obj"); fi
  done
  if ((${#stale[@]})); then
    say "compiling ${#stale[@]} of ${#objects[@]} sources with $cxx into $out/obj"
    # shellcheck disable=SC2086
    printf '%s\n' "${stale[@]}" |
      CXX=$cxx CFLAGS=$cflags xargs -P "$(nproc)" -I{} sh -c 's={}; exec $CXX $CFLAGS -c "${s%%:*}" -o "${s#*:}"' ||
      { say "compiling failed"; exit 1; }
  fi
  if [[ ! -f $out/$binary ]] || ((${#stale[@]})); then
    say "linking $out/$binary"
    # shellcheck disable=SC2086
    $cxx $lflags "${objects[@]}" -o "$out/$binary"
  fi
}

seed_paths=(test/fuzz/corpus test/fuzz/regressions fixtures/seed-docker-host.rules)

common_flags="-std=c++17 -g -fno-omit-frame-pointer -Inative -DIPTKIT_FUZZ"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [[ ${1:-} == --replay ]]; then
  shift
  command -v g++ >/dev/null || { say "g++ is missing (scripts/setup.sh installs it)"; exit 1; }
  mapfile -t srcs < <(sources)
  # -O0: half the compile time of -O1, and the replay runs a few dozen small inputs.
  build build/fuzz-replay g++ "$common_flags -O0 $sanitize" "$sanitize" replay \
    "${srcs[@]}" native/fuzz/restore_fuzz.cc native/fuzz/replay_main.cc
  (($#)) || set -- "${seed_paths[@]}"
  say "replaying $* through build/fuzz-replay/replay"
  # Leaks are the fuzzer's business; the replay checks crashes and the fixed point.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} exec build/fuzz-replay/replay "$@"
fi

build_only=0
seconds=60
if [[ ${1:-} == --build-only ]]; then
  build_only=1
elif [[ -n ${1:-} ]]; then
  [[ $1 =~ ^[0-9]+$ ]] || { say "usage: scripts/fuzz.sh [SECONDS] | --build-only | --replay [PATH…]"; exit 2; }
  seconds=$1
fi

command -v clang++ >/dev/null || { say "clang++ is missing: apt-get install clang libclang-rt-dev (scripts/setup.sh does)"; exit 1; }
if [[ -z $(find "$(clang++ -print-resource-dir)" -name 'libclang_rt.fuzzer*.a' 2>/dev/null | head -1) ]]; then
  say "libFuzzer is missing: apt-get install libclang-rt-dev"; exit 1
fi

mapfile -t srcs < <(sources)
build build/fuzz clang++ "$common_flags -O1 $sanitize -fsanitize=fuzzer-no-link" "$sanitize -fsanitize=fuzzer" restore_fuzz \
  "${srcs[@]}" native/fuzz/restore_fuzz.cc
((build_only)) && exit 0

work=$(mktemp -d build/fuzz/corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT
for p in "${seed_paths[@]}"; do
  if [[ -d $p ]]; then find "$p" -type f -exec cp {} "$work/" \;; elif [[ -f $p ]]; then cp "$p" "$work/"; fi
done
dict=()
[[ -f test/fuzz/restore.dict ]] && dict=(-dict=test/fuzz/restore.dict)
log=build/fuzz/fuzz.log
say "fuzzing for ${seconds}s over $(ls "$work" | wc -l) seed inputs (working copy $work; log $log)"
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} build/fuzz/restore_fuzz "$work" "${dict[@]}" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -artifact_prefix=build/fuzz/ -print_final_stats=1 >"$log" 2>&1 || status=$?
# The last status line (#N … cov: … ft: … corp: … exec/s: …) and the final stats.
grep -E '^#[0-9]+' "$log" | tail -1 | sed 's/^/  /' >&2 || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed 's/^/  /' >&2 || true
if ((status)); then
  say "the fuzzer found something (exit $status); the end of $log:"
  tail -60 "$log" >&2
  artifact=$(grep -oE 'Test unit written to \S+' "$log" | tail -1 | cut -d' ' -f5 || true)
  if [[ -n $artifact ]]; then
    say "reproduce: build/fuzz/restore_fuzz $artifact   (or: scripts/fuzz.sh --replay $artifact)"
    say "keep it: minimise (build/fuzz/restore_fuzz -minimize_crash=1 -runs=20000 $artifact), then copy it to test/fuzz/regressions/NAME"
  fi
  exit 1
fi
say "no finding in ${seconds}s"
