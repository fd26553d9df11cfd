// Tests of reconlab::networks::train and load_weights: the loss falls, resuming reproduces an uninterrupted run,
// non-finite data and losses are errors, checkpoints and weight files are checked against the architecture; a
// custom task with two optimisers (a GAN-style denoiser) trains and resumes through the one trainer; two
// trainings from scratch with the same seed give bit-identical weights, another seed other weights.
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include "../common/training_files.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"

namespace fs = std::filesystem;
using reconlab::networks::load_weights;
using reconlab::networks::train;
using reconlab::networks::TrainOptions;
using reconlab::networks::Unet;
using reconlab::networks::UnetOptions;

using reconlab::test_support::TempDir;
using reconlab::test_support::count_lines;

namespace {

/// A fresh, empty folder under the system temp folder, removed at the end of the test.

/// `n` smooth 1-channel images (n, 1, size, size) in [0, 1] and noisy copies (sigma 0.1): a denoising task.
std::pair<torch::Tensor, torch::Tensor> denoising_set(int64_t n, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  auto coarse = torch::rand({n, 1, size / 8, size / 8});
  auto clean = torch::nn::functional::interpolate(
      coarse, torch::nn::functional::InterpolateFuncOptions()
                  .size(std::vector<int64_t>{size, size})
                  .mode(torch::kBilinear)
                  .align_corners(false));
  auto noisy = clean + 0.1 * torch::randn_like(clean);
  return {noisy.contiguous(), clean.contiguous()};
}

/// The train tests' U-Net (1 -> 1 channels, 8 base channels, 2 pools).
UnetOptions tiny_unet() { return reconlab::test_support::tiny_train_unet(); }

TrainOptions quick_options(const fs::path& dir, int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 2;
  o.learning_rate = 3e-3;
  o.seed = 7;
  o.checkpoint_dir = dir.string();
  o.progress = false;
  // One thread: bitwise reproducible, and immune to OpenMP spin-waiting when other jobs share the 2 cores
  // (2 threads ran this file 15x slower under a parallel compile).
  o.threads = 1;
  return o;
}


}  // namespace

TEST(Trainer, LossFallsOnTinyDenoisingSet) {
  TempDir dir("falls");
  auto [x, y] = denoising_set(8, 32, 1);
  auto [vx, vy] = denoising_set(2, 32, 2);
  torch::manual_seed(0);
  Unet net(tiny_unet());
  auto o = quick_options(dir.path, 6);
  o.learning_rate = 1e-2;
  o.lr_schedule = "cosine";
  auto r = train(net, x, y, vx, vy, o);
  ASSERT_EQ(r.train_loss.size(), 6u);
  ASSERT_EQ(r.val_loss.size(), 6u);
  EXPECT_EQ(r.epochs_run, 6);
  EXPECT_FALSE(r.resumed);
  EXPECT_LT(r.train_loss.back(), 0.7 * r.train_loss.front());
  EXPECT_TRUE(std::isfinite(r.val_loss.back()));
  EXPECT_TRUE(fs::exists(dir.path / "checkpoint.pt"));
  EXPECT_TRUE(fs::exists(dir.path / "final.pt"));
  EXPECT_EQ(count_lines(dir.path / "loss.csv"), 7);  // header + one line per epoch
  std::ifstream csv(dir.path / "loss.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,train_loss,val_loss,lr,seconds");
  for (const auto& entry : fs::directory_iterator(dir.path))  // no temporary files left behind
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();

  // final.pt holds the trained weights.
  torch::manual_seed(123);
  Unet loaded(tiny_unet());
  load_weights(loaded, dir.path / "final.pt");
  auto a = net->named_parameters(), b = loaded->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();

  // So does the model part of checkpoint.pt.
  torch::manual_seed(321);
  Unet from_checkpoint(tiny_unet());
  load_weights(from_checkpoint, dir.path / "checkpoint.pt");
  auto c = from_checkpoint->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), c[p.key()])) << p.key();

  // Resuming a checkpoint with another architecture is refused.
  Unet deeper(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 3});
  o.epochs = 7;
  EXPECT_THROW(train(deeper, x, y, vx, vy, o), reconlab::Error);
}

