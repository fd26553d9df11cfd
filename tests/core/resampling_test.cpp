// Resampling operators and interpolators of super-resolution (include/reconlab/resampling.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "../common/operator_battery.hpp"
#include "../common/random_data.hpp"
#include "reconlab/resampling.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {
double rel_l2(const CArray& a, const CArray& b) {
  double num = 0, den = 0;
  for (Index i = 0; i < a.size(); ++i) num += std::norm(a.data()[i] - b.data()[i]), den += std::norm(b.data()[i]);
  return std::sqrt(num / std::max(den, 1e-300));
}
}  // namespace

TEST(Resampling, KspaceTruncationAndBlockAveragePassTheBatteryAndDenseChecks) {
  for (auto [nx, ny, s] : {std::tuple<Index, Index, Index>{8, 6, 2}, {9, 6, 3}}) {
    SCOPED_TRACE(std::to_string(nx) + "x" + std::to_string(ny) + "/" + std::to_string(s));
    const Dims hi{nx, ny, 2, 1, 1}, lo{nx / s, ny / s, 2, 1, 1};
    const auto D = KspaceTruncation<EigenFftw>::by_factor(nx, ny, s);
    run_operator_battery<EigenFftw>(D, random_array(hi, 1), random_array(hi, 2), random_array(lo, 3), 1e-5, false);
    run_dense_checks(D, random_array(hi, 4), 1e-4);
    const BlockAverage A(nx, ny, s);
    run_operator_battery<EigenFftw>(A, random_array(hi, 5), random_array(hi, 6), random_array(lo, 7), 1e-5, false);
    run_dense_checks(A, random_array(hi, 8), 1e-4);
  }
}

TEST(Resampling, TruncationThenZeroPaddingIsTheOrthogonalProjectionOntoLowFrequencies) {
  const Index nx = 16, ny = 12;
  const auto D = KspaceTruncation<EigenFftw>::by_factor(nx, ny, 4);
  const CArray x = random_array({nx, ny, 1, 1, 1}, 11), y = random_array({4, 3, 1, 1, 1}, 12);
  // D D^H = I on the low-resolution grid (unitary truncation).
  EXPECT_LT(rel_l2(D.apply(D.adjoint(y)), y), 1e-5);
  // P = D^H D: idempotent, Hermitian, keeps exactly the centred 4 x 3 block of k-space and zeroes the rest.
  const CArray p = D.adjoint(D.apply(x));
  EXPECT_LT(rel_l2(D.adjoint(D.apply(p)), p), 1e-5);
  const CArray kx = EigenFftw::fft2c(x), kp = EigenFftw::fft2c(p);
  double kmax = 0;
  for (Index i = 0; i < kx.size(); ++i) kmax = std::max<double>(kmax, std::abs(kx.data()[i]));
  for (Index v = 0; v < ny; ++v)
    for (Index u = 0; u < nx; ++u) {
      const bool kept = u >= nx / 2 - 2 && u < nx / 2 + 2 && v >= ny / 2 - 1 && v < ny / 2 + 2;
      const cfloat expect = kept ? kx(u, v, 0, 0, 0) : cfloat(0);
      EXPECT_LT(std::abs(kp(u, v, 0, 0, 0) - expect), 1e-5 * kmax) << u << "," << v;
    }
  // Sinc interpolation keeps a constant (in any units).
  for (float c : {1e-6f, 3.0f, -1e4f}) {
    CArray low(4, 3, 1, 1, 1);
    low.setConstant(cfloat(c));
    const CArray up = sinc_upsample(low, nx, ny);
    for (Index i = 0; i < up.size(); ++i) EXPECT_NEAR(up.data()[i].real(), c, 1e-5 * std::abs(c));
  }
}

TEST(Resampling, BicubicReproducesQuadraticsAwayFromTheEdgesAndKeysValues) {
  // Keys' kernel with a = -1/2 interpolates polynomials up to degree 2 exactly (Keys 1981, Sec. III).
  const Index lx = 12, ly = 10, s = 3;
  CArray low(lx, ly, 1, 1, 1);
  auto f = [](double x, double y) { return 0.3 + 0.7 * x - 0.2 * y + 0.05 * x * x - 0.03 * x * y + 0.02 * y * y; };
  for (Index y = 0; y < ly; ++y)
    for (Index x = 0; x < lx; ++x) low(x, y, 0, 0, 0) = cfloat(float(f(double(x), double(y))), float(-f(y, x)));
  const CArray up = bicubic_upsample(low, s);
  ASSERT_EQ(dims_of(up), (Dims{lx * s, ly * s, 1, 1, 1}));
  for (Index y = 2 * s; y < (ly - 2) * s; ++y)
    for (Index x = 2 * s; x < (lx - 2) * s; ++x) {
      const double u = (x + 0.5) / double(s) - 0.5, v = (y + 0.5) / double(s) - 0.5;
      EXPECT_NEAR(up(x, y, 0, 0, 0).real(), f(u, v), 1e-4) << x << "," << y;
      EXPECT_NEAR(up(x, y, 0, 0, 0).imag(), -f(v, u), 1e-4) << x << "," << y;
    }
  // Kernel values from Keys' eq. 15: W(0) = 1, W(1) = W(2) = 0, W(0.5) = 0.5625, W(1.5) = -0.0625.
  EXPECT_DOUBLE_EQ(detail::keys_kernel(0), 1.0);
  EXPECT_DOUBLE_EQ(detail::keys_kernel(1), 0.0);
  EXPECT_DOUBLE_EQ(detail::keys_kernel(2), 0.0);
  EXPECT_DOUBLE_EQ(detail::keys_kernel(0.5), 0.5625);
  EXPECT_DOUBLE_EQ(detail::keys_kernel(-1.5), -0.0625);
  // Grid-origin alignment (KspaceTruncation's grid): output pixel i samples the source at i / s.
  const CArray up0 = bicubic_upsample(low, s, false);
  for (Index y = 2 * s; y < (ly - 2) * s; ++y)
    for (Index x = 2 * s; x < (lx - 2) * s; ++x)
      EXPECT_NEAR(up0(x, y, 0, 0, 0).real(), f(double(x) / s, double(y) / s), 1e-4) << x << "," << y;
  // Factor 1 is the identity.
  EXPECT_LT(rel_l2(bicubic_upsample(low, 1), low), 1e-7);
}

TEST(Resampling, BadSizesAreClearErrors) {
  EXPECT_THROW(KspaceTruncation<EigenFftw>::by_factor(10, 8, 3), Error);
  EXPECT_THROW(KspaceTruncation<EigenFftw>(8, 8, 9, 4), Error);
  EXPECT_THROW(BlockAverage(10, 8, 4), Error);
  EXPECT_THROW(bicubic_upsample(CArray(4, 4, 1, 1, 1), 0), Error);
  const auto D = KspaceTruncation<EigenFftw>::by_factor(8, 8, 2);
  EXPECT_THROW(D.apply(random_array({6, 8, 1, 1, 1}, 1)), Error);
  EXPECT_THROW(D.adjoint(random_array({8, 8, 1, 1, 1}, 1)), Error);
}
