// Tests of the multi-coil MoDL (sense_modl.hpp): the SENSE DC step against CG-SENSE on the Eigen/FFTW backend,
// gradients to lambda and the CNN, a tiny training run that lowers the loss, packing round trip, the
// Reconstructor with model.json, and bad inputs.
#include <gtest/gtest.h>

#include "../common/torch_threads.hpp"

#include "../common/temp_dir.hpp"

#include <filesystem>

#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/solvers/cg_sense.hpp"

using namespace reconlab;
using namespace reconlab::networks;
namespace fs = std::filesystem;

using reconlab::test_support::TempDir;

using reconlab::test_support::Threads1;

namespace {


/// Smooth synthetic coil maps (nx, ny, c, 1, 1): Gaussian bumps around the border with a linear phase, normalised.
CArray synthetic_maps(Index nx, Index ny, Index nc) {
  CArray m(nx, ny, nc, 1, 1);
  for (Index c = 0; c < nc; ++c) {
    const double a = 2 * std::numbers::pi * double(c) / double(nc);
    const double cx = nx / 2.0 + 0.6 * nx * std::cos(a), cy = ny / 2.0 + 0.6 * ny * std::sin(a);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        const double r2 = (std::pow(x - cx, 2) + std::pow(y - cy, 2)) / double(nx * ny);
        m(x, y, c, 0, 0) = std::polar(float(std::exp(-r2)), float(0.05 * (x + c * y)));
      }
  }
  return normalise_maps(m);
}

/// Line mask (nx, ny, 1, 1, 1): every 3rd y line and 6 central ones.
RArray lines_mask(Index nx, Index ny) {
  RArray m(nx, ny, 1, 1, 1);
  m.setZero();
  for (Index y = 0; y < ny; ++y)
    if (y % 3 == 0 || std::abs(y - ny / 2) <= 3)
      for (Index x = 0; x < nx; ++x) m(x, y, 0, 0, 0) = 1;
  return m;
}

/// Complex test image (nx, ny, 1, 1, 1): Shepp-Logan-like ellipses with a smooth phase.
CArray test_image(Index nx, Index ny, double shift = 0) {
  CArray x(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index i = 0; i < nx; ++i) {
      const double u = (i - nx / 2.0) / (nx / 2.0) - shift, v = (y - ny / 2.0) / (ny / 2.0);
      float val = (u * u / 0.5 + v * v / 0.7 < 1) ? 1.f : 0.f;
      if (std::pow(u - 0.2, 2) / 0.04 + std::pow(v + 0.1, 2) / 0.09 < 1) val = 0.4f;
      if (std::pow(u + 0.25, 2) / 0.02 + std::pow(v - 0.2, 2) / 0.03 < 1) val = 0.7f;
      x(i, y, 0, 0, 0) = std::polar(val, float(0.3 * u + 0.2 * v));
    }
  return x;
}


}  // namespace

// Independent identity: with z = 0 and lambda -> 0 the DC step is CG on A^H A x = A^H y from x = 0, i.e. CG-SENSE.
TEST(SenseModl, DcStepWithZeroPriorAndTinyLambdaEqualsCgSense) {
  Threads1 t;
  const Index nx = 24, ny = 20, nc = 4;
  const CArray maps = synthetic_maps(nx, ny, nc);
  const RArray mask = lines_mask(nx, ny);
  const CArray y = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(test_image(nx, ny))));
  const CArray ref = solvers::cg_sense<EigenFftw>(y, mask, maps, {.iterations = 6, .lambda = 0, .tolerance = 0});
  SenseModlImpl net(SenseModlOptions{.iterations = 1, .cg_iterations = 6, .conv_layers = 2, .features = 2});
  net.set_lambda(1e-9);
  const auto m = unpack_sense(pack_sense(Torch::from_eigen(y), Torch::from_eigen(maps), Torch::from_eigen(mask)));
  torch::Tensor x;
  {
    torch::NoGradGuard g;
    x = net.dc_step(torch::zeros({1, 1, 1, ny, nx}, torch::kComplexFloat), m);
  }
  const CArray got = Torch::to_eigen(x);
  Eigen::Tensor<float, 0> e = (got - ref).abs().square().sum(), r = ref.abs().square().sum();
  EXPECT_LT(std::sqrt(e() / r()), 1e-4);
  EXPECT_GT(r(), 0.f);
}

TEST(SenseModl, PackUnpackRoundTripAndCoilMismatchIsAnError) {
  Threads1 t;
  torch::manual_seed(1);
  auto k = torch::randn({2, 1, 3, 8, 6}, torch::kComplexFloat);
  auto s = torch::randn({1, 1, 3, 8, 6}, torch::kComplexFloat);
  auto m = (torch::rand({2, 1, 1, 8, 6}) > 0.5).to(torch::kFloat);
  const auto p = pack_sense(k, s, m);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, 13, 8, 6}));
  const auto u = unpack_sense(p);
  EXPECT_TRUE(torch::equal(u.kspace, k));
  EXPECT_TRUE(torch::equal(u.maps, s.expand({2, 1, 3, 8, 6})));
  EXPECT_TRUE(torch::equal(u.mask, m));
  EXPECT_THROW(pack_sense(k, torch::randn({1, 1, 4, 8, 6}, torch::kComplexFloat), m), Error);
  EXPECT_THROW(unpack_sense(torch::zeros({1, 12, 8, 6})), Error);

  // The Reconstructor: k-space with 4 coils and maps with 3 is a reconlab::Error naming the coil counts.
  Acquisition acq;
  acq.sampling = lines_mask(16, 12);
  acq.kspace = CArray(16, 12, 4, 1, 1);
  acq.kspace.setConstant(cfloat(1, 0));
  acq.sensitivities = synthetic_maps(16, 12, 3);
  SenseModlReconstructor rec(SenseModl(SenseModlOptions{.iterations = 1, .cg_iterations = 2, .conv_layers = 2,
                                                        .features = 2}));
  try {
    rec.reconstruct(acq);
    FAIL() << "expected a coil-count error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("coil"), std::string::npos) << e.what();
  }
}

