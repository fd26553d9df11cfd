// Super-resolution networks (super_resolution_nets.hpp) and the trainer pieces they need: per-trainable learning
// rates, values recorded by a step, two optimisers' states in the checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "../common/torch_threads.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/super_resolution_nets.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/solvers/super_resolution.hpp"

using namespace reconlab;
using namespace reconlab::networks;
using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;
using reconlab::test_support::Threads1;
namespace fs = std::filesystem;

namespace {

template <class T>
int64_t count_modules(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& c : m.modules(/*include_self=*/false))
    if (c->as<T>() != nullptr) ++n;
  return n;
}

/// Smooth random images (N, 1, 4h, 4w) in [-1, 1] and their 4x block averages (N, 1, h, w).
std::pair<torch::Tensor, torch::Tensor> sr_set(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  torch::manual_seed(seed);
  namespace F = torch::nn::functional;
  const auto coarse = torch::rand({n, 1, h / 2, w / 2});
  const auto hi = F::interpolate(coarse, F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{4 * h, 4 * w})
                                             .mode(torch::kBilinear)
                                             .align_corners(false)) * 2 - 1;
  const auto lo = F::avg_pool2d(hi, F::AvgPool2dFuncOptions(4));
  return {lo.contiguous(), hi.contiguous()};
}

TrainOptions options_in(const fs::path& dir, int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 2;
  o.seed = 3;
  o.checkpoint_dir = dir.string();
  o.progress = false;
  o.threads = 1;
  return o;
}

/// A small generator / discriminator pair for 64 x 64 targets (width 2), initialised from torch::manual_seed(seed).
struct SmallGan {
  SrDcganGenerator g{nullptr};
  SrDiscriminator d{nullptr};
};
SmallGan small_gan(uint64_t seed) {
  torch::manual_seed(seed);
  SmallGan n;
  n.g = SrDcganGenerator(SrDcganOptions{.width = 2});
  n.d = SrDiscriminator(SrDiscriminatorOptions{.height = 64, .width_px = 64, .width = 2});
  return n;
}

bool same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

}  // namespace

TEST(SuperResolutionNets, TheSeedsArchitecturesHaveItsLayersAndShapes) {
  Threads1 t;
  torch::manual_seed(0);
  SrDcganGenerator g;  // the seed's width c = 3
  EXPECT_EQ(count_modules<torch::nn::Conv2dImpl>(*g), 6);
  EXPECT_EQ(count_modules<torch::nn::ConvTranspose2dImpl>(*g), 2);  // layers 3 and 6
  EXPECT_EQ(count_modules<torch::nn::BatchNorm2dImpl>(*g), 7);      // all but the last
  EXPECT_EQ(count_modules<torch::nn::TanhImpl>(*g), 1);
  EXPECT_EQ(count_modules<torch::nn::ReLUImpl>(*g), 7);
  // The seed's 60 x 64 -> 240 x 256; tanh bounds the output.
  const auto out = g->forward(torch::randn({2, 1, 60, 64}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 1, 240, 256}));
  EXPECT_LE(out.abs().max().item<float>(), 1.0f);
  SrDiscriminator d;  // 240 x 256 -> 15 x 16 after 4 stride-2 layers
  EXPECT_EQ(count_modules<torch::nn::Conv2dImpl>(*d), 6);
  EXPECT_EQ(count_modules<torch::nn::BatchNorm2dImpl>(*d), 5);  // all but the first
  EXPECT_EQ(count_modules<torch::nn::LeakyReLUImpl>(*d), 6);
  EXPECT_EQ(d->fc->options.in_features(), 3 * 15 * 16);
  const auto p = d->forward(out);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE((p > 0).all().item<bool>() && (p < 1).all().item<bool>());
  EXPECT_NE(error_of([&] { d->forward(torch::zeros({1, 1, 64, 64})); }).find("(N, 1, 240, 256)"), std::string::npos);
  EXPECT_NE(error_of([&] { SrDiscriminator(SrDiscriminatorOptions{.height = 100}); }).find("multiples of 16"),
            std::string::npos);
  SrResNet r(SrResNetOptions{.features = 8, .blocks = 2, .scale = 4});
  EXPECT_EQ(r->forward(torch::randn({1, 1, 15, 16})).sizes(), (std::vector<int64_t>{1, 1, 60, 64}));
}

