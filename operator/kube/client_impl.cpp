#include "operator/kube/client_impl.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/http_client.h"
#include "common/json.h"
#include "common/tls.h"
#include "operator/kube/status.h"
#include "operator/kube/watch_decoder.h"

namespace billing::kube {
namespace {

using web::json::value;

Error makeError(ErrorKind kind, std::string message) {
  Error error;
  error.kind = kind;
  error.message = std::move(message);
  return error;
}

std::string jsonString(const value& object, const char* name) {
  if (!object.is_object() || !object.has_field(name) || !object.at(name).is_string()) return "";
  return object.at(name).as_string();
}

std::string queryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string result;
  for (const auto& [name, text] : query) {
    result += result.empty() ? "?" : "&";
    result += common::percentEncode(name) + "=" + common::percentEncode(text);
  }
  return result;
}

bool isGet(const std::string& method) { return method == "GET"; }

std::string_view propagationName(PropagationPolicy policy) {
  switch (policy) {
    case PropagationPolicy::Background:
      return "Background";
    case PropagationPolicy::Foreground:
      return "Foreground";
    case PropagationPolicy::Orphan:
      return "Orphan";
  }
  return "Background";
}

}  // namespace

std::string resourceName(const ResourceRef& resource) {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

std::string resourcePath(const ResourceRef& resource, const std::string& ns,
                         const std::string& name, bool statusSubresource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + common::percentEncode(ns);
  path += "/" + resource.resource;
  if (!name.empty()) path += "/" + common::percentEncode(name);
  if (statusSubresource) path += "/status";
  return path;
}

std::shared_ptr<CredentialProvider> makeCredentialProvider(const RestConfig& config,
                                                           const ClientOptions& options) {
  Credentials base;
  if (!config.clientCertPem.empty()) {
    base.clientCertPem = config.clientCertPem;
    base.clientKeyPem = config.clientKeyPem;
  }
  auto clock = options.clock ? options.clock : common::systemClock();
  if (config.exec) {
    auto runner =
        options.commandRunner ? options.commandRunner : std::make_shared<ProcessCommandRunner>();
    return std::make_shared<ExecCredentialProvider>(
        *config.exec, config.userName, options.environment.value_or(processEnvironment()),
        std::move(runner), std::move(clock));
  }
  if (!config.bearerTokenFile.empty()) {
    return std::make_shared<TokenFileCredentialProvider>(config.bearerTokenFile, config.bearerToken,
                                                         base, clock);
  }
  std::string description = "anonymous access (no credentials)";
  if (!config.bearerToken.empty()) {
    base.authorization = "Bearer " + config.bearerToken;
    description = "bearer token";
  } else if (!config.username.empty() || !config.password.empty()) {
    base.authorization = "Basic " + common::base64Encode(config.username + ":" + config.password);
    description = "basic auth of user \"" + config.username + "\"";
  } else if (base.clientCertPem) {
    description = "client certificate";
  }
  if (!config.userName.empty()) description += " of user \"" + config.userName + "\"";
  return std::make_shared<StaticCredentialProvider>(std::move(base), std::move(description));
}

namespace {

// The options makeClient() and the constructor leave empty, filled from the configuration.
ClientOptions completeOptions(const RestConfig& config, ClientOptions options) {
  if (!options.clock) options.clock = common::systemClock();
  if (!options.rateLimiter) {
    if (config.qps < 0) {
      options.rateLimiter = std::make_shared<UnlimitedRateLimiter>();
    } else {
      double qps = config.qps == 0 ? 5 : config.qps;  // client-go's defaults for zero
      int burst = config.burst <= 0 ? 10 : config.burst;
      options.rateLimiter = std::make_shared<TokenBucketRateLimiter>(qps, burst, options.clock);
    }
  }
  if (!options.credentials) options.credentials = makeCredentialProvider(config, options);
  return options;
}

}  // namespace

ClientImpl::ClientImpl(RestConfig config, ClientOptions options, std::string origin,
                       std::string basePath)
    : config_(std::move(config)),
      options_(completeOptions(config_, std::move(options))),
      origin_(std::move(origin)),
      basePath_(std::move(basePath)),
      host_(
          origin_.substr(origin_.find("://") == std::string::npos ? 0 : origin_.find("://") + 3)) {}

Error ClientImpl::annotate(Error error, const Call& call) const {
  error.verb = call.verb;
  error.resource = call.resource;
  error.ns = call.ns;
  error.name = call.name;
  return error;
}

Error ClientImpl::fromTransportError(const TransportError& error) const {
  const std::string server = "the API server at " + origin_ + basePath_;
  switch (error.kind) {
    case TransportError::Kind::Connect:
      return makeError(ErrorKind::Network, "cannot reach " + server + ": " + error.message);
    case TransportError::Kind::Tls: {
      std::string message = "TLS with " + server + " failed: " + error.message;
      if (error.message.find("verify failed") != std::string::npos) {
        message +=
            config_.caPem.empty()
                ? " (the system trust store does not trust it; set certificate-authority "
                  "in " +
                      config_.source + ")"
                : " (check certificate-authority and tls-server-name in " + config_.source + ")";
      }
      return makeError(ErrorKind::Tls, message);
    }
    case TransportError::Kind::Timeout:
      return makeError(ErrorKind::Timeout, server + " did not answer in time: " + error.message);
    case TransportError::Kind::Cancelled:
      return makeError(ErrorKind::Cancelled, "cancelled");
    case TransportError::Kind::Protocol:
      return makeError(ErrorKind::Network,
                       server + " sent something that is not HTTP: " + error.message);
    case TransportError::Kind::Io:
      break;
  }
  return makeError(ErrorKind::Network, "connection to " + server + " failed: " + error.message);
}

Result<std::shared_ptr<Transport>> ClientImpl::transportFor(const Credentials& credentials) {
  std::pair<std::string, std::string> identity{credentials.clientCertPem.value_or(""),
                                               credentials.clientKeyPem.value_or("")};
  std::lock_guard lock(transportMutex_);
  if (transport_ && transportIdentity_ == identity) return transport_;
  TransportConfig transportConfig;
  transportConfig.server = origin_;
  if (!config_.caPem.empty()) transportConfig.tls.caPem = config_.caPem;
  transportConfig.tls.insecureSkipVerify = config_.insecureSkipTlsVerify;
  transportConfig.tls.serverName = config_.tlsServerName;
  transportConfig.tls.clientCertPem = credentials.clientCertPem;
  transportConfig.tls.clientKeyPem = credentials.clientKeyPem;
  transportConfig.userAgent = config_.userAgent;
  auto built = options_.transportFactory ? options_.transportFactory(transportConfig)
                                         : makeTransport(config_.transport, transportConfig);
  if (!built) {
    return std::unexpected(makeError(
        ErrorKind::Config, "TLS configuration of " + config_.source + ": " + built.error()));
  }
  transport_ = std::shared_ptr<Transport>(std::move(*built));
  transportIdentity_ = std::move(identity);
  return transport_;
}

Result<void> ClientImpl::prepare() {
  auto credentials = options_.credentials->credentials();
  if (!credentials) return std::unexpected(credentials.error());
  auto transport = transportFor(*credentials);
  if (!transport) return std::unexpected(transport.error());
  return {};
}

std::chrono::nanoseconds ClientImpl::backoff(int retry) {
  const auto& policy = options_.retry;
  double base = static_cast<double>(policy.initialBackoff.count()) * std::pow(2.0, retry);
  double capped = std::min(base, static_cast<double>(policy.maxBackoff.count()));
  double random = 0;
  if (options_.random) {
    random = options_.random();
  } else {
    std::lock_guard lock(randomMutex_);
    static std::mt19937_64 generator{std::random_device{}()};
    random = std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  }
  // Equal jitter: half the delay for sure, the other half at random.
  double millis = capped / 2 + capped / 2 * random;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::milli>(millis));
}

