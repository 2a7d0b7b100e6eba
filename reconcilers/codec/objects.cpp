#include "reconcilers/codec/objects.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <utility>

#include "common/json.h"

namespace billing::codec {
namespace {

using domain::Code;
using domain::Violation;
using web::json::value;

// Unknown member names can hold anything ("invoicing.period"): they are bracketed by the shared
// field-path notation so the path never reads as a different, nested field.
std::string child(const std::string& parent, std::string_view name) {
  return common::joinFieldPath(parent, name);
}

std::string index(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

std::string typeName(const value& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_integer()) return "integer";
  if (v.is_number()) return "number";
  return "null";
}

// Field names that suggest someone is about to put a payment secret into a custom resource.
bool looksLikeSecretField(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  constexpr std::array<std::string_view, 10> kHints = {"card",   "iban",   "token", "password",
                                                       "secret", "cvc",    "cvv",   "accountnumber",
                                                       "apikey", "mandate"};
  return std::any_of(kHints.begin(), kHints.end(),
                     [&](std::string_view hint) { return lower.find(hint) != std::string::npos; });
}

// Walks one object, reading typed fields and collecting every problem with its path.
class Reader {
 public:
  explicit Reader(std::vector<Violation>& errors) : errors_(errors) {}

  void setObject(domain::ObjectKey key) { key_ = std::move(key); }

  void report(Code code, const std::string& path, std::string message) {
    errors_.push_back(Violation{code, domain::Severity::Error, key_, path, std::move(message)});
  }

  // The named member, or nullptr when it is absent or null (Kubernetes treats an explicit null
  // on an optional field as absent).
  const value* member(const value& object, std::string_view name) {
    if (!object.is_object()) return nullptr;
    const auto& members = object.as_object();
    auto it = members.find(std::string(name));
    if (it == members.end() || it->second.is_null()) return nullptr;
    return &it->second;
  }

  // Checks that `node` is an object whose members are all in `known`.
  bool expectObject(const value& node, const std::string& path,
                    std::initializer_list<std::string_view> known) {
    if (!node.is_object()) {
      report(Code::InvalidType, path, what(path) + " must be an object, got " + typeName(node));
      return false;
    }
    for (const auto& [name, ignored] : node.as_object()) {
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string fieldPath = child(path, name);
      if (looksLikeSecretField(name)) {
        report(Code::SecretInSpec, fieldPath,
               what(fieldPath) +
                   " looks like a payment secret and is not part of the API: secrets must live in "
                   "a Kubernetes Secret referenced by spec.paymentMethod.secretRef");
      } else {
        report(Code::UnknownField, fieldPath,
               what(fieldPath) + " is not a field of " + std::string(kindName(key_.kind)) +
                   (known.size() > 0 ? ": known fields here are " + list(known) : std::string()));
      }
    }
    return true;
  }

  std::string string(const value& object, const std::string& parent, std::string_view name,
                     bool required = false) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) {
      if (required) report(Code::Required, path, what(path) + " is required");
      return {};
    }
    if (!node->is_string()) {
      report(Code::InvalidType, path, what(path) + " must be a string, got " + typeName(*node));
      return {};
    }
    if (required && node->as_string().empty()) {
      report(Code::Required, path, what(path) + " must not be empty");
    }
    return node->as_string();
  }

