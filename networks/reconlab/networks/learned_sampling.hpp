#pragma once
/// @file learned_sampling.hpp
/// Learned sampling (issue 10; seed 000, GO_RecoNet): a learnable k-space sampling layer trained jointly with a
/// reconstruction network.
///
///   LoupeMask     LOUPE (Bahadir, Wang, Sabuncu and Dalca, IEEE TCI 6, 2020, "Deep-learning-based optimization
///                 of the under-sampling pattern in MRI", Sec. III): logits O, probabilities P = sigmoid(a O)
///                 (slope a = 5), rescaled to the target sampling rate alpha (P' = P alpha / mean(P) when that mean
///                 exceeds alpha, else 1 - (1 - P)(1 - alpha) / (1 - mean(P)), so mean(P') = alpha and P' stays in
///                 [0, 1]), and a relaxed Bernoulli mask sigmoid(b (P' - u)) with u ~ U(0, 1) and b = 12; or the
///                 straight-through variant (Bengio et al. 2013): the binary mask 1[u < P'] forward, the relaxed
///                 mask's gradient backward. One probability per column (fastMRI's column masks: the mask varies
///                 along x, constant along y) or per k-space sample (2D). At test time the mask is fixed and binary:
///                 the round(alpha N) most probable columns (or samples), exactly the requested rate.
///   GoReconet     seed 000's U-Net: encoder blocks of a 5 x 5 convolution with stride 2, batch norm, ReLU and 2 x 2
///                 max pooling (4x smaller per block); a bottleneck of max pooling, a 1 x 1 convolution,
///                 interpolation back and concatenation + convolution; decoder blocks of upsampling, concatenation
///                 with the skip, a 5 x 5 convolution (stride 1: the seed's "stride 2" cannot be applied after
///                 upsampling without undoing it), batch norm and ReLU; a final interpolation to the input size and a
///                 1 x 1 convolution.
///   LearnedSamplingNet  LoupeMask -> zero-filled image -> network (GoReconet or reconlab's Unet) on (Re, Im)
///                 scaled by the zero-filled magnitude's standard deviation -> hard data consistency with the mask
///                 (x = F^H ((1 - m) F z + m y), differentiable in m, so the mask also learns through DC) ->
///                 magnitude. Trained with the supervised task on batches of fully sampled k-space (Batch::kspace)
///                 and target magnitudes (seed 000: MSE loss).
///
/// Layouts: k-space complex64 (B, 1, 1, H, W) (batch.hpp), masks float32 (H, W) with x = W; images (B, 1, H, W).
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "reconlab/error.hpp"
#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/networks/unet.hpp"

