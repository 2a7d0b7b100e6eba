#include "tests/apiserver/test_apiserver.h"

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "tests/apiserver/protobuf.h"

namespace billing::apiserver {
namespace {

namespace fs = std::filesystem;

// kube-apiserver's --max-request-body-bytes default (MaxRequestBodyBytes).
constexpr std::size_t kMaxRequestBodyBytes = 3 * 1024 * 1024;

std::string randomToken() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 40; ++i) token.push_back(kHex[device() % 16]);
  return token;
}

std::optional<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::expected<void, std::string> writeFile(const fs::path& path, const std::string& content,
                                           fs::perms permissions = fs::perms::owner_read |
                                                                   fs::perms::owner_write) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return std::unexpected("cannot write " + path.string());
  out << content;
  out.close();
  fs::permissions(path, permissions, error);
  return {};
}

void sendJson(common::HttpResponseWriter& writer, int code, const web::json::value& body) {
  writer.respond(code, {{"Content-Type", "application/json"}}, common::toJson(body));
}

}  // namespace

TestApiServer::TestApiServer(TestApiServerOptions options) : options_(std::move(options)) {}

TestApiServer::~TestApiServer() { stop(); }

std::expected<std::unique_ptr<TestApiServer>, std::string> TestApiServer::start(
    TestApiServerOptions options) {
  std::unique_ptr<TestApiServer> server(new TestApiServer(std::move(options)));
  if (auto credentials = server->loadOrCreateCredentials(); !credentials) {
    return std::unexpected(credentials.error());
  }
  ApiServerOptions apiOptions;
  apiOptions.store.historySize = server->options_.historySize;
  apiOptions.store.dataDir = server->options_.dataDir;
  apiOptions.bookmarkInterval = server->options_.bookmarkInterval;
  apiOptions.serviceEndpoints = server->options_.serviceEndpoints;
  apiOptions.clockOffset = server->options_.clockOffset;
  server->api_ = std::make_unique<ApiServer>(apiOptions);
  server->installFaults();
  if (auto serving = server->startServing(); !serving) return std::unexpected(serving.error());
  return server;
}

std::expected<void, std::string> TestApiServer::loadOrCreateCredentials() {
  // With a data dir, credentials persist so that a restarted server is the same cluster to
  // every kubeconfig written before.
  std::optional<fs::path> pki;
  if (options_.dataDir) pki = *options_.dataDir / "pki";
  if (pki) {
    auto caCert = readFile(*pki / "ca.crt");
    auto caKey = readFile(*pki / "ca.key");
    auto servingCert = readFile(*pki / "serving.crt");
    auto servingKey = readFile(*pki / "serving.key");
    auto adminCert = readFile(*pki / "admin.crt");
    auto adminKey = readFile(*pki / "admin.key");
    auto token = readFile(*pki / "admin.token");
    if (caCert && caKey && servingCert && servingKey && adminCert && adminKey && token) {
      ca_ = {*caCert, *caKey};
      serving_ = {*servingCert, *servingKey};
      admin_ = {*adminCert, *adminKey};
      adminToken_ = *token;
      tokens_[adminToken_] = UserInfo{"admin", {"system:masters", "system:authenticated"}, ""};
      return {};
    }
  }
  auto ca = common::generateCertificateAuthority("test-apiserver-ca", std::chrono::days(3650));
  if (!ca) return std::unexpected("cannot create the CA: " + ca.error());
  ca_ = *ca;
  common::CertificateRequest servingRequest;
  servingRequest.commonName = "test-apiserver";
  servingRequest.dnsNames = {"localhost", "kubernetes", "kubernetes.default",
                             "kubernetes.default.svc"};
  servingRequest.ipAddresses = {"127.0.0.1", "::1"};
  if (options_.host != "127.0.0.1" && options_.host != "::1" && options_.host != "localhost") {
    servingRequest.dnsNames.push_back(options_.host);
  }
  auto serving = common::issueCertificate(ca_, servingRequest);
  if (!serving) return std::unexpected("cannot issue the serving certificate: " + serving.error());
  serving_ = *serving;
  auto admin = issueClientCertificate(UserInfo{"admin", {"system:masters"}, ""});
  if (!admin) return std::unexpected("cannot issue the admin certificate: " + admin.error());
  admin_ = *admin;
  adminToken_ = randomToken();
  tokens_[adminToken_] = UserInfo{"admin", {"system:masters", "system:authenticated"}, ""};
  if (pki) {
    for (const auto& [name, content] :
         std::vector<std::pair<std::string, std::string>>{{"ca.crt", ca_.certPem},
                                                          {"ca.key", ca_.keyPem},
                                                          {"serving.crt", serving_.certPem},
                                                          {"serving.key", serving_.keyPem},
                                                          {"admin.crt", admin_.certPem},
                                                          {"admin.key", admin_.keyPem},
                                                          {"admin.token", adminToken_}}) {
      if (auto written = writeFile(*pki / name, content); !written) {
        return std::unexpected(written.error());
      }
    }
  }
  return {};
}