TEST(Trainer, ResumeReproducesUninterruptedRun) {
  TempDir dir_a("resume_a"), dir_b("resume_b");
  auto [x, y] = denoising_set(6, 32, 3);
  auto [vx, vy] = denoising_set(2, 32, 4);

  torch::manual_seed(0);
  Unet straight(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 2,
                            .drop_prob = 0.1});
  auto o_a = quick_options(dir_a.path, 4);
  o_a.lr_schedule = "step";
  o_a.step_size = 2;
  o_a.gamma = 0.5;
  auto r_a = train(straight, x, y, vx, vy, o_a);

  torch::manual_seed(0);
  Unet first(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 2,
                         .drop_prob = 0.1});
  auto o_b = o_a;
  o_b.checkpoint_dir = dir_b.path.string();
  o_b.epochs = 2;
  auto r_b1 = train(first, x, y, vx, vy, o_b);
  EXPECT_EQ(r_b1.epochs_run, 2);
  EXPECT_FALSE(r_b1.resumed);

  torch::manual_seed(999);  // different initial weights: they must come from the checkpoint
  Unet second(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 2,
                          .drop_prob = 0.1});
  o_b.epochs = 4;
  auto r_b2 = train(second, x, y, vx, vy, o_b);
  EXPECT_TRUE(r_b2.resumed);
  EXPECT_EQ(r_b2.epochs_run, 2);
  ASSERT_EQ(r_b2.train_loss.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(r_a.train_loss[i], r_b2.train_loss[i]) << "epoch " << i + 1;
    EXPECT_DOUBLE_EQ(r_a.val_loss[i], r_b2.val_loss[i]) << "epoch " << i + 1;
  }
  auto pa = straight->named_parameters(), pb = second->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::allclose(p.value(), pb[p.key()], 1e-6, 1e-7)) << p.key();
  EXPECT_EQ(count_lines(dir_b.path / "loss.csv"), 5);

  // Running again with everything done trains nothing and keeps the weights.
  auto r_b3 = train(second, x, y, vx, vy, o_b);
  EXPECT_TRUE(r_b3.resumed);
  EXPECT_EQ(r_b3.epochs_run, 0);
  EXPECT_EQ(r_b3.train_loss.size(), 4u);

  // A checkpoint written with another seed is refused.
  auto o_c = o_b;
  o_c.seed = 8;
  EXPECT_THROW(train(second, x, y, vx, vy, o_c), reconlab::Error);
}

TEST(Trainer, SelectBestValidationFinalWeightsHaveTheLowestValidationLoss) {
  TempDir dir("best"), dir_b("best_resume");
  auto [x, y] = denoising_set(8, 32, 11);
  auto [vx, vy] = denoising_set(3, 32, 12);
  torch::manual_seed(0);
  Unet net(tiny_unet());
  auto o = quick_options(dir.path, 5);
  o.learning_rate = 2e-2;  // large: the validation loss does not fall monotonically
  o.select_best_validation = true;
  auto r = train(net, x, y, vx, vy, o);
  ASSERT_EQ(r.val_loss.size(), 5u);
  ASSERT_TRUE(std::isfinite(r.initial_val_loss));
  // The recorded best is the minimum over the initial weights and every epoch (ties to the earlier).
  int best = 0;
  double lowest = r.initial_val_loss;
  for (int e = 0; e < 5; ++e)
    if (r.val_loss[std::size_t(e)] < lowest) lowest = r.val_loss[std::size_t(e)], best = e + 1;
  EXPECT_EQ(r.best_epoch, best);
  EXPECT_DOUBLE_EQ(r.best_val_loss, lowest);
  // Measured independently: the L1 loss of the final weights (final.pt) on the validation set.
  torch::manual_seed(77);
  Unet loaded(tiny_unet());
  load_weights(loaded, dir.path / "final.pt");
  loaded->eval();
  {
    torch::NoGradGuard g;
    EXPECT_NEAR(torch::l1_loss(loaded->forward(vx), vy).item<double>(), lowest, 1e-5 * lowest);
  }

  // Resumed after 2 epochs, the selection is that of the uninterrupted run.
  torch::manual_seed(0);
  Unet first(tiny_unet());
  auto o_b = o;
  o_b.checkpoint_dir = dir_b.path.string();
  o_b.epochs = 2;
  train(first, x, y, vx, vy, o_b);
  torch::manual_seed(5);
  Unet second(tiny_unet());
  o_b.epochs = 5;
  auto r_b = train(second, x, y, vx, vy, o_b);
  EXPECT_TRUE(r_b.resumed);
  EXPECT_EQ(r_b.best_epoch, r.best_epoch);
  EXPECT_DOUBLE_EQ(r_b.initial_val_loss, r.initial_val_loss);
  auto pa = loaded->named_parameters(), pb = second->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::allclose(p.value(), pb[p.key()], 1e-6, 1e-7)) << p.key();
}

