#include "reconcilers/domain/conditions.h"

#include <algorithm>

namespace billing::domain {

void setCondition(std::vector<Condition>& conditions, Condition update, Timestamp now) {
  auto existing = std::find_if(conditions.begin(), conditions.end(),
                               [&](const Condition& c) { return c.type == update.type; });
  if (existing == conditions.end()) {
    update.lastTransitionTime = now;
    conditions.push_back(std::move(update));
    return;
  }
  update.lastTransitionTime = existing->status == update.status && existing->lastTransitionTime
                                  ? existing->lastTransitionTime
                                  : std::optional<Timestamp>(now);
  *existing = std::move(update);
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == type; });
  return it == conditions.end() ? nullptr : &*it;
}

std::string reasonFor(const Violation& violation) { return std::string(codeName(violation.code)); }

}  // namespace billing::domain
