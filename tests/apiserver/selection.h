// What a list, watch or deletecollection selects: a label selector and a field selector parsed
// for one resource type, and the continue tokens of paginated lists.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <expected>
#include <string>

#include "tests/apiserver/resource_registry.h"
#include "tests/apiserver/selectors.h"

namespace billing::apiserver {

class ObjectSelector {
 public:
  // Errors are the 400 messages kube-apiserver gives for these query parameters.
  static std::expected<ObjectSelector, std::string> parse(const ResourceType& type,
                                                          const std::string& labelSelector,
                                                          const std::string& fieldSelector);
  // `object` as stored (Events: core v1, whichever API the selector was parsed for).
  bool matches(const web::json::value& object) const;
  bool empty() const { return labels_.empty() && fields_.empty(); }

 private:
  Selector labels_;
  FieldSelector fields_;
  FieldSelectorSupport support_;
  bool events_ = false;  // fields come from eventSelectableFields (events.h)
};

// The fields a kind can be selected on, and how kube words an unsupported one.
FieldSelectorSupport fieldSelectorSupport(const ResourceType& type);

struct ContinueToken {
  std::uint64_t revision = 0;
  std::string lastKey;  // "namespace/name" of the last item served
};
std::string encodeContinueToken(const ContinueToken& token);
std::expected<ContinueToken, std::string> decodeContinueToken(const std::string& text);

}  // namespace billing::apiserver
