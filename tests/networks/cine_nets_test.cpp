// Tests of the cine networks (cine_nets.hpp: CRNN-MRI, seed 001's dual U-Net + 3D ResNet, the residual 3D U-Net):
// data consistency keeps the measured k-space of every frame, gradients reach every parameter, CRNN with shared
// directions commutes with time reversal (and without sharing does not), every network is scale-equivariant
// (1e-6 and 1e4 units), the training loss falls on a tiny set, the dual U-Net's windows reconstruct cines of other
// frame counts with DC holding, model.json round trips through the registry, and bad input is a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "../common/torch_threads.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/solvers/view_sharing.hpp"

using namespace reconlab;
using namespace reconlab::networks;
using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;
using reconlab::test_support::Threads1;

namespace {

/// Tiny model.json of every cine network.
std::map<std::string, nlohmann::json> tiny_configs(int64_t frames = 4) {
  return {
      {"crnn", network_json(CrnnOptions{.iterations = 2, .features = 8, .kernel_size = 3})},
      {"dual-unet-3d", network_json(DualUnetOptions{.frames = frames, .features = 4, .num_pool_layers = 2,
                                                    .resnet_features = 4, .dc = true})},
      {"dual-unet-3d-cascade", network_json(DualUnetOptions{.frames = frames, .features = 4, .num_pool_layers = 1,
                                                            .resnet_features = 4, .dc = true, .cascades = 2})},
      {"residual-unet-3d", network_json(CineUnet3dOptions{.base_channels = 4, .num_pool_layers = 1,
                                                          .final_dc = true})},
      {"dncn-3d-ds", network_json(Dncn3dOptions{.cascades = 2, .conv_layers = 3, .features = 8,
                                                .frame_distances = {0, 1, 2}})},
      {"crnn/view-sharing", network_json(CrnnOptions{.iterations = 2, .features = 8, .kernel_size = 3,
                                                     .initial = cine::InitialImage::view_sharing})},
      {"dncn-3d-ds/view-sharing",
       network_json(Dncn3dOptions{.cascades = 2, .conv_layers = 3, .features = 8, .frame_distances = {0, 1, 2},
                                  .initial = cine::InitialImage::view_sharing})},
  };
}

/// A seeded cine (1, T, 1, H, W): a disc whose radius follows a cycle over the frames, on a smooth background, with
/// a smooth phase; plus per-frame masks (1, T, 1, H, W): 3 central rows and every 3rd row from a frame-dependent
/// offset (k-t sampling, a different pattern per frame).
struct Cine {
  torch::Tensor image, mask, kspace;
};
Cine make_cine(int64_t T, int64_t H, int64_t W, uint64_t seed) {
  torch::manual_seed(seed);
  auto yy = torch::linspace(-1, 1, H).view({1, 1, 1, H, 1}), xx = torch::linspace(-1, 1, W).view({1, 1, 1, 1, W});
  auto t = torch::arange(T).to(torch::kFloat).view({1, T, 1, 1, 1});
  auto radius = 0.35 + 0.15 * torch::sin(2 * M_PI * t / double(T));
  auto disc = torch::sigmoid(20 * (radius - torch::sqrt(yy * yy + xx * xx)));
  auto mag = 0.3 + 0.2 * xx + disc + 0.05 * torch::rand({1, 1, 1, H, W});
  auto phase = 0.5 * xx - 0.3 * yy + 0.1 * torch::randn({1, 1, 1, 1, 1});
  auto image = (mag * torch::polar(torch::ones_like(phase), phase)).expand({1, T, 1, H, W}).contiguous();
  auto mask = torch::zeros({1, T, 1, H, W});
  for (int64_t f = 0; f < T; ++f)
    for (int64_t y = 0; y < H; ++y)
      if (std::abs(y - H / 2) <= 1 || (y + f) % 3 == 0) mask.select(1, f).select(2, y).fill_(1);
  auto kspace = Torch::fft2c(image) * mask;
  return {image, mask, kspace};
}

/// The cine as an Acquisition (x, y, 1, T, 1).
Acquisition acquisition_of(const Cine& c) {
  Acquisition acq;
  acq.kspace = Torch::to_eigen(c.kspace);
  acq.sampling = CartesianMask(Torch::to_eigen_real(c.mask));
  return acq;
}

/// max over measured samples of |F x - y| / max(|y|, |F x|) (the float precision of an FFT round trip of x).
double dc_error(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
  auto k = Torch::fft2c(x);
  auto d = torch::abs(k - y) * (mask > 0.5);
  return d.max().item<double>() / std::max(torch::abs(y).max().item<double>(), torch::abs(k).max().item<double>());
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (torch::abs(a - b).pow(2).sum() / torch::abs(b).pow(2).sum()).sqrt().item<double>();
}

/// reconstruct_frames of whatever network `m` holds.
torch::Tensor run(const NetworkModel& m, const torch::Tensor& k, const torch::Tensor& w) {
  if (m.name == "crnn") return m.as<CrnnMri>()->reconstruct_frames(k, w);
  if (m.name == "dual-unet-3d") return m.as<DualUnet3d>()->reconstruct_frames(k, w);
  if (m.name == "dncn-3d-ds") return m.as<Dncn3d>()->reconstruct_frames(k, w);
  return m.as<CineUnet3d>()->reconstruct_frames(k, w);
}

/// Sets every parameter to seeded random values of size ~scale (no network is then near the identity).
void randomise(torch::nn::Module& m, uint64_t seed, double scale = 0.1) {
  torch::NoGradGuard g;
  torch::manual_seed(seed);
  for (auto& p : m.parameters()) p.copy_(scale * torch::randn_like(p));
}

}  // namespace

