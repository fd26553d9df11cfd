// Tests of the torch NUFFT (torch_nufft.hpp) against the Eigen/FFTW NUFFT (nufft.hpp) for apply, adjoint and the
// Toeplitz normal, autograd gradients against the Eigen adjoint, and of NUFFT-MoDL (nufft_modl.hpp): its initial
// image against the gridding reconstruction, the DC step against CG on the density-weighted model, a tiny training
// run that lowers the loss and reloads through the registry, and bad inputs; the radial cine networks (CRNN-MRI with
// NUFFT data consistency and the residual 3D U-Net on gridded frames, cine_nets.hpp with initial gridding) and the
// shared NUFFT data consistency (nufft_dc.hpp) on multi-frame golden-angle acquisitions.
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include "../common/torch_threads.hpp"

#include <filesystem>
#include <fstream>

#include "reconlab/networks/cine_nets.hpp"
#include "reconlab/networks/nufft_modl.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/cg_sense.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/view_sharing.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
using namespace reconlab::networks;
using reconlab::test_support::TempDir;
using reconlab::test_support::Threads1;

namespace {

CArray random_image(Index nx, Index ny, Index c, Index t, uint64_t seed) {
  Random rng(seed);
  CArray x(nx, ny, c, t, 1);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.complex_normal(1.0);
  return x;
}

double rel(const CArray& a, const CArray& b) {
  Eigen::Tensor<float, 0> d = (a - b).abs().square().sum(), n = b.abs().square().sum();
  return std::sqrt(double(d()) / double(n()));
}

/// Batch entry b of a torch tensor (B, T, C, Y, X) as an Eigen array (X, Y, C, T, 1).
CArray entry(const torch::Tensor& t, int64_t b) { return Torch::to_eigen(t.narrow(0, b, 1)); }

/// A golden-angle trajectory of 2 frames, 5 spokes of 24 samples for a 15 x 12 image (odd and even sizes).
RArray golden_trajectory(Index n = 12, Index spokes = 5, Index frames = 2) {
  return radial_trajectory({.samples = n, .spokes = spokes, .frames = frames, .order = RadialOrder::golden,
                            .readout_oversampling = 2});
}

}  // namespace

TEST(TorchNufft, AgreesWithTheEigenNufftForApplyAdjointAndNormal) {
  Threads1 th;
  const Index nx = 15, ny = 12, C = 3, T = 2;
  const RArray coords = golden_trajectory();
  for (double alpha : {2.0, 1.25}) {
    const Nufft A(coords, nx, ny, NufftOptions{.oversampling = alpha, .width = alpha == 2.0 ? 6 : 4});
    const TorchNufft At(A);
    const CArray x0 = random_image(nx, ny, C, T, 1), x1 = random_image(nx, ny, C, T, 2);
    auto xt = torch::cat({Torch::from_eigen(x0), Torch::from_eigen(x1)}, 0);  // a batch of 2
    const auto yt = At.apply(xt);
    EXPECT_LT(rel(entry(yt, 0), A.apply(x0)), 1e-5);
    EXPECT_LT(rel(entry(yt, 1), A.apply(x1)), 1e-5);
    const CArray y = A.apply(x1);
    EXPECT_LT(rel(Torch::to_eigen(At.adjoint(Torch::from_eigen(y))), A.adjoint(y)), 1e-5);
    EXPECT_LT(rel(entry(At.normal(xt), 1), A.normal(x1)), 1e-5);
  }
}

TEST(TorchNufft, WeightedModelAndToeplitzWithWeightsAgreeWithEigen) {
  Threads1 th;
  const Index n = 12;
  const RArray coords = golden_trajectory(n, 7, 1);
  const RArray w = pipe_menon_density(Nufft(coords, n, n));
  const CArray x = random_image(n, n, 2, 1, 3);
  for (bool weighted_model : {false, true}) {
    const Nufft A(coords, n, n, {}, w, weighted_model);
    const TorchNufft At(A);
    EXPECT_LT(rel(Torch::to_eigen(At.apply(Torch::from_eigen(x))), A.apply(x)), 1e-5);
    EXPECT_LT(rel(Torch::to_eigen(At.normal(Torch::from_eigen(x))), A.normal(x)), 1e-5);
    const CArray y = A.apply(x);
    EXPECT_LT(rel(Torch::to_eigen(At.adjoint(Torch::from_eigen(y))), A.adjoint(y)), 1e-5);
  }
}

