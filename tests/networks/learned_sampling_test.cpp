// Learned sampling (learned_sampling.hpp): LOUPE's probability map, its rescaling to the target rate, the relaxed and
// straight-through masks, the exact-rate test mask, gradients through data consistency, and seed 000's U-Net.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "../common/torch_threads.hpp"
#include "reconlab/networks/learned_sampling.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/phantoms.hpp"

using namespace reconlab;
using namespace reconlab::networks;
using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;
using reconlab::test_support::Threads1;

namespace {

/// Fully sampled k-space (N, 1, 1, n, n) of random ellipse phantoms with a smooth phase, and their magnitudes.
Batch phantom_batch(int64_t count, int64_t n, uint64_t seed) {
  std::vector<torch::Tensor> ks, ts;
  for (int64_t i = 0; i < count; ++i) {
    const RArray mag = random_phantom(seed + uint64_t(i), n);
    CArray img = mag.cast<cfloat>();
    for (Index y = 0; y < n; ++y)
      for (Index x = 0; x < n; ++x) img(x, y, 0, 0, 0) *= std::polar(1.0f, 0.3f * float(x) / float(n));
    ks.push_back(Torch::from_eigen(EigenFftw::fft2c(img)));  // (1, 1, 1, n, n)
    ts.push_back(Torch::from_eigen(mag).reshape({1, 1, n, n}));
  }
  Batch b;
  b.kspace = torch::cat(ks);
  b.target = torch::cat(ts);
  b.sampling = torch::ones({1, 1, 1, n, n});  // fully sampled: the network draws its own mask
  return b;
}

}  // namespace

TEST(LearnedSampling, ProbabilitiesAreRescaledToTheRateAndTheTestMaskHasExactlyIt) {
  Threads1 t;
  torch::manual_seed(0);
  for (bool columns : {true, false})
    for (double rate : {0.1, 0.25, 0.6}) {
      SCOPED_TRACE(std::string(columns ? "columns" : "2D") + " rate " + std::to_string(rate));
      LoupeMask m(LoupeOptions{.nx = 40, .ny = 24, .columns = columns, .rate = rate});
      for (double shift : {-3.0, 0.0, 3.0}) {  // mean of P above and below the rate: both branches of the rescaling
        torch::NoGradGuard g;
        m->logits.add_(shift);
        const auto p = m->probability();
        EXPECT_NEAR(p.mean().item<double>(), rate, 1e-5);
        EXPECT_GE(p.min().item<float>(), 0.0f);
        EXPECT_LE(p.max().item<float>(), 1.0f);
        m->logits.sub_(shift);
      }
      const auto b = m->binary_mask();
      ASSERT_EQ(b.sizes(), (std::vector<int64_t>{24, 40}));
      const int64_t units = columns ? 40 : 40 * 24;
      const double want = double(std::llround(rate * double(units)));
      EXPECT_DOUBLE_EQ(b.sum().item<double>() / (columns ? 24.0 : 1.0), want);
      EXPECT_TRUE(((b == 0) | (b == 1)).all().item<bool>());
      if (columns) EXPECT_TRUE(torch::equal(b, b[0].unsqueeze(0).expand({24, 40})));  // constant along y
      // The test mask keeps the most probable units.
      const auto p = m->probability().flatten();
      const auto kept = b.flatten().slice(0, 0, columns ? 40 : units) > 0;
      EXPECT_GE(p.masked_select(kept).min().item<float>(), p.masked_select(~kept).max().item<float>());
    }
}

TEST(LearnedSampling, SampledMasksFollowTheProbabilitiesAndStraightThroughIsBinary) {
  Threads1 t;
  torch::manual_seed(1);
  LoupeMask m(LoupeOptions{.nx = 32, .ny = 8, .rate = 0.3});
  const auto p = m->probability().detach();
  torch::Tensor acc = torch::zeros({8, 32});
  const int draws = 4000;
  for (int i = 0; i < draws; ++i) acc += m->sample().detach();
  // The relaxed mask sigmoid(b (p - u)), u ~ U(0, 1), has the mean (1 / b) ln((1 + e^(b p)) / (1 + e^(b (p - 1))))
  // (the integral over u); 4000 draws leave a standard error below 0.008.
  const auto expected = torch::log((1 + torch::exp(12 * p)) / (1 + torch::exp(12 * (p - 1)))) / 12;
  EXPECT_LT((acc[0] / draws - expected).abs().max().item<float>(), 0.03f);
  // Its sampling rate matches the target within one line (of 32).
  EXPECT_NEAR((acc / draws).mean().item<double>(), 0.3, 1.0 / 32);
  LoupeMask st(LoupeOptions{.nx = 32, .ny = 8, .rate = 0.3, .straight_through = true});
  const auto s = st->sample();
  EXPECT_TRUE(((s == 0) | (s == 1)).all().item<bool>());
  EXPECT_NE(error_of([] { LoupeMask(LoupeOptions{.nx = 8, .ny = 8, .rate = 1.0}); }).find("(0, 1)"), std::string::npos);
}

