#pragma once
/// @file cine_nets.hpp
/// Networks for dynamic (cine) single-coil Cartesian MRI on reconlab's operators, each a Reconstructor through the
/// model registry (registry.hpp):
///   CrnnMri       CRNN-MRI (Qin et al., IEEE TMI 38(1), 2019): bidirectional convolutional recurrence over time
///                 and over iterations, with data consistency per frame ("crnn");
///   DualUnet3d    seed 001's network: two 2D U-Nets with channel + spatial attention (real and imaginary parts,
///                 frames as channels), fused by a 3D ResNet; optional final DC and a cascade of K such blocks
///                 with DC between them ("dual-unet-3d");
///   CineUnet3d    the spatio-temporal residual 3D U-Net of Hauptmann et al. (MRM 81, 2019) as used by seed 003,
///                 with an optional final DC ("residual-unet-3d");
///   Dncn3d        DnCn-3D with Schlemper's data-sharing layer (Schlemper et al., IEEE TMI 37(2), 2018)
///                 ("dncn-3d-ds").
///
/// Data (the cine input convention kPackedCineInput, stored in model.json as "input"):
///   - k-space y: complex64 (N, T, 1, H, W) = (batch, frame, coil, y, x), centred, unitary FFT, zero where not
///     sampled (the torch layout of reconlab's (x, y, coil, frame, batch) arrays);
///   - sampling w: float32 (N or 1, T or 1, 1, H, W): one 0/1 pattern per frame (k-t sampling), or weights in
///     [0, 1], which the data consistency blends (blend_data_consistency);
///   - target: the complex ground-truth cine as float32 channels (N, 2, T, H, W) = (Re, Im);
///   - units: studies scale y and the target by s = 1 / max|zero-filled| of each cine (cine_sample(), and the
///     Reconstructor does the same); the networks do not rely on it: each standardises its own input.
///
/// Initial image (every network here, model.json "initial_image"): "zero-filled", x0 = A^H y = F^H (w y) per frame
/// (the papers' input), or "view-sharing", x0 = F^H V(w y) with V the k-t view sharing of
/// solvers/view_sharing.hpp (every location a frame did not sample taken from the nearest frame that did, cyclic,
/// ties to the earlier frame): the networks then refine the view-shared cine, the strongest non-iterative
/// baseline, instead of the aliased zero-filled one (the data-sharing input of Schlemper et al. 2018, Sec. II-D,
/// taken to the nearest sampled frame). Needs 0/1 sampling. model.json files written before the option load as
/// "zero-filled". Or "gridding" / "sliding-window" (CRNN-MRI and the residual 3D U-Net): the network reconstructs
/// non-Cartesian (radial) cines, x0 = S^H N^H W y per frame (nufft_dc.hpp; seed 003 and Hauptmann et al. 2019 start
/// from the gridded frames) or the sliding window of `window` frames (NufftDataConsistency::sliding_window, the
/// trajectory counterpart of the view-shared input), and its Batch is the non-Cartesian form of batch.hpp (samples (N, T, C, Y, S), trajectory (N or 1, T,
/// Y, S, 2), maps (N or 1, 1, C, H, W); units: samples * 1/max|gridding|, trajectory_sample()); CRNN's data
/// consistency is then nufft_dc.hpp's CG step with a learned lambda; the residual 3D U-Net has none (as the paper).
///
/// Normalisation (every network here): x0 the initial image above, sigma = RMS of x0 over the
/// whole cine of each sample (detached, floored at 1e-30), and the network runs on x0 / sigma and y / sigma; its
/// complex output is multiplied by sigma. So c y gives c x for any c > 0 (scale equivariance: data in 1e-6 or 1e4
/// units reconstruct alike), as the standardised networks of cascade_nets.hpp (InputNorm::standardised).
///
/// Every network has reconstruct(kspace, sampling) -> complex64 (N, T, 1, H, W) (the image, in y's units),
/// reconstruct_frames(kspace, sampling) (any frame count >= 1: the dual U-Net windows; the others are
/// reconstruct) and forward(const Batch&) -> float32 (N, 2, T, H, W), the trainer's prediction against the target.
/// Bad shapes throw reconlab::Error naming the expected layout.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/error.hpp"
#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/data_consistency.hpp"
#include "reconlab/networks/nufft_dc.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/view_sharing.hpp"

