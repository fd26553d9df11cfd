#include <gtest/gtest.h>

#include "reconlab/random.hpp"
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
