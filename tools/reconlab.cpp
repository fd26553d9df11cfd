/// @file reconlab.cpp
/// The `reconlab` command-line tool, in the spirit of `bart`: one executable, one subcommand per job, arrays in
/// .npy (C order) or BART .cfl. Every error (bad arguments included) prints one line "reconlab: error: ..." on
/// stderr, with control and non-ASCII bytes escaped (\xHH), and exits with status 1; --help prints help, exits 0.
///
///   reconlab metrics --target T --prediction P [--data-range D]     -> JSON {psnr, ssim, nmse, rmse, data_range}
///     complex inputs (.npy complex dtype; .cfl with a non-zero imaginary part) are measured by magnitude, real
///     inputs as given (negative values kept), as scikit-image does.
///   reconlab study CONFIG.toml [--out DIR] [--seed S] [--methods a,b] [--max-cases N]
///     a comparison study from a TOML file through the study runner (study_command.hpp; examples/*.toml).
///   reconlab rof --weight W IN OUT                                    TV denoising of a real image
///   reconlab mask --type random|equispaced|equispaced-fraction|poisson --shape NY,NX --center-fraction F
///                 --acceleration R --seed S OUT
///   reconlab mask --type kt-vd|kt-gaussian --frames T --shape NY,NX --acceleration R --center-lines C --seed S OUT
///     k-t line masks (masks.hpp): kt-vd = seed 001's variable-density random lines (round(NX/R) lines per frame,
///     weights (1 - |k - NX/2| / (NX/2 + 1))^2), kt-gaussian = Schlemper's and Qin's cartesian_mask rule
///     (int(NX/R) lines, Gaussian sd NX/10 plus 1/(2R)); C centre lines in every frame (default round(F x NX)), a
///     new pattern per frame. OUT: .npy float32 (T, NY, NX) or .cfl with frames in BART dim 10. Every mask type
///     prints JSON {type, shape, sampled, acceleration (achieved: samples / sampled), seed, description}.
///   reconlab mask --type acdc [--data DIR] OUT
///     the real ACDC k-t masks (io/mat.hpp acdc_kt_masks: frame 0 = mask_ref.mat, frames 1..29 = mask_seq.mat),
///     (30, 184, 256) for the ACDC cine; DIR defaults to $RECONLAB_DATA/cine-acdc.
///   reconlab recon --method zero-filled|rof|cs-tv|bart-pics|unet|kspace-unet|cascade|dncn|modl|cg-sense|grappa|
///                           cs-wavelet|bart-pics-wavelet|modl-sense|view-sharing|l+s
///                 --kspace K [--axes A] [--mask M [--mask-variable V]] [--sens MAPS]
///                 [--estimate-maps lowres|ecalib] [--lambda L] [--lambda-t LT] [--lambda-l LL]
///                 [--weights W] [--iterations N] OUT
///     k-space may be multi-coil: .npy (coils, ny, nx) (coils the slowest axis), .cfl with coils in BART dim 3;
///     maps alike. Without --mask the mask is where any coil's sample is non-zero; without --sens, SENSE methods
///     estimate maps from the ACS region (parallel_imaging.hpp). A mask file must hold only 0 and 1 (any dtype;
///     complex with zero imaginary part): NaN, Inf, negative or other values are an error naming the file, the value
///     and its index.
///     Cines: --axes names the .npy k-space's axes slowest first with c (coil), t (frame), y, x, e.g. t,y,x for
///     (frames, ny, nx) or c,t,y,x for (coils, frames, ny, nx) (without --axes a 3D .npy is (coils, ny, nx), and
///     a 4D one is refused); a .cfl cine has frames in BART dim 10 (--axes refused). The mask is one plane for all
///     frames or one per frame: .npy (frames, ny, nx), .cfl with frames in dim 10, or a .mat file (MATLAB rows = ny,
///     cols = nx, third dimension frames; --mask-variable names the variable, default the file's only one); its
///     frame count must equal the k-space's. OUT has the input's layout: (frames, ny, nx) .npy, or .cfl frames in
///     dim 10. Cine methods: zero-filled (per frame), cs-tv with --lambda-t (k-t TV), bart-pics with --lambda-t
///     (-R T:1024:0:LT), view-sharing (nearest frame that sampled each line), l+s (Otazo et al. 2015: --lambda =
///     lambda_s, --lambda-l = lambda_l). Multi-coil cs-tv / bart-pics with --lambda-t and l+s use --sens or maps
///     estimated (--estimate-maps) from the time-averaged k-space. recon prints JSON {method, parameters,
///     acceleration, frames, output}.
///   reconlab recon --method zero-padding|bicubic|tv-sr|sr-resnet|sr-dcgan --upscale S
///                  [--low-resolution kspace-truncation|block-average] (--kspace K | --image IMG) [--weights W] OUT
///     super-resolution onto the grid S times larger: K is fully sampled low-resolution k-space, IMG a low-resolution
///     image (.png, one-slice .nii/.nii.gz, .dcm, .npy, .cfl; io/image_file.hpp) whose intensity units OUT keeps.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "methods.hpp"
#include "recon_methods.hpp"
#include "study_command.hpp"
#include "nufft_command.hpp"
#include "reconlab/io/fastmri.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/ismrmrd.hpp"
#include "traj_command.hpp"
#include "train_command.hpp"
#include "reconlab/io/array_file.hpp"
#include "reconlab/io/image_file.hpp"
#include "reconlab/io/mat.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/kspace_interpolation.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/lowrank_sparse.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/super_resolution.hpp"
#include "reconlab/solvers/view_sharing.hpp"

using namespace reconlab;

