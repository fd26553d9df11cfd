#pragma once
/// @file unet.hpp
/// The 2D U-Net of the fastMRI baseline (Ronneberger, Fischer and Brox, "U-Net: Convolutional networks for
/// biomedical image segmentation", MICCAI 2015; as adapted in fastMRI's `models/unet.py`, Zbontar et al.,
/// "fastMRI: An open dataset and benchmarks for accelerated MRI", arXiv:1811.08839, 2018).
///
/// Tensors are NCHW float32: (batch, channels, rows = y, columns = x), the layout of a contiguous torch tensor that
/// shares its bytes with reconlab's column-major (x, y, ...) arrays (see reconlab/array.hpp).
///
/// The network is channel-agnostic. reconlab's studies feed it either
///   - magnitude images with one channel, normalised by the caller to [0, 1] (e.g. divided by the maximum of the
///     zero-filled image; the network does not normalise its input), or
///   - complex images as two channels (real, imaginary), scaled by the caller.
/// The output has `out_channels` channels and the input's height and width.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "reconlab/error.hpp"

namespace reconlab::networks {

/// How UnetImpl::forward pads an input whose height or width is not a multiple of 2^num_pool_layers.
enum class UnetPadding {
  reflect,  ///< mirror the image at its borders (no new edges); falls back to zeros where the image is too small
  zero,     ///< pad with zeros (what fastMRI's NormUnet does before its U-Net)
};

/// Options of UnetImpl (an aggregate: `UnetOptions{.in_channels = 2, .out_channels = 2, .base_channels = 32}`).
struct UnetOptions {
  /// Channels of the input tensor (>= 1): 1 for magnitude images, 2 for (real, imaginary).
  int64_t in_channels = 1;
  /// Channels of the output tensor (>= 1).
  int64_t out_channels = 1;
  /// Channels of the first block ("chans" in fastMRI); level k has base_channels * 2^k (>= 1, default 16).
  int64_t base_channels = 16;
  /// Number of 2x2 max-pool downsamplings ("num_pool_layers" in fastMRI; 1..10, default 4).
  int64_t num_pool_layers = 4;
  /// Dropout2d probability after each 3x3 convolution, in [0, 1) (default 0: no dropout).
  double drop_prob = 0.0;
  /// When true, forward returns input[:, :out_channels] + unet(input) (residual learning, e.g. Jin et al. 2017,
  /// "Deep convolutional neural network for inverse problems in imaging"); requires out_channels <= in_channels.
  bool residual = false;
  /// Padding for sizes not divisible by 2^num_pool_layers (default reflect).
  UnetPadding padding = UnetPadding::reflect;
};

/// One U-Net block: two times (3x3 convolution without bias, padding 1; InstanceNorm2d without affine parameters;
/// LeakyReLU with slope 0.2; Dropout2d(drop_prob)). fastMRI's `ConvBlock`.
/// Input (N, in_channels, H, W) float32 -> output (N, out_channels, H, W).
class UnetConvBlockImpl : public torch::nn::Module {
 public:
  /// Throws reconlab::Error if a channel count is < 1 or drop_prob is outside [0, 1).
  UnetConvBlockImpl(int64_t in_channels, int64_t out_channels, double drop_prob) {
    require(in_channels >= 1 && out_channels >= 1,
            "UnetConvBlock: channel counts must be >= 1, got " + std::to_string(in_channels) + " -> " +
                std::to_string(out_channels));
    require(drop_prob >= 0.0 && drop_prob < 1.0,
            "UnetConvBlock: drop_prob must lie in [0, 1), got " + std::to_string(drop_prob));
    namespace nn = torch::nn;
    layers_ = register_module(
        "layers",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 3).padding(1).bias(false)),
                       nn::InstanceNorm2d(nn::InstanceNorm2dOptions(out_channels)),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       nn::Dropout2d(nn::Dropout2dOptions(drop_prob)),
                       nn::Conv2d(nn::Conv2dOptions(out_channels, out_channels, 3).padding(1).bias(false)),
                       nn::InstanceNorm2d(nn::InstanceNorm2dOptions(out_channels)),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       nn::Dropout2d(nn::Dropout2dOptions(drop_prob))));
  }

  /// (N, in_channels, H, W) -> (N, out_channels, H, W).
  torch::Tensor forward(const torch::Tensor& x) { return layers_->forward(x); }

 private:
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(UnetConvBlock);

