#pragma once
// Runs the built `reconlab` tool (path from the RECONLAB_CLI compile definition) as a user would.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace reconlab::test_support {

/// Exit status and combined stdout + stderr of one `reconlab <args>` run.
struct CliRun {
  int status;
  std::string out;
};

/// Runs `reconlab <args>` through the shell and captures what it prints.
inline CliRun run_cli(const std::string& args) {
  const std::string cmd = std::string(RECONLAB_CLI) + " " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

/// True when a `bart` executable on PATH answers `bart version` (for tests that compare with BART; they skip
/// without it). Never throws.
inline bool bart_on_path() { return std::system("bart version > /dev/null 2>&1") == 0; }

}  // namespace reconlab::test_support
