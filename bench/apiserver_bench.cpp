// apiserver_bench: how fast the test API server serves what the operator and kubectl ask of it.
//
//   build/bench/apiserver_bench [--objects N] [--clients N] [--watchers N] [--watch-events N]
//
// An in-process TestApiServer (HTTPS, bearer token, the repository's BillingGroup CRD) is driven
// over real sockets with common::HttpClient, which opens one TLS connection per request:
//   1. create: N BillingGroups from `clients` threads; objects per second and request latencies;
//   2. list: all N in one request, as JSON and as the Table kubectl asks for (best of 5), one
//      page of 500 (kubectl's chunk size), and `kubectl get` of them all when kubectl is
//      installed;
//   3. watch fan-out: `watchers` watches from one resourceVersion while `watch-events` changes
//      are written; every watcher must see every change exactly once and in resourceVersion
//      order (the program fails otherwise); printed: the time from sending a write to its event
//      arriving at a watcher.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "common/json.h"
#include "common/yaml.h"
#include "tests/apiserver/test_apiserver.h"

namespace {

using billing::apiserver::TestApiServer;
using billing::apiserver::TestApiServerOptions;
using web::json::value;
using Clock = std::chrono::steady_clock;

struct Settings {
  int objects = 10000;
  int clients = 4;
  int watchers = 4;
  int watchEvents = 5000;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "apiserver_bench: %s\n", what.c_str());
  std::exit(1);
}

const std::string kGroups = "/apis/billing.operator.dev/v1alpha1/namespaces/bench/billinggroups";

class Api {
 public:
  explicit Api(const TestApiServer& server) : base_(server.url()), token_(server.adminToken()) {
    billing::common::HttpClientOptions options;
    billing::common::TlsClientConfig tls;
    tls.caPem = server.caPem();
    options.tls = tls;
    options.requestTimeout = std::chrono::seconds(120);
    client_ = billing::common::HttpClient(options);
  }

  billing::common::HttpClientResponse call(const std::string& method, const std::string& path,
                                           const std::string& body = {},
                                           const std::string& accept = "application/json") const {
    billing::common::HttpHeaders headers{{"Authorization", "Bearer " + token_}, {"Accept", accept}};
    if (!body.empty()) {
      headers.set("Content-Type",
                  method == "PATCH" ? "application/merge-patch+json" : "application/json");
    }
    auto response = client_.request(method, base_ + path, headers, body);
    if (!response) die(method + " " + path + ": " + response.error());
    return std::move(*response);
  }

  const billing::common::HttpClient& client() const { return client_; }
  const std::string& base() const { return base_; }
  const std::string& token() const { return token_; }

 private:
  std::string base_;
  std::string token_;
  billing::common::HttpClient client_;
};

std::string groupBody(int i) {
  return R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",)"
         R"("metadata":{"name":"group-)" +
         std::to_string(i) +
         R"(","labels":{"billing.operator.dev/tier":"bench"}},"spec":{"currency":"EUR",)"
         R"("displayName":"Benchmark group )" +
         std::to_string(i) +
         R"(","billingEmails":["billing@example.com"],"address":{"lines":["Street 1"],)"
         R"("city":"Berlin","zipCode":"10117","countryCode":"DE"}}})";
}

std::string revisionOf(const std::string& body) {
  auto parsed = billing::common::parseJson(body);
  if (!parsed) die("unparsable response: " + body.substr(0, 200));
  return parsed->at("metadata").at("resourceVersion").as_string();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

void setUp(const Api& api) {
  std::ifstream in(std::string(BILLING_SOURCE_DIR) +
                   "/crds/billing.operator.dev_billinggroups.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto documents = billing::common::parseYamlDocuments(text.str());
  if (!documents || documents->empty()) die("cannot read the BillingGroup CRD");
  auto crd = api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      billing::common::toJson((*documents)[0].value));
  if (crd.status != 201) die("CRD not created: " + crd.body);
  auto ns = api.call("POST", "/api/v1/namespaces",
                     R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}})");
  if (ns.status != 201) die("namespace not created: " + ns.body);
}