TEST(Trainer, SelectBestValidationKeepsInitialWeightsWhenTrainingOnlyHurtsValidation) {
  TempDir dir("best_initial");
  auto [x, y] = denoising_set(6, 32, 13);
  auto [vx, vy] = denoising_set(2, 32, 14);
  torch::manual_seed(0);
  Unet net(tiny_unet());
  std::vector<torch::Tensor> initial;
  for (const auto& p : net->parameters()) initial.push_back(p.detach().clone());
  auto o = quick_options(dir.path, 3);
  o.learning_rate = 1e-2;
  o.select_best_validation = true;
  // Training targets -clean: every step moves the output away from the validation targets (+clean).
  auto r = train(net, x, (-y).contiguous(), vx, vy, o);
  EXPECT_EQ(r.best_epoch, 0);
  for (double v : r.val_loss) EXPECT_GT(v, r.initial_val_loss);
  std::size_t i = 0;
  for (const auto& p : net->parameters()) EXPECT_TRUE(torch::equal(p, initial[i++]));
  // And without a validation set the option is refused.
  TempDir dir2("best_noval");
  auto o2 = quick_options(dir2.path, 1);
  o2.select_best_validation = true;
  EXPECT_THROW(train(net, x, y, torch::Tensor(), torch::Tensor(), o2), reconlab::Error);
}

TEST(Trainer, NonFiniteTargetsAreRejected) {
  TempDir dir("nan_targets");
  auto [x, y] = denoising_set(4, 16, 5);
  y[1][0][3][4] = std::numeric_limits<float>::quiet_NaN();
  torch::manual_seed(0);
  Unet net(tiny_unet());
  try {
    train(net, x, y, torch::Tensor(), torch::Tensor(), quick_options(dir.path, 1));
    FAIL() << "expected reconlab::Error";
  } catch (const reconlab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("targets"), std::string::npos) << e.what();
  }
}

TEST(Trainer, DivergingLossThrowsNamingEpochAndBatch) {
  TempDir dir("diverge");
  auto [x, y] = denoising_set(8, 16, 6);
  torch::manual_seed(0);
  Unet net(tiny_unet());
  auto o = quick_options(dir.path, 3);
  o.learning_rate = 1e30;
  o.loss = "l2";
  try {
    train(net, x, y, torch::Tensor(), torch::Tensor(), o);
    FAIL() << "expected reconlab::Error";
  } catch (const reconlab::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("non-finite"), std::string::npos) << what;
    EXPECT_NE(what.find("epoch"), std::string::npos) << what;
    EXPECT_NE(what.find("batch"), std::string::npos) << what;
  }
}

TEST(Trainer, RejectsBadShapesAndOptions) {
  TempDir dir("bad");
  auto [x, y] = denoising_set(4, 16, 7);
  torch::manual_seed(0);
  Unet net(tiny_unet());
  auto o = quick_options(dir.path, 1);
  EXPECT_THROW(train(net, x.squeeze(1), y, {}, {}, o), reconlab::Error);             // 3-D input
  EXPECT_THROW(train(net, x, y.slice(0, 0, 3), {}, {}, o), reconlab::Error);         // N mismatch
  EXPECT_THROW(train(net, x.slice(0, 0, 0), y.slice(0, 0, 0), {}, {}, o), reconlab::Error);  // N = 0
  EXPECT_THROW(train(net, x.to(torch::kFloat64), y, {}, {}, o), reconlab::Error);    // dtype
  EXPECT_THROW(train(net, x, y, x, {}, o), reconlab::Error);                         // half a validation set
  EXPECT_THROW(train(net, x, torch::cat({y, y}, 1), {}, {}, o), reconlab::Error);   // output != target shape
  auto bad = o;
  bad.loss = "huber";
  EXPECT_THROW(train(net, x, y, {}, {}, bad), reconlab::Error);
  bad = o;
  bad.lr_schedule = "warmup";
  EXPECT_THROW(train(net, x, y, {}, {}, bad), reconlab::Error);
  bad = o;
  bad.batch_size = 0;
  EXPECT_THROW(train(net, x, y, {}, {}, bad), reconlab::Error);
}

