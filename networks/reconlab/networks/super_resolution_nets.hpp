#pragma once
/// @file super_resolution_nets.hpp
/// Super-resolution networks and their adversarial training (issue 10; seed 002).
///
///   SrDcganGenerator      seed 002's generator ("SR-DCGAN", modules.py Model_Generator): 8 layers, 3 x 3
///                         convolutions (stride 1, padding 1) except layers 3 and 6, 4 x 4 transposed
///                         convolutions with stride 2 (2x each, 4x in all); batch norm + ReLU after every layer
///                         but the last, tanh output. Widths c -> c^2 -> c^2 -> c^3 -> c^3 -> c^3 -> c^2 -> c^2 -> c
///                         with the seed's c = 3 (its RGB-loaded grayscale images; here one image channel in and
///                         out and the hidden widths 9 and 27 of the seed).
///   SrDiscriminator       seed 002's discriminator (Model_Discriminator): 6 layers of 3 x 3 convolutions, layers
///                         2-5 with stride 2 (16x smaller), LeakyReLU 0.2, batch norm on all but the first, then a
///                         fully connected layer to one sigmoid output. Its input size is fixed at construction.
///   SrResNet              a PSNR-oriented residual network (EDSR-style, Lim et al., CVPRW 2017: residual blocks
///                         without batch norm, sub-pixel upsampling, Shi et al. CVPR 2016) that predicts the
///                         difference to the bicubic upsampling of its input; trained with L1 alone, or with L1
///                         plus a small adversarial weight as SRGAN (Ledig et al., CVPR 2017, eq. 3 with an L1
///                         content loss).
///
/// Input convention (model.json "input": kLowResolutionInput): one channel, the low-resolution magnitude in the
/// high-resolution intensity units (solvers::low_resolution_image_in_image_units) divided by its maximum m and
/// normalised as seed 002 (mean 0.5, std 0.5): u = (|low| / m - 0.5) / 0.5 in [-1, 1]; the network predicts the
/// high-resolution magnitude in the same units; the output is mapped back by (v * 0.5 + 0.5) * m.
///
/// Training (sr_gan_task): per batch, one discriminator step on BCE(D(x), 1) + BCE(D(G(u)), 0) and one generator
/// step on content_weight L1(G(u), x) + adversarial_weight BCE(D(G(u)), 1) (Goodfellow et al. 2014, the
/// non-saturating generator loss); Adam with betas (0.5, 0.999) for both; the learning rates are per trainable
/// (seed 002: 3e-5 x 0.95^epoch for the generator, 2e-5 x 0.96^epoch for the discriminator). The step records
/// d_loss, g_adversarial and g_content (trainer.hpp's StepContext::record; loss.csv columns).
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "reconlab/acquisition.hpp"
#include "reconlab/error.hpp"
#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/super_resolution.hpp"

namespace reconlab::networks {

/// The input convention of the super-resolution networks (see the file comment).
inline constexpr const char* kLowResolutionInput = "(|low-resolution| / max - 0.5) / 0.5";

/// Options of SrDcganGenerator.
struct SrDcganOptions {
  int64_t width = 3;  ///< c of the seed's widths c^2 and c^3 (>= 1; seed: 3)
};

/// Seed 002's generator (see the file comment): (N, 1, h, w) -> (N, 1, 4h, 4w), values in (-1, 1).
struct SrDcganGeneratorImpl : torch::nn::Module {
  explicit SrDcganGeneratorImpl(SrDcganOptions o = {}) : options(o) {
    namespace nn = torch::nn;
    require(o.width >= 1, "SrDcganGenerator: width must be >= 1, got " + std::to_string(o.width));
    const int64_t c = o.width, c2 = c * c, c3 = c2 * c;
    const int64_t in[8] = {1, c2, c2, c3, c3, c3, c2, c2}, out[8] = {c2, c2, c3, c3, c3, c2, c2, 1};
    for (int i = 0; i < 8; ++i) {
      nn::Sequential layer;
      if (i == 2 || i == 5)
        layer->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in[i], out[i], 4).stride(2).padding(1)));
      else
        layer->push_back(nn::Conv2d(nn::Conv2dOptions(in[i], out[i], 3).padding(1)));
      if (i < 7) {
        layer->push_back(nn::BatchNorm2d(out[i]));
        layer->push_back(nn::ReLU());
      } else {
        layer->push_back(nn::Tanh());
      }
      body->push_back(layer);
    }
    register_module("body", body);
  }
  /// x: (N, 1, h, w) float32 -> (N, 1, 4h, 4w). Throws Error for another channel count.
  torch::Tensor forward(const torch::Tensor& x) {
    require(x.dim() == 4 && x.size(1) == 1, "SrDcganGenerator: input must be (N, 1, h, w)");
    torch::Tensor h = x;
    for (auto& layer : *body) h = layer->as<torch::nn::Sequential>()->forward(h);
    return h;
  }
  SrDcganOptions options;
  torch::nn::ModuleList body;
};
TORCH_MODULE(SrDcganGenerator);