namespace {

/// NumPy-order shape of dims, e.g. (64, 0, 1, 1, 1) -> "(0, 64)" (trailing 1s of coil/frame/batch dropped).
std::string shape_text(const Dims& d) {
  std::size_t k = 5;
  while (k > 2 && d[k - 1] == 1) --k;
  std::string s = "(";
  for (std::size_t i = 0; i < k; ++i) s += (i ? ", " : "") + std::to_string(d[k - 1 - i]);
  return s + ")";
}

/// Throws unless every dim of `d` is > 0: an empty array (e.g. a .npy of shape (0, 64)) is never valid input.
void require_nonempty(const Dims& d, const std::string& role, const std::string& path) {
  for (Index n : d)
    require(n > 0, role + " " + path + " is empty (shape " + shape_text(d) + "); a non-empty image is needed");
}

/// Real image from a file: real dtypes as they are; complex files must have zero imaginary part.
RArray read_real_image(const std::string& path, const std::string& role) {
  CArray a = io::read_array(path);
  require_nonempty(dims_of(a), role, path);
  require_finite(a, role + " " + path);
  for (Index i = 0; i < a.size(); ++i)
    require(a.data()[i].imag() == 0.0f,
            role + " " + path + " is complex; pass a real image (or its magnitude)");
  return a.real();
}

/// Image for `metrics`: complex inputs by magnitude, real inputs as given (negative values kept, as
/// scikit-image measures them). A .npy is complex when its dtype is (c8, c16); a BART .cfl, which holds only
/// complex samples, when any imaginary part is non-zero.
RArray read_metric_image(const std::string& path, const std::string& role) {
  CArray a;
  bool complex = false;
  if (io::is_npy(path)) {
    const io::NpyArray f = io::read_npy(path);
    const Dims d = io::npy_shape_to_dims(f.shape, path);
    a = CArray(d[0], d[1], d[2], d[3], d[4]);
    complex = f.is_complex;
    for (Index i = 0; i < a.size(); ++i)
      a.data()[i] = complex ? f.data_c[std::size_t(i)] : cfloat(f.data_r[std::size_t(i)], 0.0f);
  } else {
    a = io::read_array(path);
    for (Index i = 0; i < a.size() && !complex; ++i) complex = a.data()[i].imag() != 0.0f;
  }
  require_nonempty(dims_of(a), role, path);
  require_finite(a, role + " " + path);
  return complex ? RArray(a.abs()) : RArray(a.real());
}

/// 2D check: dims (nx, ny, 1, 1, 1).
void require_2d(const Dims& d, const std::string& what) {
  require(d[2] == 1 && d[3] == 1 && d[4] == 1 && d[0] > 0 && d[1] > 0,
          what + " must be a 2D image (ny, nx), got dims " + dims_string(d) + " (x, y, coil, frame, batch)");
}

/// Reads a mask for k-space of dims kd (x, y, coil, frame, 1). Accepted files:
///   .npy: 1D (nx) column mask broadcast along y (fastMRI style), 2D (ny, nx) plane, 3D (frames, ny, nx) one plane
///         per frame (a mask has no coil axis, so a 3D mask file is always frames);
///   .cfl: [nx, ny(, frames in BART dim 10)];
///   .mat: the variable `mat_variable` (or the file's only variable), MATLAB (rows = ny, cols = nx[, frames]).
/// A mask with frames must have as many as the k-space, or one. Every value must be exactly 0 or 1 (imaginary part
/// 0): NaN, Inf, negative values, other values (a 0/2 mask, a k-space file given as the mask) are rejected, naming
/// the file, the value and its NumPy index, before anything is binarised (no method takes sampling weights from a
/// file yet). Returns dims (nx, ny, 1, frames or 1, 1).
RArray read_mask(const std::string& path, const Dims& kd, const std::string& mat_variable) {
  CArray m;
  const bool mat = std::filesystem::path(path).extension() == ".mat";
  if (mat) {
    std::string var = mat_variable;
    if (var.empty()) {
      const auto names = io::mat_variables(path);
      require(names.size() == 1, "mask " + path + " holds " + std::to_string(names.size()) +
                                     " variables (" + io::detail::join_names(names) + "); name one with --mask-variable");
      var = names[0];
    }
    m = io::read_mat(path, var);
  } else {
    require(mat_variable.empty(), "--mask-variable applies to a .mat mask, not " + path);
    if (io::is_npy(path)) {
      const io::NpyArray raw = io::read_npy(path);
      require(raw.shape.size() >= 1 && raw.shape.size() <= 3,
              "mask " + path + " has " + std::to_string(raw.shape.size()) +
                  " axes; a mask is (nx), (ny, nx) or (frames, ny, nx)");
      m = io::read_npy_complex(path, raw.shape.size() == 3 ? "fyx" : "");
    } else {
      m = io::read_array(path);
    }
  }
  const Dims md = dims_of(m);
  const bool column = md[0] == kd[0] && md[1] == 1 && kd[1] != 1 && !mat;
  const bool fits = md[0] == kd[0] && (md[1] == kd[1] || column) && md[2] == 1 && md[4] == 1;
  if (!fits)
    throw Error("mask " + path + " has shape " + shape_text(md) + "; k-space needs (ny, nx) = (" +
                std::to_string(kd[1]) + ", " + std::to_string(kd[0]) + "), (frames, ny, nx) or a column mask of length " +
                std::to_string(kd[0]));
  if (md[3] != 1 && md[3] != kd[3])
    throw Error("mask " + path + " has " + std::to_string(md[3]) + " frames but the k-space has " +
                std::to_string(kd[3]) + "; give one mask per frame or one for all" +
                (kd[3] == 1 && kd[2] == md[3] ? " (the k-space was read as " + std::to_string(kd[2]) +
                                                    " coils: for a (frames, ny, nx) cine pass --axes t,y,x)"
                                              : std::string()));
  for (Index i = 0; i < m.size(); ++i) {
    const cfloat v = m.data()[i];
    if ((v.real() == 0.0f || v.real() == 1.0f) && v.imag() == 0.0f) continue;
    std::ostringstream msg;
    msg.precision(9);
    msg << "mask " << path << ": value ";
    if (v.imag() == 0.0f)
      msg << v.real();
    else
      msg << "(" << v.real() << (std::signbit(v.imag()) ? "" : "+") << v.imag() << "j)";
    const Index x = i % md[0], y = (i / md[0]) % md[1], t = i / (md[0] * md[1]);
    std::string index = column ? "(" + std::to_string(i) + ")"
                               : "(" + std::to_string(y) + ", " + std::to_string(x) + ")";
    if (md[3] > 1) index = "(" + std::to_string(t) + ", " + index.substr(1);
    msg << " at index " << index << "; a mask must hold only 0 and 1"
        << (!std::isfinite(v.real()) || !std::isfinite(v.imag()) ? " (found a non-finite value)"
            : v.imag() != 0.0f                                    ? " (is this a complex k-space?)"
            : v.real() < 0.0f                                     ? " (found a negative value)"
                                                                  : "");
    throw Error(msg.str());
  }
  RArray out(kd[0], kd[1], 1, md[3], 1);
  for (Index t = 0; t < md[3]; ++t)
    for (Index y = 0; y < kd[1]; ++y)
      for (Index x = 0; x < kd[0]; ++x) out(x, y, 0, t, 0) = m(x, column ? 0 : y, 0, t, 0).real();
  return out;
}

/// How a k-space file was laid out, so the image is written back in the same layout.
struct KspaceLayout {
  bool npy = false;
  bool frames_axis = false;  ///< the file has a frame axis (npy --axes with t, or .cfl dim 10 > 1)
};

/// Parses --axes: comma-separated letters c (coil), t (frame), y, x, slowest first, each at most once, y and x
/// present, e.g. "t,y,x" or "c,t,y,x". Throws Error naming the problem.
std::string parse_axes(const std::string& s) {
  std::string letters;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    require(tok.size() == 1 && std::string("ctyx").find(tok[0]) != std::string::npos,
            "--axes '" + s + "': each axis is one of c (coil), t (frame), y, x, comma separated, e.g. t,y,x");
    require(letters.find(tok[0]) == std::string::npos, "--axes '" + s + "': axis " + tok + " appears twice");
    letters += tok[0];
  }
  require(letters.find('y') != std::string::npos && letters.find('x') != std::string::npos,
          "--axes '" + s + "' must name both y and x");
  return letters;
}