Result<TransportResponse> ClientImpl::execute(
    const Call& call, std::stop_token stop, const Perform& perform,
    std::optional<std::chrono::milliseconds> idleTimeout) {
  TransportRequest request;
  request.method = call.method;
  request.target = basePath_ + call.path + queryString(call.query);
  request.headers.add("Accept", "application/json");
  request.headers.add("User-Agent", config_.userAgent);
  if (!call.contentType.empty()) request.headers.add("Content-Type", call.contentType);
  request.body = call.body;
  request.timeout = config_.timeout;
  request.idleTimeout = idleTimeout;
  const auto& clock = options_.clock;
  auto cancelled = [&] {
    return std::unexpected(annotate(makeError(ErrorKind::Cancelled, "cancelled"), call));
  };

  bool refreshed = false;
  int retries = 0;
  while (true) {
    if (!options_.rateLimiter->acquire(stop)) return cancelled();
    auto credentials = options_.credentials->credentials();
    if (!credentials) return std::unexpected(annotate(credentials.error(), call));
    auto transport = transportFor(*credentials);
    if (!transport) return std::unexpected(annotate(transport.error(), call));
    TransportRequest attempt = request;
    if (!credentials->authorization.empty()) {
      attempt.headers.set("Authorization", credentials->authorization);
    }
    auto response = perform ? perform(**transport, attempt) : (*transport)->send(attempt);
    if (options_.onRequest) options_.onRequest(response ? response->status : 0, call.method, host_);
    if (!response) {
      const TransportError& failure = response.error();
      Error error = annotate(fromTransportError(failure), call);
      if (failure.kind == TransportError::Kind::Cancelled || stop.stop_requested()) {
        return cancelled();
      }
      // A certificate that did not verify will not verify next time either.
      const bool retry =
          failure.kind != TransportError::Kind::Tls && (!failure.requestSent || isGet(call.method));
      if (retry && retries < options_.retry.maxRetries) {
        if (!clock->sleepFor(backoff(retries++), stop)) return cancelled();
        continue;
      }
      return std::unexpected(error);
    }
    const int status = response->status;
    if (status >= 200 && status < 300) return std::move(*response);
    if (status == 401 && !refreshed &&
        options_.credentials->refreshAfterUnauthorized(*credentials)) {
      refreshed = true;
      continue;
    }
    Error error = annotate(errorFromResponse(status, response->headers, response->body), call);
    if (status == 401) {
      error.message += " (the server rejected the " + options_.credentials->describe() + " from " +
                       config_.source + ")";
    }
    const bool retryStatus =
        status == 429 || (isGet(call.method) && status >= 500 && status != 501);
    if (retryStatus && retries < options_.retry.maxRetries) {
      std::chrono::nanoseconds delay = backoff(retries);
      if (error.retryAfter) {
        // The server knows how long: wait exactly that, or hand it to the caller when too long.
        if (*error.retryAfter > options_.retry.maxRetryAfter) return std::unexpected(error);
        delay = *error.retryAfter;
      }
      ++retries;
      if (!clock->sleepFor(delay, stop)) return cancelled();
      continue;
    }
    return std::unexpected(error);
  }
}

