#pragma once
/// @file bart.hpp
/// BART (Berkeley Advanced Reconstruction Toolbox, Uecker et al.) through its command line: write .cfl, run
/// `bart`, read back. The exact command line is returned so studies record it with their results.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/noncartesian.hpp"
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
  /// The output in reconlab's layout (io::read_cfl: x = dim 0, y = dim 1, coil = dim 3, frame = dim 10); empty
  /// (size 0) when BART's dims do not map onto it (e.g. non-Cartesian samples [1, S, Y, C]): use `raw`.
  CArray output;
  std::string command;
  std::string log;   ///< what bart printed (stdout and stderr)
  io::CflRaw raw;    ///< the output with BART's full dims
};

/// One input file of a BART call: `array` written in reconlab's mapping (io::write_cfl) or, when `raw_dims` is
/// non-empty, with those BART dims (prod(raw_dims) = array size; e.g. a trajectory [3, S, Y] or non-Cartesian
/// samples [1, S, Y, C, ..., T in dim 10]). Positional inputs follow the arguments in order; a non-positional one
/// is only written, for an option that names it (e.g. `-t traj`).
struct BartInput {
  std::string name;
  const CArray* array = nullptr;
  std::vector<long> raw_dims = {};
  bool positional = true;
  BartInput(std::string n, const CArray* a, std::vector<long> dims = {}, bool pos = true)
      : name(std::move(n)), array(a), raw_dims(std::move(dims)), positional(pos) {}
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
/// fine: bart is started without a shell, see subprocess.hpp): each input array is written as a .cfl named as in
/// `inputs` (BartInput: reconlab's mapping or raw BART dims; non-positional inputs are written but not appended),
/// the output is read back. BartResult::command is that command line as a person would type it in the scratch
/// folder ("bart fft -u 3 x out"). Throws Error if bart is missing, fails (its output is quoted), or writes no
/// output, and when a raw input's dims do not match its size.
inline BartResult run_bart(const std::string& tool, const std::vector<std::string>& args,
                           const std::vector<BartInput>& inputs) {
  const std::string bart = find_bart();
  TempDir dir;
  std::vector<std::string> argv{bart, tool};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const BartInput& in : inputs) {
    const std::string path = dir.path() + "/" + in.name;
    if (in.raw_dims.empty()) {
      io::write_cfl(path, *in.array);
    } else {
      long n = 1;
      for (long v : in.raw_dims) n *= v;
      require(n == long(in.array->size()), "run_bart: input " + in.name + " has " + std::to_string(in.array->size()) +
                                               " samples but its BART dims hold " + std::to_string(n));
      io::write_cfl_raw(path, in.raw_dims, std::vector<cfloat>(in.array->data(), in.array->data() + in.array->size()));
    }
    if (in.positional) argv.push_back(in.name);
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
  BartResult res{CArray(), cmd_shown, r.output, io::read_cfl_raw(dir.path() + "/out")};
  try {
    res.output = io::read_cfl(dir.path() + "/out");
  } catch (const Error&) {
    // dims outside reconlab's mapping: the caller reads `raw`
  }
  return res;
}

/// A trajectory (2, S, Y, T, 1) as the complex array and BART dims [3, S, Y, 1, ..., T in dim 10] that run_bart
/// writes (io::bart_trajectory_layout). Throws Error for other dims.
inline std::pair<CArray, std::vector<long>> bart_trajectory(const RArray& coords) {
  auto [dims, data] = io::bart_trajectory_layout(coords);
  CArray t(3, coords.dimension(1), coords.dimension(2), coords.dimension(3), 1);
  std::copy(data.begin(), data.end(), t.data());
  return {t, dims};
}

/// Options of bart_pics_tv.
struct BartPicsOptions {
  /// Spatial TV weight (BART -R T:3:0:lambda: isotropic TV over x and y). BART scales the data first (see
  /// inverse_scaling), so lambda is relative to that scale. Added when > 0, or when lambda_t is 0 (the
  /// single-frame call of the studies always has it).
  double lambda = 0.01;
  int iterations = 100;  ///< -i
  bool rescale = true;   ///< -S: rescale the image after reconstruction
  /// Temporal TV weight (BART -R T:1024:0:lambda_t: the l1 norm of the forward differences along BART's
  /// TIME_DIM 10, bit 1024, where reconlab's frame axis goes). Added when > 0.
  double lambda_t = 0.0;
  /// > 0: passed as -w (BART divides the k-space by it instead of by its own estimate), so that the weights
  /// mean what they mean for a problem scaled by that number (e.g. the zero-filled maximum, as CsTvReconstructor
  /// scales); 0: BART's own estimate.
  double inverse_scaling = 0.0;
};

/// The `bart pics` arguments (before the file names) for `opt`: [-S] -i N [-w f] [-R T:3:0:lambda]
/// [-R T:1024:0:lambda_t]. Throws Error on negative or non-finite weights or iterations < 1.
inline std::vector<std::string> bart_pics_args(const BartPicsOptions& opt) {
  require(opt.lambda >= 0 && std::isfinite(opt.lambda) && opt.lambda_t >= 0 && std::isfinite(opt.lambda_t),
          "bart pics: lambda and lambda_t must be finite and >= 0");
  require(opt.iterations >= 1, "bart pics: iterations must be >= 1");
  require(opt.inverse_scaling >= 0 && std::isfinite(opt.inverse_scaling), "bart pics: inverse_scaling must be >= 0");
  auto num = [](double v) {
    std::ostringstream o;
    o.precision(9);
    o << v;
    return o.str();
  };
  std::vector<std::string> args;
  if (opt.rescale) args.push_back("-S");
  args.push_back("-i");
  args.push_back(std::to_string(opt.iterations));
  if (opt.inverse_scaling > 0) {
    args.push_back("-w");
    args.push_back(num(opt.inverse_scaling));
  }
  if (opt.lambda > 0 || opt.lambda_t == 0) {
    args.push_back("-R");
    args.push_back("T:3:0:" + num(opt.lambda));
  }
  if (opt.lambda_t > 0) {
    args.push_back("-R");
    args.push_back("T:1024:0:" + num(opt.lambda_t));
  }
  return args;
}

/// BART `pics` with TV: spatial (-R T:3:0:lambda) and, for cines, temporal (-R T:1024:0:lambda_t), on k-space
/// `kspace` (dims (nx, ny, coils, frames, 1), zero where unsampled; written with frames in BART's dim 10, coils in
/// dim 3, see io::write_cfl; BART infers the sampling pattern from the non-zero samples of each frame, so
/// per-frame k-t patterns need no pattern file) with coil sensitivities `sens` (dims (nx, ny, coils, 1, 1); all
/// ones for single-coil data). Returns the complex image (nx, ny, 1, frames, 1) and the command, e.g.
/// "bart pics -S -i 100 -R T:3:0:0.001 -R T:1024:0:0.01 kspace sens out". Method: Uecker et al., BART
/// (doi:10.5281/zenodo.592960); pics solves min 0.5 ||P F S x - y||^2 + lambda TV_xy(x) + lambda_t TV_t(x) by
/// ADMM. Throws Error on disagreeing dims, non-finite k-space, bad options, and as run_bart.
inline BartResult bart_pics_tv(const CArray& kspace, const CArray& sens, const BartPicsOptions& opt) {
  require(dims_of(kspace)[0] == dims_of(sens)[0] && dims_of(kspace)[1] == dims_of(sens)[1] &&
              dims_of(kspace)[2] == dims_of(sens)[2] && dims_of(sens)[3] == 1 && dims_of(sens)[4] == 1 &&
              dims_of(kspace)[4] == 1,
          "bart pics: k-space dims " + dims_string(dims_of(kspace)) + " and sensitivity dims " +
              dims_string(dims_of(sens)) + " disagree (expected (nx, ny, coils, frames, 1) and (nx, ny, coils, 1, 1))");
  require_finite(kspace, "bart pics k-space");
  BartResult r = run_bart("pics", bart_pics_args(opt), {{"kspace", &kspace}, {"sens", &sens}});
  const Dims od = dims_of(r.output), kd = dims_of(kspace);
  require(od[0] == kd[0] && od[1] == kd[1] && od[2] == 1 && od[3] == kd[3] && od[4] == 1,
          "bart pics returned dims " + dims_string(od) + " for k-space " + dims_string(kd));
  return r;
}

}  // namespace reconlab::solvers
