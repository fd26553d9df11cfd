#pragma once
/// @file pdhg.hpp
/// The one primal-dual hybrid gradient (Chambolle-Pock) solver of reconlab, for
///     min_x  F(K x) + G(x)
/// with K any linear operator (usually a Stack [A; G_x; G_y; ...] whose range is a tuple of blocks), F and G
/// convex with cheap proximal maps. CS-TV (single- and multi-coil), k-t TV (temporal weight), TV super-resolution
/// and later non-Cartesian CS are configurations of this function (see cs_tv.hpp), not new loops.
///
/// Method: A. Chambolle and T. Pock, "A first-order primal-dual algorithm for convex problems with applications to
/// imaging", J. Math. Imaging Vis. 40 (2011) 120-145, Algorithm 1 (theta = 1):
///     y_{k+1} = prox_{sigma F*}(y_k + sigma K xbar_k)
///     x_{k+1} = prox_{tau G}(x_k - tau K^H y_{k+1})
///     xbar_{k+1} = 2 x_{k+1} - x_k,           tau sigma ||K||^2 < 1.
/// Stopping: the primal and dual residuals of the optimality conditions 0 in dG(x) + K^H y, 0 in dF*(y) - K x
/// (T. Goldstein, M. Li, X. Yuan, "Adaptive primal-dual splitting methods for statistical learning and image
/// processing", NeurIPS 2015, eq. (6)-(7), written for this ordering of the updates):
///     p_{k+1} = (x_k - x_{k+1}) / tau                              (in dG(x_{k+1}) + K^H y_{k+1})
///     d_{k+1} = (y_k - y_{k+1}) / sigma + K (xbar_k - x_{k+1})    (in dF*(y_{k+1}) - K x_{k+1})
/// Both vanish exactly at a saddle point; the solver stops when ||p|| <= tol ||K|| ||y|| and
/// ||d|| <= tol ||K x|| (each residual relative to the size its terms can have: ||K^H y|| <= ||K|| ||y||, and
/// K^H y itself may vanish at the solution), which is invariant to the scale of the data (x, y, F, G scaled
/// together).
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "reconlab/linear_operator.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of pdhg.
struct PdhgOptions {
  int max_iterations = 500;  ///< >= 1
  double tolerance = 1e-4;   ///< relative primal and dual residuals (see the file comment); 0 runs all iterations
  double step_ratio = 1.0;   ///< sigma / tau > 0; tau = 0.99 / (||K|| sqrt(ratio)), sigma = 0.99 sqrt(ratio) / ||K||
};

/// Per-iteration record of pdhg (in addition to SolverStatus::objective, which holds `objective(x, Kx)` when
/// given, else the larger relative residual).
struct PdhgStatus {
  std::vector<double> primal_residual;  ///< ||p_k|| / (||K|| ||y_k||)
  std::vector<double> dual_residual;    ///< ||d_k|| / ||K x_k||
};

/// Solves min_x F(K x) + G(x) from x0 (the dual starts at 0). B: the array backend of the domain; `K`: a
/// LinearOperator (its Range may be a tuple or vector of arrays, see Blocks); `norm_k2` >= ||K||^2 (e.g. 1 + 8 for
/// [M F; G_x; G_y]); `prox_fstar(v, sigma)` = prox_{sigma F*}(v) on K's range; `prox_g(v, tau)` = prox_{tau G}(v)
/// on the domain; `objective(x, Kx)`, when given, is recorded per iteration (the caller's F(Kx) + G(x)).
/// Throws Error on norm_k2 <= 0, max_iterations < 1, tolerance < 0 or step_ratio <= 0.
template <class B, LinearOperator Op, class ProxFStar, class ProxG>
typename B::Array pdhg(const Op& K, const ProxFStar& prox_fstar, const ProxG& prox_g, typename B::Array x0,
                       double norm_k2, const PdhgOptions& opt, SolverStatus* status = nullptr,
                       PdhgStatus* residuals = nullptr,
                       const std::function<double(const typename B::Array&, const typename Op::Range&)>& objective = {}) {
  require(norm_k2 > 0 && std::isfinite(norm_k2), "pdhg: ||K||^2 must be > 0, got " + std::to_string(norm_k2));
  require(opt.max_iterations >= 1, "pdhg: max_iterations must be >= 1");
  require(opt.tolerance >= 0, "pdhg: tolerance must be >= 0");
  require(opt.step_ratio > 0, "pdhg: step_ratio must be > 0");
  using V = Blocks<B>;
  using Array = typename B::Array;
  using Range = typename Op::Range;
  const double L = std::sqrt(norm_k2);
  const double tau = 0.99 / (L * std::sqrt(opt.step_ratio)), sigma = 0.99 * std::sqrt(opt.step_ratio) / L;
  // Every value lives in a buffer made once; the loop allocates no array of the problem's size when K, the
  // proxes and the backend have in-place forms (apply_into / adjoint_into, Blocks::lincomb_into; proxes that take
  // and return their argument by value): the arrays of a 320 x 256 CS-TV iteration are 640 KB each, and fresh
  // ones cost page faults on every pass. Operators without those forms still work (they allocate). The iterates
  // equal the allocating form's up to rounding (sums are associated differently).
  Array x = std::move(x0);
  Range kx;
  reconlab::apply_into(K, x, kx);
  Range kxbar = kx, y = kx, y_new = kx, kx_new = kx;
  V::lincomb_into(cfloat(0), kx, cfloat(0), kx, y);  // the dual starts at 0
  Array x_new = x, khy = x;
  const cfloat one(1);
  SolverStatus st;
  PdhgStatus res;
  for (int k = 0; k < opt.max_iterations; ++k) {
    V::lincomb_into(one, y, cfloat(float(sigma)), kxbar, y_new);
    y_new = prox_fstar(std::move(y_new), sigma);
    reconlab::adjoint_into(K, y_new, khy);
    V::lincomb_into(one, x, cfloat(float(-tau)), khy, x_new);
    x_new = prox_g(std::move(x_new), tau);
    reconlab::apply_into(K, x_new, kx_new);
    // Residuals (file comment): p = (x - x_new) / tau; d = (y - y_new) / sigma + K xbar - K x_new.
    const double p = std::sqrt(V::norm_squared_of_differences(1.0, x, x_new, 0.0, x, x)) / tau;
    const double d = std::sqrt(V::norm_squared_of_differences(1.0 / sigma, y, y_new, 1.0, kxbar, kx_new));
    const double norm_y = std::sqrt(V::norm_squared(y_new)), norm_kx = std::sqrt(V::norm_squared(kx_new));
    const double rp = p / std::max(L * norm_y, 1e-300), rd = d / std::max(norm_kx, 1e-300);
    // K xbar_{k+1} = 2 K x_{k+1} - K x_k by linearity: no extra application of K.
    V::lincomb_into(cfloat(2), kx_new, -one, kx, kxbar);
    std::swap(x, x_new);
    std::swap(y, y_new);
    std::swap(kx, kx_new);
    st.iterations = k + 1;
    res.primal_residual.push_back(rp);
    res.dual_residual.push_back(rd);
    st.objective.push_back(objective ? objective(x, kx) : std::max(rp, rd));
    if (opt.tolerance > 0 && rp <= opt.tolerance && rd <= opt.tolerance) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = std::move(st);
  if (residuals) *residuals = std::move(res);
  return x;
}

}  // namespace reconlab::solvers
