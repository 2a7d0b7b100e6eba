// The Invoice reconciler: serves the Invoices users create (an estimate, or with spec.finalize an
// early close of an ended period) and keeps every Invoice's status in step with its backend
// invoice, re-read on a jittered interval so that Paid or Void at the backend shows up. Requests
// that cannot be served (missing group, misaligned period, finalize before the period ended, a
// second Invoice for the same group and period) get Ready=False with a CamelCase reason and make
// no backend call. Period close itself is the BillingGroup reconciler's (reconcilers/invoicing.h).
#pragma once

#include "operator/runtime/controller.h"
#include "reconcilers/invoicing.h"
#include "reconcilers/reconciler_support.h"

namespace billing::reconcilers {

class InvoiceReconciler final : public runtime::Reconciler {
 public:
  InvoiceReconciler(ReconcilerDeps deps, InvoicingOptions options);

  runtime::ReconcileOutcome reconcile(const runtime::Request& request) override;

 private:
  std::optional<std::string> writeStatus(const web::json::value& object,
                                         const domain::Invoice& invoice,
                                         const domain::InvoiceStatus& status);

  ReconcilerDeps deps_;
  InvoicingOptions options_;
};

}  // namespace billing::reconcilers