std::expected<common::IssuedCertificate, std::string> TestApiServer::issueClientCertificate(
    const UserInfo& user) const {
  common::CertificateRequest request;
  request.commonName = user.name;
  request.organizations = user.groups;
  request.serverAuth = false;
  request.clientAuth = true;
  return common::issueCertificate(ca_, request);
}

void TestApiServer::addToken(const std::string& token, UserInfo user) {
  std::lock_guard lock(tokensMutex_);
  tokens_[token] = std::move(user);
}

std::expected<void, std::string> TestApiServer::startServing() {
  common::HttpServerOptions options;
  // The HTTP layer only guards memory; the 3 MiB limit is kube's Status 413 (installFaults).
  options.maxRequestBodyBytes = 16 * kMaxRequestBodyBytes;
  options.host = options_.host;
  options.port = options_.port;
  if (!options_.plainHttp) {
    options.tls = common::TlsServerConfig{serving_.certPem, serving_.keyPem, ca_.certPem};
  }
  http_ = std::make_unique<common::HttpServer>(
      options, [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
        handle(request, writer);
      });
  auto started = http_->start();
  if (!started) return std::unexpected("cannot serve on " + options_.host + ": " + started.error());
  options_.port = http_->port();  // a restart comes back on the same port
  return {};
}

std::string TestApiServer::url() const { return http_->url(); }
std::uint16_t TestApiServer::port() const { return http_->port(); }

std::optional<UserInfo> TestApiServer::authenticate(const common::HttpRequest& request) const {
  if (auto authorization = request.headers.get("Authorization")) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization->starts_with(kBearer)) return std::nullopt;
    std::lock_guard lock(tokensMutex_);
    const std::string token = authorization->substr(kBearer.size());
    auto it = tokens_.find(token);
    if (it != tokens_.end()) return it->second;
    // A wrong token is not anonymous: 401.
    return serviceAccountTokens_.authenticate(api_->store(), token);
  }
  if (request.peer && request.peer->verified) {
    UserInfo user{request.peer->commonName, request.peer->organizations, ""};
    user.groups.push_back("system:authenticated");
    return user;
  }
  return std::nullopt;
}

void TestApiServer::handle(const common::HttpRequest& request, common::HttpResponseWriter& writer) {
  // Health endpoints are public, as kube-apiserver's default RBAC makes them.
  if (request.path == "/healthz" || request.path == "/livez" || request.path == "/readyz") {
    writer.respond(200, {{"Content-Type", "text/plain"}}, "ok");
    return;
  }
  auto user = authenticate(request);
  if (!user) {
    ApiError error = unauthorized();
    sendJson(writer, error.code, error.status);
    return;
  }
  if (request.path.starts_with("/_test/")) {
    bool admin =
        std::find(user->groups.begin(), user->groups.end(), "system:masters") != user->groups.end();
    if (!admin) {
      ApiError error = statusError(403, "Forbidden", "the test endpoints are for admins");
      sendJson(writer, error.code, error.status);
      return;
    }
    serveAdmin(request, writer);
    return;
  }
  if (serveAuthApis(request, *user, writer)) return;
  api_->handle(request, writer, *user);
}

