#pragma once
/// @file cascade_nets.hpp
/// Networks with data consistency on reconlab's operators, for single-coil Cartesian k-space:
///   KspaceUnet  a U-Net on (Re, Im, mask) k-space channels with built-in hard DC, then F^H;
///   Cascade     stage 1 a trained, frozen KspaceUnet; F^H; stage 2 an image-space residual U-Net;
///   Dncn        Deep Cascade of CNNs (DnCn, Schlemper et al. 2017/2018): N x (small residual CNN + DC);
///   Modl        MoDL (Aggarwal et al. 2019): K x (shared residual CNN; DC by CG on (A^H A + lambda I)).
///
/// Every network takes the measured k-space and its mask as typed tensors: reconstruct(kspace, mask) with k-space
/// complex64 (N, 1, 1, H, W) and mask float32 (N or 1, 1, 1, H, W) returns the complex image complex64
/// (N, 1, 1, H, W) (backend layout), and forward(const Batch&) (batch.hpp; the trainer's typed batch) returns
/// its magnitude float32 (N, 1, H, W). The packed one-tensor form (N, 3, H, W) = (Re y, Im y, mask) of
/// data_consistency.hpp is still accepted by reconstruct(packed) and forward(packed), for data sets stored
/// packed. Inputs are expected in the units of NetworkReconstructor: k-space scaled so that the zero-filled
/// magnitude has maximum 1.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/data_consistency.hpp"
#include "reconlab/networks/unet.hpp"

