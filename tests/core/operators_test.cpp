#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <atomic>
#include <random>

#include "../common/random_data.hpp"
#include "../common/operator_battery.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/sense.hpp"

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

TEST(Fft2c, ApplyIntoMatchesDirectDftOnEveryPlaneOfABatch) {
  // Batches of even planes run one-thread plans plane by plane on the worker pool (3 chunks for 6 planes here),
  // odd ones the general path; every plane must equal the direct DFT, and adjoint_into must invert it.
  const int threads = EigenFftw::fft_threads();
  EigenFftw::set_fft_threads(3);
  for (auto [nx, ny] : {std::pair<Index, Index>{12, 10}, {7, 6}}) {
    const CArray x = random_array(make_dims(nx, ny, 3, 1, 2), 11);
    Fft2c<EigenFftw> F;
    CArray k(1, 1, 1, 1, 1);  // wrong dims: apply_into resizes
    F.apply_into(x, k);
    ASSERT_EQ(dims_of(k), dims_of(x));
    const Index plane = nx * ny;
    for (Index p = 0; p < 6; ++p) {
      CArray one(nx, ny, 1, 1, 1);
      std::copy(x.data() + p * plane, x.data() + (p + 1) * plane, one.data());
      const CArray ref = naive_fft2c(one);
      double err = 0, nrm = 0;
      for (Index i = 0; i < plane; ++i) {
        err += std::norm(k.data()[p * plane + i] - ref.data()[i]);
        nrm += std::norm(ref.data()[i]);
      }
      EXPECT_LT(std::sqrt(err / nrm), 1e-5) << nx << "x" << ny << " plane " << p;
    }
    CArray back;
    F.adjoint_into(k, back);
    double err = 0;
    for (Index i = 0; i < x.size(); ++i) err = std::max(err, double(std::abs(back.data()[i] - x.data()[i])));
    EXPECT_LT(err, 1e-5);
    EXPECT_THROW(F.apply_into(k, k), Error);  // the output must not alias the input
    // In place (the adjoint of Cartesian sampling in solvers' loops): the same values as the checked apply_into.
    CArray inplace = x;
    EigenFftw::fft2c_inplace(inplace);
    for (Index i = 0; i < x.size(); ++i) ASSERT_EQ(inplace.data()[i], k.data()[i]) << nx << "x" << ny << " at " << i;
    EigenFftw::ifft2c_inplace(inplace);
    for (Index i = 0; i < x.size(); ++i) ASSERT_EQ(inplace.data()[i], back.data()[i]) << nx << "x" << ny << " at " << i;
  }
  EigenFftw::set_fft_threads(threads);
}

TEST(WorkerPool, ChunksCoverTheRangeOnceAndErrorsReachTheCaller) {
  std::vector<int> hits(1000, 0);
  detail::parallel_chunks(1000, 4, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) ++hits[std::size_t(i)];
    // A loop nested inside a chunk runs inline (the pool is busy), not deadlocked.
    int inner = 0;
    detail::parallel_chunks(10, 2, [&](Index b2, Index e2) { inner += int(e2 - b2); });
    EXPECT_EQ(inner, 10);
  });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THROW(detail::parallel_chunks(8, 2, [](Index b, Index) {
                 if (b > 0) throw Error("chunk failed");
               }),
               Error);
  // The pool still works after a chunk threw.
  std::atomic<Index> total{0};
  detail::parallel_chunks(100, 2, [&](Index b, Index e) { total += e - b; });
  EXPECT_EQ(total.load(), 100);
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

TEST(FiniteDifference, PassesOperatorBatteryAndDenseChecks) {
  FiniteDifference<EigenFftw> G;
  Dims d = make_dims(17, 13, 1, 2, 1);
  run_operator_battery<EigenFftw>(G, random_array(d, 1), random_array(d, 2),
                                  std::vector<CArray>{random_array(d, 3), random_array(d, 4)}, 1e-5, false);
  FiniteDifference<EigenFftw> Gt({0, 1, 3});
  Dims s = make_dims(5, 4, 1, 3, 1);
  run_operator_battery<EigenFftw>(Gt, random_array(s, 1), random_array(s, 2),
                                  std::vector<CArray>{random_array(s, 3), random_array(s, 4), random_array(s, 5)},
                                  1e-5, false);
  run_dense_checks(Gt, random_array(s, 6), 1e-5);
}