TEST(SenseModl, GradientsReachLambdaAndCnnWeights) {
  Threads1 t;
  const Index nx = 16, ny = 12, nc = 3;
  const CArray maps = synthetic_maps(nx, ny, nc);
  const RArray mask = lines_mask(nx, ny);
  const auto set = simulate_sense_training({test_image(nx, ny)}, maps, {mask}, 1e-3, 5);
  torch::manual_seed(3);
  SenseModl net(SenseModlOptions{.iterations = 2, .cg_iterations = 3, .conv_layers = 2, .features = 4});
  auto loss = (net->forward(set.inputs) - set.targets).abs().mean();
  loss.backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST(SenseModl, TrainingOnATinySetLowersTheLossAndReloads) {
  Threads1 t;
  TempDir dir("sense_modl");
  const Index nx = 20, ny = 16, nc = 3;
  const CArray maps = synthetic_maps(nx, ny, nc);
  std::vector<CArray> imgs;
  std::vector<RArray> masks;
  for (int i = 0; i < 4; ++i) imgs.push_back(test_image(nx, ny, 0.05 * i)), masks.push_back(lines_mask(nx, ny));
  const auto set = simulate_sense_training(imgs, maps, masks, 1e-3, 11);
  EXPECT_EQ(set.inputs.sizes(), (std::vector<int64_t>{4, 13, ny, nx}));
  // The typed batch holds the same samples as the packed set (same seeded noise).
  const Batch batch = simulate_sense_batch(imgs, maps, masks, 1e-3, 11);
  EXPECT_TRUE(torch::equal(pack_sense(batch.kspace, *batch.maps, batch.sampling), set.inputs));
  EXPECT_TRUE(torch::equal(batch.target, set.targets));
  torch::manual_seed(4);
  const SenseModlOptions o{.iterations = 2, .cg_iterations = 3, .conv_layers = 3, .features = 8};
  SenseModl net(o);
  TrainOptions topt;
  topt.epochs = 15;
  topt.batch_size = 2;
  topt.learning_rate = 3e-3;
  topt.seed = 7;
  topt.threads = 1;
  topt.progress = false;
  topt.checkpoint_dir = (dir.path / "run").string();
  const TrainResult r = train(net, batch, batch, topt);  // typed batches: forward(const Batch&)
  EXPECT_LT(r.train_loss.back(), 0.8 * r.train_loss.front());

  // Saved with model.json, loaded through the Reconstructor: same image as the network, in acquisition units.
  std::ofstream(dir.path / "run" / "model.json") << network_json(o).dump();
  auto rec = load_reconstructor("modl-sense", dir.path / "run" / "final.pt");
  Acquisition acq;
  acq.sampling = masks[0];
  acq.kspace = EigenFftw::multiply_mask(acq.mask(), EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(imgs[0]))) *
               cfloat(3.0f);
  acq.sensitivities = maps;
  const CArray x = rec->reconstruct(acq);
  EXPECT_EQ(dims_of(x), (Dims{nx, ny, 1, 1, 1}));
  Eigen::Tensor<float, 0> e = (x.abs() - imgs[0].abs() * 3.0f).abs().mean(), ref = (imgs[0].abs() * 3.0f).mean();
  EXPECT_LT(e(), 0.5 * ref());
  // Wrong architecture in model.json is an Error.
  std::ofstream(dir.path / "run" / "model.json") << network_json(ModlOptions{}).dump();
  EXPECT_THROW(load_reconstructor("modl-sense", dir.path / "run" / "final.pt"), Error);
}

TEST(SenseModl, ReconstructorEstimatesMapsWhenAbsent) {
  Threads1 t;
  const Index nx = 32, ny = 32, nc = 4;
  const CArray maps = synthetic_maps(nx, ny, nc);
  RArray mask = lines_mask(nx, ny);
  Acquisition acq;
  acq.sampling = mask;
  acq.kspace = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(test_image(nx, ny))));
  torch::manual_seed(2);
  SenseModlReconstructor rec(SenseModl(SenseModlOptions{.iterations = 1, .cg_iterations = 3, .conv_layers = 2,
                                                        .features = 2}));
  const CArray x = rec.reconstruct(acq);
  EXPECT_EQ(dims_of(x), (Dims{nx, ny, 1, 1, 1}));
  require_finite(x, "output");
  EXPECT_EQ(rec.name(), "modl-sense");
  EXPECT_GT(rec.parameters().value("lambda", 0.0), 0.0);
}
