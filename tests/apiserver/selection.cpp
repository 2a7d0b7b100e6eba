#include "tests/apiserver/selection.h"

#include "common/json.h"
#include "common/tls.h"
#include "tests/apiserver/events.h"

namespace billing::apiserver {

using web::json::value;

FieldSelectorSupport fieldSelectorSupport(const ResourceType& type) {
  if (type.custom()) return FieldSelectorSupport::customResource(type.namespaced);
  if (isEventResource(type)) return eventFieldSelectorSupport(type);
  if (type.group.empty()) {
    if (type.plural == "configmaps" || type.plural == "services" ||
        type.plural == "serviceaccounts" || type.plural == "endpoints") {
      return FieldSelectorSupport::metadataOnly(type.kind);
    }
    FieldSelectorSupport support = FieldSelectorSupport::schemeDefault();
    if (type.plural == "secrets") support.fields.push_back("type");
    if (type.plural == "namespaces") support.fields.push_back("status.phase");
    return support;
  }
  FieldSelectorSupport support = FieldSelectorSupport::schemeDefault();
  support.wording = UnsupportedFieldWording::kNotAKnownFieldSelector;
  return support;
}

std::expected<ObjectSelector, std::string> ObjectSelector::parse(const ResourceType& type,
                                                                 const std::string& labelSelector,
                                                                 const std::string& fieldSelector) {
  ObjectSelector selector;
  auto labels = parseSelector(labelSelector);
  if (!labels) return std::unexpected(labels.error());
  selector.labels_ = std::move(*labels);
  auto fields = parseFieldSelector(fieldSelector);
  if (!fields) return std::unexpected(fields.error());
  selector.support_ = fieldSelectorSupport(type);
  if (auto unsupported = unsupportedField(*fields, selector.support_)) {
    return std::unexpected(*unsupported);
  }
  // Both Event APIs are selected on the stored core v1 Event: events.k8s.io labels are renamed
  // to core's, as kube's field label conversion does.
  selector.events_ = isEventResource(type);
  if (selector.events_) {
    for (FieldRequirement& requirement : fields->requirements) {
      requirement.field = coreEventFieldLabel(requirement.field);
    }
  }
  selector.fields_ = std::move(*fields);
  return selector;
}

bool ObjectSelector::matches(const value& object) const {
  if (!labels_.empty() && !apiserver::matches(labels_, labelsOf(object))) return false;
  if (!fields_.empty() && !apiserver::matches(fields_, events_ ? eventSelectableFields(object)
                                                               : fieldsOf(object, support_))) {
    return false;
  }
  return true;
}

std::string encodeContinueToken(const ContinueToken& token) {
  value body = value::object(true);
  body["v"] = value::string("meta.k8s.io/v1");
  body["rv"] = value::number(token.revision);
  body["start"] = value::string(token.lastKey);
  return common::base64Encode(common::toJson(body));
}

std::expected<ContinueToken, std::string> decodeContinueToken(const std::string& text) {
  auto decoded = common::base64Decode(text);
  if (!decoded) return std::unexpected("not base64");
  auto body = common::parseJson(*decoded);
  if (!body || !body->is_object() || !body->has_field("rv") || !body->has_field("start") ||
      !body->at("rv").is_integer() || !body->at("start").is_string()) {
    return std::unexpected("not a continue token of this server");
  }
  return ContinueToken{static_cast<std::uint64_t>(body->at("rv").as_number().to_int64()),
                       body->at("start").as_string()};
}

}  // namespace billing::apiserver
