// Tests of reconlab::networks::Unet (fastMRI's U-Net, Zbontar et al. 2018): output shapes for sizes divisible and
// not divisible by 2^num_pool_layers, the residual option, padding modes, and argument errors; and of Unet3d, the
// same blocks at spatial rank 3: shapes, gradients, and equality with the 2D network per slice for lifted weights
// on a volume constant along depth.
#include <gtest/gtest.h>

#include "reconlab/networks/unet.hpp"

using reconlab::networks::Unet;
using reconlab::networks::UnetOptions;
using reconlab::networks::UnetPadding;

TEST(Unet, OutputShapeDivisibleBy16) {
  torch::manual_seed(0);
  Unet net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 4, .num_pool_layers = 4});
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::randn({2, 1, 128, 128}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 1, 128, 128}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(Unet, OutputShapeNotDivisibleBy16) {
  torch::manual_seed(0);
  for (auto padding : {UnetPadding::reflect, UnetPadding::zero}) {
    Unet net(UnetOptions{.in_channels = 2, .out_channels = 3, .base_channels = 4, .num_pool_layers = 4,
                         .padding = padding});
    torch::NoGradGuard no_grad;
    auto y = net->forward(torch::randn({1, 2, 181, 217}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 181, 217}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(Unet, TinyInputsFallBackToZeroPadding) {
  torch::manual_seed(0);
  // 5x3 with 3 pooling layers pads to 8x8: more than reflection allows, so zeros are used.
  Unet net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 2, .num_pool_layers = 3});
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::randn({1, 1, 5, 3}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 5, 3}));
}

TEST(Unet, GradientsReachEveryParameter) {
  torch::manual_seed(0);
  Unet net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 4, .num_pool_layers = 2});
  auto y = net->forward(torch::randn({2, 1, 30, 26}));
  y.square().mean().backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(Unet, ResidualAddsTheInput) {
  torch::manual_seed(0);
  Unet plain(UnetOptions{.in_channels = 2, .out_channels = 1, .base_channels = 4, .num_pool_layers = 2});
  torch::manual_seed(0);
  Unet residual(UnetOptions{.in_channels = 2, .out_channels = 1, .base_channels = 4, .num_pool_layers = 2,
                            .residual = true});
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 2, 20, 36});
  auto difference = residual->forward(x) - plain->forward(x);
  EXPECT_TRUE(torch::allclose(difference, x.slice(1, 0, 1), 1e-5, 1e-5));
}

TEST(Unet, RejectsBadOptionsAndInputs) {
  EXPECT_THROW(Unet(UnetOptions{.in_channels = 0}), reconlab::Error);
  EXPECT_THROW(Unet(UnetOptions{.num_pool_layers = 0}), reconlab::Error);
  EXPECT_THROW(Unet(UnetOptions{.drop_prob = 1.0}), reconlab::Error);
  EXPECT_THROW(Unet(UnetOptions{.in_channels = 1, .out_channels = 2, .residual = true}), reconlab::Error);
  Unet net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 2, .num_pool_layers = 1});
  torch::NoGradGuard no_grad;
  EXPECT_THROW(net->forward(torch::randn({1, 2, 8, 8})), reconlab::Error);
  EXPECT_THROW(net->forward(torch::randn({8, 8})), reconlab::Error);
}

// ---- 3D U-Net: the same blocks at spatial rank 3 ------------------------------------------------------------------

using reconlab::networks::Unet3d;

TEST(Unet3d, OutputShapesForDivisibleAndOddSizes) {
  torch::manual_seed(0);
  for (auto padding : {UnetPadding::reflect, UnetPadding::zero}) {
    Unet3d net(UnetOptions{.in_channels = 2, .out_channels = 3, .base_channels = 2, .num_pool_layers = 2,
                           .padding = padding});
    torch::NoGradGuard no_grad;
    for (auto sizes : {std::vector<int64_t>{1, 2, 8, 12, 16}, std::vector<int64_t>{2, 2, 5, 9, 7},
                       std::vector<int64_t>{1, 2, 1, 3, 2}}) {
      auto y = net->forward(torch::randn(sizes));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{sizes[0], 3, sizes[2], sizes[3], sizes[4]}));
      EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    }
  }
}

