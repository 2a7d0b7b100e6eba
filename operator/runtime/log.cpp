#include "operator/runtime/log.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "common/json.h"

namespace billing::runtime {

struct Logger::Core {
  std::atomic<int> level{static_cast<int>(LogLevel::Info)};
  LogFormat format = LogFormat::Json;
  LogSink sink;
  const common::Clock* clock = nullptr;
  bool discard = false;
};

namespace {

void writeToStderr(std::string_view line) {
  static std::mutex mutex;
  std::string buffer(line);
  buffer.push_back('\n');
  std::lock_guard lock(mutex);
  std::size_t written = 0;
  while (written < buffer.size()) {
    const ssize_t result = ::write(STDERR_FILENO, buffer.data() + written, buffer.size() - written);
    if (result <= 0) return;
    written += static_cast<std::size_t>(result);
  }
}

std::string formatDouble(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf");
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void appendJsonValue(std::string& out, const LogField::Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    common::appendJsonString(out, *text);
  } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*integer);
  } else if (const auto* real = std::get_if<double>(&value)) {
    if (std::isfinite(*real)) {
      out += formatDouble(*real);
    } else {
      common::appendJsonString(out, formatDouble(*real));
    }
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

bool needsQuoting(std::string_view text) {
  if (text.empty()) return true;
  for (const char c : text) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void appendTextValue(std::string& out, const LogField::Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    if (needsQuoting(*text)) {
      common::appendJsonString(out, *text);
    } else {
      out += *text;
    }
  } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*integer);
  } else if (const auto* real = std::get_if<double>(&value)) {
    out += formatDouble(*real);
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

bool hasControlCharacter(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsLower(std::string_view text, std::string_view lowerCase) {
  if (text.size() != lowerCase.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lowerCase[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

std::optional<LogLevel> parseLogLevel(std::string_view text) {
  if (equalsLower(text, "debug")) return LogLevel::Debug;
  if (equalsLower(text, "info")) return LogLevel::Info;
  if (equalsLower(text, "warn") || equalsLower(text, "warning")) return LogLevel::Warn;
  if (equalsLower(text, "error")) return LogLevel::Error;
  return std::nullopt;
}

std::optional<LogFormat> parseLogFormat(std::string_view text) {
  if (equalsLower(text, "json")) return LogFormat::Json;
  if (equalsLower(text, "text")) return LogFormat::Text;
  return std::nullopt;
}

Logger::Logger() : Logger(LogConfig{}) {}

Logger::Logger(LogConfig config) : core_(std::make_shared<Core>()) {
  core_->level.store(static_cast<int>(config.level));
  core_->format = config.format;
  core_->sink = config.sink ? std::move(config.sink) : LogSink(writeToStderr);
  core_->clock = config.clock ? config.clock : common::systemClock().get();
}

Logger Logger::discard() {
  Logger logger;
  logger.core_->discard = true;
  return logger;
}

Logger Logger::withName(std::string_view name) const {
  Logger child = *this;
  child.name_ = name_.empty() ? std::string(name) : name_ + "." + std::string(name);
  return child;
}

Logger Logger::withValues(LogFields fields) const {
  Logger child = *this;
  for (auto& field : fields) child.values_.push_back(std::move(field));
  return child;
}

bool Logger::enabled(LogLevel level) const {
  return !core_->discard && static_cast<int>(level) >= core_->level.load(std::memory_order_relaxed);
}

void Logger::setLevel(LogLevel level) const { core_->level.store(static_cast<int>(level)); }

void Logger::log(LogLevel level, std::string_view message, const LogFields& fields) const {
  if (!enabled(level)) return;
  const std::string ts = common::formatMicroTime(core_->clock->wallNow());
  std::string line;
  line.reserve(128);
  if (core_->format == LogFormat::Json) {
    line += "{\"ts\":";
    common::appendJsonString(line, ts);
    line += ",\"level\":";
    common::appendJsonString(line, logLevelName(level));
    if (!name_.empty()) {
      line += ",\"logger\":";
      common::appendJsonString(line, name_);
    }
    line += ",\"msg\":";
    common::appendJsonString(line, message);
    for (const auto* list : {&values_, &fields}) {
      for (const auto& field : *list) {
        line.push_back(',');
        common::appendJsonString(line, field.key());
        line.push_back(':');
        appendJsonValue(line, field.value());
      }
    }
    line.push_back('}');
  } else {
    line += ts;
    line.push_back(' ');
    std::string levelName(logLevelName(level));
    for (auto& c : levelName) c = static_cast<char>(c - 'a' + 'A');
    line += levelName;
    if (!name_.empty()) {
      line.push_back(' ');
      line += name_;
    }
    line.push_back(' ');
    if (hasControlCharacter(message)) {
      common::appendJsonString(line, message);
    } else {
      line += message;
    }
    for (const auto* list : {&values_, &fields}) {
      for (const auto& field : *list) {
        line.push_back(' ');
        line += field.key();
        line.push_back('=');
        appendTextValue(line, field.value());
      }
    }
  }
  core_->sink(line);
}

}  // namespace billing::runtime