TEST(CineNets, DataConsistencyKeepsEveryFramesMeasuredSamples) {
  Threads1 threads;
  const Cine c = make_cine(4, 16, 12, 1);
  for (const auto& [label, config] : tiny_configs()) {
    SCOPED_TRACE(label);
    NetworkModel m = build_model(config, 3);
    randomise(*m.module, 5, 0.5);
    m.module->eval();
    torch::NoGradGuard g;
    const auto x = run(m, c.kspace, c.mask);
    ASSERT_EQ(x.sizes(), c.kspace.sizes());
    EXPECT_LE(dc_error(x, c.kspace, c.mask), 1e-5);
    // The network changed the unmeasured samples (a zero-filled output would satisfy DC trivially).
    const auto zf = Torch::ifft2c(c.kspace);
    EXPECT_GT(relative_error(x, zf), 1e-3);
  }
  // The DC layer itself: a mask of ones gives the measurement, bit for bit in k-space before the inverse FFT.
  auto x = torch::randn({1, 3, 1, 8, 6}, torch::kComplexFloat);
  auto y = torch::randn({1, 3, 1, 8, 6}, torch::kComplexFloat);
  auto ones = torch::ones({1, 3, 1, 8, 6});
  EXPECT_TRUE(torch::equal(Torch::blend(ones, y, Torch::fft2c(x)), y));
  EXPECT_LE(dc_error(blend_data_consistency(x, y, ones), y, ones), 1e-6);
}

TEST(CineNets, GradientsReachEveryParameter) {
  Threads1 threads;
  const Cine c = make_cine(4, 16, 12, 2);
  Batch b;
  b.kspace = c.kspace;
  b.sampling = c.mask;
  b.target = cine::to_channels(c.image);
  auto configs = tiny_configs();
  configs["crnn-separate"] = network_json(CrnnOptions{.iterations = 2, .features = 4, .shared_directions = false});
  for (const auto& [label, config] : configs) {
    SCOPED_TRACE(label);
    NetworkModel m = build_model(config, 4);
    m.module->train();
    auto out = m.forward(b);
    ASSERT_EQ(out.sizes(), b.target.sizes());
    torch::mse_loss(out, b.target).backward();
    for (const auto& p : m.module->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().max().item<double>(), 0.0) << p.key();
    }
  }
}