TEST(Trainer, LoadWeightsRejectsMissingAndMismatchedFiles) {
  TempDir dir("load");
  torch::manual_seed(0);
  Unet small(tiny_unet());
  EXPECT_THROW(load_weights(small, dir.path / "missing.pt"), reconlab::Error);

  std::ofstream(dir.path / "garbage.pt") << "not a torch archive";
  EXPECT_THROW(load_weights(small, dir.path / "garbage.pt"), reconlab::Error);

  Unet wider(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 4, .num_pool_layers = 2});
  reconlab::networks::save_weights(wider, dir.path / "wider.pt");
  try {
    load_weights(small, dir.path / "wider.pt");
    FAIL() << "expected reconlab::Error";
  } catch (const reconlab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("wider.pt"), std::string::npos) << e.what();
  }

  Unet deeper(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 3});
  torch::save(deeper, (dir.path / "deeper.pt").string());
  EXPECT_THROW(load_weights(small, dir.path / "deeper.pt"), reconlab::Error);

  // A matching file written by torch::save loads.
  torch::manual_seed(1);
  Unet same(tiny_unet());
  torch::save(same, (dir.path / "same.pt").string());
  load_weights(small, dir.path / "same.pt");
  auto a = small->named_parameters(), b = same->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

// ---- A custom task: two modules, two optimisers -------------------------------------------------------------------

namespace {

using reconlab::networks::Batch;
using reconlab::networks::StepContext;
using reconlab::networks::Trainable;
using reconlab::networks::TrainingTask;

/// A small patch discriminator: (N, 1, H, W) -> one logit per image.
struct DiscriminatorImpl : torch::nn::Module {
  DiscriminatorImpl() {
    namespace nn = torch::nn;
    layers = register_module(
        "layers", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).stride(2).padding(1)),
                                 nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                                 nn::Conv2d(nn::Conv2dOptions(4, 1, 3).padding(1))));
  }
  torch::Tensor forward(const torch::Tensor& x) { return layers->forward(x).mean({1, 2, 3}); }
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(Discriminator);

/// A GAN-style denoising task (e.g. Yang et al., "DAGAN", IEEE TMI 2018: a pixel loss plus an adversarial loss):
/// per batch, one step of the discriminator (logistic loss on clean vs generated images, with instance noise
/// drawn from torch's generator, which the trainer seeds per epoch), then one step of the generator on
/// L1 + 0.01 * adversarial loss. The logged loss is the generator's L1.
TrainingTask gan_task(Unet& generator, Discriminator& discriminator) {
  TrainingTask task;
  task.name = "gan-denoiser";
  task.trainables.push_back(Trainable{.name = "generator", .module = generator.ptr().get()});
  task.trainables.push_back(Trainable{.name = "discriminator", .module = discriminator.ptr().get(), .lr_scale = 0.5});
  task.step = [generator, discriminator](const Batch& b, StepContext& ctx) mutable {
    namespace F = torch::nn::functional;
    auto& g_opt = ctx.optimizer(0);
    auto& d_opt = ctx.optimizer(1);
    d_opt.zero_grad();
    const auto fake = generator->forward(b.input).detach();
    const auto real_logit = discriminator->forward(b.target + 0.02 * torch::randn_like(b.target));
    const auto fake_logit = discriminator->forward(fake + 0.02 * torch::randn_like(fake));
    const auto d_loss = F::softplus(-real_logit).mean() + F::softplus(fake_logit).mean();
    ctx.require_finite_loss(d_loss.item<double>());
    d_loss.backward();
    d_opt.step();

    g_opt.zero_grad();
    const auto out = generator->forward(b.input);
    const auto pixel = torch::l1_loss(out, b.target);
    const auto adversarial = F::softplus(-discriminator->forward(out)).mean();
    const auto g_loss = pixel + 0.01 * adversarial;
    ctx.require_finite_loss(g_loss.item<double>());
    g_loss.backward();
    g_opt.step();
    return pixel.detach();
  };
  task.validation_loss = [generator](const Batch& b) mutable {
    return torch::l1_loss(generator->forward(b.input), b.target);
  };
  return task;
}

