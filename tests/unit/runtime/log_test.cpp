#include "operator/runtime/log.h"

#include <gtest/gtest.h>

#include <mutex>

#include "fake_client.h"

namespace billing::runtime {
namespace {

using testing::Json;
using namespace std::chrono_literals;

class Lines {
 public:
  LogSink sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST(LogTest, JsonLinesCarryTimestampLevelLoggerMessageAndValues) {
  Lines lines;
  common::ManualClock clock;
  clock.setWall(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 10h + 1500us);
  Logger root(LogConfig{LogLevel::Info, LogFormat::Json, lines.sink(), &clock});
  auto log = root.withName("controller")
                 .withName("billinggroup")
                 .withValues({{"controller", "billinggroup"}});
  log.info("Reconcile done", {{"namespace", "acme"},
                              {"name", "gold"},
                              {"attempt", 3},
                              {"ready", true},
                              {"seconds", 0.25},
                              {"bytes", std::size_t{1024}}});
  const auto written = lines.get();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].rfind(R"({"ts":"2024-05-01T10:00:00.001500Z","level":"info",)", 0), 0u)
      << written[0];
  const Json line = testing::parse(written[0]);
  ASSERT_TRUE(line.is_object()) << written[0];
  EXPECT_EQ(stringAt(line, {"logger"}), "controller.billinggroup");
  EXPECT_EQ(stringAt(line, {"msg"}), "Reconcile done");
  EXPECT_EQ(stringAt(line, {"controller"}), "billinggroup");
  EXPECT_EQ(stringAt(line, {"namespace"}), "acme");
  EXPECT_EQ(line.at("attempt").as_integer(), 3);
  EXPECT_TRUE(line.at("ready").as_bool());
  EXPECT_DOUBLE_EQ(line.at("seconds").as_double(), 0.25);
  EXPECT_EQ(line.at("bytes").as_integer(), 1024);
}

TEST(LogTest, EscapingKeepsEveryLineOneValidJsonObject) {
  Lines lines;
  Logger log(LogConfig{LogLevel::Debug, LogFormat::Json, lines.sink(), nullptr});
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \x07 unicode \xC3\xA9";
  log.error(nasty, {{"error", nasty}});
  const auto written = lines.get();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].find('\n'), std::string::npos);
  const Json line = testing::parse(written[0]);
  ASSERT_TRUE(line.is_object()) << written[0];
  EXPECT_EQ(stringAt(line, {"msg"}), nasty);
  EXPECT_EQ(stringAt(line, {"error"}), nasty);
  EXPECT_EQ(stringAt(line, {"level"}), "error");
}

TEST(LogTest, LevelFiltersAndIsSharedByDerivedLoggers) {
  Lines lines;
  Logger root(LogConfig{LogLevel::Info, LogFormat::Json, lines.sink(), nullptr});
  auto child = root.withName("child");
  child.debug("hidden");
  child.info("shown");
  EXPECT_FALSE(child.enabled(LogLevel::Debug));
  root.setLevel(LogLevel::Debug);
  child.debug("now shown");
  root.setLevel(LogLevel::Error);
  child.warn("hidden again");
  const auto written = lines.get();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(stringAt(testing::parse(written[0]), {"msg"}), "shown");
  EXPECT_EQ(stringAt(testing::parse(written[1]), {"msg"}), "now shown");
  EXPECT_EQ(stringAt(testing::parse(written[1]), {"level"}), "debug");
  Logger::discard().error("goes nowhere");
}

TEST(LogTest, TextFormatIsOneReadableLine) {
  Lines lines;
  common::ManualClock clock;
  Logger log(LogConfig{LogLevel::Info, LogFormat::Text, lines.sink(), &clock});
  log.withName("manager").warn("Lease lost", {{"lease", "billing-system/leader"},
                                              {"error", "context deadline exceeded"},
                                              {"attempts", 3}});
  const auto written = lines.get();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0],
            "2024-05-01T10:00:00.000000Z WARN manager Lease lost lease=billing-system/leader "
            "error=\"context deadline exceeded\" attempts=3");
}

TEST(LogTest, ParsesLevelAndFormatNames) {
  EXPECT_EQ(parseLogLevel("DEBUG"), LogLevel::Debug);
  EXPECT_EQ(parseLogLevel("warning"), LogLevel::Warn);
  EXPECT_EQ(parseLogLevel("error"), LogLevel::Error);
  EXPECT_EQ(parseLogLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseLogFormat("json"), LogFormat::Json);
  EXPECT_EQ(parseLogFormat("Text"), LogFormat::Text);
  EXPECT_EQ(parseLogFormat("yaml"), std::nullopt);
}

TEST(ClockTest, MicroTimeHasSixFractionalDigitsInUtc) {
  using namespace std::chrono;
  EXPECT_EQ(common::formatMicroTime(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(common::formatMicroTime(sys_days{year{2024} / 2 / 29} + 23h + 59min + 59s + 999999us),
            "2024-02-29T23:59:59.999999Z");
  // Sub-microsecond parts are truncated, as metav1.MicroTime does.
  EXPECT_EQ(common::formatMicroTime(sys_days{year{2024} / 1 / 1} +
                                    duration_cast<system_clock::duration>(1999ns)),
            "2024-01-01T00:00:00.000001Z");
}

}  // namespace
}  // namespace billing::runtime