TEST(TorchNufft, AutogradGradientsAreTheEigenAdjointAndForward) {
  Threads1 th;
  const Index nx = 13, ny = 14;
  const RArray coords = golden_trajectory(12, 6, 1);
  const Nufft A(coords, nx, ny);
  const TorchNufft At(A);
  const CArray x = random_image(nx, ny, 2, 1, 5);
  const CArray y = A.apply(random_image(nx, ny, 2, 1, 6));
  // d/dx of ||A x - y||^2 under torch's convention is 2 A^H (A x - y).
  auto xt = Torch::from_eigen(x).requires_grad_(true);
  (At.apply(xt) - Torch::from_eigen(y)).abs().square().sum().backward();
  const CArray expected = A.adjoint(CArray(A.apply(x) - y)) * cfloat(2.0f);
  EXPECT_LT(rel(Torch::to_eigen(xt.grad()), expected), 1e-5);
  // Finite differences along a random complex direction d: (L(x + h d) - L(x - h d)) / 2h = Re <grad, d> (exact
  // for the quadratic L up to rounding, so h need not be small).
  {
    torch::NoGradGuard g;
    const auto d = Torch::from_eigen(random_image(nx, ny, 2, 1, 9));
    const auto x0 = Torch::from_eigen(x), y0 = Torch::from_eigen(y);
    auto loss = [&](const torch::Tensor& v) {
      return (At.apply(v) - y0).abs().square().to(torch::kDouble).sum().item<double>();
    };
    const double h = 0.25;
    const double fd = (loss(x0 + h * d) - loss(x0 - h * d)) / (2 * h);
    const double an = torch::real((torch::conj(xt.grad()) * d).sum()).item<double>();
    EXPECT_NEAR(fd, an, 1e-4 * std::abs(an));
  }
  // d/dy of ||A^H y - x||^2 is 2 A (A^H y - x).
  auto yt = Torch::from_eigen(y).requires_grad_(true);
  (At.adjoint(yt) - Torch::from_eigen(x)).abs().square().sum().backward();
  const CArray expected_y = A.apply(CArray(A.adjoint(y) - x)) * cfloat(2.0f);
  EXPECT_LT(rel(Torch::to_eigen(yt.grad()), expected_y), 1e-5);
}

TEST(TorchNufft, BadShapesAreErrors) {
  const RArray coords = golden_trajectory(12, 5, 2);
  const TorchNufft At(Nufft(coords, 12, 12), torch::kCPU, /*toeplitz=*/false);
  EXPECT_THROW(At.apply(torch::zeros({1, 1, 1, 12, 12}, torch::kComplexFloat)), Error);  // 1 frame, not 2
  EXPECT_THROW(At.apply(torch::zeros({1, 2, 1, 12, 12})), Error);                       // real
  EXPECT_THROW(At.adjoint(torch::zeros({1, 2, 1, 5, 23}, torch::kComplexFloat)), Error);
  EXPECT_THROW(At.normal(torch::zeros({1, 2, 1, 12, 12}, torch::kComplexFloat)), Error);  // no kernel
}

namespace {

/// A smooth complex test image (n, n, 1, 1, 1): ellipses with a linear phase.
CArray ellipse_image(Index n, double shift) {
  CArray x(n, n, 1, 1, 1);
  for (Index y = 0; y < n; ++y)
    for (Index i = 0; i < n; ++i) {
      const double u = (i - n / 2.0) / (n / 2.0) - shift, v = (y - n / 2.0) / (n / 2.0);
      float val = (u * u / 0.5 + v * v / 0.7 < 1) ? 1.f : 0.f;
      if (std::pow(u - 0.2, 2) / 0.04 + std::pow(v + 0.1, 2) / 0.09 < 1) val = 0.4f;
      x(i, y, 0, 0, 0) = std::polar(val, float(0.1 * i));
    }
  return x;
}

Acquisition radial_acq(const CArray& img, Index spokes, double sigma, uint64_t seed) {
  const Index n = img.dimension(0);
  const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .readout_oversampling = 2});
  Acquisition acq;
  acq.kspace = Nufft(t, n, n).apply(img);
  Random rng(seed);
  for (Index i = 0; i < acq.kspace.size(); ++i) acq.kspace.data()[i] += rng.complex_normal(sigma);
  acq.sampling = Trajectory{t, std::nullopt};
  acq.image_dims = {n, n, 1, 1, 1};
  return acq;
}

}  // namespace

