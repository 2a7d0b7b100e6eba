#include "operator/runtime/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <thread>

namespace billing::runtime {
namespace {

// A strict reader of the Prometheus text format, enough to check what we write.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Family {
  std::string help;
  std::string type;
  std::vector<Sample> samples;
};

double parseValue(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  std::size_t used = 0;
  const double value = std::stod(text, &used);
  EXPECT_EQ(used, text.size()) << text;
  return value;
}

std::map<std::string, Family> parseExposition(const std::string& text) {
  std::map<std::string, Family> families;
  std::istringstream lines(text);
  std::string line;
  std::string current;
  while (std::getline(lines, line)) {
    EXPECT_FALSE(line.empty()) << "no blank lines";
    if (line.rfind("# HELP ", 0) == 0) {
      const auto rest = line.substr(7);
      current = rest.substr(0, rest.find(' '));
      families[current].help = rest.substr(current.size() + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto name = rest.substr(0, rest.find(' '));
      EXPECT_EQ(name, current) << "TYPE follows its HELP";
      families[name].type = rest.substr(name.size() + 1);
      continue;
    }
    Sample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') sample.name.push_back(line[i++]);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        std::string key;
        while (line[i] != '=') key.push_back(line[i++]);
        ++i;
        EXPECT_EQ(line[i], '"');
        ++i;
        std::string value;
        while (line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        ++i;
        sample.labels[key] = value;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    EXPECT_EQ(line[i], ' ') << line;
    sample.value = parseValue(line.substr(i + 1));
    EXPECT_TRUE(sample.name.rfind(current, 0) == 0) << sample.name << " outside family " << current;
    families[current].samples.push_back(sample);
  }
  return families;
}

TEST(MetricsTest, CountersAndGaugesRoundTripWithEscapedLabels) {
  Registry registry;
  auto& requests =
      registry.counter("http_requests_total", "Requests\nby path \\ code", {"path", "code"});
  requests.withLabels({"/a\"b", "200"}).inc();
  requests.withLabels({"/a\"b", "200"}).inc(2);
  requests.withLabels({"back\\slash\nnewline", "500"}).inc();
  requests.withLabels({"/x", "200"}).inc(-5);  // counters never go down
  auto& depth = registry.gauge("queue_depth", "Depth", {});
  depth.withLabels({}).set(7);
  depth.withLabels({}).dec();

  const auto families = parseExposition(registry.render());
  ASSERT_EQ(families.size(), 2u);
  const auto& counter = families.at("http_requests_total");
  EXPECT_EQ(counter.type, "counter");
  EXPECT_EQ(counter.help, "Requests\\nby path \\\\ code");
  ASSERT_EQ(counter.samples.size(), 3u);
  std::map<std::string, double> byPath;
  for (const auto& sample : counter.samples) byPath[sample.labels.at("path")] = sample.value;
  EXPECT_EQ(byPath.at("/a\"b"), 3);
  EXPECT_EQ(byPath.at("back\\slash\nnewline"), 1);
  EXPECT_EQ(byPath.at("/x"), 0);
  const auto& gauge = families.at("queue_depth");
  EXPECT_EQ(gauge.type, "gauge");
  ASSERT_EQ(gauge.samples.size(), 1u);
  EXPECT_TRUE(gauge.samples[0].labels.empty());
  EXPECT_EQ(gauge.samples[0].value, 6);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndEndWithInfEqualToCount) {
  Registry registry;
  auto& latency = registry.histogram("op_seconds", "Latency", {"op"}, {0.1, 1, 10});
  auto& get = latency.withLabels({"get"});
  for (double value : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0}) get.observe(value);
  const auto families = parseExposition(registry.render());
  const auto& family = families.at("op_seconds");
  EXPECT_EQ(family.type, "histogram");
  std::vector<std::pair<double, double>> buckets;
  double sum = -1;
  double count = -1;
  for (const auto& sample : family.samples) {
    EXPECT_EQ(sample.labels.at("op"), "get");
    if (sample.name == "op_seconds_bucket") {
      buckets.emplace_back(parseValue(sample.labels.at("le")), sample.value);
    } else if (sample.name == "op_seconds_sum") {
      sum = sample.value;
    } else if (sample.name == "op_seconds_count") {
      count = sample.value;
    } else {
      ADD_FAILURE() << sample.name;
    }
  }
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0], std::make_pair(0.1, 2.0));  // le is inclusive
  EXPECT_EQ(buckets[1], std::make_pair(1.0, 3.0));
  EXPECT_EQ(buckets[2], std::make_pair(10.0, 4.0));
  EXPECT_TRUE(std::isinf(buckets[3].first));
  EXPECT_EQ(buckets[3].second, 6.0);
  EXPECT_EQ(count, 6.0);
  EXPECT_DOUBLE_EQ(sum, 52.65);
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1].first, buckets[i].first);
    EXPECT_LE(buckets[i - 1].second, buckets[i].second);
  }
}

