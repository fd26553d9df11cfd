// Tests of the data-consistency layers, the autograd CG, the losses and the data-consistent networks: exact hard
// replacement, the soft -> hard limit, gradients against finite differences, agreement with the Eigen/FFTW backend
// and solvers::conjugate_gradient inside a network, a cascade that learns, and resume = uninterrupted.
#include <gtest/gtest.h>

#include "../common/torch_threads.hpp"

#include "../common/temp_dir.hpp"

#include <filesystem>

#include "reconlab/metrics.hpp"
#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/losses.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/solvers/cg.hpp"

using namespace reconlab;
using namespace reconlab::networks;
namespace fs = std::filesystem;

using reconlab::test_support::TempDir;

using reconlab::test_support::Threads1;

namespace {


/// A seeded random complex image (n, 1, 1, h, w) of the given dtype.
torch::Tensor random_image(int64_t n, int64_t h, int64_t w, uint64_t seed, torch::Dtype dt = torch::kComplexFloat) {
  torch::manual_seed(seed);
  return torch::randn({n, 1, 1, h, w}, torch::TensorOptions().dtype(dt));
}

/// A column mask (1, 1, 1, h, w) with every 3rd column and the 4 central ones.
torch::Tensor column_mask(int64_t h, int64_t w, torch::Dtype dt = torch::kFloat) {
  auto m = torch::zeros({1, 1, 1, h, w}, torch::TensorOptions().dtype(dt));
  for (int64_t x = 0; x < w; ++x)
    if (x % 3 == 0 || std::abs(x - w / 2) <= 2) m.select(4, x).fill_(1);
  return m;
}


/// Packed inputs and magnitude targets from n phantoms at size s, R about 3 column masks.
std::pair<torch::Tensor, torch::Tensor> phantom_set(int n, int64_t s, uint64_t seed) {
  std::vector<torch::Tensor> xs, ys;
  auto mask = column_mask(s, s);
  for (int i = 0; i < n; ++i) {
    auto img = Torch::from_eigen(to_complex(split_phantom(PhantomSplit::train, i, seed, s)));
    auto y = CartesianSampling<Torch>(mask).apply(img);
    xs.push_back(pack_kspace(y, mask));
    ys.push_back(img.abs().squeeze(2));
  }
  return {torch::cat(xs), torch::cat(ys)};
}

}  // namespace

TEST(DataConsistency, HardReplacementKeepsMeasuredSamplesExactly) {
  Threads1 t;
  auto x = random_image(2, 16, 20, 1);
  auto mask = column_mask(16, 20);
  auto y = CartesianSampling<Torch>(mask).apply(random_image(2, 16, 20, 2));
  DataConsistency dc(DcMode::hard);
  auto k = dc->forward_kspace(x, y, mask);
  auto m = mask.expand_as(k) > 0.5;
  EXPECT_TRUE(torch::equal(k.masked_select(m), y.masked_select(m)));  // bit for bit
  // Unmeasured samples keep F x exactly.
  auto fx = Fft2c<Torch>().apply(x);
  EXPECT_TRUE(torch::equal(k.masked_select(~m), fx.masked_select(~m)));
  // The image form: F(out) equals y on the mask up to float round-off of F F^H.
  auto out = Fft2c<Torch>().apply(dc->forward(x, y, mask));
  EXPECT_LT((out.masked_select(m) - y.masked_select(m)).abs().max().item<double>(), 1e-5);
}

TEST(DataConsistency, SoftWithLambdaToInfinityEqualsHard) {
  Threads1 t;
  auto x = random_image(2, 16, 16, 3);
  auto mask = column_mask(16, 16);
  auto y = CartesianSampling<Torch>(mask).apply(random_image(2, 16, 16, 4));
  auto hard = DataConsistency(DcMode::hard)->forward(x, y, mask);
  double previous = 1e9;
  for (double lambda : {1.0, 1e2, 1e4, 1e6}) {
    auto soft = DataConsistency(DcMode::soft, lambda)->forward(x, y, mask);
    const double err = (soft - hard).abs().max().item<double>();
    EXPECT_LT(err, previous);  // converges monotonically
    previous = err;
  }
  EXPECT_LT(previous, 1e-5);
  // k-space form: (k + lambda y) / (1 + lambda) on measured samples, k elsewhere (Schlemper eq. 6).
  const double lambda = 3.0;
  auto k = DataConsistency(DcMode::soft, lambda)->forward_kspace(x, y, mask);
  auto fx = Fft2c<Torch>().apply(x);
  auto expected = torch::where(mask > 0.5, (fx + lambda * y) / (1 + lambda), fx);
  EXPECT_LT((k - expected).abs().max().item<double>(), 1e-5);
}

