// registerControllers() for `billing-operator run` (operator/run/controllers.h): the ledger client
// from the --ledger-* flags, then the Project and BillingGroup controllers.
#include <memory>
#include <mutex>
#include <vector>

#include "operator/ledger_client/ledger_client.h"
#include "operator/run/controllers.h"
#include "reconcilers/controllers.h"

namespace billing::run {

std::expected<void, std::string> registerControllers(runtime::Manager& manager,
                                                     const RunOptions& options) {
  if (options.ledgerUrl.empty()) {
    return std::unexpected(
        "--ledger-url is required: the reconcilers keep the billing ledger in sync");
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
  reconcilers::ControllerSetup setup;
  setup.workers = options.workers;
  reconcilers::addControllers(manager, *backend, setup);
  return {};
}

}  // namespace billing::run
