// client.authentication.k8s.io exec credential plugins (aws eks get-token,
// gke-gcloud-auth-plugin, kubelogin, ...): running the command, reading the ExecCredential it
// prints, and an RFC 3339 reader for its expirationTimestamp. The provider that caches the
// credential and re-runs the plugin is in auth.h.
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/environment.h"

namespace billing::kube {

struct CommandResult {
  int exitCode = 0;  // 128 + N when killed by signal N
  std::string standardOutput;
  std::string standardError;
};

// Runs a program to completion. An interface so that tests can replace processes.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // `program` is a path (already looked up); args exclude argv[0]. Standard input is the
  // caller's when `passStdin`, /dev/null otherwise. Errors: the program could not be started, or
  // it did not finish within `timeout` (it is killed).
  virtual std::expected<CommandResult, std::string> run(const std::filesystem::path& program,
                                                        const std::string& argv0,
                                                        const std::vector<std::string>& args,
                                                        const Environment& environment,
                                                        bool passStdin,
                                                        std::chrono::milliseconds timeout) = 0;
};

// posix_spawn, pipes for stdout and stderr (each capped at 4 MiB), SIGKILL on timeout.
class ProcessCommandRunner final : public CommandRunner {
 public:
  std::expected<CommandResult, std::string> run(const std::filesystem::path& program,
                                                const std::string& argv0,
                                                const std::vector<std::string>& args,
                                                const Environment& environment, bool passStdin,
                                                std::chrono::milliseconds timeout) override;
};

// A command with a '/' is a path; otherwise it is looked up in the environment's PATH (not the
// process's: the plugin's environment decides). nullopt when no executable file is found.
std::optional<std::filesystem::path> findExecutable(const std::string& command,
                                                    const Environment& environment);

struct ExecCredential {
  std::string token;
  std::string clientCertificatePem;
  std::string clientKeyPem;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Reads a plugin's standard output: an ExecCredential of `apiVersion` with status.token or
// status.clientCertificateData and clientKeyData (both PEM), and an optional
// expirationTimestamp. Errors never quote the output (it holds the credential).
std::expected<ExecCredential, std::string> parseExecCredential(std::string_view output,
                                                               std::string_view apiVersion);

// "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456789+02:00".
std::expected<std::chrono::system_clock::time_point, std::string> parseRfc3339(
    std::string_view text);

}  // namespace billing::kube