TEST(FiniteDifference, TemporalAxisDifferencesFramesAndInvalidAxesThrow) {
  const CArray x = random_array(make_dims(4, 3, 2, 5, 1), 11);
  const CArray d = EigenFftw::forward_diff(x, 3);
  for (Index f = 0; f < 5; ++f)
    for (Index c = 0; c < 2; ++c)
      for (Index y = 0; y < 3; ++y)
        for (Index xx = 0; xx < 4; ++xx) {
          const cfloat want = f + 1 < 5 ? x(xx, y, c, f + 1, 0) - x(xx, y, c, f, 0) : cfloat(0);
          ASSERT_EQ(d(xx, y, c, f, 0), want);
        }
  EXPECT_THROW(EigenFftw::forward_diff(x, 5), Error);
  EXPECT_THROW(EigenFftw::forward_diff(x, -1), Error);
  EXPECT_THROW(EigenFftw::forward_diff_adjoint(x, 7), Error);
  EXPECT_THROW(FiniteDifference<EigenFftw>({0, 9}), Error);
  EXPECT_THROW(FiniteDifference<EigenFftw>({1, 1}), Error);
}

TEST(FiniteDifference, IntoFormsFollowTheDefinitionOnArraysSplitOverThreads) {
  // 77,140 samples: the loops are split over the threads in blocks of 16,384, cutting lines along every axis.
  const int threads = EigenFftw::fft_threads();
  EigenFftw::set_fft_threads(3);
  const Dims d = make_dims(190, 203, 1, 2, 1);
  const CArray x = random_array(d, 21), g = random_array(d, 22), z = random_array(d, 23);
  for (int axis : {0, 1, 2, 3, 4}) {  // 2 and 4: a single sample along the axis
    CArray dx = z;  // holds other values: overwritten
    EigenFftw::forward_diff_into(x, axis, dx);
    for (Index f = 0; f < 2; ++f)
      for (Index yy = 0; yy < 203; ++yy)
        for (Index xx = 0; xx < 190; ++xx) {
          Eigen::array<Index, 5> i{xx, yy, 0, f, 0}, j = i;
          const Index n = d[std::size_t(axis)];
          ++j[std::size_t(axis)];
          const cfloat want = i[std::size_t(axis)] + 1 < n ? x(j) - x(i) : cfloat(0);
          ASSERT_EQ(dx(i), want) << "axis " << axis << " at " << xx << "," << yy << "," << f;
        }
    // The adjoint by the dot test, overwriting and accumulating.
    CArray dtg = z, acc = z;
    EigenFftw::forward_diff_adjoint_into(g, axis, dtg, false);
    EigenFftw::forward_diff_adjoint_into(g, axis, acc, true);
    const auto lhs = EigenFftw::dot(dx, g), rhs = EigenFftw::dot(x, dtg);
    EXPECT_LE(std::abs(lhs - rhs), 1e-5 * EigenFftw::norm(x) * EigenFftw::norm(g)) << "axis " << axis;
    double gap = 0;
    for (Index i = 0; i < x.size(); ++i)
      gap = std::max(gap, double(std::abs(acc.data()[i] - (z.data()[i] + dtg.data()[i]))));
    EXPECT_LT(gap, 1e-5) << "axis " << axis;
  }
  CArray small = random_array(make_dims(4, 3), 1);
  EXPECT_THROW(EigenFftw::forward_diff_into(x, 0, const_cast<CArray&>(x)), Error);  // aliasing
  EXPECT_THROW(EigenFftw::forward_diff_adjoint_into(g, 1, small, true), Error);     // accumulating into other dims
  EigenFftw::set_fft_threads(threads);
}