void benchCreate(const Api& api, const Settings& settings) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(settings.clients));
  std::atomic<int> next{0};
  auto started = Clock::now();
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < settings.clients; ++c) {
      clients.emplace_back([&, c] {
        for (int i = next++; i < settings.objects; i = next++) {
          auto before = Clock::now();
          auto response = api.call("POST", kGroups, groupBody(i));
          if (response.status != 201) die("create failed: " + response.body);
          latencies[static_cast<std::size_t>(c)].push_back(millis(Clock::now() - before));
        }
      });
    }
  }
  double elapsed = seconds(Clock::now() - started);
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf(
      "create: %d BillingGroups from %d clients in %.2f s: %.0f objects/s "
      "(per request p50 %.1f ms, p99 %.1f ms, one TLS connection each)\n",
      settings.objects, settings.clients, elapsed, settings.objects / elapsed, percentile(all, 0.5),
      percentile(all, 0.99));
}

void benchListPage(const Api& api) {
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    auto before = Clock::now();
    auto response = api.call("GET", kGroups + "?limit=500", {},
                             "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    if (response.status != 200) die("list failed: " + response.body.substr(0, 200));
    best = std::min(best, seconds(Clock::now() - before));
  }
  std::printf("list: one page of 500 as Table (kubectl get's default chunk) in %.3f s\n", best);
}

void benchList(const Api& api, const Settings& settings) {
  struct Variant {
    const char* name;
    std::string accept;
  };
  for (const Variant& variant :
       {Variant{"JSON", "application/json"},
        Variant{"Table (kubectl get)",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}}) {
    double best = 1e9;
    std::size_t bytes = 0;
    for (int round = 0; round < 5; ++round) {
      auto before = Clock::now();
      auto response = api.call("GET", kGroups, {}, variant.accept);
      double took = seconds(Clock::now() - before);
      if (response.status != 200) die("list failed: " + response.body.substr(0, 200));
      best = std::min(best, took);
      bytes = response.body.size();
    }
    // The body is parsed once afterwards to check it holds every object.
    auto response = api.call("GET", kGroups, {}, variant.accept);
    auto parsed = billing::common::parseJson(response.body);
    if (!parsed) die("list body is not JSON");
    std::size_t count =
        parsed->has_field("items") ? parsed->at("items").size() : parsed->at("rows").size();
    if (count != static_cast<std::size_t>(settings.objects)) {
      die("list returned " + std::to_string(count) + " objects");
    }
    std::printf("list: %zu BillingGroups as %s in %.3f s (best of 5, %.1f MB)%s\n", count,
                variant.name, best, static_cast<double>(bytes) / 1e6,
                best < 1.0 ? "" : "  [above the 1 s target]");
  }
}

