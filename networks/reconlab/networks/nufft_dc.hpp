#pragma once
/// @file nufft_dc.hpp
/// Non-Cartesian data consistency on torch tensors, shared by every network that reconstructs trajectory
/// acquisitions (NUFFT-MoDL, nufft_modl.hpp; CRNN-MRI and the residual 3D U-Net on radial cines, cine_nets.hpp):
/// the gridding image x_0 = S^H N^H W y and the regularised least-squares step
///   x = (S^H N^H W N S + lambda I)^{-1} (S^H N^H W y + lambda P z)
/// solved by the one CG (solvers/cg.hpp) from z, N^H W N by the Toeplitz embedding (torch_nufft.hpp). N is the
/// NUFFT (Kaiser-Bessel, nufft.hpp), S the coil maps, W the sampling density of Pipe and Menon (MRM 41, 1999)
/// computed here for each trajectory (the density-weighted model of Pruessmann et al., MRM 46, 2001, "Density
/// correction"), P z keeps z on the maps' support (sum_c |s_c|^2 > 0), where the SENSE model places the object
/// (outside it the normal is lambda I and the step would return z unchecked). This is MoDL's DC (Aggarwal, Mani,
/// Jacob, IEEE TMI 38(2), 2019, eq. 9-10) with the NUFFT as the forward model.
///
/// Batch layout (batch.hpp, non-Cartesian form): samples complex64 (B, T, C, Y, S), trajectory float32 (B or 1, T,
/// Y, S, 2) in cycles per FOV, maps complex64 (B or 1, 1, C, H, W) (ones for one coil; they give the image size);
/// images complex64 (B, T, 1, H, W). A trajectory per frame; every frame is its own least-squares problem (W, N
/// and CG act frame by frame; the CG's inner products are taken over the whole tensor, which for independent frames
/// gives a common step per batch, a valid CG on the block-diagonal system).
#include <torch/torch.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/torch_nufft.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/solvers/cg.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/view_sharing.hpp"

namespace reconlab::networks {

/// The gridding image and the CG data consistency of trajectory batches (file comment). Keeps the operators and
/// densities of the last 8 trajectories (building one, with Pipe-Menon's density, costs tens of ms at 256^2 per
/// frame), so it is not thread-safe: one per network.
class NufftDataConsistency {
 public:
  /// NUFFT kernel width (4..6) and grid oversampling ([1.25, 2]); checked when an operator is first built.
  explicit NufftDataConsistency(int width = 6, double oversampling = 2.0) : width_(width), oversampling_(oversampling) {}

  /// Throws Error (naming `who`) unless `b` holds complex samples (B, T, C, Y, S), a trajectory (B or 1, T, Y, S,
  /// 2) and complex maps (B or 1, 1, C, H, W) of the samples' coil count.
  static void check(const Batch& b, const std::string& who) {
    require(b.kspace.defined() && b.kspace.dim() == 5 && b.kspace.is_complex() && b.kspace.numel() > 0,
            who + ": the batch needs complex samples (B, frames, coils, spokes, samples)");
    require(b.trajectory.has_value() && b.maps.has_value(),
            who + ": the batch needs a trajectory and coil maps (ones for one coil)");
    const auto& t = *b.trajectory;
    const auto& s = *b.maps;
    require(t.dim() == 5 && t.size(1) == b.kspace.size(1) && t.size(2) == b.kspace.size(3) &&
                t.size(3) == b.kspace.size(4) && t.size(4) == 2 && (t.size(0) == 1 || t.size(0) == b.kspace.size(0)),
            who + ": the trajectory must be (B or 1, frames, spokes, samples, 2) matching the samples");
    require(s.dim() == 5 && s.is_complex() && s.size(1) == 1 && s.size(2) == b.kspace.size(2) &&
                (s.size(0) == 1 || s.size(0) == b.kspace.size(0)),
            who + ": maps must be complex (B or 1, 1, coils, H, W) with the samples' coil count");
  }

  /// x_0 = S^H N^H W y: complex (B, T, 1, H, W). Throws Error as check (who = "nufft data consistency").
  torch::Tensor gridding(const Batch& b) {
    check(b, "nufft data consistency");
    return per_group(b, [&](const Cached& e, const torch::Tensor& y, const torch::Tensor& maps, const torch::Tensor&) {
      return (torch::conj(maps) * e.op->adjoint(y * e.weights)).sum(2, true);
    });
  }