TEST(EigenFftw, LincombAndResidualNormsMatchDoublePrecisionAndIgnoreTheThreadCount) {
  const int threads = EigenFftw::fft_threads();
  const Dims d = make_dims(190, 203, 1, 2, 1);
  const CArray w = random_array(d, 31), x = random_array(d, 32), y = random_array(d, 33), z = random_array(d, 34);
  auto direct = [&](double a, const CArray& p, const CArray& q, double b, const CArray& r, const CArray& t) {
    double s = 0;
    for (Index i = 0; i < p.size(); ++i)
      s += std::norm(a * (std::complex<double>(p.data()[i]) - std::complex<double>(q.data()[i])) +
                     b * (std::complex<double>(r.data()[i]) - std::complex<double>(t.data()[i])));
    return s;
  };
  // Near convergence (x = w + 1e-6 noise) with a large weight (1 / sigma = 1e4): the differences are taken first,
  // so the residual keeps its relative accuracy.
  CArray near = w;
  for (Index i = 0; i < near.size(); ++i) near.data()[i] += 1e-6f * y.data()[i];
  std::vector<double> got;
  for (int t : {1, 2, 3}) {
    EigenFftw::set_fft_threads(t);
    got.push_back(EigenFftw::norm_squared_of_differences(0.5, w, x, -2.0, y, z));
    EXPECT_NEAR(got.back(), direct(0.5, w, x, -2.0, y, z), 1e-5 * got.back());
    const double one_term = EigenFftw::norm_squared_of_differences(1.5, w, x, 0.0, y, z);
    EXPECT_NEAR(one_term, direct(1.5, w, x, 0.0, y, z), 1e-5 * one_term);
    const double small = EigenFftw::norm_squared_of_differences(1e4, w, near, 1.0, near, w);
    EXPECT_NEAR(small, direct(1e4, w, near, 1.0, near, w), 1e-3 * small);
    const double n2 = EigenFftw::norm_squared(w);
    EXPECT_NEAR(n2, std::pow(EigenFftw::norm(w), 2), 1e-5 * n2);
    for (cfloat a : {cfloat(0.5f), cfloat(0.5f, 0.3f)}) {
      CArray out = z;
      EigenFftw::lincomb_into(a, w, cfloat(-2.0f), x, out);
      double gap = 0;
      for (Index i = 0; i < w.size(); ++i)
        gap = std::max(gap, std::abs(std::complex<double>(out.data()[i]) -
                                     (std::complex<double>(a) * std::complex<double>(w.data()[i]) -
                                      2.0 * std::complex<double>(x.data()[i]))));
      EXPECT_LT(gap, 1e-5);
    }
  }
  EXPECT_EQ(got[0], got[1]);  // fixed blocks summed in order: bit-identical for any thread count
  EXPECT_EQ(got[0], got[2]);
  EXPECT_THROW(EigenFftw::norm_squared_of_differences(1.0, w, random_array(make_dims(3, 3), 1), 1.0, y, z), Error);
  EigenFftw::set_fft_threads(threads);
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

TEST(Composition, ForwardsTheNormalAndChecksShapes) {
  RArray m = random_mask(12, 10, 4, 0.4);
  auto A = CartesianSampling<EigenFftw>(m) * ZeroPad<EigenFftw>(7, 6, 12, 10);
  Dims d = make_dims(7, 6), r = make_dims(12, 10);
  run_operator_battery<EigenFftw>(A, random_array(d, 1), random_array(d, 2), random_array(r, 3), 1e-5, false);
  run_dense_checks(A, random_array(d, 4), 1e-5);
  EXPECT_THROW(Fft2c<EigenFftw>(20, 10) * ZeroPad<EigenFftw>(5, 5, 10, 20), Error);
}

TEST(OperatorAlgebra, SumScaledIdentityAndStackPassDenseChecks) {
  RArray m = random_mask(6, 5, 2, 0.5);
  Dims d = make_dims(6, 5);
  auto S = Fft2c<EigenFftw>() + CartesianSampling<EigenFftw>(m);
  run_operator_battery<EigenFftw>(S, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, false);
  run_dense_checks(S, random_array(d, 4), 1e-5);
  ScaledIdentity<EigenFftw> I(cfloat(0.3f, -2.0f));
  run_dense_checks(I, random_array(d, 5), 1e-5);
  auto K = stack(CartesianSampling<EigenFftw>(m), FiniteDifference<EigenFftw>(), ScaledIdentity<EigenFftw>(cfloat(2)));
  using R = decltype(K)::Range;
  R y{random_array(d, 6), std::vector<CArray>{random_array(d, 7), random_array(d, 8)}, random_array(d, 9)};
  run_operator_battery<EigenFftw>(K, random_array(d, 1), random_array(d, 2), y, 1e-5, false);
  run_dense_checks(K, random_array(d, 10), 1e-5);
}

TEST(TemporalFft, MatchesDirectCentredDftAndIsUnitary) {
  const Index nf = 7;
  const CArray x = random_array(make_dims(3, 2, 2, nf, 1), 12);
  const CArray k = EigenFftw::fftc_axis(x, 3);
  const double pi = 3.14159265358979323846;
  for (Index i = 0; i < 3 * 2 * 2; ++i)
    for (Index kf = 0; kf < nf; ++kf) {
      std::complex<double> s = 0;
      for (Index f = 0; f < nf; ++f)
        s += std::complex<double>(x.data()[i + f * 12]) *
             std::polar(1.0, -2 * pi * double(kf - nf / 2) * double(f - nf / 2) / double(nf));
      ASSERT_LT(std::abs(std::complex<double>(k.data()[i + kf * 12]) - s / std::sqrt(double(nf))), 1e-5);
    }
  TemporalFft<EigenFftw> Ft;
  Dims d = make_dims(5, 4, 2, 8, 1);
  run_operator_battery<EigenFftw>(Ft, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, true);
  run_dense_checks(Ft, random_array(make_dims(3, 2, 1, 6, 1), 4), 1e-5);
}

TEST(ZeroPad, CropsAndPadsAboutTheCentre) {
  CArray x = random_array(make_dims(5, 4), 13);
  const CArray p = EigenFftw::resize_xy(x, 8, 7);
  // Centre index n/2 maps to centre index: input (2, 2) -> output (4, 3).
  EXPECT_EQ(p(4, 3, 0, 0, 0), x(2, 2, 0, 0, 0));
  EXPECT_EQ(p(0, 0, 0, 0, 0), cfloat(0));
  const CArray back = EigenFftw::resize_xy(p, 5, 4);
  for (Index i = 0; i < x.size(); ++i) ASSERT_EQ(back.data()[i], x.data()[i]);
  ZeroPad<EigenFftw> P(5, 4, 8, 7);
  run_dense_checks(P, x, 1e-6);
  EXPECT_THROW(ZeroPad<EigenFftw>(8, 7, 5, 4), Error);
}

// The bug of issue 7: a per-frame mask on multi-coil cine data. Each frame must be sampled with its own plane,
// the same as a single-frame operator with that plane, and a mask that does not broadcast must be refused.
TEST(Broadcasting, PerFrameMaskOnMultiCoilDataMatchesFrameByFrame) {
  const Index nx = 12, ny = 10, nc = 3, nf = 4;
  RArray m(nx, ny, 1, nf, 1);
  for (Index f = 0; f < nf; ++f) {
    const RArray mf = random_mask(nx, ny, 20 + unsigned(f), 0.4);
    for (Index i = 0; i < nx * ny; ++i) m.data()[f * nx * ny + i] = mf.data()[i];
  }
  const CArray maps = random_array(make_dims(nx, ny, nc), 3);
  const CArray img = random_array(make_dims(nx, ny, 1, nf), 4);
  SenseOperator<EigenFftw> A(m, maps);
  const CArray k = A.apply(img);
  for (Index f = 0; f < nf; ++f) {
    RArray mf(nx, ny, 1, 1, 1);
    CArray xf(nx, ny, 1, 1, 1);
    for (Index i = 0; i < nx * ny; ++i) {
      mf.data()[i] = m.data()[f * nx * ny + i];
      xf.data()[i] = img.data()[f * nx * ny + i];
    }
    const CArray kf = SenseOperator<EigenFftw>(mf, maps).apply(xf);
    for (Index i = 0; i < kf.size(); ++i) ASSERT_EQ(k.data()[f * nx * ny * nc + i], kf.data()[i]) << "frame " << f;
  }
  run_operator_battery<EigenFftw>(A, img, random_array(make_dims(nx, ny, 1, nf), 5),
                                  random_array(make_dims(nx, ny, nc, nf), 6), 1e-5, false);
  run_dense_checks(SenseOperator<EigenFftw>(EigenFftw::resize_xy(to_complex(m), 4, 3).real(),
                                            EigenFftw::resize_xy(maps, 4, 3)),
                   random_array(make_dims(4, 3, 1, nf), 7), 1e-5);
  // Three frames of mask against four frames of data: refused, naming both shapes.
  RArray bad(nx, ny, 1, 3, 1);
  bad.setConstant(1.f);
  EXPECT_THROW(EigenFftw::multiply_mask(bad, random_array(make_dims(nx, ny, nc, nf), 8)), Error);
  EXPECT_THROW(EigenFftw::multiply_mask(RArray(nx + 1, ny, 1, 1, 1), random_array(make_dims(nx, ny), 8)), Error);
}

TEST(Blend, ReplacesSampledValuesAndMixesWeights) {
  RArray m(4, 3, 1, 1, 1);
  m.setValues({{{{{0.f}}}}});
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = float(i % 3) / 2.0f;  // 0, 0.5, 1
  const CArray a = random_array(make_dims(4, 3, 2), 1), b = random_array(make_dims(4, 3, 2), 2);
  const CArray c = EigenFftw::blend(m, a, b);
  for (Index i = 0; i < c.size(); ++i) {
    const float w = m.data()[i % 12];
    ASSERT_LT(std::abs(c.data()[i] - (w * a.data()[i] + (1 - w) * b.data()[i])), 1e-6);
  }
}
