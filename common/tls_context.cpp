#include "common/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>

namespace billing::common::tls_internal {
namespace {

constexpr std::string_view kHttp11 = "http/1.1";
// ALPN wire format: length-prefixed protocol names.
constexpr std::array<unsigned char, 9> kAlpnHttp11{8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
// Any fixed string: OpenSSL refuses to resume sessions of verified clients without one.
constexpr std::string_view kSessionContext = "billing-http";

// Never prompt on a terminal for a passphrase: encrypted keys are an error here.
int noPassphrase(char*, int, int, void*) { return 0; }

// Chooses "http/1.1" when the client offers it. Without it, the handshake goes on without ALPN
// (the client then decides whether plain HTTP/1.1 suits it), never with h2, which we do not speak.
int selectHttp11(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
                 unsigned int inLength, void*) {
  unsigned int position = 0;
  while (position < inLength) {
    unsigned int length = in[position];
    if (length == 0 || position + 1 + length > inLength) break;
    std::string_view offered(reinterpret_cast<const char*>(in + position + 1), length);
    if (offered == kHttp11) {
      *out = in + position + 1;
      *outLength = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    position += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::unexpected<std::string> failure(std::string_view what) {
  return std::unexpected(std::string(what) + ": " + takeErrors("unknown OpenSSL error"));
}

SslCtxPtr newContext(const SSL_METHOD* method) {
  SslCtxPtr context(SSL_CTX_new(method));
  if (!context) return context;
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.get(), SSL_OP_NO_RENEGOTIATION);
  // Writes may complete partially on our non-blocking sockets; the retry passes the rest.
  SSL_CTX_set_mode(context.get(),
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return context;
}

// Installs a certificate chain (leaf first) and its key.
std::expected<void, std::string> useCertificateAndKey(SSL_CTX* context, std::string_view chainPem,
                                                      std::string_view keyPem,
                                                      std::string_view what) {
  auto chain = readCertificates(chainPem);
  if (!chain) return std::unexpected(std::string(what) + " certificate: " + chain.error());
  auto key = readPrivateKey(keyPem);
  if (!key) return std::unexpected(std::string(what) + " key: " + key.error());
  if (X509_check_private_key(chain->front().get(), key->get()) != 1) {
    return failure(std::string(what) + " key does not belong to its certificate");
  }
  if (SSL_CTX_use_certificate(context, chain->front().get()) != 1) {
    return failure(std::string(what) + " certificate");
  }
  for (std::size_t i = 1; i < chain->size(); ++i) {
    // SSL_CTX_add1_chain_cert, without its C-style cast.
    if (SSL_CTX_ctrl(context, SSL_CTRL_CHAIN_CERT, 1, (*chain)[i].get()) != 1) {
      return failure(std::string(what) + " certificate chain");
    }
  }
  if (SSL_CTX_use_PrivateKey(context, key->get()) != 1) return failure(std::string(what) + " key");
  return {};
}

std::expected<void, std::string> addTrustAnchors(SSL_CTX* context, std::string_view pem,
                                                 bool advertise, std::string_view what) {
  auto anchors = readCertificates(pem);
  if (!anchors) return std::unexpected(std::string(what) + ": " + anchors.error());
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  for (const auto& anchor : *anchors) {
    if (X509_STORE_add_cert(store, anchor.get()) != 1) return failure(what);
    // Tells clients which CA signs acceptable certificates; Go picks its certificate by it.
    if (advertise && SSL_CTX_add_client_CA(context, anchor.get()) != 1) return failure(what);
  }
  return {};
}

bool isIpAddress(const std::string& text) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(AF_INET, text.c_str(), buffer.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1;
}

}  // namespace

std::string takeErrors(std::string_view fallback) {
  std::string text;
  std::array<char, 256> buffer{};
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!text.empty()) text += "; ";
    text += buffer.data();
  }
  return text.empty() ? std::string(fallback) : text;
}

BioPtr memoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::expected<std::vector<X509Ptr>, std::string> readCertificates(std::string_view pem) {
  BioPtr bio = memoryBio(pem);
  if (!bio) return failure("reading PEM");
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends with a "no start line" error once the input is exhausted.
  if (certs.empty()) return failure("no PEM certificate found");
  ERR_clear_error();
  return certs;
}

std::expected<EvpPkeyPtr, std::string> readPrivateKey(std::string_view pem) {
  BioPtr bio = memoryBio(pem);
  if (!bio) return failure("reading PEM");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (!key) return failure("no usable PEM private key found");
  return key;
}

std::expected<SslCtxPtr, std::string> makeServerContext(const TlsServerConfig& config) {
  ERR_clear_error();
  SslCtxPtr context = newContext(TLS_server_method());
  if (!context) return failure("creating a TLS server context");
  SSL_CTX_set_options(context.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (auto done =
          useCertificateAndKey(context.get(), config.certChainPem, config.privateKeyPem, "server");
      !done) {
    return std::unexpected(done.error());
  }
  if (config.clientCaPem) {
    if (auto done = addTrustAnchors(context.get(), *config.clientCaPem, true, "client CA"); !done) {
      return std::unexpected(done.error());
    }
    // Ask for a certificate, verify it when one comes, accept clients without one.
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (SSL_CTX_set_session_id_context(context.get(),
                                     reinterpret_cast<const unsigned char*>(kSessionContext.data()),
                                     static_cast<unsigned int>(kSessionContext.size())) != 1) {
    return failure("TLS session context");
  }
  SSL_CTX_set_alpn_select_cb(context.get(), selectHttp11, nullptr);
  return context;
}

std::expected<SslCtxPtr, std::string> makeClientContext(const TlsClientConfig& config) {
  ERR_clear_error();
  SslCtxPtr context = newContext(TLS_client_method());
  if (!context) return failure("creating a TLS client context");
  if (config.insecureSkipVerify) {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    if (config.caPem) {
      if (auto done = addTrustAnchors(context.get(), *config.caPem, false, "CA"); !done) {
        return std::unexpected(done.error());
      }
    } else if (SSL_CTX_set_default_verify_paths(context.get()) != 1) {
      return failure("loading the system trust store");
    }
  }
  // Note the inverted convention: 0 is success here.
  if (SSL_CTX_set_alpn_protos(context.get(), kAlpnHttp11.data(),
                              static_cast<unsigned int>(kAlpnHttp11.size())) != 0) {
    return failure("TLS ALPN");
  }
  if (config.clientCertPem.has_value() != config.clientKeyPem.has_value()) {
    return std::unexpected("a client certificate needs both the certificate and its key");
  }
  if (config.clientCertPem) {
    if (auto done = useCertificateAndKey(context.get(), *config.clientCertPem, *config.clientKeyPem,
                                         "client");
        !done) {
      return std::unexpected(done.error());
    }
  }
  return context;
}

std::expected<void, std::string> configureClientConnection(SSL* ssl, std::string_view name,
                                                           bool verifyName) {
  ERR_clear_error();
  std::string host(name);
  bool address = isIpAddress(host);
  // SNI carries host names only (RFC 6066); SSL_set_tlsext_host_name without its C-style cast.
  if (!address && !host.empty() &&
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host.data()) != 1) {
    return failure("TLS server name \"" + host + "\"");
  }
  if (!verifyName) return {};
  if (host.empty()) return std::unexpected("no server name to verify the certificate against");
  X509_VERIFY_PARAM* parameters = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int set = address ? X509_VERIFY_PARAM_set1_ip_asc(parameters, host.c_str())
                    : X509_VERIFY_PARAM_set1_host(parameters, host.c_str(), host.size());
  if (set != 1) return failure("TLS server name \"" + host + "\"");
  return {};
}

std::optional<TlsPeerIdentity> peerIdentity(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  TlsPeerIdentity identity;
  identity.verified = SSL_get_verify_result(ssl) == X509_V_OK;
  auto commonNames = nameEntries(X509_get_subject_name(cert), NID_commonName);
  // Like Go's pkix.Name, the last CN wins when there are several.
  if (!commonNames.empty()) identity.commonName = commonNames.back();
  identity.organizations = nameEntries(X509_get_subject_name(cert), NID_organizationName);
  return identity;
}

std::vector<std::string> nameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  if (name == nullptr) return values;
  for (int index = X509_NAME_get_index_by_NID(name, nid, -1); index >= 0;
       index = X509_NAME_get_index_by_NID(name, nid, index)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) continue;
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
  }
  return values;
}

}  // namespace billing::common::tls_internal
