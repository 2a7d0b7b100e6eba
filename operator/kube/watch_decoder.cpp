#include "operator/kube/watch_decoder.h"

#include "common/json.h"

namespace billing::kube {
namespace {

bool isBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::expected<WatchEvent, std::string> parseWatchEvent(std::string_view line) {
  auto parsed = common::parseJson(line);
  if (!parsed) return std::unexpected("a watch event that is not JSON: " + parsed.error());
  if (!parsed->is_object() || !parsed->has_field("type") || !parsed->at("type").is_string()) {
    return std::unexpected(std::string("a watch event without a \"type\""));
  }
  const std::string type = parsed->at("type").as_string();
  WatchEvent event;
  if (type == "ADDED") {
    event.type = WatchEventType::Added;
  } else if (type == "MODIFIED") {
    event.type = WatchEventType::Modified;
  } else if (type == "DELETED") {
    event.type = WatchEventType::Deleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEventType::Bookmark;
  } else if (type == "ERROR") {
    event.type = WatchEventType::Error;
  } else {
    return std::unexpected("a watch event of unknown type \"" + type + "\"");
  }
  if (!parsed->has_field("object") || !parsed->at("object").is_object()) {
    return std::unexpected("a " + type + " watch event without an object");
  }
  event.object = parsed->at("object");
  return event;
}

std::expected<bool, std::string> WatchDecoder::feed(
    std::string_view data, const std::function<bool(const WatchEvent&)>& onEvent) {
  while (!data.empty()) {
    auto newline = data.find('\n');
    if (newline == std::string_view::npos) {
      if (pending_.size() + data.size() > maxEventBytes_) {
        return std::unexpected("a watch event larger than " + std::to_string(maxEventBytes_) +
                               " bytes");
      }
      pending_.append(data);
      return true;
    }
    std::string_view line = data.substr(0, newline);
    data.remove_prefix(newline + 1);
    // The line is either entirely in `data` or its start is pending.
    std::string joined;
    if (!pending_.empty()) {
      joined = std::move(pending_);
      pending_.clear();
      joined.append(line);
      line = joined;
    }
    if (line.size() > maxEventBytes_) {
      return std::unexpected("a watch event larger than " + std::to_string(maxEventBytes_) +
                             " bytes");
    }
    if (isBlank(line)) continue;
    auto event = parseWatchEvent(line);
    if (!event) return std::unexpected(event.error());
    ++events_;
    if (!onEvent(*event)) return false;
  }
  return true;
}

bool WatchDecoder::hasPartialEvent() const { return !isBlank(pending_); }

}  // namespace billing::kube
