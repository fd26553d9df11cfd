#pragma once
/// @file cs_tv.hpp
/// Compressed sensing with total variation:  min_x 0.5 ||M F x - y||^2 + lambda TV(x),
/// TV isotropic on forward differences (Neumann), x complex. Solved by the first-order primal-dual algorithm of
/// A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex problems with applications to
/// imaging", J. Math. Imaging Vis. 40 (2011), Algorithm 1, with K = [M F; G], F*(q) for the data term
/// (prox: (q - sigma y) / (1 + sigma)) and the pointwise projection onto {|p| <= lambda} for TV.
/// ||K||^2 <= ||M F||^2 + ||G||^2 <= 1 + 8, so tau = sigma = 0.99 / 3 satisfies tau sigma ||K||^2 < 1.
#include <cmath>

#include "reconlab/operators.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of cs_tv.
struct CsTvOptions {
  double lambda = 1e-3;     ///< TV weight, in the units of the image (the data term is 0.5||.||^2 of k-space).
  int max_iterations = 200; ///< >= 1
  double tolerance = 1e-5;  ///< stop when ||x_k - x_{k-1}|| <= tolerance * ||x_k||
  bool record_objective = true;
  double step_ratio = 0.1;  ///< sigma / tau (0.1 converges fastest on images scaled to max 1); tau = 0.99 / (3 sqrt(ratio)), sigma = 0.99 sqrt(ratio) / 3
};

/// Isotropic TV of a complex image, sum over pixels of sqrt(|dx|^2 + |dy|^2) (forward differences, Neumann).
inline double total_variation(const CArray& x) {
  FiniteDifference<EigenFftw> G;
  auto [gx, gy] = EigenFftw::split_batch(G.apply(x));
  double tv = 0;
  for (Index i = 0; i < gx.size(); ++i) tv += std::sqrt(std::norm(gx.data()[i]) + std::norm(gy.data()[i]));
  return tv;
}

/// Solves the CS-TV problem for k-space `y` (dims (nx, ny, c, f, b), zero where unsampled) under
/// `A` = CartesianSampling (M F). Returns the complex image x of the same dims. The start is the zero-filled
/// image A^H y. `status->objective` holds 0.5||Ax-y||^2 + lambda TV(x) per iteration when record_objective.
/// Throws Error on lambda < 0, max_iterations < 1, dims mismatch or non-finite k-space.
inline CArray cs_tv(const CartesianSampling<EigenFftw>& A, const CArray& y, const CsTvOptions& opt,
                    SolverStatus* status = nullptr) {
  require(opt.lambda >= 0 && std::isfinite(opt.lambda), "cs-tv: lambda must be >= 0, got " + std::to_string(opt.lambda));
  require(opt.max_iterations >= 1, "cs-tv: max_iterations must be >= 1");
  require_finite(y, "cs-tv k-space");
  FiniteDifference<EigenFftw> G;
  require(opt.step_ratio > 0, "cs-tv: step_ratio must be > 0");
  const float tau = static_cast<float>(0.99 / (3.0 * std::sqrt(opt.step_ratio)));
  const float sigma = static_cast<float>(0.99 * std::sqrt(opt.step_ratio) / 3.0), lam = static_cast<float>(opt.lambda);
  CArray x = A.adjoint(y);
  CArray xbar = x;
  CArray q = EigenFftw::zeros_like(y);
  CArray p = G.apply(x);
  p.setZero();
  SolverStatus st;
  const Index half = p.size() / 2;
  for (int k = 0; k < opt.max_iterations; ++k) {
    // Dual ascent on the data term: q = (q + sigma (A xbar - y)) / (1 + sigma).
    CArray axb = A.apply(xbar);
    {
      cfloat* qp = q.data();
      const cfloat* ap = axb.data();
      const cfloat* yp = y.data();
      for (Index i = 0; i < q.size(); ++i) qp[i] = (qp[i] + sigma * (ap[i] - yp[i])) / (1.0f + sigma);
    }
    // Dual ascent on TV: p = proj_{|p| <= lambda}(p + sigma G xbar), pointwise over (px, py).
    CArray gxb = G.apply(xbar);
    {
      cfloat* pp = p.data();
      const cfloat* gp = gxb.data();
      for (Index i = 0; i < half; ++i) {
        const cfloat a = pp[i] + sigma * gp[i];
        const cfloat b = pp[i + half] + sigma * gp[i + half];
        const float nrm = std::sqrt(std::norm(a) + std::norm(b));
        const float s = nrm > lam ? (lam > 0 ? lam / nrm : 0.0f) : 1.0f;
        pp[i] = a * s;
        pp[i + half] = b * s;
      }
    }
    // Primal descent and extrapolation.
    CArray step = A.adjoint(q) + G.adjoint(p);
    CArray xn = EigenFftw::axpy(cfloat(-tau), step, x);
    double dn = 0, xnn = 0;
    {
      const cfloat* a = xn.data();
      const cfloat* b = x.data();
      cfloat* xb = xbar.data();
      for (Index i = 0; i < xn.size(); ++i) {
        dn += std::norm(a[i] - b[i]);
        xnn += std::norm(a[i]);
        xb[i] = 2.0f * a[i] - b[i];
      }
    }
    x = std::move(xn);
    st.iterations = k + 1;
    if (opt.record_objective) {
      CArray r = A.apply(x);
      double data = 0;
      for (Index i = 0; i < r.size(); ++i) data += std::norm(r.data()[i] - y.data()[i]);
      st.objective.push_back(0.5 * data + opt.lambda * total_variation(x));
    }
    if (std::sqrt(dn) <= opt.tolerance * std::sqrt(std::max(xnn, 1e-30))) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = std::move(st);
  return x;
}

}  // namespace reconlab::solvers