namespace reconlab::networks {

/// How a network standardises its own input (stored in model.json; absent in files written before it existed,
/// which are read as `none`, the behaviour they were trained with).
enum class InputNorm {
  /// Raw input (seed 004's k-space U-Net and cascade stage 2).
  none,
  /// k-space U-Net: the U-Net sees the weighted k-space w(k) y / sigma, w(k) = max(|f|, 1/(2 max(H, W))) with f the
  /// frequency in cycles per pixel (so w does not depend on the grid size), sigma the root mean square of w y over
  /// the k-space grid (per sample); its residual output is unweighted as y + sigma u / w. Image stage: the complex
  /// image is divided by its root mean square (per sample) and multiplied back after the U-Net (fastMRI NormUnet).
  /// Either way the network is scale-equivariant (input c y gives c x) and its U-Net's head starts at zero.
  standardised,
};

/// "none" / "standardised" <-> InputNorm. Throws Error for another name.
inline InputNorm input_norm_from_string(const std::string& s) {
  if (s == "none") return InputNorm::none;
  if (s == "standardised") return InputNorm::standardised;
  throw Error("unknown input normalisation '" + s + "' (none | standardised)");
}
inline std::string to_string(InputNorm n) { return n == InputNorm::none ? "none" : "standardised"; }

namespace detail {
/// The k-space weight w(k) of InputNorm::standardised, float32 (1, 1, 1, H, W) on `like`'s device.
inline torch::Tensor kspace_weight(const torch::Tensor& like) {
  const int64_t H = like.size(-2), W = like.size(-1);
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(like.device());
  auto fy = (torch::arange(H, opts) - double(H / 2)) / double(H);  // centred k-space: DC at index H/2
  auto fx = (torch::arange(W, opts) - double(W / 2)) / double(W);
  auto f = torch::sqrt(fy.unsqueeze(1).pow(2) + fx.unsqueeze(0).pow(2));
  return torch::clamp_min(f, 0.5 / double(std::max(H, W))).reshape({1, 1, 1, H, W});
}
/// Root mean square of complex (N, 1, 1, H, W) per sample, (N, 1, 1, 1, 1), floored at 1e-30 (all-zero input).
inline torch::Tensor rms_per_sample(const torch::Tensor& x) {
  auto a = torch::abs(x);
  return torch::clamp_min(torch::sqrt((a * a).mean({1, 2, 3, 4}, true)), 1e-30);
}
/// x(-k) on a centred grid (index i -> (n - i) mod n along the last two axes): conj(mirror(y)) is the virtual
/// conjugate k-space.
inline torch::Tensor mirror_kspace(const torch::Tensor& x) {
  auto m = torch::flip(x, {-2, -1});
  const int64_t H = x.size(-2), W = x.size(-1);
  return torch::roll(m, {H % 2 == 0 ? 1 : 0, W % 2 == 0 ? 1 : 0}, {-2, -1});
}
/// Zeroes the 1x1 head of a U-Net, so that a residual U-Net starts as the identity.
inline void zero_head(torch::nn::Module& unet) {
  torch::NoGradGuard g;
  for (auto& p : unet.named_parameters())
    if (p.key().rfind("head.", 0) == 0) p.value().zero_();
}
}  // namespace detail

/// Options of KspaceUnetImpl.
struct KspaceUnetOptions {
  int64_t base_channels = 16;   ///< U-Net channels of the first level (>= 1)
  int64_t num_pool_layers = 4;  ///< U-Net depth (1..10)
  /// Input standardisation (see InputNorm); model.json files without it are `none`.
  InputNorm norm = InputNorm::standardised;
  /// Also give the U-Net the virtual conjugate k-space conj(y(-k)) and its mask (3 more input channels): with a
  /// smooth image phase y(k) is close to a short convolution of conj(y(-k)) (the virtual conjugate coil of
  /// Blaimer et al., MRM 61(1), 2009), which a 1D column mask often measured where it did not measure y(k); the
  /// kernel's width in samples does not depend on the grid size. model.json files without it: false.
  bool conjugate_channels = true;
};

/// k-space U-Net with hard data consistency (the k-space stage of the k-space/image cascades, e.g. Souza and
/// Frayne, "A hybrid frequency-domain/image-domain deep network for MR reconstruction", SIBGRAPI 2019; k-space
/// learning as in Han, Sunwoo and Ye, "k-space deep learning for accelerated MRI", IEEE TMI 39(2), 2020).
/// The U-Net sees (Re y, Im y, mask) and predicts (Re k, Im k) as a residual on y (UnetOptions::residual); the
/// measured samples are then put back exactly (hard_replace_kspace) and the image is F^H k.
/// With InputNorm::standardised (the default; seed 004's networks were `none`) it sees the weighted, standardised
/// k-space w y / sigma (and, with conjugate_channels, its virtual conjugate), so that the few huge samples near
/// k = 0 do not dominate the input (raw y spans 1e-3 .. 1e2 in the study's units), its output is scale-equivariant,
/// and it starts as zero-filled. A k-space network learns the k-space of whole objects (their support and
/// background): trained on 128 x 128 crops from inside the head, seed 004's gained 0.1 dB on such crops and lost
/// 0.2-0.3 dB on whole 256 x 256 GE slices; train it on whole slices (zero-padded to one size) instead.
class KspaceUnetImpl : public torch::nn::Module {
 public:
  explicit KspaceUnetImpl(const KspaceUnetOptions& o = {}) : options_(o) {
    unet_ = register_module("unet", Unet(UnetOptions{.in_channels = o.conjugate_channels ? 6 : 3, .out_channels = 2,
                                                     .base_channels = o.base_channels,
                                                     .num_pool_layers = o.num_pool_layers, .residual = true}));
    if (o.norm == InputNorm::standardised) detail::zero_head(*unet_);
  }
  /// Completed k-space complex64 (N, 1, 1, H, W) after hard DC (the U-Net sees pack_kspace(kspace, mask), or with
  /// InputNorm::standardised pack_kspace(w y / sigma, mask), followed with conjugate_channels by the same of the
  /// virtual conjugate k-space conj(w y(-k) / sigma) and the mirrored mask).
  torch::Tensor complete_kspace(const torch::Tensor& kspace, const torch::Tensor& mask) {
    const bool standardised = options_.norm == InputNorm::standardised;
    torch::Tensor y = kspace, w, sigma;
    if (standardised) {
      w = detail::kspace_weight(kspace);
      sigma = detail::rms_per_sample(kspace * w).detach();
      y = kspace * w / sigma;
    }
    auto in = pack_kspace(y, mask);
    if (options_.conjugate_channels)
      in = torch::cat({in, pack_kspace(torch::conj(detail::mirror_kspace(y)),
                                       detail::mirror_kspace(mask.expand({kspace.size(0), -1, -1, -1, -1})))},
                      1);
    auto k = channels_to_complex(unet_->forward(in));
    if (standardised) k = k * (sigma / w);
    return hard_replace_kspace(k, kspace, mask);
  }
  /// Complex image F^H k, (N, 1, 1, H, W).
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& mask) {
    return Fft2c<Torch>().adjoint(complete_kspace(kspace, mask));
  }
  torch::Tensor reconstruct(const torch::Tensor& packed) {
    const auto m = unpack_kspace(packed);
    return reconstruct(m.kspace, m.mask);
  }
  /// Magnitude (N, 1, H, W).
  torch::Tensor forward(const Batch& b) { return magnitude(reconstruct(b.kspace, b.sampling)); }
  torch::Tensor forward(const torch::Tensor& packed) { return magnitude(reconstruct(packed)); }
  const KspaceUnetOptions& options() const { return options_; }