TEST(SuperResolutionNets, OneGanStepChangesBothNetworksAndTheSeedsSchedulesAreFollowed) {
  Threads1 t;
  TempDir dir("sr_gan");
  auto [lo, hi] = sr_set(4, 16, 16, 1);
  auto [g, d] = small_gan(0);
  std::vector<torch::Tensor> g0, d0;
  for (auto& p : g->parameters()) g0.push_back(p.clone());
  for (auto& p : d->parameters()) d0.push_back(p.clone());
  TrainingTask task = sr_gan_task(g, d, SrGanLoss{}, seed002_generator_lr(), seed002_discriminator_lr());
  auto o = options_in(dir.path, 3);
  const auto r = train(task, image_batch(lo, hi), Batch{}, o);
  auto moved = [](const std::vector<torch::Tensor>& before, const std::vector<torch::Tensor>& after) {
    for (std::size_t i = 0; i < before.size(); ++i)
      if (!torch::equal(before[i], after[i])) return true;
    return false;
  };
  EXPECT_TRUE(moved(g0, g->parameters()));
  EXPECT_TRUE(moved(d0, d->parameters()));
  // The seed's formulas, epoch by epoch.
  ASSERT_EQ(r.learning_rates.at("generator").size(), 3u);
  for (int e = 0; e < 3; ++e) {
    EXPECT_DOUBLE_EQ(r.learning_rates.at("generator")[e], 3e-5 * std::pow(0.95, e));
    EXPECT_DOUBLE_EQ(r.learning_rates.at("discriminator")[e], 2e-5 * std::pow(0.96, e));
  }
  // The recorded losses: BCE values of a discriminator between 0 and 1.
  for (const char* name : {"d_loss", "g_adversarial", "g_content"}) {
    ASSERT_EQ(r.metrics.at(name).size(), 3u) << name;
    for (double v : r.metrics.at(name)) EXPECT_TRUE(std::isfinite(v) && v > 0) << name;
  }
  // loss.csv has the discriminator's learning rate and the recorded values as columns.
  std::ifstream csv(dir.path / "loss.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,train_loss,val_loss,lr,seconds,lr_discriminator,d_loss,g_adversarial,g_content");
  std::string row;
  std::getline(csv, row);
  EXPECT_NE(row.find("3e-05"), std::string::npos) << row;  // the generator's lr of epoch 1 in the lr column
}

TEST(SuperResolutionNets, GanCheckpointsHoldBothOptimisersAndResumeBitIdentically) {
  Threads1 t;
  TempDir dir_a("sr_gan_a"), dir_b("sr_gan_b");
  auto [lo, hi] = sr_set(4, 16, 16, 2);
  const Batch data = image_batch(lo, hi);
  auto run = [&](const fs::path& dir, int epochs, SrDcganGenerator& g, SrDiscriminator& d) {
    TrainingTask task = sr_gan_task(g, d, SrGanLoss{.content_weight = 1.0, .adversarial_weight = 1e-3},
                                    seed002_generator_lr(10), seed002_discriminator_lr(10));
    return train(task, data, Batch{}, options_in(dir, epochs));
  };
  auto [g_a, d_a] = small_gan(0);
  const auto ra = run(dir_a.path, 4, g_a, d_a);

  auto [g_b, d_b] = small_gan(0);
  run(dir_b.path, 2, g_b, d_b);
  // A new process would build fresh networks: different initial weights, then the checkpoint.
  auto [g_c, d_c] = small_gan(123);
  const auto rc = run(dir_b.path, 4, g_c, d_c);
  EXPECT_TRUE(rc.resumed);
  EXPECT_EQ(rc.epochs_run, 2);
  EXPECT_TRUE(same_parameters(*g_a, *g_c));
  EXPECT_TRUE(same_parameters(*d_a, *d_c));
  EXPECT_EQ(ra.metrics.at("d_loss"), rc.metrics.at("d_loss"));
  EXPECT_EQ(ra.learning_rates.at("discriminator"), rc.learning_rates.at("discriminator"));
  EXPECT_EQ(ra.train_loss, rc.train_loss);
  // Buffers too (batch norm running statistics).
  auto ba = g_a->named_buffers(), bc = g_c->named_buffers();
  for (const auto& b : ba) EXPECT_TRUE(torch::equal(b.value(), bc[b.key()])) << b.key();
}

