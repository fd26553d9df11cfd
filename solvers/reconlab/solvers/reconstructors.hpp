#pragma once
/// @file reconstructors.hpp
/// The classical methods as reconlab::Reconstructor: zero-filled, ROF on zero-filled, CS-TV and BART pics TV.
/// Inputs follow reconlab::Acquisition (centred k-space, mask 0/1 of dims (nx, ny, 1, 1, 1)).
#include <memory>
#include <optional>
#include <string>

#include "reconlab/forward_model.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/fista.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/rof.hpp"

namespace reconlab::solvers {

/// Zero-filled reconstruction: F^H (M y) for single-coil k-space; for multi-coil k-space the root-sum-of-squares
/// of the per-coil zero-filled images (a real image; sensitivity maps are not used). Frames are reconstructed
/// one by one, each with its own mask plane when the mask has one per frame (k-t sampling).
/// Low-resolution acquisitions with k-space truncation give the zero-padded (sinc) image A^H y on image_dims.
/// Output dims (nx, ny, 1, frames, 1). Throws Error as validate_acquisition, for a trajectory and for block-average
/// low-resolution acquisitions (whose adjoint is not an image: use super_resolution.hpp's zero-padding or bicubic).
inline CArray zero_filled(const Acquisition& acq) {
  require(acq.low_resolution != LowResolution::block_average,
          "zero-filled: a block-average low-resolution acquisition has no zero-filled image (A^H y replicates "
          "pixels divided by s^2); use zero-padding or bicubic");
  const auto A = forward_model<EigenFftw>(acq, /*use_maps=*/false);
  CArray img = A.adjoint(acq.kspace);
  if (acq.coils() == 1) return img;
  return to_complex(rss(img));
}

/// Throws Error unless the acquisition is single-coil (any number of frames).
inline void require_single_coil(const Acquisition& acq, const std::string& method) {
  require(acq.coils() == 1, method + ": single-coil k-space expected, got " + std::to_string(acq.coils()) +
                                " coils (dims " + dims_string(dims_of(acq.kspace)) + ")");
}

/// Zero-filled: the adjoint of the sampling operator (the inverse FFT with zeros where not acquired).
class ZeroFilledReconstructor : public Reconstructor {
 public:
  std::string name() const override { return "zero-filled"; }
  nlohmann::json parameters() const override { return nlohmann::json::object(); }
  CArray reconstruct(const Acquisition& acq) override { return zero_filled(acq); }
};

/// ROF / TV denoising (Chambolle 2004) of the zero-filled magnitude image. `weight` is relative to the
/// zero-filled image's maximum (the image is scaled to [0, 1] before denoising and scaled back), so one weight
/// serves data of any intensity units. Returns a real image (zero imaginary part).
class RofReconstructor : public Reconstructor {
 public:
  explicit RofReconstructor(RofOptions opt) : opt_(opt) {}
  std::string name() const override { return "rof"; }
  nlohmann::json parameters() const override {
    return {{"weight", opt_.weight}, {"max_iterations", opt_.max_iterations}, {"tolerance", opt_.tolerance},
            {"stop", "duality gap <= tolerance x energy"},
            {"scale", "zero-filled magnitude divided by its maximum"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    RArray mag = zero_filled(acq).abs();
    Eigen::Tensor<float, 0> mx = mag.maximum();
    const float scale = mx() > 0 ? mx() : 1.0f;
    RArray f = mag * (1.0f / scale);
    RArray u = rof_denoise(f, opt_, &status_);
    RArray out = u * scale;
    return to_complex(out);
  }
  const SolverStatus& status() const { return status_; }

 private:
  RofOptions opt_;
  SolverStatus status_;
};

/// Compressed sensing with TV (the one PDHG, see cs_tv.hpp), one frame or many: with frames, spatial TV per frame
/// plus, when lambda_t > 0, temporal TV (k-t TV). Single-coil: A = M F. Multi-coil: A = M F S with the
/// acquisition's sensitivity maps (multi-coil k-space without maps is refused). `lambda` and `lambda_t` are
/// relative to the maximum magnitude of A^H y (the zero-filled image; coil-combined with S^H for multi-coil; the
/// problem is solved on k-space scaled so that this maximum is 1, and the result scaled back), so one lambda
/// serves data of any units. PDHG's steps use the bound ||A||^2 <= max(mask)^2 x max over pixels of
/// sum_c |s_c|^2 (F unitary, S pointwise; = max(mask)^2 single-coil), so sigma tau ||K||^2 <= 1 holds and the
/// primal-dual residual stop applies (pdhg.hpp). Trajectory acquisitions use the density-weighted model
/// A = W^(1/2) N (S), y' = W^(1/2) y (gridding.hpp's density_weighted_model; lambda relative to the maximum of
/// A^H y'), with ||A||^2 from 30 power iterations x 1.05. Throws Error as validate_acquisition, for a mask per coil and for
/// multi-coil k-space without maps. Low-resolution acquisitions (acquisition.hpp's LowResolution) use
/// A = M F_l D (forward_model.hpp): TV super-resolution ("tv-sr", super_resolution.hpp); block averages are solved
/// on s M F_l B with data s y (||s B|| = 1), the same minimiser with lambda / s^2 on the unscaled data term.
class CsTvReconstructor : public Reconstructor {
 public:
  explicit CsTvReconstructor(CsTvOptions opt) : opt_(opt) {}
  std::string name() const override { return "cs-tv"; }
  nlohmann::json parameters() const override {
    return {{"lambda", opt_.lambda}, {"lambda_t", opt_.lambda_t}, {"max_iterations", opt_.max_iterations},
            {"tolerance", opt_.tolerance}, {"scale", "k-space divided by the zero-filled image's maximum magnitude"},
            {"solver", "PDHG (Chambolle-Pock 2011, Algorithm 1), primal-dual residual stop"},
            {"trajectories", "density-weighted data term 0.5 ||W^(1/2) (N S x - y)||^2 (Pipe-Menon weights)"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    require(acq.coils() == 1 || acq.sensitivities.has_value(),
            "cs-tv: multi-coil k-space (" + std::to_string(acq.coils()) +
                " coils) needs sensitivity maps (give --sens or estimate them)");
    if (acq.cartesian())
      require(acq.mask().dimension(2) == 1,
              "cs-tv: the mask must be shared by all coils, got " + dims_string(dims_of(acq.mask())));
    // Trajectories: the density-weighted model (gridding.hpp): ||A'||^2 ~ 1 at any spoke count, where the
    // unweighted N's norm grows with the radial over-sampling of the centre and PDHG's steps shrink with it.
    std::optional<WeightedModel> wm;
    if (!acq.cartesian()) wm = density_weighted_model(acq);
    AnyOperator<CArray> A = wm ? wm->A : forward_model<EigenFftw>(acq);
    CArray data = wm ? wm->y : acq.kspace;
    // Block-average low-resolution acquisitions (TV super-resolution): the model s M F_l B and the data s y, so
    // ||s B|| = 1 and PDHG's steps are those of k-space truncation (the same minimiser as lambda / s^2 on the
    // unscaled data term; lambda stays relative to the maximum of the scaled model's A^H y).
    if (acq.low_resolution == LowResolution::block_average) {
      const cfloat s(float(acq.resolution_factor()));
      A = AnyOperator<CArray>(Composed(ScaledIdentity<EigenFftw>(s), A));
      data = data * s;
    }
    CArray zf = A.adjoint(data);
    Eigen::Tensor<float, 0> mx = zf.abs().maximum();
    const float scale = mx() > 0 ? mx() : 1.0f;
    double norm_a2 = 0;
    CArray y;
    if (acq.cartesian()) {
      // y in A's range (zero where not acquired), scaled.
      y = EigenFftw::multiply_mask(acq.mask(), data) * cfloat(1.0f / scale);
      Eigen::Tensor<float, 0> mmax = acq.mask().maximum();  // ||M F|| = max weight <= 1
      // Low-resolution acquisitions: ||D|| = 1 for k-space truncation (D D^H = I) and ||s B|| = 1 above.
      norm_a2 = double(mmax()) * double(mmax()) * (acq.sensitivities ? max_coil_power(*acq.sensitivities) : 1.0);
    } else {
      // Trajectory: the density-weighted samples; ||W^(1/2) N S||^2 by power iteration (x 1.05 for its
      // underestimate).
      y = data * cfloat(1.0f / scale);
      norm_a2 = 1.05 * operator_norm_squared<EigenFftw>(A, CArray(zf * cfloat(1.0f / scale)), 30);
    }
    CArray x = cs_tv(A, y, norm_a2, opt_, &status_);
    CArray out = x * cfloat(scale);
    return out;
  }
  const SolverStatus& status() const { return status_; }

 private:
  CsTvOptions opt_;
  SolverStatus status_;
};

/// BART `pics` with TV (bart.hpp): single-coil (sensitivities all ones) or multi-coil with the acquisition's
/// sensitivity maps, one frame or a cine: frames go to BART's TIME_DIM 10 and, with lambda_t > 0, the command
/// has -R T:1024:0:lambda_t (temporal TV) besides the spatial -R T:3:0:lambda; per-frame masks are passed as the
/// zeros of the masked k-space (BART infers each frame's pattern). With `zero_filled_scale`, BART is given
/// -w = the maximum magnitude of A^H y (the zero-filled image, S^H-combined with maps), the scale
/// CsTvReconstructor divides by, so lambda and lambda_t weigh the same problem as cs-tv's; otherwise BART
/// estimates its own scale. The command line of the last call is kept for the results' manifest (parameters()).
/// Output dims (nx, ny, 1, frames, 1). Throws Error as validate_acquisition, for sampling weights, a mask per
/// coil, multi-coil k-space without maps, and when bart fails or is missing.
class BartPicsReconstructor : public Reconstructor {
 public:
  explicit BartPicsReconstructor(BartPicsOptions opt, bool zero_filled_scale = false)
      : opt_(opt), zero_filled_scale_(zero_filled_scale) {}
  std::string name() const override { return "bart-pics"; }
  nlohmann::json parameters() const override {
    return {{"lambda", opt_.lambda},         {"lambda_t", opt_.lambda_t},
            {"iterations", opt_.iterations}, {"rescale", opt_.rescale},
            {"zero_filled_scale", zero_filled_scale_}, {"command", last_command_}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    require(acq.coils() == 1 || acq.sensitivities.has_value(),
            "bart-pics: multi-coil k-space (" + std::to_string(acq.coils()) + " coils) needs sensitivity maps");
    BartPicsOptions o = opt_;
    if (zero_filled_scale_) {
      const CArray zf = forward_model<EigenFftw>(acq).adjoint(acq.kspace);
      Eigen::Tensor<float, 0> mx = zf.abs().maximum();
      o.inverse_scaling = mx() > 0 ? double(mx()) : 1.0;
    }
    // Maps, or ones on the image grid for single-coil data.
    const Dims id = acq.resolved_image_dims();
    CArray sens(id[0], id[1], 1, 1, 1);
    if (acq.sensitivities) sens = *acq.sensitivities;
    else sens.setConstant(cfloat(1, 0));
    if (!acq.cartesian()) return reconstruct_trajectory(acq, o, sens);
    require_binary_mask(acq, "bart-pics");
    require(acq.mask().dimension(2) == 1,
            "bart-pics: the mask must be shared by all coils, got " + dims_string(dims_of(acq.mask())));
    CArray masked = EigenFftw::multiply_mask(acq.mask(), acq.kspace);
    BartResult r = bart_pics_tv(masked, sens, o);
    last_command_ = r.command;
    return r.output;
  }
  const std::string& last_command() const { return last_command_; }

 private:
  /// Trajectories: `bart pics ... -t traj kspace sens out` with the samples in BART's non-Cartesian layout
  /// [1, S, Y, C, ..., T in dim 10] and the trajectory [3, S, Y, ..., T] (one per frame; a single one repeated),
  /// the image grid from the maps `sens` (ones for single-coil).
  CArray reconstruct_trajectory(const Acquisition& acq, const BartPicsOptions& o, const CArray& sens) {
    const Dims id = acq.resolved_image_dims(), kd = dims_of(acq.kspace);
    const auto [traj, tdims] = bart_trajectory(trajectory_for_frames(acq.trajectory().coords, kd[3]));
    std::vector<std::string> args = bart_pics_args(o);
    args.insert(args.end(), {"-t", "traj"});
    BartResult r = run_bart("pics", args,
                            {BartInput("traj", &traj, tdims, false),
                             BartInput("kspace", &acq.kspace, io::bart_noncartesian_dims(kd)), BartInput("sens", &sens)});
    last_command_ = r.command;
    const Dims od = dims_of(r.output);
    require(od[0] == id[0] && od[1] == id[1] && od[2] == 1 && od[3] == kd[3] && od[4] == 1,
            "bart pics -t returned dims " + dims_string(od) + " for the image grid " + dims_string(id));
    return r.output;
  }

  BartPicsOptions opt_;
  bool zero_filled_scale_;
  std::string last_command_;
};

/// Settings of make_classical_reconstructor; unset values take each method's default.
struct ClassicalOptions {
  /// rof: weight in the image's units (default 0.05); cs-tv: lambda relative to the zero-filled maximum (2e-3);
  /// bart-pics: -r (0.01).
  std::optional<double> lambda = std::nullopt;
  double lambda_t = 0;            ///< temporal TV weight >= 0 of k-t TV (cs-tv, bart-pics); others must leave it 0
  std::optional<int> iterations = std::nullopt;  ///< cap >= 1: rof RofOptions' and cs-tv CsTvOptions' (the duality-gap and
                                  ///< residual criteria stop them), bart-pics 100 (BART's own count)
};

/// The one factory of the classical Reconstructors every front end shares (the built-in studies, `reconlab recon`,
/// TOML studies, the Python module): "zero-filled", "rof" (duality-gap stop), "cs-tv" (PDHG, residual stop; no
/// per-iteration objective is recorded), "bart-pics" (TV). Single- or multi-coil as each reconstructor allows.
/// Throws Error for another name, and for lambda_t on zero-filled or rof.
inline std::unique_ptr<Reconstructor> make_classical_reconstructor(const std::string& method,
                                                                   const ClassicalOptions& o) {
  require(o.lambda_t == 0 || method == "cs-tv" || method == "bart-pics",
          "lambda_t (k-t TV) applies to cs-tv and bart-pics, not " + method);
  if (method == "zero-filled") return std::make_unique<ZeroFilledReconstructor>();
  if (method == "rof")
    return std::make_unique<RofReconstructor>(RofOptions{
        .weight = o.lambda.value_or(0.05), .max_iterations = o.iterations.value_or(RofOptions{}.max_iterations)});
  if (method == "cs-tv")
    return std::make_unique<CsTvReconstructor>(
        CsTvOptions{.lambda = o.lambda.value_or(2e-3),
                    .lambda_t = o.lambda_t,
                    .max_iterations = o.iterations.value_or(CsTvOptions{}.max_iterations),
                    .record_objective = false});
  if (method == "bart-pics")
    return std::make_unique<BartPicsReconstructor>(BartPicsOptions{
        .lambda = o.lambda.value_or(0.01), .iterations = o.iterations.value_or(100), .lambda_t = o.lambda_t});
  throw Error("unknown classical method '" + method + "' (zero-filled | rof | cs-tv | bart-pics)");
}

/// make_classical_reconstructor with the weight w as lambda (the studies' weight searches).
inline std::unique_ptr<Reconstructor> make_classical_reconstructor(const std::string& method, double w) {
  return make_classical_reconstructor(method, ClassicalOptions{.lambda = w});
}

}  // namespace reconlab::solvers
