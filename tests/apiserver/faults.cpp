#include "tests/apiserver/faults.h"

#include <thread>

namespace billing::apiserver {

using web::json::value;

std::string requestVerb(const common::HttpRequest& request, const RequestInfo& info) {
  const std::string& method = request.method;
  if (method == "GET" || method == "HEAD") {
    if (!info.name.empty()) return "get";
    auto watch = request.queryValue("watch");
    return watch && (*watch == "1" || *watch == "true") ? "watch" : "list";
  }
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return info.name.empty() ? "deletecollection" : "delete";
  return method;
}

std::expected<void, std::string> FaultInjector::configure(const value& document) {
  if (!document.is_object()) return std::unexpected("the fault configuration must be an object");
  std::lock_guard lock(mutex_);
  for (const auto& [key, item] : document.as_object()) {
    if (key == "reset") {
      errorFraction_ = 0;
      latency_ = std::chrono::milliseconds(0);
      forbidden_.clear();
    } else if (key == "errorRate") {
      if (!item.is_object() || !item.has_field("fraction") || !item.at("fraction").is_number()) {
        return std::unexpected("errorRate needs {\"fraction\": 0..1, \"code\": 429|500|...}");
      }
      double fraction = item.at("fraction").as_double();
      if (fraction < 0 || fraction > 1) return std::unexpected("errorRate.fraction must be 0..1");
      errorFraction_ = fraction;
      errorCode_ = item.has_field("code") ? item.at("code").as_integer() : 500;
      retryAfterSeconds_ =
          item.has_field("retryAfterSeconds") ? item.at("retryAfterSeconds").as_integer() : 1;
    } else if (key == "latencyMilliseconds") {
      if (!item.is_integer() || item.as_integer() < 0) {
        return std::unexpected("latencyMilliseconds must be a non-negative integer");
      }
      latency_ = std::chrono::milliseconds(item.as_integer());
    } else if (key == "forbid") {
      if (!item.is_array())
        return std::unexpected("forbid must be a list of {user, verb, resource}");
      forbidden_.clear();
      for (const auto& rule : item.as_array()) {
        auto text = [&](const char* name) {
          return rule.has_field(name) && rule.at(name).is_string() ? rule.at(name).as_string()
                                                                   : std::string("*");
        };
        forbidden_.push_back({text("user"), text("verb"), text("resource")});
      }
    } else {
      return std::unexpected("unknown fault \"" + key +
                             "\": known are errorRate, latencyMilliseconds, forbid, reset");
    }
  }
  return {};
}

void FaultInjector::reset() {
  std::lock_guard lock(mutex_);
  errorFraction_ = 0;
  latency_ = std::chrono::milliseconds(0);
  forbidden_.clear();
}

std::optional<ApiError> FaultInjector::before(const common::HttpRequest& request,
                                              const RequestInfo& info, const UserInfo& user) {
  std::chrono::milliseconds latency;
  std::optional<ApiError> answer;
  {
    std::lock_guard lock(mutex_);
    latency = latency_;
    const std::string verb = requestVerb(request, info);
    for (const Forbidden& rule : forbidden_) {
      auto matches = [](const std::string& pattern, const std::string& actual) {
        return pattern == "*" || pattern == actual;
      };
      if (info.kind == RequestInfo::Kind::Resource && matches(rule.user, user.name) &&
          matches(rule.verb, verb) && matches(rule.resource, info.resource)) {
        std::string where =
            info.ns.empty() ? " at the cluster scope" : " in the namespace \"" + info.ns + "\"";
        std::string object = info.resource + (info.group.empty() ? "" : "." + info.group) +
                             (info.name.empty() ? "" : " \"" + info.name + "\"");
        answer = statusError(403, "Forbidden",
                             object + " is forbidden: User \"" + user.name + "\" cannot " + verb +
                                 " resource \"" + info.resource + "\" in API group \"" +
                                 info.group + "\"" + where);
        break;
      }
    }
    if (!answer && errorFraction_ > 0 && info.kind == RequestInfo::Kind::Resource) {
      std::uniform_real_distribution<double> roll(0, 1);
      if (roll(random_) < errorFraction_) {
        answer = errorCode_ == 429
                     ? tooManyRequests(retryAfterSeconds_)
                     : statusError(errorCode_,
                                   errorCode_ == 503 ? "ServiceUnavailable" : "InternalError",
                                   "injected fault: " + std::to_string(errorCode_));
      }
    }
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  return answer;
}

}  // namespace billing::apiserver
