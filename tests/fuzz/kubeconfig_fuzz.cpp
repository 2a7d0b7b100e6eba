// The kubeconfig loader (operator/kube/kubeconfig.h) over any text, as if read from
// /fuzz/home/.kube/config. It never crashes or throws, errors name the file (and the line), and
// what it accepts has every relative path resolved against the file's directory. Only parsing
// and merging are fuzzed: turning a context into a client would run exec plugins named by the
// input.
#include <string>

#include "operator/kube/kubeconfig.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void checkResolved(const std::string& path, const std::string& what) {
  BILLING_FUZZ_CHECK(path.empty() || path.front() == '/', what + " was left relative: " + path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace billing::kube;
  const std::filesystem::path origin = "/fuzz/home/.kube/config";
  const std::string_view text = billing::fuzz::asText(data, size);
  const auto config = parseKubeconfig(text, origin);
  if (!config) {
    BILLING_FUZZ_CHECK(config.error().starts_with(origin.string() + ":"),
                       "an error that does not name the file: " + config.error());
    return 0;
  }
  for (const auto& [name, cluster] : config->clusters) {
    checkResolved(cluster.certificateAuthority, "cluster " + name + " certificate-authority");
  }
  for (const auto& [name, user] : config->users) {
    checkResolved(user.clientCertificate, "user " + name + " client-certificate");
    checkResolved(user.clientKey, "user " + name + " client-key");
    checkResolved(user.tokenFile, "user " + name + " tokenFile");
    if (user.exec && user.exec->command.find('/') != std::string::npos) {
      checkResolved(user.exec->command, "user " + name + " exec command");
    }
  }
  // Merging a configuration with itself changes nothing: the first definition of a name wins.
  const Kubeconfig merged = mergeKubeconfigs({*config, *config});
  BILLING_FUZZ_CHECK(merged.currentContext == config->currentContext,
                     "merge changed current-context");
  BILLING_FUZZ_CHECK(merged.clusters.size() == config->clusters.size() &&
                         merged.users.size() == config->users.size() &&
                         merged.contexts.size() == config->contexts.size(),
                     "merging a configuration with itself changed its entries");
  // The same bytes as a KUBECONFIG list: never crashes, never yields an empty entry.
  for (const auto& entry : splitKubeconfigList(text)) {
    BILLING_FUZZ_CHECK(!entry.empty(), "an empty KUBECONFIG entry survived the split");
  }
  return 0;
}