  std::optional<bool> boolean(const value& object, const std::string& parent,
                              std::string_view name) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) {
      report(Code::InvalidType, path, what(path) + " must be a boolean, got " + typeName(*node));
      return std::nullopt;
    }
    return node->as_bool();
  }

  std::int64_t integer(const value& object, const std::string& parent, std::string_view name) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) return 0;
    if (!node->is_integer() || !node->as_number().is_int64()) {
      report(Code::InvalidType, path, what(path) + " must be an integer, got " + typeName(*node));
      return 0;
    }
    return node->as_number().to_int64();
  }

  std::optional<domain::Timestamp> timestamp(const value& object, const std::string& parent,
                                             std::string_view name, bool required = false) {
    std::string path = child(parent, name);
    std::string text = string(object, parent, name, required);
    if (text.empty()) return std::nullopt;
    auto parsed = domain::parseTimestamp(text);
    if (!parsed) {
      report(Code::InvalidValue, path,
             what(path) + " \"" + text +
                 "\" is not an RFC 3339 date-time: write it like 2026-11-01T00:00:00Z");
    }
    return parsed;
  }

  std::vector<std::string> strings(const value& object, const std::string& parent,
                                   std::string_view name) {
    std::vector<std::string> out;
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) return out;
    if (!node->is_array()) {
      report(Code::InvalidType, path, what(path) + " must be an array, got " + typeName(*node));
      return out;
    }
    const auto& items = node->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!items.at(i).is_string()) {
        report(Code::InvalidType, index(path, i),
               what(index(path, i)) + " must be a string, got " + typeName(items.at(i)));
        continue;
      }
      out.push_back(items.at(i).as_string());
    }
    return out;
  }

  std::map<std::string, std::string> stringMap(const value& object, const std::string& parent,
                                               std::string_view name) {
    std::map<std::string, std::string> out;
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) return out;
    if (!node->is_object()) {
      report(Code::InvalidType, path, what(path) + " must be an object, got " + typeName(*node));
      return out;
    }
    for (const auto& [key, item] : node->as_object()) {
      if (!item.is_string()) {
        std::string itemPath = path + "[" + key + "]";
        report(Code::InvalidType, itemPath,
               what(itemPath) + " must be a string, got " + typeName(item) +
                   " (quote values such as \"true\" or \"1\")");
        continue;
      }
      out.emplace(key, item.as_string());
    }
    return out;
  }

  // An enumerated string; `values` pairs each accepted spelling with its domain value.
  template <typename E, std::size_t N>
  std::optional<E> enumeration(const value& object, const std::string& parent,
                               std::string_view name,
                               const std::array<std::pair<std::string_view, E>, N>& values,
                               Code code = Code::UnsupportedValue, bool required = false) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) {
      if (required) report(Code::Required, path, what(path) + " is required");
      return std::nullopt;
    }
    std::string text = string(object, parent, name);
    if (!node->is_string()) return std::nullopt;
    for (const auto& [spelling, result] : values) {
      if (spelling == text) return result;
    }
    std::string supported;
    for (const auto& [spelling, ignored] : values) {
      supported += (supported.empty() ? "\"" : ", \"") + std::string(spelling) + "\"";
    }
    report(
        code, path,
        what(path) + " has unsupported value \"" + text + "\": supported values are " + supported);
    return std::nullopt;
  }

  // Iterates an array of objects, calling fn(item, itemPath) for each object item.
  template <typename Fn>
  void objects(const value& object, const std::string& parent, std::string_view name, Fn fn) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr) return;
    if (!node->is_array()) {
      report(Code::InvalidType, path, what(path) + " must be an array, got " + typeName(*node));
      return;
    }
    const auto& items = node->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string itemPath = index(path, i);
      if (!items.at(i).is_object()) {
        report(Code::InvalidType, itemPath,
               what(itemPath) + " must be an object, got " + typeName(items.at(i)));
        continue;
      }
      fn(items.at(i), itemPath);
    }
  }

  // Calls fn(node, path) when the named member is present and an object with known fields.
  template <typename Fn>
  bool nested(const value& object, const std::string& parent, std::string_view name,
              std::initializer_list<std::string_view> known, Fn fn) {
    std::string path = child(parent, name);
    const value* node = member(object, name);
    if (node == nullptr || !expectObject(*node, path, known)) return false;
    fn(*node, path);
    return true;
  }

 private:
  std::string what(const std::string& path) const {
    return std::string(kindName(key_.kind)) + " " + key_.display() + " field " + path;
  }

  static std::string list(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
  }

  std::vector<Violation>& errors_;
  domain::ObjectKey key_;
};

constexpr std::array<std::pair<std::string_view, domain::Scope>, 2> kScopes = {{
    {"Organization", domain::Scope::Organization},
    {"Project", domain::Scope::Project},
}};
constexpr std::array<std::pair<std::string_view, domain::InvoicingPeriod>, 3> kPeriods = {{
    {"Monthly", domain::InvoicingPeriod::Monthly},
    {"Weekly", domain::InvoicingPeriod::Weekly},
    {"Daily", domain::InvoicingPeriod::Daily},
}};
constexpr std::array<std::pair<std::string_view, domain::PaymentMethodType>, 4> kPaymentTypes = {{
    {"Card", domain::PaymentMethodType::Card},
    {"SepaDebit", domain::PaymentMethodType::SepaDebit},
    {"AchDebit", domain::PaymentMethodType::AchDebit},
    {"BankTransfer", domain::PaymentMethodType::BankTransfer},
}};
constexpr std::array<std::pair<std::string_view, domain::ConditionStatus>, 3> kConditionStatuses = {
    {
        {"True", domain::ConditionStatus::True},
        {"False", domain::ConditionStatus::False},
        {"Unknown", domain::ConditionStatus::Unknown},
    }};
constexpr std::array<std::pair<std::string_view, domain::InvoiceState>, 4> kInvoiceStates = {{
    {"Draft", domain::InvoiceState::Draft},
    {"Finalized", domain::InvoiceState::Finalized},
    {"Paid", domain::InvoiceState::Paid},
    {"Void", domain::InvoiceState::Void},
}};

