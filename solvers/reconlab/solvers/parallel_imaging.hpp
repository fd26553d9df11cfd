#pragma once
/// @file parallel_imaging.hpp
/// The parallel-imaging methods as reconlab::Reconstructor, for multi-coil Cartesian acquisitions:
/// CG-SENSE, GRAPPA, multi-coil CS with TV and with wavelet-L1, and BART pics with ESPIRiT maps.
/// Input: Acquisition with k-space (nx, ny, coils, frames, 1) (centred, zero where not acquired), a mask of one
/// plane or one per frame, and optional sensitivities (nx, ny, coils, 1, 1); when absent, SENSE-based methods
/// estimate them (ESPIRiT via `bart ecalib`, or our low-resolution estimate, coil_maps.hpp), from the time-averaged
/// k-space when there are frames. Output: the coil-combined complex image (nx, ny, 1, frames, 1), in the units of
/// S^H F^H y (maps normalised, so |image| ~ the RSS image). CG-SENSE and CS (TV, wavelet) reconstruct frames (each
/// frame with its own mask; TV without a temporal term); GRAPPA (RSS of its completed coil images, real) and BART
/// pics take one frame and a 0/1 mask and say so otherwise.
#include <memory>
#include <tuple>
#include <utility>
#include <string>

#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/solvers/cg_sense.hpp"
#include "reconlab/solvers/coil_maps.hpp"
#include "reconlab/solvers/cs_sense.hpp"
#include "reconlab/solvers/grappa.hpp"
#include "reconlab/solvers/gridding.hpp"

