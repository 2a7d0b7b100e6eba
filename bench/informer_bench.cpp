// informer_bench: what an informer costs and how fast it keeps up.
//
//   build/bench/informer_bench [--objects N] [--updates N]
//
// An in-process TestApiServer (HTTPS, bearer token, the repository's CRDs) and the operator's
// client and Informer, as `billing-operator run` builds them (cpprestsdk transport):
//   1. memory: N BillingGroups (default 10,000, ~0.9 KB of JSON each) are written into the
//      server's store, then an informer lists them; printed: the process RSS growth per cached
//      object, measured after the first list has been stored (and freed memory returned to the
//      OS with malloc_trim), and the time to the first sync;
//   2. throughput: U updates (default 20,000) are written straight into the server's store, so
//      the writer is never the bottleneck; printed: watch events per second from the first
//      write to the informer's handler having seen the last one, over HTTPS and the JSON watch
//      decoder, store update and handler included.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "common/json.h"
#include "common/yaml.h"
#include "operator/kube/client_impl.h"
#include "operator/kube/config.h"
#include "operator/runtime/informer.h"
#include "tests/apiserver/test_apiserver.h"

namespace {

using web::json::value;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const billing::kube::ResourceRef kGroups{"billing.operator.dev", "v1alpha1", "billinggroups",
                                         "BillingGroup", true};
const std::string kStoreResource = "billinggroups.billing.operator.dev";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "informer_bench: %s\n", what.c_str());
  std::exit(1);
}

// Resident set size in bytes, from /proc/self/statm.
std::size_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

