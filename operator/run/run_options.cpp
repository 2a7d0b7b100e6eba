#include "operator/run/run_options.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include "operator/kube/transport.h"

namespace billing::run {

namespace {

constexpr const char* kUsage = R"(Usage: billing-operator run [flags]

Runs the operator: watches billing groups, projects and invoices and reconciles them, with
leader election, Prometheus metrics and health probes. Stops cleanly on SIGTERM or SIGINT
(a second signal exits at once).

Kubernetes access:
  --kubeconfig FILE                    kubeconfig to use; otherwise $KUBECONFIG, the in-cluster
                                       service account, then ~/.kube/config
  --context NAME                       kubeconfig context (default: current-context)
  --namespace NS                       watch only this namespace (default: all namespaces)
  --kube-api-qps N                     client-side rate limit, requests per second (default 1000;
                                       a negative value disables it)
  --kube-api-burst N                   bursts above the rate limit (default 2000)
  --kube-transport native|cpprest      HTTP client for the API server (default native: pooled
                                       keep-alive connections on the calling thread; cpprest:
                                       cpprestsdk's client)

Leader election:
  --leader-elect                       elect a leader with a Lease so that only one replica
                                       reconciles (default false)
  --leader-election-namespace NS       namespace of the Lease (default: the kubeconfig context's
                                       or service account's namespace, else "default")
  --leader-election-id NAME            name of the Lease (default billing-operator-leader)
  --leader-election-identity ID        this replica's identity (default HOSTNAME_UUID)
  --leader-election-lease-duration D   how long a lease is valid (default 15s)
  --leader-election-renew-deadline D   the leader steps down if it cannot renew within this
                                       (default 10s)
  --leader-election-retry-period D     interval between attempts (default 2s)

Servers:
  --metrics-bind-address ADDR          Prometheus /metrics (default :8080; 0 disables)
  --health-probe-bind-address ADDR     /healthz and /readyz (default :8081; 0 disables)
  --webhook-port PORT                  admission webhook HTTPS port (default 9443)
  --webhook-cert-dir DIR               directory holding tls.crt and tls.key
                                       (default /tmp/k8s-webhook-server/serving-certs)
  --webhook-cert-generate              generate the webhook's CA and serving certificate, keep
                                       them in a Secret shared by the replicas, write them to
                                       --webhook-cert-dir and keep the webhook configuration's
                                       caBundle up to date (default false: the files come from
                                       elsewhere, e.g. cert-manager)
  --webhook-service-name NAME          the webhook's Service, named by the certificate
                                       (default billing-operator-webhook)
  --webhook-service-namespace NS       its namespace; required with --webhook-cert-generate
  --webhook-cert-secret-name NAME      the Secret holding CA and certificate, in that namespace
                                       (default billing-operator-webhook-cert)
  --webhook-configuration-name NAME    the ValidatingWebhookConfiguration whose caBundle is kept
                                       (default billing-operator)

Work:
  --workers N                          concurrent reconciles per controller (default 1)
  --graceful-shutdown-timeout D        time for in-flight reconciles on shutdown (default 10s)

Billing ledger:
  --ledger-url URL                     base URL of the billing ledger
  --ledger-token-file FILE             bearer token for the ledger, re-read when it changes
  --ledger-ca-file FILE                CA bundle to verify the ledger's certificate

Invoicing (with --ledger-url):
  --invoice-grace D                    wait this long after a period ends before closing it, for
                                       late charges (default 1h)
  --invoice-retention N                Invoice resources kept per billing group; older finalized,
                                       paid or void ones are deleted, the ledger keeps all
                                       (default 12)
  --invoice-resync D                   re-read each invoice from the ledger this often, so Paid or
                                       Void shows up (default 10m, jittered by 10%)

Logs:
  --log-format json|text               one JSON object per line (default) or human-readable text
  --log-level debug|info|warn|error    (default info)

  -h, --help                           show this help

ADDR is HOST:PORT or :PORT. D is a duration such as 500ms, 15s, 1m30s.

Exit codes:
  0  stopped by SIGTERM or SIGINT after a clean shutdown
  1  stopped abnormally: leadership lost, caches did not sync, a server could not start, or
     reconciles were still running when the graceful shutdown timeout ran out
  2  invalid flags
  3  no usable configuration: missing or invalid kubeconfig, unreadable certificates or keys
  4  the API server cannot be used: unreachable, TLS failure (bad certificate), credentials
     rejected (401), access denied (403), or the billing.operator.dev CRDs are not installed
)";

std::string inQuotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

template <typename Number>
std::optional<Number> parseNumber(std::string_view text) {
  Number value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parseDouble(std::string_view text) {
  // std::from_chars for double is in GCC 12's libstdc++.
  auto value = parseNumber<double>(text);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return value;
}

// Go's time.ParseDuration for the units an operator's flags need: "1h", "1m30s", "500ms".
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return std::chrono::milliseconds(0);
  double totalMs = 0;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    auto number = parseDouble(text.substr(0, digits));
    if (!number) return std::nullopt;
    text.remove_prefix(digits);
    std::size_t unitLength = 0;
    while (unitLength < text.size() && text[unitLength] >= 'a' && text[unitLength] <= 'z') {
      ++unitLength;
    }
    const std::string_view unit = text.substr(0, unitLength);
    text.remove_prefix(unitLength);
    double factor = 0;
    if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60 * 1000;
    } else if (unit == "h") {
      factor = 3600 * 1000;
    } else {
      return std::nullopt;
    }
    totalMs += *number * factor;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(totalMs)));
}

