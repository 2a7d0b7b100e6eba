// Counts the API requests the server receives, by user, verb and resource, so that benchmarks
// and tests can see what a client (the operator) asked for from the server's side rather than
// trusting the client's own bookkeeping. Read through GET /_test/requests (admin only) or
// in-process; counting never changes how a request is answered.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tests/apiserver/request_info.h"

namespace billing::apiserver {

struct RequestCount {
  std::string user;
  std::string verb;         // RBAC's verb: get, list, watch, create, update, patch, delete, ...
  std::string resource;     // "billinggroups.billing.operator.dev", "namespaces"
  std::string subresource;  // "status", or empty
  std::uint64_t count = 0;
};

class RequestCounter {
 public:
  // Counts a resource request (collections and objects); discovery and other paths are not
  // counted, since clients cache them and they say nothing about the load on resources.
  void record(std::string_view user, std::string_view verb, const RequestInfo& info);

  // Every (user, verb, resource, subresource) seen so far, sorted by those keys.
  std::vector<RequestCount> snapshot() const;
  // {"requests": [{"user", "verb", "resource", "subresource", "count"}, ...]}
  web::json::value toJson() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  mutable std::mutex mutex_;
  std::map<Key, std::uint64_t> counts_;
};

}  // namespace billing::apiserver
