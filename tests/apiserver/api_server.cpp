#include "tests/apiserver/api_server.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

#include "common/json.h"
#include "common/tls.h"
#include "common/yaml.h"
#include "tests/apiserver/custom_resources.h"
#include "tests/apiserver/events.h"
#include "tests/apiserver/garbage_collector.h"
#include "tests/apiserver/openapi.h"
#include "tests/apiserver/patch.h"
#include "tests/apiserver/protobuf.h"
#include "tests/apiserver/selection.h"
#include "tests/apiserver/table.h"

namespace billing::apiserver {

using web::json::value;

// ---- per-request context ----

struct ApiServer::Context {
  const common::HttpRequest& request;
  common::HttpResponseWriter& writer;
  const UserInfo& user;
  bool dryRun = false;
  std::vector<std::string> warnings;  // sent as Warning: 299 headers, as kube-apiserver does

  void send(int code, const value& body, common::HttpHeaders extra = {}) {
    extra.set("Content-Type", "application/json");
    for (const std::string& warning : warnings) {
      std::string quoted;
      for (char c : warning) {
        if (c == '"' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
      }
      extra.add("Warning", "299 - \"" + quoted + "\"");
    }
    writer.respond(code, std::move(extra), common::toJson(body));
  }
  void fail(const ApiError& error) {
    common::HttpHeaders headers;
    if (error.code == 429 && error.status.has_field("details") &&
        error.status.at("details").has_field("retryAfterSeconds")) {
      headers.set("Retry-After",
                  std::to_string(error.status.at("details").at("retryAfterSeconds").as_integer()));
    }
    send(error.code, error.status, std::move(headers));
  }
  std::optional<std::string> query(std::string_view name) const { return request.queryValue(name); }
};

namespace {

// Optimistic concurrency as kube-apiserver's GuaranteedUpdate: read, compute, admit (webhooks
// may call back into the server, so no lock is held), then write only if the object is still at
// the revision read; retry when it moved and the caller did not pin a resourceVersion.
constexpr int kUpdateAttempts = 8;

AdmissionAttributes admissionAttributes(const ResourceType& type, const std::string& subresource,
                                        const char* operation, const std::string& ns,
                                        const std::string& name, const value& object,
                                        const value& oldObject, const UserInfo& user, bool dryRun) {
  AdmissionAttributes attributes;
  attributes.type = type;
  attributes.subresource = subresource;
  attributes.operation = operation;
  attributes.ns = ns;
  attributes.name = name;
  attributes.object = object;
  attributes.oldObject = oldObject;
  attributes.user = user;
  attributes.dryRun = dryRun;
  attributes.options = value::null();
  return attributes;
}

const value* field(const value& object, const char* name) {
  if (!object.is_object() || !object.has_field(name)) return nullptr;
  const value& found = object.at(name);
  return found.is_null() ? nullptr : &found;
}

std::string stringAt(const value& object, const char* section, const char* name) {
  const value* inner = field(object, section);
  if (inner == nullptr) return {};
  const value* leaf = field(*inner, name);
  return leaf != nullptr && leaf->is_string() ? leaf->as_string() : std::string();
}

value& metadataOf(value& object) {
  if (!object.has_field("metadata") || !object.at("metadata").is_object()) {
    object["metadata"] = value::object(true);
  }
  return object["metadata"];
}

bool truthy(const std::optional<std::string>& text) {
  return text && (*text == "1" || *text == "true" || *text == "True");
}

// Everything but metadata and status: what `generation` counts changes of.
value specPart(const value& object) {
  value copy = value::object(true);
  if (!object.is_object()) return copy;
  for (const auto& [key, item] : object.as_object()) {
    if (key != "metadata" && key != "status" && key != "apiVersion" && key != "kind") {
      copy[key] = item;
    }
  }
  return copy;
}

std::vector<std::string> stringList(const value* node) {
  std::vector<std::string> out;
  if (node == nullptr || !node->is_array()) return out;
  for (const auto& item : node->as_array()) {
    if (item.is_string()) out.push_back(item.as_string());
  }
  return out;
}

value toStringArray(const std::vector<std::string>& items) {
  value array = value::array(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) array[i] = value::string(items[i]);
  return array;
}

std::string randomSuffix(std::size_t length) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out.push_back(kAlphabet[pick(engine)]);
  return out;
}

// What kube-apiserver's conversion and strategies do to the built-in kinds this server otherwise
// stores as sent: a Secret's stringData is merged into data (base64) and its type defaults to
// Opaque; a Namespace carries its own name as the label kubernetes.io/metadata.name (namespace
// strategy's Canonicalize), whatever the client wrote there.
void normalizeBuiltin(const ResourceType& type, value& object) {
  if (!type.group.empty()) return;
  if (type.plural == "secrets") {
    if (object.has_field("stringData") && object.at("stringData").is_object()) {
      for (const auto& [key, item] : object.at("stringData").as_object()) {
        if (item.is_string()) {
          object["data"][key] = value::string(common::base64Encode(item.as_string()));
        }
      }
    }
    if (object.has_field("stringData")) object.erase("stringData");
    if (!object.has_field("type") || !object.at("type").is_string() ||
        object.at("type").as_string().empty()) {
      object["type"] = value::string("Opaque");
    }
  } else if (type.plural == "namespaces") {
    value& meta = metadataOf(object);
    const value* name = field(meta, "name");
    if (name != nullptr && name->is_string()) {
      value copy = *name;  // adding labels may move the members `name` points into
      meta["labels"]["kubernetes.io/metadata.name"] = copy;
    }
  }
}

// Whether kube-apiserver keeps metadata.generation for the kind: custom resources, CRDs, and the
// built-in kinds whose strategies set it to 1 on create and bump it on spec changes (workloads,
// disruption budgets, network policies, webhook configurations). ConfigMaps, Secrets,
// Namespaces, Leases, Events, RBAC objects and the like have none.
bool tracksGeneration(const ResourceType& type) {
  return type.custom() || type.group == "apiextensions.k8s.io" || type.group == "apps" ||
         type.group == "batch" || type.group == "policy" || type.group == "networking.k8s.io" ||
         type.group == "admissionregistration.k8s.io";
}

// The namespaces every cluster has; the first three may not be deleted (NamespaceLifecycle).
constexpr std::array<const char*, 4> kSystemNamespaces = {"default", "kube-system", "kube-public",
                                                          "kube-node-lease"};
bool immortalNamespace(const std::string& name) {
  return name == "default" || name == "kube-system" || name == "kube-public";
}

// An object as served at `type`'s version: objects are stored once, at the storage version
// (Events of both APIs as core v1 Events, converted here for events.k8s.io).
value servedAs(const ResourceType& type, value object) {
  object = fromStorage(type, std::move(object));
  object["apiVersion"] = value::string(type.groupVersion());
  object["kind"] = value::string(type.kind);
  return object;
}

// Custom resources are JSON or YAML only; built-in kinds also take protobuf.
ApiError unsupportedBodyType(const ResourceType& type) {
  return statusError(415, "UnsupportedMediaType",
                     std::string("the body of the request was in an unknown format - accepted "
                                 "media types include: application/json, application/yaml") +
                         (type.custom() ? "" : ", " + std::string(kProtobufMediaType)));
}

// Bodies may be JSON or YAML (kubectl sends JSON; humans with curl send either), or protobuf
// for the built-in kinds kubectl's typed subcommands create (see protobuf.h).
std::expected<value, ApiError> parseBody(const ResourceType& type,
                                         const common::HttpRequest& request) {
  auto contentType = request.headers.get("Content-Type").value_or("application/json");
  if (isProtobufContentType(contentType) && !type.custom()) {
    auto decoded = decodeProtobufObject(request.body);
    if (!decoded) {
      if (decoded.error().kind == ProtobufError::Kind::UnsupportedKind) {
        return std::unexpected(statusError(415, "UnsupportedMediaType", decoded.error().message));
      }
      return std::unexpected(
          badRequest("the body of the request could not be decoded: " + decoded.error().message));
    }
    return *decoded;
  }
  if (!contentType.empty() && contentType.find("json") == std::string::npos &&
      contentType.find("yaml") == std::string::npos) {
    return std::unexpected(unsupportedBodyType(type));
  }
  if (contentType.find("yaml") != std::string::npos &&
      contentType.find("apply-patch") == std::string::npos) {
    auto documents = common::parseYamlDocuments(request.body);
    if (!documents || documents->size() != 1) {
      return std::unexpected(badRequest("the body of the request is not one YAML document"));
    }
    return (*documents)[0].value;
  }
  auto parsed = common::parseJson(request.body);
  if (!parsed) {
    return std::unexpected(
        badRequest("the body of the request could not be decoded: " + parsed.error()));
  }
  return *parsed;
}

// PATCH bodies by Content-Type, as kube-apiserver accepts them for built-in and custom kinds.
std::expected<value, ApiError> applyRequestPatch(const ResourceType& type,
                                                 const std::string& contentType,
                                                 const value& current, const std::string& body) {
  std::span<const PatchType> accepted = type.custom()
                                            ? std::span<const PatchType>(kCustomResourcePatchTypes)
                                            : std::span<const PatchType>(kBuiltinPatchTypes);
  auto patchType = patchTypeFromContentType(contentType);
  bool supported = patchType && *patchType != PatchType::kApplyPatch &&
                   std::find(accepted.begin(), accepted.end(), *patchType) != accepted.end();
  if (!supported) {
    // Kubernetes' own wording, which offers server-side apply; this server answers 415 to it.
    PatchError error = unsupportedMediaType(accepted);
    return std::unexpected(ApiError{error.code, error.status()});
  }
  auto patch = common::parseJson(body);
  if (!patch) {
    return std::unexpected(badRequest("error decoding patch: " + patch.error()));
  }
  std::expected<value, PatchError> patched =
      *patchType == PatchType::kMergePatch  ? applyMergePatch(current, *patch)
      : *patchType == PatchType::kJsonPatch ? applyJsonPatch(current, *patch)
                                            : applyStrategicMergePatch(current, *patch);
  if (!patched) return std::unexpected(ApiError{patched.error().code, patched.error().status()});
  return *patched;
}

}  // namespace

std::string nowTimestamp(std::chrono::seconds clockOffset) {
  std::time_t now = std::time(nullptr) + static_cast<std::time_t>(clockOffset.count());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string newUid() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char bytes[16];
  for (auto& b : bytes) b = static_cast<unsigned char>(byte(engine));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

bool wantsTable(const common::HttpRequest& request) {
  auto accept = request.headers.get("Accept");
  return accept && accept->find("as=Table") != std::string::npos;
}

// ---- lifecycle ----

ApiServer::ApiServer(ApiServerOptions options)
    : options_(std::move(options)),
      registry_(ResourceRegistry::withBuiltins()),
      store_(std::make_unique<ObjectStore>(options_.store)),
      admission_(std::make_unique<AdmissionController>(*store_, options_.serviceEndpoints)) {
  for (const char* name : kSystemNamespaces) {
    if (store_->get("namespaces", "", name)) continue;
    value ns = value::object(true);
    ns["apiVersion"] = value::string("v1");
    ns["kind"] = value::string("Namespace");
    ns["metadata"]["name"] = value::string(name);
    ns["metadata"]["uid"] = value::string(newUid());
    ns["metadata"]["creationTimestamp"] = value::string(nowTimestamp(options_.clockOffset));
    ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = value::string(name);
    ns["spec"]["finalizers"] = toStringArray({"kubernetes"});
    ns["status"]["phase"] = value::string("Active");
    store_->create("namespaces", ns);
  }
  // A data dir written before both Event APIs shared one storage.
  migrateEventStorage(*store_);
  // CRDs persisted in the data dir serve their resources again after a restart.
  for (const value& crd :
       store_->list("customresourcedefinitions.apiextensions.k8s.io", std::nullopt).items) {
    crdChanged(crd, false);
  }
  gcThread_ = std::thread([this] { collectGarbageLoop(); });
}

ApiServer::~ApiServer() { shutdown(); }

void ApiServer::shutdown() {
  {
    std::lock_guard lock(gcMutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  gcWake_.notify_all();
  if (gcThread_.joinable()) gcThread_.join();
  store_->stopAllWatchers();
}

void ApiServer::setRequestFilter(RequestFilter filter) {
  std::lock_guard lock(filterMutex_);
  requestFilter_ = std::move(filter);
}

void ApiServer::handle(const common::HttpRequest& request, common::HttpResponseWriter& writer,
                       const UserInfo& user) {
  Context ctx{request, writer, user, false, {}};
  auto info = parseRequestPath(request.path);
  if (!info) {
    ctx.fail(resourceNotFound());
    return;
  }
  {
    RequestFilter filter;
    {
      std::lock_guard lock(filterMutex_);
      filter = requestFilter_;
    }
    if (filter) {
      if (auto injected = filter(request, *info, user)) {
        ctx.fail(*injected);
        return;
      }
    }
  }
  if (info->kind == RequestInfo::Kind::Resource) {
    serveResource(*info, ctx);
  } else {
    serveDiscovery(*info, ctx);
  }
}

// ---- discovery ----

namespace {

value resourceEntry(const ResourceType& type, const std::string& name, bool subresource) {
  value entry = value::object(true);
  entry["name"] = value::string(name);
  entry["singularName"] = value::string(subresource ? "" : type.singular);
  entry["namespaced"] = value::boolean(type.namespaced);
  entry["kind"] = value::string(type.kind);
  entry["verbs"] =
      subresource ? toStringArray({"get", "patch", "update"}) : toStringArray(type.verbs);
  if (!subresource && !type.shortNames.empty()) {
    entry["shortNames"] = toStringArray(type.shortNames);
  }
  if (!subresource && !type.categories.empty()) {
    entry["categories"] = toStringArray(type.categories);
  }
  entry["storageVersionHash"] = value::string("");
  return entry;
}

value groupEntry(const std::string& group, const std::vector<std::string>& versions) {
  value entry = value::object(true);
  entry["name"] = value::string(group);
  value list = value::array(versions.size());
  for (std::size_t i = 0; i < versions.size(); ++i) {
    list[i]["groupVersion"] = value::string(group + "/" + versions[i]);
    list[i]["version"] = value::string(versions[i]);
  }
  entry["versions"] = list;
  entry["preferredVersion"] = list[0];
  return entry;
}

}  // namespace

void ApiServer::serveDiscovery(const RequestInfo& info, Context& ctx) {
  const std::string& path = ctx.request.path;
  if (ctx.request.method != "GET" && ctx.request.method != "HEAD") {
    ctx.fail(methodNotAllowed());
    return;
  }
  switch (info.kind) {
    case RequestInfo::Kind::CoreVersions: {
      value body = value::object(true);
      body["kind"] = value::string("APIVersions");
      body["versions"] = toStringArray({"v1"});
      value address = value::object(true);
      address["clientCIDR"] = value::string("0.0.0.0/0");
      address["serverAddress"] = value::string(ctx.request.headers.get("Host").value_or(""));
      body["serverAddressByClientCIDRs"] = value::array({address});
      ctx.send(200, body);
      return;
    }
    case RequestInfo::Kind::Groups: {
      value body = value::object(true);
      body["kind"] = value::string("APIGroupList");
      body["apiVersion"] = value::string("v1");
      auto groups = registry_->groups();
      value list = value::array(groups.size());
      for (std::size_t i = 0; i < groups.size(); ++i) {
        list[i] = groupEntry(groups[i].first, groups[i].second);
      }
      body["groups"] = list;
      ctx.send(200, body);
      return;
    }
    case RequestInfo::Kind::Group: {
      for (const auto& [group, versions] : registry_->groups()) {
        if (group != info.group) continue;
        value body = groupEntry(group, versions);
        body["kind"] = value::string("APIGroup");
        body["apiVersion"] = value::string("v1");
        ctx.send(200, body);
        return;
      }
      ctx.fail(resourceNotFound());
      return;
    }
    case RequestInfo::Kind::GroupVersion: {
      value body = value::object(true);
      body["kind"] = value::string("APIResourceList");
      body["apiVersion"] = value::string("v1");
      body["groupVersion"] =
          value::string(info.group.empty() ? info.version : info.group + "/" + info.version);
      std::vector<value> entries;
      for (const ResourceType& type : registry_->all()) {
        if (type.group != info.group || type.version != info.version) continue;
        entries.push_back(resourceEntry(type, type.plural, false));
        if (type.statusSubresource) {
          entries.push_back(resourceEntry(type, type.plural + "/status", true));
        }
      }
      if (entries.empty()) {
        ctx.fail(resourceNotFound());
        return;
      }
      body["resources"] = value::array(entries);
      ctx.send(200, body);
      return;
    }
    case RequestInfo::Kind::Other:
    case RequestInfo::Kind::Resource:
      break;
  }
  if (path == "/version") {
    value body = value::object(true);
    body["major"] = value::string("1");
    body["minor"] = value::string("32");
    body["gitVersion"] = value::string(options_.gitVersion);
    body["gitCommit"] = value::string("0000000000000000000000000000000000000000");
    body["gitTreeState"] = value::string("clean");
    body["buildDate"] = value::string("2026-01-01T00:00:00Z");
    body["goVersion"] = value::string("go1.23");
    body["compiler"] = value::string("gc");
    body["platform"] = value::string("linux/amd64");
    ctx.send(200, body);
    return;
  }
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    ctx.writer.respond(200, {{"Content-Type", "text/plain"}}, "ok");
    return;
  }
  if (path == "/openapi/v2" || path == "/openapi/v3" || path.starts_with("/openapi/v3/")) {
    std::vector<OpenApiResource> resources;
    for (const ResourceType& type : registry_->all()) {
      OpenApiResource resource;
      resource.group = type.group;
      resource.version = type.version;
      resource.kind = type.kind;
      resource.listKind = type.listKind;
      resource.plural = type.plural;
      resource.namespaced = type.namespaced;
      resource.verbs = type.verbs;
      resource.statusSubresource = type.statusSubresource;
      resource.schema = type.schema;
      resources.push_back(std::move(resource));
    }
    OpenApiDocuments documents = buildOpenApiDocuments(resources);
    if (path == "/openapi/v2") {
      ctx.send(200, documents.v2);
      return;
    }
    if (path == "/openapi/v3") {
      ctx.send(200, documents.discovery);
      return;
    }
    auto found = documents.groupVersions.find(path.substr(std::string("/openapi/v3/").size()));
    if (found == documents.groupVersions.end()) {
      ctx.fail(resourceNotFound());
      return;
    }
    common::HttpHeaders headers;
    if (ctx.query("hash") == documents.hashes[found->first]) {
      headers.set("Cache-Control", "public, immutable");
    }
    ctx.send(200, found->second, std::move(headers));
    return;
  }
  ctx.fail(resourceNotFound());
}

// ---- resources ----

void ApiServer::serveResource(const RequestInfo& info, Context& ctx) {
  auto found = registry_->find(info.group, info.version, info.resource);
  if (!found) {
    ctx.fail(resourceNotFound());
    return;
  }
  const ResourceType& type = *found;
  if (!info.subresource.empty() && !(info.subresource == "status" && type.statusSubresource) &&
      !(info.subresource == "finalize" && type.plural == "namespaces")) {
    ctx.fail(resourceNotFound());
    return;
  }
  if (info.namespacedPath && !type.namespaced) {
    ctx.fail(resourceNotFound());
    return;
  }
  auto dryRun = ctx.request.queryValues("dryRun");
  for (const auto& mode : dryRun) {
    if (mode != "All") {
      ctx.fail(badRequest("Invalid dry run value: " + mode + "; supported values: All"));
      return;
    }
  }
  ctx.dryRun = !dryRun.empty();
  const std::string& method = ctx.request.method;
  if (method == "GET" || method == "HEAD") {
    if (!info.name.empty()) {
      get(type, info, ctx);
    } else if (truthy(ctx.query("watch"))) {
      watch(type, info, ctx);
    } else {
      list(type, info, ctx);
    }
  } else if (method == "POST" && info.name.empty()) {
    create(type, info, ctx);
  } else if (method == "PUT" && !info.name.empty()) {
    update(type, info, ctx);
  } else if (method == "PATCH" && !info.name.empty()) {
    patch(type, info, ctx);
  } else if (method == "DELETE" && !info.name.empty() && info.subresource.empty()) {
    remove(type, info, ctx);
  } else if (method == "DELETE" && info.name.empty()) {
    removeCollection(type, info, ctx);
  } else {
    ctx.fail(methodNotAllowed());
  }
}

void ApiServer::get(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto object = store_->get(storageResource(type), info.ns, info.name);
  if (!object) {
    ctx.fail(notFound(type, info.name));
    return;
  }
  value served = servedAs(type, *object);
  if (wantsTable(ctx.request)) {
    ctx.send(200, tableFor(type, {served}, store_->revision(), ""));
    return;
  }
  ctx.send(200, served);
}

void ApiServer::list(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto selector = ObjectSelector::parse(type, ctx.query("labelSelector").value_or(""),
                                        ctx.query("fieldSelector").value_or(""));
  if (!selector) {
    ctx.fail(badRequest(selector.error()));
    return;
  }
  std::optional<std::string> ns;
  if (type.namespaced && !info.ns.empty()) ns = info.ns;

  // limit/continue: the token carries the list's revision and the last key served. Later pages
  // are read from the current state (documented in docs/test-apiserver.md); a token older than
  // the kept history expires with 410, as an etcd compaction makes it expire.
  std::size_t limit = 0;
  if (auto text = ctx.query("limit"); text && !text->empty()) {
    try {
      long long parsed = std::stoll(*text);
      if (parsed > 0) limit = static_cast<std::size_t>(parsed);
    } catch (const std::exception&) {
      ctx.fail(badRequest("invalid limit: " + *text));
      return;
    }
  }
  std::string startAfter;
  std::optional<std::uint64_t> listRevision;
  if (auto token = ctx.query("continue"); token && !token->empty()) {
    auto decoded = decodeContinueToken(*token);
    if (!decoded) {
      ctx.fail(badRequest("continue key is not valid: " + decoded.error()));
      return;
    }
    if (decoded->revision < store_->oldestWatchableRevision()) {
      ctx.fail(gone(
          "The provided continue parameter is too old to display a consistent list result. "
          "You can start a new list without the continue parameter, or use the continue token "
          "in this response to retrieve the remainder of the results. Continuing with the "
          "provided token results in an inconsistent list - objects that were created, "
          "modified, or deleted between the time the first chunk was returned and now may show "
          "up in the list."));
      return;
    }
    startAfter = decoded->lastKey;
    listRevision = decoded->revision;
  }
  if (auto rv = ctx.query("resourceVersion"); rv && !rv->empty() && *rv != "0") {
    auto requested = parseRevision(*rv);
    if (!requested) {
      ctx.fail(badRequest("invalid resource version \"" + *rv + "\""));
      return;
    }
    if (*requested > store_->revision()) {
      ctx.fail(statusError(504, "Timeout",
                           "Too large resource version: " + *rv +
                               ", current: " + std::to_string(store_->revision())));
      return;
    }
  }

  // Keys continue in the store's order, namespace then name, compared as a pair: "acme-web/x"
  // sorts before "acme/y" as text but after it as (namespace, name).
  std::optional<ObjectStore::Key2> after;
  if (!startAfter.empty()) {
    auto slash = startAfter.find('/');
    after = slash == std::string::npos
                ? ObjectStore::Key2{"", startAfter}
                : ObjectStore::Key2{startAfter.substr(0, slash), startAfter.substr(slash + 1)};
  }
  std::vector<value> items;
  std::size_t remaining = 0;
  std::string lastKey;
  bool truncated = false;
  const std::uint64_t scanned =
      store_->scan(storageResource(type), ns, after, [&](const value& object) {
        if (!selector->matches(object)) return true;
        if (limit > 0 && items.size() >= limit) {
          truncated = true;
          ++remaining;
          // remainingItemCount is only reported without a selector; no need to count further.
          return selector->empty();
        }
        lastKey =
            stringAt(object, "metadata", "namespace") + "/" + stringAt(object, "metadata", "name");
        items.push_back(servedAs(type, object));
        return true;
      });
  // Every page reports the first page's resourceVersion, as kube's consistent snapshots do: a
  // watch from it then replays whatever changed while the client paged.
  std::uint64_t revision = listRevision.value_or(scanned);
  std::string continueToken = truncated ? encodeContinueToken({revision, lastKey}) : "";
  if (wantsTable(ctx.request)) {
    ctx.send(200, tableFor(type, items, revision, continueToken));
    return;
  }
  value body = value::object(true);
  body["kind"] = value::string(type.listKind);
  body["apiVersion"] = value::string(type.groupVersion());
  value meta = value::object(true);
  meta["resourceVersion"] = value::string(std::to_string(revision));
  if (truncated) {
    meta["continue"] = value::string(continueToken);
    // Kubernetes leaves remainingItemCount out when a selector filtered the list.
    if (selector->empty()) meta["remainingItemCount"] = value::number(remaining);
  }
  body["metadata"] = meta;
  body["items"] = value::array(items);
  ctx.send(200, body);
}

void ApiServer::watch(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto selector = ObjectSelector::parse(type, ctx.query("labelSelector").value_or(""),
                                        ctx.query("fieldSelector").value_or(""));
  if (!selector) {
    ctx.fail(badRequest(selector.error()));
    return;
  }
  std::optional<std::uint64_t> from;
  if (auto rv = ctx.query("resourceVersion"); rv && !rv->empty() && *rv != "0") {
    from = parseRevision(*rv);
    if (!from) {
      ctx.fail(badRequest("invalid resource version \"" + *rv + "\""));
      return;
    }
  }
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::now() + options_.maxWatchDuration;
  if (auto timeout = ctx.query("timeoutSeconds"); timeout && !timeout->empty()) {
    try {
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::stoll(*timeout));
    } catch (const std::exception&) {
      ctx.fail(badRequest("invalid timeoutSeconds: " + *timeout));
      return;
    }
  }
  const bool bookmarks = truthy(ctx.query("allowWatchBookmarks"));

  WatchFilter filter;
  filter.resource = storageResource(type);
  if (type.namespaced && !info.ns.empty()) filter.ns = info.ns;
  auto sharedSelector = std::make_shared<ObjectSelector>(std::move(*selector));
  filter.matches = [sharedSelector](const value& object) {
    return sharedSelector->matches(object);
  };
  auto started = store_->watch(filter, from);

  if (!ctx.writer.startStream(200, {{"Content-Type", "application/json"}})) return;
  // `kubectl get --watch` asks for Tables: each event then carries a one-row Table, with the
  // column definitions in the first one only, as kube-apiserver sends them.
  const bool tables = wantsTable(ctx.request);
  bool columnsSent = false;
  auto event = [&](const char* eventType, const value& object) {
    value line = value::object(true);
    line["type"] = value::string(eventType);
    const bool convert = tables && std::string_view(eventType) != "ERROR" &&
                         std::string_view(eventType) != "BOOKMARK";
    if (convert) {
      value table = tableFor(type, {object}, store_->revision(), "");
      if (columnsSent) table["columnDefinitions"] = value::array();
      columnsSent = true;
      line["object"] = std::move(table);
    } else {
      line["object"] = object;
    }
    return ctx.writer.writeChunk(common::toJson(line) + "\n");
  };
  if (!started) {
    // kube-apiserver answers an expired resourceVersion with 200 and one ERROR event.
    ApiError expired = gone("too old resource version: " + std::to_string(*from) + " (" +
                            std::to_string(started.error().oldestAvailable - 1) + ")");
    event("ERROR", expired.status);
    ctx.writer.endStream();
    return;
  }
  std::shared_ptr<Watcher> watcher = started->watcher;
  ctx.writer.onClose([watcher] { watcher->stop(); });
  for (const value& object : started->initial) {
    if (!event("ADDED", servedAs(type, object))) {
      watcher->stop();
      return;
    }
  }
  auto lastBookmark = std::chrono::steady_clock::now();
  while (!ctx.writer.closed()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wait = std::min<std::chrono::milliseconds>(
        options_.bookmarkInterval,
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    // Read the revision before looking at the queue: every event up to it has been queued (the
    // store queues under the lock that advances the revision), so an empty queue means the
    // bookmark skips nothing.
    std::uint64_t revision = store_->revision();
    auto next = watcher->next(wait);
    if (next) {
      const char* name = next->type == EventType::Added      ? "ADDED"
                         : next->type == EventType::Modified ? "MODIFIED"
                                                             : "DELETED";
      if (!event(name, servedAs(type, next->object))) break;
      continue;
    }
    if (watcher->stopped()) break;  // dropped (fault injection) or too slow
    if (bookmarks && std::chrono::steady_clock::now() - lastBookmark >= options_.bookmarkInterval) {
      value object = value::object(true);
      object["kind"] = value::string(type.kind);
      object["apiVersion"] = value::string(type.groupVersion());
      object["metadata"]["resourceVersion"] = value::string(std::to_string(revision));
      if (!event("BOOKMARK", object)) break;
      lastBookmark = std::chrono::steady_clock::now();
    }
  }
  watcher->stop();
  if (!ctx.writer.closed()) ctx.writer.endStream();
}

std::expected<value, ApiError> ApiServer::admit(const ResourceType& type, value object,
                                                Context& ctx) {
  const std::string fieldValidation = ctx.query("fieldValidation").value_or("Warn");
  std::expected<Admitted, ApiError> admitted =
      type.custom() ? admitCustomResource(type, std::move(object), fieldValidation)
      : type.plural == "customresourcedefinitions" && type.group == "apiextensions.k8s.io"
          ? admitCrd(std::move(object), fieldValidation)
          : admitBuiltin(type, std::move(object));
  if (!admitted) return std::unexpected(admitted.error());
  ctx.warnings.insert(ctx.warnings.end(), admitted->warnings.begin(), admitted->warnings.end());
  return std::move(admitted->object);
}

void ApiServer::create(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  if (!info.subresource.empty()) {
    ctx.fail(methodNotAllowed());
    return;
  }
  auto body = parseBody(type, ctx.request);
  if (!body) {
    ctx.fail(body.error());
    return;
  }
  value object = *body;
  if (!object.is_object()) {
    ctx.fail(badRequest("the body of the request must be an object"));
    return;
  }
  std::string bodyKind = object.has_field("kind") && object.at("kind").is_string()
                             ? object.at("kind").as_string()
                             : "";
  if (!bodyKind.empty() && bodyKind != type.kind) {
    ctx.fail(badRequest("the kind \"" + bodyKind + "\" of the body does not match the kind \"" +
                        type.kind + "\" of the URL"));
    return;
  }
  // Before any reference into the object is taken: adding a member may move the others, and a
  // body without apiVersion or kind (kube accepts one) left `meta` dangling.
  object["apiVersion"] = value::string(type.groupVersion());
  object["kind"] = value::string(type.kind);
  value& meta = metadataOf(object);
  std::string bodyNs = stringAt(object, "metadata", "namespace");
  if (type.namespaced) {
    if (!bodyNs.empty() && bodyNs != info.ns) {
      ctx.fail(badRequest(
          "the namespace of the provided object does not match the namespace sent on the "
          "request"));
      return;
    }
    meta["namespace"] = value::string(info.ns);
  } else if (meta.has_field("namespace")) {
    meta.erase("namespace");
  }
  // Empty for generateName: the name is generated after mutating admission, as kube's store does.
  std::string name = stringAt(object, "metadata", "name");
  if (type.namespaced) {
    auto ns = store_->get("namespaces", "", info.ns);
    if (!ns) {
      ctx.fail(namespaceNotFound(info.ns));
      return;
    }
    if (field(*ns, "metadata") && field(ns->at("metadata"), "deletionTimestamp")) {
      ctx.fail(statusError(403, "Forbidden",
                           type.groupResource() + " \"" + name +
                               "\" is forbidden: unable to "
                               "create new content in namespace " +
                               info.ns + " because it is being terminated",
                           statusDetails(type, name)));
      return;
    }
  }
  // What the create handler wipes before admission (WipeObjectMetaSystemFields): mutating
  // webhooks see no uid and no creationTimestamp, as on a cluster.
  for (const char* serverOwned :
       {"uid", "creationTimestamp", "resourceVersion", "deletionTimestamp",
        "deletionGracePeriodSeconds", "selfLink", "managedFields"}) {
    if (meta.has_field(serverOwned)) meta.erase(serverOwned);
  }
  auto decoded = decodeRequest(type, std::move(object), ctx);
  if (!decoded) {
    ctx.fail(decoded.error());
    return;
  }
  AdmissionAttributes mutation =
      admissionAttributes(type, info.subresource, "CREATE", info.ns, name, *decoded, value::null(),
                          ctx.user, ctx.dryRun);
  if (auto refused = runMutatingWebhooks(mutation, ctx.warnings)) {
    ctx.fail(*refused);
    return;
  }
  // The store's part, after mutating admission: system fields, the generated name, and the
  // strategy's PrepareForCreate (generation, status dropped, a Namespace's finalizer and phase).
  object = std::move(mutation.object);
  object["apiVersion"] = value::string(type.groupVersion());
  object["kind"] = value::string(type.kind);
  value& mutatedMeta = metadataOf(object);
  if (type.namespaced) mutatedMeta["namespace"] = value::string(info.ns);
  name = stringAt(object, "metadata", "name");
  if (name.empty()) {
    std::string prefix = stringAt(object, "metadata", "generateName");
    if (!prefix.empty()) {
      name = prefix + randomSuffix(5);
      mutatedMeta["name"] = value::string(name);
    }
  }
  mutatedMeta["uid"] = value::string(newUid());
  mutatedMeta["creationTimestamp"] = value::string(nowTimestamp(options_.clockOffset));
  if (tracksGeneration(type)) {
    mutatedMeta["generation"] = value::number(1);
  } else if (mutatedMeta.has_field("generation")) {
    mutatedMeta.erase("generation");
  }
  for (const char* serverOwned : {"resourceVersion", "deletionTimestamp",
                                  "deletionGracePeriodSeconds", "selfLink", "managedFields"}) {
    if (mutatedMeta.has_field(serverOwned)) mutatedMeta.erase(serverOwned);
  }
  if (type.statusSubresource && object.has_field("status")) object.erase("status");
  if (type.plural == "namespaces") {
    object["spec"]["finalizers"] = toStringArray({"kubernetes"});
    object["status"]["phase"] = value::string("Active");
  }
  normalizeBuiltin(type, object);
  auto admitted = admit(type, std::move(object), ctx);
  if (!admitted) {
    ctx.fail(admitted.error());
    return;
  }
  if (auto refused =
          runWebhooks(admissionAttributes(type, info.subresource, "CREATE", info.ns, name,
                                          *admitted, value::null(), ctx.user, ctx.dryRun),
                      ctx.warnings)) {
    ctx.fail(*refused);
    return;
  }
  if (ctx.dryRun) {
    auto existing = store_->get(storageResource(type), info.ns, name);
    if (existing) {
      ctx.fail(alreadyExists(type, name));
      return;
    }
    ctx.send(201, servedAs(type, *admitted));
    return;
  }
  auto stored = store_->create(storageResource(type), toStorage(type, *admitted));
  if (!stored) {
    ctx.fail(alreadyExists(type, name));
    return;
  }
  if (type.plural == "customresourcedefinitions") crdChanged(*stored, false);
  ctx.send(201, servedAs(type, *stored));
}

void ApiServer::update(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto body = parseBody(type, ctx.request);
  if (!body) {
    ctx.fail(body.error());
    return;
  }
  if (!body->is_object()) {
    ctx.fail(badRequest("the body of the request must be an object"));
    return;
  }
  std::string bodyName = stringAt(*body, "metadata", "name");
  if (!bodyName.empty() && bodyName != info.name) {
    ctx.fail(badRequest("the name of the object (" + bodyName +
                        ") does not match the name on the URL (" + info.name + ")"));
    return;
  }
  replace(type, info, ctx, *body, false, false);
}

void ApiServer::patch(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto current = store_->get(storageResource(type), info.ns, info.name);
    if (!current) {
      ctx.fail(notFound(type, info.name));
      return;
    }
    std::string contentType = ctx.request.headers.get("Content-Type").value_or("");
    auto patched = applyRequestPatch(type, contentType, servedAs(type, *current), ctx.request.body);
    if (!patched) {
      ctx.fail(patched.error());
      return;
    }
    // A patch that does not name a resourceVersion applies to whatever is current: when another
    // write lands first, it is applied again to the new state instead of conflicting.
    const std::string currentRv = stringAt(*current, "metadata", "resourceVersion");
    const std::string patchedRv = stringAt(*patched, "metadata", "resourceVersion");
    const bool pinned = !patchedRv.empty() && patchedRv != currentRv;
    if (patchedRv.empty()) metadataOf(*patched)["resourceVersion"] = value::string(currentRv);
    if (replace(type, info, ctx, *patched, true, !pinned)) return;
  }
  ctx.fail(conflict(type, info.name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again"));
}

bool ApiServer::replace(const ResourceType& type, const RequestInfo& info, Context& ctx,
                        value proposed, bool fromPatch, bool retryable) {
  const bool statusOnly = info.subresource == "status";
  const std::string requestedRv = stringAt(proposed, "metadata", "resourceVersion");
  if (requestedRv.empty() && !fromPatch && type.custom()) {
    // Custom resources do not allow unconditional updates (AllowUnconditionalUpdate is false);
    // kube-apiserver names the resource, not the kind, and prints the uint64 zero as Go's %#v.
    value details = statusDetails(type, info.name);
    value cause = value::object(true);
    cause["reason"] = value::string("FieldValueInvalid");
    cause["message"] = value::string("Invalid value: 0x0: must be specified for an update");
    cause["field"] = value::string("metadata.resourceVersion");
    details["causes"] = value::array({cause});
    ctx.fail(statusError(422, "Invalid",
                         type.groupResource() + " \"" + info.name +
                             "\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must "
                             "be specified for an update",
                         details));
    return true;
  }
  // Decoded (pruned, defaulted) once, as the update handler does before admission.
  proposed["apiVersion"] = value::string(type.groupVersion());
  proposed["kind"] = value::string(type.kind);
  auto decoded = decodeRequest(type, std::move(proposed), ctx);
  if (!decoded) {
    ctx.fail(decoded.error());
    return true;
  }
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto stored = store_->get(storageResource(type), info.ns, info.name);
    if (!stored) {
      ctx.fail(notFound(type, info.name));
      return true;
    }
    // As `type` serves it: an events.k8s.io update is prepared and reviewed in that API's form.
    const value current = fromStorage(type, *stored);
    const std::string currentRv = stringAt(current, "metadata", "resourceVersion");
    if (!requestedRv.empty() && requestedRv != currentRv) {
      if (retryable) return false;
      ctx.fail(conflict(type, info.name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again"));
      return true;
    }
    // Mutating admission sees the object as sent (or patched) against the stored one, before the
    // strategy's PrepareForUpdate, as kube's update transformers run it; again on every retry.
    AdmissionAttributes mutation =
        admissionAttributes(type, info.subresource, "UPDATE", info.ns, info.name, *decoded, current,
                            ctx.user, ctx.dryRun);
    if (auto refused = runMutatingWebhooks(mutation, ctx.warnings)) {
      ctx.fail(*refused);
      return true;
    }
    auto next = prepareUpdate(type, current, mutation.object, statusOnly, info);
    if (!next) {
      ctx.fail(next.error());
      return true;
    }
    auto admitted = admit(type, std::move(*next), ctx);
    if (!admitted) {
      ctx.fail(admitted.error());
      return true;
    }
    if (auto refused =
            runWebhooks(admissionAttributes(type, info.subresource, "UPDATE", info.ns, info.name,
                                            *admitted, current, ctx.user, ctx.dryRun),
                        ctx.warnings)) {
      ctx.fail(*refused);
      return true;
    }
    // An update that leaves a deleting object without finalizers completes the deletion.
    const value& newMeta = admitted->at("metadata");
    const bool completesDeletion =
        newMeta.has_field("deletionTimestamp") && stringList(field(newMeta, "finalizers")).empty();
    value toStore = toStorage(type, *admitted);
    if (ctx.dryRun || toStore == *stored) {
      // No-op updates do not bump resourceVersion.
      ctx.send(200, servedAs(type, ctx.dryRun ? *admitted : current));
      return true;
    }
    auto expected = parseRevision(currentRv);
    auto written = completesDeletion
                       ? store_->remove(storageResource(type), info.ns, info.name, expected)
                       : store_->update(storageResource(type), std::move(toStore), expected);
    if (!written) {
      if (written.error() == StoreError::Conflict && requestedRv.empty()) continue;
      if (written.error() == StoreError::Conflict && retryable) return false;
      ctx.fail(written.error() == StoreError::NotFound
                   ? notFound(type, info.name)
                   : conflict(type, info.name,
                              "the object has been modified; please apply your changes to the "
                              "latest version and try again"));
      return true;
    }
    if (type.plural == "customresourcedefinitions") crdChanged(*written, completesDeletion);
    if (completesDeletion) wakeGarbageCollector();
    ctx.send(200, servedAs(type, *written));
    return true;
  }
  ctx.fail(conflict(type, info.name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again"));
  return true;
}

std::expected<value, ApiError> ApiServer::prepareUpdate(const ResourceType& type,
                                                        const value& current, const value& proposed,
                                                        bool statusOnly,
                                                        const RequestInfo& info) const {
  if (statusOnly) {
    // /status takes only the status; everything else stays as stored.
    value next = current;
    if (proposed.has_field("status")) {
      next["status"] = proposed.at("status");
    } else if (next.has_field("status")) {
      next.erase("status");
    }
    return next;
  }
  value next = proposed;
  next["apiVersion"] = value::string(type.groupVersion());
  next["kind"] = value::string(type.kind);
  // The main endpoint ignores status when the status subresource is on.
  if (type.statusSubresource) {
    if (current.has_field("status")) {
      next["status"] = current.at("status");
    } else if (next.has_field("status")) {
      next.erase("status");
    }
  }
  value& meta = metadataOf(next);
  const value& old = current.at("metadata");
  for (const char* immutable : {"uid", "creationTimestamp", "deletionTimestamp",
                                "deletionGracePeriodSeconds", "generation", "resourceVersion"}) {
    if (old.has_field(immutable)) {
      meta[immutable] = old.at(immutable);
    } else if (meta.has_field(immutable)) {
      meta.erase(immutable);
    }
  }
  meta["name"] = value::string(info.name);
  if (type.namespaced) meta["namespace"] = value::string(info.ns);
  if (old.has_field("deletionTimestamp")) {
    auto before = stringList(field(old, "finalizers"));
    for (const auto& finalizer : stringList(field(meta, "finalizers"))) {
      if (std::find(before.begin(), before.end(), finalizer) != before.end()) continue;
      std::string detail =
          "Forbidden: no new finalizers can be added if the object is being deleted, found new "
          "finalizers []string{\"" +
          finalizer + "\"}";
      value causes = value::array(1);
      causes[0]["reason"] = value::string("FieldValueForbidden");
      causes[0]["message"] = value::string(detail);
      causes[0]["field"] = value::string("metadata.finalizers");
      return std::unexpected(invalid(type, info.name, causes,
                                     type.kind + (type.group.empty() ? "" : "." + type.group) +
                                         " \"" + info.name +
                                         "\" is invalid: metadata.finalizers: " + detail));
    }
  }
  normalizeBuiltin(type, next);
  if (tracksGeneration(type) && specPart(next) != specPart(current)) {
    std::int64_t generation =
        old.has_field("generation") ? old.at("generation").as_number().to_int64() : 1;
    meta["generation"] = value::number(generation + 1);
  }
  return next;
}

std::expected<value, ApiError> ApiServer::deleteObject(
    const ResourceType& type, const std::string& ns, const std::string& name, const value& options,
    bool dryRun, const UserInfo& user, std::vector<std::string>& warnings) {
  std::string policy = "Background";
  if (const value* p = field(options, "propagationPolicy"); p && p->is_string()) {
    policy = p->as_string();
  } else if (const value* orphan = field(options, "orphanDependents");
             orphan && orphan->is_boolean() && orphan->as_bool()) {
    policy = "Orphan";
  }
  if (type.plural == "namespaces" && type.group.empty() && immortalNamespace(name)) {
    return std::unexpected(forbidden(type, name, "this namespace may not be deleted"));
  }
  if (policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    return std::unexpected(badRequest("unsupported propagationPolicy \"" + policy +
                                      "\": supported values are Background, Foreground, Orphan"));
  }
  std::string preconditionUid;
  std::string preconditionRv;
  if (const value* preconditions = field(options, "preconditions")) {
    if (const value* uid = field(*preconditions, "uid"); uid && uid->is_string()) {
      preconditionUid = uid->as_string();
    }
    if (const value* rv = field(*preconditions, "resourceVersion"); rv && rv->is_string()) {
      preconditionRv = rv->as_string();
    }
  }
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto stored = store_->get(storageResource(type), ns, name);
    if (!stored) return std::unexpected(notFound(type, name));
    const value& current = *stored;
    const value& meta = current.at("metadata");
    const std::string uid = stringAt(current, "metadata", "uid");
    const std::string currentRv = stringAt(current, "metadata", "resourceVersion");
    if (!preconditionUid.empty() && preconditionUid != uid) {
      return std::unexpected(conflict(type, name,
                                      "Precondition failed: UID in precondition: " +
                                          preconditionUid + ", UID in object meta: " + uid));
    }
    if (!preconditionRv.empty() && preconditionRv != currentRv) {
      return std::unexpected(
          conflict(type, name,
                   "Precondition failed: ResourceVersion in precondition: " + preconditionRv +
                       ", ResourceVersion in object meta: " + currentRv));
    }
    // Mutating then validating admission, both with only the old object (a patch is refused).
    AdmissionAttributes deletion = admissionAttributes(type, "", "DELETE", ns, name, value::null(),
                                                       fromStorage(type, current), user, dryRun);
    if (auto refused = runMutatingWebhooks(deletion, warnings)) return std::unexpected(*refused);
    if (auto refused = runWebhooks(deletion, warnings)) return std::unexpected(*refused);
    auto finalizers = stringList(field(meta, "finalizers"));
    // Foreground and Orphan are carried out by the garbage collector through finalizers.
    const char* gcFinalizer = policy == "Foreground" ? "foregroundDeletion"
                              : policy == "Orphan"   ? "orphan"
                                                     : nullptr;
    if (gcFinalizer != nullptr &&
        std::find(finalizers.begin(), finalizers.end(), gcFinalizer) == finalizers.end() &&
        hasDependentObjects(*store_, *registry_, current)) {
      finalizers.push_back(gcFinalizer);
    }
    const bool namespaceWithContent = type.plural == "namespaces" && type.group.empty() &&
                                      !stringList(field(current.at("spec"), "finalizers")).empty();
    const bool deleteNow = finalizers.empty() && !namespaceWithContent;
    value next = current;
    if (!deleteNow) {
      // Graceful: mark the object; finalizers (or the namespace controller) finish the job.
      value& nextMeta = next["metadata"];
      if (!finalizers.empty()) nextMeta["finalizers"] = toStringArray(finalizers);
      if (!meta.has_field("deletionTimestamp")) {
        nextMeta["deletionTimestamp"] = value::string(nowTimestamp(options_.clockOffset));
        nextMeta["deletionGracePeriodSeconds"] = value::number(0);
        // kube's markAsDeleting bumps the generation of kinds that have one.
        if (meta.has_field("generation")) {
          nextMeta["generation"] = value::number(meta.at("generation").as_number().to_int64() + 1);
        }
        if (namespaceWithContent) next["status"]["phase"] = value::string("Terminating");
      }
    }
    if (dryRun) return servedAs(type, next);
    auto expected = parseRevision(currentRv);
    std::expected<value, StoreError> written =
        deleteNow         ? store_->remove(storageResource(type), ns, name, expected)
        : next == current ? std::expected<value, StoreError>(current)
                          : store_->update(storageResource(type), next, expected);
    if (!written) {
      if (written.error() == StoreError::Conflict) continue;
      return std::unexpected(notFound(type, name));
    }
    wakeGarbageCollector();
    if (deleteNow && type.plural == "customresourcedefinitions") crdChanged(*written, true);
    // Custom resources answer with the object; built-in kinds with a Status once it is gone.
    if (deleteNow && !type.custom()) return successStatus(type, name, uid);
    return servedAs(type, *written);
  }
  return std::unexpected(conflict(type, name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again"));
}

namespace {

// DeleteOptions from the body and the query, as kube-apiserver merges them. kubectl sends
// dryRun and propagationPolicy in the body; curl users in the query.
std::expected<value, ApiError> deleteOptions(const common::HttpRequest& request, bool& dryRun) {
  value options = value::object();
  if (!request.body.empty()) {
    auto parsed = common::parseJson(request.body);
    if (!parsed || !parsed->is_object()) {
      return std::unexpected(
          badRequest("the body of the request could not be decoded as DeleteOptions"));
    }
    options = *parsed;
  }
  if (auto policy = request.queryValue("propagationPolicy")) {
    options["propagationPolicy"] = value::string(*policy);
  }
  if (const value* modes = field(options, "dryRun"); modes != nullptr && modes->is_array()) {
    for (const value& mode : modes->as_array()) {
      std::string text = mode.is_string() ? mode.as_string() : common::toJson(mode);
      if (text != "All") {
        return std::unexpected(
            badRequest("Invalid dry run value: " + text + "; supported values: All"));
      }
      dryRun = true;
    }
  }
  return options;
}

}  // namespace

void ApiServer::remove(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto parsedOptions = deleteOptions(ctx.request, ctx.dryRun);
  if (!parsedOptions) {
    ctx.fail(parsedOptions.error());
    return;
  }
  const value& options = *parsedOptions;
  auto result = deleteObject(type, info.ns, info.name, options, ctx.dryRun, ctx.user, ctx.warnings);
  if (!result) {
    ctx.fail(result.error());
    return;
  }
  ctx.send(200, *result);
}

void ApiServer::removeCollection(const ResourceType& type, const RequestInfo& info, Context& ctx) {
  auto selector = ObjectSelector::parse(type, ctx.query("labelSelector").value_or(""),
                                        ctx.query("fieldSelector").value_or(""));
  if (!selector) {
    ctx.fail(badRequest(selector.error()));
    return;
  }
  auto parsedOptions = deleteOptions(ctx.request, ctx.dryRun);
  if (!parsedOptions) {
    ctx.fail(parsedOptions.error());
    return;
  }
  const value& options = *parsedOptions;
  std::optional<std::string> ns;
  if (type.namespaced && !info.ns.empty()) ns = info.ns;
  auto result = store_->list(storageResource(type), ns);
  std::vector<value> deleted;
  for (const value& object : result.items) {
    if (!selector->matches(object)) continue;
    auto outcome = deleteObject(type, stringAt(object, "metadata", "namespace"),
                                stringAt(object, "metadata", "name"), options, ctx.dryRun, ctx.user,
                                ctx.warnings);
    if (outcome && outcome->has_field("metadata")) deleted.push_back(*outcome);
  }
  value body = value::object(true);
  body["kind"] = value::string(type.listKind);
  body["apiVersion"] = value::string(type.groupVersion());
  body["metadata"]["resourceVersion"] = value::string(std::to_string(store_->revision()));
  body["items"] = value::array(deleted);
  ctx.send(200, body);
}

namespace {

// Webhook warnings reach the client as Warning headers, denials included, as kube sends them.
void addWebhookWarnings(std::vector<std::string>& from, std::vector<std::string>& warnings) {
  for (std::string& warning : from) {
    if (!warning.empty() &&
        std::find(warnings.begin(), warnings.end(), warning) == warnings.end()) {
      warnings.push_back(std::move(warning));
    }
  }
}

}  // namespace

std::expected<value, ApiError> ApiServer::decodeRequest(const ResourceType& type, value object,
                                                        Context& ctx) const {
  if (type.custom()) {
    auto decoded = decodeCustomResourceRequest(type, std::move(object),
                                               ctx.query("fieldValidation").value_or("Warn"));
    if (!decoded) return std::unexpected(decoded.error());
    ctx.warnings.insert(ctx.warnings.end(), decoded->warnings.begin(), decoded->warnings.end());
    return std::move(decoded->object);
  }
  normalizeBuiltin(type, object);
  return object;
}

std::optional<ApiError> ApiServer::runMutatingWebhooks(AdmissionAttributes& attributes,
                                                       std::vector<std::string>& warnings) const {
  const ResourceType& type = attributes.type;
  // A patched object is decoded again as kube's dispatcher does: pruned (silently: webhooks are
  // not subject to fieldValidation) and defaulted.
  ObjectNormalizer normalize = [&type](value object) -> std::expected<value, std::string> {
    if (type.custom()) {
      auto decoded = decodeCustomResourceRequest(type, std::move(object), "Ignore");
      if (!decoded) {
        const value* message = field(decoded.error().status, "message");
        return std::unexpected(message != nullptr && message->is_string() ? message->as_string()
                                                                          : "undecodable object");
      }
      return std::move(decoded->object);
    }
    normalizeBuiltin(type, object);
    return object;
  };
  AdmissionResult result = admission_->mutate(attributes, normalize);
  addWebhookWarnings(result.warnings, warnings);
  return result.error;
}

std::optional<ApiError> ApiServer::runWebhooks(const AdmissionAttributes& attributes,
                                               std::vector<std::string>& warnings) const {
  AdmissionResult result = admission_->review(attributes);
  addWebhookWarnings(result.warnings, warnings);
  return result.error;
}

// ---- CRDs ----

void ApiServer::crdChanged(const value& crd, bool deleted) {
  auto types = resourceTypesFromCrd(crd);
  if (!types || types->empty()) return;
  const std::string group = types->front().group;
  const std::string plural = types->front().plural;
  registry_->removeResource(group, plural);
  if (deleted) {
    // Deleting a CRD deletes its objects, as kube-apiserver does.
    for (const value& object : store_->list(plural + "." + group, std::nullopt).items) {
      store_->remove(plural + "." + group, stringAt(object, "metadata", "namespace"),
                     stringAt(object, "metadata", "name"));
    }
    return;
  }
  for (ResourceType& type : *types) registry_->add(std::move(type));
}

// ---- garbage collection ----

void ApiServer::wakeGarbageCollector() {
  {
    std::lock_guard lock(gcMutex_);
    gcPending_ = true;
  }
  gcWake_.notify_all();
}

void ApiServer::collectGarbageLoop() {
  std::unique_lock lock(gcMutex_);
  while (!stopping_) {
    gcWake_.wait_for(lock, std::chrono::seconds(1), [&] { return gcPending_ || stopping_; });
    if (stopping_) break;
    gcPending_ = false;
    lock.unlock();
    // Repeat while passes change things: deleting a dependent may release its own dependents.
    for (int pass = 0; pass < 100 && collectGarbage(); ++pass) {
    }
    lock.lock();
  }
}

bool ApiServer::collectGarbage() {
  return runGarbageCollection(
      *store_, *registry_,
      [this](const ResourceType& type, const std::string& ns, const std::string& name,
             const value& options) {
        static const UserInfo kGarbageCollector{
            "system:serviceaccount:kube-system:generic-garbage-collector",
            {"system:serviceaccounts", "system:authenticated"},
            ""};
        std::vector<std::string> ignored;  // no client to warn
        return deleteObject(type, ns, name, options, false, kGarbageCollector, ignored).has_value();
      });
}

}  // namespace billing::apiserver
