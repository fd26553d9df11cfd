// Super-resolution: low-resolution acquisitions (acquisition.hpp's LowResolution), their forward model, the
// classical interpolators (super_resolution.hpp) and TV super-resolution by the one PDHG (CsTvReconstructor).
#include <gtest/gtest.h>

#include <cmath>

#include "../common/error_of.hpp"
#include "../common/operator_battery.hpp"
#include "../common/random_data.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/resampling.hpp"
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/super_resolution.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {
double rel_l2(const CArray& a, const CArray& b) {
  double num = 0, den = 0;
  for (Index i = 0; i < a.size(); ++i) num += std::norm(a.data()[i] - b.data()[i]), den += std::norm(b.data()[i]);
  return std::sqrt(num / den);
}

// The centred unitary DFT of one plane by the definition (O(n^4), small sizes only): k-space index u in
// [0, nx) holds frequency u - nx/2, pixel x sits at x - nx/2.
CArray dft2c(const CArray& x) {
  const Index nx = x.dimension(0), ny = x.dimension(1);
  CArray k(nx, ny, 1, 1, 1);
  for (Index v = 0; v < ny; ++v)
    for (Index u = 0; u < nx; ++u) {
      std::complex<double> acc = 0;
      for (Index y = 0; y < ny; ++y)
        for (Index xx = 0; xx < nx; ++xx) {
          const double ph = -2 * M_PI * (double((u - nx / 2) * (xx - nx / 2)) / double(nx) +
                                         double((v - ny / 2) * (y - ny / 2)) / double(ny));
          acc += std::complex<double>(x(xx, y, 0, 0, 0)) * std::polar(1.0, ph);
        }
      k(u, v, 0, 0, 0) = cfloat(acc / std::sqrt(double(nx * ny)));
    }
  return k;
}
}  // namespace

TEST(SuperResolution, KspaceTruncationDataAreTheCentreOfTheHighResolutionKspace) {
  // Independent of resampling.hpp: the centre (nx/s, ny/s) block of the DFT by its definition.
  const Index nx = 12, ny = 8, s = 2;
  const CArray x = random_array({nx, ny, 1, 1, 1}, 11);
  const Acquisition acq = solvers::simulate_low_resolution(x, s, LowResolution::kspace_truncation);
  const CArray K = dft2c(x);
  ASSERT_EQ(acq.kspace.dimension(0), nx / s);
  ASSERT_EQ(acq.kspace.dimension(1), ny / s);
  double err = 0, ref = 0;
  for (Index v = 0; v < ny / s; ++v)
    for (Index u = 0; u < nx / s; ++u) {
      const cfloat want = K(u + nx / 2 - nx / (2 * s), v + ny / 2 - ny / (2 * s), 0, 0, 0);
      err += std::norm(acq.kspace(u, v, 0, 0, 0) - want), ref += std::norm(want);
    }
  EXPECT_LT(std::sqrt(err / ref), 1e-5);
  // The forward model of the acquisition reproduces the data, and passes the adjoint / normal dense checks.
  for (LowResolution m : {LowResolution::kspace_truncation, LowResolution::block_average}) {
    SCOPED_TRACE(to_string(m));
    const Acquisition a = solvers::simulate_low_resolution(x, s, m);
    const auto A = forward_model<EigenFftw>(a);
    EXPECT_LT(rel_l2(A.apply(x), a.kspace), 1e-5);
    run_dense_checks(A, x, 1e-4);
  }
}

