// The Cartesian method factory of `reconlab recon` and the Python module; see recon_methods.hpp.
#include "recon_methods.hpp"

#include <algorithm>

#include "methods.hpp"
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

std::unique_ptr<Reconstructor> make_cartesian_reconstructor(const std::string& method, const ReconOptions& o,
                                                            Acquisition& acq) {
  const auto& lambda = o.lambda;
  const auto& lambda_t = o.lambda_t;
  const auto& iterations = o.iterations;
  const bool multicoil = acq.coils() > 1;
  require(o.maps_source == "lowres" || o.maps_source == "ecalib",
          "maps source must be lowres or ecalib, got '" + o.maps_source + "'");
  const auto source = o.maps_source == "ecalib" ? solvers::MapsSource::Ecalib : solvers::MapsSource::LowRes;
  const bool sr_method = method == "zero-padding" || method == "bicubic" || method == "tv-sr";
  require(!sr_method || acq.low_resolution != LowResolution::none,
          "method " + method + " is a super-resolution method: give --upscale S (a low-resolution acquisition)");
  require(!lambda_t || method == "cs-tv" || method == "bart-pics",
          "--lambda-t applies to cs-tv and bart-pics (k-t TV; lambda_t in Python), not method " + method);
  require(!lambda_t || *lambda_t >= 0, "--lambda-t (lambda_t) must be >= 0");
  require(!o.lambda_l || method == "l+s", "--lambda-l (lambda_l) applies to method l+s");
  using CsPenalty = solvers::CsSenseReconstructor::Penalty;
  if (method == "gridding" || method == "bart-nufft-inverse" || method == "radial-interpolation")
    throw Error("method " + method + " reconstructs trajectory acquisitions: give --traj");
  if (method == "zero-padding") return std::make_unique<solvers::ZeroPaddingReconstructor>();
  if (method == "bicubic") return std::make_unique<solvers::BicubicReconstructor>();
  if (method == "tv-sr") {
    require(!multicoil || acq.sensitivities,
            "method tv-sr on multi-coil k-space needs coil maps on the high-resolution grid (--sens)");
    return std::make_unique<solvers::CsTvReconstructor>(solvers::CsTvOptions{
        .lambda = lambda.value_or(2e-3), .max_iterations = iterations.value_or(solvers::CsTvOptions{}.max_iterations)});
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
    if (method == "cs-tv")
      return std::make_unique<solvers::CsTvReconstructor>(
          solvers::CsTvOptions{.lambda = lambda.value_or(2e-3),
                               .lambda_t = *lambda_t,
                               .max_iterations = iterations.value_or(solvers::CsTvOptions{}.max_iterations)});
    return std::make_unique<solvers::BartPicsReconstructor>(solvers::BartPicsOptions{
        .lambda = lambda.value_or(0.005), .iterations = iterations.value_or(100), .lambda_t = *lambda_t});
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
  if (method == "zero-filled") return std::make_unique<solvers::ZeroFilledReconstructor>();
  if (method == "rof")
    return std::make_unique<solvers::RofReconstructor>(
        solvers::RofOptions{.weight = lambda.value_or(0.05), .max_iterations = iterations.value_or(200)});
  if (method == "cs-tv")
    return std::make_unique<solvers::CsTvReconstructor>(
        solvers::CsTvOptions{.lambda = lambda.value_or(2e-3),
                             .lambda_t = lambda_t.value_or(0.0),
                             .max_iterations = iterations.value_or(solvers::CsTvOptions{}.max_iterations)});
  if (method == "bart-pics")
    return std::make_unique<solvers::BartPicsReconstructor>(solvers::BartPicsOptions{
        .lambda = lambda.value_or(0.01), .iterations = iterations.value_or(100), .lambda_t = lambda_t.value_or(0.0)});
  throw Error("unknown method " + method);
}

}  // namespace reconlab::tool
