// Conditions as the Kubernetes API conventions define them: one entry per type, a CamelCase
// reason, observedGeneration, and a lastTransitionTime that only moves when the status does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/violation.h"

namespace billing::domain {

inline constexpr std::string_view kConditionReady = "Ready";

// Sets (adds or replaces) the condition of `update.type`. lastTransitionTime is `now` when the
// status changes or the condition is new, and kept otherwise, so a reconcile that finds nothing
// new leaves the object unchanged.
void setCondition(std::vector<Condition>& conditions, Condition update, Timestamp now);

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);

// The reason a condition shows for a violation: its stable code, which is CamelCase already
// (BillingGroupNotFound, CrossOrganization, ...).
std::string reasonFor(const Violation& violation);

}  // namespace billing::domain
