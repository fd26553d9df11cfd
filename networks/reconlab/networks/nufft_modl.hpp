#pragma once
/// @file nufft_modl.hpp
/// NUFFT-MoDL: MoDL's unrolled network with non-Cartesian data consistency (CG on the density-weighted Toeplitz
/// normal of the NUFFT, torch_nufft.hpp), for single- and multi-coil trajectory acquisitions; its Reconstructor
/// and the conversion of trajectory acquisitions into the trainer's typed Batch.
///
/// Method: H. K. Aggarwal, M. P. Mani, M. Jacob, "MoDL: Model-based deep learning architecture for inverse
/// problems", IEEE TMI 38(2), 2019, eq. 9-10, with the forward model of non-Cartesian SENSE, A = N S (N the NUFFT,
/// S the coil maps) weighted by the sampling density W (Pruessmann et al., MRM 46, 2001, "Density correction"):
///   x_0 = S^H N^H W y (the gridding reconstruction, density-compensated adjoint);
///   for k = 1..K: z_k = x_{k-1} + D_w(x_{k-1}) (ResidualCnn on (Re, Im), shared by all iterations),
///                x_k = (S^H N^H W N S + lambda I)^{-1} (S^H N^H W y + lambda P z_k)
/// by the one CG (solvers/cg.hpp; cg_iterations steps, started at z_k; the step is nufft_dc.hpp's
/// NufftDataConsistency, shared with the radial cine networks), the normal N^H W N by the Toeplitz
/// embedding; lambda > 0 learned (log-parametrised); P z keeps z on the maps' support (sum_c |s_c|^2 > 0), where
/// the SENSE model places the object (outside it the DC would return the CNN's output unchecked). W: Pipe-Menon's density (MRM 41, 1999) of each trajectory,
/// computed by the network (the acquisition's own density is not used: the network is trained with Pipe-Menon's).
///
/// Units: the Batch's k-space is y * s with s = 1 / max|x_0| (so the network's initial image has maximum 1); the
/// targets are |x_true| * s, and the Reconstructor divides by s.
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/data_consistency.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/nufft_dc.hpp"
#include "reconlab/networks/torch_nufft.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/cg.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"

namespace reconlab::networks {

/// The input convention of model.json for "nufft-modl" (checked on load).
inline constexpr const char* kTrajectoryInput =
    "samples * 1/max|gridding| (B, 1, C, spokes, samples), trajectory (cycles/FOV), maps (ones for one coil)";

/// Options of NufftModlImpl (defaults: the quick preset of the radial brain study).
struct NufftModlOptions {
  int64_t iterations = 4;     ///< K unrolled iterations (MoDL: 10)
  int64_t cg_iterations = 5;  ///< CG steps per DC (MoDL: 10)
  int64_t conv_layers = 5;    ///< layers of D_w (MoDL: 5)
  int64_t features = 32;      ///< features of D_w (MoDL: 64)
  double lambda_init = 0.05;  ///< initial lambda (> 0)
  int width = 6;              ///< NUFFT kernel width (nufft.hpp)
  double oversampling = 2.0;  ///< NUFFT grid oversampling (nufft.hpp)
};

/// NUFFT-MoDL (file comment). forward(const Batch&) -> magnitude float32 (B, 1, H, W); reconstruct(Batch) ->
/// complex (B, 1, 1, H, W). The Batch (batch.hpp, non-Cartesian form) holds samples (B, 1, C, Y, S), trajectory
/// (B or 1, 1, Y, S, 2) and maps (B or 1, 1, C, H, W). The operators of the last 8 trajectories are cached (their
/// construction, with Pipe-Menon's density, costs tens of ms at 256^2).
class NufftModlImpl : public torch::nn::Module {
 public:
  /// Throws Error if iterations or cg_iterations < 1, lambda_init <= 0, or as ResidualCnn / NufftOptions.
  explicit NufftModlImpl(const NufftModlOptions& o = {}) : options_(o) {
    require(o.iterations >= 1 && o.cg_iterations >= 1, "nufft-modl: iterations and cg_iterations must be >= 1");
    require(o.lambda_init > 0 && std::isfinite(o.lambda_init), "nufft-modl: lambda_init must be finite and > 0");
    cnn_ = register_module("cnn", ResidualCnn(o.conv_layers, o.features));
    log_lambda_ = register_parameter("log_lambda", torch::full({}, std::log(o.lambda_init)));
    dc_ = NufftDataConsistency(o.width, o.oversampling);
  }

  /// x_0 = S^H N^H W y per sample: complex (B, 1, 1, H, W). Throws Error for a batch without samples, trajectory
  /// or maps, or of inconsistent shapes.
  torch::Tensor initial(const Batch& b) {
    check(b);
    return dc_.gridding(b);
  }

