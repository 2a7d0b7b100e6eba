// The README's main command, scripts/demo.sh, run as CI runs it: with the binaries this build made
// (--no-build --bin-dir), the real kubectl, and its own processes. Checks what a user sees (the
// billing objects, the invoice as a table and as CSV), the exit status, and that nothing it
// started is left running: after success, after Ctrl-C and after a process failed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kScript = fs::path(BILLING_SOURCE_DIR) / "scripts" / "demo.sh";

std::string utcDate(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
  return buffer;
}

std::string yesterday() { return utcDate(std::time(nullptr) - 24 * 3600); }

struct Started {
  std::string name;
  pid_t pid;
};

// The processes the demo reports as "started NAME (pid N), log ...".
std::vector<Started> startedProcesses(const std::string& output) {
  std::vector<Started> started;
  const std::regex line(R"(started (\S+) \(pid (\d+)\))");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line);
       it != std::sregex_iterator(); ++it) {
    started.push_back({(*it)[1].str(), static_cast<pid_t>(std::stol((*it)[2].str()))});
  }
  return started;
}

// Whether `pid` still runs a program whose command line names `dir` (so a pid the kernel gave to
// some other program meanwhile does not count). Zombies have an empty command line.
bool stillRunsIn(pid_t pid, const fs::path& dir) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!in) return false;
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmdline.find(dir.string()) != std::string::npos;
}

