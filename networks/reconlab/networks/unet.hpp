#pragma once
/// @file unet.hpp
/// The U-Net of the fastMRI baseline (Ronneberger, Fischer and Brox, "U-Net: Convolutional networks for biomedical
/// image segmentation", MICCAI 2015; as adapted in fastMRI's `models/unet.py`, Zbontar et al., "fastMRI: An open
/// dataset and benchmarks for accelerated MRI", arXiv:1811.08839, 2018), built from blocks templated on the
/// spatial rank: `Unet` (2D) and `Unet3d` (3D) share one implementation, UnetNdImpl<D>.
///
/// Tensors are float32 NCHW for 2D: (batch, channels, rows = y, columns = x), the layout of a contiguous torch
/// tensor that shares its bytes with reconlab's column-major (x, y, ...) arrays (see reconlab/array.hpp); NCDHW
/// (depth = z or frames) for 3D.
///
/// The network is channel-agnostic. reconlab's studies feed it either
///   - magnitude images with one channel, normalised by the caller to [0, 1] (e.g. divided by the maximum of the
///     zero-filled image; the network does not normalise its input), or
///   - complex images as two channels (real, imaginary), scaled by the caller.
/// The output has `out_channels` channels and the input's height and width.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "reconlab/error.hpp"

namespace reconlab::networks {

/// How UnetNdImpl::forward pads an input whose spatial size is not a multiple of 2^num_pool_layers.
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

/// The layers of a U-Net of spatial rank D (2: images (N, C, H, W); 3: volumes (N, C, D, H, W)): convolutions,
/// transposed convolutions, instance norm, channel dropout and 2x max pooling of that rank.
template <int D>
struct UnetLayers;

template <>
struct UnetLayers<2> {
  using Conv = torch::nn::Conv2d;
  using ConvOptions = torch::nn::Conv2dOptions;
  using ConvTranspose = torch::nn::ConvTranspose2d;
  using ConvTransposeOptions = torch::nn::ConvTranspose2dOptions;
  using InstanceNorm = torch::nn::InstanceNorm2d;
  using InstanceNormOptions = torch::nn::InstanceNorm2dOptions;
  using Dropout = torch::nn::Dropout2d;
  using DropoutOptions = torch::nn::Dropout2dOptions;
  static torch::Tensor max_pool(const torch::Tensor& x) { return torch::max_pool2d(x, {2, 2}, {2, 2}); }
  static constexpr const char* name = "Unet";
  static constexpr const char* shape = "(N, C, H, W)";
};

template <>
struct UnetLayers<3> {
  using Conv = torch::nn::Conv3d;
  using ConvOptions = torch::nn::Conv3dOptions;
  using ConvTranspose = torch::nn::ConvTranspose3d;
  using ConvTransposeOptions = torch::nn::ConvTranspose3dOptions;
  using InstanceNorm = torch::nn::InstanceNorm3d;
  using InstanceNormOptions = torch::nn::InstanceNorm3dOptions;
  using Dropout = torch::nn::Dropout3d;
  using DropoutOptions = torch::nn::Dropout3dOptions;
  static torch::Tensor max_pool(const torch::Tensor& x) { return torch::max_pool3d(x, {2, 2, 2}, {2, 2, 2}); }
  static constexpr const char* name = "Unet3d";
  static constexpr const char* shape = "(N, C, D, H, W)";
};

/// One U-Net block of spatial rank D: two times (3^D convolution without bias, padding 1; instance norm without
/// affine parameters; LeakyReLU with slope 0.2; channel dropout (drop_prob)). fastMRI's `ConvBlock` (D = 2).
/// Input (N, in_channels, spatial...) float32 -> output (N, out_channels, spatial...).
template <int D>
class UnetConvBlockNdImpl : public torch::nn::Module {
 public:
  /// Throws reconlab::Error if a channel count is < 1 or drop_prob is outside [0, 1).
  UnetConvBlockNdImpl(int64_t in_channels, int64_t out_channels, double drop_prob) {
    require(in_channels >= 1 && out_channels >= 1,
            "UnetConvBlock: channel counts must be >= 1, got " + std::to_string(in_channels) + " -> " +
                std::to_string(out_channels));
    require(drop_prob >= 0.0 && drop_prob < 1.0,
            "UnetConvBlock: drop_prob must lie in [0, 1), got " + std::to_string(drop_prob));
    using L = UnetLayers<D>;
    namespace nn = torch::nn;
    layers_ = register_module(
        "layers",
        nn::Sequential(typename L::Conv(typename L::ConvOptions(in_channels, out_channels, 3).padding(1).bias(false)),
                       typename L::InstanceNorm(typename L::InstanceNormOptions(out_channels)),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       typename L::Dropout(typename L::DropoutOptions(drop_prob)),
                       typename L::Conv(typename L::ConvOptions(out_channels, out_channels, 3).padding(1).bias(false)),
                       typename L::InstanceNorm(typename L::InstanceNormOptions(out_channels)),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       typename L::Dropout(typename L::DropoutOptions(drop_prob))));
  }