namespace reconlab::networks {

/// The cine input convention written to model.json (see the file comment) and checked when a network is loaded.
inline constexpr const char* kPackedCineInput =
    "cine: y (N, T, 1, H, W) * 1/max|zero-filled|, sampling (N or 1, T or 1, 1, H, W), target (Re, Im) (N, 2, T, H, W)";
/// The input convention of a trajectory cine network (initial image gridding), written to model.json as
/// "trajectory_input" beside "input".
inline constexpr const char* kTrajectoryCineInput =
    "trajectory cine: samples (N, T, C, Y, S) * 1/max|gridding|, trajectory (N or 1, T, Y, S, 2) cycles/FOV, maps "
    "(N or 1, 1, C, H, W), target (Re, Im) (N, 2, T, H, W)";

namespace cine {

/// Throws Error unless kspace is complex (N, T, 1, H, W) with T >= 1 and sampling float32 (N or 1, T or 1, 1, H, W)
/// on the same grid. `who` names the network.
inline void require_cine(const torch::Tensor& kspace, const torch::Tensor& sampling, const std::string& who) {
  auto shape = [](const torch::Tensor& t) {
    if (!t.defined()) return std::string("undefined");
    std::ostringstream s;
    s << t.sizes();
    return s.str();
  };
  require(kspace.defined() && kspace.dim() == 5 && kspace.is_complex() && kspace.numel() > 0,
          who + ": k-space must be complex (N, frames, 1, H, W), got " + shape(kspace));
  require(kspace.size(2) == 1, who + ": single-coil networks; the k-space has " + std::to_string(kspace.size(2)) +
                                   " coils (combine coils first or use a multi-coil method)");
  require(sampling.defined() && sampling.dim() == 5 && !sampling.is_complex() &&
              (sampling.size(0) == 1 || sampling.size(0) == kspace.size(0)) &&
              (sampling.size(1) == 1 || sampling.size(1) == kspace.size(1)) && sampling.size(2) == 1 &&
              sampling.size(3) == kspace.size(3) && sampling.size(4) == kspace.size(4),
          who + ": sampling must be float (N or 1, frames or 1, 1, H, W) matching the k-space " + shape(kspace) +
              ", got " + shape(sampling));
}

/// Complex (N, T, 1, H, W) -> float32 channels (N, 2, T, H, W) = (Re, Im).
inline torch::Tensor to_channels(const torch::Tensor& x) {
  auto c = x.select(2, 0);
  return torch::stack({torch::real(c), torch::imag(c)}, 1);
}
/// Float32 channels (N, 2, T, H, W) -> complex64 (N, T, 1, H, W).
inline torch::Tensor from_channels(const torch::Tensor& c) {
  return torch::complex(c.select(1, 0).contiguous(), c.select(1, 1).contiguous()).unsqueeze(2);
}

/// The initial image of a cine network (see the file comment); gridding and sliding-window: trajectory (radial)
/// cines.
enum class InitialImage { zero_filled, view_sharing, gridding, sliding_window };

/// True for the initial images of trajectory cines (gridding, sliding-window).
inline bool for_trajectories(InitialImage i) { return i == InitialImage::gridding || i == InitialImage::sliding_window; }

/// "zero-filled" / "view-sharing" / "gridding" / "sliding-window".
inline std::string initial_image_name(InitialImage i) {
  switch (i) {
    case InitialImage::view_sharing: return "view-sharing";
    case InitialImage::gridding: return "gridding";
    case InitialImage::sliding_window: return "sliding-window";
    default: return "zero-filled";
  }
}
/// The InitialImage of a name; throws Error for another name.
inline InitialImage initial_image_from_string(const std::string& s) {
  if (s == "zero-filled") return InitialImage::zero_filled;
  if (s == "view-sharing") return InitialImage::view_sharing;
  if (s == "gridding") return InitialImage::gridding;
  if (s == "sliding-window") return InitialImage::sliding_window;
  throw Error("cine networks: initial_image must be zero-filled, view-sharing, gridding or sliding-window, got \"" + s +
              "\"");
}

/// View-shared k-space of a batch: k-space (N, T, 1, H, W) complex, sampled where the 0/1 sampling (N or 1, T or 1,
/// 1, H, W) is 1; every location a frame did not sample is taken from the frame solvers::view_sharing_sources picks
/// (the one rule of view_sharing.hpp, computed on the host per sample), never-sampled locations are zero. Returns
/// complex (N, T, 1, H, W) on the k-space's device. Throws Error for non-binary sampling.
inline torch::Tensor view_share(const torch::Tensor& kspace, const torch::Tensor& sampling) {
  const int64_t N = kspace.size(0), T = kspace.size(1), H = kspace.size(3), W = kspace.size(4);
  const auto w = sampling.to(torch::kCPU, torch::kFloat).contiguous();
  const auto kw = kspace * sampling.to(kspace.device(), torch::kFloat);
  std::vector<torch::Tensor> out;
  for (int64_t n = 0; n < N; ++n) {
    const auto wn = w.select(0, w.size(0) == 1 ? 0 : n).contiguous();  // (T or 1, 1, H, W)
    RArray mask(W, H, 1, wn.size(0), 1);
    std::copy_n(wn.data_ptr<float>(), wn.numel(), mask.data());
    const std::vector<int> src = solvers::view_sharing_sources(mask, T);
    std::vector<int64_t> idx(src.size());
    std::vector<float> valid(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) {
      idx[i] = std::max(src[i], 0);
      valid[i] = src[i] >= 0 ? 1.0f : 0.0f;
    }
    const auto opts = torch::TensorOptions().device(kspace.device());
    const auto index = torch::tensor(idx, opts.dtype(torch::kInt64)).view({T, 1, H, W});
    const auto keep = torch::tensor(valid, opts.dtype(torch::kFloat)).view({T, 1, H, W});
    out.push_back((kw.select(0, n).gather(0, index) * keep).unsqueeze(0));
  }
  return torch::cat(out, 0);
}

/// The standardised input of a cine network (see the file comment).
struct Standardised {
  torch::Tensor y;      ///< y / sigma, complex (N, T, 1, H, W)
  torch::Tensor x0;     ///< A^H y / sigma, complex (N, T, 1, H, W)
  torch::Tensor sigma;  ///< RMS of A^H y per sample, float (N, 1, 1, 1, 1), detached
};
/// The initial image x0 (zero-filled F^H (w y) or view-shared F^H V(w y), per frame) and its standardisation by its
/// RMS per sample.
inline Standardised standardise(const torch::Tensor& kspace, const torch::Tensor& sampling,
                                InitialImage initial = InitialImage::zero_filled) {
  require(!for_trajectories(initial), "cine network built for trajectory cines (initial image " +
                                          initial_image_name(initial) + ") was given Cartesian k-t data");
  auto x0 = initial == InitialImage::view_sharing
                ? Fft2c<Torch>().adjoint(view_share(kspace, sampling))
                : CartesianSampling<Torch>(sampling.to(torch::kFloat)).adjoint(kspace);
  auto sigma = detail::rms_per_sample(x0).detach();
  return {kspace / sigma, x0 / sigma, sigma};
}

/// The standardised input of a trajectory cine (the non-Cartesian Batch of the file comment): x0 = S^H N^H W y
/// per frame (gridding) or its sliding window of `window` frames (sliding-window) by `dc`, sigma its RMS per
/// sample, y / sigma (samples) and x0 / sigma. Throws Error as NufftDataConsistency::check (naming `who`).
inline Standardised standardise_trajectory(const Batch& b, NufftDataConsistency& dc, const std::string& who,
                                           InitialImage initial, int64_t window) {
  NufftDataConsistency::check(b, who);
  require(for_trajectories(initial), who + ": this network was built for Cartesian k-t data (initial image " +
                                         initial_image_name(initial) +
                                         "); trajectory cines need initial_image gridding or sliding-window");
  auto x0 = initial == InitialImage::sliding_window ? dc.sliding_window(b, window) : dc.gridding(b);
  auto sigma = detail::rms_per_sample(x0).detach();
  return {b.kspace / sigma, x0 / sigma, sigma};
}

/// Scales a final convolution's weights by 1e-2 and zeroes its bias, so a residual network (x + net(x)) starts close
/// to the identity, i.e. to the zero-filled cine (as the zero heads of cascade_nets.hpp), while gradients still reach
/// every layer from the first step (an exactly zero head would block them).
template <class Conv>
void small_head(Conv& conv) {
  torch::NoGradGuard g;
  conv.weight.mul_(0.01);
  if (conv.bias.defined()) conv.bias.zero_();
}

}  // namespace cine

// ----------------------------------------------------------------------------------------------------------------
// CRNN-MRI
// ----------------------------------------------------------------------------------------------------------------

/// Options of CrnnMriImpl (model.json fields of "crnn").
struct CrnnOptions {
  int64_t iterations = 5;   ///< nc, unrolled iterations (Qin et al.: 5)
  int64_t features = 64;    ///< nf, hidden channels (Qin et al.: 64)
  int64_t kernel_size = 3;  ///< ks, odd (Qin et al.: 3)
  /// One CRNN cell for both time directions (the reference code's BCRNNlayer uses one `CRNN_model` for both) or
  /// one per direction.
  bool shared_directions = true;
  cine::InitialImage initial = cine::InitialImage::zero_filled;  ///< x^(0) (file comment)
  /// Trajectory cines (initial gridding or sliding-window): CG steps of the NUFFT data consistency and the initial
  /// value of its learned lambda (nufft_dc.hpp). Unused for Cartesian k-t data.
  int64_t cg_iterations = 4;
  double lambda_init = 0.05;
  int64_t window = 5;  ///< frames of the sliding window (initial sliding-window), >= 1
};

/// The CRNN cell of Qin et al. (eq. 6; reference `CRNNcell`): h_t = ReLU(W_i * x_t + W_t * h_{t-1} + W_l * h^{(i-1)}_t),
/// three ks x ks convolutions with bias (input-to-hidden i2h, hidden-over-time h2h, hidden-over-iteration ih2ih).
class CrnnCellImpl : public torch::nn::Module {
 public:
  CrnnCellImpl(int64_t in, int64_t hidden, int64_t ks) {
    namespace nn = torch::nn;
    i2h = register_module("i2h", nn::Conv2d(nn::Conv2dOptions(in, hidden, ks).padding(ks / 2)));
    h2h = register_module("h2h", nn::Conv2d(nn::Conv2dOptions(hidden, hidden, ks).padding(ks / 2)));
    ih2ih = register_module("ih2ih", nn::Conv2d(nn::Conv2dOptions(hidden, hidden, ks).padding(ks / 2)));
  }
  torch::nn::Conv2d i2h{nullptr}, h2h{nullptr}, ih2ih{nullptr};
};
TORCH_MODULE(CrnnCell);

namespace cine {
/// conv(h), or conv's bias broadcast to (B, C, H, W) when h is undefined (conv of the zero initial state).
inline torch::Tensor conv_or_bias(torch::nn::Conv2d& conv, const torch::Tensor& h, int64_t batch, int64_t H,
                                  int64_t W) {
  if (h.defined()) return conv->forward(h);
  return conv->bias.view({1, -1, 1, 1}).expand({batch, -1, H, W});
}
}  // namespace cine

/// CRNN-MRI (Qin, Schlemper, Caballero, Price, Hajnal and Rueckert, "Convolutional recurrent neural networks for
/// dynamic MR image reconstruction", IEEE TMI 38(1), 2019, arXiv 1712.01751; reference code
/// github.com/js3611/Deep-MRI-Reconstruction, cascadenet_pytorch/model_pytorch.py `CRNN_MRI`, followed here):
/// x^(0) = x0 (zero-filled, standardised); for iterations i = 1..nc:
///   BCRNN-t-i: H_f,t = CRNNcell(x_t, h0^(i-1)_t, H_f,t-1) over t = 0..T-1 and H_b,t the same over t = T-1..0, both
///              from a zero state; h0^(i) = H_f + H_b (one cell for both directions when shared_directions, as the
///              reference code; then a frame-reversed input gives the frame-reversed output);
///   CRNN-i (three layers, k = 1..3): h_k^(i) = ReLU(conv_k_x(h_{k-1}^(i)) + conv_k_h(h_k^(i-1)));
///   x^(i) = DC(x^(i-1) + conv4_x(h_3^(i))) (residual; DC = blend_data_consistency with the per-frame sampling;
///   for trajectory cines, initial gridding, DC = NufftDataConsistency::solve with a learned lambda > 0, the CG
///   step of MoDL in place of the Cartesian projection, which has no closed form off the grid).
/// Hidden states of iteration 0 are zero, so their convolutions give their bias (as the reference's zero
/// `hid_init`). Each convolution is ks x ks 2D (per frame) with bias; ReLU. Channels: x as (Re, Im).
class CrnnMriImpl : public torch::nn::Module {
 public:
  /// Throws Error for iterations, features < 1 or an even or non-positive kernel size.
  explicit CrnnMriImpl(const CrnnOptions& o = {}) : options_(o) {
    require(o.iterations >= 1 && o.features >= 1, "crnn: iterations and features must be >= 1");
    require(o.kernel_size >= 1 && o.kernel_size % 2 == 1, "crnn: kernel_size must be odd and >= 1");
    namespace nn = torch::nn;
    const int64_t nf = o.features, ks = o.kernel_size;
    forward_cell_ = register_module("bcrnn", CrnnCell(2, nf, ks));
    if (!o.shared_directions) backward_cell_ = register_module("bcrnn_backward", CrnnCell(2, nf, ks));
    auto conv = [&](const std::string& name, int64_t in, int64_t out) {
      return register_module(name, nn::Conv2d(nn::Conv2dOptions(in, out, ks).padding(ks / 2)));
    };
    for (int k = 0; k < 3; ++k) {
      conv_x_.push_back(conv("conv" + std::to_string(k + 1) + "_x", nf, nf));
      conv_h_.push_back(conv("conv" + std::to_string(k + 1) + "_h", nf, nf));
    }
    conv4_x_ = conv("conv4_x", nf, 2);
    if (cine::for_trajectories(o.initial)) {
      require(o.cg_iterations >= 1 && o.lambda_init > 0 && std::isfinite(o.lambda_init) && o.window >= 1,
              "crnn: trajectory cines need cg_iterations >= 1, a finite lambda_init > 0 and window >= 1");
      log_lambda_ = register_parameter("log_lambda", torch::full({}, std::log(o.lambda_init)));
    }
  }