/// Options of SrDiscriminator.
struct SrDiscriminatorOptions {
  int64_t height = 240, width_px = 256;  ///< the high-resolution image size it judges (multiples of 16)
  int64_t width = 3;                     ///< the seed's c (hidden width c^2, last layer c)
};

/// Seed 002's discriminator (see the file comment): (N, 1, H, W) -> (N) probabilities in (0, 1).
struct SrDiscriminatorImpl : torch::nn::Module {
  explicit SrDiscriminatorImpl(SrDiscriminatorOptions o = {}) : options(o) {
    namespace nn = torch::nn;
    require(o.height > 0 && o.width_px > 0 && o.height % 16 == 0 && o.width_px % 16 == 0 && o.width >= 1,
            "SrDiscriminator: the image size must be positive multiples of 16 and width >= 1, got " +
                std::to_string(o.height) + " x " + std::to_string(o.width_px));
    const int64_t c = o.width, c2 = c * c;
    const int64_t in[6] = {1, c2, c2, c2, c2, c2}, out[6] = {c2, c2, c2, c2, c2, c};
    for (int i = 0; i < 6; ++i) {
      nn::Sequential layer;
      layer->push_back(nn::Conv2d(nn::Conv2dOptions(in[i], out[i], 3).stride(i >= 1 && i <= 4 ? 2 : 1).padding(1)));
      if (i > 0) layer->push_back(nn::BatchNorm2d(out[i]));
      layer->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
      body->push_back(layer);
    }
    register_module("body", body);
    fc = register_module("fc", nn::Linear(c * (o.height / 16) * (o.width_px / 16), 1));
  }
  /// x: (N, 1, H, W) with the construction size -> (N) in (0, 1). Throws Error for another size.
  torch::Tensor forward(const torch::Tensor& x) {
    require(x.dim() == 4 && x.size(1) == 1 && x.size(2) == options.height && x.size(3) == options.width_px,
            "SrDiscriminator: input must be (N, 1, " + std::to_string(options.height) + ", " +
                std::to_string(options.width_px) + ")");
    torch::Tensor h = x;
    for (auto& layer : *body) h = layer->as<torch::nn::Sequential>()->forward(h);
    return torch::sigmoid(fc->forward(h.flatten(1))).squeeze(1);
  }
  SrDiscriminatorOptions options;
  torch::nn::ModuleList body;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(SrDiscriminator);

/// Options of SrResNet.
struct SrResNetOptions {
  int64_t features = 32;  ///< channels of the residual blocks (>= 1)
  int64_t blocks = 4;     ///< residual blocks (>= 1)
  int64_t scale = 4;      ///< upsampling factor, a power of 2 (>= 2)
};

/// The PSNR-oriented residual network (see the file comment): (N, 1, h, w) -> (N, 1, s h, s w) =
/// bicubic(x) + tail(shuffle(... body(head(x)))).
struct SrResNetImpl : torch::nn::Module {
  explicit SrResNetImpl(SrResNetOptions o = {}) : options(o) {
    namespace nn = torch::nn;
    require(o.features >= 1 && o.blocks >= 1 && o.scale >= 2 && (o.scale & (o.scale - 1)) == 0,
            "SrResNet: features and blocks must be >= 1 and scale a power of 2 >= 2");
    const int64_t f = o.features;
    head = register_module("head", nn::Conv2d(nn::Conv2dOptions(1, f, 3).padding(1)));
    for (int64_t b = 0; b < o.blocks; ++b)
      blocks->push_back(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(f, f, 3).padding(1)), nn::ReLU(),
                                       nn::Conv2d(nn::Conv2dOptions(f, f, 3).padding(1))));
    register_module("blocks", blocks);
    for (int64_t s = o.scale; s > 1; s /= 2) {
      upsample->push_back(nn::Conv2d(nn::Conv2dOptions(f, 4 * f, 3).padding(1)));
      upsample->push_back(nn::PixelShuffle(2));
      upsample->push_back(nn::ReLU());
    }
    register_module("upsample", upsample);
    tail = register_module("tail", nn::Conv2d(nn::Conv2dOptions(f, 1, 3).padding(1)));
  }
  /// x: (N, 1, h, w) -> (N, 1, s h, s w). Throws Error for another channel count.
  torch::Tensor forward(const torch::Tensor& x) {
    require(x.dim() == 4 && x.size(1) == 1, "SrResNet: input must be (N, 1, h, w)");
    namespace F = torch::nn::functional;
    auto h = head->forward(x);
    auto r = h;
    for (auto& b : *blocks) r = r + b->as<torch::nn::Sequential>()->forward(r);
    const auto up = F::interpolate(x, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{x.size(2) * options.scale, x.size(3) * options.scale})
                                          .mode(torch::kBicubic)
                                          .align_corners(false));
    return up + tail->forward(upsample->forward(r + h));
  }
  SrResNetOptions options;
  torch::nn::Conv2d head{nullptr}, tail{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Sequential upsample;
};
TORCH_MODULE(SrResNet);

