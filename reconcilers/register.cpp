// registerControllers() for `billing-operator run` (operator/run/controllers.h): the ledger client
// from the --ledger-* flags (none without --ledger-url: invoicing off), then the Project and
// BillingGroup controllers.
#include <memory>
#include <mutex>
#include <vector>

#include "operator/ledger_client/ledger_client.h"
#include "operator/run/controllers.h"
#include "reconcilers/controllers.h"

namespace billing::run {

std::expected<void, std::string> registerControllers(runtime::Manager& manager,
                                                     const RunOptions& options) {
  reconcilers::ControllerSetup setup;
  setup.workers = options.workers;
  if (options.ledgerUrl.empty()) {
    // No backend: validation, statuses and the webhook still run; every BillingGroup says
    // Invoicing=False (InvoicingOff) and no backend call is made.
    manager.logger().withName("setup").info(
        "No --ledger-url: running without a billing backend; invoicing is off");
    reconcilers::addControllers(manager, nullptr, setup);
    return {};
  }
  ledger_client::LedgerClientOptions client;
  client.baseUrl = options.ledgerUrl;
  client.caFile = options.ledgerCaFile.string();
  if (!options.ledgerTokenFile.empty()) {
    auto token = ledger_client::readTokenFile(options.ledgerTokenFile.string());
    if (!token) return std::unexpected("--ledger-token-file: " + token.error());
    client.token = *token;
  }
  auto made = ledger_client::LedgerClient::create(std::move(client));
  if (!made) return std::unexpected(made.error());

  // The backend must outlive the Manager's controllers: keep it for the process's lifetime.
  static std::mutex mutex;
  static std::vector<std::unique_ptr<ledger_client::LedgerClient>> backends;
  ledger_client::LedgerClient* backend = nullptr;
  {
    std::lock_guard lock(mutex);
    backends.push_back(std::move(*made));
    backend = backends.back().get();
  }
  reconcilers::addControllers(manager, backend, setup);
  return {};
}

}  // namespace billing::run