  /// The sliding-window gridding image of every frame (solvers/view_sharing.hpp's rule, not cyclic: a real-time
  /// acquisition): frame f is S^H N_f^H W_f y_f with N_f the NUFFT of the spokes of the `window` frames centred on f
  /// (solvers::sliding_window_frames), W_f Pipe-Menon's density of those spokes; complex (B, T, 1, H, W). Equals
  /// solvers::ViewSharingReconstructor(false, window) for one coil and for maps normalised to sum |s|^2 = 1.
  /// Throws Error as check and for window < 1.
  torch::Tensor sliding_window(const Batch& b, int64_t window) {
    check(b, "nufft data consistency");
    require(window >= 1, "nufft data consistency: the sliding window must be >= 1 frame");
    const int64_t B = b.kspace.size(0), T = b.kspace.size(1), C = b.kspace.size(2), Y = b.kspace.size(3),
                  S = b.kspace.size(4);
    std::vector<int64_t> idx;
    int64_t W = 0;
    for (int64_t f = 0; f < T; ++f) {
      const std::vector<Index> frames = solvers::sliding_window_frames(f, T, window, false);
      W = int64_t(frames.size());
      idx.insert(idx.end(), frames.begin(), frames.end());
    }
    const auto index = torch::tensor(idx, torch::kInt64);
    // Samples (B, T, W, C, Y, S) -> (B, T, C, W Y, S); coordinates (., T, W, Y, S, 2) -> (., T, W Y, S, 2): spoke
    // w Y + j of frame f is spoke j of its window's w-th frame in both.
    Batch wb;
    wb.kspace = b.kspace.index_select(1, index.to(b.kspace.device()))
                    .reshape({B, T, W, C, Y, S})
                    .permute({0, 1, 3, 2, 4, 5})
                    .reshape({B, T, C, W * Y, S});
    const auto& t = *b.trajectory;
    wb.trajectory = t.index_select(1, index.to(t.device())).reshape({t.size(0), T, W * Y, S, 2});
    wb.maps = b.maps;
    return gridding(wb);
  }

  /// The DC step of the file comment for the regularisation images z (B, T, 1, H, W) and weight lambda (a scalar
  /// tensor > 0, differentiable), by `cg_iterations` CG steps from P z (tolerance 0: a fixed number of steps, so
  /// the network's depth is fixed). Returns complex (B, T, 1, H, W). Throws Error as check.
  torch::Tensor solve(const Batch& b, const torch::Tensor& z, const torch::Tensor& lambda, int cg_iterations) {
    check(b, "nufft data consistency");
    require(cg_iterations >= 1, "nufft data consistency: cg_iterations must be >= 1");
    return per_group(b, [&](const Cached& e, const torch::Tensor& y, const torch::Tensor& maps, const torch::Tensor& zn) {
      auto normal = [&](const torch::Tensor& v) {
        return (torch::conj(maps) * e.op->normal(v * maps)).sum(2, true) + lambda * v;
      };
      const auto support = (torch::real(torch::conj(maps) * maps).sum(2, true) > 0).to(torch::kFloat);
      const auto zs = zn * support;
      auto rhs = (torch::conj(maps) * e.op->adjoint(y * e.weights)).sum(2, true) + lambda * zs;
      return solvers::conjugate_gradient<Torch>(normal, rhs, zs,
                                                solvers::CgOptions{.max_iterations = cg_iterations, .tolerance = 0});
    }, z);
  }

 private:
  struct Cached {
    torch::Tensor coords;  ///< (1, T, Y, S, 2) on the CPU
    int64_t nx, ny;
    std::shared_ptr<TorchNufft> op;
    torch::Tensor weights;  ///< Pipe-Menon density (1, T, 1, Y, S) on the operator's device
  };

