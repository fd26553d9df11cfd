#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../common/random_data.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/cg.hpp"
#include "reconlab/solvers/cs_tv.hpp"

using namespace reconlab;

namespace {

// A piecewise-constant complex test image (two rectangles and a disc, smooth phase).
CArray phantom(Index nx, Index ny) {
  CArray x(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index i = 0; i < nx; ++i) {
      float v = 0;
      if (i > nx / 5 && i < 4 * nx / 5 && y > ny / 6 && y < 5 * ny / 6) v = 0.6f;
      if (i > nx / 3 && i < nx / 2 && y > ny / 3 && y < 2 * ny / 3) v = 1.0f;
      const float dx = i - 0.65f * nx, dy = y - 0.5f * ny;
      if (dx * dx + dy * dy < 0.01f * nx * ny) v = 0.3f;
      x(i, y, 0, 0, 0) = std::polar(v, 0.3f * i / nx);
    }
  return x;
}

RArray random_columns(Index nx, Index ny, double fraction, unsigned seed) {
  Random rng(seed);
  RArray m(nx, ny, 1, 1, 1);
  for (Index i = 0; i < nx; ++i) {
    const bool on = rng.bernoulli(fraction) || std::abs(i - nx / 2) < 3;
    for (Index y = 0; y < ny; ++y) m(i, y, 0, 0, 0) = on ? 1.f : 0.f;
  }
  return m;
}

double rel_err(const CArray& a, const CArray& b) {
  return EigenFftw::norm(EigenFftw::axpy(cfloat(-1), a, b)) / EigenFftw::norm(b);
}

}  // namespace

TEST(CsTv, ObjectiveFallsAndBeatsZeroFilled) {
  const CArray truth = phantom(64, 64);
  CartesianSampling<EigenFftw> A(random_columns(64, 64, 0.3, 1));
  const CArray y = A.apply(truth);
  solvers::SolverStatus st;
  const CArray x = solvers::cs_tv(A, y, {.lambda = 2e-3, .max_iterations = 300, .tolerance = 1e-7}, &st);
  ASSERT_GE(st.objective.size(), 50u);
  EXPECT_LT(st.objective.back(), st.objective.front());
  EXPECT_LT(rel_err(x, truth), 0.5 * rel_err(A.adjoint(y), truth));
}

TEST(CsTv, ErrorShrinksWithMoreSamples) {
  const CArray truth = phantom(64, 64);
  double prev = 1e9;
  for (double frac : {0.2, 0.4, 0.7}) {
    CartesianSampling<EigenFftw> A(random_columns(64, 64, frac, 2));
    const CArray x = solvers::cs_tv(A, A.apply(truth), {.lambda = 1e-3, .max_iterations = 300, .tolerance = 1e-7});
    const double e = rel_err(x, truth);
    EXPECT_LT(e, prev) << "fraction " << frac;
    prev = e;
  }
}

TEST(CsTv, FullySampledWithZeroLambdaReturnsTheImage) {
  const CArray truth = phantom(32, 24);
  RArray full(32, 24, 1, 1, 1);
  full.setConstant(1.f);
  CartesianSampling<EigenFftw> A(full);
  const CArray x = solvers::cs_tv(A, A.apply(truth), {.lambda = 0.0, .max_iterations = 50});
  EXPECT_LT(rel_err(x, truth), 1e-4);
}

TEST(CsTv, RejectsNonFiniteKspace) {
  RArray full(8, 8, 1, 1, 1);
  full.setConstant(1.f);
  CartesianSampling<EigenFftw> A(full);
  CArray y(8, 8, 1, 1, 1);
  y.setZero();
  y(1, 1, 0, 0, 0) = cfloat(std::nanf(""), 0);
  EXPECT_THROW(solvers::cs_tv(A, y, {}), Error);
}

TEST(ConjugateGradient, SolvesRegularisedNormalEquations) {
  // (A^H A + 0.1 I) x = b for an undersampled Cartesian A: the residual of the returned x is small and falls.
  CartesianSampling<EigenFftw> A(random_columns(32, 32, 0.4, 3));
  const CArray truth = phantom(32, 32);
  auto N = [&](const CArray& v) { return EigenFftw::axpy(cfloat(0.1f), v, normal(A, v)); };
  const CArray b = N(truth);
  solvers::SolverStatus st;
  const CArray x = solvers::conjugate_gradient<EigenFftw>(N, b, EigenFftw::zeros_like(b),
                                                          {.max_iterations = 50, .tolerance = 1e-6}, &st);
  EXPECT_TRUE(st.converged);
  EXPECT_LT(rel_err(x, truth), 1e-4);
  for (std::size_t i = 1; i < st.objective.size(); ++i) EXPECT_LE(st.objective[i], st.objective[0] * 1.0001);
}