  /// Complex image (N, T, 1, H, W) in the k-space's units (see the file comment). Throws Error on bad shapes.
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    cine::require_cine(kspace, sampling, "crnn");
    const auto s = cine::standardise(kspace, sampling, options_.initial);
    const auto w = sampling.to(torch::kFloat);
    return iterate(s.x0, kspace.size(3), kspace.size(4),
                   [&](const torch::Tensor& x) { return blend_data_consistency(x, s.y, w); }) *
           s.sigma;
  }
  /// Cartesian (reconstruct(kspace, sampling)) or, for a network built with initial gridding, the non-Cartesian
  /// Batch of the file comment: complex (N, T, 1, H, W) in the samples' units. Throws Error on bad shapes or when
  /// the batch's form does not match the network's initial image.
  torch::Tensor reconstruct(const Batch& b) {
    if (!b.trajectory) return reconstruct(b.kspace, b.sampling);
    const auto s = cine::standardise_trajectory(b, dc_, "crnn", options_.initial, options_.window);
    Batch bs = b;
    bs.kspace = s.y;
    const auto lambda = torch::exp(log_lambda_);
    return iterate(s.x0, s.x0.size(3), s.x0.size(4),
                   [&](const torch::Tensor& x) {
                     return dc_.solve(bs, x, lambda, static_cast<int>(options_.cg_iterations));
                   }) *
           s.sigma;
  }
  /// The learned lambda of the NUFFT data consistency (trajectory networks), else 0.
  double lambda() const { return log_lambda_.defined() ? std::exp(log_lambda_.item<double>()) : 0.0; }
  /// Any frame count: the same as reconstruct.
  torch::Tensor reconstruct_frames(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    return reconstruct(kspace, sampling);
  }
  /// (Re, Im) channels (N, 2, T, H, W) of reconstruct(b).
  torch::Tensor forward(const Batch& b) { return cine::to_channels(reconstruct(b)); }
  const CrnnOptions& options() const { return options_; }

 private:
  /// The iterations of the class comment from the standardised x0 (N, T, 1, H, W), with `dc` the data consistency.
  template <class Dc>
  torch::Tensor iterate(const torch::Tensor& x0, int64_t H, int64_t W, Dc dc) {
    const int64_t N = x0.size(0), T = x0.size(1);
    const int64_t B = T * N;
    torch::Tensor x = x0;
    torch::Tensor h0, h[3];  // states of the previous iteration, (T*N, nf, H, W), time-major; undefined = zero
    for (int64_t i = 0; i < options_.iterations; ++i) {
      // (N, T, 1, H, W) complex -> (T*N, 2, H, W) time-major.
      auto c = x.select(2, 0).transpose(0, 1);
      auto xin = torch::stack({torch::real(c), torch::imag(c)}, 2).reshape({B, 2, H, W});
      h0 = bcrnn(xin, h0, T, N, H, W);
      torch::Tensor prev = h0;
      for (int k = 0; k < 3; ++k) {
        auto nk = torch::relu(conv_x_[k]->forward(prev) + cine::conv_or_bias(conv_h_[k], h[k], B, H, W));
        h[k] = nk;
        prev = nk;
      }
      auto out = (xin + conv4_x_->forward(prev)).reshape({T, N, 2, H, W}).transpose(0, 1);  // (N, T, 2, H, W)
      x = torch::complex(out.select(2, 0).contiguous(), out.select(2, 1).contiguous()).unsqueeze(2);
      x = dc(x);
    }
    return x;
  }