/// Reads k-space as dims (x, y, coil, frame, 1). .npy without `axes`: (ny, nx) or (coils, ny, nx) (the default
/// NumPy mapping); a 4D .npy needs --axes. .npy with `axes` (parse_axes letters, slowest first): any order of
/// c, t, y, x, transposed into reconlab's layout. .cfl: coils in BART dim 3, frames in dim 10 (axes refused).
CArray read_kspace(const std::string& path, const std::string& axes_opt, KspaceLayout& layout) {
  layout.npy = io::is_npy(path);
  if (!layout.npy) {
    require(axes_opt.empty(), "--axes applies to .npy k-space; a .cfl has BART's dims (coils in dim 3, frames in "
                              "dim 10)");
    CArray k = io::read_array(path);
    layout.frames_axis = k.dimension(3) > 1;
    return k;
  }
  const io::NpyArray raw = io::read_npy(path);
  if (axes_opt.empty()) {
    require(raw.shape.size() <= 3, "k-space " + path + " has " + std::to_string(raw.shape.size()) +
                                       " axes; name them with --axes (e.g. c,t,y,x or t,y,x)");
    return io::read_npy_complex(path);
  }
  const std::string ax = parse_axes(axes_opt);
  require(ax.size() == raw.shape.size(),
          "--axes " + axes_opt + " names " + std::to_string(ax.size()) + " axes but k-space " + path + " has " +
              std::to_string(raw.shape.size()) + " (shape " + [&] {
                std::string t = "(";
                for (std::size_t i = 0; i < raw.shape.size(); ++i) t += (i ? ", " : "") + std::to_string(raw.shape[i]);
                return t + ")";
              }());
  layout.frames_axis = ax.find('t') != std::string::npos;
  Dims d{1, 1, 1, 1, 1};
  const std::string ours = "xyct";  // reconlab dims 0..3
  for (std::size_t i = 0; i < ax.size(); ++i) d[ours.find(ax[i])] = raw.shape[i];
  const Index stride[4] = {1, d[0], d[0] * d[1], d[0] * d[1] * d[2]};
  std::vector<Index> dst_stride(ax.size());
  for (std::size_t i = 0; i < ax.size(); ++i) dst_stride[i] = stride[ours.find(ax[i])];
  CArray k(d[0], d[1], d[2], d[3], 1);
  std::vector<Index> idx(ax.size(), 0);
  const Index n = k.size();
  for (Index src = 0; src < n; ++src) {
    Index dst = 0;
    for (std::size_t i = 0; i < ax.size(); ++i) dst += idx[i] * dst_stride[i];
    k.data()[dst] = raw.is_complex ? raw.data_c[std::size_t(src)] : cfloat(raw.data_r[std::size_t(src)], 0.f);
    for (std::size_t i = ax.size(); i-- > 0;) {  // C-order odometer, last axis fastest
      if (++idx[i] < raw.shape[i]) break;
      idx[i] = 0;
    }
  }
  return k;
}

/// Writes the reconstructed image (nx, ny, 1, frames, slices) in the input's layout: .npy (ny, nx), or (frames, ny,
/// nx) when the input had a frame axis or the image has frames, or (slices, [frames,] ny, nx) for the slices of a
/// fastMRI or ISMRMRD file; .cfl with frames in BART dim 10; NIfTI magnitudes.
void write_image(const std::string& path, const CArray& img, const KspaceLayout& layout) {
  const Dims d = dims_of(img);
  const std::string name = std::filesystem::path(path).filename().string();
  if (std::filesystem::path(path).extension() == ".nii" ||
      (name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz")) {
    // NIfTI: the magnitude, so that any viewer opens it (frames along t, slices along k).
    io::write_nifti(path, RArray(img.abs()));
    return;
  }
  if (io::is_npy(path) && (layout.frames_axis || d[3] > 1) && d[2] == 1 && d[4] == 1)
    io::write_npy(path, img, {d[3], d[1], d[0]});
  else if (io::is_npy(path) && d[2] == 1 && d[4] > 1)  // slices of a raw-data file: (slices, [frames,] ny, nx)
    io::write_npy(path, img, d[3] > 1 ? std::vector<Index>{d[4], d[3], d[1], d[0]} : std::vector<Index>{d[4], d[1], d[0]});
  else
    io::write_array(path, img);
}

std::vector<Index> parse_shape(const std::string& s) {
  std::vector<Index> v;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    try {
      std::size_t used = 0;
      const long long n = std::stoll(tok, &used);
      require(used == tok.size() && n > 0, "");
      v.push_back(n);
    } catch (...) {
      throw Error("--shape must be NY,NX with positive integers, got '" + s + "'");
    }
  }
  require(v.size() == 2, "--shape must be NY,NX, got '" + s + "'");
  return v;
}

nlohmann::json metrics_json(const Metrics& m) {
  auto num = [](double v) -> nlohmann::json { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"psnr", num(m.psnr)}, {"ssim", num(m.ssim)}, {"nmse", num(m.nmse)}, {"rmse", num(m.rmse)},
          {"data_range", num(m.data_range)}};
}

}  // namespace

