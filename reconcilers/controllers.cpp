#include "reconcilers/controllers.h"

#include <set>

#include "common/json.h"
#include "reconcilers/billing_group_reconciler.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/invoice_reconciler.h"
#include "reconcilers/invoicing.h"
#include "reconcilers/project_reconciler.h"
#include "reconcilers/resources.h"

namespace billing::reconcilers {
namespace {

using web::json::value;

// Collects requests once each, in a stable order.
class Requests {
 public:
  void add(std::string ns, std::string name) {
    if (name.empty()) return;
    if (seen_.insert(ns + "/" + name).second) out_.push_back({std::move(ns), std::move(name)});
  }
  void addObject(const runtime::ObjectPtr& object) {
    if (object) add(runtime::objectNamespace(*object), runtime::objectName(*object));
  }
  std::vector<runtime::Request> take() { return std::move(out_); }

 private:
  std::set<std::string> seen_;
  std::vector<runtime::Request> out_;
};

const value& metadataOf(const value& object) {
  static const value empty = value::object();
  const value* node = common::findMember(object, {"metadata"});
  return node != nullptr ? *node : empty;
}

}  // namespace

runtime::Mapper projectsOfGroup(const runtime::Store& projects) {
  return [&projects](const value& group) {
    Requests requests;
    const std::string ns = runtime::objectNamespace(group);
    const std::string name = runtime::objectName(group);
    for (const auto& project :
         projects.byIndex(runtime::kBillingGroupRefIndex, runtime::objectKey(ns, name))) {
      requests.addObject(project);
    }
    requests.add(ns, common::stringAt(group, {"spec", "projectRef", "name"}));
    requests.add(ns, common::stringAt(metadataOf(group),
                                      {"annotations", domain::kDefaultGroupOfAnnotation}));
    if (const value* members = common::findMember(group, {"status", "projects"});
        members != nullptr && members->is_array()) {
      for (const value& item : members->as_array()) {
        requests.add(common::stringAt(item, {"namespace"}), common::stringAt(item, {"name"}));
      }
    }
    return requests.take();
  };
}

runtime::Mapper projectsOfNamespace(const runtime::Store& projects, const runtime::Store& groups) {
  return [&projects, &groups](const value& ns) {
    Requests requests;
    const std::string name = runtime::objectName(ns);
    for (const auto& project : projects.byIndex(runtime::kNamespaceIndex, name)) {
      requests.addObject(project);
    }
    for (const auto& group : groups.byIndex(runtime::kNamespaceIndex, name)) {
      for (const auto& project :
           projects.byIndex(runtime::kBillingGroupRefIndex,
                            runtime::objectKey(name, runtime::objectName(*group)))) {
        requests.addObject(project);
      }
    }
    return requests.take();
  };
}

runtime::Mapper groupsOfProject(const runtime::Store& groups) {
  return [&groups](const value& project) {
    Requests requests;
    const std::string ns = runtime::objectNamespace(project);
    const std::string name = runtime::objectName(project);
    const std::string refName = common::stringAt(project, {"spec", "billingGroupRef", "name"});
    const std::string refNs = common::stringAt(project, {"spec", "billingGroupRef", "namespace"});
    requests.add(refNs.empty() ? ns : refNs, refName);
    requests.add(common::stringAt(project, {"status", "billingGroup", "namespace"}),
                 common::stringAt(project, {"status", "billingGroup", "name"}));
    requests.add(ns, domain::defaultGroupName(name));
    for (const auto& group : groups.byIndex(runtime::kNamespaceIndex, ns)) {
      if (common::stringAt(*group, {"spec", "projectRef", "name"}) == name)
        requests.addObject(group);
    }
    return requests.take();
  };
}

runtime::Mapper groupsOfNamespace(const runtime::Store& groups) {
  return [&groups](const value& ns) {
    Requests requests;
    for (const auto& group : groups.byIndex(runtime::kNamespaceIndex, runtime::objectName(ns))) {
      requests.addObject(group);
    }
    return requests.take();
  };
}

runtime::Mapper invoicesOfGroup(const runtime::Store& invoices) {
  return [&invoices](const value& group) {
    Requests requests;
    for (const auto& invoice : invoices.byIndex(
             runtime::kBillingGroupRefIndex,
             runtime::objectKey(runtime::objectNamespace(group), runtime::objectName(group)))) {
      requests.addObject(invoice);
    }
    return requests.take();
  };
}

runtime::Predicate namespaceLabelsChanged() {
  return [](const runtime::InformerEvent& event) {
    if (event.type != runtime::InformerEventType::Modified || !event.object || !event.oldObject) {
      return true;
    }
    const value& now = metadataOf(*event.object);
    const value& before = metadataOf(*event.oldObject);
    for (const char* field : {"labels", "annotations"}) {
      const value* a = common::findMember(now, {field});
      const value* b = common::findMember(before, {field});
      if ((a == nullptr) != (b == nullptr)) return true;
      if (a != nullptr && !(*a == *b)) return true;
    }
    return false;
  };
}

Controllers addControllers(runtime::Manager& manager, backend::BillingBackend* backend,
                           ControllerSetup setup) {
  runtime::Informer& namespaces = manager.informer(namespacesResource());
  runtime::Informer& groups = manager.informer(billingGroupsResource());
  runtime::Informer& projects = manager.informer(projectsResource());
  runtime::Informer& invoices = manager.informer(invoicesResource());
  const Caches caches{&namespaces.store(), &groups.store(), &projects.store(), &invoices.store()};

  auto deps = [&](std::string_view name) {
    return ReconcilerDeps{manager.client(), backend,
                          caches,           eventSinkFor(manager.events()),
                          setup.now,        manager.logger().withName(name)};
  };

  if (backend != nullptr) {
    // The invoicing shares the controllers' dependencies; the hooks keep it alive.
    auto invoicing = std::make_shared<GroupInvoicing>(deps("invoicing"), setup.invoicing);
    if (!setup.reconciler.finalInvoice) {
      setup.reconciler.finalInvoice = [invoicing](const domain::BillingGroup& group,
                                                  domain::Timestamp closeAt) {
        return invoicing->finalInvoice(group, closeAt);
      };
    }
    if (!setup.reconciler.closePeriods) {
      setup.reconciler.closePeriods = [invoicing](const domain::BillingGroup& group,
                                                  domain::BillingGroupStatus& status) {
        return invoicing->closePeriods(group, status);
      };
    }
  }

  Controllers controllers;
  runtime::ControllerOptions projectOptions;
  projectOptions.name = "project";
  projectOptions.workers = setup.workers;
  controllers.projects = &manager.addController(
      projectOptions, std::make_shared<ProjectReconciler>(deps("project"), setup.reconciler));
  controllers.projects->watchPrimary(projects);
  controllers.projects->watch(groups, projectsOfGroup(projects.store()));
  controllers.projects->watch(namespaces, projectsOfNamespace(projects.store(), groups.store()),
                              namespaceLabelsChanged());

  runtime::ControllerOptions groupOptions;
  groupOptions.name = "billinggroup";
  groupOptions.workers = setup.workers;
  controllers.billingGroups = &manager.addController(
      groupOptions,
      std::make_shared<BillingGroupReconciler>(deps("billinggroup"), setup.reconciler));
  controllers.billingGroups->watchPrimary(groups);
  controllers.billingGroups->watch(projects, groupsOfProject(groups.store()));
  controllers.billingGroups->watch(namespaces, groupsOfNamespace(groups.store()),
                                   namespaceLabelsChanged());

  runtime::ControllerOptions invoiceOptions;
  invoiceOptions.name = "invoice";
  invoiceOptions.workers = setup.workers;
  controllers.invoices = &manager.addController(
      invoiceOptions, std::make_shared<InvoiceReconciler>(deps("invoice"), setup.invoicing));
  controllers.invoices->watchPrimary(invoices);
  controllers.invoices->watch(groups, invoicesOfGroup(invoices.store()));
  return controllers;
}

}  // namespace billing::reconcilers