domain::ObjectMeta decodeMetadata(Reader& reader, const value& object, domain::Kind kind,
                                  const std::string& defaultNamespace) {
  domain::ObjectMeta meta;
  const value* node = reader.member(object, "metadata");
  // The key is needed for every message, so read name and namespace before reporting anything.
  if (node != nullptr && node->is_object()) {
    const auto& members = node->as_object();
    auto name = members.find("name");
    if (name != members.end() && name->second.is_string()) meta.name = name->second.as_string();
    auto ns = members.find("namespace");
    if (ns != members.end() && ns->second.is_string()) meta.ns = ns->second.as_string();
  }
  if (kind != domain::Kind::Namespace && meta.ns.empty()) meta.ns = defaultNamespace;
  reader.setObject({kind, kind == domain::Kind::Namespace ? "" : meta.ns, meta.name});
  if (node == nullptr) {
    reader.report(Code::Required, "metadata", std::string(kindName(kind)) + " has no metadata");
    return meta;
  }
  if (!node->is_object()) {
    reader.report(Code::InvalidType, "metadata",
                  std::string(kindName(kind)) + " metadata must be an object");
    return meta;
  }
  // ObjectMeta has many server-managed fields (managedFields, selfLink, ...): we read what we
  // use and leave the rest alone rather than calling it unknown.
  reader.string(*node, "metadata", "name", true);
  reader.string(*node, "metadata", "namespace");
  meta.uid = reader.string(*node, "metadata", "uid");
  meta.resourceVersion = reader.string(*node, "metadata", "resourceVersion");
  meta.generation = reader.integer(*node, "metadata", "generation");
  meta.labels = reader.stringMap(*node, "metadata", "labels");
  meta.annotations = reader.stringMap(*node, "metadata", "annotations");
  meta.finalizers = reader.strings(*node, "metadata", "finalizers");
  meta.creationTimestamp = reader.timestamp(*node, "metadata", "creationTimestamp");
  meta.deletionTimestamp = reader.timestamp(*node, "metadata", "deletionTimestamp");
  reader.objects(*node, "metadata", "ownerReferences", [&](const value& item, const auto& path) {
    domain::OwnerReference owner;
    owner.apiVersion = reader.string(item, path, "apiVersion", true);
    owner.kind = reader.string(item, path, "kind", true);
    owner.name = reader.string(item, path, "name", true);
    owner.uid = reader.string(item, path, "uid", true);
    owner.controller = reader.boolean(item, path, "controller").value_or(false);
    owner.blockOwnerDeletion = reader.boolean(item, path, "blockOwnerDeletion").value_or(false);
    meta.ownerReferences.push_back(std::move(owner));
  });
  return meta;
}

std::vector<domain::Condition> decodeConditions(Reader& reader, const value& status,
                                                const std::string& path) {
  std::vector<domain::Condition> conditions;
  reader.objects(status, path, "conditions", [&](const value& item, const std::string& itemPath) {
    reader.expectObject(
        item, itemPath,
        {"type", "status", "reason", "message", "observedGeneration", "lastTransitionTime"});
    domain::Condition condition;
    condition.type = reader.string(item, itemPath, "type", true);
    condition.status = reader.enumeration(item, itemPath, "status", kConditionStatuses)
                           .value_or(domain::ConditionStatus::Unknown);
    condition.reason = reader.string(item, itemPath, "reason");
    condition.message = reader.string(item, itemPath, "message");
    condition.observedGeneration = reader.integer(item, itemPath, "observedGeneration");
    condition.lastTransitionTime = reader.timestamp(item, itemPath, "lastTransitionTime");
    conditions.push_back(std::move(condition));
  });
  return conditions;
}

// Checks apiVersion and kind against what the decoder was asked for.
void checkType(Reader& reader, const value& object, std::string_view apiVersion,
               std::string_view kind) {
  std::string actualVersion = reader.string(object, "", "apiVersion", true);
  std::string actualKind = reader.string(object, "", "kind", true);
  if (!actualVersion.empty() && actualVersion != apiVersion) {
    reader.report(Code::UnsupportedValue, "apiVersion",
                  std::string(kind) + " apiVersion \"" + actualVersion + "\" is not served: use " +
                      std::string(apiVersion));
  }
  if (!actualKind.empty() && actualKind != kind) {
    reader.report(Code::InvalidValue, "kind",
                  "expected kind " + std::string(kind) + ", got " + actualKind);
  }
}