  /// BCRNN layer: input (T*N, 2, H, W), previous iteration's output (T*N, nf, H, W) or undefined; returns
  /// H_f + H_b, (T*N, nf, H, W).
  torch::Tensor bcrnn(const torch::Tensor& xin, const torch::Tensor& hit, int64_t T, int64_t N, int64_t H,
                      int64_t W) {
    const int64_t nf = options_.features;
    auto run = [&](CrnnCellImpl& cell, bool backward) {
      // The input and iteration convolutions of every frame at once (convolutions act per frame).
      auto pre = (cell.i2h->forward(xin) + cine::conv_or_bias(cell.ih2ih, hit, T * N, H, W)).view({T, N, nf, H, W});
      std::vector<torch::Tensor> out(static_cast<std::size_t>(T));
      torch::Tensor state;
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = backward ? T - 1 - k : k;
        state = torch::relu(pre[t] + cine::conv_or_bias(cell.h2h, state, N, H, W));
        out[static_cast<std::size_t>(t)] = state;
      }
      return torch::stack(out, 0);
    };
    auto f = run(*forward_cell_, false);
    auto b = run(options_.shared_directions ? *forward_cell_ : *backward_cell_, true);
    return (f + b).view({T * N, nf, H, W});
  }

  CrnnOptions options_;
  torch::Tensor log_lambda_;  ///< trajectory networks only
  NufftDataConsistency dc_;
  CrnnCell forward_cell_{nullptr}, backward_cell_{nullptr};
  std::vector<torch::nn::Conv2d> conv_x_, conv_h_;
  torch::nn::Conv2d conv4_x_{nullptr};
};
TORCH_MODULE(CrnnMri);

// ----------------------------------------------------------------------------------------------------------------
// Seed 001: dual U-Net with attention + 3D ResNet
// ----------------------------------------------------------------------------------------------------------------

/// Options of DualUnet3dImpl (model.json fields of "dual-unet-3d").
struct DualUnetOptions {
  int64_t frames = 30;           ///< T: the U-Nets' in/out channels (seed 001: 20 frames)
  int64_t features = 64;         ///< channels of the U-Nets' first level (seed 001: init_features 64)
  int64_t num_pool_layers = 4;   ///< U-Net depth (seed 001: 4)
  double dropout = 0.3;          ///< dropout after each encoder block (seed 001: 0.3)
  double negative_slope = 0.1;   ///< LeakyReLU slope of the U-Nets (seed 001: 0.1)
  int64_t resnet_features = 32;  ///< 3D ResNet channels (seed 001: resnet18's first level, 32)
  int64_t resnet_blocks = 1;     ///< residual blocks of the 3D ResNet (seed 001: one, layer1 of [1, 1, 1, 1])
  bool dc = false;               ///< hard data consistency per frame after every block
  int64_t cascades = 1;          ///< K blocks (dual U-Net + 3D ResNet [+ DC]); K > 1 needs dc
  cine::InitialImage initial = cine::InitialImage::zero_filled;  ///< x0 (file comment)
};

/// CBAM attention (Woo, Park, Lee and Kweon, "CBAM: Convolutional block attention module", ECCV 2018) as in seed
/// 001's bottleneck: channel attention sigmoid(MLP(avgpool x) + MLP(maxpool x)) with a shared 1x1-convolution MLP
/// C -> max(C/4, 1) -> C (LeakyReLU between, no bias), then spatial attention sigmoid(BN(conv7x7([mean_c, max_c])))
/// on the channel-attended features. (N, C, H, W) -> (N, C, H, W).
class CbamImpl : public torch::nn::Module {
 public:
  CbamImpl(int64_t channels, double slope) {
    namespace nn = torch::nn;
    const int64_t r = std::max<int64_t>(channels / 4, 1);
    mlp_ = register_module("mlp", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(channels, r, 1).bias(false)),
                                                 nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope)),
                                                 nn::Conv2d(nn::Conv2dOptions(r, channels, 1).bias(false))));
    spatial_ = register_module("spatial", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(2, 1, 7).padding(3).bias(false)),
                                                         nn::BatchNorm2d(1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto avg = torch::adaptive_avg_pool2d(x, {1, 1});
    auto mx = torch::amax(x, {2, 3}, true);
    auto xc = x * torch::sigmoid(mlp_->forward(avg) + mlp_->forward(mx));
    auto sp = torch::cat({xc.mean(1, true), std::get<0>(xc.max(1, true))}, 1);
    return xc * torch::sigmoid(spatial_->forward(sp));
  }

 private:
  torch::nn::Sequential mlp_{nullptr}, spatial_{nullptr};
};
TORCH_MODULE(Cbam);

/// Seed 001's 2D U-Net (train.py `UNet`): encoder blocks (3x3 conv without bias, BatchNorm, LeakyReLU, twice) with
/// features * 2^k channels, dropout after each encoder block, 2x2 max pooling; bottleneck block with CBAM;
/// decoder: 2x2 transposed convolution (stride 2), concatenation with the skip, block; then a 3x3 convolution +
/// LeakyReLU and a 1x1 convolution to out channels. Differences from the seed: no final sigmoid (it reconstructs
/// signed real or imaginary parts), dropout after every encoder block (the seed skips level 3), inputs whose size is
/// not a multiple of 2^levels are zero-padded and cropped back (the seed interpolates). (N, C_in, H, W) ->
/// (N, C_out, H, W).
class AttentionUnetImpl : public torch::nn::Module {
 public:
  AttentionUnetImpl(int64_t in, int64_t out, int64_t features, int64_t levels, double dropout, double slope)
      : levels_(levels) {
    namespace nn = torch::nn;
    require(in >= 1 && out >= 1 && features >= 1, "dual-unet-3d: channel counts must be >= 1");
    require(levels >= 1 && levels <= 8, "dual-unet-3d: num_pool_layers must lie in 1..8");
    require(dropout >= 0 && dropout < 1, "dual-unet-3d: dropout must lie in [0, 1)");
    auto block = [slope](int64_t ci, int64_t co) {
      return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(ci, co, 3).padding(1).bias(false)), nn::BatchNorm2d(co),
                            nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope)),
                            nn::Conv2d(nn::Conv2dOptions(co, co, 3).padding(1).bias(false)), nn::BatchNorm2d(co),
                            nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope)));
    };
    enc_ = register_module("enc", nn::ModuleList());
    up_ = register_module("up", nn::ModuleList());
    dec_ = register_module("dec", nn::ModuleList());
    int64_t ch = features, ci = in;
    for (int64_t k = 0; k < levels; ++k) {
      enc_->push_back(block(ci, ch));
      ci = ch;
      ch *= 2;
    }
    bottleneck_ = register_module("bottleneck", block(ci, ch));
    attention_ = register_module("attention", Cbam(ch, slope));
    for (int64_t k = 0; k < levels; ++k) {
      up_->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(ch, ch / 2, 2).stride(2)));
      dec_->push_back(block(ch, ch / 2));
      ch /= 2;
    }
    dropout_ = register_module("dropout", nn::Dropout(nn::DropoutOptions(dropout)));
    pre_ = register_module("pre_conv", nn::Conv2d(nn::Conv2dOptions(features, features, 3).padding(1)));
    act_ = register_module("act", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope)));
    head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(features, out, 1)));
  }
  torch::Tensor forward(const torch::Tensor& input) {
    const int64_t m = int64_t{1} << levels_, H = input.size(2), W = input.size(3);
    const int64_t ph = (H + m - 1) / m * m - H, pw = (W + m - 1) / m * m - W;
    auto x = (ph || pw) ? torch::constant_pad_nd(input, {pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}, 0) : input;
    std::vector<torch::Tensor> skips;
    for (auto& e : *enc_) {
      x = dropout_->forward(e->as<torch::nn::SequentialImpl>()->forward(x));
      skips.push_back(x);
      x = torch::max_pool2d(x, {2, 2}, {2, 2});
    }
    x = attention_->forward(bottleneck_->forward(x));
    for (std::size_t k = 0; k < dec_->size(); ++k) {
      x = up_[k]->as<torch::nn::ConvTranspose2dImpl>()->forward(x);
      x = torch::cat({x, skips.back()}, 1);
      skips.pop_back();
      x = dec_[k]->as<torch::nn::SequentialImpl>()->forward(x);
    }
    x = head_->forward(act_->forward(pre_->forward(x)));
    if (ph || pw) x = x.slice(2, ph / 2, ph / 2 + H).slice(3, pw / 2, pw / 2 + W);
    return x;
  }

 private:
  int64_t levels_;
  torch::nn::ModuleList enc_{nullptr}, up_{nullptr}, dec_{nullptr};
  torch::nn::Sequential bottleneck_{nullptr};
  Cbam attention_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Conv2d pre_{nullptr}, head_{nullptr};
  torch::nn::LeakyReLU act_{nullptr};
};
TORCH_MODULE(AttentionUnet);

