// The transport over cpprestsdk's web::http::client::http_client (Boost.Asio and OpenSSL), the
// HTTP library of the product card. Connections are pooled and kept alive. TLS material comes
// from PEM strings through an ssl_context_callback; the certificate authority, when given, is the
// only trust anchor (as in client-go). tls-server-name is sent as the Host header, which is what
// cpprestsdk uses for SNI and for the certificate name check. Streams are read as cpprestsdk hands
// the body over: chunk by chunk for chunked responses (every Kubernetes watch), in 64 KiB pieces
// otherwise. Only cpprest_transport.cpp includes cpprestsdk's HTTP headers.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "operator/kube/transport.h"

namespace billing::kube {

std::expected<std::unique_ptr<Transport>, std::string> makeCpprestTransport(
    const TransportConfig& config);

}  // namespace billing::kube