TEST(MetricsTest, RuntimeFamiliesUseTheControllerRuntimeAndClientGoNames) {
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  metrics.reconcileTotal.withLabels({"billinggroup", "success"}).inc();
  metrics.reconcileErrors.withLabels({"billinggroup"});
  metrics.reconcileTime.withLabels({"billinggroup"}).observe(0.02);
  metrics.workqueueDepth.withLabels({"billinggroup"});
  metrics.workqueueAdds.withLabels({"billinggroup"}).inc();
  metrics.workqueueQueueDuration.withLabels({"billinggroup"}).observe(1e-6);
  metrics.workqueueRetries.withLabels({"billinggroup"});
  metrics.leaderElectionMasterStatus.withLabels({"billing-operator-leader"}).set(1);
  auto hook = metrics.restClientHook();
  hook(200, "GET", "10.0.0.1:6443");
  hook(200, "GET", "10.0.0.1:6443");
  metrics.observeRestClientRequest(0, "PUT", "10.0.0.1:6443");

  const auto families = parseExposition(registry->render());
  const std::map<std::string, std::string> expected = {
      {"controller_runtime_reconcile_total", "counter"},
      {"controller_runtime_reconcile_errors_total", "counter"},
      {"controller_runtime_reconcile_time_seconds", "histogram"},
      {"workqueue_depth", "gauge"},
      {"workqueue_adds_total", "counter"},
      {"workqueue_queue_duration_seconds", "histogram"},
      {"workqueue_retries_total", "counter"},
      {"leader_election_master_status", "gauge"},
      {"rest_client_requests_total", "counter"}};
  for (const auto& [name, type] : expected) {
    ASSERT_TRUE(families.contains(name)) << name;
    EXPECT_EQ(families.at(name).type, type) << name;
  }
  const auto& reconcile = families.at("controller_runtime_reconcile_total").samples;
  ASSERT_EQ(reconcile.size(), 1u);
  EXPECT_EQ(reconcile[0].labels, (std::map<std::string, std::string>{{"controller", "billinggroup"},
                                                                     {"result", "success"}}));
  std::map<std::string, double> rest;
  for (const auto& sample : families.at("rest_client_requests_total").samples) {
    EXPECT_EQ(sample.labels.at("host"), "10.0.0.1:6443");
    rest[sample.labels.at("code") + " " + sample.labels.at("method")] = sample.value;
  }
  EXPECT_EQ(rest, (std::map<std::string, double>{{"200 GET", 2}, {"<error> PUT", 1}}));
  // controller-runtime's buckets for reconcile time: 0.005 ... 60, then +Inf.
  std::vector<std::string> les;
  for (const auto& sample : families.at("controller_runtime_reconcile_time_seconds").samples) {
    if (sample.name.ends_with("_bucket")) les.push_back(sample.labels.at("le"));
  }
  ASSERT_EQ(les.size(), 41u);
  EXPECT_EQ(les.front(), "0.005");
  EXPECT_EQ(les[les.size() - 2], "60");
  EXPECT_EQ(les.back(), "+Inf");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  auto& counter = registry.counter("c_total", "c", {"k"});
  auto& histogram = registry.histogram("h_seconds", "h", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.withLabels({"x"}).inc();
        histogram.withLabels({}).observe(0.5);
      }
    });
  }
  std::string scraped;
  for (int i = 0; i < 20; ++i) scraped = registry.render();  // scrapes race the updates
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.withLabels({"x"}).value(), 40000);
  EXPECT_EQ(histogram.withLabels({}).snapshot().count, 40000u);
  EXPECT_FALSE(scraped.empty());
}

}  // namespace
}  // namespace billing::runtime