// Lines of `text` starting with `prefix`.
std::vector<std::string> linesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
  }
  return found;
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The demo's working directory goes under the test's own, so the test sees it removed.
    if (const char* previous = ::getenv("TMPDIR")) previousTmpdir_ = previous;
    ::setenv("TMPDIR", tmp_.path().c_str(), 1);
  }
  void TearDown() override {
    if (previousTmpdir_) {
      ::setenv("TMPDIR", previousTmpdir_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }

  // The demo in a session of its own, as a terminal runs a command: Ctrl-C is a SIGINT to its
  // process group, which includes the kubectl or curl it is waiting for.
  std::unique_ptr<ManagedProcess> startDemo(const fs::path& binDir,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"/usr/bin/setsid", "/bin/bash", kScript.string(),
                                     "--no-build",      "--bin-dir", binDir.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto demo = std::make_unique<ManagedProcess>("demo", argv, tmp_.path() / "demo.log");
    EXPECT_TRUE(demo->start()) << demo->log();
    return demo;
  }

  // Waits for the demo; if it hangs, interrupts it so that it still stops what it started.
  std::optional<int> finish(ManagedProcess& demo, std::chrono::milliseconds timeout) {
    if (auto code = demo.wait(timeout)) return code;
    ADD_FAILURE() << "the demo did not finish within " << timeout.count() << " ms";
    ::kill(-demo.pid(), SIGINT);
    demo.wait(60s);
    return std::nullopt;
  }

  // Nothing the demo started runs any more, and its working directory is gone.
  void expectEverythingStopped(const std::string& output, bool directoryKept = false) {
    const auto started = startedProcesses(output);
    EXPECT_FALSE(started.empty()) << output;
    for (const Started& process : started) {
      EXPECT_FALSE(stillRunsIn(process.pid, tmp_.path()))
          << process.name << " (pid " << process.pid << ") still runs";
      EXPECT_THAT(output, HasSubstr("stopped " + process.name + " (pid " +
                                    std::to_string(process.pid) + ")"));
    }
    std::vector<fs::path> workDirs;
    for (const auto& entry : fs::directory_iterator(tmp_.path())) {
      if (entry.path().filename().string().rfind("billing-demo.", 0) == 0) {
        workDirs.push_back(entry.path());
      }
    }
    EXPECT_EQ(workDirs.size(), directoryKept ? 1u : 0u) << output;
  }

  TempDir tmp_;
  std::optional<std::string> previousTmpdir_;
};

TEST_F(DemoTest, ProducesTheConsolidatedInvoiceAsTableAndCsvAndStopsEverything) {
  const std::string dayBefore = yesterday();
  auto demo = startDemo(binaryPath("test-apiserver").parent_path());
  const std::optional<int> code = finish(*demo, 240s);
  const std::string output = demo->log();
  const std::string day = yesterday();  // the same unless the test ran across midnight UTC
  const std::string invoiceDay =
      output.find("vision-billing-" + dayBefore) != std::string::npos ? dayBefore : day;
  ASSERT_EQ(code, 0) << output;

  // kubectl get billinggroups,projects,invoices -A: every object Ready, the closed period's
  // Invoice Finalized with a number and the total of the charges posted for it.
  EXPECT_THAT(output, HasSubstr("==> kubectl get billinggroups,projects,invoices -A"));
  EXPECT_THAT(output, ContainsRegex("billinggroup.billing.operator.dev/vision-billing +globex +"
                                    "Organization +2 +True"));
  EXPECT_THAT(output, ContainsRegex("project.billing.operator.dev/speech +globex +vision-billing "
                                    "+Organization +True"));
  EXPECT_THAT(output, ContainsRegex("invoice.billing.operator.dev/vision-billing-" + invoiceDay +
                                    " +vision-billing +" + invoiceDay +
                                    "T00:00:00Z +[0-9-]+T00:00:00Z +INV-[0-9]{6} +Finalized +"
                                    "1892.43 +USD"));

  // The invoice as a table: the four charges of the two projects, their totals and the total.
  EXPECT_THAT(output, ContainsRegex("Invoice INV-[0-9]{6} \\(Finalized\\), Globex ML research, "
                                    "organization globex"));
  EXPECT_THAT(output, ContainsRegex("PROJECT +SERVICE +DESCRIPTION +QUANTITY +UNIT +AMOUNT"));
  EXPECT_THAT(output, ContainsRegex("globex-ml/vision +compute +GPU nodes \\(A100\\) +48 +"
                                    "GPU-hours +1843.20"));
  EXPECT_THAT(output, ContainsRegex("total globex-ml/vision +1856.85"));
  EXPECT_THAT(output, ContainsRegex("total globex-ml/speech +35.58"));
  EXPECT_THAT(output, ContainsRegex("TOTAL DUE +1892.43 USD"));

  // The same invoice as CSV: the ledger's export, one row per charge.
  EXPECT_EQ(linesStartingWith(output, "invoice_number,").size(), 1u) << output;
  EXPECT_THAT(output, HasSubstr("invoice_number,billing_group,organization,project,service,"
                                "description,quantity,unit,charge_period_start,charge_period_end,"
                                "amount,currency\n"));
  const auto rows = linesStartingWith(output, "INV-");
  ASSERT_EQ(rows.size(), 4u) << output;
  for (const std::string& row : rows) {
    EXPECT_THAT(row,
                ContainsRegex("^INV-[0-9]{6},[0-9a-f-]{36},globex,globex-ml/(vision|speech),"));
    EXPECT_THAT(row, HasSubstr("," + invoiceDay + "T00:00:00Z,"));
    EXPECT_THAT(row, ContainsRegex(",[0-9]+\\.[0-9]{2},USD$"));
  }
  EXPECT_THAT(output, HasSubstr(",globex-ml/speech,egress,Model downloads,310,GiB,"));

  EXPECT_THAT(output, HasSubstr("==> Done: the demo produced invoice vision-billing-"));
  expectEverythingStopped(output);
}

TEST_F(DemoTest, CtrlCStopsEverythingItStarted) {
  auto demo = startDemo(binaryPath("test-apiserver").parent_path());
  // Interrupt once all three processes run and the demo is busy with kubectl.
  const bool busy = eventually(
      [&] { return demo->log().find("==> Applying examples/gitops") != std::string::npos; }, 120s);
  ASSERT_TRUE(busy) << demo->log();
  ASSERT_EQ(startedProcesses(demo->log()).size(), 3u) << demo->log();
  ::kill(-demo->pid(), SIGINT);
  const std::optional<int> code = finish(*demo, 60s);
  const std::string output = demo->log();
  EXPECT_EQ(code, 130) << output;
  EXPECT_THAT(output, HasSubstr("demo: interrupted"));
  EXPECT_THAT(output, HasSubstr("==> Stopping what the demo started"));
  EXPECT_THAT(output, Not(HasSubstr("==> Done")));
  expectEverythingStopped(output);
}

TEST_F(DemoTest, AProcessThatFailsToStartFailsTheDemoWithItsLog) {
  // The real binaries, except that the ledger is started with a database it cannot open: the
  // real ledger then refuses to start, and the demo must say so and show the ledger's words.
  const fs::path binDir = tmp_.path() / "bin";
  fs::create_directories(binDir);
  fs::create_symlink(binaryPath("test-apiserver"), binDir / "test-apiserver");
  fs::create_symlink(binaryPath("billing-operator"), binDir / "billing-operator");
  {
    std::ofstream wrapper(binDir / "billing-ledger");
    wrapper << "#!/bin/sh\nexec " << binaryPath("billing-ledger").string()
            << " \"$@\" --database sqlite:"
            << (tmp_.path() / "missing" / "dir" / "ledger.db").string() << "\n";
  }
  fs::permissions(binDir / "billing-ledger", fs::perms::owner_all);

  auto demo = startDemo(binDir);
  const std::optional<int> code = finish(*demo, 120s);
  const std::string output = demo->log();
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("demo: error: billing-ledger exited while waiting for the "
                                "ledger's /healthz"));
  EXPECT_THAT(output, HasSubstr("---- last 60 lines of the billing-ledger log"));
  EXPECT_THAT(output, HasSubstr((tmp_.path() / "missing" / "dir" / "ledger.db").string()));
  EXPECT_THAT(output, Not(HasSubstr("==> Installing the CRDs")));
  // The API server started before the ledger failed; it is stopped, the logs are kept.
  expectEverythingStopped(output, /*directoryKept=*/true);
  EXPECT_THAT(output,
              HasSubstr("logs and state kept in " + tmp_.path().string() + "/billing-demo."));
}

TEST_F(DemoTest, RefusesUnknownArgumentsWithoutStartingAnything) {
  auto demo = startDemo(binaryPath("test-apiserver").parent_path(), {"--keep-runing"});
  const std::optional<int> code = finish(*demo, 30s);
  const std::string output = demo->log();
  EXPECT_EQ(code, 2) << output;
  EXPECT_THAT(output, HasSubstr("demo: unknown argument '--keep-runing' (see --help)"));
  EXPECT_TRUE(startedProcesses(output).empty()) << output;
}

}  // namespace
}  // namespace billing::e2e
