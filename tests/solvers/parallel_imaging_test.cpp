// Parallel imaging: GRAPPA and CG-SENSE on noise-free simulated multi-coil data, maps against bart ecalib on the
// real brain8ch slice, wavelet / FISTA / coil-compression identities, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <numbers>

#include "../common/random_data.hpp"
#include "../common/operator_battery.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/coil_compression.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"

using namespace reconlab;
using namespace reconlab::test_support;
using namespace reconlab::solvers;

namespace {


/// A smooth complex test object: a few ellipses with a slowly varying phase.
CArray phantom(Index nx, Index ny) {
  CArray x(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index xx = 0; xx < nx; ++xx) {
      const double u = 2.0 * xx / nx - 1, v = 2.0 * y / ny - 1;
      double m = 0;
      if (u * u / 0.7 + v * v / 0.9 < 1) m = 1;
      if ((u - 0.2) * (u - 0.2) / 0.05 + v * v / 0.2 < 1) m = 0.4;
      if ((u + 0.3) * (u + 0.3) / 0.02 + (v - 0.3) * (v - 0.3) / 0.03 < 1) m = 0.7;
      x(xx, y, 0, 0, 0) = std::polar(float(m), float(0.5 * u + 0.3 * v));
    }
  return x;
}

/// Band-limited coil maps: each coil is a sum of a few low-frequency complex exponentials, so every coil's
/// k-space is the object's k-space convolved with a small kernel (the setting where GRAPPA is exact).
CArray smooth_maps(Index nx, Index ny, Index nc, unsigned seed) {
  Random rng(seed);
  CArray m(nx, ny, nc, 1, 1);
  m.setZero();
  for (Index c = 0; c < nc; ++c)
    for (int fy = -1; fy <= 1; ++fy)
      for (int fx = -1; fx <= 1; ++fx) {
        const cfloat a = rng.complex_normal() * (fx == 0 && fy == 0 ? 2.0f : 0.6f);
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x < nx; ++x)
            m(x, y, c, 0, 0) += a * std::polar(1.0f, float(2 * std::numbers::pi * (double(fx) * x / nx + double(fy) * y / ny)));
      }
  return m;
}

/// Line mask undersampling y by R (rows y % R == 0) plus `acs` centre rows.
RArray line_mask(Index nx, Index ny, int R, Index acs) {
  RArray m(nx, ny, 1, 1, 1);
  m.setZero();
  for (Index y = 0; y < ny; ++y)
    if (y % R == 0 || (y >= ny / 2 - acs / 2 && y < ny / 2 - acs / 2 + acs))
      for (Index x = 0; x < nx; ++x) m(x, y, 0, 0, 0) = 1;
  return m;
}

double rel_err(const RArray& a, const RArray& b) {
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) e += std::pow(double(a.data()[i]) - b.data()[i], 2), n += std::pow(double(b.data()[i]), 2);
  return std::sqrt(e / n);
}
double rel_err(const CArray& a, const CArray& b) {
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) e += std::norm(a.data()[i] - b.data()[i]), n += std::norm(b.data()[i]);
  return std::sqrt(e / n);
}

struct Sim {
  CArray image, maps, full, under;
  RArray mask;
};

Sim simulate(Index nx, Index ny, Index nc, int R, Index acs) {
  Sim s;
  s.image = phantom(nx, ny);
  s.maps = smooth_maps(nx, ny, nc, 5);
  s.full = EigenFftw::fft2c(CoilSensitivity<EigenFftw>(s.maps).apply(s.image));
  s.mask = line_mask(nx, ny, R, acs);
  s.under = EigenFftw::multiply_mask(s.mask, s.full);
  return s;
}

}  // namespace

TEST(Grappa, RecoversNoiseFreeSimulatedDataAtR2) {
  const Sim s = simulate(64, 48, 8, 2, 16);
  const CArray k = grappa(s.under, s.mask, {.lines_per_side = 2, .kernel_width = 5, .lambda = 0});
  // Independent reference: the fully sampled k-space the data were drawn from.
  EXPECT_LT(rel_err(k, s.full), 1e-3);
  EXPECT_LT(rel_err(rss(EigenFftw::ifft2c(k)), rss(EigenFftw::ifft2c(s.full))), 1e-3);
  // Acquired samples are kept.
  for (Index i = 0; i < 64; ++i) EXPECT_EQ(k(i, 24, 3, 0, 0), s.under(i, 24, 3, 0, 0));
}