TEST(LearnedSampling, GradientsReachTheMaskThroughDataConsistencyAndDcKeepsTheData) {
  Threads1 t;
  torch::manual_seed(2);
  const Batch b = phantom_batch(2, 32, 5);
  for (bool st : {false, true})
    for (std::string net : {"go-reconet", "unet"}) {
      SCOPED_TRACE(net + (st ? " straight-through" : " relaxed"));
      LearnedSamplingNet model(LearnedSamplingOptions{
          .mask = {.nx = 32, .ny = 32, .rate = 0.3, .straight_through = st}, .network = net, .features = 4, .num_pool_layers = 2});
      model->train();
      const auto out = model->forward(b);
      ASSERT_EQ(out.sizes(), b.target.sizes());
      torch::mse_loss(out, b.target).backward();
      ASSERT_TRUE(model->mask->logits.grad().defined());
      EXPECT_GT(model->mask->logits.grad().abs().sum().item<double>(), 0.0);
    }
  // Data consistency with every sample acquired returns the data, whatever the network says.
  LearnedSamplingNet model(LearnedSamplingOptions{.mask = {.nx = 32, .ny = 32, .rate = 0.3}, .features = 4});
  torch::NoGradGuard g;
  const auto full = model->reconstruct(b.kspace, torch::ones({32, 32}));
  const auto want = Torch::ifft2c(b.kspace).abs().squeeze(2);
  EXPECT_LT((full - want).abs().max().item<float>(), 1e-5f * want.abs().max().item<float>());
  Batch wrong = b;
  wrong.kspace = b.kspace.narrow(4, 0, 16);
  EXPECT_NE(error_of([&] { model->forward(wrong); }).find("fully sampled single-coil k-space"), std::string::npos);
}

TEST(LearnedSampling, JointTrainingLowersTheLossAndMovesTheMask) {
  Threads1 t;
  TempDir dir("loupe");
  torch::manual_seed(3);
  const Batch train_set = phantom_batch(16, 32, 10), val = phantom_batch(2, 32, 40);
  LearnedSamplingNet model(LearnedSamplingOptions{.mask = {.nx = 32, .ny = 32, .rate = 0.3}, .features = 8});
  const auto logits0 = model->mask->logits.detach().clone();
  TrainOptions o;
  o.epochs = 20;
  o.batch_size = 2;
  o.learning_rate = 1e-3;
  o.loss = "l2";  // seed 000: MSE
  o.seed = 1;
  o.threads = 1;
  o.progress = false;
  o.checkpoint_dir = dir.path.string();
  const auto r = train(model, train_set, val, o);
  EXPECT_LT(r.train_loss.back(), 0.7 * r.train_loss.front());
  EXPECT_FALSE(torch::equal(logits0, model->mask->logits.detach()));
  model->eval();
  EXPECT_DOUBLE_EQ(model->mask->binary_mask()[0].sum().item<double>(), std::llround(0.3 * 32));
}

TEST(LearnedSampling, GoReconetHasTheSeedsBlocks) {
  Threads1 t;
  torch::manual_seed(4);
  GoReconet net(GoReconetOptions{.in_channels = 2, .out_channels = 2, .features = 8});
  EXPECT_EQ(net->enc1[0]->as<torch::nn::Conv2d>()->options.kernel_size()->at(0), 5);
  EXPECT_EQ(net->enc1[0]->as<torch::nn::Conv2d>()->options.stride()->at(0), 2);
  EXPECT_EQ(net->neck->options.kernel_size()->at(0), 1);
  EXPECT_EQ(net->forward(torch::randn({1, 2, 64, 96})).sizes(), (std::vector<int64_t>{1, 2, 64, 96}));
  EXPECT_NE(error_of([&] { net->forward(torch::randn({1, 2, 40, 64})); }).find("multiples of 32"), std::string::npos);
}