  /// (N, in_channels, spatial...) -> (N, out_channels, spatial...).
  torch::Tensor forward(const torch::Tensor& x) { return layers_->forward(x); }

 private:
  torch::nn::Sequential layers_{nullptr};
};

/// Upsampling block of spatial rank D: 2^D transposed convolution with stride 2 (no bias), instance norm,
/// LeakyReLU(0.2). fastMRI's `TransposeConvBlock` (D = 2). Input (N, in_channels, S...) -> (N, out_channels, 2 S...).
template <int D>
class UnetTransposeConvBlockNdImpl : public torch::nn::Module {
 public:
  /// Throws reconlab::Error if a channel count is < 1.
  UnetTransposeConvBlockNdImpl(int64_t in_channels, int64_t out_channels) {
    require(in_channels >= 1 && out_channels >= 1,
            "UnetTransposeConvBlock: channel counts must be >= 1, got " + std::to_string(in_channels) + " -> " +
                std::to_string(out_channels));
    using L = UnetLayers<D>;
    namespace nn = torch::nn;
    layers_ = register_module(
        "layers",
        nn::Sequential(typename L::ConvTranspose(
                           typename L::ConvTransposeOptions(in_channels, out_channels, 2).stride(2).bias(false)),
                       typename L::InstanceNorm(typename L::InstanceNormOptions(out_channels)),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))));
  }

  /// (N, in_channels, S...) -> (N, out_channels, 2 S...).
  torch::Tensor forward(const torch::Tensor& x) { return layers_->forward(x); }

 private:
  torch::nn::Sequential layers_{nullptr};
};

/// ModuleHolders of the blocks (what TORCH_MODULE defines, for a template).
template <int D>
class UnetConvBlockNd : public torch::nn::ModuleHolder<UnetConvBlockNdImpl<D>> {
 public:
  using torch::nn::ModuleHolder<UnetConvBlockNdImpl<D>>::ModuleHolder;
  using Impl = UnetConvBlockNdImpl<D>;
};
template <int D>
class UnetTransposeConvBlockNd : public torch::nn::ModuleHolder<UnetTransposeConvBlockNdImpl<D>> {
 public:
  using torch::nn::ModuleHolder<UnetTransposeConvBlockNdImpl<D>>::ModuleHolder;
  using Impl = UnetTransposeConvBlockNdImpl<D>;
};
/// The 2D blocks under their historical names.
using UnetConvBlockImpl = UnetConvBlockNdImpl<2>;
using UnetConvBlock = UnetConvBlockNd<2>;
using UnetTransposeConvBlockImpl = UnetTransposeConvBlockNdImpl<2>;
using UnetTransposeConvBlock = UnetTransposeConvBlockNd<2>;

