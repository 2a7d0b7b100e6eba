#include "common/tls.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/tls_context.h"

namespace billing::common {
namespace {

using tls_internal::Deleter;
using tls_internal::EvpPkeyPtr;
using tls_internal::X509Ptr;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;

// Base64 works on whole groups; these sizes keep every EVP_*Block call far below INT_MAX.
constexpr std::size_t kEncodeChunk = 3 * 16 * 1024;
constexpr std::size_t kDecodeChunk = 4 * 16 * 1024;

std::unexpected<std::string> opensslFailure(std::string_view what) {
  return std::unexpected(std::string(what) + ": " +
                         tls_internal::takeErrors("unknown OpenSSL error"));
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  if (data == nullptr || length <= 0) return {};
  return std::string(data, static_cast<std::size_t>(length));
}

std::expected<std::string, std::string> certificateToPem(X509* cert) {
  tls_internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return opensslFailure("writing certificate PEM");
  }
  return bioContents(bio.get());
}

std::expected<std::string, std::string> privateKeyToPem(EVP_PKEY* key) {
  tls_internal::BioPtr bio(BIO_new(BIO_s_mem()));
  // PKCS#8 ("BEGIN PRIVATE KEY"), which Go's tls.X509KeyPair reads.
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslFailure("writing private key PEM");
  }
  return bioContents(bio.get());
}

std::expected<EvpPkeyPtr, std::string> generateP256Key() {
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!context || EVP_PKEY_keygen_init(context.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(context.get(), "P-256") != 1 ||
      EVP_PKEY_generate(context.get(), &key) != 1) {
    return opensslFailure("generating a P-256 key");
  }
  return EvpPkeyPtr(key);
}

std::expected<void, std::string> setRandomSerial(X509* cert) {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return opensslFailure("generating a serial number");
  }
  bytes[0] &= 0x7f;  // DER integers are signed; serials must be positive
  bytes[0] |= 0x01;  // and keep all 16 bytes significant
  BignumPtr number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert)) == nullptr) {
    return opensslFailure("setting the serial number");
  }
  return {};
}

std::expected<void, std::string> setValidity(X509* cert, std::chrono::days validity) {
  if (validity.count() <= 0 || validity.count() > 100 * 366) {
    return std::unexpected("certificate validity must be between 1 day and 100 years");
  }
  // Valid from an hour ago, so that a peer whose clock is slightly behind accepts it.
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(validity.count()), 0, nullptr) ==
          nullptr) {
    return opensslFailure("setting the validity period");
  }
  return {};
}

std::expected<void, std::string> addNameEntry(X509_NAME* name, const char* field,
                                              const std::string& value) {
  if (value.empty()) return {};
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return opensslFailure(std::string("subject ") + field + "=\"" + value + "\"");
  }
  return {};
}

// Adds an extension written in OpenSSL's configuration syntax ("critical,CA:TRUE").
std::expected<void, std::string> addExtension(X509* subject, X509* issuer, int nid,
                                              const char* value) {
  X509V3_CTX context{};
  X509V3_set_ctx(&context, issuer, subject, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(subject, extension.get(), -1) != 1) {
    return opensslFailure(std::string("adding extension ") + OBJ_nid2sn(nid) + " " + value);
  }
  return {};
}

std::expected<void, std::string> addSubjectAltNames(X509* cert, const CertificateRequest& request) {
  if (request.dnsNames.empty() && request.ipAddresses.empty()) return {};
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return opensslFailure("allocating subjectAltName");
  for (const auto& dnsName : request.dnsNames) {
    if (dnsName.empty()) return std::unexpected("empty DNS name in the certificate request");
    Ia5StringPtr text(ASN1_IA5STRING_new());
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!text || !name ||
        ASN1_STRING_set(text.get(), dnsName.data(), static_cast<int>(dnsName.size())) != 1) {
      return opensslFailure("DNS name \"" + dnsName + "\"");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, text.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return opensslFailure("subjectAltName");
    name.release();
  }
  for (const auto& address : request.ipAddresses) {
    OctetStringPtr octets(a2i_IPADDRESS(address.c_str()));
    if (!octets) {
      ERR_clear_error();
      return std::unexpected("invalid IP address \"" + address + "\" in the certificate request");
    }
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!name) return opensslFailure("subjectAltName");
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return opensslFailure("subjectAltName");
    name.release();
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return opensslFailure("adding subjectAltName");
  }
  return {};
}

std::expected<std::string, std::string> readFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    return std::unexpected("cannot read " + path.string() + ": " +
                           (error != 0 ? std::generic_category().message(error) : "cannot open"));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::unexpected("cannot read " + path.string());
  return contents.str();
}

