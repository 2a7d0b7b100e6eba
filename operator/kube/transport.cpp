#include "operator/kube/transport.h"

#include "common/http_client.h"
#include "operator/kube/cpprest_transport.h"
#include "operator/kube/native_transport.h"

namespace billing::kube {

std::string_view transportKindName(TransportKind kind) {
  switch (kind) {
    case TransportKind::Cpprest:
      return "cpprest";
    case TransportKind::Native:
      return "native";
  }
  return "unknown";
}

std::optional<TransportKind> parseTransportKind(std::string_view name) {
  if (name == "cpprest") return TransportKind::Cpprest;
  if (name == "native") return TransportKind::Native;
  return std::nullopt;
}

std::expected<void, std::string> validateTransportConfig(const TransportConfig& config) {
  auto url = common::parseHttpUrl(config.server);
  if (!url) return std::unexpected("server: " + url.error());
  if (url->target != "/") {
    return std::unexpected("server \"" + config.server +
                           "\": the transport takes scheme://host:port only");
  }
  const auto& tls = config.tls;
  if (tls.caPem) {
    if (auto valid = common::validateCertificatePem(*tls.caPem); !valid) {
      return std::unexpected("certificate authority: " + valid.error());
    }
  }
  if (tls.clientCertPem.has_value() != tls.clientKeyPem.has_value()) {
    return std::unexpected("a client certificate needs its key and a key its certificate");
  }
  if (tls.clientCertPem) {
    if (auto valid = common::validateCertificatePem(*tls.clientCertPem); !valid) {
      return std::unexpected("client certificate: " + valid.error());
    }
    if (auto valid = common::validatePrivateKeyPem(*tls.clientKeyPem); !valid) {
      return std::unexpected("client key: " + valid.error());
    }
    if (auto matches = common::checkKeyMatchesCertificate(*tls.clientCertPem, *tls.clientKeyPem);
        !matches) {
      return std::unexpected("client key: " + matches.error());
    }
  }
  return {};
}

std::expected<std::unique_ptr<Transport>, std::string> makeTransport(
    TransportKind kind, const TransportConfig& config) {
  switch (kind) {
    case TransportKind::Cpprest:
      return makeCpprestTransport(config);
    case TransportKind::Native:
      return makeNativeTransport(config);
  }
  return std::unexpected("unknown transport");
}

}  // namespace billing::kube