void decodeBillingGroupSpec(Reader& reader, const value& spec, domain::BillingGroupSpec& out) {
  const std::string p = "spec";
  if (!reader.expectObject(spec, p,
                           {"displayName", "scope", "projectRef", "currency", "billingEmails",
                            "billingContactEmails", "company", "address", "vatId", "paymentMethod",
                            "invoiceText", "invoicing", "credits"})) {
    return;
  }
  out.displayName = reader.string(spec, p, "displayName");
  out.scope = reader.enumeration(spec, p, "scope", kScopes, Code::InvalidScope)
                  .value_or(domain::Scope::Organization);
  reader.nested(spec, p, "projectRef", {"name"}, [&](const value& ref, const std::string& path) {
    out.projectRef = domain::LocalObjectReference{reader.string(ref, path, "name", true)};
  });
  out.currency = reader.string(spec, p, "currency", true);
  out.billingEmails = reader.strings(spec, p, "billingEmails");
  out.billingContactEmails = reader.strings(spec, p, "billingContactEmails");
  out.company = reader.string(spec, p, "company");
  reader.nested(spec, p, "address", {"lines", "city", "state", "zipCode", "countryCode"},
                [&](const value& node, const std::string& path) {
                  domain::Address address;
                  address.lines = reader.strings(node, path, "lines");
                  address.city = reader.string(node, path, "city");
                  address.state = reader.string(node, path, "state");
                  address.zipCode = reader.string(node, path, "zipCode");
                  address.countryCode = reader.string(node, path, "countryCode");
                  out.address = std::move(address);
                });
  out.vatId = reader.string(spec, p, "vatId");
  reader.nested(
      spec, p, "paymentMethod", {"type", "secretRef"},
      [&](const value& node, const std::string& path) {
        domain::PaymentMethod method;
        method.type =
            reader.enumeration(node, path, "type", kPaymentTypes, Code::UnsupportedValue, true)
                .value_or(domain::PaymentMethodType::BankTransfer);
        reader.nested(node, path, "secretRef", {"name", "key"},
                      [&](const value& ref, const std::string& refPath) {
                        method.secretRef =
                            domain::SecretKeySelector{reader.string(ref, refPath, "name", true),
                                                      reader.string(ref, refPath, "key", true)};
                      });
        out.paymentMethod = std::move(method);
      });
  out.invoiceText = reader.string(spec, p, "invoiceText");
  reader.nested(spec, p, "invoicing", {"period"}, [&](const value& node, const std::string& path) {
    out.invoicing.period = reader.enumeration(node, path, "period", kPeriods)
                               .value_or(domain::InvoicingPeriod::Monthly);
  });
  reader.objects(spec, p, "credits", [&](const value& item, const std::string& path) {
    reader.expectObject(item, path, {"id", "amount", "description", "expiresAt"});
    domain::CreditGrant grant;
    grant.id = reader.string(item, path, "id", true);
    grant.amount = reader.string(item, path, "amount", true);
    grant.description = reader.string(item, path, "description");
    grant.expiresAt = reader.timestamp(item, path, "expiresAt");
    out.credits.push_back(std::move(grant));
  });
}

void decodeBillingGroupStatus(Reader& reader, const value& status,
                              domain::BillingGroupStatus& out) {
  const std::string p = "status";
  if (!reader.expectObject(status, p,
                           {"organization", "projectCount", "projects", "credits", "currentPeriod",
                            "lastInvoice", "conditions", "observedGeneration"})) {
    return;
  }
  out.organization = reader.string(status, p, "organization");
  out.projectCount = reader.integer(status, p, "projectCount");
  reader.objects(status, p, "projects", [&](const value& item, const std::string& path) {
    reader.expectObject(item, path, {"namespace", "name"});
    out.projects.push_back(
        {reader.string(item, path, "namespace"), reader.string(item, path, "name")});
  });
  out.credits = reader.string(status, p, "credits");
  reader.nested(status, p, "currentPeriod", {"start", "end", "estimatedTotal"},
                [&](const value& node, const std::string& path) {
                  domain::CurrentPeriod period;
                  period.start = reader.timestamp(node, path, "start");
                  period.end = reader.timestamp(node, path, "end");
                  period.estimatedTotal = reader.string(node, path, "estimatedTotal");
                  out.currentPeriod = std::move(period);
                });
  reader.nested(status, p, "lastInvoice",
                {"name", "number", "periodStart", "periodEnd", "total", "state"},
                [&](const value& node, const std::string& path) {
                  domain::InvoiceSummary summary;
                  summary.name = reader.string(node, path, "name");
                  summary.number = reader.string(node, path, "number");
                  summary.periodStart = reader.string(node, path, "periodStart");
                  summary.periodEnd = reader.string(node, path, "periodEnd");
                  summary.total = reader.string(node, path, "total");
                  summary.state = reader.string(node, path, "state");
                  out.lastInvoice = std::move(summary);
                });
  out.conditions = decodeConditions(reader, status, p);
  out.observedGeneration = reader.integer(status, p, "observedGeneration");
}

