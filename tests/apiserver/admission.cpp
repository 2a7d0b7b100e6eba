// kube-apiserver's MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins
// (k8s.io/apiserver v0.32, pkg/admission/plugin/webhook): which webhooks a request reaches
// (predicates/rules, predicates/namespace, predicates/object), how the AdmissionReview is built and
// its answer checked (request/admissionreview.go), how a mutating webhook's patch is applied and
// when it is called again (mutating/dispatcher.go, mutating/reinvocationcontext.go), and how a
// denial or a failed call is worded (errors/statuserror.go, validating/dispatcher.go, util/webhook
// ErrCallingWebhook, client-go's rest client for HTTP-level failures and Go's net/http for
// transport ones).
#include "tests/apiserver/admission.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <expected>
#include <random>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http_client.h"
#include "common/json.h"
#include "common/tls.h"
#include "tests/apiserver/go_text.h"
#include "tests/apiserver/patch.h"
#include "tests/apiserver/selectors.h"

namespace billing::apiserver {
namespace {

using web::json::value;

const std::string kValidatingConfigurations =
    "validatingwebhookconfigurations.admissionregistration.k8s.io";
const std::string kMutatingConfigurations =
    "mutatingwebhookconfigurations.admissionregistration.k8s.io";
constexpr int kDefaultTimeoutSeconds = 10;  // admissionregistration/v1 default
constexpr int kMaxTimeoutSeconds = 30;      // admissionregistration/v1 validation bound
// kube-apiserver labels every namespace with its own name (since v1.21); webhooks commonly select
// on it ("kubernetes.io/metadata.name notin (kube-system)").
const std::string kNamespaceNameLabel = "kubernetes.io/metadata.name";

// ---- JSON access that never throws ----------------------------------------------------------

const value* field(const value& object, const std::string& key) {
  if (!object.is_object()) return nullptr;
  const auto& members = object.as_object();
  auto found = members.find(key);
  if (found == members.end() || found->second.is_null()) return nullptr;
  return &found->second;
}

std::string stringField(const value& object, const std::string& key) {
  const value* member = field(object, key);
  return member != nullptr && member->is_string() ? member->as_string() : std::string();
}

std::vector<std::string> stringsField(const value& object, const std::string& key) {
  std::vector<std::string> strings;
  const value* member = field(object, key);
  if (member == nullptr || !member->is_array()) return strings;
  for (const value& item : member->as_array()) {
    if (item.is_string()) strings.push_back(item.as_string());
  }
  return strings;
}

std::optional<int> intField(const value& object, const std::string& key) {
  const value* member = field(object, key);
  if (member == nullptr || !member->is_number() || !member->as_number().is_int32()) {
    return std::nullopt;
  }
  return member->as_number().to_int32();
}

// ---- Which webhooks a request reaches ---------------------------------------------------------

// rules.IsExemptAdmissionConfigurationResource: webhooks never see the objects that configure
// admission, so a broken webhook cannot lock itself in.
bool isExemptConfigurationResource(const ResourceType& type) {
  return type.group == "admissionregistration.k8s.io" &&
         (type.kind == "ValidatingWebhookConfiguration" ||
          type.kind == "MutatingWebhookConfiguration" || type.kind == "ValidatingAdmissionPolicy" ||
          type.kind == "ValidatingAdmissionPolicyBinding");
}

bool isNamespaceResource(const ResourceType& type) {
  return type.group.empty() && type.version == "v1" && type.plural == "namespaces";
}

// kube-apiserver's admission attributes carry a Namespace object's own name as the namespace on
// every request but its creation (the path /api/v1/namespaces/<name> reads as that namespace).
std::string requestNamespace(const AdmissionAttributes& attributes) {
  if (isNamespaceResource(attributes.type) && attributes.ns.empty() &&
      attributes.operation != "CREATE") {
    return attributes.name;
  }
  return attributes.ns;
}

bool exactOrWildcard(const std::vector<std::string>& items, const std::string& requested) {
  return std::ranges::any_of(
      items, [&](const std::string& item) { return item == "*" || item == requested; });
}

bool scopeMatches(const value& rule, const AdmissionAttributes& attributes, const std::string& ns) {
  const std::string scope = stringField(rule, "scope");
  if (scope.empty() || scope == "*") return true;
  const bool namespaceObject = isNamespaceResource(attributes.type);
  if (scope == "Namespaced") return !namespaceObject && !ns.empty();
  if (scope == "Cluster") return namespaceObject || ns.empty();
  return false;
}

// "billinggroups", "billinggroups/status", "*", "*/status", "billinggroups/*", "*/*".
bool resourceMatches(const std::vector<std::string>& resources, const std::string& resource,
                     const std::string& subresource) {
  for (const std::string& entry : resources) {
    const auto slash = entry.find('/');
    const std::string name = entry.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : entry.substr(slash + 1);
    if ((name == "*" || name == resource) && (sub == "*" || sub == subresource)) return true;
  }
  return false;
}

// rules.Matcher.Matches. matchPolicy Equivalent would also match the same resource requested
// through another group or version (converted to the rule's version); every resource here is
// served in one version, so an exact match is what Equivalent amounts to.
bool ruleMatches(const value& rule, const AdmissionAttributes& attributes, const std::string& ns) {
  return scopeMatches(rule, attributes, ns) &&
         exactOrWildcard(stringsField(rule, "operations"), attributes.operation) &&
         exactOrWildcard(stringsField(rule, "apiGroups"), attributes.type.group) &&
         exactOrWildcard(stringsField(rule, "apiVersions"), attributes.type.version) &&
         resourceMatches(stringsField(rule, "resources"), attributes.type.plural,
                         attributes.subresource);
}

// A missing selector is what the API server defaults it to: {}, everything.
std::expected<Selector, std::string> webhookSelector(const value& webhook, const std::string& key) {
  const value* selector = field(webhook, key);
  if (selector == nullptr) return Selector::everything();
  return selectorFromLabelSelector(*selector);
}

std::string objectName(const value& object) {
  const value* metadata = field(object, "metadata");
  return metadata != nullptr ? stringField(*metadata, "name") : std::string();
}

std::map<std::string, std::string> namespaceLabels(const value& ns, const std::string& name) {
  auto labels = labelsOf(ns);
  labels[kNamespaceNameLabel] = name;
  return labels;
}

// predicates/namespace Matcher.MatchNamespaceSelector: cluster-scoped objects other than
// Namespaces always match; a Namespace being created or updated is judged by its own labels;
// everything else by the labels of the namespace it lives in, which must exist (404 otherwise).
std::expected<bool, ApiError> namespaceSelectorMatches(const value& webhook,
                                                       const AdmissionAttributes& attributes,
                                                       const std::string& ns,
                                                       const ObjectStore& store) {
  if (ns.empty() && attributes.type.plural != "namespaces") return true;
  auto selector = webhookSelector(webhook, "namespaceSelector");
  if (!selector) return std::unexpected(internalError(selector.error()));
  if (selector->empty()) return true;
  if (attributes.type.plural == "namespaces" && attributes.subresource.empty() &&
      (attributes.operation == "CREATE" || attributes.operation == "UPDATE")) {
    std::string name = objectName(attributes.object);
    if (name.empty()) name = attributes.name;
    return matches(*selector, namespaceLabels(attributes.object, name));
  }
  auto stored = store.get("namespaces", "", ns);
  if (!stored) return std::unexpected(namespaceNotFound(ns));
  return matches(*selector, namespaceLabels(*stored, ns));
}

// predicates/object Matcher.MatchObjectSelector: the new or the old object may match.
std::expected<bool, ApiError> objectSelectorMatches(const value& webhook,
                                                    const AdmissionAttributes& attributes) {
  auto selector = webhookSelector(webhook, "objectSelector");
  if (!selector) return std::unexpected(internalError(selector.error()));
  if (selector->empty()) return true;
  auto objectMatches = [&](const value& object) {
    return object.is_object() && matches(*selector, labelsOf(object));
  };
  return objectMatches(attributes.object) || objectMatches(attributes.oldObject);
}

// generic.Webhook.ShouldCallHook: selector errors only count for webhooks whose rules match.
std::expected<bool, ApiError> shouldCall(const value& webhook,
                                         const AdmissionAttributes& attributes,
                                         const std::string& ns, const ObjectStore& store) {
  auto namespaceMatch = namespaceSelectorMatches(webhook, attributes, ns, store);
  if (namespaceMatch && !*namespaceMatch) return false;
  auto objectMatch = objectSelectorMatches(webhook, attributes);
  if (objectMatch && !*objectMatch) return false;
  const value* rules = field(webhook, "rules");
  const bool ruleMatch = rules != nullptr && rules->is_array() &&
                         std::ranges::any_of(rules->as_array(), [&](const value& rule) {
                           return ruleMatches(rule, attributes, ns);
                         });
  if (!ruleMatch) return false;
  if (!namespaceMatch) return std::unexpected(namespaceMatch.error());
  if (!objectMatch) return std::unexpected(objectMatch.error());
  return true;
}

// ---- The AdmissionReview ---------------------------------------------------------------------

std::string newRequestUid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uint64_t high = generator();
  std::uint64_t low = generator();
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xFFFFULL),
                static_cast<unsigned long long>(high & 0xFFFFULL),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return text;
}

