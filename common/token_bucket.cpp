#include "common/token_bucket.h"

#include <algorithm>
#include <cstdint>

namespace billing::common {

TokenBucket::TokenBucket(double rate, double burst, std::chrono::steady_clock::time_point now)
    : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

void TokenBucket::refill(std::chrono::steady_clock::time_point now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

std::chrono::nanoseconds TokenBucket::take(std::chrono::steady_clock::time_point now) {
  refill(now);
  tokens_ -= 1;
  if (tokens_ >= 0 || rate_ <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(-tokens_ / rate_ * 1e9));
}

void TokenBucket::giveBack(std::chrono::steady_clock::time_point now) {
  refill(now);
  tokens_ = std::min(burst_, tokens_ + 1);
}

}  // namespace billing::common
