#include "operator/kube/kubeconfig.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/json.h"
#include "common/tls.h"
#include "common/yaml.h"

namespace billing::kube {
namespace {

using web::json::value;

// Reads typed fields of one YAML document, with errors that point at FILE:LINE and the field.
class Reader {
 public:
  Reader(const common::YamlDocument& document, std::string origin)
      : document_(document), origin_(std::move(origin)) {}

  std::string error(const std::string& path, const std::string& what) const {
    std::string where = origin_.empty() ? "line " : origin_ + ":";
    return where + std::to_string(common::lineOf(document_, path)) + ": " +
           (path.empty() ? "" : path + ": ") + what;
  }
  int line(const std::string& path) const { return common::lineOf(document_, path); }

  static bool isAbsent(const value& object, const char* key) {
    return !object.has_field(key) || object.at(key).is_null();
  }

  std::expected<std::string, std::string> string(const value& object, const char* key,
                                                 const std::string& parent) const {
    if (isAbsent(object, key)) return std::string();
    const value& field = object.at(key);
    if (!field.is_string()) {
      return std::unexpected(
          error(common::joinFieldPath(parent, key), "expected a string, got " + describe(field)));
    }
    return field.as_string();
  }

  std::expected<bool, std::string> boolean(const value& object, const char* key,
                                           const std::string& parent) const {
    if (isAbsent(object, key)) return false;
    const value& field = object.at(key);
    if (!field.is_boolean()) {
      return std::unexpected(error(common::joinFieldPath(parent, key),
                                   "expected true or false, got " + describe(field)));
    }
    return field.as_bool();
  }

  // A base64 `*-data` field, decoded.
  std::expected<std::string, std::string> data(const value& object, const char* key,
                                               const std::string& parent) const {
    auto text = string(object, key, parent);
    if (!text || text->empty()) return text;
    auto decoded = common::base64Decode(*text);
    if (!decoded) {
      return std::unexpected(
          error(common::joinFieldPath(parent, key), "not valid base64: " + decoded.error()));
    }
    return *decoded;
  }

  // An object, or an empty one when absent or null.
  std::expected<value, std::string> object(const value& parent, const char* key,
                                           const std::string& parentPath) const {
    if (isAbsent(parent, key)) return value::object();
    const value& field = parent.at(key);
    if (!field.is_object()) {
      return std::unexpected(error(common::joinFieldPath(parentPath, key),
                                   "expected a mapping, got " + describe(field)));
    }
    return field;
  }

  std::expected<std::vector<value>, std::string> list(const value& parent, const char* key,
                                                      const std::string& parentPath) const {
    std::vector<value> result;
    if (isAbsent(parent, key)) return result;
    const value& field = parent.at(key);
    if (!field.is_array()) {
      return std::unexpected(
          error(common::joinFieldPath(parentPath, key), "expected a list, got " + describe(field)));
    }
    for (const auto& item : field.as_array()) result.push_back(item);
    return result;
  }

  static std::string describe(const value& field) {
    switch (field.type()) {
      case value::Number:
        return "the number " + common::toJson(field);
      case value::Boolean:
        return field.as_bool() ? "true" : "false";
      case value::String:
        return "the string \"" + field.as_string() + "\"";
      case value::Object:
        return "a mapping";
      case value::Array:
        return "a list";
      case value::Null:
        return "null";
    }
    return "something else";
  }

 private:
  const common::YamlDocument& document_;
  std::string origin_;
};

// Assigns the value of an std::expected or returns its error: keeps the many typed reads short.
#define KUBECONFIG_CONCAT_INNER(a, b) a##b
#define KUBECONFIG_CONCAT(a, b) KUBECONFIG_CONCAT_INNER(a, b)
#define KUBECONFIG_TRY(target, expression)                                         \
  auto KUBECONFIG_CONCAT(tried, __LINE__) = (expression);                          \
  if (!KUBECONFIG_CONCAT(tried, __LINE__)) {                                       \
    return std::unexpected(std::move(KUBECONFIG_CONCAT(tried, __LINE__).error())); \
  }                                                                                \
  target = std::move(*KUBECONFIG_CONCAT(tried, __LINE__))

std::string resolvePath(const std::string& path, const std::filesystem::path& base) {
  if (path.empty() || base.empty()) return path;
  std::filesystem::path candidate(path);
  if (candidate.is_absolute()) return path;
  return (base / candidate).lexically_normal().string();
}

std::expected<ExecConfig, std::string> parseExec(const Reader& reader, const value& exec,
                                                 const std::string& path) {
  ExecConfig config;
  KUBECONFIG_TRY(config.apiVersion, reader.string(exec, "apiVersion", path));
  KUBECONFIG_TRY(config.command, reader.string(exec, "command", path));
  KUBECONFIG_TRY(config.interactiveMode, reader.string(exec, "interactiveMode", path));
  KUBECONFIG_TRY(config.installHint, reader.string(exec, "installHint", path));
  KUBECONFIG_TRY(config.provideClusterInfo, reader.boolean(exec, "provideClusterInfo", path));
  std::vector<value> args;
  KUBECONFIG_TRY(args, reader.list(exec, "args", path));
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].is_string()) {
      return std::unexpected(
          reader.error(common::indexFieldPath(common::joinFieldPath(path, "args"), i),
                       "expected a string, got " + Reader::describe(args[i])));
    }
    config.args.push_back(args[i].as_string());
  }
  std::vector<value> env;
  KUBECONFIG_TRY(env, reader.list(exec, "env", path));
  for (std::size_t i = 0; i < env.size(); ++i) {
    std::string itemPath = common::indexFieldPath(common::joinFieldPath(path, "env"), i);
    if (!env[i].is_object()) {
      return std::unexpected(reader.error(itemPath, "expected {name, value}"));
    }
    std::string name, text;
    KUBECONFIG_TRY(name, reader.string(env[i], "name", itemPath));
    KUBECONFIG_TRY(text, reader.string(env[i], "value", itemPath));
    if (name.empty()) return std::unexpected(reader.error(itemPath, "an env entry needs a name"));
    config.env.emplace_back(std::move(name), std::move(text));
  }
  return config;
}

