// snapshotForProject / snapshotForBillingGroup must be enough for the plans: for every object of
// generated worlds (every membership source, every R2/R3/R4/R5/R6 situation, broken objects
// included), the plan over the partial snapshot equals the plan over every cached object.
#include "reconcilers/snapshot_from_cache.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/json.h"
#include "operator/runtime/store.h"
#include "reconcilers/domain/plans.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/domain/snapshot_index.h"

namespace billing::reconcilers {
namespace {

using web::json::value;

struct World {
  runtime::Store namespaces{runtime::defaultIndexers()};
  runtime::Store groups{runtime::defaultIndexers()};
  runtime::Store projects{runtime::defaultIndexers()};
  runtime::Store invoices{runtime::defaultIndexers()};
  Caches caches() const { return Caches{&namespaces, &groups, &projects, &invoices}; }
};

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

// Three organizations over five namespaces (one unlabelled: its own organization), groups of
// both scopes with every binding quirk, projects with every kind of reference.
void generate(World& world, std::uint32_t seed) {
  std::mt19937 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> namespaces = {"a1", "a2", "b1", "c1", "loose"};
  const std::vector<std::string> organizations = {"org-a", "org-a", "org-b", "org-c", ""};
  int uid = 0;
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    value ns = value::object();
    ns["metadata"] = meta("", namespaces[i], ++uid);
    if (!organizations[i].empty()) {
      ns["metadata"]["labels"]["billing.operator.dev/organization"] =
          value::string(organizations[i]);
    }
    world.namespaces.upsert(std::make_shared<const value>(ns));
  }
  const int projectCount = 30;
  auto projectName = [](int p) { return "p" + std::to_string(p); };
  for (int g = 0; g < 25; ++g) {
    value group = value::object();
    const std::string ns = namespaces[static_cast<std::size_t>(pick(5))];
    std::string name = "g" + std::to_string(g);
    const int shape = pick(8);
    if (shape == 7) name = domain::defaultGroupName(projectName(pick(projectCount)));
    group["metadata"] = meta(ns, name, ++uid);
    group["spec"]["currency"] = value::string("EUR");
    group["spec"]["scope"] = value::string(shape < 3 ? "Organization" : "Project");
    if (shape >= 3 || pick(6) == 0) {
      group["spec"]["projectRef"]["name"] = value::string(projectName(pick(projectCount)));
    }
    if (shape == 7 || pick(5) == 0) {
      group["metadata"]["annotations"]["billing.operator.dev/default-group-of"] =
          value::string(projectName(pick(projectCount)));
      if (pick(2) == 0) group["spec"]["scope"] = value::string("Organization");
    }
    if (pick(4) == 0) {
      value owner = value::object();
      owner["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
      owner["kind"] = value::string("Project");
      owner["name"] = value::string(projectName(pick(projectCount)));
      owner["uid"] = value::string("uid-" + std::to_string(1000 + pick(projectCount)));
      owner["controller"] = value::boolean(true);
      group["metadata"]["ownerReferences"][0] = owner;
    }
    if (pick(8) == 0) {
      group["metadata"]["deletionTimestamp"] = value::string("2024-06-01T00:00:00Z");
    }
    world.groups.upsert(std::make_shared<const value>(group));
  }
  for (int p = 0; p < projectCount; ++p) {
    value project = value::object();
    const std::string ns = namespaces[static_cast<std::size_t>(pick(5))];
    project["metadata"] = meta(ns, projectName(p), 1000 + p);
    project["spec"]["displayName"] = value::string("Project " + std::to_string(p));
    const int shape = pick(4);
    if (shape > 0) {
      project["spec"]["billingGroupRef"]["name"] = value::string("g" + std::to_string(pick(27)));
      if (shape == 2) {
        project["spec"]["billingGroupRef"]["namespace"] =
            value::string(namespaces[static_cast<std::size_t>(pick(5))]);
      }
    }
    if (pick(10) == 0) {
      project["metadata"]["deletionTimestamp"] = value::string("2024-06-01T00:00:00Z");
    }
    world.projects.upsert(std::make_shared<const value>(project));
  }
  for (int i = 0; i < 10; ++i) {
    value invoice = value::object();
    invoice["metadata"] =
        meta(namespaces[static_cast<std::size_t>(pick(5))], "inv" + std::to_string(i), ++uid);
    invoice["spec"]["billingGroupRef"]["name"] = value::string("g" + std::to_string(pick(25)));
    invoice["spec"]["periodStart"] = value::string("2024-05-01T00:00:00Z");
    invoice["spec"]["periodEnd"] = value::string("2024-06-01T00:00:00Z");
    world.invoices.upsert(std::make_shared<const value>(invoice));
  }
}

std::vector<std::string> described(const std::vector<domain::Violation>& violations) {
  std::vector<std::string> out;
  for (const auto& violation : violations) out.push_back(domain::describe(violation));
  return out;
}

std::string described(const std::optional<domain::Violation>& violation) {
  return violation ? domain::describe(*violation) : "";
}

const domain::Timestamp kNow = *domain::parseTimestamp("2024-05-15T12:00:00Z");

TEST(SnapshotFromCacheTest, PartialSnapshotsPlanLikeTheWholeCache) {
  int projectsCompared = 0;
  int groupsCompared = 0;
  int membersSeen = 0;
  for (std::uint32_t seed = 1; seed <= 200; ++seed) {
    World world;
    generate(world, seed);
    const domain::Snapshot full = snapshotFromCaches(world.caches());
    const domain::SnapshotIndex fullIndex(full);
    for (const domain::Project& project : full.projects) {
      const domain::Snapshot partial =
          snapshotForProject(world.caches(), project.metadata.ns, project.metadata.name);
      const domain::SnapshotIndex partialIndex(partial);
      const domain::ProjectPlan expected = domain::planProject(fullIndex, project, {kNow, "USD"});
      const domain::ProjectPlan actual = domain::planProject(partialIndex, project, {kNow, "USD"});
      const std::string where = "seed " + std::to_string(seed) + ", project " +
                                project.metadata.ns + "/" + project.metadata.name;
      EXPECT_EQ(actual.status, expected.status) << where;
      EXPECT_EQ(actual.group, expected.group) << where;
      EXPECT_EQ(actual.groupToCreate, expected.groupToCreate) << where;
      EXPECT_EQ(described(actual.problem), described(expected.problem)) << where;
      const auto expectedDeletion = domain::planProjectDeletion(fullIndex, project);
      const auto actualDeletion = domain::planProjectDeletion(partialIndex, project);
      EXPECT_EQ(actualDeletion.groupsToDelete, expectedDeletion.groupsToDelete) << where;
      EXPECT_EQ(actualDeletion.groupsSurviving, expectedDeletion.groupsSurviving) << where;
      ++projectsCompared;
    }
    for (const domain::BillingGroup& group : full.billingGroups) {
      const domain::Snapshot partial =
          snapshotForBillingGroup(world.caches(), group.metadata.ns, group.metadata.name);
      const domain::SnapshotIndex partialIndex(partial);
      const domain::BillingGroupPlan expected = domain::planBillingGroup(fullIndex, group, kNow);
      const domain::BillingGroupPlan actual = domain::planBillingGroup(partialIndex, group, kNow);
      const std::string where = "seed " + std::to_string(seed) + ", group " + group.metadata.ns +
                                "/" + group.metadata.name;
      EXPECT_EQ(actual.status, expected.status) << where;
      EXPECT_EQ(described(actual.problems), described(expected.problems)) << where;
      EXPECT_EQ(described(actual.deletionBlocked), described(expected.deletionBlocked)) << where;
      EXPECT_EQ(actual.ownerReferencesToRelease, expected.ownerReferencesToRelease) << where;
      EXPECT_EQ(described(domain::validateObject(partialIndex, group.key())),
                described(domain::validateObject(fullIndex, group.key())))
          << where;
      membersSeen += static_cast<int>(expected.status.projects.size());
      ++groupsCompared;
    }
  }
  // The generated worlds are not trivial: groups do have members. (A few generated group names
  // collide with default-group names, so slightly fewer than 25 groups per world.)
  EXPECT_EQ(projectsCompared, 200 * 30);
  EXPECT_GT(groupsCompared, 200 * 24);
  EXPECT_GT(membersSeen, 200);
}

TEST(SnapshotFromCacheTest, PartialSnapshotOfAnUnknownObjectIsEmpty) {
  World world;
  generate(world, 7);
  const domain::Snapshot project = snapshotForProject(world.caches(), "a1", "nope");
  EXPECT_TRUE(project.projects.empty());
  const domain::Snapshot group = snapshotForBillingGroup(world.caches(), "a1", "nope");
  EXPECT_TRUE(group.billingGroups.empty());
  EXPECT_TRUE(group.projects.empty());
}

}  // namespace
}  // namespace billing::reconcilers