TEST(NufftModl, InitialImageIsTheGriddingReconstruction) {
  Threads1 th;
  const Acquisition acq = radial_acq(ellipse_image(16, 0), 9, 1e-3, 1);
  const TrajectoryInput in = trajectory_input(acq);
  NufftModl net;
  const CArray x0 = Torch::to_eigen(net->initial(in.batch) / in.scale);
  EXPECT_LT(rel(x0, solvers::GriddingReconstructor().reconstruct(acq)), 1e-5);
}

TEST(NufftModl, MultiCoilInitialImageIsGriddingCombinedWithTheMaps) {
  Threads1 th;
  const Index n = 16, C = 3;
  // Smooth maps with a phase, normalised (sum_c |s_c|^2 = 1), zero in one corner (outside the support).
  CArray maps(n, n, C, 1, 1);
  for (Index c = 0; c < C; ++c)
    for (Index y = 0; y < n; ++y)
      for (Index x = 0; x < n; ++x)
        maps(x, y, c, 0, 0) = std::polar(float(1 + c + 0.1 * (x + y * c)), float(0.2 * c * x / n));
  for (Index y = 0; y < n; ++y)
    for (Index x = 0; x < n; ++x) {
      float r = 0;
      for (Index c = 0; c < C; ++c) r += std::norm(maps(x, y, c, 0, 0));
      for (Index c = 0; c < C; ++c) maps(x, y, c, 0, 0) = (x < 3 && y < 3) ? cfloat(0) : maps(x, y, c, 0, 0) / std::sqrt(r);
    }
  const CArray img = ellipse_image(n, 0);
  Acquisition acq = radial_acq(CoilSensitivity<EigenFftw>(maps).apply(img), 12, 1e-3, 4);
  acq.sensitivities = maps;
  const TrajectoryInput in = trajectory_input(acq);
  NufftModl net(NufftModlOptions{.iterations = 2, .cg_iterations = 3, .conv_layers = 2, .features = 4});
  EXPECT_LT(rel(Torch::to_eigen(net->initial(in.batch) / in.scale), solvers::GriddingReconstructor().reconstruct(acq)),
            1e-5);
  // Outside the maps' support the reconstruction is zero (the model has no object there), whatever the CNN does.
  torch::NoGradGuard g;
  const CArray x = Torch::to_eigen(net->reconstruct(in.batch));
  for (Index y = 0; y < 3; ++y)
    for (Index i = 0; i < 3; ++i) EXPECT_EQ(std::abs(x(i, y, 0, 0, 0)), 0.0f);
}