  /// The operator and density of trajectory `coords` (1, T, Y, S, 2) for an (nx, ny) image, from the cache.
  const Cached& op_for(const torch::Tensor& coords, int64_t nx, int64_t ny, const torch::Device& device) {
    auto c = coords.detach().to(torch::kCPU, torch::kFloat).contiguous();
    for (const auto& e : cache_)
      if (e.nx == nx && e.ny == ny && e.coords.sizes() == c.sizes() && e.op->device() == device &&
          torch::equal(e.coords, c))
        return e;
    RArray t(2, c.size(3), c.size(2), c.size(1), 1);  // the bytes of (1, T, Y, S, 2)
    std::memcpy(t.data(), c.data_ptr<float>(), sizeof(float) * std::size_t(t.size()));
    const NufftOptions no{.oversampling = oversampling_, .width = width_};
    RArray w = pipe_menon_density(Nufft(t, nx, ny, no));
    const Nufft plan(t, nx, ny, no, w);
    cache_.push_back({c, nx, ny, std::make_shared<TorchNufft>(plan, device), Torch::from_eigen(w).to(device)});
    if (cache_.size() > 8) cache_.pop_front();
    return cache_.back();
  }

  /// f(cached, y_g, maps_g, extra_g) per group of samples sharing a trajectory and maps (the whole batch when both
  /// are shared), the results concatenated along the batch.
  template <class F>
  torch::Tensor per_group(const Batch& b, F f, const torch::Tensor& extra = {}) {
    const int64_t B = b.kspace.size(0), nx = b.maps->size(4), ny = b.maps->size(3);
    const bool shared = b.trajectory->size(0) == 1 && b.maps->size(0) == 1;
    std::vector<torch::Tensor> out;
    for (int64_t n = 0; n < B; n += shared ? B : 1) {
      const int64_t len = shared ? B : 1;
      const Cached& e = op_for(b.trajectory->size(0) == 1 ? *b.trajectory : b.trajectory->narrow(0, n, 1), nx, ny,
                               b.kspace.device());
      auto maps = b.maps->size(0) == 1 ? *b.maps : b.maps->narrow(0, n, 1);
      out.push_back(f(e, b.kspace.narrow(0, n, len), maps, extra.defined() ? extra.narrow(0, n, len) : extra));
    }
    return out.size() == 1 ? out[0] : torch::cat(out, 0);
  }

  int width_;
  double oversampling_;
  std::deque<Cached> cache_;
};

/// A trajectory acquisition as a one-sample Batch and the scale of its samples.
struct TrajectoryInput {
  Batch batch;  ///< samples * scale (1, T, C, Y, S), trajectory (1, T, Y, S, 2), maps (1, 1, C, H, W); no target
  float scale;  ///< s = 1 / max|gridding| over all frames (1 when the gridded image is zero)
};

/// The Batch of a trajectory acquisition (any frame and coil count) in the units the trajectory networks are
/// trained in: samples * s with s = 1 / max|x_0|, x_0 the gridding image (solvers::gridded_coil_images with the
/// acquisition's density or Pipe-Menon's, coil-combined with the maps), so the initial image has maximum 1. Maps:
/// the acquisition's, else (several coils) solvers::resolve_maps from the gridded k-space centre, else ones. The
/// trajectory is repeated over the frames when the acquisition has one for all. Throws Error (naming `who`) for a
/// Cartesian acquisition, and as validate_acquisition / resolve_maps.
inline TrajectoryInput trajectory_sample(const Acquisition& acq, const std::string& who) {
  validate_acquisition(acq);
  require(!acq.cartesian(), who + " reconstructs trajectory acquisitions; this one is Cartesian");
  const Dims id = acq.resolved_image_dims();
  CArray maps(id[0], id[1], 1, 1, 1);
  maps.setConstant(cfloat(1));
  if (acq.coils() > 1 || acq.sensitivities) maps = solvers::resolve_maps(acq, solvers::MapsSource::LowRes);
  const CArray x0 = solvers::combine_coil_images(solvers::gridded_coil_images(acq), maps);
  Eigen::Tensor<float, 0> mx = x0.abs().maximum();
  const float s = mx() > 0 ? 1.0f / mx() : 1.0f;
  TrajectoryInput in;
  in.scale = s;
  in.batch.kspace = Torch::from_eigen(acq.kspace) * s;  // (1, T, C, Y, S)
  in.batch.trajectory = Torch::from_eigen(trajectory_for_frames(acq.trajectory().coords, acq.frames()));
  in.batch.maps = Torch::from_eigen(maps);
  return in;
}

}  // namespace reconlab::networks
