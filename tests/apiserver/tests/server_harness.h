// What the end-to-end tests of the test API server share: an in-process TestApiServer on port 0
// with a temporary directory, an HTTP client with the admin's (or another user's) credentials,
// watch streams read on a thread, and a runner for the real kubectl.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "common/json.h"
#include "tests/apiserver/test_apiserver.h"

extern char** environ;

namespace billing::apiserver::harness {

namespace fs = std::filesystem;
using web::json::value;
using namespace std::chrono_literals;

inline value json(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(value::null());
}

inline std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "apiserver-test-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const char* made = ::mkdtemp(buffer.data());
    path_ = made != nullptr ? fs::path(made) : fs::temp_directory_path();
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::unique_ptr<TestApiServer> startServer(TestApiServerOptions options = {}) {
  auto started = TestApiServer::start(std::move(options));
  if (!started) {
    ADD_FAILURE() << "the test API server did not start: " << started.error();
    return nullptr;
  }
  return std::move(*started);
}

struct Response {
  int status = 0;
  common::HttpHeaders headers;
  std::string body;
  value json;         // the parsed body, null when it is not JSON
  std::string error;  // the transport error, when there was no response
};

// HTTP calls against the server, as one user: the admin by token unless told otherwise.
class Client {
 public:
  struct Credentials {
    std::optional<std::string> token;
    std::optional<common::IssuedCertificate> certificate;
  };

  Client(const TestApiServer& server, Credentials credentials)
      : base_(server.url()), token_(credentials.token), http_(options(server, credentials)) {}
  explicit Client(const TestApiServer& server)
      : Client(server, Credentials{server.adminToken(), std::nullopt}) {}

  Response call(const std::string& method, const std::string& path, const std::string& body = {},
                const std::string& contentType = "application/json",
                common::HttpHeaders extra = {}) const {
    common::HttpHeaders headers = std::move(extra);
    if (token_) headers.set("Authorization", "Bearer " + *token_);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      headers.set("Content-Type", contentType);
    }
    if (!headers.contains("Accept")) headers.set("Accept", "application/json");
    Response response;
    auto answer = http_.request(method, base_ + path, headers, body);
    if (!answer) {
      response.error = answer.error();
      return response;
    }
    response.status = answer->status;
    response.headers = answer->headers;
    response.body = answer->body;
    if (auto parsed = common::parseJson(answer->body)) response.json = *parsed;
    return response;
  }
  Response get(const std::string& path) const { return call("GET", path); }
  Response post(const std::string& path, const value& body) const {
    return call("POST", path, common::toJson(body));
  }
  Response put(const std::string& path, const value& body) const {
    return call("PUT", path, common::toJson(body));
  }
  Response patch(const std::string& path, const std::string& body,
                 const std::string& contentType = "application/merge-patch+json") const {
    return call("PATCH", path, body, contentType);
  }
  Response del(const std::string& path, const std::string& body = {}) const {
    return call("DELETE", path, body);
  }

  const common::HttpClient& http() const { return http_; }
  const std::string& base() const { return base_; }
  const std::optional<std::string>& token() const { return token_; }

 private:
  static common::HttpClientOptions options(const TestApiServer& server,
                                           const Credentials& credentials) {
    common::HttpClientOptions options;
    common::TlsClientConfig tls;
    tls.caPem = server.caPem();
    if (credentials.certificate) {
      tls.clientCertPem = credentials.certificate->certPem;
      tls.clientKeyPem = credentials.certificate->keyPem;
    }
    options.tls = tls;
    options.requestTimeout = std::chrono::seconds(20);
    return options;
  }

  std::string base_;
  std::optional<std::string> token_;
  common::HttpClient http_;
};

// A watch request read on its own thread; events are handed out one at a time.
class WatchStream {
 public:
  WatchStream(const Client& client, const std::string& pathAndQuery) {
    thread_ = std::jthread([this, &client, pathAndQuery](std::stop_token stop) {
      common::HttpHeaders headers;
      if (client.token()) headers.set("Authorization", "Bearer " + *client.token());
      headers.set("Accept", "application/json");
      std::string pending;
      auto result = client.http().stream(
          "GET", client.base() + pathAndQuery, headers, {},
          [this](int status, const common::HttpHeaders&) {
            std::lock_guard lock(mutex_);
            status_ = status;
            ready_.notify_all();
            return true;
          },
          [this, &pending](std::string_view data) {
            pending.append(data);
            std::size_t newline;
            while ((newline = pending.find('\n')) != std::string::npos) {
              std::string line = pending.substr(0, newline);
              pending.erase(0, newline + 1);
              if (line.empty()) continue;
              auto parsed = common::parseJson(line);
              std::lock_guard lock(mutex_);
              events_.push_back(parsed.value_or(value::string(line)));
              ready_.notify_all();
            }
            return true;
          },
          stop);
      std::lock_guard lock(mutex_);
      ended_ = true;
      if (!result) error_ = result.error();
      ready_.notify_all();
    });
    // The server answers with headers once the watch is registered: changes made after the
    // constructor returns are the watch's to see.
    status();
  }
  ~WatchStream() { thread_.request_stop(); }
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // The next event ({"type": ..., "object": ...}), or nullopt after `timeout` or at the end.
  std::optional<value> next(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !events_.empty() || ended_; });
    if (events_.empty()) return std::nullopt;
    value event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  // The next event that is not a BOOKMARK.
  std::optional<value> nextChange(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto event = next(left);
      if (!event || event->at("type").as_string() != "BOOKMARK") return event;
    }
  }
  // True once the server ended the stream (waits up to `timeout`).
  bool ended(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return ready_.wait_for(lock, timeout, [&] { return ended_; });
  }
  int status(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return status_ != 0 || ended_; });
    return status_;
  }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  void stop() { thread_.request_stop(); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<value> events_;
  bool ended_ = false;
  int status_ = 0;
  std::string error_;
  std::jthread thread_;
};

