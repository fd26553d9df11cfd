#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <random>

#include "../common/random_data.hpp"
#include "../common/operator_battery.hpp"
#include "reconlab/operators.hpp"

using namespace reconlab;
using namespace reconlab::test_support;
using reconlab::test_support::run_operator_battery;

namespace {



// Direct O(n^2) centred unitary DFT along both axes: sum_x exp(-2 pi i (k - c)(x - c')/n) with the index
// conventions of fftshift/ifftshift, an independent check of the shifted FFTW transform.
CArray naive_fft2c(const CArray& in) {
  const Index nx = in.dimension(0), ny = in.dimension(1);
  CArray out(nx, ny, 1, 1, 1);
  const double pi = 3.14159265358979323846;
  for (Index ky = 0; ky < ny; ++ky)
    for (Index kx = 0; kx < nx; ++kx) {
      std::complex<double> s = 0;
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          const double ph = -2 * pi *
                            (double(kx - nx / 2) * double(x - nx / 2) / nx + double(ky - ny / 2) * double(y - ny / 2) / ny);
          s += std::complex<double>(in(x, y, 0, 0, 0)) * std::polar(1.0, ph);
        }
      out(kx, ky, 0, 0, 0) = cfloat(s / std::sqrt(double(nx * ny)));
    }
  return out;
}

}  // namespace

TEST(Fft2c, MatchesDirectCentredDftForEvenAndOddSizes) {
  for (auto [nx, ny] : {std::pair<Index, Index>{8, 6}, {7, 5}, {9, 4}}) {
    CArray x = random_array(make_dims(nx, ny), 3);
    CArray k = EigenFftw::fft2c(x);
    CArray ref = naive_fft2c(x);
    double err = 0, nrm = 0;
    for (Index i = 0; i < k.size(); ++i) {
      err += std::norm(k.data()[i] - ref.data()[i]);
      nrm += std::norm(ref.data()[i]);
    }
    EXPECT_LT(std::sqrt(err / nrm), 1e-5) << nx << "x" << ny;
  }
}

TEST(Fft2c, DcOfCentredTransformSitsAtCentre) {
  CArray ones(6, 5, 1, 1, 1);
  ones.setConstant(cfloat(1, 0));
  CArray k = EigenFftw::fft2c(ones);
  EXPECT_NEAR(std::abs(k(3, 2, 0, 0, 0)), std::sqrt(30.0), 1e-4);  // index n/2 = centre
  EXPECT_NEAR(std::abs(k(0, 0, 0, 0, 0)), 0.0, 1e-5);
}

TEST(Fft2c, PassesOperatorBatteryAndIsUnitary) {
  Fft2c<EigenFftw> F;
  Dims d = make_dims(33, 20, 3, 2, 2);
  run_operator_battery<EigenFftw>(F, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, true);
}

TEST(Fft2c, ParsevalHoldsOnBatchedData) {
  CArray x = random_array(make_dims(64, 48, 4, 1, 3), 7);
  EXPECT_NEAR(EigenFftw::norm(EigenFftw::fft2c(x)) / EigenFftw::norm(x), 1.0, 1e-5);
}

TEST(CartesianSampling, PassesOperatorBattery) {
  CartesianSampling<EigenFftw> A(random_mask(40, 30, 5, 0.3));
  Dims d = make_dims(40, 30, 2, 1, 1);
  run_operator_battery<EigenFftw>(A, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, false);
}

TEST(CartesianSampling, FullMaskIsUnitary) {
  RArray m(16, 12, 1, 1, 1);
  m.setConstant(1.f);
  CartesianSampling<EigenFftw> A(m);
  Dims d = make_dims(16, 12);
  run_operator_battery<EigenFftw>(A, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, true);
}

TEST(CartesianSampling, RejectsWrongImageSizeNamingTheOperator) {
  CartesianSampling<EigenFftw> A(random_mask(16, 12, 1, 0.3));
  try {
    A.apply(random_array(make_dims(12, 16), 1));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("CartesianSampling"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("12 x 16"));
  }
}

TEST(FiniteDifference, PassesOperatorBattery) {
  FiniteDifference<EigenFftw> G;
  Dims d = make_dims(17, 13, 1, 2, 1);
  Dims g = make_dims(17, 13, 1, 2, 2);
  run_operator_battery<EigenFftw>(G, random_array(d, 1), random_array(d, 2), random_array(g, 3), 1e-5, false);
}

TEST(FiniteDifference, NormIsAtMostEight) {
  // Power iteration on G^H G: the largest eigenvalue of the 2D Neumann Laplacian is below 8.
  FiniteDifference<EigenFftw> G;
  CArray x = random_array(make_dims(32, 32), 9);
  double lambda = 0;
  for (int i = 0; i < 200; ++i) {
    CArray y = normal(G, x);
    lambda = EigenFftw::norm(y) / EigenFftw::norm(x);
    x = y * cfloat(1.0f / static_cast<float>(EigenFftw::norm(y)));
  }
  EXPECT_LT(lambda, 8.0);
  EXPECT_GT(lambda, 7.5);
}

TEST(Composition, ComposedOperatorPassesBatteryAndChecksShapes) {
  auto A = Fft2c<EigenFftw>(20, 10) * FiniteDifference<EigenFftw>(20, 10);
  Dims d = make_dims(20, 10), g = make_dims(20, 10, 1, 1, 2);
  run_operator_battery<EigenFftw>(A, random_array(d, 1), random_array(d, 2), random_array(g, 3), 1e-5, false);
  EXPECT_THROW(Fft2c<EigenFftw>(20, 10) * FiniteDifference<EigenFftw>(10, 20), Error);
}