// The parts every kind shares: type check, metadata, and the presence of spec.
template <typename Object>
const value* decodeEnvelope(Reader& reader, const value& object, domain::Kind kind,
                            const DecodeOptions& options, Object& out) {
  out.metadata = decodeMetadata(reader, object, kind, options.defaultNamespace);
  if (!object.is_object()) return nullptr;
  checkType(reader, object, domain::kApiVersion, kindName(kind));
  reader.expectObject(object, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  const value* spec = reader.member(object, "spec");
  if (spec == nullptr) {
    reader.report(
        Code::Required, "spec",
        std::string(kindName(kind)) + " " + out.key().display() + " field spec is required");
  }
  return spec;
}

web::json::value str(const std::string& s) { return value::string(s); }

void setIfNotEmpty(value& object, const char* name, const std::string& text) {
  if (!text.empty()) object[name] = str(text);
}

void setIfSet(value& object, const char* name, const std::optional<domain::Timestamp>& t) {
  if (t) object[name] = str(domain::formatTimestamp(*t));
}

value stringArray(const std::vector<std::string>& items) {
  value array = value::array(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) array[i] = str(items[i]);
  return array;
}

value stringObject(const std::map<std::string, std::string>& items) {
  value object = value::object(true);
  for (const auto& [key, text] : items) object[key] = str(text);
  return object;
}

value encodeConditions(const std::vector<domain::Condition>& conditions) {
  value array = value::array(conditions.size());
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    const auto& c = conditions[i];
    value node = value::object(true);
    node["type"] = str(c.type);
    node["status"] = str(std::string(domain::conditionStatusName(c.status)));
    node["reason"] = str(c.reason);
    node["message"] = str(c.message);
    node["observedGeneration"] = value::number(c.observedGeneration);
    setIfSet(node, "lastTransitionTime", c.lastTransitionTime);
    array[i] = std::move(node);
  }
  return array;
}

value envelope(std::string_view apiVersion, std::string_view kind, const domain::ObjectMeta& meta) {
  value object = value::object(true);
  object["apiVersion"] = str(std::string(apiVersion));
  object["kind"] = str(std::string(kind));
  object["metadata"] = encodeMetadata(meta);
  return object;
}

}  // namespace

ObjectType classify(const value& object) {
  ObjectType type;
  if (!object.is_object()) return type;
  const auto& members = object.as_object();
  auto apiVersion = members.find("apiVersion");
  auto kind = members.find("kind");
  if (apiVersion == members.end() || kind == members.end() || !apiVersion->second.is_string() ||
      !kind->second.is_string()) {
    return type;
  }
  type.apiVersion = apiVersion->second.as_string();
  type.kindName = kind->second.as_string();
  if (type.apiVersion == "v1" && type.kindName == "Namespace") {
    type.category = ObjectType::Category::Namespace;
    type.kind = domain::Kind::Namespace;
    return type;
  }
  std::string groupPrefix = std::string(domain::kGroup) + "/";
  if (!type.apiVersion.starts_with(groupPrefix)) {
    type.category = ObjectType::Category::Other;
    return type;
  }
  constexpr std::array<domain::Kind, 3> kKinds = {domain::Kind::BillingGroup, domain::Kind::Project,
                                                  domain::Kind::Invoice};
  for (domain::Kind k : kKinds) {
    if (domain::kindName(k) == type.kindName) {
      type.kind = k;
      type.category = type.apiVersion == domain::kApiVersion ? ObjectType::Category::Billing
                                                             : ObjectType::Category::Unsupported;
      return type;
    }
  }
  type.category = ObjectType::Category::Unsupported;
  return type;
}

Decoded<domain::Namespace> decodeNamespace(const value& object) {
  Decoded<domain::Namespace> result;
  Reader reader(result.errors);
  result.value.metadata = decodeMetadata(reader, object, domain::Kind::Namespace, "");
  return result;
}

Decoded<domain::BillingGroup> decodeBillingGroup(const value& object,
                                                 const DecodeOptions& options) {
  Decoded<domain::BillingGroup> result;
  Reader reader(result.errors);
  auto& group = result.value;
  if (const value* spec =
          decodeEnvelope(reader, object, domain::Kind::BillingGroup, options, group)) {
    decodeBillingGroupSpec(reader, *spec, group.spec);
  }
  const value* status = reader.member(object, "status");
  if (options.status && status != nullptr) decodeBillingGroupStatus(reader, *status, group.status);
  return result;
}