TEST(SuperResolutionNets, TheResidualNetworkLearnsWithL1AndItsReconstructorKeepsTheUnits) {
  Threads1 t;
  TempDir dir("sr_resnet");
  auto [lo, hi] = sr_set(8, 8, 8, 4);
  auto [vlo, vhi] = sr_set(2, 8, 8, 5);
  torch::manual_seed(0);
  SrResNet net(SrResNetOptions{.features = 8, .blocks = 1, .scale = 4});
  auto o = options_in(dir.path, 8);
  o.learning_rate = 2e-3;
  const auto r = train(net, image_batch(lo, hi), image_batch(vlo, vhi), o);
  EXPECT_LT(r.train_loss.back(), 0.7 * r.train_loss.front());

  // As a Reconstructor: a low-resolution acquisition of a phantom; data x 1e4 gives the image x 1e4.
  const CArray x = render_ellipses(modified_shepp_logan(), 32).cast<cfloat>();
  const Acquisition acq = solvers::simulate_low_resolution(x, 4, LowResolution::block_average);
  SrNetworkReconstructor<SrResNet> rec(net, "sr-resnet", nlohmann::json::object(), 4);
  const CArray a = rec.reconstruct(acq);
  ASSERT_EQ(dims_of(a), (Dims{32, 32, 1, 1, 1}));
  Acquisition big = acq;
  big.kspace = acq.kspace * cfloat(1e4f);
  const CArray b = rec.reconstruct(big);
  double err = 0, ref = 0;
  for (Index i = 0; i < a.size(); ++i) err += std::norm(b.data()[i] - 1e4f * a.data()[i]), ref += std::norm(1e4f * a.data()[i]);
  EXPECT_LT(std::sqrt(err / ref), 1e-4);
  // Wrong factor, and an acquisition that is not low-resolution: clear errors.
  const Acquisition two = solvers::simulate_low_resolution(x, 2, LowResolution::block_average);
  EXPECT_NE(error_of([&] { rec.reconstruct(two); }).find("upsamples by 4"), std::string::npos);
  Acquisition plain;
  plain.kspace = EigenFftw::fft2c(x);
  RArray ones(32, 32, 1, 1, 1);
  ones.setConstant(1.0f);
  plain.sampling = ones;
  EXPECT_NE(error_of([&] { rec.reconstruct(plain); }).find("super-resolution method"), std::string::npos);
}

TEST(SuperResolutionNets, RecordedNamesAndLearningRatesAreChecked) {
  Threads1 t;
  TempDir dir("sr_bad");
  auto [lo, hi] = sr_set(2, 16, 16, 6);
  auto [g, d] = small_gan(0);
  TrainingTask task = sr_gan_task(g, d, SrGanLoss{}, [](int) { return -1.0; }, seed002_discriminator_lr());
  EXPECT_NE(error_of([&] { train(task, image_batch(lo, hi), Batch{}, options_in(dir.path, 1)); })
                .find("learning rate of 'generator'"),
            std::string::npos);
  StepContext ctx;
  EXPECT_NE(error_of([&] { ctx.record("lr", 1.0); }).find("not a loss.csv column"), std::string::npos);
  EXPECT_NE(error_of([&] { ctx.record("x", std::nan("")); }).find("non-finite"), std::string::npos);
}
