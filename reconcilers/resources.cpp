#include "reconcilers/resources.h"

#include <string>

#include "reconcilers/domain/model.h"

namespace billing::reconcilers {

const kube::ResourceRef& namespacesResource() {
  static const kube::ResourceRef resource{"", "v1", "namespaces", "Namespace", false};
  return resource;
}

const kube::ResourceRef& billingGroupsResource() {
  static const kube::ResourceRef resource{std::string(domain::kGroup),
                                          std::string(domain::kVersion), "billinggroups",
                                          "BillingGroup", true};
  return resource;
}

const kube::ResourceRef& projectsResource() {
  static const kube::ResourceRef resource{
      std::string(domain::kGroup), std::string(domain::kVersion), "projects", "Project", true};
  return resource;
}

const kube::ResourceRef& invoicesResource() {
  static const kube::ResourceRef resource{
      std::string(domain::kGroup), std::string(domain::kVersion), "invoices", "Invoice", true};
  return resource;
}

}  // namespace billing::reconcilers
