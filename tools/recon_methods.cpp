// The Cartesian method factory of `reconlab recon` and the Python module; see recon_methods.hpp.
#include "recon_methods.hpp"

#include <algorithm>

#include "methods.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/kspace_interpolation.hpp"
#include "reconlab/solvers/lowrank_sparse.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/super_resolution.hpp"
#include "reconlab/solvers/view_sharing.hpp"

namespace reconlab::tool {

const std::vector<std::string>& classical_methods() {
  static const std::vector<std::string> names{
      "zero-filled", "rof", "cs-tv", "bart-pics", "cg-sense", "grappa", "cs-wavelet", "bart-pics-wavelet",
      "view-sharing", "l+s", "gridding", "bart-nufft-inverse", "linear-interpolation", "spline-interpolation",
      "lowpass-hann", "lowpass-hamming", "lowpass-tukey", "radial-interpolation", "zero-padding", "bicubic", "tv-sr"};
  return names;
}

bool classical_method(const std::string& method) {
  const auto& c = classical_methods();
  return std::find(c.begin(), c.end(), method) != c.end();
}

namespace {
/// The checks both factories share: lambda_t only for the k-t TV methods and >= 0; the maps source. Returns the
/// maps source. Throws Error otherwise.
solvers::MapsSource checked_common_options(const std::string& method, const ReconOptions& o) {
  require(!o.lambda_t || method == "cs-tv" || method == "bart-pics",
          "--lambda-t applies to cs-tv and bart-pics (k-t TV; lambda_t in Python), not method " + method);
  require(!o.lambda_t || *o.lambda_t >= 0, "--lambda-t (lambda_t) must be >= 0");
  require(o.maps_source == "lowres" || o.maps_source == "ecalib",
          "maps source must be lowres or ecalib, got '" + o.maps_source + "'");
  return o.maps_source == "ecalib" ? solvers::MapsSource::Ecalib : solvers::MapsSource::LowRes;
}
}  // namespace

std::unique_ptr<Reconstructor> make_cartesian_reconstructor(const std::string& method, const ReconOptions& o,
                                                            Acquisition& acq) {
  const auto& lambda = o.lambda;
  const auto& lambda_t = o.lambda_t;
  const auto& iterations = o.iterations;
  const bool multicoil = acq.coils() > 1;
  const auto source = checked_common_options(method, o);
  const bool sr_method = method == "zero-padding" || method == "bicubic" || method == "tv-sr";
  require(!sr_method || acq.low_resolution != LowResolution::none,
          "method " + method + " is a super-resolution method: give --upscale S (a low-resolution acquisition)");
  require(!o.lambda_l || method == "l+s", "--lambda-l (lambda_l) applies to method l+s");
  using CsPenalty = solvers::CsSenseReconstructor::Penalty;
  if (method == "gridding" || method == "bart-nufft-inverse" || method == "radial-interpolation")
    throw Error("method " + method + " reconstructs trajectory acquisitions: give --traj");
  if (method == "zero-padding") return std::make_unique<solvers::ZeroPaddingReconstructor>();
  if (method == "bicubic") return std::make_unique<solvers::BicubicReconstructor>();
  if (method == "tv-sr") {
    require(!multicoil || acq.sensitivities,
            "method tv-sr on multi-coil k-space needs coil maps on the high-resolution grid (--sens)");
    return solvers::make_classical_reconstructor("cs-tv", {.lambda = lambda, .iterations = iterations});
  }
  if (method == "linear-interpolation" || method == "spline-interpolation")
    return std::make_unique<solvers::KspaceLineInterpolationReconstructor>(
        method == "linear-interpolation" ? solvers::LineInterpolation::Linear
                                         : solvers::LineInterpolation::CubicSpline);
  if (method == "lowpass-hann" || method == "lowpass-hamming" || method == "lowpass-tukey")
    return std::make_unique<solvers::LowPassZeroFilledReconstructor>(
        method == "lowpass-hann" ? solvers::Window::Hann
        : method == "lowpass-hamming" ? solvers::Window::Hamming
                                      : solvers::Window::Tukey,
        o.window_width);
  if (method == "view-sharing") return std::make_unique<solvers::ViewSharingReconstructor>();
  if (method == "l+s") {
    if (multicoil && !acq.sensitivities) acq.sensitivities = solvers::resolve_maps(acq, source);
    solvers::LowRankSparseOptions ls;
    ls.lambda_l = o.lambda_l.value_or(ls.lambda_l);
    ls.lambda_s = lambda.value_or(ls.lambda_s);
    ls.max_iterations = iterations.value_or(ls.max_iterations);
    return std::make_unique<solvers::LowRankSparseReconstructor>(ls);
  }
  if (method == "cg-sense")
    return std::make_unique<solvers::CgSenseReconstructor>(
        solvers::CgSenseOptions{.iterations = iterations.value_or(30), .lambda = lambda.value_or(0.0)}, source);
  if (method == "grappa") return std::make_unique<solvers::GrappaReconstructor>();
  if (multicoil && lambda_t && (method == "cs-tv" || method == "bart-pics")) {
    // Multi-coil k-t TV: the cine solvers with maps (given, else estimated from the time-averaged k-space).
    if (!acq.sensitivities) acq.sensitivities = solvers::resolve_maps(acq, source);
    return solvers::make_classical_reconstructor(
        method, {.lambda = method == "bart-pics" ? lambda.value_or(0.005) : lambda, .lambda_t = *lambda_t,
                 .iterations = iterations});
  }
  if (method == "cs-wavelet" || (method == "cs-tv" && multicoil))
    return std::make_unique<solvers::CsSenseReconstructor>(method == "cs-tv" ? CsPenalty::TV : CsPenalty::Wavelet,
                                                           lambda.value_or(2e-3), iterations.value_or(200), source);
  if (method == "bart-pics-wavelet" || (method == "bart-pics" && multicoil))
    return std::make_unique<solvers::BartPicsSenseReconstructor>(method == "bart-pics" ? "T" : "W",
                                                                 lambda.value_or(0.005), iterations.value_or(100));
  if (!classical_method(method)) {
    // Every trained network, through the model registry (final.pt with model.json; single-coil networks refuse
    // multi-coil k-space). Multi-coil maps: given, else ecalib here when asked (lowres is estimated inside the
    // network's reconstructor).
    auto rec = make_network_reconstructor(method, o.weights);
    if (multicoil && !acq.sensitivities && o.maps_source == "ecalib")
      acq.sensitivities = solvers::ecalib_maps(EigenFftw::multiply_mask(acq.mask(), acq.kspace), &acq.mask()).maps;
    return rec;
  }
  if (multicoil && method == "rof")
    throw Error("method " + method + " takes single-coil k-space; this k-space has " + std::to_string(acq.coils()) +
                " coils");
  return solvers::make_classical_reconstructor(
      method, {.lambda = lambda, .lambda_t = lambda_t.value_or(0.0), .iterations = iterations});
}

Acquisition trajectory_acquisition(CArray kspace, RArray coords, const std::optional<CArray>& density,
                                   std::optional<std::pair<Index, Index>> shape, std::optional<CArray> sens,
                                   const std::array<std::string, 3>& names) {
  const auto& [kname, tname, dname] = names;
  const Dims kd = dims_of(kspace);
  require(coords.dimension(1) == kd[0] && coords.dimension(2) == kd[1],
          tname + " has " + std::to_string(coords.dimension(1)) + " samples x " + std::to_string(coords.dimension(2)) +
              " spokes but " + kname + " holds " + std::to_string(kd[0]) + " x " + std::to_string(kd[1]));
  Trajectory t{std::move(coords), std::nullopt};
  if (density) {
    const CArray& w = *density;
    require(dims_of(w)[0] == kd[0] && dims_of(w)[1] == kd[1] && dims_of(w)[2] == 1,
            dname + " has dims " + dims_string(dims_of(w)) + "; expected (" + std::to_string(kd[0]) + ", " +
                std::to_string(kd[1]) + ", 1, frames) like the samples, one coil");
    for (Index i = 0; i < w.size(); ++i)
      require(w.data()[i].imag() == 0 && w.data()[i].real() >= 0,
              dname + ": weights must be real and >= 0 (element " + std::to_string(i) + ")");
    t.density = RArray(w.real());
  }
  const auto [nx, ny] = shape ? *shape : io::estimate_image_dims(t.coords);
  Acquisition acq;
  acq.kspace = std::move(kspace);
  acq.sampling = std::move(t);
  acq.image_dims = {nx, ny, 1, kd[3], 1};
  if (sens) acq.sensitivities = std::move(*sens);
  validate_acquisition(acq);
  solvers::validate_multicoil(acq);
  return acq;
}

std::unique_ptr<Reconstructor> make_trajectory_reconstructor(const std::string& method, const ReconOptions& o,
                                                             Acquisition& acq) {
  require(!o.lambda_l, "--lambda-l (lambda_l, l+s) does not apply to trajectory methods");
  const auto source = checked_common_options(method, o);
  if (method == "gridding") return std::make_unique<solvers::GriddingReconstructor>();
  if (method == "cg-sense")
    return std::make_unique<solvers::CgSenseReconstructor>(
        solvers::CgSenseOptions{.iterations = o.iterations.value_or(30), .lambda = o.lambda.value_or(0.0)}, source);
  if (method == "cs-tv" || method == "bart-pics") {
    if (acq.coils() > 1 && !acq.sensitivities) acq.sensitivities = solvers::resolve_maps(acq, source);
    return solvers::make_classical_reconstructor(
        method, {.lambda = o.lambda, .lambda_t = o.lambda_t.value_or(0.0), .iterations = o.iterations});
  }
  // Trajectory cines: the sliding window (linear in time: a real-time acquisition).
  if (method == "view-sharing") return std::make_unique<solvers::ViewSharingReconstructor>(false, o.sliding_window);
  if (method == "bart-nufft-inverse")
    return std::make_unique<solvers::BartNufftInverseReconstructor>(o.lambda.value_or(0.0));
  if (method == "radial-interpolation")
    return std::make_unique<solvers::RadialInterpolationReconstructor>(/*bicubic=*/true);
  // Trained networks through the model registry: nufft-modl, and unet on the gridding image; the Cartesian
  // networks refuse a trajectory with their own error.
  if (!classical_method(method)) return make_network_reconstructor(method, o.weights);
  throw Error("method " + method + " reconstructs Cartesian k-space; with a trajectory (--traj) use gridding, cg-sense, "
              "cs-tv, bart-pics, bart-nufft-inverse, radial-interpolation, view-sharing, unet, nufft-modl, "
              "crnn or residual-unet-3d");
}

}  // namespace reconlab::tool