/// Seed 001's 3D ResNet (train.py `ResNet` with `BasicBlock`, resnet18's first level): a (3, 7, 7) convolution with
/// stride (1, 2, 2) (no bias), BatchNorm, ReLU, 3x3x3 max pooling with stride 1; `blocks` basic residual blocks
/// (3x3x3 conv, BN, ReLU, 3x3x3 conv, BN, + input, ReLU); trilinear upsampling back to (T, H, W); a final 1x1x1
/// convolution to 2 channels. Differences from the seed: (Re, Im) channels over a depth of T frames in and out
/// (the seed fed magnitude frames as 20 channels of depth 1), no final sigmoid, and the final convolution starts
/// small (cine::small_head), so the residual block starts near the zero-filled cine. (N, 2, T, H, W) ->
/// (N, 2, T, H, W).
class FusionResnet3dImpl : public torch::nn::Module {
 public:
  FusionResnet3dImpl(int64_t features, int64_t blocks) {
    namespace nn = torch::nn;
    require(features >= 1 && blocks >= 1, "dual-unet-3d: resnet_features and resnet_blocks must be >= 1");
    stem_ = register_module(
        "stem", nn::Sequential(nn::Conv3d(nn::Conv3dOptions(2, features, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).bias(false)),
                               nn::BatchNorm3d(features), nn::ReLU()));
    blocks_ = register_module("blocks", nn::ModuleList());
    for (int64_t b = 0; b < blocks; ++b)
      blocks_->push_back(nn::Sequential(nn::Conv3d(nn::Conv3dOptions(features, features, 3).padding(1).bias(false)),
                                        nn::BatchNorm3d(features), nn::ReLU(),
                                        nn::Conv3d(nn::Conv3dOptions(features, features, 3).padding(1).bias(false)),
                                        nn::BatchNorm3d(features)));
    head_ = register_module("head", nn::Conv3d(nn::Conv3dOptions(features, 2, 1)));
    cine::small_head(*head_);
  }
  torch::Tensor forward(const torch::Tensor& u) {
    auto x = torch::max_pool3d(stem_->forward(u), {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
    for (auto& b : *blocks_) x = torch::relu(x + b->as<torch::nn::SequentialImpl>()->forward(x));
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{u.size(2), u.size(3), u.size(4)})
                              .mode(torch::kTrilinear)
                              .align_corners(true));
    return head_->forward(x);
  }

 private:
  torch::nn::Sequential stem_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::Conv3d head_{nullptr};
};
TORCH_MODULE(FusionResnet3d);

/// One block of seed 001's network: u = (U_re(Re x), U_im(Im x)) with frames as channels, out = x + R(u), with
/// U_re, U_im AttentionUnets (T -> T channels) and R the FusionResnet3d (residual to the block's input).
/// (N, 2, T, H, W) -> (N, 2, T, H, W).
class DualUnetBlockImpl : public torch::nn::Module {
 public:
  explicit DualUnetBlockImpl(const DualUnetOptions& o) {
    real_ = register_module("unet_real", AttentionUnet(o.frames, o.frames, o.features, o.num_pool_layers, o.dropout,
                                                       o.negative_slope));
    imag_ = register_module("unet_imag", AttentionUnet(o.frames, o.frames, o.features, o.num_pool_layers, o.dropout,
                                                       o.negative_slope));
    resnet_ = register_module("resnet", FusionResnet3d(o.resnet_features, o.resnet_blocks));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto u = torch::stack({real_->forward(x.select(1, 0)), imag_->forward(x.select(1, 1))}, 1);
    return x + resnet_->forward(u);
  }

 private:
  AttentionUnet real_{nullptr}, imag_{nullptr};
  FusionResnet3d resnet_{nullptr};
};
TORCH_MODULE(DualUnetBlock);

/// Seed 001's dual U-Net + 3D ResNet (github.com/XiongWenye/Deep-Learning-Dynamic-MRI-Reconstruction, train.py; the
/// README's "dual 2D UNet ... and 3D ResNet for temporal fusion"), on reconlab's operators: x = x0 (zero-filled,
/// standardised, (Re, Im) channels); for k = 1..K: x = DualUnetBlock_k(x), then with `dc` x = DC(x) per frame
/// (blend_data_consistency). K > 1 with DC is the "unrolled denoising network with data consistency" the seed's
/// README names but never wrote (a cascade as Schlemper et al. 2018). Training options of the seed (Adam, weight
/// decay 1e-4, L2 loss, lr 1e-4 with warm-up and decay) are TrainOptions. The U-Nets take exactly `frames` frames;
/// reconstruct_frames handles other frame counts by cyclic windows (see there).
class DualUnet3dImpl : public torch::nn::Module {
 public:
  /// Throws Error for frames < 1, cascades < 1, cascades > 1 without dc, and as the blocks.
  explicit DualUnet3dImpl(const DualUnetOptions& o = {}) : options_(o) {
    require(o.frames >= 1, "dual-unet-3d: frames must be >= 1");
    require(o.cascades >= 1, "dual-unet-3d: cascades must be >= 1");
    require(o.cascades == 1 || o.dc, "dual-unet-3d: a cascade (cascades > 1) needs dc = true (data consistency "
                                     "between the blocks); without it, it is one deeper network");
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int64_t k = 0; k < o.cascades; ++k) blocks_->push_back(DualUnetBlock(o));
  }
  /// Complex image (N, T, 1, H, W) for T = frames exactly. Throws Error on bad shapes or another frame count.
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    cine::require_cine(kspace, sampling, "dual-unet-3d");
    require(kspace.size(1) == options_.frames,
            "dual-unet-3d: built for " + std::to_string(options_.frames) + " frames, got " +
                std::to_string(kspace.size(1)) + " (reconstruct_frames and the Reconstructor window other counts)");
    const auto s = cine::standardise(kspace, sampling, options_.initial);
    const auto w = sampling.to(torch::kFloat);
    auto x = cine::to_channels(s.x0);
    for (auto& b : *blocks_) {
      x = b->as<DualUnetBlockImpl>()->forward(x);
      if (options_.dc) x = cine::to_channels(blend_data_consistency(cine::from_channels(x), s.y, w));
    }
    return cine::from_channels(x) * s.sigma;
  }
  /// Any frame count F >= 1: windows of T = frames consecutive frames, cyclic in time (frame indices mod F; a cine
  /// is periodic over the cardiac cycle), starting every max(T / 2, 1) frames from 0 until every frame is covered
  /// (F <= T: one window, frames repeated); each frame's result is the mean over the windows (and repeats) that hold
  /// it; with dc, a final DC of the mean (a mean of DC'd frames already matches, up to rounding). F = T is
  /// reconstruct. The k-space is standardised per window (scale-equivariant all the same).
  torch::Tensor reconstruct_frames(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    cine::require_cine(kspace, sampling, "dual-unet-3d");
    const int64_t F = kspace.size(1), T = options_.frames;
    if (F == T) return reconstruct(kspace, sampling);
    const int64_t stride = std::max<int64_t>(T / 2, 1);
    const int64_t windows = F <= T ? 1 : (F + stride - 1) / stride;
    auto sum = torch::zeros_like(kspace);
    auto count = torch::zeros({1, F, 1, 1, 1}, kspace.options().dtype(torch::kFloat));
    const bool per_frame = sampling.size(1) != 1;
    for (int64_t wdx = 0; wdx < windows; ++wdx) {
      std::vector<int64_t> idx(static_cast<std::size_t>(T));
      for (int64_t j = 0; j < T; ++j) idx[static_cast<std::size_t>(j)] = (wdx * stride + j) % F;
      auto index = torch::tensor(idx, torch::TensorOptions().dtype(torch::kInt64).device(kspace.device()));
      auto out = reconstruct(kspace.index_select(1, index), per_frame ? sampling.index_select(1, index) : sampling);
      sum = sum.index_add(1, index, out);
      count = count.index_add(1, index, torch::ones({1, T, 1, 1, 1}, count.options()));
    }
    auto x = sum / count;
    if (options_.dc) x = blend_data_consistency(x, kspace, sampling.to(torch::kFloat));
    return x;
  }
  /// (Re, Im) channels (N, 2, T, H, W) of reconstruct(b.kspace, b.sampling).
  torch::Tensor forward(const Batch& b) { return cine::to_channels(reconstruct(b.kspace, b.sampling)); }
  const DualUnetOptions& options() const { return options_; }

 private:
  DualUnetOptions options_;
  torch::nn::ModuleList blocks_{nullptr};
};
TORCH_MODULE(DualUnet3d);