TEST(CineNets, CrnnWithSharedDirectionsCommutesWithTimeReversal) {
  Threads1 threads;
  const Cine c = make_cine(5, 12, 10, 3);
  auto flip = [](const torch::Tensor& t) { return torch::flip(t, {1}); };
  for (bool shared : {true, false}) {
    SCOPED_TRACE(shared ? "shared" : "separate");
    torch::manual_seed(7);
    CrnnMri net(CrnnOptions{.iterations = 2, .features = 4, .shared_directions = shared});
    randomise(*net, 8);
    torch::NoGradGuard g;
    const auto x = net->reconstruct(c.kspace, c.mask);
    const auto xr = net->reconstruct(flip(c.kspace), flip(c.mask));
    const double err = relative_error(flip(xr), x);
    if (shared)
      EXPECT_LE(err, 1e-5);
    else
      EXPECT_GT(err, 1e-3);  // separate weights per direction: the property does not hold, so the check can fail
  }
}

TEST(CineNets, EveryNetworkIsScaleEquivariant) {
  Threads1 threads;
  const Cine c = make_cine(4, 16, 12, 4);
  for (const auto& [label, config] : tiny_configs()) {
    SCOPED_TRACE(label);
    NetworkModel m = build_model(config, 9);
    randomise(*m.module, 10);
    m.module->eval();
    torch::NoGradGuard g;
    const auto x = run(m, c.kspace, c.mask);
    for (double s : {1e-6, 1e4}) {
      const auto xs = run(m, c.kspace * s, c.mask);
      EXPECT_LE(relative_error(xs / s, x), 1e-4) << "scale " << s;
    }
  }
}

TEST(CineNets, TrainingLossFallsOnATinySet) {
  Threads1 threads;
  std::vector<CineSample> samples;
  for (uint64_t i = 0; i < 3; ++i) {
    const Cine c = make_cine(4, 16, 16, 20 + i);
    const CArray truth = Torch::to_eigen(c.image);
    samples.push_back(cine_sample(acquisition_of(c), &truth));
  }
  const Batch set = cine_batch(samples);
  ASSERT_EQ(set.kspace.sizes(), (std::vector<int64_t>{3, 4, 1, 16, 16}));
  ASSERT_EQ(set.target.sizes(), (std::vector<int64_t>{3, 2, 4, 16, 16}));
  const double zero_filled_loss =
      torch::mse_loss(cine::to_channels(CartesianSampling<Torch>(set.sampling).adjoint(set.kspace)), set.target)
          .item<double>();
  for (const auto& [label, config] : tiny_configs()) {
    SCOPED_TRACE(label);
    TempDir dir("cine_train");
    NetworkModel m = build_model(config, 12);
    TrainOptions o;
    o.epochs = 30;
    o.batch_size = 3;
    o.learning_rate = 3e-3;
    o.loss = "l2";
    o.weight_decay = 1e-4;
    o.checkpoint_dir = dir.path.string();
    o.progress = false;
    o.threads = 1;
    const TrainResult r = train(m, set, Batch{}, o);
    ASSERT_EQ(r.train_loss.size(), 30u);
    EXPECT_LT(r.train_loss.back(), 0.8 * r.train_loss.front());
    EXPECT_LT(r.train_loss.back(), 0.8 * zero_filled_loss);  // it learned more than the zero-filled cine
  }
}