TEST(NufftModl, UnetTakesTheGriddingImageOfATrajectory) {
  Threads1 th;
  const Acquisition acq = radial_acq(ellipse_image(16, 0), 9, 1e-3, 5);
  const UnetInput in = unet_input(acq);
  const RArray g = solvers::GriddingReconstructor().reconstruct(acq).abs();
  // Standardised: zero mean, unit standard deviation, and the gridding magnitude after un-standardising.
  EXPECT_NEAR(in.x.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(in.x.std().item<double>(), 1.0, 1e-4);
  EXPECT_LT((in.x * in.std + in.mean - Torch::from_eigen(g).reshape({1, 1, 16, 16})).abs().max().item<double>(), 1e-5);
  Acquisition two = acq;
  two.kspace = CArray(acq.kspace.dimension(0), acq.kspace.dimension(1), 1, 2, 1);
  two.kspace.setZero();
  EXPECT_THROW(unet_input(two), Error);  // two frames
}

TEST(NufftModl, DcStepWithTinyLambdaSolvesTheDensityWeightedNormalEquations) {
  Threads1 th;
  // With lambda -> 0 and enough CG steps, one unrolled iteration solves the density-weighted normal equations
  // N^H W N x = N^H W y whatever the CNN does (radial sampling leaves the k-space corners unmeasured, so the
  // solution is not unique and the check is the normal-equation residual, by the Eigen operators).
  const Acquisition acq = radial_acq(ellipse_image(16, 0), 20, 0, 2);
  NufftModl net(NufftModlOptions{.iterations = 1, .cg_iterations = 40, .conv_layers = 2, .features = 2,
                                 .lambda_init = 1e-7});
  const TrajectoryInput in = trajectory_input(acq);
  torch::NoGradGuard g;
  const CArray x = Torch::to_eigen(net->reconstruct(in.batch) / in.scale);
  const auto m = solvers::density_weighted_model(acq);
  const CArray rhs = m.A.adjoint(m.y);
  const CArray lhs = m.A.adjoint(m.A.apply(x));
  EXPECT_LT(rel(lhs, rhs), 1e-3);
  // A few CG steps do not solve them (the check can fail).
  NufftModl few(NufftModlOptions{.iterations = 1, .cg_iterations = 1, .conv_layers = 2, .features = 2,
                                 .lambda_init = 1e-7});
  const CArray x1 = Torch::to_eigen(few->reconstruct(in.batch) / in.scale);
  EXPECT_GT(rel(m.A.adjoint(m.A.apply(x1)), rhs), 1e-2);
}

TEST(NufftModl, TrainingLowersTheLossAndReloadsThroughTheRegistry) {
  Threads1 th;
  TempDir dir("nufft_modl");
  const Index n = 16;
  std::vector<Acquisition> acqs;
  std::vector<RArray> truths;
  for (int i = 0; i < 4; ++i) {
    const CArray img = ellipse_image(n, 0.05 * i);
    acqs.push_back(radial_acq(img, 8, 1e-3, 10 + i));
    truths.push_back(img.abs());
  }
  const Batch set = trajectory_training_batch(acqs, truths);
  set.validate("training set");
  EXPECT_EQ(set.trajectory->size(0), 1);  // shared
  torch::manual_seed(3);
  const NufftModlOptions o{.iterations = 2, .cg_iterations = 3, .conv_layers = 3, .features = 8};
  NufftModl net(o);
  // Gradients reach lambda and the CNN.
  net->forward(set).mean().backward();
  for (const auto& p : net->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
  }
  net->zero_grad();
  TrainOptions topt;
  topt.epochs = 15, topt.batch_size = 2, topt.learning_rate = 1e-2, topt.seed = 7, topt.threads = 1;
  topt.progress = false, topt.checkpoint_dir = (dir.path / "run").string();
  const TrainResult r = train(net, set, set, topt);
  EXPECT_LT(r.train_loss.back(), 0.8 * r.train_loss.front());
  std::ofstream(dir.path / "run" / "model.json") << network_json(o).dump();
  auto rec = load_reconstructor("nufft-modl", dir.path / "run" / "final.pt");
  Acquisition scaled = acqs[0];
  scaled.kspace = scaled.kspace * cfloat(1e4f);  // scanner units: the output scales with the data
  const CArray x = rec->reconstruct(scaled);
  EXPECT_EQ(dims_of(x), (Dims{n, n, 1, 1, 1}));
  const CArray x1 = rec->reconstruct(acqs[0]);
  EXPECT_LT(rel(CArray(x * cfloat(1e-4f)), x1), 1e-4);
  EXPECT_LT(rel(to_complex(RArray(x1.abs())), to_complex(truths[0])),
            rel(to_complex(RArray(solvers::GriddingReconstructor().reconstruct(acqs[0]).abs())), to_complex(truths[0])));
}

TEST(NufftModl, BadInputsAreErrors) {
  NufftModl net;
  Batch b;
  EXPECT_THROW(net->forward(b), Error);
  b.kspace = torch::zeros({1, 1, 1, 4, 8}, torch::kComplexFloat);
  EXPECT_THROW(net->forward(b), Error);  // no trajectory or maps
  b.trajectory = torch::zeros({1, 1, 4, 7, 2});
  b.maps = torch::ones({1, 1, 1, 8, 8}, torch::kComplexFloat);
  EXPECT_THROW(net->forward(b), Error);  // trajectory does not match the samples
  Acquisition cart;
  cart.kspace = CArray(8, 8, 1, 1, 1);
  cart.kspace.setZero();
  RArray m(8, 8, 1, 1, 1);
  m.setConstant(1);
  cart.sampling = m;
  EXPECT_THROW(trajectory_input(cart), Error);
  EXPECT_THROW(NufftModl(NufftModlOptions{.iterations = 0}), Error);
}

namespace {

/// A moving ellipse cine (n, n, 1, T, 1) sampled on T golden-angle frames of `spokes` spokes, noise sigma.
struct RadialCine {
  CArray truth;
  Acquisition acq;
};
RadialCine radial_cine(Index n, Index T, Index spokes, double sigma, uint64_t seed, double phase = 0) {
  RadialCine c;
  c.truth = CArray(n, n, 1, T, 1);
  for (Index f = 0; f < T; ++f) c.truth.chip(f, 3) = ellipse_image(n, phase + 0.04 * double(f)).chip(0, 3);
  const RArray t = golden_trajectory(n, spokes, T);
  c.acq.kspace = Nufft(t, n, n).apply(c.truth);
  Random rng(seed);
  for (Index i = 0; i < c.acq.kspace.size(); ++i) c.acq.kspace.data()[i] += rng.complex_normal(sigma);
  c.acq.sampling = Trajectory{t, std::nullopt};
  c.acq.image_dims = {n, n, 1, T, 1};
  return c;
}

}  // namespace

TEST(RadialCineNets, NufftDcGriddingAndNormalEquationsPerFrame) {
  Threads1 th;
  const RadialCine c = radial_cine(16, 3, 20, 0, 21);
  const TrajectoryInput in = trajectory_sample(c.acq, "test");
  EXPECT_EQ(in.batch.kspace.sizes(), torch::IntArrayRef({1, 3, 1, 20, 32}));
  EXPECT_EQ(in.batch.trajectory->sizes(), torch::IntArrayRef({1, 3, 20, 32, 2}));
  NufftDataConsistency dc;
  // x0: the Eigen gridding reconstruction of every frame (Pipe-Menon density per frame).
  const CArray x0 = Torch::to_eigen(dc.gridding(in.batch) / in.scale);
  EXPECT_LT(rel(x0, solvers::GriddingReconstructor().reconstruct(c.acq)), 1e-5);
  // The sliding window (the spokes of 3 frames around each frame) against the Eigen view-sharing reconstructor,
  // which splices the spokes of each window on the host.
  const CArray sw = Torch::to_eigen(dc.sliding_window(in.batch, 3) / in.scale);
  EXPECT_LT(rel(sw, solvers::ViewSharingReconstructor(false, 3).reconstruct(c.acq)), 1e-5);
  EXPECT_GT(rel(sw, x0), 1e-2);
  EXPECT_THROW(dc.sliding_window(in.batch, 0), Error);
  // lambda -> 0 and 40 CG steps: the density-weighted normal equations of each frame, by the Eigen operators.
  torch::NoGradGuard g;
  const auto z = torch::zeros({1, 3, 1, 16, 16}, torch::kComplexFloat);
  const CArray x = Torch::to_eigen(dc.solve(in.batch, z, torch::full({}, 1e-7), 40) / in.scale);
  const auto m = solvers::density_weighted_model(c.acq);
  EXPECT_LT(rel(m.A.adjoint(m.A.apply(x)), m.A.adjoint(m.y)), 1e-3);
  // With a large lambda the step returns z (here zero) almost unchanged.
  const CArray x_big = Torch::to_eigen(dc.solve(in.batch, z, torch::full({}, 1e6), 5) / in.scale);
  Eigen::Tensor<float, 0> mx = x_big.abs().maximum();
  EXPECT_LT(mx(), 1e-4);
}

TEST(RadialCineNets, UntrainedResidualUnetStartsAtItsInputAndCrnnTrains) {
  Threads1 th;
  TempDir dir("radial_cine_nets");
  const Index n = 16, T = 4;
  const RadialCine test = radial_cine(n, T, 6, 1e-3, 30);
  const CArray grid = solvers::GriddingReconstructor().reconstruct(test.acq);
  torch::manual_seed(5);
  CineUnet3dOptions uo{4, 1, 0.0, false, cine::InitialImage::gridding};
  CineUnet3d unet(uo);
  CineNetworkReconstructor<CineUnet3d> urec(unet, "residual-unet-3d", network_json(uo));
  const CArray ux = urec.reconstruct(test.acq);
  EXPECT_EQ(dims_of(ux), (Dims{n, n, 1, T, 1}));
  EXPECT_LT(rel(ux, grid), 0.05);  // the 1x1 head starts at 1e-2 of its initial weights
  EXPECT_GT(rel(ux, grid), 1e-6);  // but the U-Net does act
  // On the sliding-window input it starts at the sliding-window reconstruction.
  CineUnet3dOptions so{4, 1, 0.0, false, cine::InitialImage::sliding_window, 3};
  CineNetworkReconstructor<CineUnet3d> srec(CineUnet3d(so), "residual-unet-3d", network_json(so));
  EXPECT_LT(rel(srec.reconstruct(test.acq), solvers::ViewSharingReconstructor(false, 3).reconstruct(test.acq)), 0.05);

  // CRNN with NUFFT DC: gradients reach every parameter (lambda too), training lowers the loss, the model reloads
  // through the registry with the same output, and the output scales with the data.
  std::vector<CineSample> samples;
  for (int i = 0; i < 4; ++i) {
    const RadialCine c = radial_cine(n, T, 6, 1e-3, 40 + i, 0.1 * i - 0.15);
    samples.push_back(cine_sample(c.acq, &c.truth));
  }
  const Batch set = cine_batch(samples);
  EXPECT_EQ(set.trajectory->size(0), 4);
  EXPECT_FALSE(set.sampling.defined());
  const CrnnOptions o{2, 8, 3, true, cine::InitialImage::gridding, 3, 0.05};
  torch::manual_seed(6);
  CrnnMri net(o);
  net->forward(set).pow(2).mean().backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  net->zero_grad();
  TrainOptions topt;
  topt.epochs = 12, topt.batch_size = 2, topt.learning_rate = 3e-3, topt.seed = 7, topt.threads = 1;
  topt.loss = "l2", topt.progress = false, topt.checkpoint_dir = (dir.path / "crnn").string();
  const TrainResult r = train(net, set, set, topt);
  EXPECT_LT(r.train_loss.back(), 0.7 * r.train_loss.front());
  std::ofstream(dir.path / "crnn" / "model.json") << network_json(o).dump();
  auto rec = load_reconstructor("crnn", dir.path / "crnn" / "final.pt");
  CineNetworkReconstructor<CrnnMri> mem(net, "crnn", network_json(o));
  const CArray x = rec->reconstruct(test.acq);
  EXPECT_LT(rel(x, mem.reconstruct(test.acq)), 1e-5);
  Acquisition big = test.acq;
  big.kspace = big.kspace * cfloat(1e4f);
  EXPECT_LT(rel(CArray(rec->reconstruct(big) * cfloat(1e-4f)), x), 1e-4);
  EXPECT_LT(rel(to_complex(RArray(x.abs())), to_complex(RArray(test.truth.abs()))),
            rel(to_complex(RArray(grid.abs())), to_complex(RArray(test.truth.abs()))));
  // A Cartesian CRNN keeps its parameters (checkpoints written before trajectories load): no lambda.
  CrnnMri cart;
  for (const auto& p : cart->named_parameters()) EXPECT_EQ(p.key().find("lambda"), std::string::npos);
}

TEST(RadialCineNets, WrongFormIsAClearError) {
  const RadialCine c = radial_cine(12, 3, 5, 0, 50);
  CineNetworkReconstructor<CrnnMri> cart(CrnnMri(CrnnOptions{.iterations = 1, .features = 2}), "crnn", {});
  EXPECT_THROW(cart.reconstruct(c.acq), Error);  // Cartesian network, trajectory data
  CineNetworkReconstructor<Dncn3d> dncn(Dncn3d(Dncn3dOptions{.cascades = 1, .conv_layers = 2, .features = 2}),
                                        "dncn-3d-ds", {});
  EXPECT_THROW(dncn.reconstruct(c.acq), Error);  // no trajectory form
  CineNetworkReconstructor<CrnnMri> traj(
      CrnnMri(CrnnOptions{.iterations = 1, .features = 2, .initial = cine::InitialImage::gridding}), "crnn", {});
  Acquisition cartesian;
  cartesian.kspace = CArray(12, 12, 1, 3, 1);
  cartesian.kspace.setZero();
  RArray m(12, 12, 1, 3, 1);
  m.setConstant(1);
  cartesian.sampling = m;
  EXPECT_THROW(traj.reconstruct(cartesian), Error);  // trajectory network, Cartesian data
  EXPECT_THROW(CineUnet3d(CineUnet3dOptions{.final_dc = true, .initial = cine::InitialImage::gridding}), Error);
  EXPECT_THROW(CrnnMri(CrnnOptions{.initial = cine::InitialImage::gridding, .cg_iterations = 0}), Error);
  Acquisition one = c.acq;  // one frame is not a cine
  one.kspace = CArray(c.acq.kspace.chip(0, 3).reshape(Dims{24, 5, 1, 1, 1}));
  one.image_dims = {12, 12, 1, 1, 1};
  EXPECT_THROW(traj.reconstruct(one), Error);
}
