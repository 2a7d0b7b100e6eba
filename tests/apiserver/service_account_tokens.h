// ServiceAccount tokens: the TokenRequest subresource (POST
// /api/v1/namespaces/{ns}/serviceaccounts/{name}/token, authentication.k8s.io/v1, what
// `kubectl create token` calls) and the authentication of the bearer tokens it issued, as the
// ServiceAccount (`system:serviceaccount:<ns>:<name>`, groups system:serviceaccounts and
// system:serviceaccounts:<ns>).
//
// kube issues signed JWTs; these are opaque random tokens kept in memory: they authenticate while
// they have not expired, were issued for the API server's audience, and their ServiceAccount
// still exists with the same uid (deleting the ServiceAccount invalidates them, as in kube).
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/apiserver/object_store.h"
#include "tests/apiserver/status.h"
#include "tests/apiserver/user_info.h"

namespace billing::apiserver {

// The audience kube-apiserver accepts by default (--api-audiences = the issuer).
inline constexpr const char* kApiServerAudience = "https://kubernetes.default.svc.cluster.local";

// The user a ServiceAccount authenticates as.
UserInfo serviceAccountUser(const std::string& ns, const std::string& name, const std::string& uid);

class ServiceAccountTokens {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // `clock` decides expiry; tests pass their own.
  explicit ServiceAccountTokens(Clock clock = [] { return std::chrono::system_clock::now(); });

  // Serves a TokenRequest for ServiceAccount ns/name: the TokenRequest to answer with (201), or
  // 404 when the ServiceAccount does not exist, 422 for a lifetime under 10 minutes or over 2^32
  // seconds, 400 for a body that is not a TokenRequest.
  std::expected<web::json::value, ApiError> request(const ObjectStore& store, const std::string& ns,
                                                    const std::string& name,
                                                    const std::string& body);

  // The ServiceAccount a token was issued for, if it is still valid.
  std::optional<UserInfo> authenticate(const ObjectStore& store, const std::string& token) const;

 private:
  struct Issued {
    std::string ns;
    std::string name;
    std::string uid;
    std::vector<std::string> audiences;
    std::chrono::system_clock::time_point expires;
  };
  Clock clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Issued> tokens_;
};

}  // namespace billing::apiserver
