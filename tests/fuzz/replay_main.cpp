// Without libFuzzer (GCC builds), every fuzz target is this program: it runs the target once per
// file of the corpus directories (or files) given on the command line, so each CI run replays
// the corpora and every crash found earlier stays fixed. An empty corpus is an error: a replay
// of nothing would pass whatever the code does.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "tests/fuzz/fuzz_support.h"

namespace {

std::vector<std::filesystem::path> inputsUnder(const std::filesystem::path& root,
                                               std::string& error) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_regular_file(root, ec)) return {root};
  if (!std::filesystem::is_directory(root, ec)) {
    error = root.string() + ": not a file or directory";
    return {};
  }
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) error = root.string() + ": " + ec.message();
  // A stable order, so that a failure names the same input on every machine.
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string error;
    const auto files = inputsUnder(argv[i], error);
    if (!error.empty()) {
      std::fprintf(stderr, "replay: %s\n", error.c_str());
      return 2;
    }
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return 2;
      }
      // The file name first: if the target aborts, the log says which input did it.
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no inputs found; a corpus must hold at least one file\n");
    return 1;
  }
  std::printf("replay: %zu inputs, no invariant broken\n", replayed);
  return 0;
}