 private:
  KspaceUnetOptions options_;
  Unet unet_{nullptr};
};
TORCH_MODULE(KspaceUnet);

/// Options of CascadeImpl.
struct CascadeOptions {
  KspaceUnetOptions stage1;     ///< the k-space U-Net (trained first, then frozen)
  int64_t base_channels = 16;   ///< stage-2 image U-Net channels
  int64_t num_pool_layers = 4;  ///< stage-2 image U-Net depth
  /// Stage-2 input standardisation (InputNorm::standardised: divide x1 by its RMS, U-Net, multiply back; head
  /// zeroed, so the untrained stage 2 is the identity); model.json files without it are `none`.
  InputNorm norm = InputNorm::standardised;
  /// Hard data consistency after stage 2 (measured samples put back); files without it have none (false).
  bool final_dc = true;
};

/// k-space then image cascade: x1 = F^H(DC(kspace_unet(y))) (stage 1, frozen: no gradients, always in eval mode),
/// x2 = x1 + unet2(Re x1, Im x1) (stage 2, residual image-space refinement on complex channels; with
/// InputNorm::standardised x2 = s (x1 / s + unet2(x1 / s)), s = RMS of x1), then with final_dc hard data consistency
/// F^H(DC(F x2)) (the stage-2 U-Net alone would move the measured samples too).
/// Training (the study): stage 1 alone first (L1 on the magnitude), then stage 2 with stage 1 frozen on the mix
/// "0.5*l1+0.5*l2" of the magnitude: L1 for edges (Zhao et al. 2017), L2 for the large residual errors left by the
/// k-space stage in early training. set_stage1() installs trained stage-1 weights and freezes them.
class CascadeImpl : public torch::nn::Module {
 public:
  explicit CascadeImpl(const CascadeOptions& o = {}) : options_(o) {
    stage1_ = register_module("stage1", KspaceUnet(o.stage1));
    stage2_ = register_module("stage2", Unet(UnetOptions{.in_channels = 2, .out_channels = 2,
                                                         .base_channels = o.base_channels,
                                                         .num_pool_layers = o.num_pool_layers, .residual = true}));
    if (o.norm == InputNorm::standardised) detail::zero_head(*stage2_);
    freeze_stage1();
  }
  /// Copies the weights of a trained k-space U-Net (same options) into stage 1 and freezes it.
  void set_stage1(KspaceUnet& trained) {
    torch::NoGradGuard g;
    auto dst = stage1_->named_parameters();
    for (const auto& p : trained->named_parameters()) dst[p.key()].copy_(p.value());
    freeze_stage1();
  }
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& mask) {
    torch::Tensor x1;
    {
      torch::NoGradGuard g;
      x1 = stage1_->reconstruct(kspace, mask);
    }
    torch::Tensor x2;
    if (options_.norm == InputNorm::none) {
      x2 = channels_to_complex(stage2_->forward(complex_to_channels(x1)));
    } else {
      const auto sigma = detail::rms_per_sample(x1);
      x2 = channels_to_complex(stage2_->forward(complex_to_channels(x1 / sigma))) * sigma;
    }
    if (!options_.final_dc) return x2;
    Fft2c<Torch> F;
    return F.adjoint(hard_replace_kspace(F.apply(x2), kspace, mask));
  }
  torch::Tensor reconstruct(const torch::Tensor& packed) {
    const auto m = unpack_kspace(packed);
    return reconstruct(m.kspace, m.mask);
  }
  torch::Tensor forward(const Batch& b) { return magnitude(reconstruct(b.kspace, b.sampling)); }
  torch::Tensor forward(const torch::Tensor& packed) { return magnitude(reconstruct(packed)); }
  /// Keeps stage 1 in eval mode whatever the trainer asks.
  void train(bool on = true) override {
    torch::nn::Module::train(on);
    stage1_->eval();
  }
  KspaceUnet& stage1() { return stage1_; }
  const CascadeOptions& options() const { return options_; }

 private:
  void freeze_stage1() {
    for (auto& p : stage1_->parameters()) p.set_requires_grad(false);
    stage1_->eval();
  }
  CascadeOptions options_;
  KspaceUnet stage1_{nullptr};
  Unet stage2_{nullptr};
};
TORCH_MODULE(Cascade);