namespace {
std::string ref_dir() { return reconlab::shared_dir() + "/reference"; }

// The scikit-image ROF reference: input f, weight w, minimiser u*.
struct RofRef {
  RArray f, u;
  double w;
};
std::optional<RofRef> rof_reference() {
  if (!std::filesystem::exists(ref_dir() + "/manifest.json")) return std::nullopt;
  std::ifstream in(ref_dir() + "/manifest.json");
  const auto c = nlohmann::json::parse(in).at("rof").at(0);
  return RofRef{io::read_npy_real(ref_dir() + "/" + c.at("input").get<std::string>()),
                io::read_npy_real(ref_dir() + "/" + c.at("output").get<std::string>()), c.at("weight").get<double>()};
}
double rel_err_real(const CArray& x, const RArray& ref) {
  double e = 0, n = 0;
  for (Index i = 0; i < ref.size(); ++i) {
    e += std::norm(x.data()[i] - cfloat(ref.data()[i]));
    n += double(ref.data()[i]) * ref.data()[i];
  }
  return std::sqrt(e / n);
}
}  // namespace

// With every sample acquired, M F is unitary and CS-TV is ROF: min 0.5||x - f||^2 + w TV(x). The PDHG solution
// must reach scikit-image's converged minimiser (an independent implementation of another algorithm), at the
// reference's scale and at scanner scales 1e-6 and 1e4 (lambda scaled with the data).
TEST(Pdhg, CsTvWithFullSamplingReachesTheScikitImageRofMinimiser) {
  const auto ref = rof_reference();
  if (!ref) GTEST_SKIP() << "no " << ref_dir();
  const Dims d = dims_of(ref->f);
  RArray full(d[0], d[1], 1, 1, 1);
  full.setConstant(1.f);
  CartesianSampling<EigenFftw> A(full);
  solvers::SolverStatus st1;
  CArray x1;
  for (double scale : {1.0, 1e-6, 1e4}) {
    const CArray y = A.apply(to_complex(ref->f) * cfloat(float(scale)));
    solvers::SolverStatus st;
    solvers::PdhgStatus res;
    const CArray x = solvers::cs_tv(A, y, {.lambda = ref->w * scale, .max_iterations = 3000, .tolerance = 1e-3, .step_ratio = 1.0},
                                    &st, &res);
    EXPECT_TRUE(st.converged) << "scale " << scale << " after " << st.iterations << " iterations";
    EXPECT_LE(res.primal_residual.back(), 1e-3);
    EXPECT_LE(res.dual_residual.back(), 1e-3);
    if (scale == 1.0) {
      EXPECT_LT(rel_err_real(x, ref->u), 1e-2);
      st1 = st;
      x1 = x;
    } else {
      // The stop is scale invariant: the same iterations, the same image up to the scale.
      EXPECT_NEAR(st.iterations, st1.iterations, 2) << "scale " << scale;
      EXPECT_LT(rel_err(x * cfloat(float(1.0 / scale)), x1), 1e-4) << "scale " << scale;
    }
  }
}

// (The full-sampling tests use step_ratio 1: without undersampling it converges several times faster than 0.1.)

// Multi-coil consumer: maps with sum_c |s_c|^2 = 1 make S an isometry, so with full sampling CS-TV on M F S is
// again ROF, and must reach the same scikit-image minimiser.
TEST(Pdhg, MultiCoilCsTvWithIsometricMapsReachesTheRofMinimiser) {
  const auto ref = rof_reference();
  if (!ref) GTEST_SKIP() << "no " << ref_dir();
  const Dims d = dims_of(ref->f);
  CArray maps = test_support::random_array(make_dims(d[0], d[1], 4), 5);
  const RArray r = rss(maps);
  for (Index c = 0; c < 4; ++c)
    for (Index i = 0; i < d[0] * d[1]; ++i) maps.data()[c * d[0] * d[1] + i] /= r.data()[i];
  RArray full(d[0], d[1], 1, 1, 1);
  full.setConstant(1.f);
  SenseOperator<EigenFftw> A(full, maps);
  const CArray y = A.apply(to_complex(ref->f));
  solvers::SolverStatus st;
  const CArray x = solvers::cs_tv(A, y, 1.0, {.lambda = ref->w, .max_iterations = 3000, .tolerance = 1e-3, .step_ratio = 1.0}, &st);
  EXPECT_TRUE(st.converged) << st.iterations;
  EXPECT_LT(rel_err_real(x, ref->u), 1e-2);
}

