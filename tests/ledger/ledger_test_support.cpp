#include "ledger_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "common/http_client.h"
#include "ledger/postgres_store.h"
#include "ledger/sqlite_store.h"

namespace billing::ledger::testing {

TempDir::TempDir() {
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate =
        std::filesystem::temp_directory_path() /
        ("ledger-test-" + std::to_string(::getpid()) + "-" + std::to_string(random() % 1000000));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  ADD_FAILURE() << "cannot create a temporary directory";
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

domain::Timestamp at(const char* rfc3339) {
  auto parsed = domain::parseTimestamp(rfc3339);
  EXPECT_TRUE(parsed) << rfc3339;
  return parsed.value_or(domain::Timestamp{});
}

std::string storeKindName(StoreKind kind) {
  return kind == StoreKind::Sqlite ? "Sqlite" : "Postgres";
}

TestStore::~TestStore() {
  store_.reset();
  if (cleanup_) cleanup_();
}

std::string TestStore::postgresDsn() {
  const char* dsn = std::getenv("BILLING_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

std::unique_ptr<TestStore> TestStore::create(StoreKind kind, std::string& why) {
  auto holder = std::unique_ptr<TestStore>(new TestStore());
  if (kind == StoreKind::Sqlite) {
    holder->dir_ = std::make_unique<TempDir>();
    auto store =
        SqliteStore::open(SqliteStoreOptions{(holder->dir_->path() / "ledger.db").string()});
    if (!store) {
      why = "cannot open SQLite: " + store.error().detail;
      ADD_FAILURE() << why;
      return nullptr;
    }
    holder->store_ = std::move(*store);
    return holder;
  }
  const std::string dsn = postgresDsn();
  if (dsn.empty()) {
    why =
        "BILLING_TEST_POSTGRES_DSN is not set, so the PostgreSQL cases cannot run; run the tests "
        "through scripts/with-postgres.sh (scripts/test.sh does).";
    return nullptr;
  }
  std::random_device random;
  const std::string schema =
      "ledger_test_" + std::to_string(::getpid()) + "_" + std::to_string(random() % 100000000);
  auto store = PostgresStore::open(PostgresStoreOptions{dsn, schema, 4});
  if (!store) {
    why = "cannot open PostgreSQL at BILLING_TEST_POSTGRES_DSN: " + store.error().detail;
    ADD_FAILURE() << why;
    return nullptr;
  }
  holder->store_ = std::move(*store);
  holder->cleanup_ = [dsn, schema] {
    // A fresh store on the same schema, only to drop it.
    auto dropper = PostgresStore::open(PostgresStoreOptions{dsn, schema, 1});
    if (dropper) (void)(*dropper)->dropSchema();
  };
  return holder;
}

TlsFiles writeSelfSignedCertificate(const std::filesystem::path& dir) {
  TlsFiles files{(dir / "tls.crt").string(), (dir / "tls.key").string()};
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 86400);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("billing-ledger test"), -1, -1,
                             0);
  X509_set_issuer_name(certificate, name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  for (auto [nid, text] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                           std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, text);
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(certificate, key, EVP_sha256());
  BIO* certOut = BIO_new_file(files.certFile.c_str(), "w");
  PEM_write_bio_X509(certOut, certificate);
  BIO_free(certOut);
  BIO* keyOut = BIO_new_file(files.keyFile.c_str(), "w");
  PEM_write_bio_PrivateKey(keyOut, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(keyOut);
  X509_free(certificate);
  EVP_PKEY_free(key);
  return files;
}

std::string HttpResult::str(const std::string& key) const {
  if (!json.is_object() || !json.has_field(key) || !json.at(key).is_string()) return {};
  return json.at(key).as_string();
}

std::string HttpResult::problemType() const {
  const std::string type = str("type");
  const auto slash = type.rfind('/');
  return slash == std::string::npos ? type : type.substr(slash + 1);
}

HttpResult httpCall(const std::string& baseUrl, const std::string& method, const std::string& path,
                    const std::string& body, const std::map<std::string, std::string>& headers) {
  HttpResult result;
  common::HttpHeaders fields;
  for (const auto& [name, value] : headers) fields.add(name, value);
  if (!body.empty() && !fields.contains("Content-Type")) {
    fields.add("Content-Type", "application/json");
  }
  // common::HttpClient, the client the operator's ledger client uses: the ledger is tested
  // through the same HTTP code, and (unlike cpprestsdk's uninstrumented client) ThreadSanitizer
  // sees all of it (scripts/sanitize.sh tsan).
  static const common::HttpClient client;
  auto response = client.request(method, baseUrl + path, fields, body);
  if (!response) {
    ADD_FAILURE() << method << " " << path << " failed: " << response.error();
    return result;
  }
  result.status = response->status;
  result.body = std::move(response->body);
  for (const auto& [name, value] : response->headers) result.headers[name] = value;
  auto parsed = common::parseJson(result.body);
  if (parsed) result.json = std::move(*parsed);
  return result;
}

}  // namespace billing::ledger::testing