TEST(DataConsistency, GradientsThroughFftAndDcMatchFiniteDifferences) {
  Threads1 t;
  for (DcMode mode : {DcMode::hard, DcMode::soft, DcMode::gradient}) {
    DataConsistency dc(mode, mode == DcMode::soft ? 2.0 : 0.7);
    dc->to(torch::kFloat64);
    auto x = random_image(1, 8, 10, 5, torch::kComplexDouble).requires_grad_(true);
    auto mask = column_mask(8, 10, torch::kFloat64);
    auto y = CartesianSampling<Torch>(mask).apply(random_image(1, 8, 10, 6, torch::kComplexDouble));
    auto w = random_image(1, 8, 10, 7, torch::kComplexDouble);  // fixed weights of a real scalar loss
    auto loss_of = [&](const torch::Tensor& xi) {
      auto out = dc->forward(xi, y, mask);
      return torch::real(torch::conj(w) * out * out).sum() + (out.abs() * out.abs()).sum();
    };
    auto loss = loss_of(x);
    std::vector<torch::Tensor> inputs{x};
    for (auto& p : dc->parameters()) inputs.push_back(p);
    auto grads = torch::autograd::grad({loss}, inputs);
    torch::NoGradGuard g;
    // Directional derivative along a random complex direction d: Re<grad, d> (PyTorch's conjugate Wirtinger
    // convention for real losses) against central differences.
    auto d = random_image(1, 8, 10, 8, torch::kComplexDouble);
    const double h = 1e-6;
    const double fd = (loss_of(x + h * d).item<double>() - loss_of(x - h * d).item<double>()) / (2 * h);
    const double ad = torch::real(torch::conj(grads[0]) * d).sum().item<double>();
    EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::abs(fd))) << to_string(mode);
    for (std::size_t i = 1; i < inputs.size(); ++i) {  // lambda / eta
      auto p = inputs[i];
      const double p0 = p.item<double>();
      p.fill_(p0 + h);
      const double lp = loss_of(x).item<double>();
      p.fill_(p0 - h);
      const double lm = loss_of(x).item<double>();
      p.fill_(p0);
      EXPECT_NEAR(grads[i].item<double>(), (lp - lm) / (2 * h), 1e-6 * std::max(1.0, std::abs(lp - lm) / (2 * h)))
          << to_string(mode) << " parameter";
    }
  }
}

// One CG for both backends: the torch run (step sizes as tensors on the graph) equals the Eigen run (doubles).
TEST(ConjugateGradient, TorchAndEigenBackendsAgree) {
  Threads1 t;
  const int64_t h = 12, w = 14;
  auto mask_t = column_mask(h, w);
  auto b_t = random_image(1, h, w, 9);
  const double lambda = 0.3;
  CartesianSampling<Torch> At(mask_t);
  auto x_t = solvers::conjugate_gradient<Torch>([&](const torch::Tensor& v) { return At.normal(v) + lambda * v; },
                                                b_t, torch::zeros_like(b_t),
                                                solvers::CgOptions{.max_iterations = 8, .tolerance = 0});
  const RArray mask_e = Torch::to_eigen_real(mask_t);
  const CArray b_e = Torch::to_eigen(b_t);
  CartesianSampling<EigenFftw> Ae(mask_e);
  CArray zero(b_e.dimensions());
  zero.setZero();
  CArray x_e = solvers::conjugate_gradient<EigenFftw>(
      [&](const CArray& v) { return CArray(Ae.normal(v) + v * cfloat(float(lambda))); }, b_e, zero,
      solvers::CgOptions{.max_iterations = 8, .tolerance = 0.0});
  auto diff = (x_t - Torch::from_eigen(x_e)).abs().max().item<double>();
  EXPECT_LT(diff, 1e-4 * x_t.abs().max().item<double>());
  // And it solves the system: the residual is small after 8 steps (condition number (1 + 0.3) / 0.3).
  auto r = b_t - (At.normal(x_t) + lambda * x_t);
  EXPECT_LT(r.abs().pow(2).sum().sqrt().item<double>(), 1e-3 * b_t.abs().pow(2).sum().sqrt().item<double>());
}