namespace reconlab::networks {

/// Options of LoupeMask.
struct LoupeOptions {
  int64_t nx = 0, ny = 0;         ///< k-space grid (columns x, rows y), >= 1
  bool columns = true;            ///< one probability per column x (else per sample)
  double rate = 0.25;             ///< target sampling fraction alpha in (0, 1) (1 - seed 000's drop rate; 1 / R)
  double slope = 5.0;             ///< a of P = sigmoid(a O) (LOUPE's pmask_slope)
  double sample_slope = 12.0;     ///< b of the relaxed Bernoulli mask (LOUPE's sample_slope)
  bool straight_through = false;  ///< binary forward, relaxed gradient
};

/// The learnable sampling layer (see the file comment). Parameter "logits": (nx) for columns, (ny, nx) for 2D.
struct LoupeMaskImpl : torch::nn::Module {
  /// Initial logits as LOUPE's ProbMask: O = -log(1 / u - 1) / a with u ~ U(0.01, 0.99) from torch's generator
  /// (seed it first). Throws Error for an empty grid, a rate outside (0, 1) or non-positive slopes.
  explicit LoupeMaskImpl(LoupeOptions o) : options(o) {
    require(o.nx >= 1 && o.ny >= 1, "LoupeMask: the grid must be at least 1 x 1");
    require(o.rate > 0 && o.rate < 1, "LoupeMask: the sampling rate must be in (0, 1), got " + std::to_string(o.rate));
    require(o.slope > 0 && o.sample_slope > 0, "LoupeMask: slopes must be > 0");
    const auto u = torch::rand(o.columns ? std::vector<int64_t>{o.nx} : std::vector<int64_t>{o.ny, o.nx}) * 0.98 + 0.01;
    logits = register_parameter("logits", -torch::log(1.0 / u - 1.0) / o.slope);
  }
  /// The rescaled probabilities P' (mean exactly alpha), shape of the logits.
  torch::Tensor probability() const {
    const auto p = torch::sigmoid(options.slope * logits);
    const auto mean = p.mean();
    const double a = options.rate;
    return torch::where(mean >= a, p * (a / mean), 1.0 - (1.0 - p) * ((1.0 - a) / (1.0 - mean)));
  }
  /// A training mask (H, W) = (ny, nx): relaxed (or straight-through) Bernoulli draws from torch's generator.
  torch::Tensor sample() const {
    const auto p = probability();
    const auto u = torch::rand_like(p);
    auto m = torch::sigmoid(options.sample_slope * (p - u));
    if (options.straight_through) m = (p > u).to(torch::kFloat) + (m - m.detach());  // exactly 0/1 forward
    return expand(m);
  }
  /// The test-time mask (H, W): 1 on the round(alpha N) most probable columns (samples), 0 elsewhere (ties by
  /// index order); no gradient.
  torch::Tensor binary_mask() const {
    torch::NoGradGuard g;
    const auto p = probability().flatten();
    const int64_t n = p.numel(), k = std::max<int64_t>(1, std::llround(options.rate * double(n)));
    const auto order = std::get<1>(torch::sort(p, /*stable=*/true, /*dim=*/0, /*descending=*/true));
    auto m = torch::zeros({n});
    m.index_fill_(0, order.slice(0, 0, k), 1.0);
    return expand(m.reshape(logits.sizes()));
  }
  /// (nx) -> (ny, nx) for columns; (ny, nx) unchanged.
  torch::Tensor expand(const torch::Tensor& m) const {
    return options.columns ? m.unsqueeze(0).expand({options.ny, options.nx}) : m;
  }
  LoupeOptions options;
  torch::Tensor logits;
};
TORCH_MODULE(LoupeMask);

/// Options of GoReconet.
struct GoReconetOptions {
  int64_t in_channels = 2, out_channels = 2;
  int64_t features = 32;  ///< channels of the first encoder block (the second has 2x)
};

/// Seed 000's U-Net (see the file comment). (N, in, H, W) -> (N, out, H, W); H and W multiples of 32.
struct GoReconetImpl : torch::nn::Module {
  explicit GoReconetImpl(GoReconetOptions o = {}) : options(o) {
    namespace nn = torch::nn;
    require(o.in_channels >= 1 && o.out_channels >= 1 && o.features >= 1, "GoReconet: channels must be >= 1");
    const int64_t f = o.features;
    auto conv_bn_relu = [](int64_t in, int64_t out, int64_t k, int64_t stride) {
      return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2)),
                            nn::BatchNorm2d(out), nn::ReLU());
    };
    enc1 = register_module("enc1", conv_bn_relu(o.in_channels, f, 5, 2));
    enc2 = register_module("enc2", conv_bn_relu(f, 2 * f, 5, 2));
    neck = register_module("neck", nn::Conv2d(nn::Conv2dOptions(2 * f, 4 * f, 1)));
    merge = register_module("merge", conv_bn_relu(6 * f, 2 * f, 3, 1));
    dec2 = register_module("dec2", conv_bn_relu(3 * f, f, 5, 1));
    dec1 = register_module("dec1", conv_bn_relu(f + o.in_channels, f, 5, 1));
    out = register_module("out", nn::Conv2d(nn::Conv2dOptions(f, o.out_channels, 1)));
  }
  /// x: (N, in_channels, H, W) float32 with H and W multiples of 32 (two blocks of 4x and the bottleneck's 2x)
  /// -> (N, out_channels, H, W). Throws Error for other shapes.
  torch::Tensor forward(const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    require(x.dim() == 4 && x.size(1) == options.in_channels && x.size(2) % 32 == 0 && x.size(3) % 32 == 0,
            "GoReconet: input must be (N, " + std::to_string(options.in_channels) +
                ", H, W) with H and W multiples of 32");
    auto up = [](const torch::Tensor& t, const torch::Tensor& like) {
      return F::interpolate(t, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{like.size(2), like.size(3)})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
    };
    const auto e1 = F::max_pool2d(enc1->forward(x), F::MaxPool2dFuncOptions(2));   // H / 4
    const auto e2 = F::max_pool2d(enc2->forward(e1), F::MaxPool2dFuncOptions(2));  // H / 16
    const auto b = up(neck->forward(F::max_pool2d(e2, F::MaxPool2dFuncOptions(2))), e2);
    const auto m = merge->forward(torch::cat({b, e2}, 1));
    const auto d2 = dec2->forward(torch::cat({up(m, e1), e1}, 1));
    const auto d1 = dec1->forward(torch::cat({up(d2, x), x}, 1));
    return this->out->forward(d1);
  }
  GoReconetOptions options;
  torch::nn::Sequential enc1{nullptr}, enc2{nullptr}, merge{nullptr}, dec2{nullptr}, dec1{nullptr};
  torch::nn::Conv2d neck{nullptr}, out{nullptr};
};
TORCH_MODULE(GoReconet);

