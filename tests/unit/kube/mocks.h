// gmock doubles of the kube client's interfaces, for these tests and for the components built on
// the client (the controller runtime, the reconcilers): include "tests/unit/kube/mocks.h".
#pragma once

#include <gmock/gmock.h>

#include "operator/kube/auth.h"
#include "operator/kube/client.h"
#include "operator/kube/exec_credential.h"
#include "operator/kube/rate_limiter.h"
#include "operator/kube/transport.h"

namespace billing::kube::testing {

class MockClient : public Client {
 public:
  MOCK_METHOD(Result<web::json::value>, get,
              (const ResourceRef&, const std::string&, const std::string&), (override));
  MOCK_METHOD(Result<ListResult>, list,
              (const ResourceRef&, const std::string&, const ListOptions&), (override));
  MOCK_METHOD(Result<web::json::value>, create,
              (const ResourceRef&, const std::string&, const web::json::value&,
               const WriteOptions&),
              (override));
  MOCK_METHOD(Result<web::json::value>, update,
              (const ResourceRef&, const std::string&, const web::json::value&,
               const WriteOptions&),
              (override));
  MOCK_METHOD(Result<web::json::value>, updateStatus,
              (const ResourceRef&, const std::string&, const web::json::value&,
               const WriteOptions&),
              (override));
  MOCK_METHOD(Result<web::json::value>, patch,
              (const ResourceRef&, const std::string&, const std::string&, PatchType,
               const web::json::value&, bool, const WriteOptions&),
              (override));
  MOCK_METHOD(Result<std::optional<web::json::value>>, remove,
              (const ResourceRef&, const std::string&, const std::string&, const DeleteOptions&),
              (override));
  MOCK_METHOD(Result<void>, watch,
              (const ResourceRef&, const std::string&, const WatchOptions&,
               const std::function<bool(const WatchEvent&)>&, std::stop_token),
              (override));
};

class MockTransport : public Transport {
 public:
  MOCK_METHOD((std::expected<TransportResponse, TransportError>), send, (const TransportRequest&),
              (override));
  MOCK_METHOD((std::expected<StreamEnd, TransportError>), stream,
              (const TransportRequest&,
               (const std::function<bool(int, const common::HttpHeaders&)>&),
               const std::function<bool(std::string_view)>&, std::stop_token),
              (override));
};

class MockCredentialProvider : public CredentialProvider {
 public:
  MOCK_METHOD(Result<Credentials>, credentials, (), (override));
  MOCK_METHOD(bool, refreshAfterUnauthorized, (const Credentials&), (override));
  MOCK_METHOD(std::string, describe, (), (const, override));
};

class MockCommandRunner : public CommandRunner {
 public:
  MOCK_METHOD((std::expected<CommandResult, std::string>), run,
              (const std::filesystem::path&, const std::string&, const std::vector<std::string>&,
               const Environment&, bool, std::chrono::milliseconds),
              (override));
};

class MockRateLimiter : public RateLimiter {
 public:
  MOCK_METHOD(bool, acquire, (std::stop_token), (override));
};

}  // namespace billing::kube::testing
