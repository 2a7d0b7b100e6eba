#include "common/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/tls_context.h"

namespace billing::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Made with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj
// "/O=fixture/CN=fingerprint-fixture"`; the fingerprint and serial are what
// `openssl x509 -noout -fingerprint -sha256 -serial` printed for it.
constexpr std::string_view kFixtureCert = R"(-----BEGIN CERTIFICATE-----
MIIBtTCCAVugAwIBAgIUEqMxw8XHRGEanb6noui/OdrUeu4wCgYIKoZIzj0EAwIw
MDEQMA4GA1UECgwHZml4dHVyZTEcMBoGA1UEAwwTZmluZ2VycHJpbnQtZml4dHVy
ZTAeFw0yNjExMjcwMzU1NTVaFw0zNjExMjQwMzU1NTVaMDAxEDAOBgNVBAoMB2Zp
eHR1cmUxHDAaBgNVBAMME2ZpbmdlcnByaW50LWZpeHR1cmUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAT6ejzQpkyzFP7nb5tY97luCOhK4nia0PFMcDqJpwWZzAmT
5e//82NlWZk4oyRscjDQzxmox6MkL30Qh0QQqDrwo1MwUTAdBgNVHQ4EFgQUKcZY
jUEbSdA/dEFoWieWPLypzWgwHwYDVR0jBBgwFoAUKcZYjUEbSdA/dEFoWieWPLyp
zWgwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAOQ9+bZv5BbeFx
hjfHFsIByxSi3HNv4A+3ju7exfjaSwIhANe4EgVhnLPqjuU0/8eP0Iin69DHegQ/
RuTqnIh/6Hvv
-----END CERTIFICATE-----
)";
constexpr std::string_view kFixtureFingerprint =
    "D7:18:7B:28:0B:25:5D:D4:07:15:80:C7:0A:D9:A9:72:0B:85:3C:BA:A3:78:34:1A:CB:9E:F6:06:9F:FA:EB:"
    "F9";

tls_internal::X509Ptr parse(std::string_view pem) {
  auto certs = tls_internal::readCertificates(pem);
  EXPECT_TRUE(certs.has_value()) << certs.error();
  return certs ? std::move(certs->front()) : nullptr;
}

bool isCritical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