void TestApiServer::serveAdmin(const common::HttpRequest& request,
                               common::HttpResponseWriter& writer) {
  using web::json::value;
  if (request.path == "/_test/requests" && request.method == "GET") {
    sendJson(writer, 200, requests_.toJson());
    return;
  }
  if (request.path != "/_test/faults" || request.method != "POST") {
    ApiError error = resourceNotFound();
    sendJson(writer, error.code, error.status);
    return;
  }
  auto body = common::parseJson(request.body);
  if (!body || !body->is_object()) {
    ApiError error = badRequest("the fault document must be a JSON object");
    sendJson(writer, error.code, error.status);
    return;
  }
  value rest = value::object();
  bool restartRequested = false;
  for (const auto& [key, item] : body->as_object()) {
    bool on = item.is_boolean() && item.as_bool();
    if (key == "dropWatches") {
      if (on) dropWatches();
    } else if (key == "cutConnections") {
      if (on) cutConnections();
    } else if (key == "expireWatches") {
      if (on) expireWatchHistory();
    } else if (key == "restart") {
      restartRequested = on;
    } else {
      rest[key] = item;
    }
  }
  if (rest.size() > 0) {
    if (auto configured = faults_.configure(rest); !configured) {
      ApiError error = badRequest(configured.error());
      sendJson(writer, error.code, error.status);
      return;
    }
  }
  value answer = value::object();
  answer["ok"] = value::boolean(true);
  sendJson(writer, 200, answer);
  if (restartRequested && !restarting_.exchange(true)) {
    // Not from this handler's thread: restarting stops the server that runs it.
    std::thread([this] {
      restart();
      restarting_ = false;
    }).detach();
  }
}

void TestApiServer::installFaults() {
  authorizer_.reset();
  if (options_.authorization == AuthorizationMode::RBAC) {
    authorizer_ = std::make_unique<RbacAuthorizer>(api_->store());
  }
  filter_ = [this](const common::HttpRequest& request, const RequestInfo& info,
                   const UserInfo& user) {
    // Counted before faults decide: a refused request was still made.
    requests_.record(user.name, requestVerb(request, info), info);
    if (auto fault = faults_.before(request, info, user)) return fault;
    if (auto denied = authorize(request, info, user)) return denied;
    // kube-apiserver reads at most MaxRequestBodyBytes (3 MiB) of a body, after authentication
    // and authorization, and answers a larger one with this Status (limitedReadBody).
    if (request.body.size() > kMaxRequestBodyBytes) {
      return std::optional<ApiError>(statusError(
          413, "RequestEntityTooLarge",
          "Request entity too large: limit is " + std::to_string(kMaxRequestBodyBytes)));
    }
    return std::optional<ApiError>();
  };
  api_->setRequestFilter(filter_);
}

std::optional<ApiError> TestApiServer::authorize(const common::HttpRequest& request,
                                                 const RequestInfo& info, const UserInfo& user) {
  if (!authorizer_) return std::nullopt;
  AuthorizationAttributes attributes = authorizationAttributes(request, info, user);
  AuthorizationDecision decision = authorizer_->authorize(attributes);
  if (decision.allowed) return std::nullopt;
  return forbiddenError(attributes, decision.reason);
}