// ----------------------------------------------------------------------------------------------------------------
// Residual 3D U-Net (Hauptmann et al. 2019, seed 003)
// ----------------------------------------------------------------------------------------------------------------

/// Options of CineUnet3dImpl (model.json fields of "residual-unet-3d").
struct CineUnet3dOptions {
  int64_t base_channels = 32;  ///< channels of the first level (Unet3d)
  int64_t num_pool_layers = 3; ///< depth; frames and (y, x) are all pooled, so T is padded to a multiple of 2^depth
  double drop_prob = 0.0;      ///< Dropout3d after each convolution
  bool final_dc = false;       ///< hard data consistency per frame after the U-Net
  cine::InitialImage initial = cine::InitialImage::zero_filled;  ///< x0 (file comment)
  int64_t window = 5;  ///< frames of the sliding window (initial sliding-window), >= 1
};

/// The spatio-temporal residual U-Net of Hauptmann, Arridge, Lucka, Muthurangu and Steeden ("Real-time
/// cardiovascular MR with spatio-temporal artifact suppression using deep learning - proof of concept in congenital
/// heart disease", MRM 81(2):1143-1156, 2019), as seed 003 uses it: a 3D U-Net over (t, y, x) on the aliased
/// (zero-filled) cine as (Re, Im) channels, with a residual connection: x = x0 + U(x0). Built from reconlab's
/// Unet3d (unet.hpp: fastMRI's blocks, instance norm and LeakyReLU 0.2 instead of the paper's ReLU blocks), on the
/// standardised input (file comment); optional final DC (blend_data_consistency). The U-Net's 1x1 head starts small
/// (weights x 1e-2, bias 0), so the untrained network is close to the zero-filled cine. Any frame count.
class CineUnet3dImpl : public torch::nn::Module {
 public:
  /// Throws Error for final_dc with initial gridding (no closed-form DC off the grid; the paper has none).
  explicit CineUnet3dImpl(const CineUnet3dOptions& o = {}) : options_(o) {
    require(!(o.final_dc && cine::for_trajectories(o.initial)),
            "residual-unet-3d: final_dc is for Cartesian k-t data, not trajectory cines (initial " +
                cine::initial_image_name(o.initial) + ")");
    require(o.window >= 1, "residual-unet-3d: the sliding window must be >= 1 frame");
    unet_ = register_module("unet", Unet3d(UnetOptions{.in_channels = 2, .out_channels = 2,
                                                       .base_channels = o.base_channels,
                                                       .num_pool_layers = o.num_pool_layers,
                                                       .drop_prob = o.drop_prob, .residual = true}));
    for (auto& p : unet_->named_parameters())
      if (p.key().rfind("head.", 0) == 0) {
        torch::NoGradGuard g;
        p.value().mul_(p.key() == "head.weight" ? 0.01 : 0.0);
      }
  }
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    cine::require_cine(kspace, sampling, "residual-unet-3d");
    const auto s = cine::standardise(kspace, sampling, options_.initial);
    auto x = cine::from_channels(unet_->forward(cine::to_channels(s.x0)));
    if (options_.final_dc) x = blend_data_consistency(x, s.y, sampling.to(torch::kFloat));
    return x * s.sigma;
  }
  /// Cartesian (reconstruct(kspace, sampling)) or, for initial gridding, the non-Cartesian Batch of the file
  /// comment: x = x0 + U(x0) on the gridded frames. Throws Error as CrnnMriImpl::reconstruct(const Batch&).
  torch::Tensor reconstruct(const Batch& b) {
    if (!b.trajectory) return reconstruct(b.kspace, b.sampling);
    const auto s = cine::standardise_trajectory(b, dc_, "residual-unet-3d", options_.initial, options_.window);
    return cine::from_channels(unet_->forward(cine::to_channels(s.x0))) * s.sigma;
  }
  torch::Tensor reconstruct_frames(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    return reconstruct(kspace, sampling);
  }
  torch::Tensor forward(const Batch& b) { return cine::to_channels(reconstruct(b)); }
  const CineUnet3dOptions& options() const { return options_; }

 private:
  CineUnet3dOptions options_;
  NufftDataConsistency dc_;
  Unet3d unet_{nullptr};
};
TORCH_MODULE(CineUnet3d);

// ----------------------------------------------------------------------------------------------------------------
// DnCn 3D with data sharing (Schlemper et al. 2018)
// ----------------------------------------------------------------------------------------------------------------

/// Options of Dncn3dImpl (model.json fields of "dncn-3d-ds").
struct Dncn3dOptions {
  int64_t cascades = 5;     ///< n_c (reference code default 5; the paper's 3D networks use up to 10)
  int64_t conv_layers = 5;  ///< n_d 3D convolutions per CNN (>= 2)
  int64_t features = 64;    ///< n_f channels
  /// Data-sharing frame distances (the reference's fr_d; must contain 0); empty = no data sharing (DnCn-3D).
  std::vector<int64_t> frame_distances = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  /// x0 (file comment). With "view-sharing" every frame's k-space is already filled, so the first cascade's data
  /// sharing also divides by 2 d + 1 (as the later cascades).
  cine::InitialImage initial = cine::InitialImage::zero_filled;
};