/// U-Net of spatial rank D (Ronneberger et al. 2015) in the form of fastMRI's `Unet` (Zbontar et al. 2018); D = 2
/// is `Unet` (images), D = 3 is `Unet3d` (volumes; Cicek et al., "3D U-Net: learning dense volumetric segmentation
/// from sparse annotation", MICCAI 2016, with fastMRI's blocks):
///   - encoder: num_pool_layers UnetConvBlocks with base_channels * 2^k channels, each followed by 2x max pooling
///     along every spatial axis (the 2018 fastMRI baseline pooled with max; today's fastMRI code uses average
///     pooling);
///   - bottleneck: a UnetConvBlock with base_channels * 2^num_pool_layers channels;
///   - decoder: per level a transposed-convolution block (kernel 2, stride 2) halving the channels, concatenation
///     with the encoder's skip connection (upsampled first, skip second), and a UnetConvBlock;
///   - head: one 1x1(x1) convolution (with bias) to out_channels, as in fastMRI's current `Unet`.
/// Spatial sizes that are not multiples of 2^num_pool_layers are padded (reflect or zero, split evenly between
/// both sides, as fastMRI's NormUnet pads) up to the next multiple inside forward, and the output is cropped back,
/// so every size >= 1 works. With the padded size P, the bottleneck sees P / 2^num_pool_layers samples per axis.
///
/// Input (N, in_channels, spatial...) float32, any value range (see the file comment for what the studies feed);
/// output (N, out_channels, spatial...), unbounded (no final activation). Parameter names (what final.pt stores)
/// do not depend on D: down.k.layers.i, bottleneck.layers.i, up_transpose.k.layers.0, up_conv.k.layers.i, head.
template <int D>
class UnetNdImpl : public torch::nn::Module {
  static_assert(D == 2 || D == 3, "UnetNd: spatial rank 2 or 3");

 public:
  /// Builds the network; weights use LibTorch's default (Kaiming-uniform) initialisation from the global torch
  /// generator, so call torch::manual_seed first for reproducible weights (LibTorch seeds that generator from
  /// the operating system's entropy at start-up).
  /// Throws reconlab::Error for channel counts < 1, num_pool_layers outside 1..10, drop_prob outside [0, 1), or
  /// residual with out_channels > in_channels.
  explicit UnetNdImpl(const UnetOptions& options = {}) : options_(options) {
    const auto& o = options_;
    const std::string name = UnetLayers<D>::name;
    require(o.in_channels >= 1 && o.out_channels >= 1 && o.base_channels >= 1,
            name + ": in_channels, out_channels and base_channels must be >= 1, got " +
                std::to_string(o.in_channels) + ", " + std::to_string(o.out_channels) + ", " +
                std::to_string(o.base_channels));
    require(o.num_pool_layers >= 1 && o.num_pool_layers <= 10,
            name + ": num_pool_layers must lie in 1..10, got " + std::to_string(o.num_pool_layers));
    require(o.drop_prob >= 0.0 && o.drop_prob < 1.0,
            name + ": drop_prob must lie in [0, 1), got " + std::to_string(o.drop_prob));
    require(!o.residual || o.out_channels <= o.in_channels,
            name + ": residual needs out_channels <= in_channels, got out_channels " +
                std::to_string(o.out_channels) + " and in_channels " + std::to_string(o.in_channels));

    down_ = this->register_module("down", torch::nn::ModuleList());
    up_transpose_ = this->register_module("up_transpose", torch::nn::ModuleList());
    up_conv_ = this->register_module("up_conv", torch::nn::ModuleList());

    // Construction order fixes the order in which the global generator initialises the weights: keep it.
    int64_t ch = o.base_channels;
    down_->push_back(UnetConvBlockNd<D>(o.in_channels, ch, o.drop_prob));
    for (int64_t k = 1; k < o.num_pool_layers; ++k) {
      down_->push_back(UnetConvBlockNd<D>(ch, ch * 2, o.drop_prob));
      ch *= 2;
    }
    bottleneck_ = this->register_module("bottleneck", UnetConvBlockNd<D>(ch, ch * 2, o.drop_prob));
    for (int64_t k = 0; k < o.num_pool_layers; ++k) {
      up_transpose_->push_back(UnetTransposeConvBlockNd<D>(ch * 2, ch));
      up_conv_->push_back(UnetConvBlockNd<D>(ch * 2, ch, o.drop_prob));
      ch /= 2;
    }
    head_ = this->register_module(
        "head", typename UnetLayers<D>::Conv(typename UnetLayers<D>::ConvOptions(o.base_channels, o.out_channels, 1)));
  }