int main(int argc, char** argv) {
  // `study` takes the study runner's own command line (study_command.hpp), after the TOML file.
  if (argc >= 2 && std::string(argv[1]) == "study") return tool::run_study_command(argc - 1, argv + 1);
  CLI::App app{"reconlab: MRI reconstruction from undersampled k-space (arrays in .npy or BART .cfl)"};
  app.require_subcommand(1);
  app.add_subcommand("study", "a comparison study described by a TOML file: reconlab study CONFIG.toml [--out DIR] "
                              "[--methods a,b] [--max-cases N] (tools/study_command.hpp, examples/*.toml)");
  tool::TrajArgs traj_args;
  auto* cmd_traj = tool::add_traj_command(app, traj_args);
  tool::TrainArgs train_args;
  auto* cmd_train = tool::add_train_command(app, train_args);
  tool::NufftArgs nufft_args;
  auto* cmd_nufft = tool::add_nufft_command(app, nufft_args);

  std::string target, prediction;
  std::optional<double> data_range;
  auto* cmd_metrics = app.add_subcommand("metrics", "PSNR, SSIM, NMSE, RMSE (fastMRI / scikit-image definitions)");
  cmd_metrics->add_option("--target", target, "ground truth image (real: as given; complex: magnitude is used)")
      ->required();
  cmd_metrics->add_option("--prediction", prediction, "reconstruction (real: as given; complex: magnitude)")
      ->required();
  cmd_metrics->add_option("--data-range", data_range, "data range for PSNR/SSIM (default: max of target)");

  double weight = 0.1;
  int rof_iters = solvers::RofOptions{}.max_iterations;
  double rof_tol = solvers::RofOptions{}.tolerance;
  std::string in_path, out_path;
  auto* cmd_rof = app.add_subcommand("rof", "ROF / TV denoising of a real image (Chambolle 2004)");
  cmd_rof->add_option("--weight", weight, "TV weight w of 0.5||u-f||^2 + w TV(u), in the image's units")->required();
  cmd_rof->add_option("--iterations", rof_iters, "iteration cap (the duality gap, not the cap, should stop it)")
      ->capture_default_str();
  cmd_rof->add_option("--tolerance", rof_tol,
                      "stop when the duality gap <= tolerance x the ROF energy (certifies ||u - u*|| <= sqrt(2 gap))")
      ->capture_default_str();
  cmd_rof->add_option("IN", in_path, "real image (.npy or .cfl)")->required();
  cmd_rof->add_option("OUT", out_path, "denoised image")->required();

  std::string mask_type, shape;
  double center_fraction = 0.08, acceleration = 4;
  int64_t seed = 0;
  Index calib = 0, frames = 0, center_lines = -1;
  std::string mask_out;
  auto* cmd_mask =
      app.add_subcommand("mask", "k-space sampling mask (fastMRI column masks, Poisson disc, k-t line masks)");
  cmd_mask->add_option("--type", mask_type,
                       "random | equispaced | equispaced-fraction | poisson | kt-vd | kt-gaussian | acdc (the real "
                       "30-frame ACDC k-t masks from --data) | learned (a trained learned-sampling model's mask, "
                       "--weights)")
      ->required()
      ->check(CLI::IsMember(
          {"random", "equispaced", "equispaced-fraction", "poisson", "kt-vd", "kt-gaussian", "acdc", "learned"}));
  std::string mask_weights;
  cmd_mask->add_option("--weights", mask_weights,
                       "learned: the model's final.pt (model.json beside it; architecture learned-sampling)");
  cmd_mask->add_option("--frames", frames, "kt-vd, kt-gaussian: number of frames T (one line pattern each)");
  cmd_mask->add_option("--center-lines", center_lines,
                       "kt-vd, kt-gaussian: fully sampled centre lines in every frame (default: round(center "
                       "fraction x NX))");
  cmd_mask->add_option("--shape", shape, "NY,NX (every type but acdc)");
  std::string acdc_data;
  cmd_mask->add_option("--data", acdc_data, "acdc: folder with mask_ref.mat and mask_seq.mat (default: "
                                            "$RECONLAB_DATA/cine-acdc)");
  cmd_mask->add_option("--center-fraction", center_fraction, "fully sampled centre fraction (column masks)")
      ->capture_default_str();
  cmd_mask->add_option("--acceleration", acceleration, "target acceleration R")->capture_default_str();
  cmd_mask->add_option("--seed", seed, "random seed (same seed, same mask)")->capture_default_str();
  cmd_mask->add_option("--calib", calib, "poisson: side of the fully sampled centre (default: centre fraction "
                                         "times min(NY, NX))");
  cmd_mask->add_option("OUT", mask_out,
                       "mask file (.npy float32 (ny, nx), k-t: (frames, ny, nx); or .cfl, frames in dim 10)")
      ->required();

  std::string method, kspace_path, mask_path, weights, sens_path, maps_source = "lowres", axes, mask_variable;
  std::optional<double> lambda, lambda_t, lambda_l;
  std::optional<int> iterations;
  std::string recon_out;
  auto* cmd_recon = app.add_subcommand("recon", "reconstruct single- or multi-coil centred k-space");
  cmd_recon->add_option("--method", method,
                        "zero-filled | rof | cs-tv | bart-pics | unet | kspace-unet | cascade | dncn | modl (single-coil; networks "
                        "need --weights); zero-filled (RSS) | cg-sense | "
                        "grappa | cs-tv | cs-wavelet | bart-pics | bart-pics-wavelet | modl-sense (multi-coil; a trained "
                        "multi-coil MoDL, needs --weights); cines: zero-filled | cs-tv (k-t TV) | view-sharing | l+s "
                        "| bart-pics; trajectories (--traj): gridding | cg-sense | cs-tv | bart-pics | bart-nufft-inverse | radial-interpolation "
                        "| unet (on the gridding image) | nufft-modl (networks need --weights); trajectory cines: "
                        "view-sharing (sliding window) | cs-tv / bart-pics with --lambda-t (k-t TV) | crnn | "
                        "residual-unet-3d (trained with initial_image gridding); "
                        "k-space interpolation baselines: linear-interpolation | spline-interpolation (missing lines, "
                        "GSL) | lowpass-hann | lowpass-hamming | lowpass-tukey (windowed zero-filled, --window-width); "
                        "super-resolution (--upscale): zero-padding | bicubic | tv-sr (--lambda) | sr-resnet | sr-dcgan "
                        "(networks need --weights)")
      ->required()
      ->check(CLI::Validator(
          [](std::string& m) -> std::string {
            const std::vector<std::string>& classical = tool::classical_methods();
            if (tool::classical_method(m)) return "";
            // Not a classical method: the model registry's networks (loads the networks module, LibTorch).
            std::vector<std::string> all = classical;
            try {
              const auto nets = tool::network_method_names();
              if (std::find(nets.begin(), nets.end(), m) != nets.end()) return "";
              all.insert(all.end(), nets.begin(), nets.end());
            } catch (const Error& e) {
              return m + " is not a classical method, and the networks are unavailable: " + e.what();
            }
            std::string list;
            for (const auto& n : all) list += (list.empty() ? "" : ", ") + n;
            return m + " not in {" + list + "}";
          },
          "METHOD"));
  auto* kspace_opt = cmd_recon->add_option("--kspace", kspace_path,
                                           "centred k-space, complex .npy (ny, nx) or (coils, ny, nx) (other "
                                           "layouts: --axes), or .cfl (coils in dim 3, frames in dim 10)");
  std::string sr_image_path;
  cmd_recon
      ->add_option("--image", sr_image_path,
                   "super-resolution of a low-resolution image instead of k-space (with --upscale S): .png (grey), "
                   ".nii/.nii.gz (one slice), .dcm, .npy (ny, nx) or .cfl; its k-space follows --low-resolution, and "
                   "the output keeps its intensity units")
      ->excludes(kspace_opt);
  std::optional<Index> fastmri_slice;
  cmd_recon->add_option("--slice", fastmri_slice,
                        "fastMRI or ISMRMRD .h5 k-space: reconstruct only this slice (default: all)");
  std::string eval_target_dir, eval_prediction_dir, eval_key;
  auto* cmd_eval = app.add_subcommand(
      "eval", "fastMRI leaderboard metrics (evaluate.py): per-volume NMSE, PSNR, SSIM of the .h5 reconstructions in "
              "--prediction-dir against the same-named fastMRI files in --target-dir");
  cmd_eval->add_option("--target-dir", eval_target_dir, "fastMRI files with reconstruction_rss / reconstruction_esc")
      ->required();
  cmd_eval->add_option("--prediction-dir", eval_prediction_dir, "files with a `reconstruction` dataset (recon OUT.h5)")
      ->required();
  cmd_eval->add_option("--key", eval_key, "target dataset (default: reconstruction_rss, else reconstruction_esc)")
      ->check(CLI::IsMember({"reconstruction_rss", "reconstruction_esc"}));
  std::string traj_path, density_path, recon_shape;
  cmd_recon->add_option("--traj", traj_path,
                        "non-Cartesian acquisition: trajectory in BART's layout [3, samples, spokes, ..., frames in "
                        "dim 10] or .npy (frames, spokes, samples, 3), cycles per FOV; --kspace then holds the samples "
                        "(BART [1, samples, spokes, coils, ..., frames] or .npy (frames, coils, spokes, samples))");
  cmd_recon->add_option("--density", density_path,
                        "--traj: density compensation weights per sample (same layout as the samples, one coil; "
                        "default: Pipe-Menon's)");
  double window_width = 1.0;
  std::optional<Index> upscale;
  std::string low_resolution_model = "kspace-truncation";
  cmd_recon->add_option("--upscale", upscale,
                        "super-resolution: the k-space is a fully sampled low-resolution acquisition; reconstruct on "
                        "the grid S times larger (zero-padding, bicubic, tv-sr, sr-resnet, sr-dcgan)");
  cmd_recon->add_option("--low-resolution", low_resolution_model,
                        "with --upscale: kspace-truncation (the centre of the high-resolution k-space, a low-resolution "
                        "scan) | block-average (image-domain downsampling by the mean of S x S blocks)")
      ->capture_default_str();
  Index sliding_window = 0;
  cmd_recon->add_option("--sliding-window", sliding_window,
                        "view-sharing of a trajectory cine (--traj): frames per sliding window, centred on each frame "
                        "(default 0: the fewest frames whose spokes reach Nyquist, pi/2 N)")
      ->check(CLI::Range(Index(0), Index(1000000)))
      ->capture_default_str();
  cmd_recon->add_option("--window-width", window_width,
                        "lowpass-*: the window spans this fraction of k-space (0, 1]; Tukey alpha is 0.5")
      ->capture_default_str();
  cmd_recon->add_option("--shape", recon_shape, "--traj: image grid NY,NX (default: 2 ceil(max |k|), as bart estdims)");
  cmd_recon->add_option("--axes", axes,
                        ".npy k-space axes, slowest first, from c (coil), t (frame), y, x: e.g. t,y,x for a cine "
                        "(frames, ny, nx), c,t,y,x for a multi-coil cine");
  cmd_recon->add_option("--mask", mask_path,
                        "sampling mask (ny, nx), per frame (frames, ny, nx), or column mask (nx); .npy, .cfl (frames "
                        "in dim 10) or .mat; default: the non-zero samples of the k-space");
  cmd_recon->add_option("--mask-variable", mask_variable, "the variable of a .mat mask (default: its only one)");
  cmd_recon->add_option("--sens", sens_path, "coil sensitivity maps (coils, ny, nx) .npy or .cfl (multi-coil)");
  cmd_recon->add_option("--estimate-maps", maps_source, "maps when --sens is absent: lowres (ours) | ecalib (BART)")
      ->check(CLI::IsMember({"lowres", "ecalib"}))
      ->capture_default_str();
  cmd_recon->add_option("--lambda", lambda,
                        "regularisation: rof weight / cs-tv lambda (relative to the zero-filled maximum), "
                        "bart-pics lambda");
  cmd_recon->add_option("--lambda-t", lambda_t,
                        "temporal TV weight of k-t TV: cs-tv (relative like --lambda) and bart-pics "
                        "(-R T:1024:0:lambda_t); multi-coil: maps from --sens or estimated");
  cmd_recon->add_option("--lambda-l", lambda_l,
                        "l+s: nuclear-norm weight (relative to the largest singular value of the zero-filled "
                        "Casorati matrix); --lambda is the sparse weight lambda_s");
  cmd_recon->add_option("--iterations", iterations, "iterations (rof, cs-tv, bart-pics, l+s)");
  cmd_recon->add_option("--weights", weights, "networks (unet, kspace-unet, cascade, dncn, modl, modl-sense, nufft-modl): trained weights (final.pt, model.json beside it)");
  cmd_recon->add_option("OUT", recon_out,
                        "complex image (.npy or .cfl) in the k-space's layout: (ny, nx), or (frames, ny, nx) for a "
                        "cine; .cfl frames in dim 10")
      ->required();

  // One line for every error, arguments included: "reconlab: error: <message>", exit status 1.
  auto fail = [](std::string msg) {
    for (auto& c : msg)
      if (c == '\n' || c == '\r') c = ' ';
    while (!msg.empty() && msg.back() == ' ') msg.pop_back();
    std::cerr << "reconlab: error: " << printable(msg) << "\n";
    return 1;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help (and its variants): help on stdout, exit 0
  } catch (const CLI::ParseError& e) {
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty())
      return fail("unknown subcommand '" + std::string(argv[1]) + "' (use metrics, rof, mask, recon, eval, traj, nufft or train): " + e.what());
    return fail(e.what());
  }

  try {
    if (*cmd_traj) {
      tool::run_traj_command(traj_args);
    } else if (*cmd_train) {
      train_args.argv.assign(argv, argv + argc);
      tool::run_train_command(train_args);
    } else if (*cmd_nufft) {
      tool::run_nufft_command(nufft_args);
    } else if (*cmd_recon && !traj_path.empty()) {
      // Non-Cartesian acquisition: samples on a trajectory (io/noncartesian.hpp).
      require(axes.empty() && mask_path.empty() && mask_variable.empty(),
              "--traj takes the samples in BART's non-Cartesian layout: --axes, --mask and --mask-variable do not apply");
      require(!upscale, "--upscale (super-resolution) applies to Cartesian low-resolution k-space, not --traj");
      std::optional<CArray> density;
      if (!density_path.empty()) density = io::read_noncartesian(density_path);
      std::optional<CArray> sens;
      if (!sens_path.empty()) {
        sens = io::read_array(sens_path);
        require_nonempty(dims_of(*sens), "sensitivity maps", sens_path);
      }
      std::optional<std::pair<Index, Index>> grid;
      if (!recon_shape.empty()) {
        const auto v = parse_shape(recon_shape);
        grid = std::pair<Index, Index>{v[1], v[0]};
      }
      Acquisition acq = tool::trajectory_acquisition(io::read_noncartesian(kspace_path), io::read_trajectory(traj_path),
                                                     density, grid, std::move(sens),
                                                     {"--kspace", "--traj", "--density " + density_path});
      const Dims kd = dims_of(acq.kspace);
      const Index nx = acq.image_dims[0], ny = acq.image_dims[1];
      const std::unique_ptr<Reconstructor> rec = tool::make_trajectory_reconstructor(
          method,
          tool::ReconOptions{.lambda = lambda, .lambda_t = lambda_t, .lambda_l = lambda_l, .iterations = iterations,
                             .maps_source = maps_source, .weights = weights, .sliding_window = sliding_window},
          acq);
      const CArray img = rec->reconstruct(acq);
      write_image(recon_out, img, KspaceLayout{io::is_npy(kspace_path), kd[3] > 1});
      std::cout << nlohmann::json{{"method", rec->name()}, {"parameters", rec->parameters()},
                                  {"image", {ny, nx}}, {"spokes", kd[1]}, {"samples", kd[0]}, {"coils", kd[2]},
                                  {"frames", kd[3]}, {"output", recon_out}}
                       .dump()
                << "\n";
    } else if (*cmd_metrics) {
      RArray t = read_metric_image(target, "target");
      RArray p = read_metric_image(prediction, "prediction");
      require_2d(dims_of(t), "target");
      require(dims_of(t) == dims_of(p), "target dims " + dims_string(dims_of(t)) + " and prediction dims " +
                                            dims_string(dims_of(p)) + " differ");
      std::cout << metrics_json(compute_metrics(t, p, data_range)).dump() << "\n";
    } else if (*cmd_rof) {
      RArray f = read_real_image(in_path, "input");
      solvers::SolverStatus st;
      std::vector<double> gaps;
      RArray u = solvers::rof_denoise(f, {.weight = weight, .max_iterations = rof_iters, .tolerance = rof_tol}, &st,
                                      &gaps);
      io::write_array(out_path, u);
      double worst = 0;
      for (double g : gaps) worst = std::max(worst, g);
      std::cout << nlohmann::json{{"iterations", st.iterations}, {"converged", st.converged},
                                  {"relative_gap", worst}}
                       .dump()
                << "\n";
    } else if (*cmd_mask && mask_type == "learned") {
      require(shape.empty() && frames == 0 && center_lines < 0 && acdc_data.empty(),
              "--type learned takes its shape and rate from the model: no --shape, --frames, --center-lines or --data");
      SamplingMask m;
      m.mask = tool::learned_mask(mask_weights, m.description);
      const Dims d = dims_of(m.mask);
      io::write_array(mask_out, m.mask);
      std::cout << nlohmann::json{{"type", mask_type},         {"shape", {d[1], d[0]}},
                                  {"sampled", m.num_sampled()}, {"acceleration", m.acceleration()},
                                  {"description", m.description}}
                       .dump()
                << "\n";
    } else if (*cmd_mask && mask_type == "acdc") {
      require(shape.empty() && frames == 0 && center_lines < 0,
              "--type acdc takes no --shape, --frames or --center-lines (the files fix them)");
      const std::string dir = acdc_data.empty() ? data_dir() + "/cine-acdc" : acdc_data;
      SamplingMask m{io::acdc_kt_masks(dir), ""};
      const Dims d = dims_of(m.mask);
      m.description = "acdc_kt_masks(" + dir + "): frame 0 mask_ref.mat sampling_mask_u0, frames 1.." +
                      std::to_string(d[3] - 1) + " mask_seq.mat sampling_mask_seq";
      if (io::is_npy(mask_out))
        io::write_npy(mask_out, m.mask, {d[3], d[1], d[0]});
      else
        io::write_array(mask_out, m.mask);
      std::cout << nlohmann::json{{"type", mask_type},         {"shape", {d[3], d[1], d[0]}},
                                  {"sampled", m.num_sampled()}, {"acceleration", m.acceleration()},
                                  {"description", m.description}}
                       .dump()
                << "\n";
    } else if (*cmd_mask) {
      require(!shape.empty(), "--type " + mask_type + " needs --shape NY,NX");
      require(mask_weights.empty(), "--weights applies to --type learned");
      require(acdc_data.empty(), "--data applies to --type acdc");
      const auto s = parse_shape(shape);
      const Index ny = s[0], nx = s[1];
      SamplingMask m;
      const bool kt = mask_type == "kt-vd" || mask_type == "kt-gaussian";
      require(kt || frames == 0, "--frames applies to the k-t mask types (kt-vd, kt-gaussian)");
      require(kt || center_lines < 0, "--center-lines applies to the k-t mask types (kt-vd, kt-gaussian)");
      if (kt) {
        require(frames >= 1, "--type " + mask_type + " needs --frames T >= 1");
        const Index c = center_lines >= 0 ? center_lines : static_cast<Index>(std::llround(center_fraction * nx));
        m = mask_type == "kt-vd" ? kt_variable_density_mask(nx, ny, frames, acceleration, c, seed)
                                 : kt_gaussian_mask(nx, ny, frames, acceleration, c, seed);
      } else if (mask_type == "random")
        m = random_column_mask(nx, ny, center_fraction, acceleration, seed);
      else if (mask_type == "equispaced")
        m = equispaced_column_mask(nx, ny, center_fraction, acceleration, seed);
      else if (mask_type == "equispaced-fraction")
        m = equispaced_fraction_column_mask(nx, ny, center_fraction, acceleration, seed);
      else
        m = poisson_disc_mask(nx, ny, acceleration,
                              calib > 0 ? calib : static_cast<Index>(std::round(center_fraction * std::min(nx, ny))),
                              seed);
      if (kt && io::is_npy(mask_out))
        io::write_npy(mask_out, m.mask, {frames, ny, nx});
      else
        io::write_array(mask_out, m.mask);
      nlohmann::json shape_json = kt ? nlohmann::json{frames, ny, nx} : nlohmann::json{ny, nx};
      std::cout << nlohmann::json{{"type", mask_type},         {"shape", shape_json},
                                  {"sampled", m.num_sampled()}, {"acceleration", m.acceleration()},
                                  {"seed", seed},               {"description", m.description}}
                       .dump()
                << "\n";
    } else if (*cmd_recon) {
      // A fastMRI raw-data file (.h5): every slice (or --slice) in turn, with its stored mask or its non-zero
      // columns, into a fastMRI reconstruction file (.h5, cropped to the header's reconstruction size) or an array.
      require(!kspace_path.empty() || !sr_image_path.empty(), "recon needs --kspace (or --image with --upscale)");
      require(sr_image_path.empty() || (upscale && axes.empty() && mask_path.empty() && sens_path.empty()),
              "--image is the low-resolution image of super-resolution: give --upscale S, and no --axes, --mask or "
              "--sens");
      const bool h5 = std::filesystem::path(kspace_path).extension() == ".h5";
      // ISMRMRD raw data (.h5 with a `dataset` group): repetitions as frames, slices in turn (or --slice), its own
      // mask.
      const bool ismrmrd = h5 && io::is_ismrmrd_file(kspace_path);
      const bool fastmri = h5 && !ismrmrd;
      std::optional<io::IsmrmrdData> im;
      std::optional<io::FastmriFile> fm;
      Index first_slice = 0, slice_count = 1;
      if (ismrmrd) {
        require(axes.empty() && mask_path.empty() && mask_variable.empty(),
                "an ISMRMRD file carries its own layout and mask: --axes, --mask and --mask-variable do not apply");
        im = io::read_ismrmrd(kspace_path);
        const Index slices = im->acquisition.kspace.dimension(4);
        first_slice = fastmri_slice.value_or(0), slice_count = fastmri_slice ? 1 : slices;
        require(first_slice >= 0 && first_slice < slices,
                "--slice " + std::to_string(first_slice) + " outside 0.." + std::to_string(slices - 1) +
                    " (the ISMRMRD file's slices)");
      }
      const bool stack_slices = fastmri || (ismrmrd && im->acquisition.kspace.dimension(4) > 1);
      if (fastmri) {
        require(axes.empty() && mask_path.empty() && mask_variable.empty() && sens_path.empty(),
                "a fastMRI .h5 file carries its own layout and mask: --axes, --mask, --mask-variable and --sens do "
                "not apply");
        fm = io::read_fastmri(kspace_path);
        first_slice = fastmri_slice.value_or(0), slice_count = fastmri_slice ? 1 : fm->slices();
        require(first_slice >= 0 && first_slice < fm->slices(), "--slice " + std::to_string(first_slice) +
                                                                    " outside 0.." + std::to_string(fm->slices() - 1));
      } else if (!ismrmrd) {
        require(!fastmri_slice, "--slice applies to fastMRI and ISMRMRD .h5 k-space");
      }
      std::vector<CArray> slice_images;
      nlohmann::json slice_info;
      for (Index sl = first_slice; sl < first_slice + slice_count; ++sl) {
      Acquisition acq;
      KspaceLayout layout;
      if (fm) acq = io::fastmri_slice(*fm, sl);
      else if (im) acq = io::ismrmrd_slice(im->acquisition, sl);
      else if (!sr_image_path.empty())
        acq = solvers::low_resolution_acquisition(io::read_image(sr_image_path), std::max<Index>(*upscale, 1),
                                                  low_resolution_from_string(low_resolution_model));
      else acq.kspace = read_kspace(kspace_path, axes, layout);
      const Dims kd = dims_of(acq.kspace);
      require_nonempty(kd, "k-space", kspace_path.empty() ? sr_image_path : kspace_path);
      require(kd[4] == 1 && kd[0] > 0 && kd[1] > 0,
              "k-space must be (ny, nx), (coils, ny, nx) or a cine (see --axes), got dims " + dims_string(kd) +
                  " (x, y, coil, frame, batch)");
      const bool multicoil = kd[2] > 1;
      if (fm || im || !sr_image_path.empty()) {
        // the file's own mask (fastmri_slice, read_ismrmrd), or the full low-resolution grid (--image)
      } else if (!mask_path.empty()) {
        acq.sampling = read_mask(mask_path, kd, mask_variable);
      } else {
        require(mask_variable.empty(), "--mask-variable needs --mask");
        acq.sampling = mask_from_kspace(acq.kspace);
      }
      if (!sens_path.empty()) {
        acq.sensitivities = io::read_array(sens_path);
        require_nonempty(dims_of(*acq.sensitivities), "sensitivity maps", sens_path);
      }
      if (upscale) {
        require(*upscale >= 1, "--upscale must be >= 1, got " + std::to_string(*upscale));
        acq.low_resolution = low_resolution_from_string(low_resolution_model);
        require(acq.low_resolution != LowResolution::none, "--low-resolution must be kspace-truncation or block-average");
        acq.image_dims = {kd[0] * *upscale, kd[1] * *upscale, 1, kd[3], 1};
      }
      validate_acquisition(acq);
      if (multicoil || acq.sensitivities) solvers::validate_multicoil(acq);
      const tool::ReconOptions recon_options{.lambda = lambda,
                                             .lambda_t = lambda_t,
                                             .lambda_l = lambda_l,
                                             .iterations = iterations,
                                             .maps_source = maps_source,
                                             .window_width = window_width,
                                             .weights = weights};
      std::unique_ptr<Reconstructor> rec = tool::make_cartesian_reconstructor(method, recon_options, acq);
      CArray img = rec->reconstruct(acq);
      if (stack_slices) {
        slice_images.push_back(img);
        slice_info = {{"method", rec->name()}, {"parameters", rec->parameters()},
                      {"acceleration", acceleration_of(acq.mask())}, {"coils", kd[2]}};
        continue;
      }
      write_image(recon_out, img, layout);
      std::cout << nlohmann::json{{"method", rec->name()}, {"parameters", rec->parameters()},
                                  {"acceleration", acceleration_of(acq.mask())}, {"frames", kd[3]},
                                  {"output", recon_out}}
                       .dump()
                << "\n";
      }
      if (stack_slices) {
        // Slices as the batch axis (frames kept: ISMRMRD repetitions); magnitudes cropped to the reconstruction size
        // for a fastMRI output file.
        const Dims d = dims_of(slice_images.front());
        CArray vol(d[0], d[1], 1, d[3], Index(slice_images.size()));
        for (std::size_t i = 0; i < slice_images.size(); ++i) {
          require(dims_of(slice_images[i]) == d, "recon: slice images differ in dims");
          vol.chip(Index(i), 4) = slice_images[i].chip(0, 4);
        }
        const bool h5_out = std::filesystem::path(recon_out).extension() == ".h5";
        // fastMRI crops (H, W) to (reconSpace x, reconSpace y): reconlab's (x = W, y = H) to (recon_ny, recon_nx).
        const bool crop = fm && h5_out && fm->recon_nx > 0 && fm->recon_nx <= d[1] && fm->recon_ny <= d[0];
        if (h5_out) {
          require(d[3] == 1, "a fastMRI reconstruction file (.h5 output) holds one image per slice; these slices "
                             "have " + std::to_string(d[3]) + " frames: write .npy, .cfl or .nii");
          RArray mag = vol.abs();
          if (crop) mag = io::fastmri_center_crop(mag, fm->recon_ny, fm->recon_nx);
          io::write_fastmri_reconstruction(recon_out, mag);
        } else {
          write_image(recon_out, vol, KspaceLayout{});
        }
        slice_info["slices"] = slice_images.size();
        slice_info["first_slice"] = first_slice;
        slice_info["frames"] = d[3];
        slice_info["cropped_to"] = crop ? nlohmann::json{fm->recon_nx, fm->recon_ny} : nlohmann::json(nullptr);
        slice_info["output"] = recon_out;
        std::cout << slice_info.dump() << "\n";
      }
    } else if (*cmd_eval) {
      // fastMRI's evaluate.py: per volume, target (reconstruction_rss, else reconstruction_esc, or --key) and the
      // prediction's `reconstruction`, both centre-cropped to the target's width squared; NMSE, PSNR, SSIM.
      namespace fs = std::filesystem;
      require(fs::is_directory(eval_target_dir) && fs::is_directory(eval_prediction_dir),
              "--target-dir and --prediction-dir must be folders");
      std::vector<fs::path> targets;
      for (const auto& e : fs::directory_iterator(eval_target_dir))
        if (e.is_regular_file() && e.path().extension() == ".h5") targets.push_back(e.path());
      std::sort(targets.begin(), targets.end());
      require(!targets.empty(), "--target-dir " + eval_target_dir + " holds no .h5 file");
      std::vector<Metrics> per;
      nlohmann::json volumes = nlohmann::json::array();
      for (const auto& t : targets) {
        const fs::path pred = fs::path(eval_prediction_dir) / t.filename();
        require(fs::exists(pred), "no prediction " + pred.string() + " for target " + t.string());
        std::string key = eval_key;
        if (key.empty()) {
          try {
            (void)io::read_fastmri_volume(t.string(), "reconstruction_rss");
            key = "reconstruction_rss";
          } catch (const Error&) {
            key = "reconstruction_esc";
          }
        }
        RArray target = io::read_fastmri_volume(t.string(), key);
        RArray prediction = io::read_fastmri_volume(pred.string(), "reconstruction");
        const Index w = target.dimension(0);
        target = io::fastmri_center_crop(target, w, std::min(w, target.dimension(1)));
        require(prediction.dimension(0) >= w && prediction.dimension(1) >= target.dimension(1),
                "prediction " + pred.string() + " (" + dims_string(dims_of(prediction)) + ") is smaller than the "
                "cropped target " + dims_string(dims_of(target)));
        prediction = io::fastmri_center_crop(prediction, target.dimension(0), target.dimension(1));
        const Metrics m = io::fastmri_volume_metrics(target, prediction);
        per.push_back(m);
        volumes.push_back({{"file", t.filename().string()}, {"key", key}, {"nmse", m.nmse}, {"psnr", m.psnr},
                           {"ssim", m.ssim}, {"slices", target.dimension(4)}});
      }
      auto stat = [&](auto field) {
        double mean = 0, var = 0;
        for (const auto& m : per) mean += field(m) / double(per.size());
        for (const auto& m : per) var += (field(m) - mean) * (field(m) - mean) / double(per.size());
        return nlohmann::json{{"mean", mean}, {"std", std::sqrt(var)}};
      };
      std::cout << nlohmann::json{{"volumes", volumes},
                                  {"nmse", stat([](const Metrics& m) { return m.nmse; })},
                                  {"psnr", stat([](const Metrics& m) { return m.psnr; })},
                                  {"ssim", stat([](const Metrics& m) { return m.ssim; })}}
                       .dump()
                << "\n";
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
