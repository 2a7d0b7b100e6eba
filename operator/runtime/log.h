// A small structured logger: one JSON object per line in production (ts, level, logger, msg, then
// key-values), or a human-readable text line. Loggers are cheap values: withName() and
// withValues() derive children that share the parent's sink and level.
//
//   Logger log(LogConfig{.level = LogLevel::Info, .format = LogFormat::Json});
//   auto controllerLog = log.withName("controller").withValues({{"controller", "billinggroup"}});
//   controllerLog.info("Starting workers", {{"workers", 2}});
//   -> {"ts":"2024-05-01T10:00:00.123456Z","level":"info","logger":"controller",
//       "msg":"Starting workers","controller":"billinggroup","workers":2}
//
// Never log secrets: the logger cannot tell them apart from other strings.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.h"

namespace billing::runtime {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class LogFormat { Json, Text };

std::string_view logLevelName(LogLevel level);  // "debug", "info", "warn", "error"
// "debug", "info", "warn"/"warning", "error", case-insensitive.
std::optional<LogLevel> parseLogLevel(std::string_view text);
// "json" or "text".
std::optional<LogFormat> parseLogFormat(std::string_view text);

// One key-value pair. Values are strings, integers, doubles or booleans.
class LogField {
 public:
  using Value = std::variant<std::string, std::int64_t, double, bool>;

  LogField(std::string key, std::string value) : key_(std::move(key)), value_(std::move(value)) {}
  LogField(std::string key, std::string_view value)
      : key_(std::move(key)), value_(std::string(value)) {}
  LogField(std::string key, const char* value) : key_(std::move(key)), value_(std::string(value)) {}
  LogField(std::string key, bool value) : key_(std::move(key)), value_(value) {}
  LogField(std::string key, double value) : key_(std::move(key)), value_(value) {}
  template <std::integral Integer>
  requires(!std::same_as<Integer, bool>) LogField(std::string key, Integer value)
      : key_(std::move(key)), value_(static_cast<std::int64_t>(value)) {}

  const std::string& key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string key_;
  Value value_;
};

using LogFields = std::vector<LogField>;

// Where finished lines go; called with one line, without the trailing newline, possibly from many
// threads at once (the default sink serialises writes to stderr).
using LogSink = std::function<void(std::string_view line)>;

struct LogConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Json;
  LogSink sink;                          // default: stderr
  const common::Clock* clock = nullptr;  // default: *common::systemClock(), for "ts"
};

class Logger {
 public:
  // A logger that writes JSON lines at info level to stderr.
  Logger();
  explicit Logger(LogConfig config);
  // A logger that drops everything (for tests and libraries used without logging).
  static Logger discard();

  // "parent.child", as zap names loggers.
  Logger withName(std::string_view name) const;
  // Adds key-values to every line of the derived logger.
  Logger withValues(LogFields fields) const;

  bool enabled(LogLevel level) const;
  // The level is shared with every logger derived from the same root.
  void setLevel(LogLevel level) const;

  void log(LogLevel level, std::string_view message, const LogFields& fields = {}) const;
  void debug(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::Debug, message, fields);
  }
  void info(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::Info, message, fields);
  }
  void warn(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::Warn, message, fields);
  }
  void error(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::Error, message, fields);
  }

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  std::string name_;
  LogFields values_;
};

}  // namespace billing::runtime