TEST(CineNets, DualUnetWindowsReconstructOtherFrameCountsWithDc) {
  Threads1 threads;
  NetworkModel m = build_model(tiny_configs(4).at("dual-unet-3d"), 13);
  randomise(*m.module, 14, 0.5);
  auto rec = m.reconstructor("test");
  for (int64_t frames : {7, 3, 4}) {
    SCOPED_TRACE(frames);
    const Cine c = make_cine(frames, 16, 12, 30 + frames);
    const CArray out = rec->reconstruct(acquisition_of(c));
    ASSERT_EQ(dims_of(out), (Dims{12, 16, 1, frames, 1}));
    const auto x = Torch::from_eigen(out);
    EXPECT_LE(dc_error(x, c.kspace, c.mask), 1e-5);
    EXPECT_GT(relative_error(x, Torch::ifft2c(c.kspace)), 1e-3);
  }
  // The network itself refuses another frame count (only the window path takes it).
  const Cine c7 = make_cine(7, 16, 12, 1);
  EXPECT_NE(error_of([&] { m.as<DualUnet3d>()->reconstruct(c7.kspace, c7.mask); }).find("built for 4 frames"),
            std::string::npos);
}

TEST(CineNets, ModelJsonRoundTripsThroughTheRegistry) {
  Threads1 threads;
  const Cine c = make_cine(4, 16, 12, 5);
  const Acquisition acq = acquisition_of(c);
  for (const auto& [label, config] : tiny_configs()) {
    SCOPED_TRACE(label);
    TempDir dir("cine_roundtrip");
    NetworkModel built = build_model(config, 15);
    randomise(*built.module, 16);
    save_model(built, dir.path);
    torch::manual_seed(999);
    const std::string name = config.at("architecture");
    auto loaded = load_reconstructor(name, dir.path / "final.pt");
    EXPECT_EQ(loaded->name(), name);
    const CArray a = built.reconstructor("memory")->reconstruct(acq);
    const CArray b = loaded->reconstruct(acq);
    ASSERT_EQ(dims_of(a), (Dims{12, 16, 1, 4, 1}));
    ASSERT_EQ(dims_of(b), dims_of(a));
    double max_abs = 0;
    for (Index i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a.data()[i], b.data()[i]) << "sample " << i;
      max_abs = std::max<double>(max_abs, std::abs(a.data()[i]));
    }
    EXPECT_GT(max_abs, 0.0);
    // In the acquisition's units: scaling the k-space scales the reconstruction.
    Acquisition big = acq;
    big.kspace = acq.kspace * cfloat(1e4f);
    const auto xb = Torch::from_eigen(loaded->reconstruct(big)) / 1e4;
    EXPECT_LE(relative_error(xb, Torch::from_eigen(b)), 1e-4);
  }
}

TEST(CineNets, BadInputIsAClearError) {
  Threads1 threads;
  const Cine c = make_cine(4, 16, 12, 6);
  const Acquisition good = acquisition_of(c);
  for (const auto& [label, config] : tiny_configs()) {
    SCOPED_TRACE(label);
    NetworkModel m = build_model(config, 17);
    auto rec = m.reconstructor("test");

    Acquisition coils = good;
    const Dims kd = dims_of(good.kspace);
    coils.kspace = CArray(kd[0], kd[1], 2, kd[3], 1);
    coils.kspace.chip(0, 2) = good.kspace.chip(0, 2);
    coils.kspace.chip(1, 2) = good.kspace.chip(0, 2);
    EXPECT_NE(error_of([&] { rec->reconstruct(coils); }).find("single-coil"), std::string::npos);

    Acquisition one = good;
    one.kspace = CArray(good.kspace.chip(0, 3).reshape(Eigen::array<Index, 5>{kd[0], kd[1], 1, 1, 1}));
    one.sampling = CartesianMask(RArray(good.mask().chip(0, 3).reshape(Eigen::array<Index, 5>{kd[0], kd[1], 1, 1, 1})));
    EXPECT_NE(error_of([&] { rec->reconstruct(one); }).find("one frame"), std::string::npos);

    Acquisition radial;
    radial.kspace = CArray(8, 4, 1, 4, 1);
    radial.kspace.setConstant(cfloat(1, 0));
    Trajectory traj;
    traj.coords = RArray(2, 8, 4, 4, 1);
    traj.coords.setZero();
    radial.sampling = traj;
    radial.image_dims = {16, 12, 1, 4, 1};
    EXPECT_NE(error_of([&] { rec->reconstruct(radial); }).find("Cartesian"), std::string::npos);

    // Tensors of the wrong layout given to the network directly.
    torch::NoGradGuard g;
    EXPECT_NE(error_of([&] { run(m, c.kspace.squeeze(2), c.mask); }).find("(N, frames, 1, H, W)"), std::string::npos);
    EXPECT_NE(error_of([&] { run(m, c.kspace, c.mask.slice(4, 0, 5)); }).find("sampling must be"), std::string::npos);
  }
  // Invalid options in model.json.
  auto bad = network_json(DualUnetOptions{.frames = 4, .dc = false, .cascades = 2});
  EXPECT_NE(error_of([&] { build_model(bad); }).find("needs dc"), std::string::npos);
  auto even = network_json(CrnnOptions{.kernel_size = 4});
  EXPECT_NE(error_of([&] { build_model(even); }).find("odd"), std::string::npos);
  auto missing = network_json(CrnnOptions{});
  missing.erase("features");
  EXPECT_NE(error_of([&] { build_model(missing); }).find("malformed"), std::string::npos);
}

