#include "operator/runtime/backoff.h"

#include <algorithm>

namespace billing::runtime {

Backoff::Backoff(BackoffOptions options, std::uint64_t seed) : options_(options), random_(seed) {}

std::chrono::milliseconds Backoff::next(std::chrono::steady_clock::time_point now) {
  if (lastFailure_ && now - *lastFailure_ > options_.resetAfter) reset();
  lastFailure_ = now;
  const double maxMs = static_cast<double>(options_.max.count());
  current_ = current_ == 0 ? static_cast<double>(options_.initial.count())
                           : std::min(current_ * options_.factor, maxMs);
  double delay = current_;
  if (options_.jitter > 0) {
    std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
    delay *= spread(random_);
  }
  delay = std::clamp(delay, 0.0, maxMs);
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

void Backoff::reset() {
  current_ = 0;
  lastFailure_.reset();
}

}  // namespace billing::runtime