/// Schlemper's data-sharing layer (github.com/js3611/Deep-MRI-Reconstruction, cascadenet_pytorch/kspace_pytorch.py
/// `AveragingInKspace` / `KspaceFillNeighbourLayer`, non-clipped: frames are cyclic): for the current image x
/// (complex (N, T, 1, H, W)) with k = F x per frame and each distance d, k_d(t) = sum_{|o| <= d} k(t + o) / n, with
/// n = max(sum_{|o| <= d} w(t + o), 1) (the number of frames that sampled the location; `divide_by_frames` false,
/// the first cascade) or n = 2 d + 1 (later cascades), then k_d = w k + (1 - w) k_d (measured samples kept); returns
/// F^H k_d as channels (N, 2 D, T, H, W), (Re, Im) of distance d at channels 2 i, 2 i + 1 (the reference's order).
/// On the zero-filled input this is view sharing averaged over the neighbours within d.
inline torch::Tensor data_sharing(const torch::Tensor& x, const torch::Tensor& sampling,
                                  const std::vector<int64_t>& distances, bool divide_by_frames) {
  Fft2c<Torch> F;
  const int64_t T = x.size(1);
  auto k = F.apply(x);
  auto w = sampling.to(torch::kFloat).expand({sampling.size(0), T, 1, x.size(3), x.size(4)});
  std::vector<torch::Tensor> channels;
  for (int64_t d : distances) {
    torch::Tensor sum_k = k, sum_w = w;
    for (int64_t o = 1; o <= d; ++o)
      for (int64_t sgn : {-1, 1}) {
        sum_k = sum_k + torch::roll(k, {sgn * o}, {1});
        sum_w = sum_w + torch::roll(w, {sgn * o}, {1});
      }
    auto n = divide_by_frames ? torch::full_like(sum_w, double(2 * d + 1)) : torch::clamp_min(sum_w, 1.0);
    auto kd = Torch::blend(w, k, sum_k / n);
    auto c = cine::to_channels(F.adjoint(kd));
    channels.push_back(c);
  }
  return torch::cat(channels, 1);
}

/// DnCn-3D with data sharing, D{n_d}C{n_c}-DS (Schlemper, Caballero, Hajnal, Price and Rueckert, "A deep cascade of
/// convolutional neural networks for dynamic MR image reconstruction", IEEE TMI 37(2), 2018, Sec. II-C/D; reference
/// `DnCn3DDS`): x = x0 (standardised zero-filled); for c = 1..n_c: x = DC(x + CNN_c(data_sharing(x))) with CNN_c
/// n_d 3x3x3 convolutions (bias; LeakyReLU 0.01 between, as the reference's conv_block), 2 D -> n_f -> ... -> 2
/// channels, and DC = blend_data_consistency per frame. The first cascade divides by the sampled-frame count, later
/// ones by 2 d + 1 (the reference passes divide_by_n = i > 0). Without frame distances it is DnCn-3D (the CNN sees x).
class Dncn3dImpl : public torch::nn::Module {
 public:
  /// Throws Error for cascades < 1, conv_layers < 2, features < 1, or distances without 0 or negative.
  explicit Dncn3dImpl(const Dncn3dOptions& o = {}) : options_(o) {
    require(o.cascades >= 1 && o.conv_layers >= 2 && o.features >= 1,
            "dncn-3d-ds: needs cascades >= 1, conv_layers >= 2 and features >= 1");
    const auto& fd = o.frame_distances;
    require(fd.empty() || std::find(fd.begin(), fd.end(), int64_t{0}) != fd.end(),
            "dncn-3d-ds: frame_distances must contain 0 (the frame itself), as the reference code requires");
    for (int64_t d : fd) require(d >= 0, "dncn-3d-ds: frame distances must be >= 0");
    namespace nn = torch::nn;
    const int64_t in = fd.empty() ? 2 : 2 * static_cast<int64_t>(fd.size());
    cnns_ = register_module("cnns", nn::ModuleList());
    for (int64_t c = 0; c < o.cascades; ++c) {
      nn::Sequential seq;
      for (int64_t l = 0; l < o.conv_layers; ++l) {
        const int64_t ci = l == 0 ? in : o.features, co = l == o.conv_layers - 1 ? 2 : o.features;
        seq->push_back(nn::Conv3d(nn::Conv3dOptions(ci, co, 3).padding(1)));
        if (l != o.conv_layers - 1) seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01)));
      }
      cnns_->push_back(seq);
    }
  }
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    cine::require_cine(kspace, sampling, "dncn-3d-ds");
    const auto s = cine::standardise(kspace, sampling, options_.initial);
    const auto w = sampling.to(torch::kFloat);
    auto x = s.x0;
    for (int64_t c = 0; c < options_.cascades; ++c) {
      auto in = options_.frame_distances.empty() ? cine::to_channels(x)
                                                 : data_sharing(x, w, options_.frame_distances,
                                                                c > 0 || options_.initial == cine::InitialImage::view_sharing);
      auto out = cine::to_channels(x) + cnns_[c]->as<torch::nn::SequentialImpl>()->forward(in);
      x = blend_data_consistency(cine::from_channels(out), s.y, w);
    }
    return x * s.sigma;
  }
  torch::Tensor reconstruct_frames(const torch::Tensor& kspace, const torch::Tensor& sampling) {
    return reconstruct(kspace, sampling);
  }
  torch::Tensor forward(const Batch& b) { return cine::to_channels(reconstruct(b.kspace, b.sampling)); }
  const Dncn3dOptions& options() const { return options_; }

 private:
  Dncn3dOptions options_;
  torch::nn::ModuleList cnns_{nullptr};
};
TORCH_MODULE(Dncn3d);

// ----------------------------------------------------------------------------------------------------------------
// model.json, data and the Reconstructor
// ----------------------------------------------------------------------------------------------------------------

/// model.json of a CRNN-MRI.
inline nlohmann::json network_json(const CrnnOptions& o) {
  nlohmann::json j = {{"architecture", "crnn"},         {"iterations", o.iterations},
                      {"features", o.features},         {"kernel_size", o.kernel_size},
                      {"shared_directions", o.shared_directions}, {"initial_image", cine::initial_image_name(o.initial)},
                      {"input", kPackedCineInput}};
  if (cine::for_trajectories(o.initial)) {
    j["cg_iterations"] = o.cg_iterations, j["lambda_init"] = o.lambda_init, j["window"] = o.window;
    j["trajectory_input"] = kTrajectoryCineInput;
  }
  return j;
}
/// model.json of seed 001's dual U-Net + 3D ResNet.
inline nlohmann::json network_json(const DualUnetOptions& o) {
  return {{"architecture", "dual-unet-3d"}, {"frames", o.frames},
          {"features", o.features},         {"num_pool_layers", o.num_pool_layers},
          {"dropout", o.dropout},           {"negative_slope", o.negative_slope},
          {"resnet_features", o.resnet_features}, {"resnet_blocks", o.resnet_blocks},
          {"dc", o.dc},                     {"cascades", o.cascades},
          {"initial_image", cine::initial_image_name(o.initial)}, {"input", kPackedCineInput}};
}
/// model.json of the DnCn-3D with data sharing.
inline nlohmann::json network_json(const Dncn3dOptions& o) {
  return {{"architecture", "dncn-3d-ds"}, {"cascades", o.cascades},
          {"conv_layers", o.conv_layers}, {"features", o.features},
          {"frame_distances", o.frame_distances}, {"initial_image", cine::initial_image_name(o.initial)},
          {"input", kPackedCineInput}};
}
/// model.json of the residual 3D U-Net.
inline nlohmann::json network_json(const CineUnet3dOptions& o) {
  nlohmann::json j = {{"architecture", "residual-unet-3d"}, {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers}, {"drop_prob", o.drop_prob},
          {"final_dc", o.final_dc},             {"initial_image", cine::initial_image_name(o.initial)},
          {"input", kPackedCineInput}};
  if (cine::for_trajectories(o.initial)) j["trajectory_input"] = kTrajectoryCineInput, j["window"] = o.window;
  return j;
}