namespace reconlab::solvers {

/// Time average of multi-frame k-space `y` (nx, ny, coils, frames, 1) sampled by `mask` (nx, ny, 1, frames or 1,
/// 1): each location averaged over the frames whose mask sampled it. Returns the averaged k-space
/// (nx, ny, coils, 1, 1) and the union mask (nx, ny, 1, 1, 1).
inline std::pair<CArray, RArray> time_average(const CArray& y, const RArray& mask) {
  const Dims d = dims_of(y), md = dims_of(mask);
  const Index plane = d[0] * d[1];
  CArray avg(d[0], d[1], d[2], 1, 1);
  avg.setZero();
  RArray count(d[0], d[1], 1, 1, 1), uni(d[0], d[1], 1, 1, 1);
  count.setZero();
  for (Index f = 0; f < d[3]; ++f) {
    const float* m = mask.data() + (md[3] == 1 ? 0 : f) * plane;
    for (Index i = 0; i < plane; ++i) count.data()[i] += m[i];
    for (Index c = 0; c < d[2]; ++c)
      for (Index i = 0; i < plane; ++i) avg.data()[c * plane + i] += y.data()[(f * d[2] + c) * plane + i];
  }
  for (Index i = 0; i < plane; ++i) {
    uni.data()[i] = count.data()[i] > 0 ? 1.f : 0.f;
    const float s = count.data()[i] > 0 ? 1.f / count.data()[i] : 0.f;
    for (Index c = 0; c < d[2]; ++c) avg.data()[c * plane + i] *= s;
  }
  return {avg, uni};
}

/// Where SENSE methods take their maps from when the acquisition has none.
enum class MapsSource { Ecalib, LowRes };

/// Human-readable name of a maps source (for parameters() and manifests).
inline std::string to_string(MapsSource s) { return s == MapsSource::Ecalib ? "bart ecalib (ESPIRiT)" : "low-resolution ACS"; }

/// Checks a multi-coil acquisition: validate_acquisition (frames allowed, one batch entry) and (when present) maps
/// that fit the k-space (require_maps_fit: same size and coil count). Throws Error naming the problem.
inline void validate_multicoil(const Acquisition& acq) {
  validate_acquisition(acq);
  const Dims d = dims_of(acq.kspace);
  if (!acq.cartesian()) {  // maps on the image grid (validate_acquisition checked their size)
    if (acq.sensitivities) {
      require(acq.sensitivities->dimension(2) == d[2], "coil counts disagree: k-space has " + std::to_string(d[2]) +
                                                         " coils, sensitivity maps have " +
                                                         std::to_string(acq.sensitivities->dimension(2)));
      require_finite(*acq.sensitivities, "sensitivity maps");
    }
    return;
  }
  if (acq.sensitivities) {
    require_maps_fit(d, dims_of(*acq.sensitivities));
    require_finite(*acq.sensitivities, "sensitivity maps");
  }
}

/// The acquisition's maps, or an estimate from its ACS region (trajectories: from the gridded centre of k-space,
/// gridded_calibration); `command` receives the bart command (or a
/// description of the estimate). Throws Error as validate_multicoil, find_acs and ecalib_maps do.
inline CArray resolve_maps(const Acquisition& acq, MapsSource source, std::string* command = nullptr) {
  validate_multicoil(acq);
  if (acq.sensitivities) {
    if (command) *command = "given";
    return *acq.sensitivities;
  }
  CArray y;
  RArray mask;
  std::string how;
  if (!acq.cartesian()) {
    // Trajectories: the gridded, fully sampled centre of k-space (gridding.hpp) as Cartesian ACS data.
    std::tie(y, mask) = gridded_calibration(acq);
    how = " from the gridded k-space centre (" + std::to_string(find_acs(mask).nx) + " x " +
          std::to_string(find_acs(mask).ny) + " cells)";
  } else {
    y = EigenFftw::multiply_mask(acq.mask(), acq.kspace);
    mask = acq.mask();
    if (acq.frames() > 1) {
      // Dynamic data: maps from the time-averaged k-space (each location averaged over the frames that sampled
      // it; the union of the frames' masks), as in TSENSE (Kellman et al., MRM 45 (2001) 846-852).
      std::tie(y, mask) = time_average(y, acq.mask());
      how = " from the time-averaged k-space";
    }
  }
  if (source == MapsSource::Ecalib) {
    EcalibResult r = ecalib_maps(y, &mask);
    if (command) *command = r.command + how;
    return r.maps;
  }
  if (command) *command = "lowres_maps(threshold 0.05)" + how;
  return lowres_maps(y, mask);
}

/// Maximum of the RSS of the zero-filled coil images: the scale CS lambdas are relative to.
inline float zero_filled_rss_max(const Acquisition& acq) {
  const RArray r = rss(EigenFftw::ifft2c(EigenFftw::multiply_mask(acq.mask(), acq.kspace)));
  Eigen::Tensor<float, 0> mx = r.maximum();
  return mx() > 0 ? mx() : 1.0f;
}

/// CG-SENSE (cg_sense.hpp). Parameters recorded: iterations, lambda, maps source (and the ecalib command).
class CgSenseReconstructor : public Reconstructor {
 public:
  explicit CgSenseReconstructor(CgSenseOptions opt = {}, MapsSource maps = MapsSource::Ecalib, std::string name = "cg-sense")
      : opt_(opt), maps_(maps), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override {
    return {{"iterations", opt_.iterations}, {"lambda", opt_.lambda}, {"maps", to_string(maps_)}, {"maps_command", command_},
            {"trajectories", "density-weighted least squares (Pipe-Menon weights)"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    if (!acq.cartesian()) {
      // Trajectories: density-weighted least squares through the NUFFT (Toeplitz normal, gridding.hpp's
      // density_weighted_model), with maps unless single-coil.
      Acquisition a = acq;
      if (acq.coils() > 1 || acq.sensitivities) a.sensitivities = resolve_maps(acq, maps_, &command_);
      else command_ = "single-coil (no maps)";
      validate_multicoil(a);
      const WeightedModel m = density_weighted_model(a);
      return cg_least_squares<EigenFftw>(m.A, m.y, opt_, &status_);
    }
    const CArray maps = resolve_maps(acq, maps_, &command_);
    return cg_sense<EigenFftw>(EigenFftw::multiply_mask(acq.mask(), acq.kspace), acq.mask(), maps, opt_, &status_);
  }
  const SolverStatus& status() const { return status_; }

 private:
  CgSenseOptions opt_;
  MapsSource maps_;
  std::string name_, command_;
  SolverStatus status_;
};

/// GRAPPA (grappa.hpp) followed by the RSS of the completed coil images. Line masks only.
class GrappaReconstructor : public Reconstructor {
 public:
  explicit GrappaReconstructor(GrappaOptions opt = {}) : opt_(opt) {}
  std::string name() const override { return "grappa"; }
  nlohmann::json parameters() const override {
    return {{"lines_per_side", opt_.lines_per_side}, {"kernel_width", opt_.kernel_width}, {"lambda", opt_.lambda},
            {"combination", "RSS"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_multicoil(acq);
    require_single_frame(acq, "grappa");
    require_binary_mask(acq, "grappa");
    const CArray k = grappa(EigenFftw::multiply_mask(acq.mask(), acq.kspace), acq.mask(), opt_);
    return to_complex(rss(EigenFftw::ifft2c(k)));
  }

 private:
  GrappaOptions opt_;
};

/// Multi-coil CS (cs_sense.hpp) with TV ("cs-tv") or Haar wavelet-L1 ("cs-wavelet"). `lambda` is relative to the
/// maximum of the zero-filled RSS image (k-space is scaled so that it is 1, and the result scaled back).
class CsSenseReconstructor : public Reconstructor {
 public:
  enum class Penalty { TV, Wavelet };
  CsSenseReconstructor(Penalty penalty, double lambda, int iterations, MapsSource maps = MapsSource::Ecalib)
      : penalty_(penalty), lambda_(lambda), iterations_(iterations), maps_(maps) {}
  std::string name() const override { return penalty_ == Penalty::TV ? "cs-tv" : "cs-wavelet"; }
  nlohmann::json parameters() const override {
    return {{"lambda", lambda_}, {"iterations", iterations_}, {"maps", to_string(maps_)}, {"maps_command", command_},
            {"scale", "k-space divided by the zero-filled RSS maximum"},
            {"solver", penalty_ == Penalty::TV ? "PDHG (Chambolle-Pock 2011 Alg. 1), primal-dual residual stop" : "FISTA (Beck-Teboulle 2009), Haar 4 levels, seeded cycle spinning"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    const CArray maps = resolve_maps(acq, maps_, &command_);
    const float scale = zero_filled_rss_max(acq);
    const CArray y = EigenFftw::multiply_mask(acq.mask(), acq.kspace) * cfloat(1.0f / scale);
    SenseOperator<EigenFftw> A(acq.mask(), maps);
    CArray start(acq.kspace.dimension(0), acq.kspace.dimension(1), 1, acq.frames(), 1);
    start.setConstant(cfloat(1, 0));
    const double norm2 = 1.05 * operator_norm_squared<EigenFftw>(A, start, 20);
    CArray x = penalty_ == Penalty::TV
                   ? cs_tv(A, y, norm2, {.lambda = lambda_, .max_iterations = iterations_}, &status_)
                   : cs_wavelet_operator(A, y, norm2, {.lambda = lambda_, .max_iterations = iterations_}, &status_);
    CArray out = x * cfloat(scale);
    return out;
  }
  const SolverStatus& status() const { return status_; }

 private:
  Penalty penalty_;
  double lambda_;
  int iterations_;
  MapsSource maps_;
  std::string command_;
  SolverStatus status_;
};

/// BART `pics` with ESPIRiT maps (`bart ecalib -m 1`, unless the acquisition has maps) and a TV ("T"), wavelet
/// ("W") or l2 regulariser: `bart pics -S -i N -R T:3:0:lambda` / `-R W:3:0:lambda` / `-l2 -r lambda`.
/// Both command lines are kept (parameters()). Uecker et al., BART, doi:10.5281/zenodo.592960.
class BartPicsSenseReconstructor : public Reconstructor {
 public:
  BartPicsSenseReconstructor(std::string reg, double lambda, int iterations)
      : reg_(std::move(reg)), lambda_(lambda), iterations_(iterations) {
    require(reg_ == "T" || reg_ == "W" || reg_ == "l2", "bart pics: regulariser must be T, W or l2, got " + reg_);
  }
  std::string name() const override {
    return reg_ == "T" ? "bart-pics-tv" : reg_ == "W" ? "bart-pics-wavelet" : "bart-pics-l2";
  }
  nlohmann::json parameters() const override {
    return {{"lambda", lambda_}, {"iterations", iterations_}, {"maps_command", maps_command_}, {"command", command_}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    require_single_frame(acq, name());
    require_binary_mask(acq, name());
    const CArray maps = resolve_maps(acq, MapsSource::Ecalib, &maps_command_);
    const CArray y = EigenFftw::multiply_mask(acq.mask(), acq.kspace);
    std::ostringstream lam;
    lam << lambda_;
    std::vector<std::string> args = {"-S", "-i", std::to_string(iterations_)};
    if (reg_ == "l2")
      args.insert(args.end(), {"-l2", "-r", lam.str()});
    else
      args.insert(args.end(), {"-R", reg_ + ":3:0:" + lam.str()});
    BartResult r = run_bart("pics", args, {{"kspace", &y}, {"sens", &maps}});
    command_ = r.command;
    const Dims d = dims_of(y), od = dims_of(r.output);
    require(od[0] == d[0] && od[1] == d[1] && od[2] == 1, "bart pics returned dims " + dims_string(od));
    CArray out = r.output.reshape(Eigen::array<Index, 5>{d[0], d[1], 1, 1, 1});
    return out;
  }

 private:
  std::string reg_;
  double lambda_;
  int iterations_;
  std::string maps_command_, command_;
};

}  // namespace reconlab::solvers
