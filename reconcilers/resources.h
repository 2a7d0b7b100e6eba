// The Kubernetes resources the reconcilers read and write, and the finalizers they own.
#pragma once

#include <string_view>

#include "operator/kube/client.h"

namespace billing::reconcilers {

// Held on every Project until its backend membership has been ended (deletion time recorded).
inline constexpr std::string_view kProjectFinalizer = "billing.operator.dev/membership";
// Held on every BillingGroup while projects remain (R6) and until its backend account is closed.
inline constexpr std::string_view kBillingGroupFinalizer = "billing.operator.dev/finalizer";

const kube::ResourceRef& namespacesResource();
const kube::ResourceRef& billingGroupsResource();
const kube::ResourceRef& projectsResource();
const kube::ResourceRef& invoicesResource();

}  // namespace billing::reconcilers
