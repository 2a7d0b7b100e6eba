#include "tests/apiserver/request_counter.h"

namespace billing::apiserver {

void RequestCounter::record(std::string_view user, std::string_view verb, const RequestInfo& info) {
  if (info.kind != RequestInfo::Kind::Resource) return;
  std::string resource = info.group.empty() ? info.resource : info.resource + "." + info.group;
  std::lock_guard lock(mutex_);
  ++counts_[Key{std::string(user), std::string(verb), std::move(resource), info.subresource}];
}

std::vector<RequestCount> RequestCounter::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<RequestCount> counts;
  counts.reserve(counts_.size());
  for (const auto& [key, count] : counts_) {
    const auto& [user, verb, resource, subresource] = key;
    counts.push_back(RequestCount{user, verb, resource, subresource, count});
  }
  return counts;
}

web::json::value RequestCounter::toJson() const {
  using web::json::value;
  const std::vector<RequestCount> counts = snapshot();
  value list = value::array(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    value entry = value::object(true);
    entry["user"] = value::string(counts[i].user);
    entry["verb"] = value::string(counts[i].verb);
    entry["resource"] = value::string(counts[i].resource);
    entry["subresource"] = value::string(counts[i].subresource);
    entry["count"] = value::number(counts[i].count);
    list[i] = std::move(entry);
  }
  value document = value::object(true);
  document["requests"] = std::move(list);
  return document;
}

}  // namespace billing::apiserver
