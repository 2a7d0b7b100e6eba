# libFuzzer builds: -DBILLING_FUZZ=ON with clang (CMAKE_CXX_COMPILER=clang++-19; scripts/fuzz.sh
# configures build-fuzz that way). Every target is compiled with libFuzzer's coverage
# instrumentation plus ASan and UBSan, so that the fuzzers see the code they exercise and every
# memory error or undefined behaviour is a crash; tests/fuzz links the targets with libFuzzer.
#
# Without BILLING_FUZZ (GCC, the normal build) the same targets build as corpus-replay programs
# that ctest runs, so the checked-in corpora run on every CI build.
option(BILLING_FUZZ "Build the tests/fuzz targets as libFuzzer fuzzers (needs clang)" OFF)

if(BILLING_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BILLING_FUZZ needs clang (libFuzzer is part of clang); configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-19 (scripts/install-deps.sh --with-fuzzing installs it), "
                        "or use scripts/fuzz.sh")
  endif()
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
    # libstdc++ 12 offers std::expected only when __cpp_concepts >= 202002L, which clang
    # reports from version 19 on.
    message(FATAL_ERROR "BILLING_FUZZ needs clang 19 or newer for std::expected; found "
                        "${CMAKE_CXX_COMPILER_VERSION}")
  endif()
  if(BILLING_SANITIZE)
    message(FATAL_ERROR "BILLING_FUZZ already builds with address,undefined; leave "
                        "BILLING_SANITIZE empty")
  endif()
  set(_billing_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                          -fno-sanitize-recover=all)
  add_compile_options(${_billing_fuzz_flags})
  # cpprestsdk's json.h destroys a std::unique_ptr of a type it only declares. libstdc++ makes
  # unique_ptr constexpr in C++23, and clang (unlike GCC) instantiates the constexpr destructor
  # right there and fails on the incomplete type. libstdc++ lets the macro be predefined; only
  # constexpr-ness changes, not the ABI, so the result still links with the GCC-built libraries.
  add_compile_definitions(_GLIBCXX23_CONSTEXPR=)
  # libstdc++ 12's std::stable_sort calls its own deprecated std::get_temporary_buffer; clang 19
  # warns about that inside the header at every use. The GCC builds still report our own
  # deprecated calls.
  add_compile_options(-Wno-deprecated-declarations)
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "billing-operator: libFuzzer build (fuzzer-no-link,address,undefined)")
endif()