inline std::string eventType(const value& event) { return event.at("type").as_string(); }
inline std::string eventName(const value& event) {
  return event.at("object").at("metadata").at("name").as_string();
}
inline std::string eventRv(const value& event) {
  return event.at("object").at("metadata").at("resourceVersion").as_string();
}
inline std::string field(const value& object, std::initializer_list<std::string_view> path) {
  const value* node = common::findMember(object, path);
  if (node == nullptr) return "<missing>";
  if (node->is_string()) return node->as_string();
  return common::toJson(*node);
}

// ---- kubectl ----

struct CommandResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

// A kubectl process started with posix_spawn; stdout and stderr go to files so a test can read
// what a long-running command (`get --watch`) printed so far.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& workDir, const std::string& input) {
    static std::atomic<int> counter{0};
    std::string id = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    outPath_ = workDir / ("kubectl-" + id + ".out");
    errPath_ = workDir / ("kubectl-" + id + ".err");
    inPath_ = workDir / ("kubectl-" + id + ".in");
    writeFile(inPath_, input);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, inPath_.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, outPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, errPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    for (const auto& path : {outPath_, errPath_, inPath_}) fs::remove(path, ignored);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  std::string outSoFar() const { return readFile(outPath_); }
  std::string errSoFar() const { return readFile(errPath_); }

  // Waits for the output to contain `text`; false after `timeout`.
  bool waitForOutput(const std::string& text, std::chrono::milliseconds timeout = 10s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (outSoFar().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Waits for the process to exit; after `timeout` it is killed (exit code -1).
  CommandResult wait(std::chrono::milliseconds timeout = 60s) {
    CommandResult result;
    if (pid_ <= 0) {
      result.err = "could not start kubectl";
      return result;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      pid_t finished = ::waitpid(pid_, &status, WNOHANG);
      if (finished == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    done_ = true;
    result.exitCode = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = outSoFar();
    result.err = errSoFar();
    return result;
  }

  void signal(int number) {
    if (pid_ > 0 && !done_) ::kill(pid_, number);
  }

  // Ends a command that runs until stopped (`get --watch`) and returns what it printed.
  CommandResult interrupt() {
    if (pid_ > 0 && !done_) ::kill(pid_, SIGINT);
    return wait(10s);
  }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  fs::path outPath_;
  fs::path errPath_;
  fs::path inPath_;
};

// The real kubectl, configured by a kubeconfig file, with its own cache directory.
class Kubectl {
 public:
  Kubectl(fs::path kubeconfig, fs::path workDir)
      : kubeconfig_(std::move(kubeconfig)), workDir_(std::move(workDir)) {}

  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> all = {"/usr/bin/kubectl", "--kubeconfig=" + kubeconfig_.string(),
                                    "--cache-dir=" + (workDir_ / "cache").string()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }

  CommandResult run(const std::vector<std::string>& args, const std::string& input = {},
                    std::chrono::milliseconds timeout = 60s) const {
    Process process(argv(args), workDir_, input);
    return process.wait(timeout);
  }
  std::unique_ptr<Process> start(const std::vector<std::string>& args) const {
    return std::make_unique<Process>(argv(args), workDir_, "");
  }

 private:
  fs::path kubeconfig_;
  fs::path workDir_;
};

inline std::ostream& operator<<(std::ostream& out, const CommandResult& result) {
  return out << "exit " << result.exitCode << "\nstdout:\n"
             << result.out << "\nstderr:\n"
             << result.err;
}

// The whitespace-separated words of each line, for tables whose column widths vary.
inline std::vector<std::vector<std::string>> tableRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> row;
    std::string word;
    while (words >> word) row.push_back(word);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

}  // namespace billing::apiserver::harness