TEST(CineNets, WarmupCosineScheduleOfSeed001) {
  // Seed 001 trains with a warm-up followed by cosine decay: here lr0 = 1e-3, 2 warm-up epochs from 1 % of lr0,
  // then a cosine over the remaining 4 epochs. The values below are the schedule's closed form evaluated by hand.
  Threads1 threads;
  const Cine c = make_cine(4, 8, 8, 40);
  Batch b;
  b.kspace = c.kspace;
  b.sampling = c.mask;
  b.target = cine::to_channels(c.image);
  NetworkModel m = build_model(network_json(CrnnOptions{.iterations = 1, .features = 2}), 1);
  TempDir dir("cine_schedule");
  TrainOptions o;
  o.epochs = 6;
  o.batch_size = 1;
  o.learning_rate = 1e-3;
  o.lr_schedule = "warmup-cosine";
  o.warmup_epochs = 2;
  o.warmup_factor = 0.01;
  o.checkpoint_dir = dir.path.string();
  o.progress = false;
  o.threads = 1;
  train(m, b, Batch{}, o);
  std::ifstream csv(dir / "loss.csv");
  std::string line;
  std::getline(csv, line);
  const double expected[] = {1e-5, 5.05e-4, 1e-3, 8.5355339e-4, 5e-4, 1.4644661e-4};
  for (double lr : expected) {
    ASSERT_TRUE(std::getline(csv, line));
    std::stringstream ss(line);
    std::string field;
    for (int i = 0; i < 4; ++i) std::getline(ss, field, ',');
    EXPECT_NEAR(std::stod(field), lr, 1e-9) << line;
  }
  o.warmup_epochs = 6;
  EXPECT_NE(error_of([&] { train(m, b, Batch{}, o); }).find("warmup_epochs < epochs"), std::string::npos);
}

TEST(CineNets, DataSharingFillsStaticKspaceFromNeighbouringFrames) {
  // A static object (the same image in every frame): on the zero-filled input, data sharing over +-d frames gives
  // the true k-space at every location some frame within d sampled (view sharing), and zero elsewhere; distance 0
  // is the zero-filled image itself.
  Threads1 threads;
  const int64_t T = 6, H = 12, W = 8;
  torch::manual_seed(3);
  auto img = torch::randn({1, 1, 1, H, W}, torch::kComplexFloat).expand({1, T, 1, H, W}).contiguous();
  auto mask = torch::zeros({1, T, 1, H, W});
  for (int64_t f = 0; f < T; ++f)
    for (int64_t y = 0; y < H; ++y)
      if (y % 4 == f % 4) mask.select(1, f).select(2, y).fill_(1);  // each row every 4th frame (cyclically)
  auto truth_k = Torch::fft2c(img);
  auto zf = Torch::ifft2c(truth_k * mask);
  const auto shared = data_sharing(zf, mask, {0, 1, 2}, false);
  ASSERT_EQ(shared.sizes(), (std::vector<int64_t>{1, 6, T, H, W}));
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t d = i;
    auto k = Torch::fft2c(cine::from_channels(shared.slice(1, 2 * i, 2 * i + 2)));
    // Which (frame, row) some frame within d (cyclically) sampled.
    auto covered = mask.clone();
    for (int64_t o = 1; o <= d; ++o) covered = covered + torch::roll(mask, {o}, {1}) + torch::roll(mask, {-o}, {1});
    auto expected = torch::where(covered > 0, truth_k, torch::zeros_like(truth_k));
    EXPECT_LE(torch::abs(k - expected).max().item<double>(), 1e-4 * torch::abs(truth_k).max().item<double>()) << d;
  }
}