/// model.json of the SR networks ("architecture" "sr-dcgan" / "sr-resnet"; registry.hpp reads them back).
inline nlohmann::json network_json(const SrDcganOptions& o) {
  return {{"architecture", "sr-dcgan"}, {"width", o.width}, {"scale", 4}, {"input", kLowResolutionInput}};
}
inline nlohmann::json network_json(const SrResNetOptions& o) {
  return {{"architecture", "sr-resnet"}, {"features", o.features}, {"blocks", o.blocks},
          {"scale", o.scale},           {"input", kLowResolutionInput}};
}

/// The network input of a low-resolution acquisition: u (frames, 1, h, w) = (|low| / m - 0.5) / 0.5 with |low|
/// the low-resolution magnitude in image units (solvers::low_resolution_image_in_image_units) and m its maximum
/// over the cine (1 when zero). Throws Error as solvers::require_low_resolution.
struct SrInput {
  torch::Tensor u;
  float max = 1.0f;
  /// Maps a high-resolution magnitude (same units as the acquisition's image) to the network's units.
  torch::Tensor normalise(const torch::Tensor& image) const { return (image / max - 0.5) / 0.5; }
  /// The inverse of normalise.
  torch::Tensor denormalise(const torch::Tensor& v) const { return (v * 0.5 + 0.5) * max; }
};

/// Builds SrInput from a low-resolution magnitude image `low` (lx, ly, 1, frames, 1) in image units.
inline SrInput sr_input(const RArray& low) {
  auto t = Torch::from_eigen(low);  // (1, frames, 1, ly, lx)
  t = t.reshape({t.size(1), 1, t.size(3), t.size(4)});
  const float m = t.max().item<float>();
  SrInput in;
  in.max = m > 0 ? m : 1.0f;
  in.u = in.normalise(t);
  return in;
}

/// A trained super-resolution network as a Reconstructor: low-resolution acquisitions (any LowResolution model)
/// at the network's factor, one or more frames (each frame on its own), coils combined by root-sum-of-squares.
/// Returns the high-resolution magnitude (nx, ny, 1, frames, 1) as a complex array with zero imaginary part.
/// Throws Error for acquisitions that are not low-resolution and a factor other than the network's.
template <class Net>
class SrNetworkReconstructor : public Reconstructor {
 public:
  SrNetworkReconstructor(Net net, std::string name, nlohmann::json params, int64_t scale)
      : net_(std::move(net)), name_(std::move(name)), params_(std::move(params)), scale_(scale) {}
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override { return params_; }
  CArray reconstruct(const Acquisition& acq) override {
    solvers::require_low_resolution(acq, name_);
    require(acq.resolution_factor() == scale_, name_ + ": the network upsamples by " + std::to_string(scale_) +
                                                   ", the acquisition's factor is " +
                                                   std::to_string(acq.resolution_factor()));
    const SrInput in = sr_input(solvers::low_resolution_image_in_image_units(acq).abs());
    torch::NoGradGuard no_grad;
    net_->eval();
    const auto v = net_->forward(in.u);  // (frames, 1, ny, nx)
    const auto out = in.denormalise(v).clamp_min(0).reshape({1, v.size(0), 1, v.size(2), v.size(3)});
    return to_complex(Torch::to_eigen_real(out));
  }

 private:
  Net net_;
  std::string name_;
  nlohmann::json params_;
  int64_t scale_;
};

namespace detail {
/// The value of a scalar tensor (a non-template helper for the templated task below).
inline double scalar_value(const torch::Tensor& t) { return t.item<double>(); }
}  // namespace detail

