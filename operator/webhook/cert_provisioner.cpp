#include "operator/webhook/cert_provisioner.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/tls.h"

namespace billing::webhook {

namespace {

using web::json::value;

const kube::ResourceRef kSecrets{"", "v1", "secrets", "Secret", true};
const kube::ResourceRef kWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                               "validatingwebhookconfigurations",
                                               "ValidatingWebhookConfiguration", false};
const kube::ResourceRef kMutatingWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                                       "mutatingwebhookconfigurations",
                                                       "MutatingWebhookConfiguration", false};

// The keys of the Secret: the kubernetes.io/tls pair, plus the CA the caBundle and renewals need.
constexpr const char* kTlsCrt = "tls.crt";
constexpr const char* kTlsKey = "tls.key";
constexpr const char* kCaCrt = "ca.crt";  // current CA first, then a retired one during rotation
constexpr const char* kCaKey = "ca.key";

// How often the Secret is read again after losing a create or update race before giving up.
constexpr int kRaceAttempts = 5;

// RFC 1123 DNS label / subdomain, as Services and Secrets are named.
bool isDnsLabel(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  for (char c : text) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return text.front() != '-' && text.back() != '-';
}

bool isDnsSubdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    if (!isDnsLabel(text.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// The PEM blocks of a text, each with its BEGIN and END lines.
std::vector<std::string> pemBlocks(std::string_view text) {
  std::vector<std::string> blocks;
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kEndMarker = "-----END ";
  std::size_t position = 0;
  while ((position = text.find(kBegin, position)) != std::string_view::npos) {
    const auto end = text.find(kEndMarker, position);
    if (end == std::string_view::npos) break;
    auto lineEnd = text.find('\n', end);
    lineEnd = lineEnd == std::string_view::npos ? text.size() : lineEnd + 1;
    std::string block(text.substr(position, lineEnd - position));
    if (block.back() != '\n') block.push_back('\n');
    blocks.push_back(std::move(block));
    position = lineEnd;
  }
  return blocks;
}

std::string secretValue(const value& secret, const char* key) {
  if (!secret.has_field("data") || !secret.at("data").is_object()) return {};
  const value& data = secret.at("data");
  if (!data.has_field(key) || !data.at(key).is_string()) return {};
  auto decoded = common::base64Decode(data.at(key).as_string());
  return decoded ? *decoded : std::string();
}

std::string describe(const kube::Error& error) { return error.describe(); }

std::expected<std::string, std::string> readFileIfAny(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes next to the target and renames over it, so a reader sees the old or the new file,
// never half of one. The key is readable by the owner only.
std::expected<void, std::string> writeFileAtomically(const std::filesystem::path& path,
                                                     const std::string& content, bool secret) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      return std::unexpected("cannot write " + temporary.string() +
                             " (is --webhook-cert-dir writable? the chart mounts an emptyDir "
                             "there because the root filesystem is read-only)");
    }
    out << content;
    if (!out.flush()) return std::unexpected("cannot write " + temporary.string());
  }
  if (secret) ::chmod(temporary.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return std::unexpected("cannot rename " + temporary.string() + ": " + ec.message());
  return {};
}

}  // namespace

// What the Secret holds, decoded.
struct CertProvisioner::Material {
  std::string caCertPem;  // the CA that signs
  std::string caKeyPem;
  std::string retiredCaPem;  // the CA before the last rotation, while it may still be served
  std::string certPem;       // the serving certificate
  std::string keyPem;

  std::string caBundle() const { return caCertPem + retiredCaPem; }

  static Material fromSecret(const value& secret) {
    Material material;
    const auto cas = pemBlocks(secretValue(secret, kCaCrt));
    if (!cas.empty()) material.caCertPem = cas.front();
    if (cas.size() > 1) material.retiredCaPem = cas[1];
    material.caKeyPem = secretValue(secret, kCaKey);
    material.certPem = secretValue(secret, kTlsCrt);
    material.keyPem = secretValue(secret, kTlsKey);
    return material;
  }