Result<value> ClientImpl::decodeObject(const TransportResponse& response, const Call& call) const {
  auto parsed = common::parseJson(response.body);
  if (!parsed || !parsed->is_object()) {
    return std::unexpected(
        annotate(makeError(ErrorKind::Decode, "the server's answer is not a JSON object" +
                                                  (parsed ? std::string() : ": " + parsed.error())),
                 call));
  }
  return std::move(*parsed);
}

ClientImpl::Call ClientImpl::objectCall(std::string verb, std::string method,
                                        const ResourceRef& resource, const std::string& ns,
                                        const std::string& name, bool status) const {
  Call call;
  call.verb = std::move(verb);
  call.method = std::move(method);
  call.path = resourcePath(resource, ns, name, status);
  call.resource = resourceName(resource) + (status ? "/status" : "");
  call.ns = resource.namespaced ? ns : "";
  call.name = name;
  return call;
}

Result<value> ClientImpl::get(const ResourceRef& resource, const std::string& ns,
                              const std::string& name) {
  Call call = objectCall("get", "GET", resource, ns, name, false);
  auto response = execute(call);
  if (!response) return std::unexpected(response.error());
  return decodeObject(*response, call);
}

Result<ListResult> ClientImpl::list(const ResourceRef& resource, const std::string& ns,
                                    const ListOptions& options) {
  Call call = objectCall("list", "GET", resource, ns, "", false);
  if (!options.labelSelector.empty())
    call.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    call.query.emplace_back("fieldSelector", options.fieldSelector);
  if (options.limit > 0) call.query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continueToken.empty()) call.query.emplace_back("continue", options.continueToken);
  if (!options.resourceVersion.empty()) {
    call.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  auto response = execute(call);
  if (!response) return std::unexpected(response.error());
  auto object = decodeObject(*response, call);
  if (!object) return std::unexpected(object.error());
  ListResult result;
  if (object->has_field("items") && object->at("items").is_array()) {
    for (auto& item : object->at("items").as_array()) {
      value copy = item;
      // Items of lists of built-in kinds come without apiVersion and kind; callers compare them.
      if (copy.is_object() && !copy.has_field("kind") && !resource.kind.empty()) {
        copy["kind"] = value::string(resource.kind);
      }
      if (copy.is_object() && !copy.has_field("apiVersion")) {
        copy["apiVersion"] = value::string(resource.apiVersion());
      }
      result.items.push_back(std::move(copy));
    }
  } else if (!object->has_field("items") || !object->at("items").is_null()) {
    return std::unexpected(
        annotate(makeError(ErrorKind::Decode, "the server's list has no items array"), call));
  }
  if (object->has_field("metadata")) {
    const value& metadata = object->at("metadata");
    result.resourceVersion = jsonString(metadata, "resourceVersion");
    result.continueToken = jsonString(metadata, "continue");
    if (metadata.has_field("remainingItemCount") &&
        metadata.at("remainingItemCount").is_integer()) {
      result.remainingItemCount = metadata.at("remainingItemCount").as_number().to_int64();
    }
  }
  return result;
}

