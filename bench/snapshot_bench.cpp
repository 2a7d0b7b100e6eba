// snapshot_bench: what one reconcile pays to see the cluster, with the whole cache decoded
// (snapshotFromCaches, what every reconcile did before) and with the partial snapshots the
// reconcilers use now (snapshotForProject / snapshotForBillingGroup), plan included.
//
//   build/bench/snapshot_bench [--groups 1000] [--projects 10000] [--samples 200]
//
// The world is the shape of operator_bench's (20 organizations, half of the groups bound to one
// project each), written straight into informer stores with the operator's indexes.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "operator/runtime/store.h"
#include "reconcilers/domain/plans.h"
#include "reconcilers/domain/snapshot_index.h"
#include "reconcilers/snapshot_from_cache.h"

namespace {

using web::json::value;
using SteadyClock = std::chrono::steady_clock;

value meta(const std::string& ns, const std::string& name, int uid) {
  value m = value::object();
  if (!ns.empty()) m["namespace"] = value::string(ns);
  m["name"] = value::string(name);
  m["uid"] = value::string("uid-" + std::to_string(uid));
  m["generation"] = value::number(1);
  m["resourceVersion"] = value::string(std::to_string(uid));
  m["creationTimestamp"] = value::string("2024-05-01T10:00:00Z");
  return m;
}

std::string ns(int org) { return "org-" + std::to_string(org); }

}  // namespace

int main(int argc, char** argv) {
  int groups = 1000;
  int projects = 10000;
  int samples = 200;
  const int organizations = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int number = std::atoi(argv[i + 1]);
    if (flag == "--groups") {
      groups = number;
    } else if (flag == "--projects") {
      projects = number;
    } else if (flag == "--samples") {
      samples = number;
    } else {
      std::fprintf(stderr, "snapshot_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const int projectGroups = groups / 2;
  const int sharedGroups = groups - projectGroups;
  if (sharedGroups < organizations || projects <= projectGroups || samples < 1) {
    std::fprintf(stderr, "snapshot_bench: need --groups >= 40, --projects > groups / 2\n");
    return 2;
  }

  billing::runtime::Store namespaces(billing::runtime::defaultIndexers());
  billing::runtime::Store groupStore(billing::runtime::defaultIndexers());
  billing::runtime::Store projectStore(billing::runtime::defaultIndexers());
  billing::runtime::Store invoices(billing::runtime::defaultIndexers());
  int uid = 0;
  for (int org = 0; org < organizations; ++org) {
    value object = value::object();
    object["metadata"] = meta("", ns(org), ++uid);
    object["metadata"]["labels"]["billing.operator.dev/organization"] = value::string(ns(org));
    namespaces.upsert(std::make_shared<const value>(object));
  }
  for (int g = 0; g < sharedGroups; ++g) {
    value object = value::object();
    object["metadata"] = meta(ns(g % organizations), "shared-" + std::to_string(g), ++uid);
    object["spec"]["scope"] = value::string("Organization");
    object["spec"]["currency"] = value::string("EUR");
    object["spec"]["displayName"] = value::string("Shared " + std::to_string(g));
    groupStore.upsert(std::make_shared<const value>(object));
  }
  for (int p = 0; p < projects; ++p) {
    const int org = p % organizations;
    value object = value::object();
    object["metadata"] = meta(ns(org), "project-" + std::to_string(p), ++uid);
    object["spec"]["displayName"] = value::string("Project " + std::to_string(p));
    if (p < projectGroups) {
      value group = value::object();
      group["metadata"] = meta(ns(org), "dedicated-" + std::to_string(p), ++uid);
      group["spec"]["scope"] = value::string("Project");
      group["spec"]["currency"] = value::string("EUR");
      group["spec"]["projectRef"]["name"] = value::string("project-" + std::to_string(p));
      groupStore.upsert(std::make_shared<const value>(group));
    } else {
      const int perOrganization = sharedGroups / organizations;
      const int g = org + ((p / organizations) % perOrganization) * organizations;
      object["spec"]["billingGroupRef"]["name"] = value::string("shared-" + std::to_string(g));
    }
    projectStore.upsert(std::make_shared<const value>(object));
  }
  const billing::reconcilers::Caches caches{&namespaces, &groupStore, &projectStore, &invoices};
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());

  // One sample: what a Project reconcile and a shared group's reconcile read and plan.
  auto timeIt = [&](bool whole) {
    std::size_t members = 0;
    const auto start = SteadyClock::now();
    for (int i = 0; i < samples; ++i) {
      const int p = projectGroups + (i * 7919) % (projects - projectGroups);
      const std::string projectNs = ns(p % organizations);
      const std::string projectName = "project-" + std::to_string(p);
      const billing::domain::Snapshot forProject =
          whole ? billing::reconcilers::snapshotFromCaches(caches)
                : billing::reconcilers::snapshotForProject(caches, projectNs, projectName);
      const billing::domain::SnapshotIndex projectIndex(forProject);
      const billing::domain::Project* project = projectIndex.findProject(projectNs, projectName);
      if (project == nullptr) std::abort();
      billing::domain::planProject(projectIndex, *project, {now, "USD"});

      const int g = i % sharedGroups;
      const std::string groupNs = ns(g % organizations);
      const std::string groupName = "shared-" + std::to_string(g);
      const billing::domain::Snapshot forGroup =
          whole ? billing::reconcilers::snapshotFromCaches(caches)
                : billing::reconcilers::snapshotForBillingGroup(caches, groupNs, groupName);
      const billing::domain::SnapshotIndex groupIndex(forGroup);
      const billing::domain::BillingGroup* group = groupIndex.findBillingGroup(groupNs, groupName);
      if (group == nullptr) std::abort();
      members += billing::domain::planBillingGroup(groupIndex, *group, now).status.projects.size();
    }
    const double perPair =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count() / samples;
    return std::make_pair(perPair, members);
  };
  const auto [partial, partialMembers] = timeIt(false);
  const int partialSamples = samples;
  samples = std::max(1, samples / 20);  // the whole cache is slow: fewer samples
  const auto [whole, wholeMembers] = timeIt(true);
  std::printf("snapshot_bench: %d BillingGroups, %d Projects cached\n", groups, projects);
  std::printf(
      "| snapshot per reconcile | one Project + one BillingGroup reconcile (snapshot, "
      "index, plan) |\n|---|---:|\n");
  std::printf("| whole cache (before) | %.2f ms (%d samples) |\n", whole, samples);
  std::printf("| partial (now) | %.3f ms (%d samples) |\n", partial, partialSamples);
  std::printf(
      "cold start of %d objects, one reconcile each, snapshots alone: before %.0f s, "
      "now %.2f s of CPU\n",
      groups + projects, whole / 2 * (groups + projects) / 1000.0,
      partial / 2 * (groups + projects) / 1000.0);
  // The same answers (members found) per sample, so both did the same work.
  std::printf("members per group plan: whole %.1f, partial %.1f\n",
              static_cast<double>(wholeMembers) / samples,
              static_cast<double>(partialMembers) / partialSamples);
  return 0;
}