/// Schlemper's CNN block D: `layers` 3x3 convolutions (with bias, padding 1), ReLU after all but the last,
/// `features` channels inside, 2 -> 2 channels (Re, Im), residual: out = x + cnn(x).
/// Input and output float32 (N, 2, H, W).
class ResidualCnnImpl : public torch::nn::Module {
 public:
  /// Throws Error if layers < 2 or features < 1.
  ResidualCnnImpl(int64_t layers, int64_t features) {
    require(layers >= 2 && features >= 1, "ResidualCnn: needs layers >= 2 and features >= 1");
    namespace nn = torch::nn;
    seq_ = register_module("layers", nn::Sequential());
    for (int64_t l = 0; l < layers; ++l) {
      const int64_t in = l == 0 ? 2 : features, out = l == layers - 1 ? 2 : features;
      seq_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
      if (l != layers - 1) seq_->push_back(nn::ReLU());
    }
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + seq_->forward(x); }

 private:
  torch::nn::Sequential seq_{nullptr};
};
TORCH_MODULE(ResidualCnn);

/// Options of DncnImpl.
struct DncnOptions {
  int64_t cascades = 5;      ///< N_c (Schlemper: 5 for 2D)
  int64_t conv_layers = 5;   ///< n_d convolutions per CNN (Schlemper: 5)
  int64_t features = 64;     ///< n_f channels (Schlemper: 64)
  bool shared_weights = false;  ///< one CNN for all cascades (fewer parameters) or one per cascade (Schlemper)
  DcMode dc = DcMode::soft;  ///< DC after each CNN (Schlemper: soft with lambda; hard for noiseless data)
};

/// Deep Cascade of CNNs, DnCn (Schlemper et al., "A deep cascade of convolutional neural networks for dynamic MR
/// image reconstruction", IEEE TMI 37(2), 2018, Sec. II): x_0 = A^H y (zero-filled); for c = 1..N_c:
/// x_c = DC_c(x_{c-1} + D_c(x_{c-1})), with D_c a ResidualCnn on (Re, Im) and DC_c a DataConsistency layer (own
/// lambda per cascade).
class DncnImpl : public torch::nn::Module {
 public:
  /// Throws Error if cascades < 1 (and as ResidualCnn).
  explicit DncnImpl(const DncnOptions& o = {}) : options_(o) {
    require(o.cascades >= 1, "Dncn: cascades must be >= 1");
    cnns_ = register_module("cnns", torch::nn::ModuleList());
    dcs_ = register_module("dcs", torch::nn::ModuleList());
    for (int64_t c = 0; c < (o.shared_weights ? 1 : o.cascades); ++c)
      cnns_->push_back(ResidualCnn(o.conv_layers, o.features));
    for (int64_t c = 0; c < o.cascades; ++c) dcs_->push_back(DataConsistency(o.dc));
  }
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& mask) {
    auto x = CartesianSampling<Torch>(mask).adjoint(kspace);
    for (int64_t c = 0; c < options_.cascades; ++c) {
      auto& cnn = *cnns_[options_.shared_weights ? 0 : c]->as<ResidualCnnImpl>();
      x = channels_to_complex(cnn.forward(complex_to_channels(x)));
      x = dcs_[c]->as<DataConsistencyImpl>()->forward(x, kspace, mask);
    }
    return x;
  }
  torch::Tensor reconstruct(const torch::Tensor& packed) {
    const auto m = unpack_kspace(packed);
    return reconstruct(m.kspace, m.mask);
  }
  torch::Tensor forward(const Batch& b) { return magnitude(reconstruct(b.kspace, b.sampling)); }
  torch::Tensor forward(const torch::Tensor& packed) { return magnitude(reconstruct(packed)); }
  const DncnOptions& options() const { return options_; }

 private:
  DncnOptions options_;
  torch::nn::ModuleList cnns_{nullptr}, dcs_{nullptr};
};
TORCH_MODULE(Dncn);