Result<value> ClientImpl::write(Call call, const value& object, const WriteOptions& options) {
  if (options.dryRun) call.query.emplace_back("dryRun", "All");
  const std::string& manager =
      options.fieldManager.empty() ? config_.fieldManager : options.fieldManager;
  if (!manager.empty()) call.query.emplace_back("fieldManager", manager);
  call.body = common::toJson(object);
  if (call.contentType.empty()) call.contentType = "application/json";
  auto response = execute(call);
  if (!response) return std::unexpected(response.error());
  return decodeObject(*response, call);
}

namespace {

std::string objectName(const value& object) {
  if (!object.is_object() || !object.has_field("metadata")) return "";
  return jsonString(object.at("metadata"), "name");
}

}  // namespace

Result<value> ClientImpl::create(const ResourceRef& resource, const std::string& ns,
                                 const value& object, const WriteOptions& options) {
  Call call = objectCall("create", "POST", resource, ns, "", false);
  call.name = objectName(object);
  return write(std::move(call), object, options);
}

Result<value> ClientImpl::update(const ResourceRef& resource, const std::string& ns,
                                 const value& object, const WriteOptions& options) {
  std::string name = objectName(object);
  Call call = objectCall("update", "PUT", resource, ns, name, false);
  if (name.empty()) {
    return std::unexpected(annotate(
        makeError(ErrorKind::BadRequest, "the object has no metadata.name to update"), call));
  }
  return write(std::move(call), object, options);
}

Result<value> ClientImpl::updateStatus(const ResourceRef& resource, const std::string& ns,
                                       const value& object, const WriteOptions& options) {
  std::string name = objectName(object);
  Call call = objectCall("update", "PUT", resource, ns, name, true);
  if (name.empty()) {
    return std::unexpected(annotate(
        makeError(ErrorKind::BadRequest, "the object has no metadata.name to update"), call));
  }
  return write(std::move(call), object, options);
}

Result<value> ClientImpl::patch(const ResourceRef& resource, const std::string& ns,
                                const std::string& name, PatchType type, const value& patch,
                                bool status, const WriteOptions& options) {
  Call call = objectCall("patch", "PATCH", resource, ns, name, status);
  call.contentType =
      type == PatchType::Merge ? "application/merge-patch+json" : "application/json-patch+json";
  return write(std::move(call), patch, options);
}

Result<std::optional<value>> ClientImpl::remove(const ResourceRef& resource, const std::string& ns,
                                                const std::string& name,
                                                const DeleteOptions& options) {
  Call call = objectCall("delete", "DELETE", resource, ns, name, false);
  value body = value::object();
  body["apiVersion"] = value::string("v1");
  body["kind"] = value::string("DeleteOptions");
  if (options.propagationPolicy) {
    body["propagationPolicy"] =
        value::string(std::string(propagationName(*options.propagationPolicy)));
  }
  if (!options.preconditionUid.empty() || !options.preconditionResourceVersion.empty()) {
    value preconditions = value::object();
    if (!options.preconditionUid.empty()) {
      preconditions["uid"] = value::string(options.preconditionUid);
    }
    if (!options.preconditionResourceVersion.empty()) {
      preconditions["resourceVersion"] = value::string(options.preconditionResourceVersion);
    }
    body["preconditions"] = preconditions;
  }
  if (options.dryRun) {
    body["dryRun"] = value::array({value::string("All")});
    call.query.emplace_back("dryRun", "All");
  }
  call.body = common::toJson(body);
  call.contentType = "application/json";
  auto response = execute(call);
  if (!response) return std::unexpected(response.error());
  auto object = decodeObject(*response, call);
  if (!object) return std::unexpected(object.error());
  if (jsonString(*object, "kind") == "Status") return std::optional<value>();
  return std::optional<value>(std::move(*object));
}