/// Options of LearnedSamplingNet.
struct LearnedSamplingOptions {
  LoupeOptions mask;
  std::string network = "go-reconet";  ///< "go-reconet" (GoReconet) or "unet" (reconlab's Unet, 2 -> 2 channels)
  int64_t features = 32;               ///< GoReconet's features or the Unet's base channels
  int64_t num_pool_layers = 3;         ///< the Unet's depth
};

/// LoupeMask + network + data consistency (see the file comment).
struct LearnedSamplingNetImpl : torch::nn::Module {
  /// Throws Error for an unknown network name and as LoupeMask, GoReconet and Unet do.
  explicit LearnedSamplingNetImpl(LearnedSamplingOptions o) : options(o) {
    mask = register_module("mask", LoupeMask(o.mask));
    if (o.network == "go-reconet") {
      recon = torch::nn::AnyModule(GoReconet(GoReconetOptions{2, 2, o.features}));
    } else if (o.network == "unet") {
      recon = torch::nn::AnyModule(Unet(UnetOptions{.in_channels = 2, .out_channels = 2, .base_channels = o.features,
                                                    .num_pool_layers = o.num_pool_layers, .residual = true}));
    } else {
      throw Error("LearnedSamplingNet: network must be go-reconet or unet, got '" + o.network + "'");
    }
    register_module("recon", recon.ptr());
  }
  /// The magnitude (B, 1, H, W) reconstructed from k-space `k` (B, 1, 1, H, W) under the sampling `m` (H, W) (or
  /// (B, 1, 1, H, W)): the network on the zero-filled image, then data consistency with m.
  torch::Tensor reconstruct(const torch::Tensor& k, const torch::Tensor& m) {
    const auto y = k * m;                         // the acquisition (unsampled samples weighted down to 0)
    const auto zf = Torch::ifft2c(y).squeeze(2);  // (B, 1, H, W) complex
    const auto scale = zf.abs().flatten(1).std(1).clamp_min(1e-12).detach().view({-1, 1, 1, 1});
    const auto in = torch::cat({torch::real(zf), torch::imag(zf)}, 1) / scale;  // (B, 2, H, W)
    const auto z = recon.forward<torch::Tensor>(in) * scale;
    const auto zc = torch::complex(z.narrow(1, 0, 1), z.narrow(1, 1, 1)).unsqueeze(2);  // (B, 1, 1, H, W)
    const auto x = Torch::ifft2c((1.0 - m) * Torch::fft2c(zc) + y);
    return x.abs().squeeze(2);
  }
  /// Training: a sampled mask; evaluation: the binary mask. Uses batch.kspace (fully sampled, (B, 1, 1, H, W)).
  torch::Tensor forward(const Batch& b) {
    require(b.kspace.defined() && b.kspace.dim() == 5 && b.kspace.size(1) == 1 && b.kspace.size(2) == 1 &&
                b.kspace.size(3) == options.mask.ny && b.kspace.size(4) == options.mask.nx,
            "LearnedSamplingNet: batches need fully sampled single-coil k-space (B, 1, 1, " +
                std::to_string(options.mask.ny) + ", " + std::to_string(options.mask.nx) + ")");
    return reconstruct(b.kspace, is_training() ? mask->sample() : mask->binary_mask());
  }
  LearnedSamplingOptions options;
  LoupeMask mask{nullptr};
  torch::nn::AnyModule recon;
};
TORCH_MODULE(LearnedSamplingNet);

