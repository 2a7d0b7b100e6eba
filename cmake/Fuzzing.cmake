# libFuzzer builds: -DBILLING_FUZZ=ON with clang 19 (CMAKE_CXX_COMPILER=clang++-19). Every target
# is compiled with libFuzzer's coverage instrumentation plus ASan and UBSan, so that the fuzzers
# see the code they exercise and every memory error or undefined behaviour is a crash;
# tests/fuzz links the targets with libFuzzer. The other programs (tests, binaries) link the
# sanitizer runtimes only, whose no-op coverage hooks serve the instrumentation, so the same
# build runs the whole test suite under ASan+UBSan too: scripts/sanitize.sh asan and
# scripts/fuzz.sh share it (build-asan, scripts/lib/sanitized-build.sh).
#
# Without BILLING_FUZZ (GCC, the normal build) the same targets build as corpus-replay programs
# that ctest runs, so the checked-in corpora run on every CI build.
option(BILLING_FUZZ "Build the tests/fuzz targets as libFuzzer fuzzers (needs clang)" OFF)

if(BILLING_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BILLING_FUZZ needs clang (libFuzzer is part of clang); configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-19 (scripts/install-deps.sh --with-fuzzing installs it), "
                        "or use scripts/sanitize.sh asan or scripts/fuzz.sh")
  endif()
  if(BILLING_SANITIZE)
    message(FATAL_ERROR "BILLING_FUZZ already builds with address,undefined; leave "
                        "BILLING_SANITIZE empty")
  endif()
  set(_billing_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                          -fno-sanitize-recover=all)
  add_compile_options(${_billing_fuzz_flags})
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "billing-operator: libFuzzer build (fuzzer-no-link,address,undefined)")
endif()
