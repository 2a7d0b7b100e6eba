#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/reliability.md):
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]
#
# Builds the fuzz targets in build-asan, the clang 19 build that scripts/sanitize.sh asan runs the
# test suite in (-DBILLING_FUZZ=ON: libFuzzer coverage + ASan + UBSan; after sanitize.sh asan
# there is nothing left to build), then fuzzes each TARGET (default: all of them) for N seconds
# (default 30; CI uses 20, run hours by hand).
# The checked-in seeds (tests/fuzz/corpus/TARGET) are read, never written: what the fuzzer finds
# goes to build-asan/fuzz-work/TARGET. A crash, leak, timeout or broken invariant fails the run
# and leaves the input in build-asan/fuzz-artifacts/TARGET/; after the fix, copy it into the
# corpus as a regression (the normal build replays every corpus file on each ctest run).
# BILLING_JOBS sets the build parallelism and how many fuzzers run at once (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(json yaml money codec check kubeconfig admission_review ledger_request)
seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds)
      [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --seconds needs a positive number" >&2; exit 2; }
      seconds=$2
      shift 2
      ;;
    -h|--help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "fuzz: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *)
      if [[ " ${all_targets[*]} " != *" $1 "* ]]; then
        echo "fuzz: unknown target '$1'; the targets are: ${all_targets[*]}" >&2
        exit 2
      fi
      targets+=("$1")
      shift
      ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

source scripts/lib/sanitized-build.sh
SECONDS=0
read_cpu
cpu=$cpu_now
configure_sanitized asan
dir=$build_dir
read_cpu
echo "fuzz: dependencies and configuration took ${SECONDS}s ($((cpu_now - cpu))s CPU)"
SECONDS=0
read_cpu
cpu=$cpu_now
build_targets=("${targets[@]/#/fuzz_}")
# All of them: one target, so that make builds their dependencies in parallel (cmake --build
# builds a list of targets one after the other).
[ ${#targets[@]} -lt ${#all_targets[@]} ] || build_targets=(fuzz_targets)
cmake --build "$dir" -j"${BILLING_JOBS:-$(nproc)}" --target "${build_targets[@]}"
read_cpu
echo "fuzz: build took ${SECONDS}s ($((cpu_now - cpu))s CPU)"

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# fuzz_one TARGET: fuzzes TARGET for $seconds into its own log; the exit status says whether it
# found something.
fuzz_one() {
  local target=$1
  local work="$dir/fuzz-work/$target" artifacts="$dir/fuzz-artifacts/$target"
  mkdir -p "$work" "$artifacts"
  # -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb: a bounded parser
  # must not need gigabytes; -max_len: manifests and requests are small, and long inputs only
  # slow the search down.
  "$dir/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work" "tests/fuzz/corpus/$target" >"$dir/fuzz-work/$target.log" 2>&1
}

# Each fuzzer is one single-threaded process: run as many side by side as there are cores, so
# CI's eight targets take two rounds of N seconds on two cores instead of eight.
parallel="${BILLING_JOBS:-$(nproc)}"
failed=()
SECONDS=0
read_cpu
cpu=$cpu_now
for ((first = 0; first < ${#targets[@]}; first += parallel)); do
  batch=("${targets[@]:first:parallel}")
  echo "+ fuzz ${batch[*]} for ${seconds}s"
  pids=()
  for target in "${batch[@]}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for i in "${!batch[@]}"; do
    target=${batch[$i]}
    if wait "${pids[$i]}"; then
      echo "$target: $(grep -E '^stat::number_of_executed_units|^Done' "$dir/fuzz-work/$target.log" | tr '\n' ' ')"
    else
      echo "fuzz: $target FAILED; the end of its log ($dir/fuzz-work/$target.log):"
      tail -n 60 "$dir/fuzz-work/$target.log"
      echo "fuzz: the input is in $dir/fuzz-artifacts/$target/; reproduce with $dir/fuzz/fuzz_$target FILE"
      failed+=("$target")
    fi
  done
done
read_cpu
echo "fuzz: runs took ${SECONDS}s ($((cpu_now - cpu))s CPU)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no failure"