Decoded<domain::Project> decodeProject(const value& object, const DecodeOptions& options) {
  Decoded<domain::Project> result;
  Reader reader(result.errors);
  auto& project = result.value;
  const value* spec = decodeEnvelope(reader, object, domain::Kind::Project, options, project);
  if (spec != nullptr &&
      reader.expectObject(*spec, "spec", {"displayName", "billingGroupRef", "tags"})) {
    project.spec.displayName = reader.string(*spec, "spec", "displayName");
    reader.nested(*spec, "spec", "billingGroupRef", {"name", "namespace"},
                  [&](const value& ref, const std::string& path) {
                    project.spec.billingGroupRef =
                        domain::BillingGroupReference{reader.string(ref, path, "name", true),
                                                      reader.string(ref, path, "namespace")};
                  });
    project.spec.tags = reader.stringMap(*spec, "spec", "tags");
  }
  const value* status = reader.member(object, "status");
  if (options.status && status != nullptr) {
    const std::string p = "status";
    if (!reader.expectObject(
            *status, p, {"organization", "billingGroup", "conditions", "observedGeneration"})) {
      return result;
    }
    project.status.organization = reader.string(*status, p, "organization");
    reader.nested(*status, p, "billingGroup", {"name", "namespace", "scope"},
                  [&](const value& node, const std::string& path) {
                    domain::ProjectBillingGroupStatus group;
                    group.name = reader.string(node, path, "name");
                    group.ns = reader.string(node, path, "namespace");
                    group.scope = reader.enumeration(node, path, "scope", kScopes);
                    project.status.billingGroup = std::move(group);
                  });
    project.status.conditions = decodeConditions(reader, *status, p);
    project.status.observedGeneration = reader.integer(*status, p, "observedGeneration");
  }
  return result;
}

Decoded<domain::Invoice> decodeInvoice(const value& object, const DecodeOptions& options) {
  Decoded<domain::Invoice> result;
  Reader reader(result.errors);
  auto& invoice = result.value;
  const value* spec = decodeEnvelope(reader, object, domain::Kind::Invoice, options, invoice);
  if (spec != nullptr &&
      reader.expectObject(*spec, "spec",
                          {"billingGroupRef", "periodStart", "periodEnd", "finalize"})) {
    if (!reader.nested(*spec, "spec", "billingGroupRef", {"name"},
                       [&](const value& ref, const std::string& path) {
                         invoice.spec.billingGroupRef.name = reader.string(ref, path, "name", true);
                       }) &&
        reader.member(*spec, "billingGroupRef") == nullptr) {
      reader.report(
          Code::Required, "spec.billingGroupRef",
          "Invoice " + invoice.key().display() + " field spec.billingGroupRef is required");
    }
    invoice.spec.periodStart = reader.timestamp(*spec, "spec", "periodStart", true);
    invoice.spec.periodEnd = reader.timestamp(*spec, "spec", "periodEnd", true);
    invoice.spec.finalize = reader.boolean(*spec, "spec", "finalize").value_or(false);
  }
  const value* status = reader.member(object, "status");
  if (options.status && status != nullptr) {
    const std::string p = "status";
    auto& s = invoice.status;
    if (!reader.expectObject(
            *status, p,
            {"number", "state", "currency", "subtotal", "creditsApplied", "total", "projectTotals",
             "periodStart", "periodEnd", "backendInvoiceId", "conditions", "observedGeneration"})) {
      return result;
    }
    s.number = reader.string(*status, p, "number");
    s.state = reader.enumeration(*status, p, "state", kInvoiceStates);
    s.currency = reader.string(*status, p, "currency");
    s.subtotal = reader.string(*status, p, "subtotal");
    s.creditsApplied = reader.string(*status, p, "creditsApplied");
    s.total = reader.string(*status, p, "total");
    reader.objects(*status, p, "projectTotals", [&](const value& item, const std::string& path) {
      reader.expectObject(item, path, {"project", "amount"});
      s.projectTotals.push_back(
          {reader.string(item, path, "project"), reader.string(item, path, "amount")});
    });
    s.periodStart = reader.timestamp(*status, p, "periodStart");
    s.periodEnd = reader.timestamp(*status, p, "periodEnd");
    s.backendInvoiceId = reader.string(*status, p, "backendInvoiceId");
    s.conditions = decodeConditions(reader, *status, p);
    s.observedGeneration = reader.integer(*status, p, "observedGeneration");
  }
  return result;
}

