#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "../common/random_data.hpp"
#include "../common/operator_battery.hpp"
#include "reconlab/sense.hpp"

using namespace reconlab;
using namespace reconlab::test_support;
using reconlab::test_support::run_operator_battery;

namespace {



/// Maps divided by their RSS: sum_c |s_c|^2 = 1 at every pixel.
CArray normalised_maps(const CArray& m) {
  RArray r = rss(m);
  CArray out = m;
  const Dims d = dims_of(m);
  for (Index c = 0; c < d[2]; ++c)
    for (Index y = 0; y < d[1]; ++y)
      for (Index x = 0; x < d[0]; ++x) out(x, y, c, 0, 0) /= r(x, y, 0, 0, 0);
  return out;
}

}  // namespace

TEST(CoilSensitivity, PassesOperatorBattery) {
  CoilSensitivity<EigenFftw> S(random_array(make_dims(21, 14, 5), 1));
  run_operator_battery<EigenFftw>(S, random_array(make_dims(21, 14, 1, 2, 3), 2), random_array(make_dims(21, 14, 1, 2, 3), 3),
                                  random_array(make_dims(21, 14, 5, 2, 3), 4), 1e-5, false);
}

TEST(CoilSensitivity, ApplyMatchesPixelwiseProductAndAdjointTheConjugateSum) {
  const CArray maps = random_array(make_dims(6, 5, 3), 5);
  const CArray x = random_array(make_dims(6, 5, 1, 1, 2), 6);
  CoilSensitivity<EigenFftw> S(maps);
  const CArray y = S.apply(x);
  const CArray z = S.adjoint(y);
  for (Index b = 0; b < 2; ++b)
    for (Index yy = 0; yy < 5; ++yy)
      for (Index xx = 0; xx < 6; ++xx) {
        std::complex<double> acc = 0, sum2 = 0;
        for (Index c = 0; c < 3; ++c) {
          const cfloat want = maps(xx, yy, c, 0, 0) * x(xx, yy, 0, 0, b);
          EXPECT_LT(std::abs(y(xx, yy, c, 0, b) - want), 1e-5f);
          acc += std::complex<double>(std::conj(maps(xx, yy, c, 0, 0))) * std::complex<double>(want);
          sum2 += std::norm(maps(xx, yy, c, 0, 0));
        }
        // S^H S x = (sum |s_c|^2) x.
        EXPECT_LT(std::abs(std::complex<double>(z(xx, yy, 0, 0, b)) - acc), 1e-4);
        EXPECT_LT(std::abs(std::complex<double>(z(xx, yy, 0, 0, b)) - sum2 * std::complex<double>(x(xx, yy, 0, 0, b))),
                  1e-4);
      }
}

TEST(SenseOperator, PassesOperatorBatteryWithExplicitNormal) {
  SenseOperator<EigenFftw> A(random_mask(24, 18, 7, 0.4), random_array(make_dims(24, 18, 4), 8));
  run_operator_battery<EigenFftw>(A, random_array(make_dims(24, 18), 9), random_array(make_dims(24, 18), 10),
                                  random_array(make_dims(24, 18, 4), 11), 1e-5, false);
}

TEST(SenseOperator, FullySampledWithNormalisedMapsIsAnIsometry) {
  RArray full(16, 12, 1, 1, 1);
  full.setConstant(1.f);
  SenseOperator<EigenFftw> A(full, normalised_maps(random_array(make_dims(16, 12, 6), 12)));
  run_operator_battery<EigenFftw>(A, random_array(make_dims(16, 12), 13), random_array(make_dims(16, 12), 14),
                                  random_array(make_dims(16, 12, 6), 15), 1e-5, true);
}

TEST(SenseOperator, EqualsMaskTimesPerCoilFftOfMapsTimesImage) {
  const CArray maps = random_array(make_dims(10, 8, 3), 16);
  const RArray mask = random_mask(10, 8, 17, 0.4);
  const CArray x = random_array(make_dims(10, 8), 18);
  const CArray k = SenseOperator<EigenFftw>(mask, maps).apply(x);
  for (Index c = 0; c < 3; ++c) {
    CArray coil(10, 8, 1, 1, 1);
    for (Index y = 0; y < 8; ++y)
      for (Index xx = 0; xx < 10; ++xx) coil(xx, y, 0, 0, 0) = maps(xx, y, c, 0, 0) * x(xx, y, 0, 0, 0);
    const CArray kc = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(coil));
    for (Index y = 0; y < 8; ++y)
      for (Index xx = 0; xx < 10; ++xx) EXPECT_LT(std::abs(k(xx, y, c, 0, 0) - kc(xx, y, 0, 0, 0)), 1e-5f);
  }
}

TEST(Rss, OfNormalisedCoilImagesIsTheMagnitude) {
  const CArray maps = normalised_maps(random_array(make_dims(9, 7, 5), 19));
  const CArray x = random_array(make_dims(9, 7), 20);
  const RArray r = rss(CoilSensitivity<EigenFftw>(maps).apply(x));
  for (Index i = 0; i < r.size(); ++i) EXPECT_NEAR(r.data()[i], std::abs(x.data()[i]), 1e-5f * (1 + std::abs(x.data()[i])));
}

TEST(SenseOperator, RejectsMapsOfTheWrongSizeAndCoilCountNamingBoth) {
  EXPECT_THROW(SenseOperator<EigenFftw>(random_mask(10, 8, 1, 0.4), random_array(make_dims(8, 10, 3), 1)), Error);
  CoilSensitivity<EigenFftw> S(random_array(make_dims(10, 8, 3), 2));
  try {
    S.adjoint(random_array(make_dims(10, 8, 4), 3));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("CoilSensitivity"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("10 x 8 x 4"));
  }
  EXPECT_THROW(S.apply(random_array(make_dims(10, 8, 2), 4)), Error);  // an image must have one coil
  try {
    require_maps_fit(make_dims(10, 8, 8), make_dims(10, 8, 6));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("coil counts disagree: k-space has 8 coils, sensitivity maps have 6"));
  }
  EXPECT_THROW(require_maps_fit(make_dims(10, 8, 8), make_dims(10, 9, 8)), Error);
  EXPECT_THROW(CoilSensitivity<EigenFftw>(random_array(make_dims(10, 8, 3, 2), 5)), Error);
}