TEST(SuperResolution, ZeroPaddingRecoversBandLimitedImagesAndBicubicReproducesRamps) {
  const Index n = 32, s = 4;
  // A band-limited image: random k-space inside the centre n/s x n/s block only.
  CArray K(n, n, 1, 1, 1);
  K.setZero();
  const CArray centre = random_array({n / s, n / s, 1, 1, 1}, 5);
  for (Index v = 0; v < n / s; ++v)
    for (Index u = 0; u < n / s; ++u) K(u + n / 2 - n / (2 * s), v + n / 2 - n / (2 * s), 0, 0, 0) = centre(u, v, 0, 0, 0);
  const CArray x = EigenFftw::ifft2c(K);
  const Acquisition acq = solvers::simulate_low_resolution(x, s, LowResolution::kspace_truncation);
  solvers::ZeroPaddingReconstructor zp;
  solvers::BicubicReconstructor bc;
  EXPECT_LT(rel_l2(zp.reconstruct(acq), x), 1e-5);
  EXPECT_GT(rel_l2(bc.reconstruct(acq), x), 0.05);  // bicubic is not the band-limited interpolator
  // zero-padding is zero-filled (A^H y) for k-space truncation.
  EXPECT_LT(rel_l2(zp.reconstruct(acq), solvers::zero_filled(acq)), 1e-6);

  // Block averages of a ramp are the ramp at the block centres, so bicubic with block-centre alignment gives the
  // ramp back away from the edges (Keys' kernel reproduces polynomials up to degree 2).
  CArray ramp(n, n, 1, 1, 1);
  for (Index y = 0; y < n; ++y)
    for (Index xx = 0; xx < n; ++xx) ramp(xx, y, 0, 0, 0) = cfloat(0.3f * float(xx) - 0.7f * float(y) + 2.0f);
  const Acquisition ab = solvers::simulate_low_resolution(ramp, s, LowResolution::block_average);
  const CArray up = bc.reconstruct(ab);
  double worst = 0;
  for (Index y = 2 * s; y < n - 2 * s; ++y)
    for (Index xx = 2 * s; xx < n - 2 * s; ++xx) worst = std::max(worst, double(std::abs(up(xx, y, 0, 0, 0) - ramp(xx, y, 0, 0, 0))));
  EXPECT_LT(worst, 1e-4);
}

TEST(SuperResolution, TvBeatsZeroPaddingAndBicubicOnAPiecewiseConstantPhantom) {
  const Index n = 96;
  const CArray x = render_ellipses(modified_shepp_logan(), n).cast<cfloat>();
  solvers::CsTvOptions o;
  o.lambda = 2e-3;
  o.max_iterations = 3000;
  o.record_objective = false;
  for (LowResolution m : {LowResolution::kspace_truncation, LowResolution::block_average})
    for (Index s : {2, 4}) {
      SCOPED_TRACE(to_string(m) + " factor " + std::to_string(s));
      const Acquisition acq = solvers::simulate_low_resolution(x, s, m, 1e-3, 7);
      solvers::CsTvReconstructor tv(o);
      const CArray rec = tv.reconstruct(acq);
      const double e_tv = rel_l2(rec, x), e_zp = rel_l2(solvers::ZeroPaddingReconstructor().reconstruct(acq), x),
                   e_bc = rel_l2(solvers::BicubicReconstructor().reconstruct(acq), x);
      std::printf("%s s=%lld: zero-padding %.3f bicubic %.3f tv-sr %.3f (%d iterations)\n", to_string(m).c_str(),
                  (long long)s, e_zp, e_bc, e_tv, tv.status().iterations);
      EXPECT_LT(e_tv, 0.97 * e_zp);
      EXPECT_LT(e_tv, 0.97 * e_bc);
      EXPECT_LT(tv.status().iterations, o.max_iterations);  // stopped by the residual criterion
      // Data consistency: the TV solution reproduces the low-resolution data to the noise level.
      const auto A = forward_model<EigenFftw>(acq);
      EXPECT_LT(rel_l2(A.apply(rec), acq.kspace), 0.05);
      // Scale: data x 1e4 gives the image x 1e4 (lambda is relative to the data's zero-padded maximum).
      Acquisition big = acq;
      big.kspace = acq.kspace * cfloat(1e4f);
      EXPECT_LT(rel_l2(solvers::CsTvReconstructor(o).reconstruct(big), CArray(rec * cfloat(1e4f))), 1e-3);
    }
}