/// The input convention of LearnedSamplingNet (model.json "input").
inline constexpr const char* kLearnedSamplingInput =
    "k-space under the model's mask; (Re, Im) of the zero-filled image / std|zero-filled|";

/// model.json of LearnedSamplingNet ("architecture": "learned-sampling"; registry.hpp reads it back).
inline nlohmann::json network_json(const LearnedSamplingOptions& o) {
  return {{"architecture", "learned-sampling"}, {"network", o.network},
          {"features", o.features},             {"num_pool_layers", o.num_pool_layers},
          {"nx", o.mask.nx},                    {"ny", o.mask.ny},
          {"columns", o.mask.columns},          {"rate", o.mask.rate},
          {"slope", o.mask.slope},              {"sample_slope", o.mask.sample_slope},
          {"straight_through", o.mask.straight_through}, {"input", kLearnedSamplingInput}};
}
/// The inverse of network_json(LearnedSamplingOptions). Throws nlohmann::json::exception for missing fields.
inline LearnedSamplingOptions learned_sampling_options_from_json(const nlohmann::json& j) {
  LearnedSamplingOptions o;
  o.mask = LoupeOptions{j.at("nx"), j.at("ny"), j.at("columns"), j.at("rate"), j.at("slope"), j.at("sample_slope"),
                        j.at("straight_through")};
  o.network = j.at("network");
  o.features = j.at("features");
  o.num_pool_layers = j.at("num_pool_layers");
  return o;
}

/// A model's test-time mask as reconlab's RArray (nx, ny, 1, 1, 1), 0/1 with exactly round(rate N) columns or
/// samples (what `reconlab mask --type learned` writes).
inline RArray learned_mask(LearnedSamplingNet& net) {
  return Torch::to_eigen_real(net->mask->binary_mask().reshape({1, 1, 1, net->options.mask.ny, net->options.mask.nx}));
}

/// A trained LearnedSamplingNet as a Reconstructor: single-coil, single-frame Cartesian acquisitions with a 0/1 mask
/// on the model's grid (usually its own learned mask, learned_mask; another mask is accepted and used in the data
/// consistency). Returns the magnitude (nx, ny, 1, 1, 1), zero imaginary part, in the units of F^H y (the network
/// works on the zero-filled image scaled by its own standard deviation). Throws Error for other acquisitions.
class LearnedSamplingReconstructor : public Reconstructor {
 public:
  LearnedSamplingReconstructor(LearnedSamplingNet net, std::string name, nlohmann::json params)
      : net_(std::move(net)), name_(std::move(name)), params_(std::move(params)) {}
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override { return params_; }
  CArray reconstruct(const Acquisition& acq) override {
    require_single_coil_cartesian(acq, name_);
    const Dims kd = dims_of(acq.kspace);
    require(kd[0] == net_->options.mask.nx && kd[1] == net_->options.mask.ny,
            name_ + ": the model was trained on a " + std::to_string(net_->options.mask.nx) + " x " +
                std::to_string(net_->options.mask.ny) + " grid, the k-space is " + std::to_string(kd[0]) + " x " +
                std::to_string(kd[1]));
    torch::NoGradGuard no_grad;
    net_->eval();
    const auto k = Torch::from_eigen(acq.kspace);
    const auto m = Torch::from_eigen(acq.mask()).reshape({kd[1], kd[0]});
    const auto x = net_->reconstruct(k, m);  // (1, 1, ny, nx)
    return to_complex(Torch::to_eigen_real(x.reshape({1, 1, 1, kd[1], kd[0]})));
  }

 private:
  LearnedSamplingNet net_;
  std::string name_;
  nlohmann::json params_;
};

}  // namespace reconlab::networks