value groupVersionKind(const ResourceType& type) {
  value gvk = value::object(true);
  gvk["group"] = value::string(type.group);
  gvk["version"] = value::string(type.version);
  gvk["kind"] = value::string(type.kind);
  return gvk;
}

value groupVersionResource(const ResourceType& type) {
  value gvr = value::object(true);
  gvr["group"] = value::string(type.group);
  gvr["version"] = value::string(type.version);
  gvr["resource"] = value::string(type.plural);
  return gvr;
}

// CreateOptions, UpdateOptions or DeleteOptions with their TypeMeta first, as kube encodes them.
value operationOptions(const AdmissionAttributes& attributes) {
  std::string kind = "CreateOptions";
  if (attributes.operation == "UPDATE") kind = "UpdateOptions";
  if (attributes.operation == "DELETE") kind = "DeleteOptions";
  value options = value::object(true);
  options["kind"] = value::string(kind);
  options["apiVersion"] = value::string("meta.k8s.io/v1");
  if (attributes.options.is_object()) {
    for (const auto& [key, member] : attributes.options.as_object()) {
      if (key != "kind" && key != "apiVersion") options[key] = member;
    }
  }
  if (attributes.dryRun && field(options, "dryRun") == nullptr) {
    value all = value::array(1);
    all[0] = value::string("All");
    options["dryRun"] = all;
  }
  return options;
}