TEST(Grappa, WorksAlongEitherAxis) {
  const Sim s = simulate(48, 40, 8, 2, 16);
  Eigen::array<Index, 5> perm{1, 0, 2, 3, 4};
  const CArray under_t = s.under.shuffle(perm), full_t = s.full.shuffle(perm);
  const RArray mask_t = s.mask.shuffle(perm);
  EXPECT_EQ(line_axis(mask_t), 0);
  EXPECT_LT(rel_err(grappa(under_t, mask_t, {.lambda = 0}), full_t), 1e-3);
}

TEST(Grappa, AcsTooSmallForKernelIsAClearError) {
  const Sim s = simulate(64, 48, 8, 2, 4);
  try {
    grappa(s.under, s.mask, {.lines_per_side = 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("ACS region"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("too small"));
  }
}

TEST(Grappa, RejectsTwoDimensionalMasks) {
  const Sim s = simulate(32, 32, 4, 2, 8);
  const SamplingMask pd = poisson_disc_mask(32, 32, 2, 8, 1);
  EXPECT_THROW(grappa(s.under, pd.mask), Error);
}

TEST(CgSense, RecoversNoiseFreeSimulatedDataAtR2WithExactMaps) {
  const Sim s = simulate(64, 48, 8, 2, 0);
  SolverStatus st;
  const CArray x = cg_sense(s.under, s.mask, s.maps, {.iterations = 100, .lambda = 0, .tolerance = 1e-7}, &st);
  EXPECT_LT(rel_err(x, s.image), 1e-3) << st.iterations << " iterations";
  // The reconstructor gives the same with maps in the acquisition.
  Acquisition acq{s.under, s.mask, s.maps};
  CgSenseReconstructor rec({.iterations = 100, .lambda = 0, .tolerance = 1e-7});
  EXPECT_LT(rel_err(rec.reconstruct(acq), s.image), 1e-3);
}

TEST(CgSense, ResidualDecreasesAndBadMapsAreClearErrors) {
  const Sim s = simulate(32, 24, 4, 2, 0);
  SolverStatus st;
  cg_sense(s.under, s.mask, s.maps, {.iterations = 10}, &st);
  ASSERT_GE(st.objective.size(), 2u);
  EXPECT_LT(st.objective.back(), st.objective.front());
  Acquisition wrong_coils{s.under, s.mask, random_array(make_dims(32, 24, 3), 1)};
  try {
    CgSenseReconstructor().reconstruct(wrong_coils);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("coil counts disagree: k-space has 4 coils, sensitivity maps have 3"));
  }
  Acquisition wrong_size{s.under, s.mask, random_array(make_dims(24, 32, 4), 1)};
  try {
    CgSenseReconstructor().reconstruct(wrong_size);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("do not fit the image grid 32 x 24"));
  }
}

TEST(CsSense, TvAndWaveletOnExactMapsBeatZeroFilledAtR4) {
  const Sim s = simulate(64, 64, 6, 4, 8);
  Acquisition acq{s.under, s.mask, s.maps};
  const RArray truth = s.image.abs();
  const double zf = rel_err(rss(EigenFftw::ifft2c(s.under)), rss(EigenFftw::ifft2c(s.full)));
  CsSenseReconstructor tv(CsSenseReconstructor::Penalty::TV, 1e-3, 150);
  CsSenseReconstructor wav(CsSenseReconstructor::Penalty::Wavelet, 1e-3, 100);
  const double e_tv = rel_err(RArray(tv.reconstruct(acq).abs()), truth);
  const double e_wav = rel_err(RArray(wav.reconstruct(acq).abs()), truth);
  EXPECT_LT(e_tv, 0.5 * zf);
  EXPECT_LT(e_wav, 0.5 * zf);
}

TEST(HaarWavelet, IsOrthonormalForOddAndEvenSizes) {
  for (auto [nx, ny] : {std::pair<Index, Index>{16, 8}, {23, 18}, {7, 5}}) {
    HaarWavelet W(4);
    const CArray x = random_array(make_dims(nx, ny, 2), 3), c = random_array(make_dims(nx, ny, 2), 4);
    EXPECT_NEAR(EigenFftw::norm(W.forward(x)) / EigenFftw::norm(x), 1.0, 1e-5);
    EXPECT_LT(rel_err(W.inverse(W.forward(x)), x), 1e-5);
    EXPECT_LT(test_support::rel_gap(EigenFftw::dot(W.forward(x), c), EigenFftw::dot(x, W.inverse(c))), 1e-5);
  }
  // A constant image has no detail coefficients.
  CArray one(16, 16, 1, 1, 1);
  one.setConstant(cfloat(1, 0));
  const CArray c = HaarWavelet(2).forward(one);
  for (Index y = 0; y < 16; ++y)
    for (Index x = 0; x < 16; ++x) {
      if (x >= 4 || y >= 4) {
        EXPECT_LT(std::abs(c(x, y, 0, 0, 0)), 1e-6f);
      }
    }
}

