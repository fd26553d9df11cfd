// Tests of the input standardisation of the k-space U-Net and the cascade (issue 7, "Seed 004's networks lose to
// zero-filled on real data"): both are scale-equivariant (c y in, c x out, for c from 1e-6 to 1e4, which the raw
// networks of seed 004 were not), start as zero-filled (the k-space U-Net's head is zero) and keep the measured
// samples (the cascade ends with hard DC), the virtual conjugate channels are the mirrored conjugate k-space, and
// a briefly trained cascade beats zero-filled on held-out phantoms of another grid size and intensity scale.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../common/temp_dir.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/phantoms.hpp"

using namespace reconlab;
using namespace reconlab::networks;
using reconlab::test_support::TempDir;

namespace {

/// A column mask (1, 1, 1, h, w): every 4th column from a seeded offset pattern and the 4 central ones.
torch::Tensor column_mask(int64_t h, int64_t w) {
  auto m = torch::zeros({1, 1, 1, h, w});
  for (int64_t x = 0; x < w; ++x)
    if ((x * 7) % 4 == 1 || std::abs(x - w / 2) <= 2) m.select(4, x).fill_(1);
  return m;
}

/// Phantom (n x n) with a smooth phase as complex (1, 1, 1, n, n).
torch::Tensor phantom_image(PhantomSplit split, int i, int64_t n) {
  auto mag = Torch::from_eigen(to_complex(split_phantom(split, i, 31, n)));
  auto yy = torch::linspace(-1, 1, n).unsqueeze(1), xx = torch::linspace(-1, 1, n).unsqueeze(0);
  auto phase = (0.4 * xx - 0.3 * yy + 0.2 * xx * yy).reshape({1, 1, 1, n, n});
  return mag * torch::polar(torch::ones_like(phase), phase);
}

/// Sets every parameter of `m` to seeded random values of size about 0.1 (so no network is the identity).
void randomise(torch::nn::Module& m, uint64_t seed) {
  torch::NoGradGuard g;
  torch::manual_seed(seed);
  for (auto& p : m.parameters()) p.copy_(0.1 * torch::randn_like(p));
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (torch::abs(a - b).pow(2).sum() / torch::abs(b).pow(2).sum()).sqrt().item<double>();
}

double psnr(const torch::Tensor& truth, const torch::Tensor& x) {
  auto t = torch::abs(truth), p = torch::abs(x);
  const double mse = (t - p).pow(2).mean().item<double>(), range = t.max().item<double>();
  return 10 * std::log10(range * range / mse);
}

}  // namespace

TEST(StandardisedDcNetworks, KspaceUnetAndCascadeAreScaleEquivariant) {
  torch::set_num_threads(1);
  auto img = phantom_image(PhantomSplit::test, 0, 40);
  auto mask = column_mask(40, 40);
  auto y = CartesianSampling<Torch>(mask).apply(img);
  KspaceUnet kunet(KspaceUnetOptions{4, 2});
  randomise(*kunet, 1);
  Cascade cascade(CascadeOptions{{4, 2}, 4, 2});
  randomise(*cascade, 2);
  kunet->eval();
  cascade->eval();
  torch::NoGradGuard g;
  const auto k1 = kunet->reconstruct(y, mask), c1 = cascade->reconstruct(y, mask);
  ASSERT_GT(relative_error(k1, CartesianSampling<Torch>(mask).adjoint(y)), 1e-3);  // not the identity
  for (double c : {1e-6, 1e4}) {
    SCOPED_TRACE(c);
    EXPECT_LT(relative_error(kunet->reconstruct(y * c, mask), k1 * c), 1e-4);
    EXPECT_LT(relative_error(cascade->reconstruct(y * c, mask), c1 * c), 1e-4);
  }
  // The raw k-space U-Net of seed 004 is not: its output depends on the intensity scale.
  KspaceUnet raw(KspaceUnetOptions{4, 2, InputNorm::none, false});
  randomise(*raw, 3);
  raw->eval();
  EXPECT_GT(relative_error(raw->reconstruct(y * 1e4, mask), raw->reconstruct(y, mask) * 1e4), 1e-2);
}