/// Throws Error unless `acq` is what the cine networks reconstruct: valid (validate_acquisition), at least 2
/// frames and either (trajectory = false) Cartesian, one coil, sampling of one plane or one per frame (nx, ny, 1, 1
/// or frames, 1), or (trajectory = true) a trajectory acquisition (any coil count: maps as trajectory_sample).
/// `method` names the caller.
inline void require_cine_acquisition(const Acquisition& acq, const std::string& method, bool trajectory = false) {
  validate_acquisition(acq);
  require(acq.frames() >= 2, method + " reconstructs cines (>= 2 frames); this acquisition has one frame (use a "
                                      "single-image network such as unet or dncn)");
  if (trajectory) {
    require(!acq.cartesian(), method + " was trained on trajectory (radial) cines; the acquisition is Cartesian");
    return;
  }
  require(acq.cartesian(), method + " needs Cartesian k-t sampling (a mask per frame); the acquisition has a "
                                    "non-Cartesian trajectory (use a network trained with initial_image gridding)");
  require(acq.coils() == 1, method + " is a single-coil network; the acquisition has " +
                                std::to_string(acq.coils()) + " coils (coil-combine first or use a multi-coil method)");
  require(acq.frames() >= 2, method + " reconstructs cines (>= 2 frames); this acquisition has one frame (use a "
                                      "single-image network such as unet or dncn)");
  const Dims kd = dims_of(acq.kspace), md = dims_of(acq.mask());
  require(md[0] == kd[0] && md[1] == kd[1] && md[2] == 1 && (md[3] == 1 || md[3] == kd[3]) && md[4] == 1,
          method + ": sampling must be (nx, ny, 1, 1 or frames, 1), got " + dims_string(md));
}

/// One training or test sample of the cine networks (Cartesian, or the non-Cartesian form of batch.hpp).
struct CineSample {
  torch::Tensor kspace;    ///< complex64 (1, T, 1, H, W): y * s; trajectories: samples (1, T, C, Y, S) * s
  torch::Tensor sampling;  ///< float32 (1, T, 1, H, W) (a one-plane mask expanded to T frames); undefined off the grid
  std::optional<torch::Tensor> trajectory;  ///< float32 (1, T, Y, S, 2) (trajectory acquisitions)
  std::optional<torch::Tensor> maps;        ///< complex64 (1, 1, C, H, W) (trajectory acquisitions; ones for one coil)
  torch::Tensor target;    ///< float32 (1, 2, T, H, W): (Re, Im) of truth * s (undefined without a truth)
  float scale;             ///< s = 1 / max|zero-filled| or 1 / max|gridding| (1 when that cine is all zero)
};

/// The sample of a single-coil cine acquisition (require_cine_acquisition) and, when given, its complex ground truth
/// `truth` (nx, ny, 1, frames, 1) in the acquisition's units. Throws Error on another acquisition or a truth of
/// other dims.
inline CineSample cine_sample(const Acquisition& acq, const CArray* truth = nullptr,
                              const std::string& method = "cine network") {
  CineSample out;
  if (!acq.cartesian()) {
    require_cine_acquisition(acq, method, true);
    TrajectoryInput in = trajectory_sample(acq, method);
    out.kspace = in.batch.kspace, out.trajectory = in.batch.trajectory, out.maps = in.batch.maps;
    out.scale = in.scale;
  } else {
    require_cine_acquisition(acq, method);
    auto k = Torch::from_eigen(acq.kspace);
    auto m = Torch::from_eigen(acq.mask());
    const float mx = torch::abs(CartesianSampling<Torch>(m).adjoint(k)).max().item<float>();
    out.scale = mx > 0 ? 1.0f / mx : 1.0f;
    out.kspace = k * out.scale;
    out.sampling = m.expand({1, k.size(1), 1, k.size(3), k.size(4)}).contiguous();
  }
  const float s = out.scale;
  if (truth) {
    const Dims td = dims_of(*truth), id = acq.resolved_image_dims();
    require(td == Dims{id[0], id[1], 1, acq.frames(), 1},
            method + ": ground truth dims " + dims_string(td) + " differ from the cine's image grid");
    out.target = cine::to_channels(Torch::from_eigen(*truth) * s);
  }
  return out;
}

/// The training set of N samples (all of one size and one form): k-space (N, T, 1, H, W), sampling (N, T, 1, H, W),
/// targets (N, 2, T, H, W); trajectory samples: samples (N, T, C, Y, S), trajectory (N, T, Y, S, 2), maps (N, 1,
/// C, H, W). Throws Error when the list is empty, a sample has no target, or sizes or forms differ.
inline Batch cine_batch(const std::vector<CineSample>& samples) {
  require(!samples.empty(), "cine_batch: no samples");
  const bool traj = samples.front().trajectory.has_value();
  std::vector<torch::Tensor> k, m, t, tr, mp;
  for (const auto& s : samples) {
    require(s.target.defined(), "cine_batch: a sample has no target (build it with cine_sample(acq, &truth))");
    require(s.kspace.sizes() == samples.front().kspace.sizes() && s.target.sizes() == samples.front().target.sizes(),
            "cine_batch: samples differ in size (crop or pad them to one size)");
    require(s.trajectory.has_value() == traj, "cine_batch: Cartesian and trajectory samples cannot be mixed");
    k.push_back(s.kspace);
    t.push_back(s.target);
    if (traj) {
      tr.push_back(*s.trajectory);
      mp.push_back(*s.maps);
    } else {
      m.push_back(s.sampling);
    }
  }
  Batch b;
  b.kspace = torch::cat(k, 0);
  b.target = torch::cat(t, 0);
  if (traj) {
    b.trajectory = torch::cat(tr, 0);
    b.maps = torch::cat(mp, 0);
  } else {
    b.sampling = torch::cat(m, 0);
  }
  return b;
}

/// A trained cine network (CrnnMri, DualUnet3d, CineUnet3d or Dncn3d holder) as a Reconstructor: single-coil Cartesian cines
/// with >= 2 frames in (others refused, require_cine_acquisition), the complex cine (nx, ny, 1, frames, 1) in the
/// acquisition's units out. Runs on the device of the network's parameters (move the network to a GPU with
/// net->to(torch::kCUDA)); the result is returned on the host. Any frame count (reconstruct_frames: the dual U-Net windows).
template <class Net>
class CineNetworkReconstructor : public Reconstructor {
 public:
  CineNetworkReconstructor(Net net, std::string name, nlohmann::json parameters)
      : net_(std::move(net)), name_(std::move(name)), params_(std::move(parameters)) {
    net_->eval();
  }
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override { return params_; }
  CArray reconstruct(const Acquisition& acq) override {
    const CineSample in = cine_sample(acq, nullptr, name_);
    torch::NoGradGuard g;
    net_->eval();
    // The network's device (CPU or a GPU): the inputs go there, the cine comes back to the host.
    const auto params = net_->parameters();
    const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
    if (in.trajectory) {
      if constexpr (requires(Batch b) { net_->reconstruct(b); }) {
        Batch b;
        b.kspace = in.kspace, b.trajectory = *in.trajectory, b.maps = *in.maps;
        return Torch::to_eigen((net_->reconstruct(b.to(device)) / in.scale).to(torch::kCPU));
      } else {
        throw Error(name_ + " reconstructs Cartesian k-t data only; for trajectory cines use crnn or residual-unet-3d "
                            "trained with initial_image gridding");
      }
    }
    const auto mask = Torch::from_eigen(acq.mask()).to(device);
    return Torch::to_eigen((net_->reconstruct_frames(in.kspace.to(device), mask) / in.scale).to(torch::kCPU));
  }
  Net& net() { return net_; }

 private:
  Net net_;
  std::string name_;
  nlohmann::json params_;
};

}  // namespace reconlab::networks