  /// (N, in_channels, spatial...) float -> (N, out_channels, spatial...). Throws reconlab::Error if the input is
  /// not (D + 2)-dimensional with in_channels channels and non-empty.
  torch::Tensor forward(const torch::Tensor& input) {
    const auto& o = options_;
    const std::string name = UnetLayers<D>::name;
    require(input.defined() && input.dim() == D + 2,
            name + ": expected an input of shape " + UnetLayers<D>::shape + ", got " +
                (input.defined() ? std::to_string(input.dim()) + " dimensions" : std::string("an undefined tensor")));
    require(input.size(1) == o.in_channels,
            name + ": expected " + std::to_string(o.in_channels) + " input channels, got " +
                std::to_string(input.size(1)));
    require(input.numel() >= 1, name + ": empty input");

    // Pad every spatial axis up to a multiple of 2^num_pool_layers, evenly on both sides.
    const int64_t m = int64_t{1} << o.num_pool_layers;
    std::array<int64_t, D> size{}, before{}, total{};
    bool padded = false, can_reflect = true;
    for (int a = 0; a < D; ++a) {
      size[a] = input.size(2 + a);
      total[a] = (size[a] + m - 1) / m * m - size[a];
      before[a] = total[a] / 2;
      padded = padded || total[a] > 0;
      can_reflect = can_reflect && (total[a] - before[a]) < size[a];  // reflection needs pads below the size
    }
    torch::Tensor x = input;
    if (padded) {
      namespace F = torch::nn::functional;
      std::vector<int64_t> pads;  // last axis first: (before, after) per axis
      for (int a = D - 1; a >= 0; --a) {
        pads.push_back(before[a]);
        pads.push_back(total[a] - before[a]);
      }
      auto pad = F::PadFuncOptions(pads);
      if (o.padding == UnetPadding::reflect && can_reflect)
        pad.mode(torch::kReflect);
      else
        pad.mode(torch::kConstant);
      x = F::pad(x, pad);
    }

    std::vector<torch::Tensor> skips;
    skips.reserve(static_cast<std::size_t>(o.num_pool_layers));
    for (const auto& block : *down_) {
      x = block->template as<UnetConvBlockNdImpl<D>>()->forward(x);
      skips.push_back(x);
      x = UnetLayers<D>::max_pool(x);
    }
    x = bottleneck_->forward(x);
    for (std::size_t k = 0; k < up_conv_->size(); ++k) {
      x = up_transpose_[k]->template as<UnetTransposeConvBlockNdImpl<D>>()->forward(x);
      x = torch::cat({x, skips.back()}, 1);
      skips.pop_back();
      x = up_conv_[k]->template as<UnetConvBlockNdImpl<D>>()->forward(x);
    }
    x = head_->forward(x);

    if (padded)
      for (int a = 0; a < D; ++a) x = x.slice(2 + a, before[a], before[a] + size[a]);
    if (o.residual) x = x + input.slice(1, 0, o.out_channels);
    return x;
  }

  /// The options the network was built with.
  const UnetOptions& options() const { return options_; }

 private:
  UnetOptions options_;
  torch::nn::ModuleList down_{nullptr}, up_transpose_{nullptr}, up_conv_{nullptr};
  UnetConvBlockNd<D> bottleneck_{nullptr};
  typename UnetLayers<D>::Conv head_{nullptr};
};

/// ModuleHolder of UnetNdImpl<D>: `UnetNd<3> net(UnetOptions{.in_channels = 1, .out_channels = 1});`.
template <int D>
class UnetNd : public torch::nn::ModuleHolder<UnetNdImpl<D>> {
 public:
  using torch::nn::ModuleHolder<UnetNdImpl<D>>::ModuleHolder;
  using Impl = UnetNdImpl<D>;
};

/// The 2D U-Net (images (N, C, H, W)): `Unet net(UnetOptions{.in_channels = 1, .out_channels = 1});`.
using UnetImpl = UnetNdImpl<2>;
using Unet = UnetNd<2>;
/// The 3D U-Net (volumes (N, C, D, H, W)).
using Unet3dImpl = UnetNdImpl<3>;
using Unet3d = UnetNd<3>;

}  // namespace reconlab::networks