// request.CreateV1AdmissionReview, field for field and in Go's encoding order. object and
// oldObject are runtime.RawExtensions, which encode as null when absent (CREATE has no
// oldObject, DELETE no object); the empty userInfo.extra is omitted.
value admissionReview(const std::string& apiVersion, const std::string& uid,
                      const AdmissionAttributes& attributes, const std::string& ns) {
  value request = value::object(true);
  request["uid"] = value::string(uid);
  request["kind"] = groupVersionKind(attributes.type);
  request["resource"] = groupVersionResource(attributes.type);
  if (!attributes.subresource.empty()) {
    request["subResource"] = value::string(attributes.subresource);
  }
  request["requestKind"] = groupVersionKind(attributes.type);
  request["requestResource"] = groupVersionResource(attributes.type);
  if (!attributes.subresource.empty()) {
    request["requestSubResource"] = value::string(attributes.subresource);
  }
  if (!attributes.name.empty()) request["name"] = value::string(attributes.name);
  if (!ns.empty()) request["namespace"] = value::string(ns);
  request["operation"] = value::string(attributes.operation);
  value userInfo = value::object(true);
  if (!attributes.user.name.empty()) userInfo["username"] = value::string(attributes.user.name);
  if (!attributes.user.uid.empty()) userInfo["uid"] = value::string(attributes.user.uid);
  if (!attributes.user.groups.empty()) {
    value groups = value::array(attributes.user.groups.size());
    for (std::size_t i = 0; i < attributes.user.groups.size(); ++i) {
      groups[i] = value::string(attributes.user.groups[i]);
    }
    userInfo["groups"] = groups;
  }
  request["userInfo"] = userInfo;
  request["object"] = attributes.object;
  request["oldObject"] = attributes.oldObject;
  request["dryRun"] = value::boolean(attributes.dryRun);
  request["options"] = operationOptions(attributes);

  value review = value::object(true);
  review["kind"] = value::string("AdmissionReview");
  review["apiVersion"] = value::string(apiVersion);
  review["request"] = request;
  return review;
}

// ---- Where the webhook is ---------------------------------------------------------------------

struct Endpoint {
  std::string url;         // as kube-apiserver names it in errors, "?timeout=10s" included
  std::string connectUrl;  // where the request actually goes
  std::string hostHeader;  // empty: from connectUrl
  std::string serverName;  // TLS SNI and the name the certificate must carry; empty: URL host
  std::optional<std::string> caPem;
  // A Service clientConfig: resolved through serviceEndpoints when the request is made.
  std::string serviceNamespace;
  std::string serviceName;
  int servicePort = 0;
};

// path.Join("/", p) as the rest client builds its request path: cleaned, rooted, no trailing
// slash ("" -> "/", "/validate/" -> "/validate", "a//b/../c" -> "/a/c").
std::string cleanPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string segment(path.substr(start, end - start));
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(std::move(segment));
    }
    start = end + 1;
  }
  std::string cleaned;
  for (const std::string& segment : segments) cleaned += "/" + segment;
  return cleaned.empty() ? "/" : cleaned;
}

// The ErrCallingWebhook reason for a clientConfig the REST client cannot be built from.
std::unexpected<std::string> clientError(const std::string& why) {
  return std::unexpected("could not get REST client: " + why);
}

std::expected<Endpoint, std::string> endpointFor(const value& clientConfig, int timeoutSeconds) {
  Endpoint endpoint;
  const std::string timeoutQuery = "?timeout=" + std::to_string(timeoutSeconds) + "s";
  if (const value* bundle = field(clientConfig, "caBundle");
      bundle != nullptr && bundle->is_string() && !bundle->as_string().empty()) {
    auto pem = common::base64Decode(bundle->as_string());
    if (!pem) return clientError("illegal base64 data in caBundle: " + pem.error());
    if (!common::validateCertificatePem(*pem)) {
      return clientError("unable to load root certificates: unable to parse bytes as PEM block");
    }
    endpoint.caPem = std::move(*pem);
  }

  if (const value* service = field(clientConfig, "service"); service != nullptr) {
    endpoint.serviceNamespace = stringField(*service, "namespace");
    endpoint.serviceName = stringField(*service, "name");
    endpoint.servicePort = intField(*service, "port").value_or(443);
    const std::string serverName = endpoint.serviceName + "." + endpoint.serviceNamespace + ".svc";
    const std::string host = serverName + ":" + std::to_string(endpoint.servicePort);
    const std::string target = cleanPath(stringField(*service, "path")) + timeoutQuery;
    endpoint.url = "https://" + host + target;
    endpoint.connectUrl = target;  // completed once the Service is resolved
    endpoint.hostHeader = host;
    endpoint.serverName = serverName;
    return endpoint;
  }

  const std::string url = stringField(clientConfig, "url");
  if (url.empty()) return clientError("webhook clientConfig has neither url nor service");
  const auto schemeEnd = url.find("://");
  if (schemeEnd == std::string::npos ||
      !common::equalsIgnoreCase(url.substr(0, schemeEnd), "https")) {
    return clientError("webhook url must use the https scheme: " + url);
  }
  const auto authorityEnd = url.find_first_of("/?#", schemeEnd + 3);
  const std::string authority = url.substr(schemeEnd + 3, authorityEnd - (schemeEnd + 3));
  std::string_view path;
  if (authorityEnd != std::string::npos && url[authorityEnd] == '/') {
    path = std::string_view(url).substr(authorityEnd);
    path = path.substr(0, path.find_first_of("?#"));
  }
  endpoint.url = "https://" + authority + cleanPath(path) + timeoutQuery;
  if (auto parsed = common::parseHttpUrl(endpoint.url); !parsed) return clientError(parsed.error());
  endpoint.connectUrl = endpoint.url;
  return endpoint;
}