/// Weights of the generator loss of sr_gan_task.
struct SrGanLoss {
  double content_weight = 0.0;      ///< L1 weight (seed 002: 0, adversarial loss only; SRGAN-style: 1)
  double adversarial_weight = 1.0;  ///< BCE weight (seed 002: 1; SRGAN-style: 1e-3)
};

/// The adversarial super-resolution task (see the file comment): trainables "generator" (the first: final.pt)
/// and "discriminator" (final_discriminator.pt), Adam with betas (0.5, 0.999), learning rates
/// generator_lr(epoch) and discriminator_lr(epoch). Batches: input (N, 1, h, w) and target (N, 1, H, W) in the
/// normalised units (kLowResolutionInput). The returned loss is the generator's total loss; the validation loss
/// is L1(G(u), x). Throws Error (from the step) when the generator's output and the targets differ in shape.
template <class Generator>
TrainingTask sr_gan_task(Generator& generator, SrDiscriminator& discriminator, SrGanLoss loss,
                         std::function<double(int)> generator_lr, std::function<double(int)> discriminator_lr) {
  require(loss.content_weight >= 0 && loss.adversarial_weight > 0,
          "sr_gan_task: the adversarial weight must be > 0 and the content weight >= 0");
  auto adam = [](std::vector<torch::Tensor> params, double lr) -> std::unique_ptr<torch::optim::Optimizer> {
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).betas({0.5, 0.999}));
  };
  TrainingTask task;
  task.name = "sr-gan";
  task.trainables.push_back(Trainable{.name = "generator",
                                      .module = generator.ptr().get(),
                                      .make_optimizer = adam,
                                      .learning_rate = std::move(generator_lr)});
  task.trainables.push_back(Trainable{.name = "discriminator",
                                      .module = discriminator.ptr().get(),
                                      .make_optimizer = adam,
                                      .learning_rate = std::move(discriminator_lr)});
  task.step = [generator, discriminator, loss](const Batch& b, StepContext& ctx) mutable {
    namespace F = torch::nn::functional;
    auto& g_opt = ctx.optimizer(0);
    auto& d_opt = ctx.optimizer(1);
    const auto fake = generator->forward(b.input);
    require(fake.sizes() == b.target.sizes(), "sr_gan_task: the generator maps " + detail::shape_string(b.input) +
                                                  " to " + detail::shape_string(fake) + ", the targets are " +
                                                  detail::shape_string(b.target));
    // Discriminator: real -> 1, generated -> 0.
    d_opt.zero_grad();
    const auto p_real = discriminator->forward(b.target);
    const auto p_fake = discriminator->forward(fake.detach());
    const auto d_loss = F::binary_cross_entropy(p_real, torch::ones_like(p_real)) +
                        F::binary_cross_entropy(p_fake, torch::zeros_like(p_fake));
    ctx.require_finite_loss(detail::scalar_value(d_loss));
    d_loss.backward();
    d_opt.step();
    // Generator: fool the updated discriminator (+ content).
    g_opt.zero_grad();
    const auto p_gen = discriminator->forward(fake);
    const auto adversarial = F::binary_cross_entropy(p_gen, torch::ones_like(p_gen));
    const auto content = torch::l1_loss(fake, b.target);
    const auto g_loss = loss.adversarial_weight * adversarial + loss.content_weight * content;
    ctx.require_finite_loss(detail::scalar_value(g_loss));
    g_loss.backward();
    g_opt.step();
    ctx.record("d_loss", detail::scalar_value(d_loss));
    ctx.record("g_adversarial", detail::scalar_value(adversarial));
    ctx.record("g_content", detail::scalar_value(content));
    return g_loss.detach();
  };
  task.validation_loss = [generator](const Batch& b) mutable {
    return torch::l1_loss(generator->forward(b.input), b.target);
  };
  return task;
}

/// Seed 002's learning-rate schedules: generator 3e-5 x 0.95^epoch, discriminator 2e-5 x 0.96^epoch (epoch
/// 0-based), each times `factor` (> 0; 1 is the seed's).
inline std::function<double(int)> seed002_generator_lr(double factor = 1.0) {
  return [factor](int e) { return factor * 3e-5 * std::pow(0.95, e); };
}
inline std::function<double(int)> seed002_discriminator_lr(double factor = 1.0) {
  return [factor](int e) { return factor * 2e-5 * std::pow(0.96, e); };
}

}  // namespace reconlab::networks
