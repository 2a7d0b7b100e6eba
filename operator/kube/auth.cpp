#include "operator/kube/auth.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/json.h"

namespace billing::kube {
namespace {

Error configError(std::string message) {
  Error error;
  error.kind = ErrorKind::Config;
  error.message = std::move(message);
  return error;
}

std::string trim(std::string text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// The tail of a plugin's standard error, on one line: enough to say why it failed.
std::string stderrSummary(const std::string& text) {
  std::string summary = trim(text);
  for (char& c : summary) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  constexpr std::size_t kLimit = 400;
  if (summary.size() > kLimit) summary = "..." + summary.substr(summary.size() - kLimit);
  return summary;
}

}  // namespace

TokenFileCredentialProvider::TokenFileCredentialProvider(std::filesystem::path path,
                                                         std::string fallbackToken,
                                                         Credentials base,
                                                         std::shared_ptr<common::Clock> clock,
                                                         std::chrono::nanoseconds period)
    : path_(std::move(path)),
      fallbackToken_(std::move(fallbackToken)),
      base_(std::move(base)),
      clock_(std::move(clock)),
      period_(period) {}

Result<std::string> TokenFileCredentialProvider::readLocked(bool force) {
  const auto now = clock_->now();
  if (!force && readAt_ && now - *readAt_ < period_ && !token_.empty()) return token_;
  std::ifstream in(path_, std::ios::binary);
  std::stringstream content;
  if (in) content << in.rdbuf();
  std::string token = in ? trim(content.str()) : "";
  if (!token.empty()) {
    token_ = std::move(token);
    readAt_ = now;
    return token_;
  }
  // Keep what worked before: a rotation that briefly empties the file must not log us out.
  if (!token_.empty()) return token_;
  if (!fallbackToken_.empty()) return fallbackToken_;
  return std::unexpected(
      configError("cannot read a bearer token from " + path_.string() +
                  (in ? ": the file is empty" : ": no such file or not readable")));
}

Result<Credentials> TokenFileCredentialProvider::credentials() {
  std::lock_guard lock(mutex_);
  auto token = readLocked(false);
  if (!token) return std::unexpected(token.error());
  Credentials result = base_;
  result.authorization = "Bearer " + *token;
  return result;
}

bool TokenFileCredentialProvider::refreshAfterUnauthorized(const Credentials& used) {
  std::lock_guard lock(mutex_);
  auto token = readLocked(true);
  return token && "Bearer " + *token != used.authorization;
}

std::string TokenFileCredentialProvider::describe() const {
  return "bearer token from file " + path_.string();
}

ExecCredentialProvider::ExecCredentialProvider(ExecConfig config, std::string userName,
                                               Environment environment,
                                               std::shared_ptr<CommandRunner> runner,
                                               std::shared_ptr<common::Clock> clock,
                                               std::chrono::milliseconds timeout)
    : config_(std::move(config)),
      userName_(std::move(userName)),
      environment_(std::move(environment)),
      runner_(std::move(runner)),
      clock_(std::move(clock)),
      timeout_(timeout) {}

Error ExecCredentialProvider::failure(const std::string& what) const {
  return configError("exec plugin \"" + config_.command + "\" of user \"" + userName_ +
                     "\": " + what);
}

Result<Credentials> ExecCredentialProvider::credentials() {
  std::lock_guard lock(mutex_);
  if (cached_) {
    constexpr auto kMargin = std::chrono::seconds(10);
    if (!expiration_ || clock_->wallNow() + kMargin < *expiration_) return *cached_;
    cached_.reset();
  }
  return runPlugin();
}

Result<Credentials> ExecCredentialProvider::runPlugin() {
  // Environment: ours, then the kubeconfig's env entries, then KUBERNETES_EXEC_INFO.
  Environment environment = environment_;
  for (const auto& [name, text] : config_.env) environment[name] = text;
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  const bool interactive = config_.interactiveMode != "Never" && terminal;
  if (config_.interactiveMode == "Always" && !terminal) {
    return std::unexpected(
        failure("interactiveMode is Always but standard input is not a terminal (the operator runs "
                "unattended: use a plugin mode that needs no prompt)"));
  }
  web::json::value info = web::json::value::object();
  info["apiVersion"] = web::json::value::string(config_.apiVersion);
  info["kind"] = web::json::value::string("ExecCredential");
  web::json::value spec = web::json::value::object();
  spec["interactive"] = web::json::value::boolean(interactive);
  if (config_.provideClusterInfo && config_.clusterInfo) spec["cluster"] = *config_.clusterInfo;
  info["spec"] = spec;
  environment["KUBERNETES_EXEC_INFO"] = common::toJson(info);

  auto program = findExecutable(config_.command, environment);
  if (!program) {
    std::string what = config_.command.find('/') != std::string::npos
                           ? "executable not found (or not executable)"
                           : "executable not found in PATH";
    if (!config_.installHint.empty()) what += "; " + stderrSummary(config_.installHint);
    return std::unexpected(failure(what));
  }
  ++runs_;
  auto ran =
      runner_->run(*program, config_.command, config_.args, environment, interactive, timeout_);
  if (!ran) return std::unexpected(failure(ran.error()));
  if (ran->exitCode != 0) {
    std::string stderrText = stderrSummary(ran->standardError);
    return std::unexpected(failure("failed with exit code " + std::to_string(ran->exitCode) +
                                   (stderrText.empty() ? "" : ": " + stderrText)));
  }
  auto credential = parseExecCredential(ran->standardOutput, config_.apiVersion);
  if (!credential) return std::unexpected(failure(credential.error()));
  Credentials result;
  if (!credential->token.empty()) result.authorization = "Bearer " + credential->token;
  if (!credential->clientCertificatePem.empty()) {
    result.clientCertPem = credential->clientCertificatePem;
    result.clientKeyPem = credential->clientKeyPem;
  }
  cached_ = result;
  expiration_ = credential->expiration;
  return result;
}

bool ExecCredentialProvider::refreshAfterUnauthorized(const Credentials& used) {
  std::lock_guard lock(mutex_);
  // Another request may already have replaced the credential: then simply use the new one.
  if (cached_ && *cached_ == used) cached_.reset();
  return true;
}

std::string ExecCredentialProvider::describe() const {
  return "credential from exec plugin \"" + config_.command + "\"";
}

int ExecCredentialProvider::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

}  // namespace billing::kube