TEST(CineNets, ViewSharedInitialImageEqualsTheViewSharingReconstructor) {
  Threads1 threads;
  const Cine c = make_cine(5, 16, 12, 21);
  const CArray expected = solvers::ViewSharingReconstructor(true).reconstruct(acquisition_of(c));
  const auto x0 = Torch::ifft2c(cine::view_share(c.kspace, c.mask));
  EXPECT_LE(relative_error(x0, Torch::from_eigen(expected)), 1e-6);
  // A batch of two samples with their own masks: each is shared with its own mask.
  const Cine d = make_cine(5, 16, 12, 22);
  auto mask2 = torch::roll(d.mask, {1}, {1});  // another k-t pattern
  auto k2 = torch::cat({c.kspace, Torch::fft2c(d.image) * mask2}, 0), w2 = torch::cat({c.mask, mask2}, 0);
  const auto both = Torch::ifft2c(cine::view_share(k2, w2));
  Acquisition acq_d;
  acq_d.kspace = Torch::to_eigen(Torch::fft2c(d.image) * mask2);
  acq_d.sampling = CartesianMask(Torch::to_eigen_real(mask2));
  const CArray expected_d = solvers::ViewSharingReconstructor(true).reconstruct(acq_d);
  EXPECT_LE(relative_error(both.select(0, 1).unsqueeze(0), Torch::from_eigen(expected_d)), 1e-6);
  // Weights that are not 0/1 are refused (view sharing needs to know what was acquired).
  EXPECT_THROW(cine::view_share(c.kspace, c.mask * 0.5), Error);
  EXPECT_THROW(cine::initial_image_from_string("sliding"), Error);
}

TEST(CineNets, UntrainedResidualNetworksOnTheViewSharedInputStartAtViewSharing) {
  Threads1 threads;
  const Cine c = make_cine(6, 16, 12, 23);
  const auto vs = Torch::from_eigen(solvers::ViewSharingReconstructor(true).reconstruct(acquisition_of(c)));
  const auto zf = Torch::ifft2c(c.kspace);
  ASSERT_GT(relative_error(zf, vs), 0.05);  // the test cine's aliasing is visible
  const std::map<std::string, nlohmann::json> nets = {
      {"crnn", network_json(CrnnOptions{.iterations = 2, .features = 8, .initial = cine::InitialImage::view_sharing})},
      {"residual-unet-3d", network_json(CineUnet3dOptions{.base_channels = 4, .num_pool_layers = 1, .final_dc = true,
                                                          .initial = cine::InitialImage::view_sharing})},
      {"dncn-3d-ds", network_json(Dncn3dOptions{.cascades = 2, .conv_layers = 3, .features = 8,
                                                .frame_distances = {0, 1}, .initial = cine::InitialImage::view_sharing})}};
  for (const auto& [label, config] : nets) {
    SCOPED_TRACE(label);
    NetworkModel m = build_model(config, 31);
    EXPECT_EQ(config.at("initial_image"), "view-sharing");
    m.module->eval();
    torch::NoGradGuard g;
    const auto x = run(m, c.kspace, c.mask);
    // Close to view sharing, much closer than to zero-filled (the small heads keep the residual small).
    EXPECT_LT(relative_error(x, vs), 0.2 * relative_error(zf, vs));
  }
}