value encodeMetadata(const domain::ObjectMeta& meta) {
  value node = value::object(true);
  node["name"] = str(meta.name);
  setIfNotEmpty(node, "namespace", meta.ns);
  setIfNotEmpty(node, "uid", meta.uid);
  setIfNotEmpty(node, "resourceVersion", meta.resourceVersion);
  if (meta.generation != 0) node["generation"] = value::number(meta.generation);
  if (!meta.labels.empty()) node["labels"] = stringObject(meta.labels);
  if (!meta.annotations.empty()) node["annotations"] = stringObject(meta.annotations);
  if (!meta.ownerReferences.empty()) {
    value owners = value::array(meta.ownerReferences.size());
    for (std::size_t i = 0; i < meta.ownerReferences.size(); ++i) {
      const auto& o = meta.ownerReferences[i];
      value owner = value::object(true);
      owner["apiVersion"] = str(o.apiVersion);
      owner["kind"] = str(o.kind);
      owner["name"] = str(o.name);
      owner["uid"] = str(o.uid);
      if (o.controller) owner["controller"] = value::boolean(true);
      if (o.blockOwnerDeletion) owner["blockOwnerDeletion"] = value::boolean(true);
      owners[i] = std::move(owner);
    }
    node["ownerReferences"] = std::move(owners);
  }
  if (!meta.finalizers.empty()) node["finalizers"] = stringArray(meta.finalizers);
  setIfSet(node, "creationTimestamp", meta.creationTimestamp);
  setIfSet(node, "deletionTimestamp", meta.deletionTimestamp);
  return node;
}

value encodeStatus(const domain::BillingGroupStatus& status) {
  value node = value::object(true);
  setIfNotEmpty(node, "organization", status.organization);
  node["projectCount"] = value::number(status.projectCount);
  value projects = value::array(status.projects.size());
  for (std::size_t i = 0; i < status.projects.size(); ++i) {
    value item = value::object(true);
    item["namespace"] = str(status.projects[i].ns);
    item["name"] = str(status.projects[i].name);
    projects[i] = std::move(item);
  }
  node["projects"] = std::move(projects);
  setIfNotEmpty(node, "credits", status.credits);
  if (status.currentPeriod) {
    value period = value::object(true);
    setIfSet(period, "start", status.currentPeriod->start);
    setIfSet(period, "end", status.currentPeriod->end);
    setIfNotEmpty(period, "estimatedTotal", status.currentPeriod->estimatedTotal);
    node["currentPeriod"] = std::move(period);
  }
  if (status.lastInvoice) {
    const auto& last = *status.lastInvoice;
    value invoice = value::object(true);
    setIfNotEmpty(invoice, "name", last.name);
    setIfNotEmpty(invoice, "number", last.number);
    setIfNotEmpty(invoice, "periodStart", last.periodStart);
    setIfNotEmpty(invoice, "periodEnd", last.periodEnd);
    setIfNotEmpty(invoice, "total", last.total);
    setIfNotEmpty(invoice, "state", last.state);
    node["lastInvoice"] = std::move(invoice);
  }
  node["conditions"] = encodeConditions(status.conditions);
  node["observedGeneration"] = value::number(status.observedGeneration);
  return node;
}

value encodeStatus(const domain::ProjectStatus& status) {
  value node = value::object(true);
  setIfNotEmpty(node, "organization", status.organization);
  if (status.billingGroup) {
    value group = value::object(true);
    group["name"] = str(status.billingGroup->name);
    group["namespace"] = str(status.billingGroup->ns);
    if (status.billingGroup->scope) {
      group["scope"] = str(std::string(domain::scopeName(*status.billingGroup->scope)));
    }
    node["billingGroup"] = std::move(group);
  }
  node["conditions"] = encodeConditions(status.conditions);
  node["observedGeneration"] = value::number(status.observedGeneration);
  return node;
}

value encodeStatus(const domain::InvoiceStatus& status) {
  value node = value::object(true);
  setIfNotEmpty(node, "number", status.number);
  if (status.state) node["state"] = str(std::string(domain::invoiceStateName(*status.state)));
  setIfNotEmpty(node, "currency", status.currency);
  setIfNotEmpty(node, "subtotal", status.subtotal);
  setIfNotEmpty(node, "creditsApplied", status.creditsApplied);
  setIfNotEmpty(node, "total", status.total);
  if (!status.projectTotals.empty()) {
    value totals = value::array(status.projectTotals.size());
    for (std::size_t i = 0; i < status.projectTotals.size(); ++i) {
      value item = value::object(true);
      item["project"] = str(status.projectTotals[i].project);
      item["amount"] = str(status.projectTotals[i].amount);
      totals[i] = std::move(item);
    }
    node["projectTotals"] = std::move(totals);
  }
  setIfSet(node, "periodStart", status.periodStart);
  setIfSet(node, "periodEnd", status.periodEnd);
  setIfNotEmpty(node, "backendInvoiceId", status.backendInvoiceId);
  node["conditions"] = encodeConditions(status.conditions);
  node["observedGeneration"] = value::number(status.observedGeneration);
  return node;
}