// What a user waits for: `kubectl get` of every object (kubectl's own decoding and printing
// included), when /usr/bin/kubectl is installed.
void benchKubectl(const TestApiServer& server, const Settings& settings) {
  if (!std::filesystem::exists("/usr/bin/kubectl")) return;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("apiserver_bench-" + std::to_string(::getpid()));
  if (!server.writeKubeconfig(dir / "kubeconfig",
                              billing::apiserver::KubeconfigAuth::ClientCertificate)) {
    die("cannot write a kubeconfig");
  }
  for (const char* output : {"", " -o json"}) {
    const std::string command = "/usr/bin/kubectl --kubeconfig=" + (dir / "kubeconfig").string() +
                                " --cache-dir=" + (dir / "cache").string() +
                                " get billinggroups -n bench" + output + " > " +
                                (dir / "out").string();
    double best = 1e9;
    for (int round = 0; round < 3; ++round) {
      auto before = Clock::now();
      if (std::system(command.c_str()) != 0) die("kubectl failed: " + command);
      best = std::min(best, seconds(Clock::now() - before));
    }
    std::printf("kubectl get billinggroups%s of %d objects: %.2f s (best of 3)\n", output,
                settings.objects, best);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// One watch stream: records the resourceVersion of every event it receives.
struct Watcher {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::uint64_t> revisions;
  std::vector<Clock::time_point> arrivals;
  std::vector<std::string> problems;
  std::jthread thread;
};

void benchWatch(const Api& api, const Settings& settings) {
  const std::string start = revisionOf(api.call("GET", kGroups + "?limit=1").body);
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int w = 0; w < settings.watchers; ++w) {
    auto watcher = std::make_unique<Watcher>();
    Watcher* self = watcher.get();
    std::atomic<bool> connected{false};
    self->thread = std::jthread([&api, self, start, &connected](std::stop_token stop) {
      std::string pending;
      billing::common::HttpHeaders headers{{"Authorization", "Bearer " + api.token()},
                                           {"Accept", "application/json"}};
      auto result = api.client().stream(
          "GET", api.base() + kGroups + "?watch=1&resourceVersion=" + start, headers, {},
          [&connected](int status, const billing::common::HttpHeaders&) {
            connected = true;
            return status == 200;
          },
          [self, &pending](std::string_view data) {
            pending.append(data);
            std::size_t newline;
            while ((newline = pending.find('\n')) != std::string::npos) {
              auto event = billing::common::parseJson(std::string_view(pending).substr(0, newline));
              pending.erase(0, newline + 1);
              std::lock_guard lock(self->mutex);
              if (!event || event->at("type").as_string() == "ERROR") {
                self->problems.push_back("bad event");
                continue;
              }
              self->revisions.push_back(std::stoull(
                  event->at("object").at("metadata").at("resourceVersion").as_string()));
              self->arrivals.push_back(Clock::now());
              self->changed.notify_all();
            }
            return true;
          },
          stop);
      if (!result) {
        std::lock_guard lock(self->mutex);
        self->problems.push_back(result.error());
      }
    });
    while (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    watchers.push_back(std::move(watcher));
  }

  // The writes: half updates of existing objects, half creations, from the same clients.
  struct Write {
    std::uint64_t revision;
    Clock::time_point sent;
  };
  std::vector<Write> written;
  std::mutex writtenMutex;
  std::atomic<int> next{0};
  auto started = Clock::now();
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < settings.clients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < settings.watchEvents; i = next++) {
          auto sent = Clock::now();
          billing::common::HttpClientResponse response =
              i % 2 == 0
                  ? api.call("POST", kGroups, groupBody(settings.objects + i))
                  : api.call("PATCH", kGroups + "/group-" + std::to_string(i % settings.objects),
                             R"({"spec":{"displayName":"changed )" + std::to_string(i) + R"("}})");
          if (response.status != 200 && response.status != 201) {
            die("write failed: " + response.body);
          }
          std::lock_guard lock(writtenMutex);
          written.push_back({std::stoull(revisionOf(response.body)), sent});
        }
      });
    }
  }
  auto writesDone = Clock::now();
  std::sort(written.begin(), written.end(),
            [](const Write& a, const Write& b) { return a.revision < b.revision; });
  std::vector<std::uint64_t> expected;
  for (const Write& write : written) expected.push_back(write.revision);
  std::vector<double> latencies;
  Clock::time_point lastDelivered = writesDone;
  for (auto& watcher : watchers) {
    std::unique_lock lock(watcher->mutex);
    watcher->changed.wait_for(lock, std::chrono::seconds(60), [&] {
      return watcher->revisions.size() >= expected.size() || !watcher->problems.empty();
    });
    if (!watcher->problems.empty()) die("watcher: " + watcher->problems.front());
    // Exactly the written revisions, in order: nothing lost, nothing repeated or reordered.
    if (watcher->revisions != expected) {
      die("a watcher saw " + std::to_string(watcher->revisions.size()) +
          " events that are not the " + std::to_string(expected.size()) + " written, in order");
    }
    for (std::size_t i = 0; i < written.size(); ++i) {
      latencies.push_back(millis(watcher->arrivals[i] - written[i].sent));
      lastDelivered = std::max(lastDelivered, watcher->arrivals[i]);
    }
  }
  for (auto& watcher : watchers) watcher->thread.request_stop();
  std::printf(
      "watch: %d watchers x %zu events (creates and updates from %d clients in %.2f s): every "
      "event delivered to every watcher once, in resourceVersion order; from sending the write "
      "to the event arriving p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      settings.watchers, written.size(), settings.clients, seconds(writesDone - started),
      percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto number = [&](int& out) {
      if (i + 1 >= argc) die(arg + " needs a number");
      out = std::atoi(argv[++i]);
      if (out <= 0) die(arg + " needs a positive number");
    };
    if (arg == "--objects") {
      number(settings.objects);
    } else if (arg == "--clients") {
      number(settings.clients);
    } else if (arg == "--watchers") {
      number(settings.watchers);
    } else if (arg == "--watch-events") {
      number(settings.watchEvents);
    } else {
      die("unknown flag " + arg +
          " (flags: --objects N --clients N --watchers N --watch-events N)");
    }
  }
  TestApiServerOptions options;
  options.historySize = static_cast<std::size_t>(settings.objects + settings.watchEvents) * 2;
  auto server = TestApiServer::start(options);
  if (!server) die(server.error());
  Api api(**server);
  setUp(api);
  std::printf("apiserver_bench: test API server in-process over HTTPS (%u cores)\n",
              std::thread::hardware_concurrency());
  benchCreate(api, settings);
  benchList(api, settings);
  benchListPage(api);
  benchKubectl(**server, settings);
  benchWatch(api, settings);
  (*server)->stop();
  return 0;
}