// One named list (clusters, users, contexts): each item {name, <key>: {...}}.
template <typename Entry, typename ParseBody>
std::expected<std::map<std::string, Entry>, std::string> parseNamedList(const Reader& reader,
                                                                        const value& root,
                                                                        const char* listKey,
                                                                        const char* bodyKey,
                                                                        ParseBody parseBody) {
  std::map<std::string, Entry> result;
  std::vector<value> items;
  KUBECONFIG_TRY(items, reader.list(root, listKey, ""));
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string itemPath = common::indexFieldPath(listKey, i);
    if (!items[i].is_object()) {
      return std::unexpected(
          reader.error(itemPath, std::string("expected {name, ") + bodyKey + "}"));
    }
    std::string name;
    KUBECONFIG_TRY(name, reader.string(items[i], "name", itemPath));
    if (name.empty()) return std::unexpected(reader.error(itemPath, "has no name"));
    if (result.contains(name)) {
      return std::unexpected(reader.error(itemPath, "duplicate name \"" + name + "\""));
    }
    value body;
    KUBECONFIG_TRY(body, reader.object(items[i], bodyKey, itemPath));
    Entry entry;
    std::string bodyPath = common::joinFieldPath(itemPath, bodyKey);
    if (auto parsed = parseBody(body, bodyPath, entry); !parsed) {
      return std::unexpected(parsed.error());
    }
    entry.line = reader.line(itemPath);
    result.emplace(std::move(name), std::move(entry));
  }
  return result;
}

}  // namespace