// The Service's local port, or why kube-apiserver's cluster-IP service resolver (or the dial to
// the cluster IP it returned) would fail: the error Go's transport then reports after
// `Post "<url>": `.
std::expected<std::uint16_t, std::string> resolveService(
    const Endpoint& endpoint, const ObjectStore& store,
    const std::map<std::string, std::uint16_t>& serviceEndpoints) {
  const std::string key = endpoint.serviceNamespace + "/" + endpoint.serviceName + ":" +
                          std::to_string(endpoint.servicePort);
  if (auto found = serviceEndpoints.find(key); found != serviceEndpoints.end()) {
    return found->second;
  }
  auto service = store.get("services", endpoint.serviceNamespace, endpoint.serviceName);
  if (!service)
    return std::unexpected("service " + gotext::quote(endpoint.serviceName) + " not found");
  const value* spec = field(*service, "spec");
  const value* ports = spec != nullptr ? field(*spec, "ports") : nullptr;
  const bool hasPort = ports != nullptr && ports->is_array() &&
                       std::ranges::any_of(ports->as_array(), [&](const value& port) {
                         return intField(port, "port") == endpoint.servicePort;
                       });
  if (!hasPort) {
    return std::unexpected("no service port " + std::to_string(endpoint.servicePort) +
                           " found for service " + gotext::quote(endpoint.serviceName));
  }
  std::string clusterIp = spec != nullptr ? stringField(*spec, "clusterIP") : "";
  if (clusterIp == "None")
    return std::unexpected("cannot route to service with ClusterIP \"None\"");
  if (clusterIp.empty()) clusterIp = endpoint.serverName;
  // A Service without a local endpoint behaves like one without ready pods: kube-proxy rejects
  // connections to its cluster IP.
  return std::unexpected("dial tcp " + clusterIp + ":" + std::to_string(endpoint.servicePort) +
                         ": connect: connection refused");
}

// ---- Calling it -------------------------------------------------------------------------------

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Our HTTP client's description of a failed call, as Go's net/http and crypto/tls describe the
// same failure (the text after `Post "<url>": `).
std::string goTransportError(std::string_view cause) {
  constexpr std::string_view kConnect = "connect to ";
  constexpr std::string_view kTimeout = "timeout after ";
  constexpr std::string_view kConnecting = " connecting to ";
  constexpr std::string_view kHandshake = "TLS handshake with ";
  constexpr std::string_view kVerify = "certificate verify failed: ";
  if (startsWith(cause, kConnect)) {
    const auto colon = cause.find(": ", kConnect.size());
    if (colon != std::string_view::npos) {
      return "dial tcp " + std::string(cause.substr(kConnect.size(), colon - kConnect.size())) +
             ": connect: " + std::string(cause.substr(colon + 2));
    }
  }
  if (startsWith(cause, kTimeout)) {
    // The context deadline: while dialling Go reports the dial's own timeout.
    if (const auto at = cause.find(kConnecting); at != std::string_view::npos) {
      return "dial tcp " + std::string(cause.substr(at + kConnecting.size())) + ": i/o timeout";
    }
    return "context deadline exceeded";
  }
  if (startsWith(cause, kHandshake)) {
    if (const auto at = cause.find(kVerify); at != std::string_view::npos) {
      const std::string_view reason = cause.substr(at + kVerify.size());
      std::string x509;
      if (reason == "unable to get local issuer certificate" ||
          reason == "unable to get issuer certificate" ||
          reason == "self-signed certificate in certificate chain" ||
          reason == "self signed certificate in certificate chain" ||
          reason == "self-signed certificate" || reason == "self signed certificate" ||
          reason == "unable to verify the first certificate") {
        x509 = "certificate signed by unknown authority";
      } else if (reason == "certificate has expired" || reason == "certificate is not yet valid") {
        x509 = "certificate has expired or is not yet valid";
      } else {
        // Go names the certificate's valid names for a name mismatch; OpenSSL does not tell us.
        x509 = std::string(reason);
      }
      return "tls: failed to verify certificate: x509: " + x509;
    }
  }
  if (cause == "the server closed the connection without a response") return "EOF";
  return std::string(cause);
}