bool TestApiServer::serveAuthApis(const common::HttpRequest& request, const UserInfo& user,
                                  common::HttpResponseWriter& writer) {
  auto info = parseRequestPath(request.path);
  if (!info || info->kind != RequestInfo::Kind::Resource) return false;
  const bool token = info->group.empty() && info->version == "v1" &&
                     info->resource == "serviceaccounts" && info->subresource == "token" &&
                     !info->ns.empty() && !info->name.empty();
  const bool review = info->group == "authorization.k8s.io" && info->version == "v1" &&
                      info->resource == "selfsubjectaccessreviews" && info->ns.empty();
  if (!token && !review) return false;
  if (auto refused = filter_(request, *info, user)) {
    sendJson(writer, refused->code, refused->status);
    return true;
  }
  // Both are create-only, as in kube.
  if (request.method != "POST" || (review && !info->name.empty())) {
    ApiError error = methodNotAllowed();
    sendJson(writer, error.code, error.status);
    return true;
  }
  // kubectl's typed clients send these in protobuf.
  std::string body = request.body;
  if (isProtobufContentType(request.headers.get("Content-Type").value_or(""))) {
    auto decoded = decodeProtobufObject(body);
    if (!decoded) {
      ApiError error = decoded.error().kind == ProtobufError::Kind::UnsupportedKind
                           ? statusError(415, "UnsupportedMediaType", decoded.error().message)
                           : badRequest(decoded.error().message);
      sendJson(writer, error.code, error.status);
      return true;
    }
    body = common::toJson(*decoded);
  }
  auto answer = token ? serviceAccountTokens_.request(api_->store(), info->ns, info->name, body)
                      : selfSubjectAccessReview(authorizer_.get(), user, body);
  if (!answer) {
    sendJson(writer, answer.error().code, answer.error().status);
    return true;
  }
  sendJson(writer, 201, *answer);
  return true;
}

void TestApiServer::dropWatches() { api_->store().stopAllWatchers(); }
void TestApiServer::cutConnections() { http_->closeAllConnections(); }
void TestApiServer::expireWatchHistory() { api_->store().compactHistory(); }

std::expected<void, std::string> TestApiServer::restart() {
  std::lock_guard lock(lifecycleMutex_);
  if (http_) http_->stop();
  if (options_.dataDir) {
    // Reload from disk: a fresh store replays the log, as an apiserver restart re-reads etcd.
    api_->shutdown();
    ApiServerOptions apiOptions;
    apiOptions.store.historySize = options_.historySize;
    apiOptions.store.dataDir = options_.dataDir;
    apiOptions.bookmarkInterval = options_.bookmarkInterval;
    apiOptions.serviceEndpoints = options_.serviceEndpoints;
    apiOptions.clockOffset = options_.clockOffset;
    api_.reset();
    api_ = std::make_unique<ApiServer>(apiOptions);
    installFaults();
  } else {
    api_->store().stopAllWatchers();
  }
  return startServing();
}

void TestApiServer::stop() {
  std::lock_guard lock(lifecycleMutex_);
  if (http_) http_->stop();
  if (api_) api_->shutdown();
}

std::string TestApiServer::kubeconfig(KubeconfigAuth auth) const {
  const std::string user = auth == KubeconfigAuth::Token ? "admin-token" : "admin";
  std::ostringstream out;
  out << "apiVersion: v1\n"
      << "kind: Config\n"
      << "clusters:\n"
      << "- name: test-apiserver\n"
      << "  cluster:\n"
      << "    server: " << url() << "\n";
  if (!options_.plainHttp) {
    out << "    certificate-authority-data: " << common::base64Encode(ca_.certPem) << "\n";
  }
  out << "users:\n"
      << "- name: " << user << "\n"
      << "  user:\n";
  if (auth == KubeconfigAuth::Token || options_.plainHttp) {
    out << "    token: " << adminToken_ << "\n";
  } else {
    out << "    client-certificate-data: " << common::base64Encode(admin_.certPem) << "\n"
        << "    client-key-data: " << common::base64Encode(admin_.keyPem) << "\n";
  }
  out << "contexts:\n"
      << "- name: test-apiserver\n"
      << "  context:\n"
      << "    cluster: test-apiserver\n"
      << "    user: " << user << "\n"
      << "    namespace: default\n"
      << "current-context: test-apiserver\n"
      << "preferences: {}\n";
  return out.str();
}

std::expected<void, std::string> TestApiServer::writeKubeconfig(const fs::path& path,
                                                                KubeconfigAuth auth) const {
  // Written to a temporary name and renamed, so a reader never sees half a file.
  fs::path temporary = path;
  temporary += ".tmp";
  if (auto written = writeFile(temporary, kubeconfig(auth)); !written) return written;
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) return std::unexpected("cannot write " + path.string() + ": " + error.message());
  return {};
}

}  // namespace billing::apiserver