std::expected<Kubeconfig, std::string> parseKubeconfig(std::string_view text,
                                                       const std::filesystem::path& origin) {
  Kubeconfig config;
  const std::string originText = origin.string();
  auto documents = common::parseYamlDocuments(text);
  if (!documents) {
    return std::unexpected((originText.empty() ? "line " : originText + ":") +
                           std::to_string(documents.error().line) +
                           ": invalid YAML: " + documents.error().message);
  }
  if (!origin.empty()) config.files.push_back(origin);
  if (documents->empty()) return config;
  // Like kubectl (sigs.k8s.io/yaml), only the first document counts.
  const common::YamlDocument& document = documents->front();
  Reader reader(document, originText);
  const value& root = document.value;
  if (!root.is_object()) {
    return std::unexpected(
        reader.error("", "a kubeconfig is a mapping, not " + Reader::describe(root)));
  }
  std::string kind;
  KUBECONFIG_TRY(kind, reader.string(root, "kind", ""));
  if (!kind.empty() && kind != "Config") {
    return std::unexpected(reader.error("kind", "not a kubeconfig (kind " + kind + ")"));
  }
  std::filesystem::path base;
  if (!origin.empty()) base = std::filesystem::absolute(origin).parent_path();

  auto clusters = parseNamedList<KubeconfigCluster>(
      reader, root, "clusters", "cluster",
      [&](const value& body, const std::string& path,
          KubeconfigCluster& cluster) -> std::expected<void, std::string> {
        KUBECONFIG_TRY(cluster.server, reader.string(body, "server", path));
        KUBECONFIG_TRY(cluster.certificateAuthority,
                       reader.string(body, "certificate-authority", path));
        KUBECONFIG_TRY(cluster.certificateAuthorityData,
                       reader.data(body, "certificate-authority-data", path));
        KUBECONFIG_TRY(cluster.insecureSkipTlsVerify,
                       reader.boolean(body, "insecure-skip-tls-verify", path));
        KUBECONFIG_TRY(cluster.tlsServerName, reader.string(body, "tls-server-name", path));
        KUBECONFIG_TRY(cluster.proxyUrl, reader.string(body, "proxy-url", path));
        cluster.certificateAuthority = resolvePath(cluster.certificateAuthority, base);
        cluster.origin = origin;
        return {};
      });
  if (!clusters) return std::unexpected(clusters.error());
  config.clusters = std::move(*clusters);

  auto users = parseNamedList<KubeconfigUser>(
      reader, root, "users", "user",
      [&](const value& body, const std::string& path,
          KubeconfigUser& user) -> std::expected<void, std::string> {
        KUBECONFIG_TRY(user.clientCertificate, reader.string(body, "client-certificate", path));
        KUBECONFIG_TRY(user.clientCertificateData,
                       reader.data(body, "client-certificate-data", path));
        KUBECONFIG_TRY(user.clientKey, reader.string(body, "client-key", path));
        KUBECONFIG_TRY(user.clientKeyData, reader.data(body, "client-key-data", path));
        KUBECONFIG_TRY(user.token, reader.string(body, "token", path));
        KUBECONFIG_TRY(user.tokenFile, reader.string(body, "tokenFile", path));
        KUBECONFIG_TRY(user.username, reader.string(body, "username", path));
        KUBECONFIG_TRY(user.password, reader.string(body, "password", path));
        if (!Reader::isAbsent(body, "auth-provider")) {
          value provider;
          KUBECONFIG_TRY(provider, reader.object(body, "auth-provider", path));
          KUBECONFIG_TRY(
              user.authProvider,
              reader.string(provider, "name", common::joinFieldPath(path, "auth-provider")));
          if (user.authProvider.empty()) user.authProvider = "(unnamed)";
        }
        if (!Reader::isAbsent(body, "exec")) {
          value exec;
          std::string execPath = common::joinFieldPath(path, "exec");
          KUBECONFIG_TRY(exec, reader.object(body, "exec", path));
          auto parsed = parseExec(reader, exec, execPath);
          if (!parsed) return std::unexpected(parsed.error());
          // client-go resolves the command only when it is a path, not a name looked up in PATH.
          if (parsed->command.find('/') != std::string::npos) {
            parsed->command = resolvePath(parsed->command, base);
          }
          user.exec = std::move(*parsed);
        }
        user.clientCertificate = resolvePath(user.clientCertificate, base);
        user.clientKey = resolvePath(user.clientKey, base);
        user.tokenFile = resolvePath(user.tokenFile, base);
        user.origin = origin;
        return {};
      });
  if (!users) return std::unexpected(users.error());
  config.users = std::move(*users);

  auto contexts = parseNamedList<KubeconfigContext>(
      reader, root, "contexts", "context",
      [&](const value& body, const std::string& path,
          KubeconfigContext& context) -> std::expected<void, std::string> {
        KUBECONFIG_TRY(context.cluster, reader.string(body, "cluster", path));
        KUBECONFIG_TRY(context.user, reader.string(body, "user", path));
        KUBECONFIG_TRY(context.ns, reader.string(body, "namespace", path));
        context.origin = origin;
        return {};
      });
  if (!contexts) return std::unexpected(contexts.error());
  config.contexts = std::move(*contexts);

  KUBECONFIG_TRY(config.currentContext, reader.string(root, "current-context", ""));
  if (!config.currentContext.empty()) config.currentContextOrigin = origin;
  return config;
}

std::expected<Kubeconfig, std::string> loadKubeconfigFile(const std::filesystem::path& path) {
  std::error_code error;
  auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) return std::unexpected(path.string() + ": no such file");
  if (std::filesystem::is_directory(status)) {
    return std::unexpected(path.string() + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path.string() + ": cannot be read (permission denied?)");
  std::stringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::unexpected(path.string() + ": cannot be read");
  return parseKubeconfig(content.str(), path);
}

Kubeconfig mergeKubeconfigs(const std::vector<Kubeconfig>& configs) {
  Kubeconfig merged;
  for (const auto& config : configs) {
    // map::insert keeps the existing entry: the first file to define a name wins it whole.
    merged.clusters.insert(config.clusters.begin(), config.clusters.end());
    merged.users.insert(config.users.begin(), config.users.end());
    merged.contexts.insert(config.contexts.begin(), config.contexts.end());
    if (merged.currentContext.empty() && !config.currentContext.empty()) {
      merged.currentContext = config.currentContext;
      merged.currentContextOrigin = config.currentContextOrigin;
    }
    merged.files.insert(merged.files.end(), config.files.begin(), config.files.end());
  }
  return merged;
}

std::vector<std::filesystem::path> splitKubeconfigList(std::string_view value) {
  std::vector<std::filesystem::path> result;
  std::set<std::string> seen;
  while (true) {
    auto colon = value.find(':');
    std::string entry(value.substr(0, colon));
    if (!entry.empty() && seen.insert(entry).second) result.emplace_back(entry);
    if (colon == std::string_view::npos) break;
    value.remove_prefix(colon + 1);
  }
  return result;
}

}  // namespace billing::kube

#undef KUBECONFIG_TRY
#undef KUBECONFIG_CONCAT
#undef KUBECONFIG_CONCAT_INNER