TEST(StandardisedDcNetworks, StartAsZeroFilledAndKeepTheMeasuredSamples) {
  torch::set_num_threads(1);
  auto img = phantom_image(PhantomSplit::test, 1, 36);
  auto mask = column_mask(36, 36);
  CartesianSampling<Torch> A(mask);
  auto y = A.apply(img);
  torch::NoGradGuard g;
  KspaceUnet kunet(KspaceUnetOptions{4, 2});
  EXPECT_LT(relative_error(kunet->reconstruct(y, mask), A.adjoint(y)), 1e-6);  // zero head: zero-filled
  Cascade cascade(CascadeOptions{{4, 2}, 4, 2});
  randomise(*cascade, 4);
  auto k = Fft2c<Torch>().apply(cascade->reconstruct(y, mask));
  EXPECT_LT(relative_error(k * mask, y), 1e-5);  // final hard DC
  // The virtual conjugate k-space: mirror(y)(k) = y(-k) on the centred grid, for even and odd sizes.
  for (int64_t n : {6, 7}) {
    auto a = torch::randn({1, 1, 1, n, n}, torch::kComplexFloat);
    auto m = networks::detail::mirror_kspace(a);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const int64_t mi = (2 * (n / 2) - i + n) % n, mj = (2 * (n / 2) - j + n) % n;
        EXPECT_TRUE(torch::equal(m[0][0][0][i][j], a[0][0][0][mi][mj])) << n << " " << i << " " << j;
      }
  }
}

TEST(StandardisedDcNetworks, TrainedCascadeBeatsZeroFilledOnHeldOutPhantomsOfAnotherSizeAndScale) {
  torch::set_num_threads(1);
  // Training: 24 phantoms at 32 x 32 in the units of NetworkReconstructor (zero-filled maximum 1).
  std::vector<torch::Tensor> xs, ys;
  for (int i = 0; i < 24; ++i) {
    auto img = phantom_image(PhantomSplit::train, i, 32);
    auto mask = column_mask(32, 32);
    auto y = CartesianSampling<Torch>(mask).apply(img);
    const double s = 1.0 / torch::abs(CartesianSampling<Torch>(mask).adjoint(y)).max().item<double>();
    xs.push_back(pack_kspace(y * s, mask));
    ys.push_back(torch::abs(img).squeeze(2) * s);
  }
  torch::manual_seed(5);
  Cascade net(CascadeOptions{{4, 2}, 8, 2});  // stage 1 untrained: zero-filled (zero head)
  TempDir dir("cascade_std");
  TrainOptions o;
  o.epochs = 6;
  o.batch_size = 4;
  o.learning_rate = 3e-3;
  o.seed = 6;
  o.checkpoint_dir = dir.path.string();
  o.loss = "l1";
  o.progress = false;
  o.threads = 1;
  auto r = train(net, torch::cat(xs), torch::cat(ys), {}, {}, o);
  EXPECT_LT(r.train_loss.back(), r.train_loss.front());
  // Held out: test phantoms at 48 x 48, k-space scaled by 1e3 (not the training units).
  net->eval();
  torch::NoGradGuard g;
  double zf = 0, cas = 0;
  const int n = 6;
  for (int i = 0; i < n; ++i) {
    auto img = phantom_image(PhantomSplit::test, i, 48) * 1e3;
    auto mask = column_mask(48, 48);
    CartesianSampling<Torch> A(mask);
    auto y = A.apply(img);
    zf += psnr(img, A.adjoint(y)) / n;
    cas += psnr(img, net->reconstruct(y, mask)) / n;
  }
  EXPECT_GT(cas, zf + 0.5) << "cascade " << cas << " dB, zero-filled " << zf << " dB";
}