  value data() const {
    value data = value::object();
    data[kCaCrt] = value::string(common::base64Encode(caBundle()));
    data[kCaKey] = value::string(common::base64Encode(caKeyPem));
    data[kTlsCrt] = value::string(common::base64Encode(certPem));
    data[kTlsKey] = value::string(common::base64Encode(keyPem));
    return data;
  }
};

namespace {

enum class Needed { Nothing, ServingCertificate, CaRotation, Everything };

const char* neededText(Needed needed) {
  switch (needed) {
    case Needed::Nothing:
      return "nothing";
    case Needed::ServingCertificate:
      return "a new serving certificate";
    case Needed::CaRotation:
      return "a new CA and serving certificate (CA expiring)";
    case Needed::Everything:
      return "a new CA and serving certificate";
  }
  return "?";
}

std::vector<std::string> dnsNamesFor(const CertProvisionerOptions& options) {
  const std::string& svc = options.serviceName;
  const std::string& ns = options.serviceNamespace;
  return {svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local", svc + "." + ns, svc};
}

}  // namespace

CertProvisioner::CertProvisioner(kube::Client& client, Options options)
    : client_(client), options_(std::move(options)) {}

CertProvisioner::~CertProvisioner() { stop(); }

std::expected<void, std::string> CertProvisioner::validate(const Options& options) {
  if (!isDnsLabel(options.serviceName)) {
    return std::unexpected(
        "--webhook-service-name must be a Service name (RFC 1123 label), got \"" +
        options.serviceName + "\"");
  }
  if (!isDnsLabel(options.serviceNamespace)) {
    return std::unexpected(
        "--webhook-service-namespace must be the namespace of the webhook Service (the chart "
        "passes the release namespace), got \"" +
        options.serviceNamespace + "\"");
  }
  if (!isDnsSubdomain(options.secretName)) {
    return std::unexpected("--webhook-cert-secret-name must be a Secret name, got \"" +
                           options.secretName + "\"");
  }
  if (!isDnsSubdomain(options.webhookConfigurationName)) {
    return std::unexpected(
        "--webhook-configuration-name must be a ValidatingWebhookConfiguration name, got \"" +
        options.webhookConfigurationName + "\"");
  }
  if (!options.mutatingWebhookConfigurationName.empty() &&
      !isDnsSubdomain(options.mutatingWebhookConfigurationName)) {
    return std::unexpected("the MutatingWebhookConfiguration name must be a DNS subdomain, got \"" +
                           options.mutatingWebhookConfigurationName + "\"");
  }
  if (options.renewBefore >= options.certValidity || options.renewBefore >= options.caValidity) {
    return std::unexpected("certificates must be valid longer than the renewal margin");
  }
  return {};
}

std::chrono::system_clock::time_point CertProvisioner::now() const {
  return options_.now ? options_.now() : std::chrono::system_clock::now();
}

namespace {

// What the Secret's material needs, judged at `now`: anything unreadable or mismatched is
// replaced, so a Secret edited by hand or half-restored from a backup heals itself.
Needed assess(const CertProvisionerOptions& options, const std::string& caCertPem,
              const std::string& caKeyPem, const std::string& certPem, const std::string& keyPem,
              std::chrono::system_clock::time_point now) {
  auto ca = common::inspectCertificate(caCertPem);
  if (!ca || !ca->isCa || !common::checkKeyMatchesCertificate(caCertPem, caKeyPem)) {
    return Needed::Everything;
  }
  if (ca->notAfter - now < options.renewBefore) return Needed::CaRotation;
  auto serving = common::inspectCertificate(certPem);
  if (!serving || !common::checkKeyMatchesCertificate(certPem, keyPem) ||
      serving->issuerCommonName != ca->commonName) {
    return Needed::ServingCertificate;
  }
  for (const std::string& name : dnsNamesFor(options)) {
    if (std::find(serving->dnsNames.begin(), serving->dnsNames.end(), name) ==
        serving->dnsNames.end()) {
      return Needed::ServingCertificate;  // the Service was renamed
    }
  }
  if (serving->notAfter - now < options.renewBefore) return Needed::ServingCertificate;
  return Needed::Nothing;
}

}  // namespace

std::expected<CertProvisioner::Material, std::string> CertProvisioner::generate(
    const Material* previous) const {
  Material material;
  if (previous != nullptr && !previous->caCertPem.empty()) {
    // Keep signing with the CA: only the serving certificate changes, caBundle stays.
    material.caCertPem = previous->caCertPem;
    material.caKeyPem = previous->caKeyPem;
    material.retiredCaPem = previous->retiredCaPem;
  } else {
    // A CN unique to this CA, as kube-apiserver's self-signed "<name>@<unix time>", so that the
    // serving certificate's issuer tells which CA signed it.
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
    auto ca = common::generateCertificateAuthority(
        options_.serviceName + "-ca@" + std::to_string(seconds), options_.caValidity);
    if (!ca) return std::unexpected("generating the webhook CA: " + ca.error());
    material.caCertPem = ca->certPem;
    material.caKeyPem = ca->keyPem;
  }
  common::CertificateRequest request;
  request.commonName = options_.serviceName + "." + options_.serviceNamespace + ".svc";
  request.dnsNames = dnsNamesFor(options_);
  request.serverAuth = true;
  request.validity = options_.certValidity;
  auto issued = common::issueCertificate({material.caCertPem, material.caKeyPem}, request);
  if (!issued) return std::unexpected("issuing the webhook serving certificate: " + issued.error());
  material.certPem = issued->certPem;
  material.keyPem = issued->keyPem;
  return material;
}

std::expected<CertProvisioner::Material, std::string> CertProvisioner::ensureSecret(
    CertProvisionReport& report) {
  const std::string where = "Secret " + options_.serviceNamespace + "/" + options_.secretName;
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    auto current = client_.get(kSecrets, options_.serviceNamespace, options_.secretName);
    if (!current && current.error().kind != kube::ErrorKind::NotFound) {
      return std::unexpected("reading " + where + ": " + describe(current.error()));
    }
    if (!current) {
      auto material = generate(nullptr);
      if (!material) return std::unexpected(material.error());
      value secret = value::object();
      secret["apiVersion"] = value::string("v1");
      secret["kind"] = value::string("Secret");
      secret["metadata"]["name"] = value::string(options_.secretName);
      secret["metadata"]["namespace"] = value::string(options_.serviceNamespace);
      secret["metadata"]["labels"]["app.kubernetes.io/name"] = value::string("billing-operator");
      secret["metadata"]["labels"]["app.kubernetes.io/component"] =
          value::string("webhook-certificate");
      secret["type"] = value::string("kubernetes.io/tls");
      secret["data"] = material->data();
      auto created = client_.create(kSecrets, options_.serviceNamespace, secret);
      if (created) {
        report.secretCreated = true;
        report.certificateRenewed = true;
        return material;
      }
      // Another replica created it first: use theirs.
      if (created.error().kind == kube::ErrorKind::AlreadyExists) continue;
      return std::unexpected("creating " + where + ": " + describe(created.error()));
    }

    Material material = Material::fromSecret(*current);
    const Needed needed = assess(options_, material.caCertPem, material.caKeyPem, material.certPem,
                                 material.keyPem, now());
    if (needed == Needed::Nothing) return material;

    std::expected<Material, std::string> renewed;
    if (needed == Needed::ServingCertificate) {
      renewed = generate(&material);
    } else {
      renewed = generate(nullptr);
      // The old CA stays in the bundle while it is still valid: replicas serving a certificate it
      // signed keep being trusted until they read the new files.
      if (renewed && needed == Needed::CaRotation) renewed->retiredCaPem = material.caCertPem;
    }
    if (!renewed) return std::unexpected(renewed.error());
    options_.log.info("Renewing the webhook certificate",
                      {{"secret", options_.serviceNamespace + "/" + options_.secretName},
                       {"reason", std::string(neededText(needed))}});
    value secret = *current;
    secret["data"] = renewed->data();
    // The update carries the resourceVersion read above: a replica that renewed in between wins
    // and this one reads its result.
    auto updated = client_.update(kSecrets, options_.serviceNamespace, secret);
    if (updated) {
      report.certificateRenewed = true;
      report.caRotated = needed != Needed::ServingCertificate;
      return renewed;
    }
    if (updated.error().kind == kube::ErrorKind::Conflict) continue;
    return std::unexpected("updating " + where + ": " + describe(updated.error()));
  }
  return std::unexpected(where + " kept changing while being read (" +
                         std::to_string(kRaceAttempts) + " attempts); will retry");
}