std::optional<bool> parseBool(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

}  // namespace

std::expected<std::optional<runtime::ListenAddress>, std::string> parseBindAddress(
    std::string_view text) {
  if (text == "0") return std::nullopt;
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected("must be HOST:PORT, :PORT or 0, got " + inQuotes(text));
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = parseNumber<unsigned>(text.substr(colon + 1));
  if (!port || *port > 65535) {
    return std::unexpected("needs a port from 0 to 65535, got " + inQuotes(text));
  }
  runtime::ListenAddress address;
  address.host = host.empty() ? "0.0.0.0" : std::string(host);
  address.port = static_cast<std::uint16_t>(*port);
  return address;
}

std::expected<RunOptions, std::string> parseRunArguments(std::span<const std::string> args) {
  RunOptions options;
  using Setter = std::function<std::optional<std::string>(const std::string& value)>;
  auto integer = [](int& target, int min, int max) -> Setter {
    return [&target, min, max](const std::string& value) -> std::optional<std::string> {
      auto number = parseNumber<int>(value);
      if (!number || *number < min || *number > max) {
        return "needs a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
               ", got " + inQuotes(value);
      }
      target = *number;
      return std::nullopt;
    };
  };
  auto duration = [](std::chrono::milliseconds& target) -> Setter {
    return [&target](const std::string& value) -> std::optional<std::string> {
      auto parsed = parseDuration(value);
      if (!parsed || parsed->count() <= 0) {
        return "needs a positive duration such as 15s or 500ms, got " + inQuotes(value);
      }
      target = *parsed;
      return std::nullopt;
    };
  };
  // A grace of zero is meaningful: close a period as soon as it ends.
  auto durationOrZero = [](std::chrono::milliseconds& target) -> Setter {
    return [&target](const std::string& value) -> std::optional<std::string> {
      auto parsed = parseDuration(value);
      if (!parsed || parsed->count() < 0) {
        return "needs a positive duration or 0s, such as 1h or 15m, got " + inQuotes(value);
      }
      target = *parsed;
      return std::nullopt;
    };
  };
  auto text = [](std::string& target, bool allowEmpty = false) -> Setter {
    return [&target, allowEmpty](const std::string& value) -> std::optional<std::string> {
      if (value.empty() && !allowEmpty) return std::string("needs a value");
      target = value;
      return std::nullopt;
    };
  };
  auto path = [](std::filesystem::path& target) -> Setter {
    return [&target](const std::string& value) -> std::optional<std::string> {
      if (value.empty()) return std::string("needs a path");
      target = value;
      return std::nullopt;
    };
  };
  auto address = [](std::optional<runtime::ListenAddress>& target) -> Setter {
    return [&target](const std::string& value) -> std::optional<std::string> {
      auto parsed = parseBindAddress(value);
      if (!parsed) return parsed.error();
      target = *parsed;
      return std::nullopt;
    };
  };
  int webhookPort = options.webhookPort;

  const std::map<std::string, Setter, std::less<>> valued = {
      {"--kubeconfig",
       [&](const std::string& value) -> std::optional<std::string> {
         if (value.empty()) return std::string("needs a file");
         options.kubeconfig = value;
         return std::nullopt;
       }},
      {"--context", text(options.context)},
      {"--namespace", text(options.watchNamespace, true)},
      {"--kube-api-qps",
       [&](const std::string& value) -> std::optional<std::string> {
         auto number = parseDouble(value);
         if (!number) return "needs a number, got " + inQuotes(value);
         options.kubeApiQps = *number;
         return std::nullopt;
       }},
      {"--kube-api-burst", integer(options.kubeApiBurst, 1, 100000)},
      {"--kube-transport",
       [&](const std::string& value) -> std::optional<std::string> {
         auto kind = kube::parseTransportKind(value);
         if (!kind) return "needs native or cpprest, got " + inQuotes(value);
         options.kubeTransport = *kind;
         return std::nullopt;
       }},
      {"--leader-election-namespace", text(options.leaderElectionNamespace)},
      {"--leader-election-id", text(options.leaderElectionId)},
      {"--leader-election-identity", text(options.leaderElectionIdentity)},
      {"--leader-election-lease-duration", duration(options.leaseDuration)},
      {"--leader-election-renew-deadline", duration(options.renewDeadline)},
      {"--leader-election-retry-period", duration(options.retryPeriod)},
      {"--metrics-bind-address", address(options.metricsAddress)},
      {"--health-probe-bind-address", address(options.healthProbeAddress)},
      {"--webhook-port", integer(webhookPort, 1, 65535)},
      {"--webhook-cert-dir", path(options.webhookCertDir)},
      {"--webhook-service-name", text(options.webhookServiceName)},
      {"--webhook-service-namespace", text(options.webhookServiceNamespace)},
      {"--webhook-cert-secret-name", text(options.webhookCertSecretName)},
      {"--webhook-configuration-name", text(options.webhookConfigurationName)},
      {"--workers", integer(options.workers, 1, 1000)},
      {"--graceful-shutdown-timeout", duration(options.gracefulShutdownTimeout)},
      {"--ledger-url", text(options.ledgerUrl)},
      {"--ledger-token-file", path(options.ledgerTokenFile)},
      {"--ledger-ca-file", path(options.ledgerCaFile)},
      {"--invoice-grace", durationOrZero(options.invoiceGrace)},
      {"--invoice-retention", integer(options.invoiceRetention, 1, 100000)},
      {"--invoice-resync", duration(options.invoiceResync)},
      {"--log-format",
       [&](const std::string& value) -> std::optional<std::string> {
         auto format = runtime::parseLogFormat(value);
         if (!format) return "must be json or text, got " + inQuotes(value);
         options.logFormat = *format;
         return std::nullopt;
       }},
      {"--log-level",
       [&](const std::string& value) -> std::optional<std::string> {
         auto level = runtime::parseLogLevel(value);
         if (!level) return "must be debug, info, warn or error, got " + inQuotes(value);
         options.logLevel = *level;
         return std::nullopt;
       }},
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return std::unexpected("unexpected argument " + inQuotes(arg) + " (run takes only flags)");
    }
    const auto equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    std::optional<std::string> inlineValue;
    if (equals != std::string::npos) inlineValue = arg.substr(equals + 1);

    if (name == "--webhook-cert-generate") {
      auto flag = inlineValue ? parseBool(*inlineValue) : std::optional<bool>(true);
      if (!flag) return std::unexpected("--webhook-cert-generate must be true or false");
      options.webhookCertGenerate = *flag;
      continue;
    }
    if (name == "--leader-elect") {
      if (inlineValue) {
        auto flag = parseBool(*inlineValue);
        if (!flag) return std::unexpected("--leader-elect must be true or false");
        options.leaderElect = *flag;
      } else {
        options.leaderElect = true;
      }
      continue;
    }
    auto setter = valued.find(name);
    if (setter == valued.end()) {
      return std::unexpected("unknown flag " + name + " (see billing-operator run --help)");
    }
    std::string value;
    if (inlineValue) {
      value = *inlineValue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return std::unexpected(name + " needs a value");
    }
    if (auto problem = setter->second(value)) return std::unexpected(name + " " + *problem);
  }
  options.webhookPort = static_cast<std::uint16_t>(webhookPort);
  if (options.leaderElect && options.renewDeadline >= options.leaseDuration) {
    return std::unexpected(
        "--leader-election-renew-deadline must be shorter than "
        "--leader-election-lease-duration");
  }
  if (options.leaderElect && options.retryPeriod >= options.renewDeadline) {
    return std::unexpected(
        "--leader-election-retry-period must be shorter than --leader-election-renew-deadline");
  }
  if (options.webhookCertGenerate && options.webhookServiceNamespace.empty()) {
    return std::unexpected(
        "--webhook-cert-generate needs --webhook-service-namespace (the namespace of the "
        "webhook Service, which the certificate names)");
  }
  return options;
}

std::string runUsage() { return kUsage; }

}  // namespace billing::run