TEST(SuperResolution, BadAcquisitionsAreClearErrors) {
  const CArray x = random_array({16, 12, 1, 1, 1}, 3);
  EXPECT_NE(error_of([&] { solvers::simulate_low_resolution(x, 5, LowResolution::block_average); })
                .find("must be >= 1 and divide"),
            std::string::npos);
  EXPECT_NE(error_of([&] { solvers::simulate_low_resolution(x, 2, LowResolution::none); }).find("the model must"),
            std::string::npos);
  Acquisition acq = solvers::simulate_low_resolution(x, 2, LowResolution::kspace_truncation);
  Acquisition wrong = acq;
  wrong.image_dims = {15, 12, 1, 1, 1};
  EXPECT_NE(error_of([&] { validate_acquisition(wrong); }).find("integer factor"), std::string::npos);
  wrong = acq;
  RArray m(8, 6, 1, 1, 1);
  m.setConstant(1.0f);
  m(0, 0, 0, 0, 0) = 0.0f;
  wrong.sampling = m;
  EXPECT_NE(error_of([&] { validate_acquisition(wrong); }).find("fully sampled"), std::string::npos);
  // Without low_resolution the larger image grid is refused, naming the field.
  wrong = acq;
  wrong.low_resolution = LowResolution::none;
  EXPECT_NE(error_of([&] { validate_acquisition(wrong); }).find("set low_resolution"), std::string::npos);
  // Interpolators need a low-resolution acquisition; zero-filled refuses block averages.
  Acquisition plain;
  plain.kspace = EigenFftw::fft2c(x);
  RArray ones(16, 12, 1, 1, 1);
  ones.setConstant(1.0f);
  plain.sampling = ones;
  EXPECT_NE(error_of([&] { solvers::BicubicReconstructor().reconstruct(plain); }).find("super-resolution method"),
            std::string::npos);
  const Acquisition ab = solvers::simulate_low_resolution(x, 2, LowResolution::block_average);
  EXPECT_NE(error_of([&] { solvers::zero_filled(ab); }).find("zero-padding or bicubic"), std::string::npos);
  EXPECT_EQ(low_resolution_from_string("block-average"), LowResolution::block_average);
  EXPECT_NE(error_of([&] { low_resolution_from_string("nearest"); }).find("valid:"), std::string::npos);
}

TEST(SuperResolution, BicubicOnKspaceTruncationIsCentredForOddAndEvenLowResolutionSizes) {
  // One period of a cosine across the field of view, centred on the centred FFT's origin (pixel n/2): k-space
  // truncation keeps it exactly, so a correctly aligned bicubic interpolation is close to it at any size, and a
  // half-pixel misalignment (odd low-resolution sizes) would not be.
  for (Index l : {7, 8}) {
    const Index s = 4, n = l * s;
    CArray x(n, n, 1, 1, 1);
    for (Index y = 0; y < n; ++y)
      for (Index j = 0; j < n; ++j)
        x(j, y, 0, 0, 0) = cfloat(2.0f + std::cos(2 * float(M_PI) * float(j - n / 2) / float(n)) *
                                             std::cos(2 * float(M_PI) * float(y - n / 2) / float(n)));
    const Acquisition acq = solvers::simulate_low_resolution(x, s, LowResolution::kspace_truncation);
    const CArray up = solvers::BicubicReconstructor().reconstruct(acq);
    double worst = 0;  // away from the replicated edges
    for (Index y = 2 * s; y < n - 2 * s; ++y)
      for (Index j = 2 * s; j < n - 2 * s; ++j) worst = std::max<double>(worst, std::abs(up(j, y, 0, 0, 0) - x(j, y, 0, 0, 0)));
    std::printf("low-resolution size %lld: largest interior error %.4f\n", (long long)l, worst);
    EXPECT_LT(worst, 0.05) << "low-resolution size " << l;  // a half-pixel shift: about 2 pi 2 / n = 0.45
  }
}