bool equal_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  bool same = true;
  for (const auto& p : pa) {
    const bool eq = torch::equal(p.value(), pb[p.key()]);
    EXPECT_TRUE(eq) << p.key();
    same = same && eq;
  }
  return same;
}

}  // namespace

TEST(Trainer, CustomTwoOptimiserStepTrainsAndItsLossFalls) {
  TempDir dir("gan");
  auto [x, y] = denoising_set(8, 32, 11);
  auto [vx, vy] = denoising_set(2, 32, 12);
  torch::manual_seed(0);
  Unet generator(tiny_unet());
  Discriminator discriminator;
  std::vector<torch::Tensor> d_before;
  for (auto& p : discriminator->parameters()) d_before.push_back(p.clone());
  TrainingTask task = gan_task(generator, discriminator);
  auto o = quick_options(dir.path, 6);
  o.learning_rate = 1e-2;
  o.lr_schedule = "cosine";
  const auto r = train(task, reconlab::networks::image_batch(x, y), reconlab::networks::image_batch(vx, vy), o);
  ASSERT_EQ(r.train_loss.size(), 6u);
  EXPECT_LT(r.train_loss.back(), 0.7 * r.train_loss.front());
  EXPECT_TRUE(std::isfinite(r.val_loss.back()));
  // Both optimisers stepped: the discriminator moved too.
  auto d_after = discriminator->parameters();
  bool moved = false;
  for (std::size_t i = 0; i < d_before.size(); ++i) moved = moved || !torch::equal(d_before[i], d_after[i]);
  EXPECT_TRUE(moved);
  // The trainer wrote the generator as final.pt (loadable into a Unet) and the discriminator beside it.
  EXPECT_TRUE(fs::exists(dir.path / "final.pt"));
  EXPECT_TRUE(fs::exists(dir.path / "final_discriminator.pt"));
  EXPECT_EQ(count_lines(dir.path / "loss.csv"), 7);
  Unet reloaded(tiny_unet());
  load_weights(reloaded, dir.path / "final.pt");
  EXPECT_TRUE(equal_parameters(*generator, *reloaded));
  Discriminator d_reloaded;
  load_weights(d_reloaded, dir.path / "final_discriminator.pt");
  EXPECT_TRUE(equal_parameters(*discriminator, *d_reloaded));

  // Its checkpoint is refused by another task (the supervised one) in the same folder.
  o.epochs = 7;
  try {
    train(generator, x, y, vx, vy, o);
    FAIL() << "expected reconlab::Error";
  } catch (const reconlab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("task"), std::string::npos) << e.what();
  }
}

