#pragma once
/// @file bart.hpp
/// BART (Berkeley Advanced Reconstruction Toolbox, Uecker et al.) through its command line: write .cfl, run
/// `bart`, read back. The exact command line is returned so studies record it with their results.
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/subprocess.hpp"

namespace reconlab::solvers {

/// Path of the `bart` executable: $RECONLAB_BART if set, else `bart` found on PATH.
/// Throws Error when neither exists ("install the Debian package bart or set RECONLAB_BART").
inline std::string find_bart() {
  namespace fs = std::filesystem;
  if (const char* e = std::getenv("RECONLAB_BART"); e && *e) {
    require(fs::exists(e), std::string("RECONLAB_BART=") + e + " does not exist");
    return e;
  }
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      fs::path p = fs::path(dir.empty() ? "." : dir) / "bart";
      std::error_code ec;
      if (fs::exists(p, ec) && !fs::is_directory(p, ec)) return p.string();
    }
  }
  throw Error("bart not found: install the Debian package 'bart' (apt-get install bart) or set RECONLAB_BART");
}

/// BART's version string (`bart version`), e.g. "v0.8.00". Throws Error when bart is missing or fails.
inline std::string bart_version() {
  const std::string bart = find_bart();
  const ProcessResult r = run_process({bart, "version"});
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  require(r.exit_status == 0, "bart version failed (exit " + std::to_string(r.exit_status) + "): " + out);
  return out;
}

/// Result of one BART call: its output array and the exact command line that produced it.
struct BartResult {
  CArray output;
  std::string command;
  std::string log;  ///< what bart printed (stdout and stderr)
};

/// A scratch folder removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "reconlab_bart_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    require(::mkdtemp(buf.data()) != nullptr, "cannot create a temporary folder for bart");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Runs `bart <tool> <args...> <inputs...> out` in a scratch folder (under TMPDIR; any characters in its path are
/// fine: bart is started without a shell, see subprocess.hpp): each input array is written as a .cfl named in
/// `input_names`, the output is read back. Arrays map to BART's dims as reconlab::io::write_cfl documents (x = dim
/// 0, y = dim 1, coil = dim 3). BartResult::command is that command line as a person would type it in the scratch
/// folder ("bart fft -u 3 x out"). Throws Error if bart is missing, fails (its output is quoted), or writes no
/// output.
inline BartResult run_bart(const std::string& tool, const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, const CArray*>>& inputs) {
  const std::string bart = find_bart();
  TempDir dir;
  std::vector<std::string> argv{bart, tool};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& [name, arr] : inputs) {
    io::write_cfl(dir.path() + "/" + name, *arr);
    argv.push_back(name);
  }
  argv.push_back("out");
  std::vector<std::string> shown = argv;
  shown[0] = "bart";
  const std::string cmd_shown = command_line(shown);
  ProcessOptions in_dir;
  in_dir.working_directory = dir.path();
  const ProcessResult r = run_process(argv, in_dir);
  if (r.exit_status != 0 || !std::filesystem::exists(dir.path() + "/out.cfl"))
    throw Error("bart failed (exit " + std::to_string(r.exit_status) + "): " + cmd_shown + "\n" + r.output);
  return {io::read_cfl(dir.path() + "/out"), cmd_shown, r.output};
}

/// Options of bart_pics_tv.
struct BartPicsOptions {
  double lambda = 0.01;  ///< TV weight (BART -R T:3:0:lambda; BART scales the data first, so lambda is relative)
  int iterations = 100;  ///< -i
  bool rescale = true;   ///< -S: rescale the image after reconstruction
};

/// BART `pics` with a TV regulariser over x and y (-R T:3:0:lambda) on k-space `kspace` (dims (nx, ny, coils,
/// 1, 1), zero where unsampled; BART infers the sampling pattern from the non-zero samples) with coil
/// sensitivities `sens` (dims (nx, ny, coils, 1, 1); all ones for single-coil data). Returns the complex image
/// (nx, ny, 1, 1, 1) and the command. Method: Uecker et al., BART (doi:10.5281/zenodo.592960); pics solves
/// min ||P F S x - y||^2 + lambda TV(x) by ADMM.
inline BartResult bart_pics_tv(const CArray& kspace, const CArray& sens, const BartPicsOptions& opt) {
  require(dims_of(kspace)[0] == dims_of(sens)[0] && dims_of(kspace)[1] == dims_of(sens)[1] &&
              dims_of(kspace)[2] == dims_of(sens)[2],
          "bart pics: k-space dims " + dims_string(dims_of(kspace)) + " and sensitivity dims " +
              dims_string(dims_of(sens)) + " disagree");
  require_finite(kspace, "bart pics k-space");
  std::ostringstream reg;
  reg << "T:3:0:" << opt.lambda;
  std::vector<std::string> args;
  if (opt.rescale) args.push_back("-S");
  args.push_back("-i");
  args.push_back(std::to_string(opt.iterations));
  args.push_back("-R");
  args.push_back(reg.str());
  return run_bart("pics", args, {{"kspace", &kspace}, {"sens", &sens}});
}

}  // namespace reconlab::solvers