  /// The reconstruction (file comment): complex (B, 1, 1, H, W).
  torch::Tensor reconstruct(const Batch& b) {
    check(b);
    auto x = dc_.gridding(b);
    const auto lambda = torch::exp(log_lambda_);
    for (int64_t k = 0; k < options_.iterations; ++k) {
      auto z = channels_to_complex(cnn_->forward(complex_to_channels(x)));
      x = dc_.solve(b, z, lambda, static_cast<int>(options_.cg_iterations));
    }
    return x;
  }
  /// Magnitude (B, 1, H, W) of the reconstruction (what the trainer compares with the targets).
  torch::Tensor forward(const Batch& b) { return magnitude(reconstruct(b)); }

  /// The learned lambda.
  double lambda() const { return std::exp(log_lambda_.item<double>()); }
  const NufftModlOptions& options() const { return options_; }

 private:
  void check(const Batch& b) const {
    NufftDataConsistency::check(b, "nufft-modl");
    require(b.kspace.size(1) == 1, "nufft-modl: reconstructs one frame per sample, the batch has " +
                                       std::to_string(b.kspace.size(1)));
  }

  NufftModlOptions options_;
  ResidualCnn cnn_{nullptr};
  torch::Tensor log_lambda_;
  NufftDataConsistency dc_;
};
TORCH_MODULE(NufftModl);

/// model.json of a NufftModl ("architecture": "nufft-modl").
inline nlohmann::json network_json(const NufftModlOptions& o) {
  return {{"architecture", "nufft-modl"}, {"iterations", o.iterations}, {"cg_iterations", o.cg_iterations},
          {"conv_layers", o.conv_layers},  {"features", o.features},     {"lambda_init", o.lambda_init},
          {"width", o.width},              {"oversampling", o.oversampling}, {"input", kTrajectoryInput}};
}

/// A single-frame trajectory acquisition as a one-sample Batch and its scale: trajectory_sample (nufft_dc.hpp).
/// Throws Error for a Cartesian or multi-frame acquisition and as trajectory_sample.
inline TrajectoryInput trajectory_input(const Acquisition& acq) {
  validate_acquisition(acq);
  require(acq.cartesian() || acq.frames() == 1, "nufft-modl reconstructs one frame; the acquisition has " +
                                                     std::to_string(acq.frames()));
  return trajectory_sample(acq, "nufft-modl");
}

/// Training pairs from trajectory acquisitions that share one trajectory and one set of maps: the Batch of
/// trajectory_input per acquisition, stacked, with targets |truth_i| * s_i (B, 1, H, W). `truths[i]`: the magnitude
/// (nx, ny, 1, 1, 1). Throws Error when the acquisitions differ in trajectory, coil count or image size, and as
/// trajectory_input.
inline Batch trajectory_training_batch(const std::vector<Acquisition>& acqs, const std::vector<RArray>& truths) {
  require(!acqs.empty() && acqs.size() == truths.size(), "trajectory_training_batch: one truth per acquisition");
  std::vector<torch::Tensor> ks, ts;
  Batch out;
  for (std::size_t i = 0; i < acqs.size(); ++i) {
    TrajectoryInput in = trajectory_input(acqs[i]);
    if (i == 0) {
      out.trajectory = in.batch.trajectory, out.maps = in.batch.maps;
    } else {
      require(torch::equal(*in.batch.trajectory, *out.trajectory) && in.batch.maps->sizes() == out.maps->sizes(),
              "trajectory_training_batch: the acquisitions must share one trajectory and map size");
    }
    const Dims td = dims_of(truths[i]);
    require(td[0] == out.maps->size(4) && td[1] == out.maps->size(3) && td[2] == 1 && td[3] == 1,
            "trajectory_training_batch: truth " + dims_string(td) + " does not fit the image grid");
    ks.push_back(in.batch.kspace);
    ts.push_back(Torch::from_eigen(RArray(truths[i] * in.scale)).select(1, 0));  // (1, 1, H, W)
  }
  out.kspace = torch::cat(ks, 0);
  out.target = torch::cat(ts, 0);
  return out;
}

/// The input convention of NufftModlReconstructor, a trained NufftModl as a Reconstructor: a single-frame trajectory acquisition (any coil count) in, the complex
/// coil-combined image (nx, ny, 1, 1, 1) in the acquisition's units out. Throws Error as trajectory_input.
/// Loaded from final.pt and model.json by the registry ("nufft-modl").
struct NufftModlInput {
  static constexpr const char* name = "nufft-modl";
  std::pair<Batch, float> operator()(const Acquisition& acq) const {
    TrajectoryInput in = trajectory_input(acq);
    return {std::move(in.batch), in.scale};
  }
};
using NufftModlReconstructor = LearnedLambdaReconstructor<NufftModl, NufftModlInput>;

}  // namespace reconlab::networks