value encode(const domain::Namespace& ns) { return envelope("v1", "Namespace", ns.metadata); }

value encode(const domain::BillingGroup& group) {
  value object = envelope(domain::kApiVersion, "BillingGroup", group.metadata);
  const auto& s = group.spec;
  value spec = value::object(true);
  setIfNotEmpty(spec, "displayName", s.displayName);
  spec["scope"] = str(std::string(domain::scopeName(s.scope)));
  if (s.projectRef) {
    value ref = value::object(true);
    ref["name"] = str(s.projectRef->name);
    spec["projectRef"] = std::move(ref);
  }
  spec["currency"] = str(s.currency);
  if (!s.billingEmails.empty()) spec["billingEmails"] = stringArray(s.billingEmails);
  if (!s.billingContactEmails.empty()) {
    spec["billingContactEmails"] = stringArray(s.billingContactEmails);
  }
  setIfNotEmpty(spec, "company", s.company);
  if (s.address) {
    value address = value::object(true);
    if (!s.address->lines.empty()) address["lines"] = stringArray(s.address->lines);
    setIfNotEmpty(address, "city", s.address->city);
    setIfNotEmpty(address, "state", s.address->state);
    setIfNotEmpty(address, "zipCode", s.address->zipCode);
    setIfNotEmpty(address, "countryCode", s.address->countryCode);
    spec["address"] = std::move(address);
  }
  setIfNotEmpty(spec, "vatId", s.vatId);
  if (s.paymentMethod) {
    value method = value::object(true);
    method["type"] = str(std::string(domain::paymentMethodTypeName(s.paymentMethod->type)));
    if (s.paymentMethod->secretRef) {
      value ref = value::object(true);
      ref["name"] = str(s.paymentMethod->secretRef->name);
      ref["key"] = str(s.paymentMethod->secretRef->key);
      method["secretRef"] = std::move(ref);
    }
    spec["paymentMethod"] = std::move(method);
  }
  setIfNotEmpty(spec, "invoiceText", s.invoiceText);
  value invoicing = value::object(true);
  invoicing["period"] = str(std::string(domain::invoicingPeriodName(s.invoicing.period)));
  spec["invoicing"] = std::move(invoicing);
  if (!s.credits.empty()) {
    value credits = value::array(s.credits.size());
    for (std::size_t i = 0; i < s.credits.size(); ++i) {
      value grant = value::object(true);
      grant["id"] = str(s.credits[i].id);
      grant["amount"] = str(s.credits[i].amount);
      setIfNotEmpty(grant, "description", s.credits[i].description);
      setIfSet(grant, "expiresAt", s.credits[i].expiresAt);
      credits[i] = std::move(grant);
    }
    spec["credits"] = std::move(credits);
  }
  object["spec"] = std::move(spec);
  object["status"] = encodeStatus(group.status);
  return object;
}

value encode(const domain::Project& project) {
  value object = envelope(domain::kApiVersion, "Project", project.metadata);
  value spec = value::object(true);
  setIfNotEmpty(spec, "displayName", project.spec.displayName);
  if (project.spec.billingGroupRef) {
    value ref = value::object(true);
    ref["name"] = str(project.spec.billingGroupRef->name);
    setIfNotEmpty(ref, "namespace", project.spec.billingGroupRef->ns);
    spec["billingGroupRef"] = std::move(ref);
  }
  if (!project.spec.tags.empty()) spec["tags"] = stringObject(project.spec.tags);
  object["spec"] = std::move(spec);
  object["status"] = encodeStatus(project.status);
  return object;
}

value encode(const domain::Invoice& invoice) {
  value object = envelope(domain::kApiVersion, "Invoice", invoice.metadata);
  value spec = value::object(true);
  value ref = value::object(true);
  ref["name"] = str(invoice.spec.billingGroupRef.name);
  spec["billingGroupRef"] = std::move(ref);
  setIfSet(spec, "periodStart", invoice.spec.periodStart);
  setIfSet(spec, "periodEnd", invoice.spec.periodEnd);
  spec["finalize"] = value::boolean(invoice.spec.finalize);
  object["spec"] = std::move(spec);
  object["status"] = encodeStatus(invoice.status);
  return object;
}

}  // namespace billing::codec