/// Upsampling block: 2x2 transposed convolution with stride 2 (no bias), InstanceNorm2d, LeakyReLU(0.2).
/// fastMRI's `TransposeConvBlock`. Input (N, in_channels, H, W) -> output (N, out_channels, 2H, 2W).
class UnetTransposeConvBlockImpl : public torch::nn::Module {
 public:
  /// Throws reconlab::Error if a channel count is < 1.
  UnetTransposeConvBlockImpl(int64_t in_channels, int64_t out_channels) {
    require(in_channels >= 1 && out_channels >= 1,
            "UnetTransposeConvBlock: channel counts must be >= 1, got " + std::to_string(in_channels) + " -> " +
                std::to_string(out_channels));
    namespace nn = torch::nn;
    layers_ = register_module(
        "layers", nn::Sequential(nn::ConvTranspose2d(
                                     nn::ConvTranspose2dOptions(in_channels, out_channels, 2).stride(2).bias(false)),
                                 nn::InstanceNorm2d(nn::InstanceNorm2dOptions(out_channels)),
                                 nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))));
  }

  /// (N, in_channels, H, W) -> (N, out_channels, 2H, 2W).
  torch::Tensor forward(const torch::Tensor& x) { return layers_->forward(x); }

 private:
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(UnetTransposeConvBlock);

