# Sanitizer builds: -DBILLING_SANITIZE=address,undefined (ASan + UBSan) or =thread (TSan).
# scripts/sanitize.sh configures build-asan and build-tsan with them and runs the tests.
#
# Every target of the build (libraries, binaries, tests) is instrumented, so the end-to-end
# tests run sanitized billing-operator, billing-ledger and test-apiserver processes too. The
# third-party libraries (cpprestsdk, Boost.Asio, yaml-cpp, OpenSSL, libpq, SQLite) come from
# Debian uninstrumented; the runtime suppressions in cmake/sanitizers/ cover only findings proven
# to be inside them (each entry says why).
set(BILLING_SANITIZE "" CACHE STRING
    "Sanitizers to build with: empty (none), address,undefined, or thread")

if(BILLING_SANITIZE)
  string(REPLACE "," ";" _billing_sanitizers "${BILLING_SANITIZE}")
  foreach(_sanitizer IN LISTS _billing_sanitizers)
    if(NOT _sanitizer MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "BILLING_SANITIZE: unknown sanitizer '${_sanitizer}' in "
                          "'${BILLING_SANITIZE}'; use address,undefined or thread")
    endif()
  endforeach()
  if("thread" IN_LIST _billing_sanitizers AND
     ("address" IN_LIST _billing_sanitizers OR "leak" IN_LIST _billing_sanitizers))
    message(FATAL_ERROR "BILLING_SANITIZE: thread cannot be combined with address or leak (the "
                        "runtimes conflict); configure two build directories instead")
  endif()

  # Frame pointers keep the reports' stacks complete and cheap to unwind.
  set(_billing_sanitize_flags -fsanitize=${BILLING_SANITIZE} -fno-omit-frame-pointer)
  if("undefined" IN_LIST _billing_sanitizers)
    # Undefined behaviour aborts the test instead of printing a line nobody reads.
    list(APPEND _billing_sanitize_flags -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_billing_sanitize_flags})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's flow analysis sees through the instrumentation badly: with -fsanitize it reports
    # -Wmaybe-uninitialized inside libstdc++ (std::function in std::regex) that the plain
    # -Werror build does not. The normal build keeps the error; here it stays a warning, and
    # reading an uninitialized value would be found at run time anyway.
    add_compile_options(-Wno-error=maybe-uninitialized)
  endif()
  add_link_options(${_billing_sanitize_flags})
  message(STATUS "billing-operator: sanitizers ${BILLING_SANITIZE}")
endif()

# BILLING_SANITIZE_TARGETS: the targets one sanitizer run needs (scripts/sanitize.sh tsan names
# the test programs with threads in them), built together as `sanitize_targets`. One target
# instead of a list on the command line: the Makefile generator builds command-line targets one
# after the other, leaving a core idle at the end of each, while one target's dependencies all
# build in parallel. The names may be defined after this file is included.
set(BILLING_SANITIZE_TARGETS "" CACHE STRING "Targets that the sanitize_targets target builds")
if(BILLING_SANITIZE_TARGETS)
  add_custom_target(sanitize_targets)
  add_dependencies(sanitize_targets ${BILLING_SANITIZE_TARGETS})
endif()