Result<void> ClientImpl::watch(const ResourceRef& resource, const std::string& ns,
                               const WatchOptions& options,
                               const std::function<bool(const WatchEvent&)>& onEvent,
                               std::stop_token stop) {
  Call call = objectCall("watch", "GET", resource, ns, "", false);
  call.query.emplace_back("watch", "true");
  if (!options.resourceVersion.empty()) {
    call.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  if (!options.labelSelector.empty())
    call.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    call.query.emplace_back("fieldSelector", options.fieldSelector);
  if (options.allowBookmarks) call.query.emplace_back("allowWatchBookmarks", "true");
  std::optional<std::chrono::milliseconds> idle;
  if (options.timeout) {
    call.query.emplace_back("timeoutSeconds", std::to_string(options.timeout->count()));
    // The server ends the watch after timeoutSeconds; silence well beyond that is a dead link.
    idle = std::chrono::duration_cast<std::chrono::milliseconds>(*options.timeout) +
           std::chrono::seconds(60);
  }

  // What happened once the server accepted the watch (status 200): how the stream ended.
  struct Outcome {
    bool streaming = false;
    bool stoppedByCaller = false;
    std::optional<Error> error;
  };
  Outcome outcome;
  ClientImpl::Perform perform =
      [&](Transport& transport,
          const TransportRequest& request) -> std::expected<TransportResponse, TransportError> {
    outcome = Outcome{};
    TransportResponse head;
    WatchDecoder decoder;
    auto end = transport.stream(
        request,
        [&](int status, const common::HttpHeaders& headers) {
          head.status = status;
          head.headers = headers;
          outcome.streaming = status == 200;
          return true;
        },
        [&](std::string_view data) {
          if (!outcome.streaming) {
            if (head.body.size() < 64 * 1024) head.body.append(data);
            return true;
          }
          auto fed = decoder.feed(data, [&](const WatchEvent& event) {
            if (onEvent(event)) return true;
            outcome.stoppedByCaller = true;
            return false;
          });
          if (!fed) {
            outcome.error = makeError(ErrorKind::Decode, "the watch stream held " + fed.error());
            return false;
          }
          return *fed;
        },
        stop);
    if (!end) {
      // Before the head: the transport failed and execute() may retry. After it: the stream
      // broke, which ends the watch (the caller re-watches from its last resourceVersion).
      if (!outcome.streaming) return std::unexpected(end.error());
      if (end.error().kind == TransportError::Kind::Cancelled) {
        outcome.error = makeError(ErrorKind::Cancelled, "cancelled");
      } else {
        outcome.error = fromTransportError(end.error());
        outcome.error->message = "the watch stream broke: " + outcome.error->message;
      }
      return head;
    }
    if (*end == StreamEnd::Cancelled) {
      return std::unexpected(TransportError{TransportError::Kind::Cancelled, "cancelled", true});
    }
    if (*end == StreamEnd::Completed && outcome.streaming && decoder.hasPartialEvent()) {
      outcome.error =
          makeError(ErrorKind::Network, "the watch stream ended in the middle of an event");
    }
    return head;
  };
  auto response = execute(call, stop, perform, idle);
  if (!response) return std::unexpected(response.error());
  if (outcome.error) {
    if (outcome.error->kind == ErrorKind::Cancelled || stop.stop_requested()) {
      return std::unexpected(annotate(makeError(ErrorKind::Cancelled, "cancelled"), call));
    }
    return std::unexpected(annotate(*outcome.error, call));
  }
  if (stop.stop_requested() && !outcome.stoppedByCaller) {
    return std::unexpected(annotate(makeError(ErrorKind::Cancelled, "cancelled"), call));
  }
  return {};
}

Result<std::unique_ptr<Client>> makeClient(const RestConfig& config, ClientOptions options) {
  auto fail = [&](const std::string& what) {
    return std::unexpected(
        makeError(ErrorKind::Config, config.source.empty() ? what : config.source + ": " + what));
  };
  auto url = common::parseHttpUrl(config.server);
  if (!url) return fail("server: " + url.error());
  if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
    return fail("insecure-skip-tls-verify cannot be combined with a certificate authority");
  }
  const bool ipv6 = url->host.find(':') != std::string::npos;
  std::string origin = url->scheme + "://" + (ipv6 ? "[" + url->host + "]" : url->host) + ":" +
                       std::to_string(url->port);
  std::string basePath = url->target;
  if (auto query = basePath.find('?'); query != std::string::npos) basePath.resize(query);
  while (!basePath.empty() && basePath.back() == '/') basePath.pop_back();

  auto client = std::make_unique<ClientImpl>(config, std::move(options), std::move(origin),
                                             std::move(basePath));
  // Build the transport now for static credentials, so that bad TLS material fails here.
  if (!config.exec) {
    if (auto ready = client->prepare(); !ready) return std::unexpected(ready.error());
  }
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace billing::kube