TEST(Trainer, CustomTwoOptimiserStepResumesLikeAnUninterruptedRun) {
  TempDir dir_a("gan_a"), dir_b("gan_b");
  auto [x, y] = denoising_set(6, 32, 13);
  const Batch data = reconlab::networks::image_batch(x, y);
  auto o_a = quick_options(dir_a.path, 4);
  o_a.lr_schedule = "step";
  o_a.step_size = 2;
  o_a.gamma = 0.5;

  torch::manual_seed(0);
  Unet g_straight(tiny_unet());
  Discriminator d_straight;
  TrainingTask straight = gan_task(g_straight, d_straight);
  const auto r_a = train(straight, data, Batch{}, o_a);

  auto o_b = o_a;
  o_b.checkpoint_dir = dir_b.path.string();
  o_b.epochs = 2;
  torch::manual_seed(0);
  Unet g_first(tiny_unet());
  Discriminator d_first;
  TrainingTask first = gan_task(g_first, d_first);
  train(first, data, Batch{}, o_b);  // "killed" after 2 epochs

  torch::manual_seed(999);  // a fresh process: other initial weights, which must come from the checkpoint
  Unet g_second(tiny_unet());
  Discriminator d_second;
  TrainingTask second = gan_task(g_second, d_second);
  o_b.epochs = 4;
  const auto r_b = train(second, data, Batch{}, o_b);
  EXPECT_TRUE(r_b.resumed);
  EXPECT_EQ(r_b.epochs_run, 2);
  ASSERT_EQ(r_b.train_loss.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(r_a.train_loss[i], r_b.train_loss[i]) << "epoch " << i + 1;
  // Bit-identical: weights of both modules (so both optimiser states were restored, and the torch generator).
  EXPECT_TRUE(equal_parameters(*g_straight, *g_second));
  EXPECT_TRUE(equal_parameters(*d_straight, *d_second));
}

// ---- Reproducibility from scratch ---------------------------------------------------------------------------------

namespace {

/// Builds the registry's U-Net (with dropout) from its model.json with `model_seed` and trains it for `epochs`
/// epochs with `train_seed` on `threads` threads; returns the trained model.
reconlab::networks::NetworkModel train_from_scratch(uint64_t model_seed, uint64_t train_seed, int threads, int epochs,
                                                    const fs::path& dir) {
  auto [x, y] = denoising_set(6, 32, 21);
  const UnetOptions uo{.in_channels = 1, .out_channels = 1, .base_channels = 4, .num_pool_layers = 2,
                       .drop_prob = 0.1, .residual = true};
  auto model = reconlab::networks::build_model(reconlab::networks::network_json(uo), model_seed);
  auto o = quick_options(dir, epochs);
  o.seed = train_seed;
  o.threads = threads;
  reconlab::networks::train(model, reconlab::networks::image_batch(x, y), Batch{}, o);
  return model;
}

/// The same for the DnCn on typed k-space batches (kspace, sampling, target; no packed tensor).
reconlab::networks::NetworkModel train_dncn_from_scratch(uint64_t seed, const fs::path& dir) {
  using namespace reconlab::networks;
  torch::manual_seed(31);
  Batch b;
  const auto images = torch::randn({4, 1, 1, 16, 16}, torch::kComplexFloat);
  b.sampling = (torch::rand({4, 1, 1, 16, 16}) < 0.4).to(torch::kFloat);
  b.kspace = reconlab::Fft2c<Torch>().apply(images) * b.sampling;
  b.target = magnitude(images);
  auto model = build_model(network_json(DncnOptions{.cascades = 2, .conv_layers = 3, .features = 4,
                                                    .shared_weights = false, .dc = DcMode::soft}),
                           seed);
  auto o = quick_options(dir, 2);
  o.seed = seed;
  train(model, b, Batch{}, o);
  return model;
}

bool differ(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return true;
  return false;
}

}  // namespace

TEST(Trainer, TwoTrainingsFromScratchWithTheSameSeedGiveBitIdenticalWeights) {
  TempDir a("repro_a"), b("repro_b"), c("repro_c"), d("repro_d");
  auto first = train_from_scratch(5, 5, 1, 2, a.path);
  auto second = train_from_scratch(5, 5, 1, 2, b.path);
  EXPECT_TRUE(equal_parameters(*first.module, *second.module));
  // Another seed (initial weights and training): other weights.
  auto other = train_from_scratch(6, 6, 1, 2, c.path);
  EXPECT_TRUE(differ(*first.module, *other.module));
  // Only the training seed differs (dropout, data order): other weights too.
  auto reordered = train_from_scratch(5, 9, 1, 2, d.path);
  EXPECT_TRUE(differ(*first.module, *reordered.module));
}

TEST(Trainer, TwoTrainingsFromScratchOnTwoThreadsGiveBitIdenticalWeights) {
  // One epoch only: with OpenMP's default active waiting, 2 threads crawl when other jobs share the 2 cores.
  TempDir a("repro2_a"), b("repro2_b");
  auto first = train_from_scratch(5, 5, 2, 1, a.path);
  auto second = train_from_scratch(5, 5, 2, 1, b.path);
  EXPECT_TRUE(equal_parameters(*first.module, *second.module));
}

TEST(Trainer, TypedKspaceBatchesTrainReproducibly) {
  TempDir a("dncn_a"), b("dncn_b"), c("dncn_c");
  auto first = train_dncn_from_scratch(3, a.path);
  auto second = train_dncn_from_scratch(3, b.path);
  EXPECT_TRUE(equal_parameters(*first.module, *second.module));
  auto other = train_dncn_from_scratch(4, c.path);
  EXPECT_TRUE(differ(*first.module, *other.module));
}
