#include "operator/kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/json.h"

namespace billing::kube {
namespace {

constexpr std::size_t kMaxOutputBytes = 4 * 1024 * 1024;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string errnoText(int error) {
  std::array<char, 256> buffer{};
  return std::string(strerror_r(error, buffer.data(), buffer.size()));
}

}  // namespace

std::expected<CommandResult, std::string> ProcessCommandRunner::run(
    const std::filesystem::path& program, const std::string& argv0,
    const std::vector<std::string>& args, const Environment& environment, bool passStdin,
    std::chrono::milliseconds timeout) {
  int outPipe[2];
  int errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) return std::unexpected("pipe: " + errnoText(errno));
  Fd outRead(outPipe[0]), outWrite(outPipe[1]);
  if (::pipe2(errPipe, O_CLOEXEC) != 0) return std::unexpected("pipe: " + errnoText(errno));
  Fd errRead(errPipe[0]), errWrite(errPipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!passStdin) posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, outWrite.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, errWrite.get(), 2);

  std::vector<std::string> argvStrings;
  argvStrings.push_back(argv0);
  argvStrings.insert(argvStrings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argvStrings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> envStrings;
  for (const auto& [name, text] : environment) envStrings.push_back(name + "=" + text);
  std::vector<char*> envp;
  for (auto& entry : envStrings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return std::unexpected(errnoText(spawned));
  outWrite.reset();
  errWrite.reset();

  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{outRead.get(), POLLIN, 0}, pollfd{errRead.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.standardOutput, &result.standardError};
  bool timedOut = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      std::array<char, 16 * 1024> chunk{};
      ssize_t got = ::read(fds[i].fd, chunk.data(), chunk.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        continue;
      }
      if (sinks[i]->size() < kMaxOutputBytes) {
        sinks[i]->append(chunk.data(), std::min(static_cast<std::size_t>(got),
                                                kMaxOutputBytes - sinks[i]->size()));
      }
    }
  }
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    return std::unexpected("did not finish within " + std::to_string(timeout.count() / 1000) +
                           "s and was killed");
  }
  if (WIFEXITED(status)) {
    result.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exitCode = 128 + WTERMSIG(status);
  }
  return result;
}

std::optional<std::filesystem::path> findExecutable(const std::string& command,
                                                    const Environment& environment) {
  auto executable = [](const std::filesystem::path& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string::npos) {
    if (executable(command)) return std::filesystem::path(command);
    return std::nullopt;
  }
  std::string path = lookup(environment, "PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  std::string_view rest = path;
  while (true) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    auto candidate = std::filesystem::path(dir) / command;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

std::expected<ExecCredential, std::string> parseExecCredential(std::string_view output,
                                                               std::string_view apiVersion) {
  auto parsed = common::parseJson(output);
  if (!parsed || !parsed->is_object()) {
    return std::unexpected(std::string("its output is not a JSON ExecCredential"));
  }
  auto text = [](const web::json::value& object, const char* name) -> std::string {
    if (!object.is_object() || !object.has_field(name) || !object.at(name).is_string()) return "";
    return object.at(name).as_string();
  };
  if (text(*parsed, "kind") != "ExecCredential") {
    return std::unexpected("its output has kind \"" + text(*parsed, "kind") +
                           "\", not ExecCredential");
  }
  std::string version = text(*parsed, "apiVersion");
  if (version != apiVersion) {
    return std::unexpected("it is configured for " + std::string(apiVersion) + " but returned " +
                           (version.empty() ? std::string("no apiVersion") : version));
  }
  if (!parsed->has_field("status") || !parsed->at("status").is_object()) {
    return std::unexpected(std::string("its ExecCredential has no status"));
  }
  const auto& status = parsed->at("status");
  ExecCredential credential;
  credential.token = text(status, "token");
  credential.clientCertificatePem = text(status, "clientCertificateData");
  credential.clientKeyPem = text(status, "clientKeyData");
  if (credential.clientCertificatePem.empty() != credential.clientKeyPem.empty()) {
    return std::unexpected(
        std::string("its ExecCredential has one of clientCertificateData and clientKeyData "
                    "without the other"));
  }
  if (credential.token.empty() && credential.clientCertificatePem.empty()) {
    return std::unexpected(
        std::string("its ExecCredential has neither a token nor a client certificate"));
  }
  std::string expiration = text(status, "expirationTimestamp");
  if (!expiration.empty()) {
    auto when = parseRfc3339(expiration);
    if (!when) return std::unexpected("status.expirationTimestamp: " + when.error());
    credential.expiration = *when;
  }
  return credential;
}

std::expected<std::chrono::system_clock::time_point, std::string> parseRfc3339(
    std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  auto bad = [&] { return std::unexpected(quoted + " is not an RFC 3339 time"); };
  auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int> {
    if (at + digits > text.size()) return std::nullopt;
    int result = 0;
    auto [end, error] = std::from_chars(text.data() + at, text.data() + at + digits, result);
    if (error != std::errc() || end != text.data() + at + digits) return std::nullopt;
    return result;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return bad();
  }
  auto year = number(0, 4), month = number(5, 2), day = number(8, 2), hour = number(11, 2),
       minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return bad();
  std::chrono::year_month_day date{std::chrono::year(*year),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return bad();
  std::size_t at = 19;
  std::chrono::nanoseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::int64_t scale = 100'000'000;
    std::size_t digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction += std::chrono::nanoseconds((text[at] - '0') * scale);
      scale /= 10;
      ++at;
      ++digits;
    }
    if (digits == 0) return bad();
  }
  std::chrono::minutes offset{0};
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    auto offsetHours = number(at + 1, 2), offsetMinutes = number(at + 4, 2);
    if (!offsetHours || !offsetMinutes || at + 6 > text.size() || text[at + 3] != ':') return bad();
    offset = std::chrono::hours(*offsetHours) + std::chrono::minutes(*offsetMinutes);
    if (text[at] == '-') offset = -offset;
    at += 6;
  } else {
    return bad();
  }
  if (at != text.size()) return bad();
  auto time = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
              std::chrono::minutes(*minute) + std::chrono::seconds(*second) - offset;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(time + fraction);
}

}  // namespace billing::kube
