#pragma once
/// @file subprocess.hpp
/// Runs external programs (bart, gnuplot) without a shell: the argument vector goes to posix_spawnp as it is, so
/// paths holding spaces, quotes or other shell metacharacters reach the program unchanged and nothing is
/// interpreted. Standard input is /dev/null; standard output and standard error go together to one pipe, read into
/// a string (or to a file). POSIX only (glibc >= 2.29 for posix_spawn_file_actions_addchdir_np).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "reconlab/error.hpp"

extern char** environ;

namespace reconlab {

/// Options of run_process.
struct ProcessOptions {
  /// Folder the program runs in; empty: the caller's current folder. Must exist.
  std::filesystem::path working_directory;
  /// If not empty, the program's standard output and standard error go to this file (created or truncated)
  /// instead of ProcessResult::output.
  std::filesystem::path output_file;
};

/// What a finished program did.
struct ProcessResult {
  /// The program's exit status (0 = success); 128 + N when it was killed by signal N, as shells report it.
  int exit_status = 0;
  /// Everything it wrote to standard output and standard error, interleaved as written (empty when
  /// ProcessOptions::output_file was given).
  std::string output;
};

/// Renders an argument vector as one line for people to read and paste into a shell: arguments made only of
/// letters, digits and `-_./:=+,@%` are shown as they are, others in single quotes (a ' inside becomes '\'').
/// Never executed by reconlab; only for logs, error messages and manifests.
inline std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty();
    for (unsigned char c : a)
      if (!(std::isalnum(c) || std::strchr("-_./:=+,@%", c) != nullptr)) plain = false;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

namespace process_detail {

/// posix_spawn_file_actions_t released on scope exit.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

/// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

/// Waits for `pid` and converts its wait status as ProcessResult::exit_status documents.
inline int wait_for(pid_t pid, const std::string& program) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) throw Error("waitpid for " + program + " failed: " + std::strerror(errno));
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return st;
}

/// posix_spawnp of argv with the file actions `fa`, SIGPIPE at its default disposition in the child (a parent
/// that ignores it must not change the child's behaviour). Throws Error when the program cannot be started.
inline pid_t spawn(const std::vector<std::string>& argv, posix_spawn_file_actions_t* fa) {
  const std::string& program = argv[0];
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, program.c_str(), fa, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw Error("cannot run '" + program + "': " + std::strerror(rc) +
                (rc == ENOENT ? " (not installed or not on PATH?)" : ""));
  return pid;
}

}  // namespace process_detail

/// Runs `argv[0]` with arguments `argv[1..]` and waits for it to finish. argv[0] is looked up on PATH unless it
/// holds a '/' (posix_spawnp); no shell is involved, so no argument is split, globbed or unquoted. The child
/// inherits the environment, runs in `opt.working_directory` when given, reads /dev/null as standard input, and
/// its standard output and standard error are captured together (in ProcessResult::output, or in
/// `opt.output_file`). A program that runs and fails is not an error here: check ProcessResult::exit_status.
/// @throws Error when argv is empty, the working directory does not exist, the program is not found or cannot be
/// executed ("cannot run 'gnuplot': No such file or directory (not installed or not on PATH?)"), the output file
/// cannot be created, or a pipe cannot be made.
inline ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opt = {}) {
  using namespace process_detail;
  require(!argv.empty() && !argv[0].empty(), "run_process: empty command");
  const std::string& program = argv[0];
  std::error_code ec;
  if (!opt.working_directory.empty())
    require(std::filesystem::is_directory(opt.working_directory, ec),
            "cannot run '" + program + "': working folder " + opt.working_directory.string() + " does not exist");

  FileActions actions;
  posix_spawn_file_actions_t* fa = &actions.fa;
  if (!opt.working_directory.empty())
    require(posix_spawn_file_actions_addchdir_np(fa, opt.working_directory.c_str()) == 0,
            "cannot run '" + program + "': posix_spawn_file_actions_addchdir_np failed");
  posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  Fd read_end, write_end;
  if (opt.output_file.empty()) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      throw Error("cannot run '" + program + "': pipe failed: " + std::strerror(errno));
    read_end.fd = p[0];
    write_end.fd = p[1];
    posix_spawn_file_actions_adddup2(fa, write_end.fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(fa, write_end.fd, STDERR_FILENO);
  } else {
    // Opened here, not in the child, so that a bad path is reported as such and not as a missing program.
    write_end.fd = ::open(opt.output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (write_end.fd < 0)
      throw Error("cannot run '" + program + "': cannot create " + opt.output_file.string() + ": " +
                  std::strerror(errno));
    posix_spawn_file_actions_adddup2(fa, write_end.fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(fa, write_end.fd, STDERR_FILENO);
  }

  const pid_t pid = spawn(argv, fa);
  write_end.reset();  // the child holds its own copy; EOF on read_end once it exits

  ProcessResult result;
  if (read_end.fd >= 0) {
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(read_end.fd, buf, sizeof buf);
      if (n > 0) {
        result.output.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        const int err = errno;
        read_end.reset();
        wait_for(pid, program);
        throw Error("reading the output of '" + program + "' failed: " + std::strerror(err));
      }
    }
  }
  result.exit_status = wait_for(pid, program);
  return result;
}

/// A program started by start_process, running beside this one.
struct StartedProcess {
  pid_t pid = -1;       ///< its process id
  std::string program;  ///< argv[0], for messages
};

/// Starts `argv` as run_process does (no shell, PATH lookup, standard input /dev/null) but returns at once; the
/// program writes to this process's standard output and standard error. Wait for it with wait_process (or it
/// stays a zombie until this process exits). Throws Error as run_process does.
inline StartedProcess start_process(const std::vector<std::string>& argv) {
  require(!argv.empty() && !argv[0].empty(), "start_process: empty command");
  process_detail::FileActions actions;
  posix_spawn_file_actions_addopen(&actions.fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  return StartedProcess{process_detail::spawn(argv, &actions.fa), argv[0]};
}

/// Waits for a started program and returns its exit status as ProcessResult::exit_status documents (128 + N when
/// killed by signal N). Throws Error when waitpid fails.
inline int wait_process(const StartedProcess& p) { return process_detail::wait_for(p.pid, p.program); }

}  // namespace reconlab
