#pragma once
/// @file cg.hpp
/// Conjugate gradients for Hermitian positive (semi-)definite systems N x = b, e.g. the normal equations
/// (A^H A + lambda I) x = A^H y of CG-SENSE and of MoDL's data-consistency step. Templated over the array backend so
/// the same code runs on Eigen/FFTW arrays and on torch tensors. Method: Hestenes & Stiefel, J. Res. NBS 49 (1952);
/// Algorithm 6.18 in Saad, "Iterative Methods for Sparse Linear Systems" (2003).
#include <cmath>
#include <complex>

#include "reconlab/operators.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of conjugate_gradient.
struct CgOptions {
  int max_iterations = 10;  ///< >= 1
  double tolerance = 1e-6;  ///< stop when ||r|| <= tolerance * ||b||
};

/// Solves N x = b from the start x0, where `normal(x)` applies a Hermitian PSD operator N (any callable
/// Array -> Array, e.g. [&](auto& v){ return B::axpy(lambda, v, reconlab::normal(A, v)); }).
/// `status->objective` receives the relative residual ||r_k|| / ||b|| after each iteration.
/// Throws Error if max_iterations < 1 or dims of b and x0 differ.
template <class B, class NormalOp>
typename B::Array conjugate_gradient(const NormalOp& normal_op, const typename B::Array& b, typename B::Array x0,
                                     const CgOptions& opt, SolverStatus* status = nullptr) {
  require(opt.max_iterations >= 1, "cg: max_iterations must be >= 1");
  require(B::dims(b) == B::dims(x0), "cg: right-hand side dims " + dims_string(B::dims(b)) +
                                         " differ from start dims " + dims_string(B::dims(x0)));
  using Array = typename B::Array;
  Array x = std::move(x0);
  Array r = B::axpy(cfloat(-1), normal_op(x), b);
  Array p = r;
  double rr = B::dot(r, r).real();
  const double bnorm = std::max(B::norm(b), 1e-30);
  SolverStatus st;
  for (int k = 0; k < opt.max_iterations; ++k) {
    if (std::sqrt(rr) <= opt.tolerance * bnorm) {
      st.converged = true;
      break;
    }
    Array np = normal_op(p);
    const double pnp = B::dot(p, np).real();
    if (!(pnp > 0)) break;  // breakdown: N not positive definite along p
    const cfloat alpha(static_cast<float>(rr / pnp));
    x = B::axpy(alpha, p, x);
    r = B::axpy(-alpha, np, r);
    const double rr_new = B::dot(r, r).real();
    p = B::axpy(cfloat(static_cast<float>(rr_new / rr)), p, r);
    rr = rr_new;
    st.iterations = k + 1;
    st.objective.push_back(std::sqrt(rr) / bnorm);
  }
  if (!st.converged && std::sqrt(rr) <= opt.tolerance * bnorm) st.converged = true;
  if (status) *status = std::move(st);
  return x;
}

}  // namespace reconlab::solvers
