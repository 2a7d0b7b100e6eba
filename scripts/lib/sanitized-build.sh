# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: the clang 19 configuration of the
# sanitized build directories, and CPU-time accounting for their phases (docs/reliability.md).
#
#   build-asan  libFuzzer coverage + ASan + UBSan (-DBILLING_FUZZ=ON) on every target. One build
#               serves both the whole ctest suite under ASan+UBSan+LSan (sanitize.sh asan) and
#               the fuzzers (fuzz.sh): a second build of the same code for the fuzzers would cost
#               more of CI's 45 minutes than the coverage instrumentation costs the tests.
#   build-tsan  ThreadSanitizer (-DBILLING_SANITIZE=thread).
#
# Both at -O1 with line tables only, without NDEBUG (asserts are bugs, check them too): what the
# sanitizers recommend, fast to build, and enough for reports with file:line.

# configure_sanitized asan|tsan [CMAKE_ARGS...]: installs clang 19 and configures the mode's
# build directory; sets $build_dir.
configure_sanitized() {
  local mode=$1
  shift
  local flags=()
  case "$mode" in
    asan) build_dir=build-asan flags=(-DBILLING_FUZZ=ON) ;;
    tsan) build_dir=build-tsan flags=(-DBILLING_SANITIZE=thread) ;;
    *) echo "configure_sanitized: unknown mode '$mode' (asan or tsan)" >&2; return 2 ;;
  esac
  scripts/install-deps.sh --with-fuzzing
  echo "+ configure $build_dir (clang++-19, ${flags[*]})"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DBILLING_WERROR=ON \
    -DBILLING_BUILD_BENCHMARKS=OFF "${flags[@]}" "$@" >/dev/null
}

# read_cpu: CPU seconds (user + system) of all finished child processes so far, into $cpu_now.
# On a shared machine the wall-clock time says little; the CPU time is what a dedicated CI
# machine would need. `times` must run in the calling shell (a command substitution would
# report its own subshell), hence the file.
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
read_cpu() {
  times >"$times_file"
  cpu_now=$(tail -n 1 "$times_file" | awk '{ total = 0
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
    printf "%d", total }')
}