std::chrono::system_clock::time_point toTimePoint(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

std::string ipAddressText(const ASN1_OCTET_STRING* octets) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  int length = ASN1_STRING_length(octets);
  const unsigned char* data = ASN1_STRING_get0_data(octets);
  int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC || inet_ntop(family, data, text.data(), text.size()) == nullptr) {
    return "<invalid address>";
  }
  return text.data();
}

}  // namespace

std::expected<CertificateAuthority, std::string> generateCertificateAuthority(
    std::string commonName, std::chrono::days validity) {
  ERR_clear_error();
  auto key = generateP256Key();
  if (!key) return std::unexpected(key.error());
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return opensslFailure("creating a certificate");
  }
  if (auto done = setRandomSerial(cert.get()); !done) return std::unexpected(done.error());
  if (auto done = setValidity(cert.get(), validity); !done) return std::unexpected(done.error());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (auto done = addNameEntry(subject, "CN", commonName); !done) {
    return std::unexpected(done.error());
  }
  if (X509_set_issuer_name(cert.get(), subject) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return opensslFailure("creating the CA certificate");
  }
  // The subject key identifier first: the authority key identifier of a self-signed certificate
  // copies it.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto done = addExtension(cert.get(), cert.get(), nid, value); !done) {
      return std::unexpected(done.error());
    }
  }
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0) {
    return opensslFailure("signing the CA certificate");
  }
  auto certPem = certificateToPem(cert.get());
  if (!certPem) return std::unexpected(certPem.error());
  auto keyPem = privateKeyToPem(key->get());
  if (!keyPem) return std::unexpected(keyPem.error());
  return CertificateAuthority{std::move(*certPem), std::move(*keyPem)};
}

std::expected<IssuedCertificate, std::string> issueCertificate(const CertificateAuthority& ca,
                                                               const CertificateRequest& request) {
  if (!request.serverAuth && !request.clientAuth) {
    return std::unexpected("a certificate request needs serverAuth, clientAuth or both");
  }
  ERR_clear_error();
  auto caCerts = tls_internal::readCertificates(ca.certPem);
  if (!caCerts) return std::unexpected("CA certificate: " + caCerts.error());
  X509* caCert = caCerts->front().get();
  auto caKey = tls_internal::readPrivateKey(ca.keyPem);
  if (!caKey) return std::unexpected("CA key: " + caKey.error());
  if (X509_check_private_key(caCert, caKey->get()) != 1) {
    ERR_clear_error();
    return std::unexpected("the CA key does not belong to the CA certificate");
  }

  auto key = generateP256Key();
  if (!key) return std::unexpected(key.error());
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return opensslFailure("creating a certificate");
  }
  if (auto done = setRandomSerial(cert.get()); !done) return std::unexpected(done.error());
  if (auto done = setValidity(cert.get(), request.validity); !done) {
    return std::unexpected(done.error());
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const auto& organization : request.organizations) {
    if (auto done = addNameEntry(subject, "O", organization); !done) {
      return std::unexpected(done.error());
    }
  }
  if (auto done = addNameEntry(subject, "CN", request.commonName); !done) {
    return std::unexpected(done.error());
  }
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert)) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return opensslFailure("creating the certificate");
  }
  std::string extendedUsage = request.serverAuth && request.clientAuth ? "serverAuth,clientAuth"
                              : request.serverAuth                     ? "serverAuth"
                                                                       : "clientAuth";
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, extendedUsage.c_str()},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto done = addExtension(cert.get(), caCert, nid, value); !done) {
      return std::unexpected(done.error());
    }
  }
  if (auto done = addSubjectAltNames(cert.get(), request); !done) {
    return std::unexpected(done.error());
  }
  if (X509_sign(cert.get(), caKey->get(), EVP_sha256()) <= 0) {
    return opensslFailure("signing the certificate");
  }
  auto certPem = certificateToPem(cert.get());
  if (!certPem) return std::unexpected(certPem.error());
  auto keyPem = privateKeyToPem(key->get());
  if (!keyPem) return std::unexpected(keyPem.error());
  return IssuedCertificate{std::move(*certPem), std::move(*keyPem)};
}

std::expected<CertificateInfo, std::string> inspectCertificate(std::string_view certPem) {
  ERR_clear_error();
  auto certs = tls_internal::readCertificates(certPem);
  if (!certs) return std::unexpected(certs.error());
  X509* cert = certs->front().get();

  CertificateInfo info;
  auto commonNames = tls_internal::nameEntries(X509_get_subject_name(cert), NID_commonName);
  if (!commonNames.empty()) info.commonName = commonNames.back();
  info.organizations = tls_internal::nameEntries(X509_get_subject_name(cert), NID_organizationName);
  auto issuerNames = tls_internal::nameEntries(X509_get_issuer_name(cert), NID_commonName);
  if (!issuerNames.empty()) info.issuerCommonName = issuerNames.back();

  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* text = name->d.dNSName;
      info.dnsNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                 static_cast<std::size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      info.ipAddresses.push_back(ipAddressText(name->d.iPAddress));
    }
  }
  BasicConstraintsPtr constraints(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  info.isCa = constraints && constraints->ca != 0;

  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial) {
    char* hex = BN_bn2hex(serial.get());
    if (hex != nullptr) {
      info.serialHex = hex;
      OPENSSL_free(hex);
    }
  }
  info.notBefore = toTimePoint(X509_get0_notBefore(cert));
  info.notAfter = toTimePoint(X509_get0_notAfter(cert));
  ERR_clear_error();
  return info;
}

