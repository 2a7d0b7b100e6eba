// Shared by the fuzz targets: the libFuzzer entry points and how a target reports a broken
// invariant. A target is one LLVMFuzzerTestOneInput; with clang and -DBILLING_FUZZ=ON libFuzzer
// drives it, otherwise replay_main.cpp feeds it the checked-in corpus (see docs/reliability.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace billing::fuzz {

// Prints what broke and the input's size, then aborts: libFuzzer saves the input as a crash,
// the replay test fails. Invariants are checked this way rather than with assert() so that they
// hold in release builds too.
[[noreturn]] void invariantBroken(std::string_view what, std::string_view detail);

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace billing::fuzz

#define BILLING_FUZZ_CHECK(condition, detail)                                 \
  do {                                                                        \
    if (!(condition)) ::billing::fuzz::invariantBroken(#condition, (detail)); \
  } while (0)
