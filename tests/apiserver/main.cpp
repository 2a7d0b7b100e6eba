// test-apiserver: a Kubernetes API server for tests, demos and benchmarks (see
// docs/test-apiserver.md). Serves HTTPS on 127.0.0.1, writes an admin kubeconfig once ready,
// runs until SIGTERM or SIGINT; SIGHUP restarts it keeping state (with --data-dir).
#include <signal.h>

#include <charconv>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tests/apiserver/test_apiserver.h"

namespace {

constexpr const char* kUsage = R"(Usage: test-apiserver --port PORT --kubeconfig FILE [flags]

A Kubernetes API server for tests: the real kubectl and the operator talk to it as to a cluster.
Nothing runs pods; every kind is stored, custom resources are validated against their CRDs.

Flags:
  --port PORT                  port on 127.0.0.1 (0: any free port, written to the kubeconfig)
  --host HOST                  address to listen on (default 127.0.0.1)
  --kubeconfig FILE            admin kubeconfig (client certificate), written once ready
  --token-kubeconfig FILE      admin kubeconfig using a bearer token instead
  --data-dir DIR               keep objects and credentials across restarts
  --plain-http                 serve HTTP without TLS (tokens only)
  --history-size N             watch history kept for resuming watches (default 10000)
  --bookmark-interval-ms MS    interval of watch bookmarks (default 1000)
  --service-endpoint NS/NAME:PORT=LOCALPORT
                               call webhooks of that Service on 127.0.0.1:LOCALPORT (repeatable)
  --clock-offset DURATION      shift the times the server writes (creationTimestamp,
                               deletionTimestamp) by DURATION, e.g. -48h: a fresh cluster whose
                               objects look two days old, for demos of past billing periods
  -h, --help                   show this help

Signals: SIGTERM/SIGINT stop; SIGHUP restarts, keeping state from --data-dir.
Fault injection: POST /_test/faults (see docs/test-apiserver.md).
)";

bool parseNumber(const std::string& text, unsigned long long& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// A Go-style duration of whole seconds: an optional sign, then NUMBER UNIT pairs with units h, m
// and s ("-48h", "-36h30m", "90s"), or a bare "0".
std::optional<std::chrono::seconds> parseDuration(const std::string& text) {
  if (text == "0") return std::chrono::seconds(0);
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  if (i == text.size()) return std::nullopt;
  long long total = 0;
  while (i < text.size()) {
    std::size_t digits = i;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    unsigned long long amount = 0;
    if (digits == i || digits == text.size() || !parseNumber(text.substr(i, digits - i), amount) ||
        amount > 1'000'000'000ULL) {
      return std::nullopt;
    }
    const char unit = text[digits];
    const long long scale = unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : 0;
    if (scale == 0) return std::nullopt;
    total += static_cast<long long>(amount) * scale;
    i = digits + 1;
  }
  return std::chrono::seconds(negative ? -total : total);
}

}  // namespace

int main(int argc, char** argv) {
  using billing::apiserver::KubeconfigAuth;
  billing::apiserver::TestApiServerOptions options;
  std::string kubeconfig;
  std::string tokenKubeconfig;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto fail = [&](const std::string& message) {
      std::cerr << "test-apiserver: " << message << "\n";
      return 2;
    };
    unsigned long long number = 0;
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--port") {
      auto v = next();
      if (!v || !parseNumber(*v, number) || number > 65535) return fail("--port needs 0..65535");
      options.port = static_cast<std::uint16_t>(number);
    } else if (arg == "--host") {
      auto v = next();
      if (!v) return fail("--host needs an address");
      options.host = *v;
    } else if (arg == "--kubeconfig") {
      auto v = next();
      if (!v) return fail("--kubeconfig needs a file");
      kubeconfig = *v;
    } else if (arg == "--token-kubeconfig") {
      auto v = next();
      if (!v) return fail("--token-kubeconfig needs a file");
      tokenKubeconfig = *v;
    } else if (arg == "--data-dir") {
      auto v = next();
      if (!v) return fail("--data-dir needs a directory");
      options.dataDir = *v;
    } else if (arg == "--plain-http") {
      options.plainHttp = true;
    } else if (arg == "--history-size") {
      auto v = next();
      if (!v || !parseNumber(*v, number) || number == 0) return fail("--history-size needs N > 0");
      options.historySize = number;
    } else if (arg == "--bookmark-interval-ms") {
      auto v = next();
      if (!v || !parseNumber(*v, number) || number == 0) {
        return fail("--bookmark-interval-ms needs MS > 0");
      }
      options.bookmarkInterval = std::chrono::milliseconds(number);
    } else if (arg == "--service-endpoint") {
      auto v = next();
      auto eq = v ? v->rfind('=') : std::string::npos;
      if (!v || eq == std::string::npos || !parseNumber(v->substr(eq + 1), number) ||
          number > 65535) {
        return fail("--service-endpoint needs NS/NAME:PORT=LOCALPORT");
      }
      options.serviceEndpoints[v->substr(0, eq)] = static_cast<std::uint16_t>(number);
    } else if (arg == "--clock-offset") {
      auto v = next();
      auto offset = v ? parseDuration(*v) : std::nullopt;
      if (!offset) {
        return fail(
            "--clock-offset needs a duration of hours, minutes and seconds such as -48h "
            "or -36h30m, got " +
            (v ? "\"" + *v + "\"" : std::string("nothing")));
      }
      options.clockOffset = *offset;
    } else {
      return fail("unknown flag " + arg + " (see --help)");
    }
  }
  if (kubeconfig.empty() && tokenKubeconfig.empty()) {
    std::cerr << "test-apiserver: --kubeconfig FILE is required (where to write the admin "
                 "kubeconfig)\n";
    return 2;
  }

  // Signals are taken synchronously by this thread; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = billing::apiserver::TestApiServer::start(options);
  if (!server) {
    std::cerr << "test-apiserver: " << server.error() << "\n";
    return 1;
  }
  auto write = [&]() -> bool {
    for (const auto& [path, auth] : {std::pair{kubeconfig, KubeconfigAuth::ClientCertificate},
                                     std::pair{tokenKubeconfig, KubeconfigAuth::Token}}) {
      if (path.empty()) continue;
      if (auto written = (*server)->writeKubeconfig(path, auth); !written) {
        std::cerr << "test-apiserver: " << written.error() << "\n";
        return false;
      }
    }
    return true;
  };
  if (!write()) return 1;
  std::cerr << "test-apiserver: serving on " << (*server)->url() << "\n";
  if (options.clockOffset.count() != 0) {
    std::cerr << "test-apiserver: clock offset " << options.clockOffset.count()
              << "s: timestamps written into objects are shifted by it\n";
  }

  while (true) {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGHUP) {
      if (auto restarted = (*server)->restart(); !restarted) {
        std::cerr << "test-apiserver: restart failed: " << restarted.error() << "\n";
        return 1;
      }
      std::cerr << "test-apiserver: restarted\n";
      continue;
    }
    break;
  }
  (*server)->stop();
  return 0;
}