std::expected<void, std::string> validateCertificatePem(std::string_view certPem) {
  ERR_clear_error();
  auto certs = tls_internal::readCertificates(certPem);
  if (!certs) return std::unexpected(certs.error());
  return {};
}

std::expected<void, std::string> validatePrivateKeyPem(std::string_view keyPem) {
  ERR_clear_error();
  auto key = tls_internal::readPrivateKey(keyPem);
  if (!key) return std::unexpected(key.error());
  return {};
}

std::expected<void, std::string> checkKeyMatchesCertificate(std::string_view certPem,
                                                            std::string_view keyPem) {
  ERR_clear_error();
  auto certs = tls_internal::readCertificates(certPem);
  if (!certs) return std::unexpected(certs.error());
  auto key = tls_internal::readPrivateKey(keyPem);
  if (!key) return std::unexpected(key.error());
  if (X509_check_private_key(certs->front().get(), key->get()) != 1) {
    return opensslFailure("the private key does not belong to the certificate");
  }
  return {};
}

std::expected<std::string, std::string> loadCertificateFile(const std::filesystem::path& path) {
  auto contents = readFile(path);
  if (!contents) return std::unexpected(contents.error());
  if (auto valid = validateCertificatePem(*contents); !valid) {
    return std::unexpected(path.string() + ": " + valid.error());
  }
  return contents;
}

std::expected<std::string, std::string> loadPrivateKeyFile(const std::filesystem::path& path) {
  auto contents = readFile(path);
  if (!contents) return std::unexpected(contents.error());
  if (auto valid = validatePrivateKeyPem(*contents); !valid) {
    return std::unexpected(path.string() + ": " + valid.error());
  }
  return contents;
}

std::expected<std::string, std::string> certificateFingerprint(std::string_view certPem) {
  ERR_clear_error();
  auto certs = tls_internal::readCertificates(certPem);
  if (!certs) return std::unexpected(certs.error());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (X509_digest(certs->front().get(), EVP_sha256(), digest.data(), &length) != 1) {
    return opensslFailure("computing the certificate fingerprint");
  }
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) text.push_back(':');
    text.push_back(kHex[digest[i] >> 4]);
    text.push_back(kHex[digest[i] & 0x0f]);
  }
  return text;
}

std::string base64Encode(std::string_view data) {
  std::string encoded;
  encoded.reserve((data.size() + 2) / 3 * 4);
  std::array<unsigned char, kEncodeChunk / 3 * 4 + 1> block{};
  while (!data.empty()) {
    auto piece = data.substr(0, kEncodeChunk);
    data.remove_prefix(piece.size());
    int written =
        EVP_EncodeBlock(block.data(), reinterpret_cast<const unsigned char*>(piece.data()),
                        static_cast<int>(piece.size()));
    encoded.append(reinterpret_cast<const char*>(block.data()), static_cast<std::size_t>(written));
  }
  return encoded;
}

std::expected<std::string, std::string> base64Decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') {
      compact.push_back(c);
    }
  }
  if (compact.size() % 4 != 0) {
    return std::unexpected("invalid base64: " + std::to_string(compact.size()) +
                           " characters is not a multiple of 4");
  }
  std::size_t padding = 0;
  while (padding < 2 && padding < compact.size() && compact[compact.size() - 1 - padding] == '=') {
    ++padding;
  }
  if (compact.find('=') < compact.size() - padding) {
    return std::unexpected("invalid base64: '=' before the end");
  }
  std::string decoded;
  decoded.reserve(compact.size() / 4 * 3);
  std::array<unsigned char, kDecodeChunk / 4 * 3> block{};
  std::string_view rest = compact;
  while (!rest.empty()) {
    auto piece = rest.substr(0, kDecodeChunk);
    rest.remove_prefix(piece.size());
    int written =
        EVP_DecodeBlock(block.data(), reinterpret_cast<const unsigned char*>(piece.data()),
                        static_cast<int>(piece.size()));
    if (written < 0) return std::unexpected("invalid base64: unexpected character");
    decoded.append(reinterpret_cast<const char*>(block.data()), static_cast<std::size_t>(written));
  }
  // EVP_DecodeBlock decodes the padding as zero bytes.
  decoded.resize(decoded.size() - padding);
  return decoded;
}

}  // namespace billing::common