/// Options of ModlImpl.
struct ModlOptions {
  int64_t iterations = 5;     ///< K unrolled iterations (MoDL: 10)
  int64_t cg_iterations = 10; ///< CG steps per DC (MoDL: 10)
  int64_t conv_layers = 5;    ///< MoDL's D_w has 5 layers of 64 features
  int64_t features = 64;
  double lambda_init = 0.05;  ///< MoDL's initial lambda (> 0; learned as log lambda)
};

/// MoDL (Aggarwal, Mani and Jacob, "MoDL: Model-based deep learning architecture for inverse problems", IEEE TMI
/// 38(2), 2019, eqs. 9-11): x_0 = A^H y; for k = 1..K: z_k = x_{k-1} + D_w(x_{k-1}) (one CNN shared by all k), and
/// x_k = (A^H A + lambda I)^{-1} (A^H y + lambda z_k), solved by the one CG (solvers/cg.hpp, per-sample step sizes kept on the graph) on the operator's
/// normal CartesianSampling<Torch>::normal, started at z_k, with a learned lambda > 0.
class ModlImpl : public torch::nn::Module {
 public:
  /// Throws Error if iterations or cg_iterations < 1 or lambda_init <= 0.
  explicit ModlImpl(const ModlOptions& o = {}) : options_(o) {
    require(o.iterations >= 1 && o.cg_iterations >= 1, "Modl: iterations and cg_iterations must be >= 1");
    require(o.lambda_init > 0 && std::isfinite(o.lambda_init), "Modl: lambda_init must be finite and > 0");
    cnn_ = register_module("cnn", ResidualCnn(o.conv_layers, o.features));
    log_lambda_ = register_parameter("log_lambda", torch::full({}, std::log(o.lambda_init)));
  }
  /// The DC step alone: argmin_x ||A x - y||^2 + lambda ||x - z||^2 by CG (complex (N, 1, 1, H, W) in and out).
  torch::Tensor dc_step(const torch::Tensor& z, const torch::Tensor& y, const torch::Tensor& mask) {
    CartesianSampling<Torch> A(mask);
    auto lambda = torch::exp(log_lambda_);
    auto normal = [&](const torch::Tensor& v) { return A.normal(v) + lambda * v; };
    return solvers::conjugate_gradient<Torch>(
        normal, A.adjoint(y) + lambda * z, z,
        solvers::CgOptions{.max_iterations = static_cast<int>(options_.cg_iterations), .tolerance = 0});
  }
  torch::Tensor reconstruct(const torch::Tensor& kspace, const torch::Tensor& mask) {
    auto x = CartesianSampling<Torch>(mask).adjoint(kspace);
    for (int64_t k = 0; k < options_.iterations; ++k) {
      auto z = channels_to_complex(cnn_->forward(complex_to_channels(x)));
      x = dc_step(z, kspace, mask);
    }
    return x;
  }
  torch::Tensor reconstruct(const torch::Tensor& packed) {
    const auto m = unpack_kspace(packed);
    return reconstruct(m.kspace, m.mask);
  }
  torch::Tensor forward(const Batch& b) { return magnitude(reconstruct(b.kspace, b.sampling)); }
  torch::Tensor forward(const torch::Tensor& packed) { return magnitude(reconstruct(packed)); }
  double lambda() const { return std::exp(log_lambda_.item<double>()); }
  /// The shared CNN D_w (for tests and inspection).
  ResidualCnn& cnn() { return cnn_; }
  const ModlOptions& options() const { return options_; }

 private:
  ModlOptions options_;
  ResidualCnn cnn_{nullptr};
  torch::Tensor log_lambda_;
};
TORCH_MODULE(Modl);

}  // namespace reconlab::networks
