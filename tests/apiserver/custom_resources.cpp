#include "tests/apiserver/custom_resources.h"

#include "tests/apiserver/crd_field_errors.h"
#include "tests/apiserver/crd_pruning.h"
#include "tests/apiserver/crd_schema.h"
#include "tests/apiserver/crd_validation.h"

namespace billing::apiserver {
namespace {

using web::json::value;

std::string nameOf(const value& object) {
  if (!object.has_field("metadata") || !object.at("metadata").is_object()) return {};
  const value& meta = object.at("metadata");
  return meta.has_field("name") && meta.at("name").is_string() ? meta.at("name").as_string()
                                                               : std::string();
}

value toArray(const std::vector<std::string>& items) {
  value array = value::array(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) array[i] = value::string(items[i]);
  return array;
}

// Strict turns unknown fields into a 400; Warn (the default) into warnings; Ignore drops them.
std::expected<std::vector<std::string>, ApiError> handleUnknownFields(
    const std::vector<std::string>& unknown, const std::string& fieldValidation,
    const std::string& kind, const std::string& version) {
  if (unknown.empty() || fieldValidation == "Ignore") return std::vector<std::string>{};
  if (fieldValidation == "Strict") {
    return std::unexpected(badRequest(strictDecodingMessage(kind, version, unknown)));
  }
  return unknownFieldWarnings(unknown);
}

}  // namespace

std::expected<std::vector<ResourceType>, std::string> resourceTypesFromCrd(const value& crd) {
  auto parsed = parseCrd(crd);
  if (!parsed) return std::unexpected(parsed.error().message);
  std::vector<ResourceType> types;
  for (const CrdVersion& version : parsed->versions) {
    if (!version.served) continue;
    ResourceType type;
    type.group = parsed->group;
    type.version = version.name;
    type.kind = parsed->names.kind;
    type.listKind = parsed->names.listKind;
    type.plural = parsed->names.plural;
    type.singular = parsed->names.singular;
    type.shortNames = parsed->names.shortNames;
    type.categories = parsed->names.categories;
    type.verbs = {"delete", "deletecollection", "get",    "list",
                  "patch",  "create",           "update", "watch"};
    type.namespaced = parsed->namespaced();
    type.statusSubresource = version.statusSubresource;
    if (!version.schema.is_null()) type.schema = version.schema;
    type.crdName = parsed->name;
    type.storageVersion = version.storage;
    value columns = value::array(version.printerColumns.size());
    for (std::size_t i = 0; i < version.printerColumns.size(); ++i) {
      const CrdPrinterColumn& c = version.printerColumns[i];
      columns[i]["name"] = value::string(c.name);
      columns[i]["type"] = value::string(c.type);
      columns[i]["format"] = value::string(c.format);
      columns[i]["description"] = value::string(c.description);
      columns[i]["jsonPath"] = value::string(c.jsonPath);
      columns[i]["priority"] = value::number(static_cast<std::int64_t>(c.priority));
    }
    type.printerColumns = columns;
    types.push_back(std::move(type));
  }
  return types;
}

std::expected<Admitted, ApiError> admitCrd(value crd, const std::string& fieldValidation) {
  auto unknown = pruneCrdUnknownFields(crd);
  auto warnings = handleUnknownFields(unknown, fieldValidation, "CustomResourceDefinition", "v1");
  if (!warnings) return std::unexpected(warnings.error());
  defaultCrd(crd);
  auto parsed = parseCrd(crd);
  if (!parsed) {
    return std::unexpected(ApiError{parsed.error().code(), parsed.error().status(nameOf(crd))});
  }
  // A new CRD reports itself established at once: no controller has to accept its names here.
  value condition = value::object(true);
  condition["type"] = value::string("Established");
  condition["status"] = value::string("True");
  condition["reason"] = value::string("InitialNamesAccepted");
  condition["message"] = value::string("the initial names have been accepted");
  value accepted = condition;
  accepted["type"] = value::string("NamesAccepted");
  accepted["reason"] = value::string("NoConflicts");
  accepted["message"] = value::string("no conflicts found");
  crd["status"]["conditions"] = value::array({accepted, condition});
  crd["status"]["acceptedNames"] = crd.at("spec").at("names");
  value stored = value::array();
  for (const CrdVersion& version : parsed->versions) {
    if (version.storage) stored = toArray({version.name});
  }
  crd["status"]["storedVersions"] = stored;
  return Admitted{std::move(crd), *warnings};
}

std::expected<Admitted, ApiError> decodeCustomResourceRequest(const ResourceType& type,
                                                              value object,
                                                              const std::string& fieldValidation) {
  auto decoded = decodeCustomResource(std::move(object), type.schema.value_or(value::null()));
  if (!decoded) {
    return std::unexpected(
        badRequest(decodeErrorMessage(type.kind, type.version, decoded.error())));
  }
  auto warnings =
      handleUnknownFields(decoded->unknownFields, fieldValidation, type.kind, type.version);
  if (!warnings) return std::unexpected(warnings.error());
  return Admitted{std::move(decoded->object), *warnings};
}

std::expected<Admitted, ApiError> admitCustomResource(const ResourceType& type, value object,
                                                      const std::string& fieldValidation) {
  auto decoded = decodeCustomResourceRequest(type, std::move(object), fieldValidation);
  if (!decoded) return decoded;
  ObjectTarget target{type.group, type.version, type.kind, type.namespaced};
  FieldErrors errors =
      validateCustomObject(decoded->object, type.schema.value_or(value::null()), target);
  if (!errors.empty()) {
    return std::unexpected(
        ApiError{422, invalidStatus(type.group, type.kind, nameOf(decoded->object), errors)});
  }
  return decoded;
}

std::expected<Admitted, ApiError> admitBuiltin(const ResourceType& type, value object) {
  FieldErrors errors;
  if (!object.has_field("metadata") || !object.at("metadata").is_object()) {
    errors.push_back(requiredError("metadata.name", "name or generateName is required"));
  } else {
    errors = validateObjectMeta(object.at("metadata"), type.namespaced);
  }
  if (!errors.empty()) {
    return std::unexpected(
        ApiError{422, invalidStatus(type.group, type.kind, nameOf(object), errors)});
  }
  return Admitted{std::move(object), {}};
}

}  // namespace billing::apiserver