std::expected<bool, std::string> CertProvisioner::writeFiles(const Material& material) const {
  std::error_code ec;
  std::filesystem::create_directories(options_.certDir, ec);
  if (ec) {
    return std::unexpected("cannot create --webhook-cert-dir " + options_.certDir.string() + ": " +
                           ec.message());
  }
  const auto certPath = options_.certDir / kTlsCrt;
  const auto keyPath = options_.certDir / kTlsKey;
  auto oldCert = readFileIfAny(certPath);
  if (!oldCert) return std::unexpected(oldCert.error());
  auto oldKey = readFileIfAny(keyPath);
  if (!oldKey) return std::unexpected(oldKey.error());
  if (*oldCert == material.certPem && *oldKey == material.keyPem) return false;
  // Key first: WebhookServer refuses a pair whose key does not match and keeps the old one until
  // its next check, so the order only shortens that window.
  if (auto written = writeFileAtomically(keyPath, material.keyPem, true); !written) {
    return std::unexpected(written.error());
  }
  if (auto written = writeFileAtomically(certPath, material.certPem, false); !written) {
    return std::unexpected(written.error());
  }
  return true;
}

std::string CertProvisioner::mutatingConfigurationName() const {
  return options_.mutatingWebhookConfigurationName.empty()
             ? options_.webhookConfigurationName
             : options_.mutatingWebhookConfigurationName;
}

