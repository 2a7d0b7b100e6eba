// Credentials for API requests, as client-go's transport layers them: a static bearer token or
// basic auth, a token file re-read every minute (service account tokens rotate), or an exec
// plugin whose credential is cached until it expires and re-run when the server answers 401.
// Client certificates ride along (static from the kubeconfig, or from the plugin).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "operator/kube/client.h"
#include "operator/kube/environment.h"
#include "operator/kube/exec_credential.h"
#include "operator/kube/kubeconfig.h"

namespace billing::kube {

struct Credentials {
  std::string authorization;  // the Authorization header value ("Bearer ...", "Basic ..."), or ""
  std::optional<std::string> clientCertPem;
  std::optional<std::string> clientKeyPem;

  bool operator==(const Credentials&) const = default;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;

  // The credentials for the next request. Errors are ErrorKind::Config (an exec plugin failed, a
  // token file cannot be read and there is nothing to fall back on).
  virtual Result<Credentials> credentials() = 0;
  // The server answered 401 to a request sent with `used`. True when trying again with
  // credentials() may help (a fresh token was read or the plugin will be re-run).
  virtual bool refreshAfterUnauthorized(const Credentials& used) = 0;
  // What the credentials are, for a 401 message; never the secret: "bearer token from file
  // /var/run/...", "exec plugin aws".
  virtual std::string describe() const = 0;
};

class StaticCredentialProvider final : public CredentialProvider {
 public:
  StaticCredentialProvider(Credentials credentials, std::string description)
      : credentials_(std::move(credentials)), description_(std::move(description)) {}
  Result<Credentials> credentials() override { return credentials_; }
  bool refreshAfterUnauthorized(const Credentials&) override { return false; }
  std::string describe() const override { return description_; }

 private:
  Credentials credentials_;
  std::string description_;
};

// A bearer token read from a file, cached for `period` (client-go: one minute). When the file
// cannot be read the last good token is kept, then `fallbackToken`.
class TokenFileCredentialProvider final : public CredentialProvider {
 public:
  TokenFileCredentialProvider(std::filesystem::path path, std::string fallbackToken,
                              Credentials base, std::shared_ptr<common::Clock> clock,
                              std::chrono::nanoseconds period = std::chrono::minutes(1));
  Result<Credentials> credentials() override;
  bool refreshAfterUnauthorized(const Credentials& used) override;
  std::string describe() const override;

 private:
  Result<std::string> readLocked(bool force);

  const std::filesystem::path path_;
  const std::string fallbackToken_;
  const Credentials base_;
  const std::shared_ptr<common::Clock> clock_;
  const std::chrono::nanoseconds period_;
  std::mutex mutex_;
  std::string token_;
  std::optional<std::chrono::steady_clock::time_point> readAt_;
};

// Runs an exec plugin (client.authentication.k8s.io/v1 or v1beta1) and caches its credential
// until expirationTimestamp (minus a 10 s margin, so that no request leaves with a credential
// about to expire); forever when the plugin gives none. A 401 to a request made with the cached
// credential drops it, so the next call re-runs the plugin.
class ExecCredentialProvider final : public CredentialProvider {
 public:
  ExecCredentialProvider(ExecConfig config, std::string userName, Environment environment,
                         std::shared_ptr<CommandRunner> runner,
                         std::shared_ptr<common::Clock> clock,
                         std::chrono::milliseconds timeout = std::chrono::minutes(1));
  Result<Credentials> credentials() override;
  bool refreshAfterUnauthorized(const Credentials& used) override;
  std::string describe() const override;
  // How many times the plugin ran (tests, metrics).
  int runs() const;

 private:
  Result<Credentials> runPlugin();
  Error failure(const std::string& what) const;

  const ExecConfig config_;
  const std::string userName_;
  const Environment environment_;
  const std::shared_ptr<CommandRunner> runner_;
  const std::shared_ptr<common::Clock> clock_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::optional<Credentials> cached_;
  std::optional<std::chrono::system_clock::time_point> expiration_;
  int runs_ = 0;
};

}  // namespace billing::kube
