#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with AddressSanitizer and runs each on its seed corpus.
#
#   scripts/fuzz.sh [seconds per target] [target...]      (default: 600 s, every target)
#
# The corpus grows in .build-fuzz/corpus/<target> (the seeds in fuzz/corpus stay as committed);
# a crash, sanitizer report, time-out (10 s) or out-of-memory (2 GB) input is saved as
# .build-fuzz/findings/<target>-<kind>-<hash> and fails the script. Prints, per target, the
# executions, the corpus size and the findings.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(png npy npz safetensors yaml csv)

build=.build-fuzz
# The C wrappers (CPNGDecoder) are instrumented too; libpng itself is the system's, uninstrumented.
(cd fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld --build-path "../$build" 2>&1 | grep -E "error|warning: |Compiling|Linking" || true)
binary=$build/release/unlearn-fuzz
[ -x "$binary" ] || { echo "fuzz: the build failed"; exit 1; }
mkdir -p "$build/findings"

status=0
summary=()
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz: no target $t (png, npy, npz, safetensors, yaml, csv)"; exit 2; }
  work=$build/corpus/$t
  mkdir -p "$work"
  log=$build/$t.log
  echo "fuzz: $t for $seconds s"
  set +e
  UNLEARN_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no "$binary" "$work" "fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t-" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  findings=$(find "$build/findings" -name "$t-*" -type f | wc -l)
  summary+=("$(printf '%-12s %12s executions  %6s corpus files  %3s findings  (exit %s)' "$t" "${execs:-?}" "$corpus" "$findings" "$rc")")
  if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
    status=1
    echo "fuzz: $t found a problem; the end of $log:"
    tail -40 "$log"
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
