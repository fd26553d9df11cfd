#pragma once
/// @file fista.hpp
/// FISTA, the fast iterative shrinkage-thresholding algorithm: A. Beck and M. Teboulle, "A fast iterative
/// shrinkage-thresholding algorithm for linear inverse problems", SIAM J. Imaging Sci. 2 (2009) 183-202,
/// section 4 (FISTA with constant step 1/L): for min_x 0.5 ||A x - y||^2 + g(x),
///   x_k = prox_{g/L}(z_k - A^H (A z_k - y) / L),  t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,
///   z_{k+1} = x_k + ((t_k - 1) / t_{k+1}) (x_k - x_{k-1}),
/// where L >= ||A||^2 (estimated by power iteration on A^H A). Templated over the array backend.
#include <cmath>

#include "reconlab/linear_operator.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of fista.
struct FistaOptions {
  int max_iterations = 100;  ///< >= 1
  double tolerance = 1e-5;   ///< stop when ||x_k - x_{k-1}|| <= tolerance * ||x_k||
};

/// Largest eigenvalue of A^H A (= ||A||^2) by `iterations` power iterations from `start` (any non-zero array of
/// the domain's dims). Returns the last Rayleigh quotient, a lower bound that converges to ||A||^2.
template <class B, LinearOperator Op>
double operator_norm_squared(const Op& A, typename B::Array start, int iterations = 30) {
  double lam = 0;
  for (int i = 0; i < iterations; ++i) {
    const double n = B::norm(start);
    require(n > 0, "operator_norm_squared: the iterate vanished (A^H A x = 0)");
    start = B::axpy(cfloat(float(1.0 / n)) - cfloat(1), start, start);  // start / ||start||
    typename B::Array next = reconlab::normal(A, start);
    lam = B::dot(start, next).real();
    start = std::move(next);
  }
  return lam;
}

/// Runs FISTA on 0.5 ||A x - y||^2 + g(x) from x0 with step 1/L; `prox(v, t)` returns prox_{t g}(v).
/// `status->objective` holds ||x_k - x_{k-1}|| / ||x_k|| per iteration. Throws Error on L <= 0 or
/// max_iterations < 1.
template <class B, LinearOperator Op, class Prox>
typename B::Array fista(const Op& A, const typename B::Array& y, typename B::Array x0, double L, const Prox& prox,
                        const FistaOptions& opt, SolverStatus* status = nullptr) {
  require(L > 0 && std::isfinite(L), "fista: the Lipschitz constant L must be > 0");
  require(opt.max_iterations >= 1, "fista: max_iterations must be >= 1");
  using Array = typename B::Array;
  Array x = std::move(x0), z = x;
  double t = 1;
  SolverStatus st;
  const cfloat step(float(1.0 / L));
  for (int k = 0; k < opt.max_iterations; ++k) {
    Array grad = A.adjoint(B::axpy(cfloat(-1), y, A.apply(z)));
    Array xn = prox(B::axpy(-step, grad, z), 1.0 / L);
    const double tn = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    Array dx = B::axpy(cfloat(-1), x, xn);
    z = B::axpy(cfloat(float((t - 1) / tn)), dx, xn);
    const double rel = B::norm(dx) / std::max(B::norm(xn), 1e-30);
    x = std::move(xn);
    t = tn;
    st.iterations = k + 1;
    st.objective.push_back(rel);
    if (rel <= opt.tolerance) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = std::move(st);
  return x;
}

}  // namespace reconlab::solvers