std::string lowerAscii(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string trimSpace(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// client-go's rest client on a status outside 200-206: the Status the body carries, if it is
// one; else errors.NewGenericServerResponse over the body (text bodies only, 2 KiB at most).
std::string unexpectedStatusError(const common::HttpClientResponse& response) {
  if (auto body = common::parseJson(response.body); body && body->is_object()) {
    const std::string apiVersion = stringField(*body, "apiVersion");
    if (stringField(*body, "kind") == "Status" && (apiVersion.empty() || apiVersion == "v1") &&
        stringField(*body, "status") == "Failure") {
      return stringField(*body, "message");
    }
  }
  const auto contentType = response.headers.get("Content-Type");
  const std::string media =
      contentType ? lowerAscii(trimSpace(contentType->substr(0, contentType->find(';')))) : "";
  const bool text = !contentType || startsWith(media, "text/");
  const std::string serverMessage =
      text ? trimSpace(std::string_view(response.body).substr(0, 2048)) : "unknown";
  switch (response.status) {
    case 400:
      return "the server rejected our request for an unknown reason";
    case 401:
      return "the server has asked for the client to provide credentials";
    case 403:
    case 415:
      return serverMessage;
    case 404:
      return "the server could not find the requested resource";
    case 405:
      return "the server does not allow this method on the requested resource";
    case 406:
      return serverMessage.empty() || serverMessage == "unknown"
                 ? "the server was unable to respond with a content type that the client supports"
                 : serverMessage;
    case 409:
      return "the server reported a conflict";
    case 422:
      return "the server rejected our request due to an error in our request";
    case 429:
      return "the server has received too many requests and has asked us to try again later";
    case 503:
      return "the server is currently unable to handle the request";
    case 504:
      return "the server was unable to return a response in the time allotted, but may still be "
             "processing the request";
    default:
      if (response.status >= 500) {
        return "an error on the server (" + gotext::quote(serverMessage) +
               ") has prevented the request from succeeding";
      }
      return "the server responded with the status code " + std::to_string(response.status) +
             " but did not return more information";
  }
}

// encoding/json's UnmarshalTypeError for a field of the AdmissionReview.
std::string typeError(const value& got, const std::string& structName, const std::string& path,
                      const std::string& goType) {
  return "json: cannot unmarshal " + std::string(gotext::jsonKind(got)) + " into Go struct field " +
         structName + "." + path + " of type " + goType;
}

// errors.ToStatusErr: the webhook's own Status, made a failure of at least 400, its message
// prefixed with the webhook's name.
ApiError rejection(const std::string& webhookName, const value* result) {
  const value empty = value::object();
  const value& status = result != nullptr && result->is_object() ? *result : empty;
  int code = intField(status, "code").value_or(0);
  if (code < 400) code = 400;
  std::string outcome = stringField(status, "status");
  if (outcome.empty() || outcome == "Success") outcome = "Failure";
  const std::string deniedBy =
      "admission webhook " + gotext::quote(webhookName) + " denied the request";
  const std::string message = stringField(status, "message");
  const std::string reason = stringField(status, "reason");
  std::string text = deniedBy + " without explanation";
  if (!message.empty()) {
    text = deniedBy + ": " + message;
  } else if (!reason.empty()) {
    text = deniedBy + ": " + reason;
  }

  value body = value::object(true);
  body["kind"] = value::string("Status");
  body["apiVersion"] = value::string("v1");
  body["metadata"] = value::object();
  body["status"] = value::string(outcome);
  body["message"] = value::string(text);
  if (!reason.empty()) body["reason"] = value::string(reason);
  if (const value* details = field(status, "details"); details != nullptr) {
    body["details"] = *details;
  }
  body["code"] = value::number(code);
  return {code, body};
}

// Go's base64.StdEncoding.Decode as encoding/json runs it on a []byte field (response.patch):
// the bytes, or Go's "illegal base64 data at input byte N". Go skips CR and LF; N is the offset of
// the first character outside the alphabet, or of the quantum that is cut short or badly padded.
std::expected<std::string, std::string> goBase64Decode(std::string_view text) {
  auto corrupt = [](std::size_t offset) {
    return std::unexpected("illegal base64 data at input byte " + std::to_string(offset));
  };
  std::size_t quantumStart = 0;
  std::size_t inQuantum = 0;  // characters of the current quantum read so far
  std::size_t padding = 0;    // '=' in the current quantum
  bool ended = false;         // a padded quantum ends the data
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') continue;
    if (ended) return corrupt(i);
    if (inQuantum == 0) quantumStart = i;
    if (c == '=') {
      if (inQuantum < 2) return corrupt(i);
      ++padding;
    } else {
      const bool alphabet =
          std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
      if (!alphabet || padding > 0) return corrupt(i);
    }
    inQuantum = (inQuantum + 1) % 4;
    if (inQuantum == 0 && padding > 0) ended = true;
  }
  if (inQuantum != 0) return corrupt(quantumStart);
  auto decoded = common::base64Decode(text);
  if (!decoded) return corrupt(0);
  return decoded;
}

// What a webhook answered: nullopt (allowed) or the refusal, and a mutating webhook's patch.
struct HookAnswer {
  std::optional<ApiError> refusal;
  std::optional<std::string> patch;  // response.patch, base64-decoded
  std::string patchType;             // normalized to v1's, as VerifyAdmissionResponse does
};

// What calling one webhook came to; the error side is kube's ErrCallingWebhook reason, which
// failurePolicy decides about.
using HookOutcome = std::expected<HookAnswer, std::string>;

// The call shared by validatingDispatcher.callHook and mutatingDispatcher.callAttrMutatingHook, up
// to the verified answer.
HookOutcome callWebhook(const value& webhook, const AdmissionAttributes& attributes,
                        const std::string& ns, const ObjectStore& store,
                        const std::map<std::string, std::uint16_t>& serviceEndpoints,
                        std::vector<std::string>& warnings, bool mutating) {
  const std::string name = stringField(webhook, "name");
  if (attributes.dryRun) {
    const value* sideEffects = field(webhook, "sideEffects");
    if (sideEffects == nullptr) return std::unexpected("Webhook SideEffects is nil");
    const std::string declared = sideEffects->is_string() ? sideEffects->as_string() : "";
    if (declared != "None" && declared != "NoneOnDryRun") {
      return HookAnswer{
          badRequest("admission webhook " + gotext::quote(name) + " does not support dry run"),
          std::nullopt, ""};
    }
  }

  // The first AdmissionReview version the webhook accepts that kube-apiserver speaks.
  std::string reviewVersion;
  for (const std::string& version : stringsField(webhook, "admissionReviewVersions")) {
    if (version == "v1" || version == "v1beta1") {
      reviewVersion = version;
      break;
    }
  }
  if (reviewVersion.empty()) {
    return std::unexpected(
        "could not create admission objects: webhook does not accept known AdmissionReview "
        "versions (v1, v1beta1)");
  }
  const std::string reviewApiVersion = "admission.k8s.io/" + reviewVersion;

  const int timeoutSeconds = std::clamp(
      intField(webhook, "timeoutSeconds").value_or(kDefaultTimeoutSeconds), 1, kMaxTimeoutSeconds);
  const value* clientConfig = field(webhook, "clientConfig");
  auto endpoint =
      endpointFor(clientConfig != nullptr ? *clientConfig : value::object(), timeoutSeconds);
  if (!endpoint) return std::unexpected(endpoint.error());
  const std::string failedCall =
      "failed to call webhook: Post " + gotext::quote(endpoint->url) + ": ";
  if (!endpoint->serviceName.empty()) {
    auto port = resolveService(*endpoint, store, serviceEndpoints);
    if (!port) return std::unexpected(failedCall + port.error());
    endpoint->connectUrl = "https://127.0.0.1:" + std::to_string(*port) + endpoint->connectUrl;
  }

  const std::string uid = newRequestUid();
  const std::string body = common::toJson(admissionReview(reviewApiVersion, uid, attributes, ns));

  common::HttpClientOptions options;
  common::TlsClientConfig tls;
  tls.caPem = endpoint->caPem;
  tls.serverName = endpoint->serverName;
  options.tls = tls;
  options.connectTimeout = std::chrono::seconds(timeoutSeconds);
  options.requestTimeout = std::chrono::seconds(timeoutSeconds);
  options.userAgent = "kube-apiserver-admission";
  common::HttpHeaders headers{{"Content-Type", "application/json"},
                              {"Accept", "application/json, */*"}};
  if (!endpoint->hostHeader.empty()) headers.set("Host", endpoint->hostHeader);
  auto response = common::HttpClient(options).request("POST", endpoint->connectUrl, headers, body);
  if (!response) {
    std::string_view cause = response.error();
    const std::string prefix = "POST " + endpoint->connectUrl + ": ";
    if (startsWith(cause, prefix)) cause.remove_prefix(prefix.size());
    return std::unexpected(failedCall + goTransportError(cause));
  }

  // rest.Result.Into(&AdmissionReview{}).
  if (response->status < 200 || response->status > 206) {
    return std::unexpected("failed to call webhook: " + unexpectedStatusError(*response));
  }
  if (response->body.empty()) {
    return std::unexpected("failed to call webhook: 0-length response with status code: " +
                           std::to_string(response->status) + " and content type: " +
                           response->headers.get("Content-Type").value_or("application/json"));
  }
  auto review = common::parseJson(response->body);
  if (!review) {
    return std::unexpected("failed to call webhook: couldn't get version/kind; json parse error: " +
                           review.error());
  }
  if (!review->is_object()) {
    return std::unexpected(
        "failed to call webhook: couldn't get version/kind; json parse error: json: cannot "
        "unmarshal " +
        std::string(gotext::jsonKind(*review)) +
        " into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
        "Kind string \"json:\\\"kind,omitempty\\\"\" }");
  }

  // request.VerifyAdmissionResponse.
  const std::string invalid = "received invalid webhook response: ";
  const value* answer = field(*review, "response");
  if (answer == nullptr) return std::unexpected(invalid + "webhook response was absent");
  if (!answer->is_object()) {
    return std::unexpected(
        "failed to call webhook: " +
        typeError(*answer, "AdmissionReview", "response", reviewVersion + ".AdmissionResponse"));
  }
  const std::string patchGoType = reviewVersion == "v1" ? "v1.PatchType" : "v1beta1.PatchType";
  for (const auto& [key, goType] : {std::pair<std::string, std::string>{"uid", "types.UID"},
                                    {"allowed", "bool"},
                                    {"warnings", "[]string"},
                                    {"status", "v1.Status"},
                                    {"patch", "[]uint8"},
                                    {"patchType", patchGoType}}) {
    const value* member = field(*answer, key);
    if (member == nullptr) continue;
    const bool fits = (goType == "types.UID" && member->is_string()) ||
                      (goType == "bool" && member->is_boolean()) ||
                      (goType == "[]string" && member->is_array()) ||
                      (goType == "v1.Status" && member->is_object()) ||
                      (goType == "[]uint8" && member->is_string()) ||
                      (goType == patchGoType && member->is_string());
    if (!fits) {
      return std::unexpected("failed to call webhook: " +
                             typeError(*member, "AdmissionResponse", "response." + key, goType));
    }
  }
  // encoding/json decodes response.patch from base64 while reading the answer.
  std::string patch;
  if (const value* encoded = field(*answer, "patch"); encoded != nullptr) {
    auto decoded = goBase64Decode(encoded->as_string());
    if (!decoded) return std::unexpected("failed to call webhook: " + decoded.error());
    patch = std::move(*decoded);
  }
  const value* patchType = field(*answer, "patchType");
  std::string patchTypeText;
  if (reviewVersion == "v1") {
    const std::string answeredUid = stringField(*answer, "uid");
    if (answeredUid != uid) {
      return std::unexpected(invalid + "expected response.uid=" + gotext::quote(uid) + ", got " +
                             gotext::quote(answeredUid));
    }
    const std::string apiVersion = stringField(*review, "apiVersion");
    const auto slash = apiVersion.find('/');
    const std::string group = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
    const std::string version =
        slash == std::string::npos ? apiVersion : apiVersion.substr(slash + 1);
    const std::string kind = stringField(*review, "kind");
    if (group != "admission.k8s.io" || version != "v1" || kind != "AdmissionReview") {
      return std::unexpected(invalid +
                             "expected webhook response of admission.k8s.io/v1, "
                             "Kind=AdmissionReview, got " +
                             group + "/" + version + ", Kind=" + kind);
    }
    if (mutating) {
      if (!patch.empty() && patchType == nullptr) {
        return std::unexpected(invalid +
                               "webhook returned response.patch but not response.patchType");
      }
      if (patch.empty() && patchType != nullptr) {
        return std::unexpected(invalid +
                               "webhook returned response.patchType but not response.patch");
      }
      if (patchType != nullptr) {
        patchTypeText = patchType->as_string();
        if (patchTypeText.empty()) {
          return std::unexpected(invalid + "webhook returned invalid response.patchType of \"\"");
        }
      }
    } else {
      if (!patch.empty()) {
        return std::unexpected(invalid + "validating webhook may not return response.patch");
      }
      if (patchType != nullptr) {
        return std::unexpected(invalid + "validating webhook may not return response.patchType");
      }
    }
  } else if (mutating && !patch.empty()) {
    // v1beta1 answers were never checked for a patch type: kube pins the only one it applies.
    patchTypeText = "JSONPatch";
  }

  for (const std::string& warning : stringsField(*answer, "warnings")) warnings.push_back(warning);
  HookAnswer result;
  const value* allowed = field(*answer, "allowed");
  if (allowed == nullptr || !allowed->as_bool()) {
    result.refusal = rejection(name, field(*answer, "status"));
    return result;
  }
  if (mutating && !patch.empty()) {
    result.patch = std::move(patch);
    result.patchType = std::move(patchTypeText);
  }
  return result;
}

// What calling one mutating webhook came to: nullopt (go on) or the error that ends the request;
// the error side is an ErrCallingWebhook reason, which failurePolicy decides about.
using CallOutcome = std::expected<std::optional<ApiError>, std::string>;

// mutatingDispatcher.callAttrMutatingHook after the call: the patch decoded as evanphx's
// DecodePatch does, applied to the object the webhook saw, and the result re-decoded. `changed`
// says whether the patch changed the object (before re-decoding, as kube compares).
CallOutcome applyMutation(const std::string& name, HookAnswer answer,
                          AdmissionAttributes& attributes, const ObjectNormalizer& normalize,
                          bool& changed) {
  changed = false;
  if (answer.refusal) return std::move(answer.refusal);
  if (!answer.patch) return std::optional<ApiError>();
  const std::string undecodable = "received undecodable patch in webhook response: ";
  auto operations = common::parseJson(*answer.patch);
  if (!operations) return std::unexpected(undecodable + operations.error());
  if (!operations->is_array()) {
    return std::unexpected(undecodable + "json: cannot unmarshal " +
                           std::string(gotext::jsonKind(*operations)) +
                           " into Go value of type jsonpatch.Patch");
  }
  for (const value& operation : operations->as_array()) {
    if (!operation.is_object()) {
      return std::unexpected(undecodable + "json: cannot unmarshal " +
                             std::string(gotext::jsonKind(operation)) +
                             " into Go value of type jsonpatch.Operation");
    }
  }
  if (operations->as_array().size() == 0) return std::optional<ApiError>();
  if (attributes.object.is_null()) {
    return std::optional<ApiError>(internalError(
        "admission webhook " + gotext::quote(name) +
        " attempted to modify the object, which is not supported for this operation"));
  }
  if (answer.patchType != "JSONPatch") {
    return std::unexpected("unsupported patch type " + gotext::quote(answer.patchType));
  }
  auto patched = applyJsonPatch(attributes.object, *operations);
  if (!patched) {
    // evanphx's own words: kube-apiserver wraps the patch library's error as it is.
    const PatchError& error = patched.error();
    return std::optional<ApiError>(
        internalError(error.cause.empty() ? error.message : error.cause));
  }
  changed = !common::jsonEqual(attributes.object, *patched);
  auto normalized = normalize(std::move(*patched));
  if (!normalized) return std::optional<ApiError>(internalError(normalized.error()));
  attributes.object = std::move(*normalized);
  return std::optional<ApiError>();
}

// The configurations of one kind in name order (kube-apiserver's webhook source sorts them so).
std::vector<value> sortedConfigurations(const ObjectStore& store, const std::string& resource) {
  std::vector<value> configurations = store.list(resource, std::nullopt).items;
  std::ranges::stable_sort(configurations, {}, objectName);
  return configurations;
}

const value* webhooksOf(const value& configuration) {
  const value* webhooks = field(configuration, "webhooks");
  return webhooks != nullptr && webhooks->is_array() ? webhooks : nullptr;
}

}  // namespace

