#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace billing::fuzz {

void invariantBroken(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n  %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace billing::fuzz