std::expected<std::optional<int>, std::string> CertProvisioner::ensureCaBundle(
    const kube::ResourceRef& resource, const std::string& name, const std::string& caBundlePem) {
  const std::string where = resource.kind + " " + name;
  auto configuration = client_.get(resource, "", name);
  if (!configuration) {
    if (configuration.error().kind == kube::ErrorKind::NotFound) return std::nullopt;
    return std::unexpected("reading " + where + ": " + describe(configuration.error()));
  }
  const std::string wanted = common::base64Encode(caBundlePem);
  value operations = value::array();
  std::size_t count = 0;
  int ours = 0;
  if (configuration->has_field("webhooks") && configuration->at("webhooks").is_array()) {
    const auto& webhooks = configuration->at("webhooks").as_array();
    for (std::size_t i = 0; i < webhooks.size(); ++i) {
      const value& webhook = webhooks.at(i);
      if (!webhook.has_field("clientConfig")) continue;
      const value& clientConfig = webhook.at("clientConfig");
      if (!clientConfig.has_field("service")) continue;
      const value& service = clientConfig.at("service");
      auto text = [](const value& object, const char* key) {
        return object.has_field(key) && object.at(key).is_string() ? object.at(key).as_string()
                                                                   : std::string();
      };
      // Only webhooks calling our Service: a configuration may list others.
      if (text(service, "name") != options_.serviceName ||
          text(service, "namespace") != options_.serviceNamespace) {
        continue;
      }
      ++ours;
      const std::string current = text(clientConfig, "caBundle");
      auto decoded = common::base64Decode(current);
      if (decoded && *decoded == caBundlePem) continue;
      const std::string base = "/webhooks/" + std::to_string(i);
      // The test guards against the list changing between our read and the patch.
      value test = value::object();
      test["op"] = value::string("test");
      test["path"] = value::string(base + "/name");
      test["value"] = value::string(text(webhook, "name"));
      value set = value::object();
      set["op"] = value::string("add");  // adds or replaces the member
      set["path"] = value::string(base + "/clientConfig/caBundle");
      set["value"] = value::string(wanted);
      operations[count++] = test;
      operations[count++] = set;
    }
  }
  if (ours == 0) {
    return std::unexpected(where + " has no webhook calling Service " + options_.serviceNamespace +
                           "/" + options_.serviceName +
                           " (check --webhook-service-name and --webhook-service-namespace)");
  }
  if (count == 0) return 0;
  auto patched = client_.patch(resource, "", name, kube::PatchType::Json, operations);
  if (!patched)
    return std::unexpected("patching the caBundle of " + where + ": " + describe(patched.error()));
  return static_cast<int>(count / 2);
}