// Temporal consumer (k-t TV): identical frames are a fixed point of the temporal term, so each frame of the
// solution is the ROF minimiser; a frame that differs is pulled towards its neighbours by lambda_t.
TEST(Pdhg, TemporalTvOnStaticFramesGivesRofPerFrameAndCouplesMovingOnes) {
  const auto ref = rof_reference();
  if (!ref) GTEST_SKIP() << "no " << ref_dir();
  const Dims d = dims_of(ref->f);
  const Index nf = 3, plane = d[0] * d[1];
  CArray frames(d[0], d[1], 1, nf, 1);
  for (Index f = 0; f < nf; ++f)
    for (Index i = 0; i < plane; ++i) frames.data()[f * plane + i] = ref->f.data()[i];
  RArray full(d[0], d[1], 1, 1, 1);
  full.setConstant(1.f);
  CartesianSampling<EigenFftw> A(full);
  solvers::SolverStatus st;
  const CArray x = solvers::cs_tv(A, A.apply(frames),
                                  {.lambda = ref->w, .lambda_t = 0.1, .max_iterations = 3000, .tolerance = 1e-3, .step_ratio = 1.0}, &st);
  EXPECT_TRUE(st.converged) << st.iterations;
  for (Index f = 0; f < nf; ++f) {
    CArray xf(d[0], d[1], 1, 1, 1);
    std::copy(x.data() + f * plane, x.data() + (f + 1) * plane, xf.data());
    EXPECT_LT(rel_err_real(xf, ref->u), 1e-2) << "frame " << f;
  }
  // Brighten the middle frame: temporal TV shrinks its difference to its neighbours (compared with lambda_t = 0).
  CArray moved = frames;
  for (Index i = 0; i < plane; ++i) moved.data()[plane + i] += cfloat(0.2f);
  const CArray x0 = solvers::cs_tv(A, A.apply(moved), {.lambda = ref->w, .max_iterations = 3000, .tolerance = 1e-3, .step_ratio = 1.0});
  const CArray x1 = solvers::cs_tv(A, A.apply(moved),
                                   {.lambda = ref->w, .lambda_t = 0.1, .max_iterations = 3000, .tolerance = 1e-3, .step_ratio = 1.0});
  EXPECT_LT(solvers::temporal_total_variation(x1), 0.8 * solvers::temporal_total_variation(x0));
}

// One CG for every backend and batch: each batch entry of a batched solve equals the solve of that entry alone
// (the step sizes are per sample, the samples never couple).
TEST(ConjugateGradient, BatchEntriesAreSolvedIndependently) {
  RArray m = random_columns(16, 12, 0.4, 5);
  CartesianSampling<EigenFftw> A(m);
  CArray b = test_support::random_array(make_dims(16, 12, 1, 1, 3), 2);
  for (Index i = 0; i < 16 * 12; ++i) b.data()[2 * 16 * 12 + i] *= 1e4f;  // very different scales per sample
  auto N = [&](const CArray& v) { return EigenFftw::axpy(cfloat(0.05f), v, normal(A, v)); };
  const CArray x = solvers::conjugate_gradient<EigenFftw>(N, b, EigenFftw::zeros_like(b),
                                                          {.max_iterations = 8, .tolerance = 0});
  for (Index k = 0; k < 3; ++k) {
    CArray bk(16, 12, 1, 1, 1);
    std::copy(b.data() + k * 192, b.data() + (k + 1) * 192, bk.data());
    const CArray xk = solvers::conjugate_gradient<EigenFftw>(N, bk, EigenFftw::zeros_like(bk),
                                                             {.max_iterations = 8, .tolerance = 0});
    CArray got(16, 12, 1, 1, 1);
    std::copy(x.data() + k * 192, x.data() + (k + 1) * 192, got.data());
    EXPECT_LT(rel_err(got, xk), 1e-5) << "sample " << k;
  }
}