TEST(Fista, WithZeroPenaltySolvesLeastSquares) {
  // With g = 0, FISTA converges to the least-squares solution, which CG-SENSE also gives.
  const Sim s = simulate(32, 24, 6, 2, 0);
  SenseOperator<EigenFftw> A(s.mask, s.maps);
  CArray start(32, 24, 1, 1, 1);
  start.setConstant(cfloat(1, 0));
  const double L = 1.05 * operator_norm_squared<EigenFftw>(A, start, 30);
  auto id = [](const CArray& v, double) { return v; };
  const CArray x = fista<EigenFftw>(A, s.under, A.adjoint(s.under), L, id, {.max_iterations = 400, .tolerance = 1e-9});
  const CArray ref = cg_sense(s.under, s.mask, s.maps, {.iterations = 100, .tolerance = 1e-8});
  EXPECT_LT(rel_err(x, ref), 1e-3);
}

TEST(CoilCompression, AllCoilsIsUnitaryAndFewCoilsKeepTheDominantEnergy) {
  const Sim s = simulate(32, 24, 8, 1, 0);
  const CoilCompression all = coil_compression(s.full, 8);
  EXPECT_NEAR(all.energy_kept, 1.0, 1e-6);
  const Eigen::MatrixXcf I = all.matrix.adjoint() * all.matrix;
  EXPECT_LT((I - Eigen::MatrixXcf::Identity(8, 8)).norm(), 1e-4);
  // RSS is invariant under a unitary coil transform.
  EXPECT_LT(rel_err(rss(EigenFftw::ifft2c(compress_coils(s.full, all))), rss(EigenFftw::ifft2c(s.full))), 1e-5);
  // Compressing k-space equals compressing the maps (the model is linear in the coil axis).
  const CoilCompression four = coil_compression(s.full, 4);
  const CArray k4 = compress_coils(s.full, four);
  const CArray m4 = compress_coils(s.maps, four);
  EXPECT_LT(rel_err(k4, EigenFftw::fft2c(CoilSensitivity<EigenFftw>(m4).apply(s.image))), 1e-5);
  // Energy kept equals the measured fraction.
  EXPECT_NEAR(four.energy_kept, std::pow(EigenFftw::norm(k4) / EigenFftw::norm(s.full), 2), 1e-4);
  EXPECT_THROW(coil_compression(s.full, 9), Error);
  EXPECT_THROW(compress_coils(random_array(make_dims(4, 4, 5), 1), four), Error);
}

TEST(FindAcs, FindsTheCentreBlockOfLineAndPoissonMasks) {
  const RArray lm = line_mask(40, 30, 3, 8);
  const AcsRegion a = find_acs(lm);
  EXPECT_EQ(a.nx, 40);
  EXPECT_GE(a.ny, 8);
  const SamplingMask pd = poisson_disc_mask(64, 64, 4, 16, 3);
  const AcsRegion b = find_acs(pd.mask);
  EXPECT_GE(b.nx, 16);
  EXPECT_GE(b.ny, 16);
  RArray empty_centre = lm;
  empty_centre(20, 15, 0, 0, 0) = 0;
  EXPECT_THROW(find_acs(empty_centre), Error);
}

TEST(CoilMaps, LowResolutionMapsCorrelateWithBartEcalibOnRealBrain) {
  const std::string base = data_dir() + "/brain8ch/brain_clean";
  if (!std::filesystem::exists(base + ".cfl")) GTEST_SKIP() << "no " << base;
  const CArray k = io::read_cfl(base, 2);
  const RArray support = io::read_cfl(data_dir() + "/brain8ch/brain_fov").real();
  // ACS: 24 centre lines (undersampled in y, as the study does), R = 4 outside.
  const Index nx = k.dimension(0), ny = k.dimension(1);
  const RArray mask = line_mask(nx, ny, 4, 24);
  const CArray y = EigenFftw::multiply_mask(mask, k);
  const CArray ours = lowres_maps(y, mask);
  const EcalibResult bart = ecalib_maps(y, &mask);
  EXPECT_THAT(bart.command, ::testing::HasSubstr("bart ecalib -m 1 -r"));
  // Compare inside the object: support mask and where ESPIRiT keeps its maps.
  RArray inside = support;
  const RArray r = rss(bart.maps);
  for (Index i = 0; i < inside.size(); ++i) inside.data()[i] = (support.data()[i] != 0 && r.data()[i] > 0.5f) ? 1 : 0;
  const double corr = map_magnitude_correlation(ours, bart.maps, inside);
  EXPECT_GT(corr, 0.9) << "mean per-coil magnitude correlation";
  EXPECT_THROW(map_magnitude_correlation(ours, random_array(make_dims(nx, ny, 7), 1), inside), Error);
}

