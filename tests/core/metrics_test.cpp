// Tests of include/reconlab/metrics.hpp against scikit-image 0.19.3 / fastMRI numbers (/work/shared/reference)
// and the metrics' basic properties.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "reconlab/io/npy.hpp"
#include "reconlab/metrics.hpp"

using namespace reconlab;

namespace {

RArray random_image(Index nx, Index ny, unsigned seed, float lo = 0.f, float hi = 1.f) {
  std::mt19937 g(seed);
  RArray a(nx, ny, 1, 1, 1);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = lo + (hi - lo) * float(g() % 100000) / 100000.f;
  return a;
}

void expect_rel(double got, double want, double rel, const std::string& what) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want)) << what << ": got " << got << ", reference " << want;
}

}  // namespace

TEST(MetricsTest, MatchesScikitImageAndFastMriReferences) {
  const std::string dir = shared_dir() + "/reference";
  if (!std::filesystem::exists(dir + "/manifest.json")) GTEST_SKIP() << "no reference folder at " << dir;
  std::ifstream f(dir + "/manifest.json");
  const auto manifest = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& e : manifest.at("metrics")) {
    const RArray t = io::read_npy_real(dir + "/" + e.at("target").get<std::string>());
    const RArray p = io::read_npy_real(dir + "/" + e.at("prediction").get<std::string>());
    const std::string name = e.at("prediction");
    const Metrics m = compute_metrics(t, p);
    expect_rel(m.data_range, e.at("data_range"), 1e-4, name + " data_range");
    expect_rel(m.psnr, e.at("psnr"), 1e-4, name + " psnr");
    expect_rel(m.ssim, e.at("ssim"), 1e-4, name + " ssim");
    expect_rel(m.nmse, e.at("nmse"), 1e-4, name + " nmse");
    expect_rel(m.rmse, e.at("rmse"), 1e-4, name + " rmse");
    // Explicit data range equal to the default gives the same numbers.
    const Metrics m2 = compute_metrics(t, p, e.at("data_range").get<double>());
    EXPECT_DOUBLE_EQ(m2.ssim, m.ssim);
    EXPECT_DOUBLE_EQ(m2.psnr, m.psnr);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(MetricsTest, IdenticalImages) {
  const RArray a = random_image(32, 20, 1);
  const Metrics m = compute_metrics(a, a);
  EXPECT_TRUE(std::isinf(m.psnr) && m.psnr > 0);  // MSE = 0: +inf, as skimage
  EXPECT_NEAR(m.ssim, 1.0, 1e-12);
  EXPECT_EQ(m.nmse, 0.0);
  EXPECT_EQ(m.rmse, 0.0);
}

TEST(MetricsTest, ScaleInvarianceAndKnownValues) {
  const RArray t = random_image(40, 33, 2);
  const RArray p = random_image(40, 33, 3);
  const Metrics m = compute_metrics(t, p);
  const RArray t5 = t * 5.f, p5 = p * 5.f;
  const Metrics m5 = compute_metrics(t5, p5);
  EXPECT_NEAR(m5.nmse, m.nmse, 1e-6 * m.nmse);
  EXPECT_NEAR(m5.psnr, m.psnr, 1e-5);                 // PSNR with data_range = max(target) is scale invariant
  EXPECT_NEAR(m5.ssim, m.ssim, 1e-6);                 // so is SSIM (C1, C2 scale with R^2)
  EXPECT_NEAR(m5.rmse, 5.0 * m.rmse, 1e-5 * m.rmse);  // RMSE carries units
  EXPECT_GE(m.ssim, -1.0);
  EXPECT_LE(m.ssim, 1.0);
  // A constant offset c: MSE = c^2, so RMSE = c and PSNR = 10 log10(R^2 / c^2).
  RArray q = t + 0.25f;
  const Metrics mo = compute_metrics(t, q, 2.0);
  EXPECT_NEAR(mo.rmse, 0.25, 1e-6);
  EXPECT_NEAR(mo.psnr, 10.0 * std::log10(4.0 / 0.0625), 1e-4);
  EXPECT_EQ(mo.data_range, 2.0);
}

TEST(MetricsTest, PerSliceMatchesSingleImage) {
  const RArray t0 = random_image(16, 12, 4), t1 = random_image(16, 12, 5);
  const RArray p0 = random_image(16, 12, 6), p1 = random_image(16, 12, 7);
  RArray t(16, 12, 1, 1, 2), p(16, 12, 1, 1, 2);
  std::memcpy(t.data(), t0.data(), sizeof(float) * 192);
  std::memcpy(t.data() + 192, t1.data(), sizeof(float) * 192);
  std::memcpy(p.data(), p0.data(), sizeof(float) * 192);
  std::memcpy(p.data() + 192, p1.data(), sizeof(float) * 192);
  const auto v = compute_metrics_per_slice(t, p);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_DOUBLE_EQ(v[1].ssim, compute_metrics(t1, p1).ssim);
  EXPECT_DOUBLE_EQ(v[0].psnr, compute_metrics(t0, p0).psnr);
  EXPECT_THROW(compute_metrics(t, p), Error);  // a stack is not one 2D image
}

TEST(MetricsTest, BadInputsThrow) {
  const RArray a = random_image(16, 16, 8);
  EXPECT_THROW(compute_metrics(a, random_image(16, 15, 9)), Error);  // shape mismatch
  EXPECT_THROW(compute_metrics(RArray(0, 16, 1, 1, 1), RArray(0, 16, 1, 1, 1)), Error);
  RArray n = a;
  n(3, 3, 0, 0, 0) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(compute_metrics(a, n), Error);
  EXPECT_THROW(compute_metrics(n, a), Error);
  EXPECT_THROW(compute_metrics(a, a, 0.0), Error);
  EXPECT_THROW(compute_metrics(a, a, -1.0), Error);
  RArray z(16, 16, 1, 1, 1);
  z.setZero();
  EXPECT_THROW(compute_metrics(z, a), Error);  // default data range max(target) = 0
  EXPECT_THROW(compute_metrics(random_image(6, 16, 1), random_image(6, 16, 2)), Error);  // smaller than 7x7
  EXPECT_NO_THROW(compute_metrics(random_image(7, 7, 1), random_image(7, 7, 2)));
}
