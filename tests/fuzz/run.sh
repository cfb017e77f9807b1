#!/usr/bin/env bash
# Runs the libFuzzer targets one after another (never in parallel: the machine is shared), each for
# SECONDS, from corpora seeded with tests/data. Prints one line per target and, last,
# "fuzz: N passed, M failed"; exits non-zero if any target found a crash, a leak or a hang.
# Usage: tests/fuzz/run.sh SECONDS [target...]   (BUILD_FUZZ=build-fuzz; crashes in $BUILD_FUZZ/artifacts)
set -uo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${1:-5}"; shift || true
BUILD_FUZZ="${BUILD_FUZZ:-build-fuzz}"
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(text markdown html pdf csv json chunker)
mkdir -p "$BUILD_FUZZ/artifacts" "$BUILD_FUZZ/logs"

# Seeds: every file in tests/data for every extractor; for the chunker, each text file behind a
# 4-byte header (strategy, size, overlap) for every strategy.
seed() {
  local target="$1" dir="$BUILD_FUZZ/corpus/$1"
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  if [ "$target" = chunker ]; then
    local s f
    for f in tests/data/*.md tests/data/*.csv tests/data/*.json tests/data/*.html; do
      for s in 0 1 2 3 4; do
        { printf "\\x$(printf %02x "$s")\\x50\\x00\\x0a"; cat "$f"; } >"$dir/$(basename "$f").$s"
      done
    done
  else
    cp tests/data/* "$dir/"
  fi
}

passed=0; failed=0
for t in "${TARGETS[@]}"; do
  bin="$BUILD_FUZZ/fuzz_$t"
  if [ ! -x "$bin" ]; then echo "fuzz_$t: not built (make fuzz)"; failed=$((failed + 1)); continue; fi
  seed "$t"
  log="$BUILD_FUZZ/logs/fuzz_$t.log"
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$BUILD_FUZZ/artifacts/fuzz_$t-" "$BUILD_FUZZ/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ok, ${runs:-?} executions in ${SECONDS_EACH}s"; passed=$((passed + 1))
  else
    echo "fuzz_$t: FAILED (exit $rc), see $log"; grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -5
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
