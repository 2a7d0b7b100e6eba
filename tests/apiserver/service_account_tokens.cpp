#include "tests/apiserver/service_account_tokens.h"

#include <algorithm>
#include <ctime>
#include <random>

#include "common/json.h"

namespace billing::apiserver {

using web::json::value;

namespace {

constexpr std::int64_t kDefaultExpirationSeconds = 3600;  // kube's TokenRequestSpec default
constexpr std::int64_t kMinExpirationSeconds = 600;
constexpr std::int64_t kMaxExpirationSeconds = std::int64_t{1} << 32;

std::string randomToken() {
  // 256 bits from the OS: a token is a credential.
  std::random_device device;
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token;
  for (int i = 0; i < 43; ++i) token.push_back(kAlphabet[device() % 64]);
  return token;
}

std::string timestamp(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

ResourceType tokenRequestType() {
  ResourceType type;
  type.group = "authentication.k8s.io";
  type.version = "v1";
  type.kind = "TokenRequest";
  type.plural = "tokenrequests";
  return type;
}

ApiError invalidExpiration(const std::string& name, std::int64_t seconds,
                           const std::string& detail) {
  const std::string text =
      "spec.expirationSeconds: Invalid value: " + std::to_string(seconds) + ": " + detail;
  value cause = value::object(true);
  cause["reason"] = value::string("FieldValueInvalid");
  cause["message"] = value::string("Invalid value: " + std::to_string(seconds) + ": " + detail);
  cause["field"] = value::string("spec.expirationSeconds");
  return invalid(tokenRequestType(), name, value::array({cause}),
                 "TokenRequest.authentication.k8s.io \"" + name + "\" is invalid: " + text);
}

}  // namespace

UserInfo serviceAccountUser(const std::string& ns, const std::string& name,
                            const std::string& uid) {
  return UserInfo{
      "system:serviceaccount:" + ns + ":" + name,
      {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
      uid};
}

ServiceAccountTokens::ServiceAccountTokens(Clock clock) : clock_(std::move(clock)) {}

std::expected<value, ApiError> ServiceAccountTokens::request(const ObjectStore& store,
                                                             const std::string& ns,
                                                             const std::string& name,
                                                             const std::string& body) {
  auto account = store.get("serviceaccounts", ns, name);
  if (!account) {
    value details = value::object(true);
    details["name"] = value::string(name);
    details["kind"] = value::string("serviceaccounts");
    return std::unexpected(
        statusError(404, "NotFound", "serviceaccounts \"" + name + "\" not found", details));
  }
  value review = value::object();
  if (!body.empty()) {
    auto parsed = common::parseJson(body);
    if (!parsed || !parsed->is_object()) {
      return std::unexpected(badRequest("the body of a TokenRequest must be a JSON object"));
    }
    review = *parsed;
  }
  if (review.has_field("kind") && review.at("kind").is_string() &&
      review.at("kind").as_string() != "TokenRequest") {
    return std::unexpected(badRequest("expected a TokenRequest (authentication.k8s.io/v1), got " +
                                      review.at("kind").as_string()));
  }
  value spec = review.has_field("spec") && review.at("spec").is_object() ? review.at("spec")
                                                                         : value::object();
  std::int64_t seconds = kDefaultExpirationSeconds;
  if (spec.has_field("expirationSeconds") && spec.at("expirationSeconds").is_integer()) {
    seconds = spec.at("expirationSeconds").as_number().to_int64();
  }
  if (seconds < kMinExpirationSeconds) {
    return std::unexpected(
        invalidExpiration(name, seconds, "may not specify a duration less than 10 minutes"));
  }
  if (seconds > kMaxExpirationSeconds) {
    return std::unexpected(
        invalidExpiration(name, seconds, "may not specify a duration larger than 2^32 seconds"));
  }
  std::vector<std::string> audiences;
  if (spec.has_field("audiences") && spec.at("audiences").is_array()) {
    for (const value& audience : spec.at("audiences").as_array()) {
      if (audience.is_string()) audiences.push_back(audience.as_string());
    }
  }
  if (audiences.empty()) audiences.push_back(kApiServerAudience);

  Issued issued;
  issued.ns = ns;
  issued.name = name;
  const value& metadata = account->at("metadata");
  issued.uid = metadata.has_field("uid") ? metadata.at("uid").as_string() : "";
  issued.audiences = audiences;
  issued.expires = clock_() + std::chrono::seconds(seconds);
  const std::string token = randomToken();
  {
    std::lock_guard lock(mutex_);
    // Expired tokens are dropped here, so the map holds only live ones.
    const auto now = clock_();
    std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires <= now; });
    tokens_[token] = issued;
  }

  value answer = value::object(true);
  answer["kind"] = value::string("TokenRequest");
  answer["apiVersion"] = value::string("authentication.k8s.io/v1");
  answer["metadata"] = value::object(true);
  answer["metadata"]["name"] = value::string(name);
  answer["metadata"]["namespace"] = value::string(ns);
  answer["metadata"]["creationTimestamp"] = value::null();
  answer["spec"] = value::object(true);
  value audienceList = value::array(audiences.size());
  for (std::size_t i = 0; i < audiences.size(); ++i) audienceList[i] = value::string(audiences[i]);
  answer["spec"]["audiences"] = audienceList;
  answer["spec"]["expirationSeconds"] = value::number(seconds);
  answer["spec"]["boundObjectRef"] =
      spec.has_field("boundObjectRef") ? spec.at("boundObjectRef") : value::null();
  answer["status"] = value::object(true);
  answer["status"]["token"] = value::string(token);
  answer["status"]["expirationTimestamp"] = value::string(timestamp(issued.expires));
  return answer;
}

std::optional<UserInfo> ServiceAccountTokens::authenticate(const ObjectStore& store,
                                                           const std::string& token) const {
  Issued issued;
  {
    std::lock_guard lock(mutex_);
    auto found = tokens_.find(token);
    if (found == tokens_.end()) return std::nullopt;
    issued = found->second;
  }
  if (clock_() >= issued.expires) return std::nullopt;
  if (std::find(issued.audiences.begin(), issued.audiences.end(), kApiServerAudience) ==
      issued.audiences.end()) {
    return std::nullopt;  // a token for another audience is not for the API server
  }
  auto account = store.get("serviceaccounts", issued.ns, issued.name);
  if (!account) return std::nullopt;
  const value& metadata = account->at("metadata");
  const std::string uid = metadata.has_field("uid") ? metadata.at("uid").as_string() : "";
  if (uid != issued.uid) return std::nullopt;  // deleted and created again: a new account
  if (metadata.has_field("deletionTimestamp")) return std::nullopt;  // being deleted
  return serviceAccountUser(issued.ns, issued.name, issued.uid);
}

}  // namespace billing::apiserver
