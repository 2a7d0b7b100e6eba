// Instants and half-open UTC intervals. All times in the domain are UTC with second precision,
// matching the precision of Kubernetes' metav1.Time.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace billing::domain {

using Timestamp = std::chrono::sys_seconds;

// Parses an RFC 3339 instant such as "2026-11-01T00:00:00Z" or "2026-11-01T01:00:00+01:00".
// Fractional seconds are accepted and truncated. Returns nullopt on anything else.
std::optional<Timestamp> parseTimestamp(std::string_view text);

// Formats as Kubernetes does: "2026-11-01T00:00:00Z".
std::string formatTimestamp(Timestamp t);

// A half-open interval [start, end). Empty when end <= start.
struct Interval {
  Timestamp start;
  Timestamp end;

  bool empty() const { return end <= start; }
  bool contains(Timestamp t) const { return start <= t && t < end; }
  std::chrono::seconds length() const { return empty() ? std::chrono::seconds{0} : end - start; }
  friend bool operator==(const Interval&, const Interval&) = default;
};

// The overlap of two intervals; empty (start == end) when they do not overlap.
Interval intersect(const Interval& a, const Interval& b);

}  // namespace billing::domain