TEST(Unet3d, GradientsReachEveryParameterAndNamesMatchThe2dNet) {
  torch::manual_seed(0);
  const UnetOptions o{.in_channels = 1, .out_channels = 1, .base_channels = 2, .num_pool_layers = 2};
  Unet3d net(o);
  auto y = net->forward(torch::randn({2, 1, 6, 10, 9}));
  y.square().mean().backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    EXPECT_EQ(p.value().dim(), p.key().find("bias") != std::string::npos ? 1 : 5) << p.key();
  }
  // The same parameter names as the 2D network (checkpoints name tensors the same way at both ranks).
  Unet flat(o);
  auto a = net->named_parameters(), b = flat->named_parameters();
  EXPECT_EQ(a.keys(), b.keys());
}

TEST(Unet3d, WithLiftedWeightsOnAVolumeConstantAlongDepthEqualsThe2dNetPerSlice) {
  // Lift a 2D U-Net into 3D: every 3x3 kernel becomes a 3x3x3 kernel that is the 2D kernel at the central depth
  // and zero elsewhere (the 3D convolution is then the 2D one per slice), every 2x2 transposed kernel is repeated
  // at both depths (each output slice of the upsampling is the 2D upsampling), the 1x1 head becomes 1x1x1. On a
  // volume that is the same image at every depth, instance norm over (D, H, W) sees the image's statistics, max
  // pooling over depth pairs of equal slices is the 2D pooling, and reflect padding along depth keeps the volume
  // constant; so every output slice must equal the 2D network's output on the image. Any axis mix-up (padding
  // order, pooling or cropping of the wrong axes, skip concatenation, norm axes) breaks this.
  torch::manual_seed(3);
  const UnetOptions o{.in_channels = 2, .out_channels = 2, .base_channels = 3, .num_pool_layers = 2,
                      .residual = true};
  Unet flat(o);
  Unet3d deep(o);
  {
    torch::NoGradGuard g;
    auto p2 = flat->named_parameters();
    for (auto& p : deep->named_parameters()) {
      const torch::Tensor& w2 = p2[p.key()];
      torch::Tensor w3 = p.value();
      if (w3.dim() == 1) {
        w3.copy_(w2);
      } else if (w3.size(2) == 3) {  // 3x3x3 convolution: the 2D kernel at the centre
        w3.zero_();
        w3.select(2, 1).copy_(w2);
      } else {  // 2x2x2 transposed convolution (both depths) or 1x1x1 head
        for (int64_t d = 0; d < w3.size(2); ++d) w3.select(2, d).copy_(w2);
      }
    }
  }
  torch::NoGradGuard no_grad;
  const auto image = torch::randn({2, 2, 10, 14});  // sizes not multiples of 4: in-plane padding too
  const int64_t depth = 6;                           // padded to 8 along depth
  const auto volume = image.unsqueeze(2).expand({2, 2, depth, 10, 14}).contiguous();
  const auto y2 = flat->forward(image);
  const auto y3 = deep->forward(volume);
  ASSERT_EQ(y3.sizes(), (std::vector<int64_t>{2, 2, depth, 10, 14}));
  for (int64_t d = 0; d < depth; ++d)
    EXPECT_TRUE(torch::allclose(y3.select(2, d), y2, 1e-4, 1e-5))
        << "slice " << d << ": max difference " << (y3.select(2, d) - y2).abs().max().item<float>();
  // And the property is not vacuous: the output depends on the input.
  EXPECT_GT((y2 - image).abs().max().item<float>(), 1e-3);
}

TEST(Unet3d, RejectsInputsOfAnotherRank) {
  Unet3d net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 2, .num_pool_layers = 1});
  torch::NoGradGuard no_grad;
  try {
    net->forward(torch::randn({1, 1, 8, 8}));
    FAIL() << "expected reconlab::Error";
  } catch (const reconlab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("(N, C, D, H, W)"), std::string::npos) << e.what();
  }
}
