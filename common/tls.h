// Certificates and TLS settings over OpenSSL 3, as PEM strings: a small certificate authority
// (test API server, demos, webhook serving certificates), PEM and base64 helpers for kubeconfig
// `*-data` fields and webhook `caBundle`s, and the TLS configuration HttpServer and HttpClient
// turn into OpenSSL contexts. Errors are values carrying OpenSSL's own error text.
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace billing::common {

// A CA certificate and its private key, PEM ("BEGIN CERTIFICATE" / "BEGIN PRIVATE KEY").
struct CertificateAuthority {
  std::string certPem;
  std::string keyPem;
};

// A certificate issued by a CertificateAuthority, with its own private key, PEM.
struct IssuedCertificate {
  std::string certPem;
  std::string keyPem;
};

struct CertificateRequest {
  std::string commonName;                  // Kubernetes reads CN as the user name
  std::vector<std::string> organizations;  // ... and each O as a group
  std::vector<std::string> dnsNames;       // subjectAltName DNS entries
  std::vector<std::string> ipAddresses;    // subjectAltName IP entries, "127.0.0.1", "::1"
  bool serverAuth = true;                  // extendedKeyUsage serverAuth
  bool clientAuth = false;                 // extendedKeyUsage clientAuth
  std::chrono::days validity{365};
};

// A self-signed CA: ECDSA P-256 key (Go's crypto/tls, hence kubectl, accepts it), random 128-bit
// serial, basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign (critical), subject
// and authority key identifiers. Valid from one hour ago (clock skew) for `validity`.
std::expected<CertificateAuthority, std::string> generateCertificateAuthority(
    std::string commonName, std::chrono::days validity);

// A leaf certificate signed by `ca`: ECDSA P-256, subject O=... CN=..., SANs, keyUsage
// digitalSignature, the requested extended key usages, CA:FALSE. At least one of serverAuth and
// clientAuth must be set; invalid IP addresses are errors.
std::expected<IssuedCertificate, std::string> issueCertificate(const CertificateAuthority& ca,
                                                               const CertificateRequest& request);

// What a certificate says, for tests, logs and kubeconfig tooling.
struct CertificateInfo {
  std::string commonName;
  std::vector<std::string> organizations;
  std::string issuerCommonName;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;
  bool isCa = false;
  std::string serialHex;  // uppercase, no separators
  std::chrono::system_clock::time_point notBefore;
  std::chrono::system_clock::time_point notAfter;
};
// Reads the first certificate of a PEM text.
std::expected<CertificateInfo, std::string> inspectCertificate(std::string_view certPem);

// Checks that the text holds at least one PEM certificate (or a private key) OpenSSL can read.
std::expected<void, std::string> validateCertificatePem(std::string_view certPem);
std::expected<void, std::string> validatePrivateKeyPem(std::string_view keyPem);
// Checks that a private key belongs to the (first) certificate.
std::expected<void, std::string> checkKeyMatchesCertificate(std::string_view certPem,
                                                            std::string_view keyPem);

// Reads a PEM file and validates it; the error names the file.
std::expected<std::string, std::string> loadCertificateFile(const std::filesystem::path& path);
std::expected<std::string, std::string> loadPrivateKeyFile(const std::filesystem::path& path);

// SHA-256 over the DER of the first certificate, uppercase hex pairs joined by ':' as
// `openssl x509 -noout -fingerprint -sha256` prints them.
std::expected<std::string, std::string> certificateFingerprint(std::string_view certPem);

// Standard base64 with padding and without line breaks, as kubeconfig `*-data` fields and
// `caBundle` hold it. Decoding ignores ASCII whitespace (a wrapped YAML scalar) and rejects
// anything else that is not base64, including missing padding.
std::string base64Encode(std::string_view data);
std::expected<std::string, std::string> base64Decode(std::string_view text);

// TLS for HttpServer. TLS 1.2 and 1.3 only; ALPN offers "http/1.1" only (Go clients, kubectl
// among them, then speak HTTP/1.1 instead of h2).
struct TlsServerConfig {
  std::string certChainPem;  // leaf first, then intermediates
  std::string privateKeyPem;
  // When set, clients are asked for a certificate and one that does not verify against these CAs
  // (the only trust anchors) fails the handshake, as in Kubernetes. Clients without a certificate
  // are still accepted (bearer tokens): HttpRequest::peer then stays empty.
  std::optional<std::string> clientCaPem;
};

// TLS for HttpClient. TLS 1.2 and 1.3 only; ALPN "http/1.1".
struct TlsClientConfig {
  // Trust anchors for the server certificate; the system store when absent.
  std::optional<std::string> caPem;
  // Accepts any server certificate: tests and `insecure-skip-tls-verify` only.
  bool insecureSkipVerify = false;
  // The name sent as SNI and checked against the certificate's SANs (an IP address is checked
  // against IP SANs and not sent as SNI). Empty: the URL's host.
  std::string serverName;
  // A client certificate (chain, leaf first) and its key; both or neither.
  std::optional<std::string> clientCertPem;
  std::optional<std::string> clientKeyPem;
};

}  // namespace billing::common