TEST(ConjugateGradient, TorchGradientWithRespectToLambdaAndRhsMatchesFiniteDifferences) {
  Threads1 t;
  ModlImpl modl(ModlOptions{.iterations = 1, .cg_iterations = 4, .conv_layers = 2, .features = 2,
                            .lambda_init = 0.2});
  modl.to(torch::kFloat64);
  auto z = random_image(2, 8, 8, 10, torch::kComplexDouble).requires_grad_(true);
  auto mask = column_mask(8, 8, torch::kFloat64);
  auto y = CartesianSampling<Torch>(mask).apply(random_image(2, 8, 8, 11, torch::kComplexDouble));
  auto loss_of = [&](const torch::Tensor& zi) { return modl.dc_step(zi, y, mask).abs().pow(2).sum(); };
  auto params = modl.named_parameters();
  auto log_lambda = params["log_lambda"];
  auto grads = torch::autograd::grad({loss_of(z)}, {z, log_lambda});
  torch::NoGradGuard g;
  const double h = 1e-6;
  auto d = random_image(2, 8, 8, 12, torch::kComplexDouble);
  const double fd = (loss_of(z + h * d).item<double>() - loss_of(z - h * d).item<double>()) / (2 * h);
  EXPECT_NEAR(torch::real(torch::conj(grads[0]) * d).sum().item<double>(), fd, 1e-6 * std::abs(fd));
  const double l0 = log_lambda.item<double>();
  log_lambda.fill_(l0 + h);
  const double lp = loss_of(z).item<double>();
  log_lambda.fill_(l0 - h);
  const double lm = loss_of(z).item<double>();
  log_lambda.fill_(l0);
  EXPECT_NEAR(grads[1].item<double>(), (lp - lm) / (2 * h), 1e-6 * std::abs((lp - lm) / (2 * h)));
}

TEST(Networks, OperatorBackendsAgreeInsideMoDL) {
  Threads1 t;
  torch::manual_seed(13);
  Modl net(ModlOptions{.iterations = 1, .cg_iterations = 6, .conv_layers = 3, .features = 4, .lambda_init = 0.5});
  const int64_t s = 16;
  auto mask = column_mask(s, s);
  auto y = CartesianSampling<Torch>(mask).apply(random_image(1, s, s, 14));
  torch::NoGradGuard g;
  auto x_net = net->reconstruct(pack_kspace(y, mask));
  // The same network step with the Eigen/FFTW operators and solvers::conjugate_gradient; only the CNN is torch.
  const RArray mask_e = Torch::to_eigen_real(mask);
  const CArray y_e = Torch::to_eigen(y);
  CartesianSampling<EigenFftw> A(mask_e);
  const CArray x0 = A.adjoint(y_e);
  const CArray z = Torch::to_eigen(channels_to_complex(net->cnn()->forward(complex_to_channels(Torch::from_eigen(x0)))));
  const float lambda = float(net->lambda());
  CArray rhs = A.adjoint(y_e) + z * cfloat(lambda);
  CArray x_e = solvers::conjugate_gradient<EigenFftw>(
      [&](const CArray& v) { return CArray(A.normal(v) + v * cfloat(lambda)); }, rhs, z,
      solvers::CgOptions{.max_iterations = 6, .tolerance = 0.0});
  EXPECT_LT((x_net - Torch::from_eigen(x_e)).abs().max().item<double>(), 1e-4 * x_net.abs().max().item<double>());
}

TEST(Losses, SsimLossEqualsOneMinusScikitImageSsim) {
  Threads1 t;
  const RArray truth = random_phantom(3, 32);
  torch::manual_seed(15);
  auto tt = Torch::from_eigen(truth).squeeze(2);  // (1, 1, 32, 32)
  auto pred = tt + 0.05 * torch::randn_like(tt);
  const double loss = ssim_loss(pred, tt).item<double>();
  const RArray pred_e = Torch::to_eigen_real(pred.unsqueeze(2));
  Eigen::Tensor<float, 0> mx = truth.maximum();
  const double ssim = compute_metrics(truth, pred_e, double(mx())).ssim;
  EXPECT_NEAR(loss, 1.0 - ssim, 1e-5);
  EXPECT_NEAR(ssim_loss(tt, tt).item<double>(), 0.0, 1e-6);
}

