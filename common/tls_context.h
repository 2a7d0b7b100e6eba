// OpenSSL plumbing behind tls.h, shared by the certificate helpers, the socket layer and the HTTP
// server and client. Not a general-purpose API: it exposes OpenSSL types so that only these few
// files need to think about them. Every OpenSSL object is owned by a unique_ptr below.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_message.h"
#include "common/tls.h"

namespace billing::common::tls_internal {

template <auto FreeFunction>
struct Deleter {
  template <typename T>
  void operator()(T* pointer) const {
    FreeFunction(pointer);
  }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL_free>>;

// Takes every error off this thread's OpenSSL error queue and joins their texts with "; ".
// Returns `fallback` when the queue was empty. OpenSSL's queue is per thread, so callers clear it
// (ERR_clear_error) before an operation whose failure they will report.
std::string takeErrors(std::string_view fallback);

// A read-only memory BIO over `text` (valid while `text` lives).
BioPtr memoryBio(std::string_view text);

// Every certificate in a PEM text, in order; an error when there is none.
std::expected<std::vector<X509Ptr>, std::string> readCertificates(std::string_view pem);
std::expected<EvpPkeyPtr, std::string> readPrivateKey(std::string_view pem);

std::expected<SslCtxPtr, std::string> makeServerContext(const TlsServerConfig& config);
std::expected<SslCtxPtr, std::string> makeClientContext(const TlsClientConfig& config);

// Prepares a client connection: SNI (for names, not addresses) and the name or IP address the
// server certificate must carry. `name` is config.serverName or else the URL host.
std::expected<void, std::string> configureClientConnection(SSL* ssl, std::string_view name,
                                                           bool verifyName);

// The client certificate's identity after a server handshake, if one was presented.
std::optional<TlsPeerIdentity> peerIdentity(SSL* ssl);

// The values of every `nid` entry (NID_commonName, NID_organizationName) of a name, UTF-8.
std::vector<std::string> nameEntries(const X509_NAME* name, int nid);

}  // namespace billing::common::tls_internal
