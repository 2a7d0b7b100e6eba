// What the runtime integration tests share: a test API server over TLS with the BillingGroup
// CRDs installed, the operator's client built from a kubeconfig as `billing-operator run` builds
// it (client certificate or token), and small helpers for BillingGroups.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/json.h"
#include "common/yaml.h"
#include "operator/kube/client_impl.h"
#include "operator/kube/config.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using apiserver::KubeconfigAuth;
using web::json::value;

inline const kube::ResourceRef kBillingGroups{"billing.operator.dev", "v1alpha1", "billinggroups",
                                              "BillingGroup", true};
inline const kube::ResourceRef kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const kube::ResourceRef kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline const kube::ResourceRef kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                     "CustomResourceDefinition", false};

inline std::string authName(KubeconfigAuth auth) {
  return auth == KubeconfigAuth::Token ? "Token" : "ClientCertificate";
}

inline value billingGroup(const std::string& ns, const std::string& name,
                          const std::string& displayName) {
  value object = value::object();
  object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
  object["kind"] = value::string("BillingGroup");
  object["metadata"]["name"] = value::string(name);
  object["metadata"]["namespace"] = value::string(ns);
  object["spec"]["displayName"] = value::string(displayName);
  object["spec"]["currency"] = value::string("EUR");
  return object;
}

inline std::string nameOf(const value& object) {
  return object.at("metadata").at("name").as_string();
}
inline std::string rvOf(const value& object) {
  return object.at("metadata").at("resourceVersion").as_string();
}

// Creates the CRDs of crds/ through `client` and waits until billing groups can be listed.
inline std::expected<void, std::string> installCrds(kube::Client& client) {
  for (const auto& entry : fs::directory_iterator(fs::path(BILLING_SOURCE_DIR) / "crds")) {
    if (entry.path().extension() != ".yaml") continue;
    auto documents = common::parseYamlDocuments(apiserver::harness::readFile(entry.path()));
    if (!documents)
      return std::unexpected(entry.path().string() + ": " + documents.error().message);
    for (const auto& document : *documents) {
      auto created = client.create(kCrds, "", document.value);
      if (!created && created.error().kind != kube::ErrorKind::AlreadyExists) {
        return std::unexpected("creating " + entry.path().string() + ": " +
                               created.error().describe());
      }
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    auto listed = client.list(kBillingGroups, "", {});
    if (listed) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      return std::unexpected("billing groups not served: " + listed.error().describe());
    }
    std::this_thread::sleep_for(50ms);
  }
}

inline std::expected<void, std::string> createNamespace(kube::Client& client,
                                                        const std::string& name) {
  value object = value::object();
  object["apiVersion"] = value::string("v1");
  object["kind"] = value::string("Namespace");
  object["metadata"]["name"] = value::string(name);
  auto created = client.create(kNamespaces, "", object);
  if (!created && created.error().kind != kube::ErrorKind::AlreadyExists) {
    return std::unexpected(created.error().describe());
  }
  return {};
}

// The operator's client from a kubeconfig file, as `billing-operator run` makes it (with its
// default transport unless `transport` says otherwise).
inline std::expected<std::unique_ptr<kube::Client>, std::string> clientFromKubeconfig(
    const fs::path& kubeconfig, kube::ClientOptions options = {},
    std::optional<kube::TransportKind> transport = std::nullopt) {
  kube::ConfigLoadOptions load;
  load.kubeconfig = kubeconfig;
  auto config = kube::loadRestConfig(load);
  if (!config) return std::unexpected(config.error().describe());
  config->qps = -1;  // tests drive the server hard; the limiter has its own unit tests
  if (transport) config->transport = *transport;
  auto client = kube::makeClient(*config, std::move(options));
  if (!client) return std::unexpected(client.error().describe());
  return std::move(*client);
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

}  // namespace billing::integration
