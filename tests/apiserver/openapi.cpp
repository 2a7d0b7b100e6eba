#include "tests/apiserver/openapi.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <set>
#include <utility>

#include "common/json.h"
#include "tests/apiserver/openapi_meta.h"

namespace billing::apiserver {
namespace {

using JsonValue = web::json::value;

constexpr std::string_view kMetaPrefix = "io.k8s.apimachinery.pkg.apis.meta.v1.";
constexpr std::string_view kApiVersionDescription =
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
constexpr std::string_view kKindDescription =
    "Kind is a string value representing the REST resource this object represents. Servers may "
    "infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds";
constexpr std::string_view kObjectMetaDescription =
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
constexpr std::string_view kListMetaDescription =
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds";

const JsonValue* member(const JsonValue& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto& fields = object.as_object();
  auto found = fields.find(std::string(key));
  return found == fields.end() ? nullptr : &found->second;
}

bool boolMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  return value && value->is_boolean() && value->as_bool();
}

JsonValue str(std::string_view text) { return JsonValue::string(std::string(text)); }

std::string ref(std::string_view name, bool v2) {
  return std::string(v2 ? "#/definitions/" : "#/components/schemas/") + std::string(name);
}

// A reference with siblings: allOf-wrapped in v3 as kube publishes it, plain $ref in v2.
JsonValue refWithDescription(std::string_view name, std::string_view description, bool v2) {
  auto out = JsonValue::object();
  if (v2) {
    out["$ref"] = str(ref(name, true));
  } else {
    auto target = JsonValue::object();
    target["$ref"] = str(ref(name, false));
    out["allOf"] = JsonValue::array(1);
    out["allOf"][0] = target;
    out["default"] = JsonValue::object();
  }
  out["description"] = str(description);
  return out;
}

JsonValue typeMetaProperty(std::string_view description) {
  auto out = JsonValue::object();
  out["description"] = str(description);
  out["type"] = str("string");
  return out;
}

JsonValue gvkExtension(const OpenApiResource& resource, std::string_view kind) {
  auto gvk = JsonValue::object();
  gvk["group"] = str(resource.group);
  gvk["kind"] = str(kind);
  gvk["version"] = str(resource.version);
  auto list = JsonValue::array(1);
  list[0] = gvk;
  return list;
}

std::string listKindOf(const OpenApiResource& resource) {
  return resource.listKind.empty() ? resource.kind + "List" : resource.listKind;
}

std::string capitalize(std::string_view text) {
  std::string out(text);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// "billing.operator.dev" + "v1alpha1" -> "BillingOperatorDevV1alpha1", as kube's operation IDs.
std::string operationPrefix(const OpenApiResource& resource) {
  std::string out;
  std::string group = resource.group.empty() ? "core" : resource.group;
  if (group.ends_with(".k8s.io")) group.resize(group.size() - 7);
  bool upper = true;
  for (char c : group) {
    if (c == '.' || c == '-') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out + capitalize(resource.version);
}

std::string tagOf(const OpenApiResource& resource) {
  std::string group = resource.group.empty() ? "core" : resource.group;
  if (group.ends_with(".k8s.io")) group.resize(group.size() - 7);
  std::string out;
  bool upper = false;
  for (char c : group) {
    if (c == '.' || c == '-') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out + "_" + resource.version;
}

// ---- schemas ----

// The CRD schema as published: TypeMeta and ObjectMeta properties at the root and in embedded
// resources, value validations kept (v3) or stripped (v2, as kube's StripValueValidations).
JsonValue publishSchema(const JsonValue& schema, bool v2, bool root) {
  if (!schema.is_object()) return schema;
  const bool preserve = boolMember(schema, "x-kubernetes-preserve-unknown-fields");
  if (v2 && preserve && !root) {
    auto out = JsonValue::object();
    if (const auto* description = member(schema, "description")) out["description"] = *description;
    out["type"] = str("object");
    out["x-kubernetes-preserve-unknown-fields"] = JsonValue::boolean(true);
    return out;
  }
  static const std::set<std::string> kKeptInV2 = {"description",
                                                  "type",
                                                  "default",
                                                  "properties",
                                                  "items",
                                                  "additionalProperties",
                                                  "x-kubernetes-embedded-resource",
                                                  "x-kubernetes-int-or-string",
                                                  "x-kubernetes-list-map-keys",
                                                  "x-kubernetes-list-type",
                                                  "x-kubernetes-map-type",
                                                  "x-kubernetes-preserve-unknown-fields",
                                                  "title",
                                                  "example",
                                                  "externalDocs"};
  auto out = JsonValue::object();
  for (const auto& [key, value] : schema.as_object()) {
    if (v2 && !kKeptInV2.contains(key)) continue;
    if (v2 && key == "type" && boolMember(schema, "x-kubernetes-int-or-string")) continue;
    if (key == "properties" && value.is_object()) {
      auto properties = JsonValue::object();
      for (const auto& [name, property] : value.as_object()) {
        properties[name] = publishSchema(property, v2, false);
      }
      out[key] = properties;
    } else if ((key == "items" || key == "additionalProperties" || key == "not") &&
               value.is_object()) {
      out[key] = publishSchema(value, v2, false);
    } else if ((key == "allOf" || key == "anyOf" || key == "oneOf") && value.is_array()) {
      auto list = JsonValue::array();
      std::size_t index = 0;
      for (const auto& entry : value.as_array()) list[index++] = publishSchema(entry, v2, false);
      out[key] = list;
    } else {
      out[key] = value;
    }
  }
  const bool embedded = boolMember(schema, "x-kubernetes-embedded-resource");
  if (root || (embedded && !(v2 && preserve))) {
    if (!out.has_field("properties")) out["properties"] = JsonValue::object();
    auto& properties = out["properties"];
    properties["apiVersion"] = typeMetaProperty(kApiVersionDescription);
    properties["kind"] = typeMetaProperty(kKindDescription);
    properties["metadata"] =
        refWithDescription(std::string(kMetaPrefix) + "ObjectMeta", kObjectMetaDescription, v2);
    if (embedded && !root) {
      std::vector<std::string> required;
      if (const auto* existing = member(out, "required"); existing && existing->is_array()) {
        for (const auto& entry : existing->as_array()) {
          if (entry.is_string()) required.push_back(entry.as_string());
        }
      }
      for (const char* field : {"kind", "apiVersion"}) {
        if (std::find(required.begin(), required.end(), field) == required.end()) {
          required.emplace_back(field);
        }
      }
      auto list = JsonValue::array();
      for (std::size_t i = 0; i < required.size(); ++i) list[i] = str(required[i]);
      out["required"] = list;
    }
  }
  return out;
}

JsonValue kindSchema(const OpenApiResource& resource, bool v2) {
  JsonValue out;
  if (resource.schema && resource.schema->is_object()) {
    if (v2 && boolMember(*resource.schema, "x-kubernetes-preserve-unknown-fields")) {
      out = JsonValue::object();
      out["type"] = str("object");
    } else {
      out = publishSchema(*resource.schema, v2, true);
    }
  } else {
    out = JsonValue::object();
    out["description"] = str(resource.description.empty()
                                 ? resource.kind + " is stored by the test API server as given."
                                 : resource.description);
    out["type"] = str("object");
    auto properties = JsonValue::object();
    properties["apiVersion"] = typeMetaProperty(kApiVersionDescription);
    properties["kind"] = typeMetaProperty(kKindDescription);
    properties["metadata"] =
        refWithDescription(std::string(kMetaPrefix) + "ObjectMeta", kObjectMetaDescription, v2);
    out["properties"] = properties;
    out["x-kubernetes-preserve-unknown-fields"] = JsonValue::boolean(true);
  }
  out["x-kubernetes-group-version-kind"] = gvkExtension(resource, resource.kind);
  return out;
}

JsonValue listSchema(const OpenApiResource& resource, bool v2) {
  auto out = JsonValue::object();
  out["description"] = str(listKindOf(resource) + " is a list of " + resource.kind);
  out["type"] = str("object");
  out["required"] = JsonValue::array(1);
  out["required"][0] = str("items");
  auto properties = JsonValue::object();
  properties["apiVersion"] = typeMetaProperty(kApiVersionDescription);
  properties["kind"] = typeMetaProperty(kKindDescription);
  auto items = JsonValue::object();
  items["description"] =
      str("List of " + resource.plural +
          ". More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
          "api-conventions.md");
  items["type"] = str("array");
  auto item = JsonValue::object();
  item["$ref"] =
      str(ref(openApiDefinitionName(resource.group, resource.version, resource.kind), v2));
  items["items"] = item;
  properties["items"] = items;
  properties["metadata"] =
      refWithDescription(std::string(kMetaPrefix) + "ListMeta", kListMetaDescription, v2);
  out["properties"] = properties;
  out["x-kubernetes-group-version-kind"] = gvkExtension(resource, listKindOf(resource));
  return out;
}

// ---- paths ----

JsonValue queryParameter(std::string_view name, std::string_view type, std::string_view description,
                         bool v2) {
  auto out = JsonValue::object();
  out["name"] = str(name);
  out["in"] = str("query");
  out["description"] = str(description);
  if (v2) {
    out["type"] = str(type);
    out["uniqueItems"] = JsonValue::boolean(true);
  } else {
    auto schema = JsonValue::object();
    schema["type"] = str(type);
    schema["uniqueItems"] = JsonValue::boolean(true);
    out["schema"] = schema;
  }
  return out;
}

JsonValue pathParameter(std::string_view name, std::string_view description, bool v2) {
  auto out = JsonValue::object();
  out["name"] = str(name);
  out["in"] = str("path");
  out["description"] = str(description);
  out["required"] = JsonValue::boolean(true);
  if (v2) {
    out["type"] = str("string");
    out["uniqueItems"] = JsonValue::boolean(true);
  } else {
    auto schema = JsonValue::object();
    schema["type"] = str("string");
    schema["uniqueItems"] = JsonValue::boolean(true);
    out["schema"] = schema;
  }
  return out;
}

JsonValue optionParameters(std::string_view action, bool v2) {
  std::vector<JsonValue> list;
  auto add = [&](std::string_view name, std::string_view type, std::string_view description) {
    list.push_back(queryParameter(name, type, description, v2));
  };
  const auto dryRun = [&] {
    add("dryRun", "string",
        "When present, indicates that modifications should not be persisted. Valid values: All");
  };
  if (action == "list" || action == "deletecollection") {
    if (action == "list") {
      add("allowWatchBookmarks", "boolean",
          "allowWatchBookmarks requests watch events with type \"BOOKMARK\".");
    }
    add("continue", "string", "The continue option should be set when retrieving more results.");
    if (action == "deletecollection") dryRun();
    add("fieldSelector", "string",
        "A selector to restrict the list of returned objects by their fields.");
    if (action == "deletecollection") {
      add("gracePeriodSeconds", "integer",
          "The duration in seconds before the object should be deleted.");
    }
    add("labelSelector", "string",
        "A selector to restrict the list of returned objects by their labels.");
    add("limit", "integer", "limit is a maximum number of responses to return for a list call.");
    if (action == "deletecollection") {
      add("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy.");
      add("propagationPolicy", "string",
          "Whether and how garbage collection will be performed: Orphan, Background or "
          "Foreground.");
    }
    add("resourceVersion", "string",
        "resourceVersion sets a constraint on what resource versions a request may be served "
        "from.");
    add("resourceVersionMatch", "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.");
    add("sendInitialEvents", "boolean",
        "sendInitialEvents=true may be set together with watch=true.");
    add("timeoutSeconds", "integer", "Timeout for the list/watch call.");
    if (action == "list") {
      add("watch", "boolean",
          "Watch for changes to the described resources and return them as a stream of add, "
          "update, and remove notifications.");
    }
  } else if (action == "post" || action == "put" || action == "patch") {
    dryRun();
    add("fieldManager", "string",
        "fieldManager is a name associated with the actor or entity that is making these "
        "changes.");
    add("fieldValidation", "string",
        "fieldValidation instructs the server on how to handle objects in the request "
        "containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) "
        "and Strict.");
    if (action == "patch") {
      add("force", "boolean",
          "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting "
          "fields owned by other people. Must be unset for non-apply patch requests.");
    }
  } else if (action == "delete") {
    dryRun();
    add("gracePeriodSeconds", "integer",
        "The duration in seconds before the object should be deleted.");
    add("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy.");
    add("propagationPolicy", "string",
        "Whether and how garbage collection will be performed: Orphan, Background or "
        "Foreground.");
  }
  auto out = JsonValue::array();
  for (std::size_t i = 0; i < list.size(); ++i) out[i] = list[i];
  return out;
}

JsonValue contentSchema(std::string_view definition, const std::vector<std::string>& types) {
  auto content = JsonValue::object();
  for (const auto& type : types) {
    auto schema = JsonValue::object();
    schema["$ref"] = str(ref(definition, false));
    auto media = JsonValue::object();
    media["schema"] = schema;
    content[type] = media;
  }
  return content;
}

std::string articleFor(std::string_view noun) {
  if (noun.empty()) return " a ";
  const char first = static_cast<char>(std::tolower(static_cast<unsigned char>(noun[0])));
  return std::string_view("aeiou").find(first) != std::string_view::npos ? " an " : " a ";
}

struct Operation {
  std::string method;  // get, post, put, patch, delete
  std::string action;  // x-kubernetes-action
  std::string verb;    // list, read, create, replace, patch, delete, deletecollection
  std::string subresource;
  bool allNamespaces = false;
};

JsonValue buildOperation(const OpenApiResource& resource, const Operation& operation, bool v2) {
  const auto kindDefinition =
      openApiDefinitionName(resource.group, resource.version, resource.kind);
  const auto listDefinition =
      openApiDefinitionName(resource.group, resource.version, listKindOf(resource));
  const std::string statusDefinition = std::string(kMetaPrefix) + "Status";
  const std::string sub = operation.subresource.empty() ? "" : " " + operation.subresource + " of";
  std::string description;
  if (operation.verb == "list") {
    description = "list or watch objects of kind " + resource.kind;
  } else if (operation.verb == "read" || operation.verb == "replace") {
    description = operation.verb + sub + " the specified " + resource.kind;
  } else if (operation.verb == "patch") {
    description = "partially update" + sub + " the specified " + resource.kind;
  } else if (operation.verb == "create" || operation.verb == "delete") {
    description = operation.verb + sub + articleFor(resource.kind) + resource.kind;
  } else {
    description = "delete collection of " + resource.kind;
  }
  std::string operationId = operation.verb + operationPrefix(resource) +
                            (resource.namespaced && !operation.allNamespaces ? "Namespaced" : "") +
                            resource.kind + capitalize(operation.subresource) +
                            (operation.allNamespaces ? "ForAllNamespaces" : "");
  auto out = JsonValue::object();
  out["tags"] = JsonValue::array(1);
  out["tags"][0] = str(tagOf(resource));
  out["description"] = str(description);
  out["operationId"] = str(operationId);
  out["parameters"] = optionParameters(operation.action, v2);

  std::string responseDefinition = kindDefinition;
  if (operation.action == "list") responseDefinition = listDefinition;
  if (operation.action == "deletecollection" || operation.action == "delete") {
    responseDefinition = statusDefinition;
  }
  std::vector<std::string> responseTypes = {"application/json", "application/yaml",
                                            "application/vnd.kubernetes.protobuf"};
  if (operation.action == "list") {
    responseTypes.push_back("application/json;stream=watch");
    responseTypes.push_back("application/vnd.kubernetes.protobuf;stream=watch");
  }
  auto responses = JsonValue::object();
  auto addResponse = [&](const std::string& code, const std::string& text) {
    auto response = JsonValue::object();
    response["description"] = str(text);
    if (v2) {
      auto schema = JsonValue::object();
      schema["$ref"] = str(ref(responseDefinition, true));
      response["schema"] = schema;
    } else {
      response["content"] = contentSchema(responseDefinition, responseTypes);
    }
    responses[code] = response;
  };
  addResponse("200", "OK");
  if (operation.action == "post") {
    addResponse("201", "Created");
    addResponse("202", "Accepted");
  } else if (operation.action == "put") {
    addResponse("201", "Created");
  } else if (operation.action == "delete") {
    addResponse("202", "Accepted");
  }
  auto unauthorized = JsonValue::object();
  unauthorized["description"] = str("Unauthorized");
  responses["401"] = unauthorized;
  out["responses"] = responses;

  std::string bodyDefinition;
  std::vector<std::string> bodyTypes = {"application/json", "application/yaml"};
  if (operation.action == "post" || operation.action == "put") bodyDefinition = kindDefinition;
  if (operation.action == "patch") {
    bodyDefinition = std::string(kMetaPrefix) + "Patch";
    bodyTypes = {"application/json-patch+json", "application/merge-patch+json",
                 "application/apply-patch+yaml"};
    if (resource.schema == std::nullopt) {
      bodyTypes.push_back("application/strategic-merge-patch+json");
    }
  }
  if (operation.action == "delete" || operation.action == "deletecollection") {
    bodyDefinition = std::string(kMetaPrefix) + "DeleteOptions";
  }
  if (!bodyDefinition.empty()) {
    if (v2) {
      auto body = JsonValue::object();
      body["name"] = str("body");
      body["in"] = str("body");
      body["required"] = JsonValue::boolean(operation.action != "delete" &&
                                            operation.action != "deletecollection");
      auto schema = JsonValue::object();
      schema["$ref"] = str(ref(bodyDefinition, true));
      body["schema"] = schema;
      auto& parameters = out["parameters"];
      parameters[parameters.size()] = body;
      auto consumes = JsonValue::array();
      for (std::size_t i = 0; i < bodyTypes.size(); ++i) consumes[i] = str(bodyTypes[i]);
      out["consumes"] = consumes;
    } else {
      auto body = JsonValue::object();
      body["content"] = contentSchema(bodyDefinition, bodyTypes);
      body["required"] = JsonValue::boolean(operation.action != "delete" &&
                                            operation.action != "deletecollection");
      out["requestBody"] = body;
    }
  }
  if (v2) {
    auto produces = JsonValue::array();
    for (std::size_t i = 0; i < responseTypes.size(); ++i) produces[i] = str(responseTypes[i]);
    out["produces"] = produces;
    out["schemes"] = JsonValue::array(1);
    out["schemes"][0] = str("https");
  }
  out["x-kubernetes-action"] = str(operation.action);
  auto gvk = JsonValue::object();
  gvk["group"] = str(resource.group);
  gvk["kind"] = str(resource.kind);
  gvk["version"] = str(resource.version);
  out["x-kubernetes-group-version-kind"] = gvk;
  return out;
}

bool hasVerb(const OpenApiResource& resource, std::string_view verb) {
  return std::find(resource.verbs.begin(), resource.verbs.end(), verb) != resource.verbs.end();
}

void addPaths(const OpenApiResource& resource, JsonValue& paths, bool v2) {
  const std::string prefix = resource.group.empty()
                                 ? "/api/" + resource.version
                                 : "/apis/" + resource.group + "/" + resource.version;
  const std::string root = resource.namespaced
                               ? prefix + "/namespaces/{namespace}/" + resource.plural
                               : prefix + "/" + resource.plural;
  auto pathItem = [&](const std::string& path, bool name) -> JsonValue& {
    if (!paths.has_field(path)) {
      auto item = JsonValue::object();
      auto parameters = JsonValue::array();
      std::size_t index = 0;
      if (name) {
        parameters[index++] = pathParameter("name", "name of the " + resource.kind, v2);
      }
      if (path.find("{namespace}") != std::string::npos) {
        parameters[index++] = pathParameter(
            "namespace", "object name and auth scope, such as for teams and projects", v2);
      }
      parameters[index++] = queryParameter(
          "pretty", "string",
          "If 'true', then the output is pretty printed. Defaults to 'false' unless the "
          "user-agent indicates a browser or command-line HTTP tool (curl and wget).",
          v2);
      item["parameters"] = parameters;
      paths[path] = item;
    }
    return paths[path];
  };
  if (resource.namespaced && hasVerb(resource, "list")) {
    pathItem(prefix + "/" + resource.plural, false)["get"] =
        buildOperation(resource, {"get", "list", "list", "", true}, v2);
  }
  if (hasVerb(resource, "list")) {
    pathItem(root, false)["get"] = buildOperation(resource, {"get", "list", "list", "", false}, v2);
  }
  if (hasVerb(resource, "create")) {
    pathItem(root, false)["post"] =
        buildOperation(resource, {"post", "post", "create", "", false}, v2);
  }
  if (hasVerb(resource, "deletecollection")) {
    pathItem(root, false)["delete"] =
        buildOperation(resource, {"delete", "deletecollection", "deletecollection", "", false}, v2);
  }
  const std::string item = root + "/{name}";
  if (hasVerb(resource, "get")) {
    pathItem(item, true)["get"] = buildOperation(resource, {"get", "get", "read", "", false}, v2);
  }
  if (hasVerb(resource, "update")) {
    pathItem(item, true)["put"] =
        buildOperation(resource, {"put", "put", "replace", "", false}, v2);
  }
  if (hasVerb(resource, "patch")) {
    pathItem(item, true)["patch"] =
        buildOperation(resource, {"patch", "patch", "patch", "", false}, v2);
  }
  if (hasVerb(resource, "delete")) {
    pathItem(item, true)["delete"] =
        buildOperation(resource, {"delete", "delete", "delete", "", false}, v2);
  }
  if (resource.statusSubresource) {
    const std::string status = item + "/status";
    if (hasVerb(resource, "get")) {
      pathItem(status, true)["get"] =
          buildOperation(resource, {"get", "get", "read", "status", false}, v2);
    }
    if (hasVerb(resource, "update")) {
      pathItem(status, true)["put"] =
          buildOperation(resource, {"put", "put", "replace", "status", false}, v2);
    }
    if (hasVerb(resource, "patch")) {
      pathItem(status, true)["patch"] =
          buildOperation(resource, {"patch", "patch", "patch", "status", false}, v2);
    }
  }
}

JsonValue info() {
  auto out = JsonValue::object();
  out["title"] = str("Kubernetes");
  out["version"] = str("v1.32.0");
  return out;
}

// ---- SHA-512 ----

constexpr std::array<std::uint64_t, 80> kRoundConstants = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL};

std::uint64_t rotateRight(std::uint64_t value, int bits) {
  return (value >> bits) | (value << (64 - bits));
}

}  // namespace

std::string sha512Hex(std::string_view data) {
  std::array<std::uint64_t, 8> state = {
      0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
      0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
  std::string message(data);
  const std::uint64_t bitLength = static_cast<std::uint64_t>(data.size()) * 8;
  message.push_back(static_cast<char>(0x80));
  while (message.size() % 128 != 112) message.push_back('\0');
  message.append(8, '\0');  // the high 64 bits of the 128-bit length
  for (int i = 7; i >= 0; --i) message.push_back(static_cast<char>((bitLength >> (i * 8)) & 0xFF));
  std::array<std::uint64_t, 80> words{};
  for (std::size_t block = 0; block < message.size(); block += 128) {
    for (std::size_t i = 0; i < 16; ++i) {
      std::uint64_t word = 0;
      for (std::size_t b = 0; b < 8; ++b) {
        word = (word << 8) | static_cast<unsigned char>(message[block + i * 8 + b]);
      }
      words[i] = word;
    }
    for (std::size_t i = 16; i < 80; ++i) {
      const auto s0 =
          rotateRight(words[i - 15], 1) ^ rotateRight(words[i - 15], 8) ^ (words[i - 15] >> 7);
      const auto s1 =
          rotateRight(words[i - 2], 19) ^ rotateRight(words[i - 2], 61) ^ (words[i - 2] >> 6);
      words[i] = words[i - 16] + s0 + words[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state;
    for (std::size_t i = 0; i < 80; ++i) {
      const auto s1 = rotateRight(e, 14) ^ rotateRight(e, 18) ^ rotateRight(e, 41);
      const auto choice = (e & f) ^ (~e & g);
      const auto temp1 = h + s1 + choice + kRoundConstants[i] + words[i];
      const auto s0 = rotateRight(a, 28) ^ rotateRight(a, 34) ^ rotateRight(a, 39);
      const auto majority = (a & b) ^ (a & c) ^ (b & c);
      const auto temp2 = s0 + majority;
      h = g;
      g = f;
      f = e;
      e = d + temp1;
      d = c;
      c = b;
      b = a;
      a = temp1 + temp2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (auto word : state) {
    for (int i = 15; i >= 0; --i) out.push_back(kHex[(word >> (i * 4)) & 0xF]);
  }
  return out;
}

std::string openApiGroupVersionPath(std::string_view group, std::string_view version) {
  if (group.empty()) return "api/" + std::string(version);
  return "apis/" + std::string(group) + "/" + std::string(version);
}

std::string openApiDefinitionName(std::string_view group, std::string_view version,
                                  std::string_view kind) {
  const std::string tail = std::string(version) + "." + std::string(kind);
  if (group.empty()) return "io.k8s.api.core." + tail;
  if (group == "apiextensions.k8s.io") {
    return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions." + tail;
  }
  if (group == "apiregistration.k8s.io") {
    return "io.k8s.kube-aggregator.pkg.apis.apiregistration." + tail;
  }
  if (group.find('.') == std::string_view::npos)
    return "io.k8s.api." + std::string(group) + "." + tail;
  if (group.ends_with(".k8s.io")) {
    return "io.k8s.api." + std::string(group.substr(0, group.find('.'))) + "." + tail;
  }
  // ToRESTFriendlyName: the group's domain reversed.
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = group.find('.', start);
    parts.push_back(
        group.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += std::string(*it) + ".";
  }
  return out + tail;
}

OpenApiDocuments buildOpenApiDocuments(const std::vector<OpenApiResource>& resources) {
  OpenApiDocuments out;
  std::map<std::string, std::vector<const OpenApiResource*>> byGroupVersion;
  for (const auto& resource : resources) {
    byGroupVersion[openApiGroupVersionPath(resource.group, resource.version)].push_back(&resource);
  }

  auto discoveryPaths = JsonValue::object();
  for (const auto& [path, members] : byGroupVersion) {
    auto document = JsonValue::object();
    document["openapi"] = str("3.0.0");
    document["info"] = info();
    auto paths = JsonValue::object();
    auto schemas = openApiMetaSchemas(false);
    for (const auto* resource : members) {
      addPaths(*resource, paths, false);
      schemas[openApiDefinitionName(resource->group, resource->version, resource->kind)] =
          kindSchema(*resource, false);
      schemas[openApiDefinitionName(resource->group, resource->version, listKindOf(*resource))] =
          listSchema(*resource, false);
    }
    document["paths"] = paths;
    auto components = JsonValue::object();
    components["schemas"] = schemas;
    document["components"] = components;
    const auto hash = sha512Hex(common::toJson(document));
    auto entry = JsonValue::object();
    entry["serverRelativeURL"] = str("/openapi/v3/" + path + "?hash=" + hash);
    discoveryPaths[path] = entry;
    out.groupVersions[path] = std::move(document);
    out.hashes[path] = hash;
  }
  out.discovery = JsonValue::object();
  out.discovery["paths"] = discoveryPaths;

  auto v2 = JsonValue::object();
  v2["swagger"] = str("2.0");
  v2["info"] = info();
  auto paths = JsonValue::object();
  auto definitions = openApiMetaSchemas(true);
  for (const auto& resource : resources) {
    addPaths(resource, paths, true);
    definitions[openApiDefinitionName(resource.group, resource.version, resource.kind)] =
        kindSchema(resource, true);
    definitions[openApiDefinitionName(resource.group, resource.version, listKindOf(resource))] =
        listSchema(resource, true);
  }
  v2["paths"] = paths;
  v2["definitions"] = definitions;
  auto bearer = JsonValue::object();
  bearer["type"] = str("apiKey");
  bearer["name"] = str("authorization");
  bearer["in"] = str("header");
  bearer["description"] = str("Bearer Token authentication");
  auto securityDefinitions = JsonValue::object();
  securityDefinitions["BearerToken"] = bearer;
  v2["securityDefinitions"] = securityDefinitions;
  auto security = JsonValue::object();
  security["BearerToken"] = JsonValue::array();
  v2["security"] = JsonValue::array(1);
  v2["security"][0] = security;
  out.v2 = std::move(v2);
  return out;
}

}  // namespace billing::apiserver