AdmissionController::AdmissionController(const ObjectStore& store,
                                         std::map<std::string, std::uint16_t> serviceEndpoints)
    : store_(store), serviceEndpoints_(std::move(serviceEndpoints)) {}

AdmissionResult AdmissionController::review(const AdmissionAttributes& attributes) const {
  AdmissionResult result;
  if (isExemptConfigurationResource(attributes.type)) return result;
  const std::string ns = requestNamespace(attributes);

  // The configurations in name order, each one's webhooks in their order.
  const std::vector<value> configurations = sortedConfigurations(store_, kValidatingConfigurations);
  std::vector<const value*> relevant;
  for (const value& configuration : configurations) {
    const value* webhooks = webhooksOf(configuration);
    if (webhooks == nullptr) continue;
    for (const value& webhook : webhooks->as_array()) {
      auto call = shouldCall(webhook, attributes, ns, store_);
      if (!call) {
        result.error = call.error();
        return result;
      }
      if (*call) relevant.push_back(&webhook);
    }
  }

  // Every relevant webhook is called, as kube-apiserver does in parallel; the first refusal in
  // this order is the answer.
  for (const value* webhook : relevant) {
    const std::string name = stringField(*webhook, "name");
    auto outcome =
        callWebhook(*webhook, attributes, ns, store_, serviceEndpoints_, result.warnings, false);
    std::optional<ApiError> refusal;
    if (!outcome) {
      if (stringField(*webhook, "failurePolicy") == "Ignore") continue;
      refusal =
          internalError("failed calling webhook " + gotext::quote(name) + ": " + outcome.error());
    } else {
      refusal = std::move(outcome->refusal);
    }
    if (refusal && !result.error) result.error = std::move(refusal);
  }
  return result;
}