// Frames (k-t sampling, a different line pattern per frame) through the Reconstructors: CG-SENSE and zero-filled
// reconstruct each frame with its own mask, so frame f of the joint result equals the reconstruction of frame f
// alone; with exact maps and R = 2 + ACS, CG-SENSE recovers every frame; GRAPPA and BART refuse frames clearly.
TEST(Frames, CgSenseAndZeroFilledReconstructEveryFrameWithItsOwnMask) {
  const Index nx = 48, ny = 40, nc = 6, nf = 3, plane = nx * ny;
  const CArray maps = smooth_maps(nx, ny, nc, 5);
  CArray img(nx, ny, 1, nf, 1), k(nx, ny, nc, nf, 1);
  RArray mask(nx, ny, 1, nf, 1);
  for (Index f = 0; f < nf; ++f) {
    const CArray pf = phantom(nx, ny) * cfloat(1.0f + 0.2f * float(f));
    RArray mf = line_mask(nx, ny, 2, 12);
    if (f % 2) {  // odd frames sample the other half of the lines
      for (Index y = 0; y < ny; ++y)
        if (y % 2 == 1) for (Index x = 0; x < nx; ++x) mf(x, y, 0, 0, 0) = 1, mf(x, y - 1, 0, 0, 0) = std::abs(y - 1 - ny / 2) <= 6 ? 1 : 0;
    }
    const CArray kf = EigenFftw::multiply_mask(mf, EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(pf)));
    std::copy(pf.data(), pf.data() + plane, img.data() + f * plane);
    std::copy(mf.data(), mf.data() + plane, mask.data() + f * plane);
    std::copy(kf.data(), kf.data() + plane * nc, k.data() + f * plane * nc);
  }
  Acquisition acq{k, mask, maps};
  CgSenseReconstructor cg({.iterations = 100, .lambda = 0, .tolerance = 1e-7});
  const CArray x = cg.reconstruct(acq);
  ASSERT_EQ(dims_of(x), make_dims(nx, ny, 1, nf, 1));
  EXPECT_LT(rel_err(x, img), 1e-3);
  const CArray zf = ZeroFilledReconstructor().reconstruct(Acquisition{k, mask});
  ASSERT_EQ(dims_of(zf), make_dims(nx, ny, 1, nf, 1));
  for (Index f = 0; f < nf; ++f) {
    CArray kf(nx, ny, nc, 1, 1);
    RArray mf(nx, ny, 1, 1, 1);
    std::copy(k.data() + f * plane * nc, k.data() + (f + 1) * plane * nc, kf.data());
    std::copy(mask.data() + f * plane, mask.data() + (f + 1) * plane, mf.data());
    const CArray one = ZeroFilledReconstructor().reconstruct(Acquisition{kf, mf});
    for (Index i = 0; i < plane; ++i) ASSERT_EQ(zf.data()[f * plane + i], one.data()[i]) << "frame " << f;
  }
  EXPECT_THROW(GrappaReconstructor().reconstruct(acq), Error);
  EXPECT_THROW(BartPicsSenseReconstructor("T", 0.01, 10).reconstruct(acq), Error);
  // Maps estimated from the time-averaged k-space (no maps given) still let CG-SENSE beat zero-filled per frame.
  CgSenseReconstructor est({.iterations = 30}, MapsSource::LowRes);
  const CArray xe = est.reconstruct(Acquisition{k, mask});
  EXPECT_NE(est.parameters().at("maps_command").get<std::string>().find("time-averaged"), std::string::npos);
  // Magnitudes up to a global scale (estimated maps and RSS carry their own scale): best-scale relative error.
  auto scaled_err = [&](const CArray& a) {
    double ab = 0, aa = 0, bb = 0;
    for (Index i = 0; i < a.size(); ++i) {
      const double u = std::abs(a.data()[i]), v = std::abs(img.data()[i]);
      ab += u * v, aa += u * u, bb += v * v;
    }
    return std::sqrt(std::max(0.0, 1.0 - ab * ab / (aa * bb)));
  };
  EXPECT_LT(scaled_err(xe), scaled_err(zf));
}
