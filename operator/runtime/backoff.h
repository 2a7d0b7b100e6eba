// Exponential backoff with jitter that forgets past failures after a healthy period, as kube-rs'
// watcher backoff does (800 ms doubling to 30 s, reset after 120 s without a failure).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace billing::runtime {

struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
  double factor = 2.0;
  // Each delay is drawn uniformly from [d * (1 - jitter), d * (1 + jitter)], capped at max.
  double jitter = 0.2;
  // When the last failure is older than this, the next delay starts from `initial` again.
  std::chrono::milliseconds resetAfter{std::chrono::seconds(120)};
};

// Not thread-safe: one per retry loop.
class Backoff {
 public:
  explicit Backoff(BackoffOptions options = {}, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt, after a failure observed at `now`.
  std::chrono::milliseconds next(std::chrono::steady_clock::time_point now);
  void reset();
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 random_;
  double current_ = 0;  // milliseconds, before jitter; 0 before the first failure
  std::optional<std::chrono::steady_clock::time_point> lastFailure_;
};

}  // namespace billing::runtime
