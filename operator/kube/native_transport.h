// The transport over common/http_client.h: our own HTTP/1.1 client on OpenSSL, kept-alive pooled
// connections for requests (a connection of its own for each stream), exact TLS control and a
// chunk-by-chunk streaming read, on the caller's thread (no thread pool, no hand-offs).
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "operator/kube/transport.h"

namespace billing::kube {

std::expected<std::unique_ptr<Transport>, std::string> makeNativeTransport(
    const TransportConfig& config);

}  // namespace billing::kube
