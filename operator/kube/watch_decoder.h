// Decodes a watch response body (newline-delimited JSON, one {"type","object"} event per line, as
// the API server's json.Encoder writes it) incrementally: bytes go in as the transport hands them
// over, split anywhere, and each event comes out as soon as its line is complete.
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "operator/kube/client.h"

namespace billing::kube {

// One event line: type ADDED, MODIFIED, DELETED, BOOKMARK or ERROR and an object. Errors say what
// is wrong without quoting the line (objects may hold Secrets).
std::expected<WatchEvent, std::string> parseWatchEvent(std::string_view line);

class WatchDecoder {
 public:
  // A line longer than this is an error rather than unbounded memory.
  explicit WatchDecoder(std::size_t maxEventBytes = 64 * 1024 * 1024)
      : maxEventBytes_(maxEventBytes) {}

  // Consumes `data`, calling onEvent for every event completed by it. Returns false when onEvent
  // returned false (the rest of `data` is dropped), an error for a line that is not an event.
  std::expected<bool, std::string> feed(std::string_view data,
                                        const std::function<bool(const WatchEvent&)>& onEvent);

  // Whether bytes of an unfinished event are pending: at the end of the stream, a truncated event.
  bool hasPartialEvent() const;
  std::size_t eventsDecoded() const { return events_; }

 private:
  std::size_t maxEventBytes_;
  std::string pending_;
  std::size_t events_ = 0;
};

}  // namespace billing::kube