AdmissionResult AdmissionController::mutate(AdmissionAttributes& attributes,
                                            const ObjectNormalizer& normalize) const {
  AdmissionResult result;
  if (isExemptConfigurationResource(attributes.type)) return result;
  const std::string ns = requestNamespace(attributes);
  const std::vector<value> configurations = sortedConfigurations(store_, kMutatingConfigurations);

  // webhookReinvokeContext: webhooks with reinvocationPolicy IfNeeded called so far, and those
  // a later change to the object obliges to be called again in the reinvocation round.
  std::set<std::string> invokedReinvocable;
  std::set<std::string> toReinvoke;
  bool reinvocationRound = false;
  for (int round = 0; round < 2; ++round) {
    if (round == 1 && !reinvocationRound) break;
    for (const value& configuration : configurations) {
      const value* webhooks = webhooksOf(configuration);
      if (webhooks == nullptr) continue;
      const std::string configurationName = objectName(configuration);
      for (std::size_t index = 0; index < webhooks->as_array().size(); ++index) {
        const value& webhook = webhooks->as_array().at(index);
        // Matching is decided on the object as the webhooks before left it (objectSelector).
        auto call = shouldCall(webhook, attributes, ns, store_);
        if (!call) {
          result.error = call.error();
          return result;
        }
        if (!*call) continue;
        const std::string name = stringField(webhook, "name");
        // kube's webhook accessor uid: configuration, webhook and position.
        const std::string key = configurationName + "/" + name + "/" + std::to_string(index);
        // A reinvocation never calls a webhook for the first time.
        if (round == 1 && !toReinvoke.contains(key)) continue;

        bool changed = false;
        CallOutcome outcome = [&]() -> CallOutcome {
          auto answer = callWebhook(webhook, attributes, ns, store_, serviceEndpoints_,
                                    result.warnings, true);
          if (!answer) return std::unexpected(answer.error());
          return applyMutation(name, std::move(*answer), attributes, normalize, changed);
        }();
        if (changed) {
          toReinvoke.insert(invokedReinvocable.begin(), invokedReinvocable.end());
          invokedReinvocable.clear();
          reinvocationRound = true;
        }
        if (stringField(webhook, "reinvocationPolicy") == "IfNeeded") {
          invokedReinvocable.insert(key);
        }
        if (!outcome) {
          if (stringField(webhook, "failurePolicy") == "Ignore") continue;
          result.error = internalError("failed calling webhook " + gotext::quote(name) + ": " +
                                       outcome.error());
          return result;
        }
        if (*outcome) {
          result.error = std::move(*outcome);
          return result;
        }
      }
    }
  }
  return result;
}

std::optional<ApiError> AdmissionController::validate(const AdmissionAttributes& attributes) const {
  return review(attributes).error;
}

}  // namespace billing::apiserver