std::expected<CertProvisionReport, std::string> CertProvisioner::reconcileOnce() {
  CertProvisionReport report;
  auto material = ensureSecret(report);
  if (!material) return std::unexpected(material.error());
  if (auto fingerprint = common::certificateFingerprint(material->caCertPem)) {
    report.caFingerprint = *fingerprint;
  }
  if (auto fingerprint = common::certificateFingerprint(material->certPem)) {
    report.servingFingerprint = *fingerprint;
  }
  auto written = writeFiles(*material);
  if (!written) return std::unexpected(written.error());
  report.filesWritten = *written;
  const std::string caBundle = material->caBundle();
  auto validating =
      ensureCaBundle(kWebhookConfigurations, options_.webhookConfigurationName, caBundle);
  auto mutating =
      ensureCaBundle(kMutatingWebhookConfigurations, mutatingConfigurationName(), caBundle);
  std::string errors;
  if (!validating) {
    errors = validating.error();
  } else if (!*validating) {
    errors = "ValidatingWebhookConfiguration " + options_.webhookConfigurationName +
             " not found: install it with the chart (or name it with "
             "--webhook-configuration-name); the webhook serves meanwhile but the API server does "
             "not call it";
  } else {
    report.caBundlesPatched += **validating;
  }
  if (!mutating) {
    errors += (errors.empty() ? "" : "; ") + mutating.error();
  } else if (*mutating) {
    report.caBundlesPatched += **mutating;
  } else {
    report.mutatingConfigurationMissing = true;
  }
  // Logged when it changes, not on every pass: an install without it is legitimate.
  if (report.mutatingConfigurationMissing !=
      mutatingMissing_.exchange(report.mutatingConfigurationMissing)) {
    if (report.mutatingConfigurationMissing) {
      options_.log.info(
          "MutatingWebhookConfiguration " + mutatingConfigurationName() +
          " not found: objects are created without the operator's finalizer and the reconcilers "
          "add it (one more write each); install it with the chart or deploy/");
    } else {
      options_.log.info("MutatingWebhookConfiguration " + mutatingConfigurationName() +
                        " found: its caBundle is kept from now on");
    }
  }
  if (!errors.empty()) return std::unexpected(errors);
  return report;
}

void CertProvisioner::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { loop(std::move(stop)); });
}

void CertProvisioner::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

void CertProvisioner::loop(std::stop_token stop) {
  // The caller ran the first pass before start(): wait first (less while a configuration the
  // chart installs is missing: it is likely on its way).
  std::chrono::milliseconds wait =
      mutatingMissing_ ? options_.retryInterval : options_.checkInterval;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, stop, wait, [] { return false; }) || stop.stop_requested()) return;
    }
    auto report = reconcileOnce();
    if (!report) {
      options_.log.error("Webhook certificate check failed; retrying",
                         {{"error", report.error()},
                          {"retryIn", std::to_string(options_.retryInterval.count()) + "ms"}});
      wait = options_.retryInterval;
      continue;
    }
    wait = report->mutatingConfigurationMissing ? options_.retryInterval : options_.checkInterval;
    if (report->certificateRenewed || report->filesWritten || report->caBundlesPatched > 0) {
      options_.log.info("Webhook certificate updated",
                        {{"renewed", report->certificateRenewed},
                         {"caRotated", report->caRotated},
                         {"filesWritten", report->filesWritten},
                         {"caBundlesPatched", report->caBundlesPatched},
                         {"caSha256", report->caFingerprint}});
    }
  }
}

}  // namespace billing::webhook
