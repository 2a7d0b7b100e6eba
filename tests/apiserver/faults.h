// Fault injection for reliability tests, switchable while the server runs through the admin
// endpoint POST /_test/faults (admin credentials only) or in-process:
//   {"errorRate": {"fraction": 0.3, "code": 429, "retryAfterSeconds": 1}}  answer a share with an
//   error
//   {"latencyMilliseconds": 200}                                         delay every request
//   {"forbid": [{"user": "alice", "verb": "list", "resource": "secrets"}]}  answer 403
//   {"reset": true}                                                        clear all of the above
// One-shot actions (dropping watches, expiring history, restarting) are methods of
// TestApiServer, exposed on the same endpoint.
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <expected>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/http_message.h"
#include "tests/apiserver/request_info.h"
#include "tests/apiserver/status.h"
#include "tests/apiserver/user_info.h"

namespace billing::apiserver {

// The verb of a request as RBAC names it: get, list, watch, create, update, patch, delete,
// deletecollection.
std::string requestVerb(const common::HttpRequest& request, const RequestInfo& info);

class FaultInjector {
 public:
  // Applies a configuration document (see above); an error names what is wrong with it.
  std::expected<void, std::string> configure(const web::json::value& document);
  void reset();

  // Delays the request, or decides to answer it with an error.
  std::optional<ApiError> before(const common::HttpRequest& request, const RequestInfo& info,
                                 const UserInfo& user);

 private:
  struct Forbidden {
    std::string user;
    std::string verb;
    std::string resource;
  };
  std::mutex mutex_;
  double errorFraction_ = 0;
  int errorCode_ = 500;
  int retryAfterSeconds_ = 1;
  std::chrono::milliseconds latency_{0};
  std::vector<Forbidden> forbidden_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace billing::apiserver