TEST(Losses, ParsesMixesAndRejectsBadSpecs) {
  Threads1 t;
  auto a = torch::rand({2, 1, 16, 16}), b = torch::rand({2, 1, 16, 16});
  const double mix = compute_loss(parse_loss("0.25*l1+0.75*l2"), a, b).item<double>();
  EXPECT_NEAR(mix, 0.25 * torch::l1_loss(a, b).item<double>() + 0.75 * torch::mse_loss(a, b).item<double>(), 1e-6);
  EXPECT_THROW(parse_loss("huber"), Error);
  EXPECT_THROW(parse_loss("x*l1"), Error);
  EXPECT_THROW(parse_loss("-1*l1"), Error);
  EXPECT_THROW(parse_loss(""), Error);
  EXPECT_THROW(unpack_kspace(torch::zeros({1, 2, 8, 8})), Error);
  EXPECT_THROW(DataConsistency(DcMode::soft, 0.0), Error);
}

TEST(Networks, CascadeTrainsOnATinySetWithStage1Frozen) {
  auto [x, y] = phantom_set(8, 32, 21);
  torch::manual_seed(22);
  Cascade net(CascadeOptions{{4, 2}, 4, 2});
  std::vector<torch::Tensor> before;
  for (auto& p : net->stage1()->parameters()) before.push_back(p.clone());
  TempDir dir("cascade");
  TrainOptions o;
  o.epochs = 6;
  o.batch_size = 4;
  o.learning_rate = 3e-3;
  o.seed = 23;
  o.checkpoint_dir = dir.path.string();
  o.loss = "0.5*l1+0.5*l2";
  o.progress = false;
  o.threads = 1;
  auto r = train(net, x, y, {}, {}, o);
  // Stage 2 starts as the identity (zero head) after a zero-filled stage 1 (zero head), so the first epoch is
  // already at the zero-filled loss; it still has to fall.
  EXPECT_LT(r.train_loss.back(), 0.97 * r.train_loss.front());
  auto after = net->stage1()->parameters();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
}

TEST(Networks, ResumeGivesTheSameWeightsAsAnUninterruptedRun) {
  auto [x, y] = phantom_set(6, 24, 31);
  auto options = [](const fs::path& dir, int epochs) {
    TrainOptions o;
    o.epochs = epochs;
    o.batch_size = 2;
    o.learning_rate = 2e-3;
    o.seed = 32;
    o.checkpoint_dir = dir.string();
    o.loss = "0.84*ssim+0.16*l1";
    o.progress = false;
    o.threads = 1;
    return o;
  };
  const DncnOptions dopt{.cascades = 2, .conv_layers = 3, .features = 4, .shared_weights = false, .dc = DcMode::soft};
  TempDir a("uninterrupted"), b("resumed");
  torch::manual_seed(33);
  Dncn full(dopt);
  train(full, x, y, {}, {}, options(a.path, 4));
  torch::manual_seed(33);
  Dncn first(dopt);
  train(first, x, y, {}, {}, options(b.path, 2));  // "killed" after 2 epochs
  torch::manual_seed(99);                           // a fresh process with other initial weights
  Dncn resumed(dopt);
  auto r = train(resumed, x, y, {}, {}, options(b.path, 4));
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.epochs_run, 2);
  auto pa = full->named_parameters(), pb = resumed->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

TEST(Networks, ReconstructorLoadsWeightsAndModelJson) {
  Threads1 t;
  TempDir dir("reconstructor");
  torch::manual_seed(41);
  const DncnOptions o{.cascades = 2, .conv_layers = 3, .features = 4, .shared_weights = true, .dc = DcMode::hard};
  Dncn net(o);
  save_weights(net, dir.path / "final.pt");
  io::atomic_write_text(dir.path / "model.json", network_json(o).dump());
  auto rec = load_reconstructor("dncn", dir.path / "final.pt");
  Acquisition acq;
  acq.sampling = Torch::to_eigen_real(column_mask(16, 16));
  acq.kspace = Torch::to_eigen(CartesianSampling<Torch>(column_mask(16, 16)).apply(random_image(1, 16, 16, 42)) * 7.0);
  const CArray img = rec->reconstruct(acq);
  // With hard DC the result's k-space equals the measured samples (in the acquisition's units, after unscaling).
  const CArray k = EigenFftw::fft2c(img);
  double err = 0, ref = 0;
  for (Index i = 0; i < k.size(); ++i)
    if (acq.mask().data()[i] > 0) {
      err = std::max<double>(err, std::abs(k.data()[i] - acq.kspace.data()[i]));
      ref = std::max<double>(ref, std::abs(acq.kspace.data()[i]));
    }
  EXPECT_LT(err, 1e-5 * ref);
  EXPECT_THROW(load_reconstructor("modl", dir.path / "final.pt"), Error);  // model.json says dncn
}
