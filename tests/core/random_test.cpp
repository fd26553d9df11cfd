// reconlab::Random: values fixed by the seed alone. The expected numbers were computed outside C++ by a Python
// implementation of MT19937-64 (Matsumoto & Nishimura's reference algorithm, checked against the standard's
// 10000th output) and of the documented distribution algorithms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "reconlab/random.hpp"

using namespace reconlab;

// The engine is the one the standard specifies ([rand.predef]).
TEST(Random, EngineIsTheStandardMt19937_64) {
  std::mt19937_64 e;
  e.discard(9999);
  EXPECT_EQ(e(), 9981545732273789042ull);
  Random r(0);
  EXPECT_EQ(r.next_u64(), 2947667278772165694ull);
  EXPECT_EQ(r.next_u64(), 18301848765998365067ull);
  EXPECT_EQ(r.next_u64(), 729919693006235833ull);
}

TEST(Random, KnownFirstValuesForSeed0) {
  {
    Random r(0);
    EXPECT_EQ(r.uniform_double(), 0.1597933633704608);
    EXPECT_EQ(r.uniform_double(), 0.9921452096298288);
    EXPECT_EQ(r.uniform_double(), 0.03956902584486566);
  }
  {
    Random r(0);
    const std::vector<std::int64_t> want{9, 8, 6, 9, 3, 8, 6, 8, 1, 3};
    for (std::int64_t w : want) EXPECT_EQ(r.uniform_int(0, 9), w);
  }
  {
    Random r(0);
    EXPECT_EQ(r.uniform_int(-5, 1000000), 121913);
    EXPECT_EQ(r.uniform_int(-5, 1000000), 63878);
    EXPECT_EQ(r.uniform_int(-5, 1000000), 190644);
  }
  {
    Random r(0);  // Marsaglia polar; log from libm: allow a few ulp
    const double want[] = {-0.48132337199836744, 0.10191855551453786, 0.06498795333886546, -0.6806030325635429};
    for (double w : want) EXPECT_NEAR(r.normal(), w, 1e-15);
  }
}

// The same algorithms written out from the raw 64-bit stream of a separate std::mt19937_64.
TEST(Random, UniformsFollowTheRawStream) {
  Random r(12345);
  std::mt19937_64 e(12345);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(r.uniform_double(), double(e() >> 11) / 9007199254740992.0) << i;
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t v;
    do v = e() & 127u;  // span 99 -> mask 127
    while (v > 99);
    ASSERT_EQ(r.uniform_int(1, 100), std::int64_t(v) + 1) << i;
  }
  EXPECT_EQ(r.uniform_int(7, 7), 7);  // no draw
  EXPECT_EQ(r.next_u64(), e());
  // Full 64-bit range: the raw output reinterpreted.
  Random f(3);
  std::mt19937_64 g(3);
  EXPECT_EQ(f.uniform_int(INT64_MIN, INT64_MAX), std::int64_t(g() + std::uint64_t(INT64_MIN)));
  EXPECT_THROW(r.uniform_int(2, 1), Error);
}

TEST(Random, ComplexNormalDrawsRealThenImaginary) {
  Random a(7), b(7);
  for (int i = 0; i < 5; ++i) {
    const double re = b.normal(), im = b.normal();
    const auto z = a.complex_normal();
    EXPECT_EQ(z.real(), float(re));
    EXPECT_EQ(z.imag(), float(im));
  }
  Random c(7), d(7);
  const double re = d.normal(0, 2.5), im = d.normal(0, 2.5);
  const auto z = c.complex_normal(2.5);
  EXPECT_EQ(z, std::complex<float>(float(re), float(im)));
}

TEST(Random, DistributionsHaveTheirMoments) {
  Random r(2024);
  const int n = 100000;
  double s = 0, s2 = 0, s3 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    s2 += x * x;
    s3 += x * x * x;
    s4 += x * x * x * x;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 4.0 / std::sqrt(double(n)));       // 4 sigma
  EXPECT_NEAR(var, 1.0, 4.0 * std::sqrt(2.0 / double(n)));  // var of the sample variance: 2/n
  EXPECT_NEAR(s3 / n, 0.0, 4.0 * std::sqrt(15.0 / double(n)));
  EXPECT_NEAR(s4 / n, 3.0, 4.0 * std::sqrt(96.0 / double(n)));

  double u = 0, u2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.uniform_double();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    u += x;
    u2 += x * x;
  }
  EXPECT_NEAR(u / n, 0.5, 4.0 * std::sqrt(1.0 / 12.0 / n));
  EXPECT_NEAR(u2 / n - (u / n) * (u / n), 1.0 / 12.0, 1e-3);

  // uniform_int(0, 5): chi-square with 5 degrees of freedom; 20.5 is its 0.999 quantile.
  std::vector<int> count(6, 0);
  for (int i = 0; i < 60000; ++i) {
    const auto k = r.uniform_int(0, 5);
    ASSERT_GE(k, 0);
    ASSERT_LE(k, 5);
    ++count[std::size_t(k)];
  }
  double chi2 = 0;
  for (int c : count) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
  EXPECT_LT(chi2, 20.5);

  int hits = 0;
  for (int i = 0; i < n; ++i) hits += r.bernoulli(0.3);
  EXPECT_NEAR(hits / double(n), 0.3, 4.0 * std::sqrt(0.21 / n));
}
