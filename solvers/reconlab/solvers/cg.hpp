#pragma once
/// @file cg.hpp
/// The one conjugate-gradient solver of reconlab, for Hermitian positive (semi-)definite systems N x = b such as
/// the normal equations (A^H A + lambda I) x = A^H y of CG-SENSE and of MoDL's data-consistency step.
/// Method: Hestenes & Stiefel, J. Res. NBS 49 (1952); Algorithm 6.18 in Saad, "Iterative Methods for Sparse Linear
/// Systems" (2003).
///
/// Templated over the array backend. The step sizes alpha and beta are per sample (one per batch entry, so the
/// samples of a batch never couple) and are backend values (B::Scalars): on the Torch backend they stay on the
/// autograd graph, so back-propagation through a truncated CG is exact (MoDL, Aggarwal et al., IEEE TMI 38(2),
/// 2019, Sec. II-C); on EigenFftw they are doubles. The same code serves the classical solvers, batches and
/// networks.
#include <cmath>
#include <complex>
#include <vector>

#include "reconlab/operators.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of conjugate_gradient.
struct CgOptions {
  int max_iterations = 10;  ///< >= 1
  /// Stop when ||r_b|| <= tolerance ||b_b|| for every batch entry b (the relative residual of the normal
  /// equations, which bounds the relative error by the condition number). 0 runs exactly max_iterations steps
  /// (unrolled networks: a fixed graph).
  double tolerance = 1e-6;
};

/// Solves N x = b from the start x0 for every batch entry, where `normal_op(x)` applies a Hermitian PSD operator
/// N that acts on each batch entry separately (any callable Array -> Array, e.g.
/// [&](auto& v){ return B::axpy(lambda, v, reconlab::normal(A, v)); }).
/// Arrays: dims (x, y, coil, frame, batch) on EigenFftw, or tensors (batch, frame, coil, y, x) on Torch.
/// `status->objective` receives max_b ||r_b|| / ||b_b|| after each iteration; converged means the tolerance was
/// met. A sample whose squared residual fell below 1e-12 ||b||^2 (float; 1e-28 in double) takes no further steps.
/// Throws Error if max_iterations < 1, tolerance < 0, or the dims of b and x0 differ.
template <class B, class NormalOp>
typename B::Array conjugate_gradient(const NormalOp& normal_op, const typename B::Array& b, typename B::Array x0,
                                     const CgOptions& opt, SolverStatus* status = nullptr) {
  require(opt.max_iterations >= 1, "cg: max_iterations must be >= 1");
  require(opt.tolerance >= 0, "cg: tolerance must be >= 0");
  require(B::dims(b) == B::dims(x0), "cg: right-hand side dims " + dims_string(B::dims(b)) +
                                         " differ from start dims " + dims_string(B::dims(x0)));
  using Array = typename B::Array;
  Array x = std::move(x0);
  Array r = B::axpy(cfloat(-1), normal_op(x), b);
  Array p = r;
  auto rr = B::dot_batch(r, r);
  const auto bb_s = B::dot_batch(b, b);
  const auto bb = B::to_host(bb_s);
  // max over samples of ||r_b|| / ||b_b|| (a zero right-hand side counts as solved once its residual is 0).
  auto worst = [&](const std::vector<std::complex<double>>& rh) {
    double w = 0;
    for (std::size_t i = 0; i < rh.size(); ++i) {
      const double rn = std::sqrt(std::max(0.0, rh[i].real())), bn = std::sqrt(std::max(0.0, bb[i].real()));
      w = std::max(w, bn > 0 ? rn / bn : (rn > 0 ? 1.0 : 0.0));
    }
    return w;
  };
  SolverStatus st;
  for (int k = 0; k < opt.max_iterations; ++k) {
    if (k == 0 && opt.tolerance > 0 && worst(B::to_host(rr)) <= opt.tolerance) {
      st.converged = true;  // the start already solves the system
      break;
    }
    Array np = normal_op(p);
    // A sample whose residual reached the precision floor (B::keep_above) takes no further steps: with a fixed
    // iteration count (unrolled networks) rounding noise would otherwise be divided by rounding noise.
    const auto alpha = B::keep_above(B::divide(rr, B::dot_batch(p, np)), rr, bb_s);
    x = B::scale_add(alpha, p, x);
    r = B::scale_add(B::negate(alpha), np, r);
    auto rr_new = B::dot_batch(r, r);
    p = B::scale_add(B::keep_above(B::divide(rr_new, rr), rr_new, bb_s), p, r);
    rr = std::move(rr_new);
    st.iterations = k + 1;
    if (opt.tolerance == 0 && !status) continue;  // fixed iterations, nobody asks: no host round trip
    const double w = worst(B::to_host(rr));
    st.objective.push_back(w);
    if (opt.tolerance > 0 && w <= opt.tolerance) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = std::move(st);
  return x;
}

}  // namespace reconlab::solvers