/// 2D U-Net (Ronneberger et al. 2015) in the form of fastMRI's `Unet` (Zbontar et al. 2018):
///   - encoder: num_pool_layers UnetConvBlocks with base_channels * 2^k channels, each followed by 2x2 max pooling
///     (the 2018 fastMRI baseline pooled with max; today's fastMRI code uses average pooling);
///   - bottleneck: a UnetConvBlock with base_channels * 2^num_pool_layers channels;
///   - decoder: per level a UnetTransposeConvBlock (2x2, stride 2) halving the channels, concatenation with the
///     encoder's skip connection (upsampled first, skip second), and a UnetConvBlock;
///   - head: one 1x1 convolution (with bias) to out_channels, as in fastMRI's current `Unet`.
/// Sizes that are not multiples of 2^num_pool_layers are padded (reflect or zero, split evenly between both
/// sides, as fastMRI's NormUnet pads) up to the next multiple inside forward, and the output is cropped back, so
/// every H, W >= 1 works. With the padded size P, the bottleneck sees P / 2^num_pool_layers pixels per side.
///
/// Input (N, in_channels, H, W) float32, any value range (see the file comment for what the studies feed);
/// output (N, out_channels, H, W), unbounded (no final activation).
class UnetImpl : public torch::nn::Module {
 public:
  /// Builds the network; weights use LibTorch's default (Kaiming-uniform) initialisation from the global torch
  /// generator, so call torch::manual_seed first for reproducible weights.
  /// Throws reconlab::Error for channel counts < 1, num_pool_layers outside 1..10, drop_prob outside [0, 1), or
  /// residual with out_channels > in_channels.
  explicit UnetImpl(const UnetOptions& options = {}) : options_(options) {
    const auto& o = options_;
    require(o.in_channels >= 1 && o.out_channels >= 1 && o.base_channels >= 1,
            "Unet: in_channels, out_channels and base_channels must be >= 1, got " + std::to_string(o.in_channels) +
                ", " + std::to_string(o.out_channels) + ", " + std::to_string(o.base_channels));
    require(o.num_pool_layers >= 1 && o.num_pool_layers <= 10,
            "Unet: num_pool_layers must lie in 1..10, got " + std::to_string(o.num_pool_layers));
    require(o.drop_prob >= 0.0 && o.drop_prob < 1.0,
            "Unet: drop_prob must lie in [0, 1), got " + std::to_string(o.drop_prob));
    require(!o.residual || o.out_channels <= o.in_channels,
            "Unet: residual needs out_channels <= in_channels, got out_channels " + std::to_string(o.out_channels) +
                " and in_channels " + std::to_string(o.in_channels));

    down_ = register_module("down", torch::nn::ModuleList());
    up_transpose_ = register_module("up_transpose", torch::nn::ModuleList());
    up_conv_ = register_module("up_conv", torch::nn::ModuleList());

    int64_t ch = o.base_channels;
    down_->push_back(UnetConvBlock(o.in_channels, ch, o.drop_prob));
    for (int64_t k = 1; k < o.num_pool_layers; ++k) {
      down_->push_back(UnetConvBlock(ch, ch * 2, o.drop_prob));
      ch *= 2;
    }
    bottleneck_ = register_module("bottleneck", UnetConvBlock(ch, ch * 2, o.drop_prob));
    for (int64_t k = 0; k < o.num_pool_layers; ++k) {
      up_transpose_->push_back(UnetTransposeConvBlock(ch * 2, ch));
      up_conv_->push_back(UnetConvBlock(ch * 2, ch, o.drop_prob));
      ch /= 2;
    }
    head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.base_channels, o.out_channels, 1)));
  }

  /// (N, in_channels, H, W) float -> (N, out_channels, H, W). Throws reconlab::Error if the input is not 4-D with
  /// in_channels channels and H, W >= 1.
  torch::Tensor forward(const torch::Tensor& input) {
    const auto& o = options_;
    require(input.defined() && input.dim() == 4,
            "Unet: expected an input of shape (N, C, H, W), got " +
                (input.defined() ? std::to_string(input.dim()) + " dimensions" : std::string("an undefined tensor")));
    require(input.size(1) == o.in_channels,
            "Unet: expected " + std::to_string(o.in_channels) + " input channels, got " +
                std::to_string(input.size(1)));
    const int64_t h = input.size(2), w = input.size(3);
    require(h >= 1 && w >= 1 && input.size(0) >= 1, "Unet: empty input");

    // Pad up to a multiple of 2^num_pool_layers, evenly on both sides.
    const int64_t m = int64_t{1} << o.num_pool_layers;
    const int64_t ph = (h + m - 1) / m * m - h, pw = (w + m - 1) / m * m - w;
    const int64_t top = ph / 2, left = pw / 2;
    torch::Tensor x = input;
    if (ph > 0 || pw > 0) {
      namespace F = torch::nn::functional;
      // Reflection needs each pad to be smaller than the size it mirrors.
      const bool can_reflect = (ph - top) < h && (pw - left) < w;
      auto pad = F::PadFuncOptions({left, pw - left, top, ph - top});
      if (o.padding == UnetPadding::reflect && can_reflect)
        pad.mode(torch::kReflect);
      else
        pad.mode(torch::kConstant);
      x = F::pad(x, pad);
    }

    std::vector<torch::Tensor> skips;
    skips.reserve(static_cast<std::size_t>(o.num_pool_layers));
    for (const auto& block : *down_) {
      x = block->as<UnetConvBlockImpl>()->forward(x);
      skips.push_back(x);
      x = torch::max_pool2d(x, {2, 2}, {2, 2});
    }
    x = bottleneck_->forward(x);
    for (std::size_t k = 0; k < up_conv_->size(); ++k) {
      x = up_transpose_[k]->as<UnetTransposeConvBlockImpl>()->forward(x);
      x = torch::cat({x, skips.back()}, 1);
      skips.pop_back();
      x = up_conv_[k]->as<UnetConvBlockImpl>()->forward(x);
    }
    x = head_->forward(x);

    if (ph > 0 || pw > 0) x = x.slice(2, top, top + h).slice(3, left, left + w);
    if (o.residual) x = x + input.slice(1, 0, o.out_channels);
    return x;
  }

  /// The options the network was built with.
  const UnetOptions& options() const { return options_; }

 private:
  UnetOptions options_;
  torch::nn::ModuleList down_{nullptr}, up_transpose_{nullptr}, up_conv_{nullptr};
  UnetConvBlock bottleneck_{nullptr};
  torch::nn::Conv2d head_{nullptr};
};
/// ModuleHolder of UnetImpl: `Unet net(UnetOptions{.in_channels = 1, .out_channels = 1});`.
TORCH_MODULE(Unet);

}  // namespace reconlab::networks