// Verifies `leafPem` against `caPem` for a TLS purpose, as a peer would.
bool verifies(std::string_view leafPem, std::string_view caPem, int purpose) {
  auto leaf = parse(leafPem);
  auto ca = parse(caPem);
  std::unique_ptr<X509_STORE, tls_internal::Deleter<X509_STORE_free>> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, tls_internal::Deleter<X509_STORE_CTX_free>> context(
      X509_STORE_CTX_new());
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_CTX_init(context.get(), store.get(), leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(context.get(), purpose);
  bool ok = X509_verify_cert(context.get()) == 1;
  ERR_clear_error();
  return ok;
}

CertificateAuthority makeCa(std::string name = "billing-test-ca") {
  auto ca = generateCertificateAuthority(std::move(name), std::chrono::days(30));
  EXPECT_TRUE(ca.has_value()) << ca.error();
  return ca.value_or(CertificateAuthority{});
}

TEST(TlsCertificateAuthority, IsASelfSignedP256CaWithCriticalConstraints) {
  auto ca = makeCa();
  EXPECT_THAT(ca.certPem, StartsWith("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(ca.keyPem, StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto cert = parse(ca.certPem);
  ASSERT_NE(cert, nullptr);

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  std::array<char, 64> group{};
  std::size_t groupLength = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group.data(), group.size(), &groupLength), 1);
  EXPECT_STREQ(group.data(), "prime256v1");
  EXPECT_EQ(X509_verify(cert.get(), key), 1) << "self-signed";

  EXPECT_TRUE(X509_get_extension_flags(cert.get()) & EXFLAG_CA);
  EXPECT_TRUE(isCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(isCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  const ASN1_OCTET_STRING* subjectKeyId = X509_get0_subject_key_id(cert.get());
  const ASN1_OCTET_STRING* authorityKeyId = X509_get0_authority_key_id(cert.get());
  ASSERT_NE(subjectKeyId, nullptr);
  ASSERT_NE(authorityKeyId, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(subjectKeyId, authorityKeyId), 0);
  EXPECT_TRUE(checkKeyMatchesCertificate(ca.certPem, ca.keyPem).has_value());
}

TEST(TlsCertificateAuthority, ReportsNameValidityAndRandomPositiveSerial) {
  auto before = std::chrono::system_clock::now();
  auto first = makeCa("first-ca");
  auto second = makeCa("second-ca");
  auto info = inspectCertificate(first.certPem);
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(info->commonName, "first-ca");
  EXPECT_EQ(info->issuerCommonName, "first-ca");
  EXPECT_TRUE(info->isCa);
  EXPECT_LE(info->notBefore, before);
  auto validFor = std::chrono::duration_cast<std::chrono::hours>(info->notAfter - before);
  EXPECT_NEAR(validFor.count(), 30 * 24, 1);

  auto otherInfo = inspectCertificate(second.certPem);
  ASSERT_TRUE(otherInfo.has_value());
  EXPECT_NE(info->serialHex, otherInfo->serialHex);
  EXPECT_EQ(info->serialHex.size(), 32u) << info->serialHex;
  EXPECT_LT(info->serialHex[0], '8') << "the top bit is clear: DER serials are positive";
}

TEST(TlsIssue, ServerCertificateHasSansServerUsageAndVerifiesForServersOnly) {
  auto ca = makeCa();
  CertificateRequest request;
  request.commonName = "api.billing.test";
  request.dnsNames = {"api.billing.test", "localhost"};
  request.ipAddresses = {"127.0.0.1", "::1"};
  auto issued = issueCertificate(ca, request);
  ASSERT_TRUE(issued.has_value()) << issued.error();

  auto info = inspectCertificate(issued->certPem);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->commonName, "api.billing.test");
  EXPECT_EQ(info->issuerCommonName, "billing-test-ca");
  EXPECT_FALSE(info->isCa);
  EXPECT_THAT(info->dnsNames, ElementsAre("api.billing.test", "localhost"));
  EXPECT_THAT(info->ipAddresses, ElementsAre("127.0.0.1", "::1"));

  auto cert = parse(issued->certPem);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_TRUE(isCritical(cert.get(), NID_basic_constraints));
  EXPECT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(parse(ca.certPem).get())),
            0);
  EXPECT_TRUE(verifies(issued->certPem, ca.certPem, X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(verifies(issued->certPem, ca.certPem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_TRUE(checkKeyMatchesCertificate(issued->certPem, issued->keyPem).has_value());
}

TEST(TlsIssue, ClientCertificateCarriesOrganizationsAsGroups) {
  auto ca = makeCa();
  CertificateRequest request;
  request.commonName = "alice";
  request.organizations = {"system:masters", "billing-admins"};
  request.serverAuth = false;
  request.clientAuth = true;
  auto issued = issueCertificate(ca, request);
  ASSERT_TRUE(issued.has_value()) << issued.error();
  auto info = inspectCertificate(issued->certPem);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->commonName, "alice");
  EXPECT_THAT(info->organizations, ElementsAre("system:masters", "billing-admins"));
  EXPECT_TRUE(info->dnsNames.empty());
  EXPECT_TRUE(verifies(issued->certPem, ca.certPem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(verifies(issued->certPem, ca.certPem, X509_PURPOSE_SSL_SERVER));
}

TEST(TlsIssue, CertificateFromAnotherCaDoesNotVerify) {
  auto ca = makeCa("ca-one");
  auto other = makeCa("ca-two");
  CertificateRequest request;
  request.commonName = "server";
  request.dnsNames = {"localhost"};
  auto issued = issueCertificate(other, request);
  ASSERT_TRUE(issued.has_value());
  EXPECT_TRUE(verifies(issued->certPem, other.certPem, X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(verifies(issued->certPem, ca.certPem, X509_PURPOSE_SSL_SERVER));
}

TEST(TlsIssue, RejectsBadRequests) {
  auto ca = makeCa();
  CertificateRequest badAddress;
  badAddress.commonName = "server";
  badAddress.ipAddresses = {"127.0.0.256"};
  auto issued = issueCertificate(ca, badAddress);
  ASSERT_FALSE(issued.has_value());
  EXPECT_THAT(issued.error(), HasSubstr("invalid IP address \"127.0.0.256\""));

  CertificateRequest noUsage;
  noUsage.commonName = "nobody";
  noUsage.serverAuth = false;
  EXPECT_FALSE(issueCertificate(ca, noUsage).has_value());

  CertificateRequest valid;
  valid.commonName = "server";
  auto mismatched = issueCertificate(CertificateAuthority{ca.certPem, makeCa().keyPem}, valid);
  ASSERT_FALSE(mismatched.has_value());
  EXPECT_THAT(mismatched.error(), HasSubstr("does not belong"));

  auto garbage = issueCertificate(CertificateAuthority{"not a certificate", ca.keyPem}, valid);
  ASSERT_FALSE(garbage.has_value());
  EXPECT_THAT(garbage.error(), HasSubstr("CA certificate: no PEM certificate found"));
  EXPECT_THAT(garbage.error(), HasSubstr("error:")) << "carries OpenSSL's error text";

  auto tooLong = generateCertificateAuthority(std::string(65, 'x'), std::chrono::days(1));
  ASSERT_FALSE(tooLong.has_value());
  EXPECT_THAT(tooLong.error(), HasSubstr("string too long"));
  EXPECT_FALSE(generateCertificateAuthority("zero", std::chrono::days(0)).has_value());
}

TEST(TlsPem, FingerprintMatchesTheOpensslCommandLine) {
  auto fingerprint = certificateFingerprint(kFixtureCert);
  ASSERT_TRUE(fingerprint.has_value()) << fingerprint.error();
  EXPECT_EQ(*fingerprint, kFixtureFingerprint);
  auto info = inspectCertificate(kFixtureCert);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->serialHex, "12A331C3C5C744611A9DBEA7A2E8BF39DAD47AEE");
  EXPECT_EQ(info->commonName, "fingerprint-fixture");
  EXPECT_THAT(info->organizations, ElementsAre("fixture"));
  EXPECT_FALSE(certificateFingerprint("garbage").has_value());
}

TEST(TlsPem, ValidatesCertificatesAndKeys) {
  const auto ca = makeCa();
  EXPECT_TRUE(validateCertificatePem(ca.certPem).has_value());
  EXPECT_TRUE(validatePrivateKeyPem(ca.keyPem).has_value());
  EXPECT_FALSE(validateCertificatePem(ca.keyPem).has_value());
  EXPECT_FALSE(validatePrivateKeyPem(ca.certPem).has_value());
  auto truncated = validateCertificatePem(ca.certPem.substr(0, ca.certPem.size() / 2));
  ASSERT_FALSE(truncated.has_value());
  EXPECT_THAT(truncated.error(), HasSubstr("error:"));

  CertificateRequest request;
  request.commonName = "server";
  auto issued = issueCertificate(ca, request);
  ASSERT_TRUE(issued.has_value());
  auto mismatch = checkKeyMatchesCertificate(issued->certPem, ca.keyPem);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_THAT(mismatch.error(), HasSubstr("does not belong"));
}

TEST(TlsPem, LoadsFilesAndNamesTheFileInErrors) {
  auto directory =
      std::filesystem::temp_directory_path() / ("billing-tls-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  const auto ca = makeCa();
  std::ofstream(directory / "ca.crt") << ca.certPem;
  std::ofstream(directory / "ca.key") << ca.keyPem;
  std::ofstream(directory / "junk.crt") << "hello\n";

  auto cert = loadCertificateFile(directory / "ca.crt");
  ASSERT_TRUE(cert.has_value()) << cert.error();
  EXPECT_EQ(*cert, ca.certPem);
  auto key = loadPrivateKeyFile(directory / "ca.key");
  ASSERT_TRUE(key.has_value()) << key.error();
  EXPECT_EQ(*key, ca.keyPem);

  auto missing = loadCertificateFile(directory / "missing.crt");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error(), HasSubstr("missing.crt"));
  EXPECT_THAT(missing.error(), HasSubstr("No such file"));
  auto junk = loadCertificateFile(directory / "junk.crt");
  ASSERT_FALSE(junk.has_value());
  EXPECT_THAT(junk.error(), HasSubstr("junk.crt: no PEM certificate found"));
  EXPECT_FALSE(loadPrivateKeyFile(directory / "ca.crt").has_value());
  std::filesystem::remove_all(directory);
}

TEST(TlsBase64, EncodesKnownVectorsWithPadding) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(TlsBase64, RoundTripsBinaryOfEveryLengthWithoutLineBreaks) {
  std::mt19937 random(42);
  for (std::size_t length : {0u, 1u, 2u, 3u, 4u, 47u, 48u, 49u, 1000u, 200000u}) {
    std::string data(length, '\0');
    for (auto& byte : data) byte = static_cast<char>(random() & 0xff);
    std::string encoded = base64Encode(data);
    EXPECT_EQ(encoded.find('\n'), std::string::npos) << length;
    EXPECT_EQ(encoded.size(), (length + 2) / 3 * 4);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error();
    EXPECT_EQ(*decoded, data) << length;
  }
}

TEST(TlsBase64, DecodeIgnoresWhitespaceAndRejectsGarbage) {
  EXPECT_EQ(base64Decode("Zm9v\nYmFy\r\n  Zg==\n"), std::string("foobarf"));
  EXPECT_EQ(base64Decode(""), std::string());
  for (std::string_view bad : {"Zm9", "Zm9v!A==", "Z=9v", "Zg=a", "Zm9vY===", "Zm9vYmFy="}) {
    EXPECT_FALSE(base64Decode(bad).has_value()) << bad;
  }
  auto error = base64Decode("Zm9");
  ASSERT_FALSE(error.has_value());
  EXPECT_THAT(error.error(), HasSubstr("invalid base64"));
}

TEST(TlsBase64, RoundTripsAPemCertificateAsKubeconfigDataFields) {
  const auto ca = makeCa();
  auto decoded = base64Decode(base64Encode(ca.certPem));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, ca.certPem);
  EXPECT_EQ(certificateFingerprint(*decoded), certificateFingerprint(ca.certPem));
}

}  // namespace
}  // namespace billing::common
