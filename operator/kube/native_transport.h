// The transport over common/http_client.h: our own HTTP/1.1 client on OpenSSL, one connection
// per call (no pooling), exact TLS control and a chunk-by-chunk streaming read.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "operator/kube/transport.h"

namespace billing::kube {

std::expected<std::unique_ptr<Transport>, std::string> makeNativeTransport(
    const TransportConfig& config);

}  // namespace billing::kube
