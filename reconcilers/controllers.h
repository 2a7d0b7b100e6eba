// Wiring of the reconcilers into a runtime::Manager: the informers they read (Namespaces,
// BillingGroups, Projects, Invoices), the controllers, and the mappers that bring an object back
// when something it depends on changes. A Namespace's label decides the organization (R10), so a
// label change reconciles every group and project in it and every project using its groups.
#pragma once

#include <memory>
#include <utility>

#include "operator/runtime/controller.h"
#include "operator/runtime/manager.h"
#include "operator/runtime/store.h"
#include "reconcilers/backend/billing_backend.h"
#include "reconcilers/invoicing.h"
#include "reconcilers/reconciler_support.h"

namespace billing::reconcilers {

struct ControllerSetup {
  ReconcilerOptions reconciler;
  // Period close, retention and Invoice re-reads. With a backend, addControllers sets the
  // reconciler's finalInvoice and closePeriods hooks to the invoicing unless they are set already.
  InvoicingOptions invoicing;
  int workers = 2;
  Clock now = systemNow;
};

struct Controllers {
  runtime::Controller* projects = nullptr;
  runtime::Controller* billingGroups = nullptr;
  runtime::Controller* invoices = nullptr;
};

// Adds the Project, BillingGroup and Invoice controllers to `manager`. `backend` must outlive it;
// null means no billing backend (invoicing off: see ReconcilerDeps::backend).
Controllers addControllers(runtime::Manager& manager, backend::BillingBackend* backend,
                           ControllerSetup setup = {});
inline Controllers addControllers(runtime::Manager& manager, backend::BillingBackend& backend,
                                  ControllerSetup setup = {}) {
  return addControllers(manager, &backend, std::move(setup));
}

// ---- mappers (exposed for tests) ----

// A BillingGroup -> the projects that use or may use it: those referencing it, the project it is
// bound to or was created for, and its recorded members.
runtime::Mapper projectsOfGroup(const runtime::Store& projects);
// A Namespace -> its projects and the projects referencing its groups.
runtime::Mapper projectsOfNamespace(const runtime::Store& projects, const runtime::Store& groups);
// A Project -> the groups it references, belonged to, is bound to or would get by default.
runtime::Mapper groupsOfProject(const runtime::Store& groups);
// A Namespace -> its groups.
runtime::Mapper groupsOfNamespace(const runtime::Store& groups);
// A BillingGroup -> the Invoices that reference it.
runtime::Mapper invoicesOfGroup(const runtime::Store& invoices);
// Lets Namespace events through unless an update leaves labels and annotations unchanged.
runtime::Predicate namespaceLabelsChanged();

}  // namespace billing::reconcilers
