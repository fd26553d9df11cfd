// Tests of reconlab::networks::Unet (fastMRI's U-Net, Zbontar et al. 2018): output shapes for sizes divisible and
// not divisible by 2^num_pool_layers, the residual option, padding modes, and argument errors.
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