value group(int i) {
  const std::string name = "group-" + std::to_string(i);
  value object = value::object();
  object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
  object["kind"] = value::string("BillingGroup");
  object["metadata"]["name"] = value::string(name);
  object["metadata"]["namespace"] = value::string("bench");
  object["metadata"]["uid"] =
      value::string("6f1c2d3e-0000-4000-8000-" + std::to_string(100000000000 + i));
  object["metadata"]["generation"] = value::number(1);
  object["metadata"]["creationTimestamp"] = value::string("2024-05-01T10:00:00Z");
  object["metadata"]["labels"]["billing.operator.dev/organization"] = value::string("acme");
  object["spec"]["displayName"] = value::string("Billing group number " + std::to_string(i));
  object["spec"]["scope"] = value::string("Organization");
  object["spec"]["currency"] = value::string("EUR");
  object["spec"]["company"] = value::string("ACME Corporation GmbH");
  object["spec"]["vatId"] = value::string("DE123456789");
  object["spec"]["billingEmails"][0] = value::string("billing@acme.example");
  object["spec"]["billingContactEmails"][0] = value::string("finance@acme.example");
  object["spec"]["address"]["lines"][0] = value::string("Hauptstrasse 1");
  object["spec"]["address"]["city"] = value::string("Berlin");
  object["spec"]["address"]["zipCode"] = value::string("10115");
  object["spec"]["address"]["countryCode"] = value::string("DE");
  object["spec"]["paymentMethod"]["type"] = value::string("SepaDebit");
  object["spec"]["paymentMethod"]["secretRef"]["name"] = value::string("acme-sepa");
  object["spec"]["paymentMethod"]["secretRef"]["key"] = value::string("iban");
  object["spec"]["invoiceText"] = value::string("Thank you for your business.");
  object["spec"]["invoicing"]["period"] = value::string("Monthly");
  object["status"]["organization"] = value::string("acme");
  object["status"]["projectCount"] = value::number(3);
  object["status"]["observedGeneration"] = value::number(1);
  return object;
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 10000;
  int updates = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--objects") {
      objects = std::atoi(argv[i + 1]);
    } else if (flag == "--updates") {
      updates = std::atoi(argv[i + 1]);
    } else {
      die("unknown flag " + flag);
    }
  }
  if (objects < 1 || updates < 1) die("--objects and --updates need N >= 1");

  billing::apiserver::TestApiServerOptions serverOptions;
  serverOptions.historySize = static_cast<std::size_t>(updates) * 2 + 1000;
  auto started = billing::apiserver::TestApiServer::start(serverOptions);
  if (!started) die("server: " + started.error());
  auto& server = **started;

  const fs::path dir = fs::temp_directory_path() / ("informer-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path kubeconfig = dir / "kubeconfig";
  if (auto written = server.writeKubeconfig(kubeconfig, billing::apiserver::KubeconfigAuth::Token);
      !written) {
    die(written.error());
  }
  billing::kube::ConfigLoadOptions load;
  load.kubeconfig = kubeconfig;
  auto config = billing::kube::loadRestConfig(load);
  if (!config) die(config.error().describe());
  auto client = billing::kube::makeClient(*config);
  if (!client) die(client.error().describe());

  // The CRD through the API (it validates and registers the resource), the objects straight
  // into the store.
  const billing::kube::ResourceRef crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                        "CustomResourceDefinition", false};
  std::ifstream crdFile(fs::path(BILLING_SOURCE_DIR) / "crds" /
                        "billing.operator.dev_billinggroups.yaml");
  std::string crdText((std::istreambuf_iterator<char>(crdFile)), std::istreambuf_iterator<char>());
  auto crd = billing::common::parseYamlDocuments(crdText);
  if (!crd || crd->empty()) die("cannot read the BillingGroup CRD");
  if (auto created = (*client)->create(crds, "", crd->front().value); !created) {
    die(created.error().describe());
  }
  for (int attempt = 0; !(*client)->list(kGroups, "bench", {}); ++attempt) {
    if (attempt > 200) die("billing groups are not served");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto& store = server.api().store();
  for (int i = 0; i < objects; ++i) {
    if (auto created = store.create(kStoreResource, group(i)); !created) die("store create");
  }

  ::malloc_trim(0);
  const std::size_t before = residentBytes();
  std::mutex mutex;
  std::condition_variable changed;
  int seenUpdates = 0;
  billing::runtime::InformerOptions options;
  options.logger = billing::runtime::Logger::discard();
  billing::runtime::Informer informer(**client, kGroups, "bench", options);
  informer.addHandler([&](const billing::runtime::InformerEvent& event) {
    if (event.type != billing::runtime::InformerEventType::Modified) return;
    std::lock_guard lock(mutex);
    ++seenUpdates;
    changed.notify_all();
  });
  const auto listStart = SteadyClock::now();
  informer.start();
  if (!informer.waitForSync(std::chrono::minutes(2))) die("the informer did not sync");
  const auto synced = SteadyClock::now();
  ::malloc_trim(0);
  const std::size_t after = residentBytes();
  if (informer.store().size() != static_cast<std::size_t>(objects)) die("cache size mismatch");
  const double perObject =
      (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(objects);
  const std::string sample = billing::common::toJson(*informer.store().list().front());

  std::printf("informer_bench: %d BillingGroups (%zu bytes of JSON each), %d updates\n", objects,
              sample.size(), updates);
  std::printf("memory: RSS %+.1f MiB after the first list -> %.0f bytes per cached object\n",
              static_cast<double>(after - before) / (1024.0 * 1024.0), perObject);
  std::printf("first list and sync: %.2f s (%.0f objects/s)\n", seconds(synced - listStart),
              objects / seconds(synced - listStart));

  // Throughput: updates written into the store from one thread as fast as it can.
  const auto writeStart = SteadyClock::now();
  std::thread writer([&] {
    for (int i = 0; i < updates; ++i) {
      const std::string name = "group-" + std::to_string(i % objects);
      auto current = store.get(kStoreResource, "bench", name);
      if (!current) die("store get " + name);
      value next = *current;
      next["spec"]["invoiceText"] = value::string("update " + std::to_string(i));
      if (auto updated = store.update(kStoreResource, next); !updated) die("store update");
    }
  });
  writer.join();
  const auto written = SteadyClock::now();
  {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::minutes(5), [&] { return seenUpdates >= updates; })) {
      die("the informer saw " + std::to_string(seenUpdates) + " of " + std::to_string(updates) +
          " updates");
    }
  }
  const auto absorbed = SteadyClock::now();
  std::printf("store writes: %.2f s (%.0f updates/s, the producer)\n",
              seconds(written - writeStart), updates / seconds(written - writeStart));
  std::printf("watch events absorbed: %d in %.2f s -> %.0f events/s (relists: %llu)\n", updates,
              seconds(absorbed - writeStart), updates / seconds(absorbed - writeStart),
              static_cast<unsigned long long>(informer.relists()));
  informer.stop();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
