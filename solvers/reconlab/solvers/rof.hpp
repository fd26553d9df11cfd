#pragma once
/// @file rof.hpp
/// ROF / total-variation denoising by Chambolle's projection algorithm.
///
/// Solves min_u 0.5 ||u - f||^2 + w TV(u) with isotropic TV on forward differences (Neumann boundary), per 2D
/// (x, y) plane. Method: A. Chambolle, "An algorithm for total variation minimization and applications",
/// J. Math. Imaging Vis. 20 (2004), eq. (9), with step tau = 1/4 (p kept in the ball of radius w, u = f + div p).
///
/// Stopping rule: the duality gap. With the dual problem max_{|p_i| <= w} D(p) = 0.5||f||^2 - 0.5||f + div p||^2
/// (Chambolle 2004, Sec. 3), every iterate gives gap = P(u) - D(p) >= P(u) - P(u*) >= 0 at u = f + div p, and
/// gap = <div p, u> + w TV(u) (no cancellation of large terms). The solver stops when gap <= tolerance * P(u),
/// which certifies the energy to that relative accuracy and the distance ||u - u*|| <= sqrt(2 gap) (P is
/// 1-strongly convex), on images of any intensity scale.
#include <cmath>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of rof_denoise.
struct RofOptions {
  double weight = 0.1;         ///< w > 0, in the image's units (scikit-image's `weight`).
  int max_iterations = 20000;  ///< cap on projection steps (high: the gap, not the cap, should stop it).
  /// Stop when the duality gap <= tolerance * P(u) (see above); > 0. Measured on a 256 x 320 knee slice: 1e-3
  /// takes ~1-3 thousand iterations; Chambolle's projection then slows down (w = 0.15: relative gap 1.5e-4 after
  /// 20000 iterations).
  double tolerance = 1e-3;
};

/// TV-denoises every (x, y) plane of `f` (dims (nx, ny, c, f, b), real). Returns u of the same dims.
/// `status` (optional) receives the largest iteration count over the planes, whether every plane met the gap
/// criterion, and the primal objective 0.5||u-f||^2 + w TV(u) of the first plane after each iteration; `gaps`
/// (optional) the final relative gap of each plane. Throws Error on weight <= 0, max_iterations < 1, tolerance <= 0,
/// an empty image or non-finite input.
inline RArray rof_denoise(const RArray& f, const RofOptions& opt, SolverStatus* status = nullptr,
                          std::vector<double>* gaps = nullptr) {
  require(opt.weight > 0 && std::isfinite(opt.weight), "rof: weight must be > 0, got " + std::to_string(opt.weight));
  require(opt.max_iterations >= 1, "rof: max_iterations must be >= 1");
  require(opt.tolerance > 0, "rof: tolerance must be > 0");
  require(f.size() > 0, "rof: the image is empty (dims " + dims_string(dims_of(f)) + ")");
  require_finite(f, "rof input");
  const Dims d = dims_of(f);
  const Index nx = d[0], ny = d[1], n = nx * ny;
  RArray out(d[0], d[1], d[2], d[3], d[4]);
  const Index planes = n ? f.size() / n : 0;
  const float tau = 0.25f, w = static_cast<float>(opt.weight);
  std::vector<float> px(n), py(n), gx(n), gy(n), dd(n), u(n);
  SolverStatus st;
  st.converged = true;
  if (gaps) gaps->assign(static_cast<std::size_t>(planes), 0.0);
  for (Index s = 0; s < planes; ++s) {
    const float* fp = f.data() + s * n;
    std::fill(px.begin(), px.end(), 0.f);
    std::fill(py.begin(), py.end(), 0.f);
    std::fill(dd.begin(), dd.end(), 0.f);
    int it = 0;
    bool converged = false;
    double rel_gap = 0;
    for (; it < opt.max_iterations; ++it) {
      // d = div p (backward differences, p zero on the last row/column), u = f + d.
      if (it > 0) {
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x < nx; ++x) {
            const Index i = y * nx + x;
            float v = -px[i] - py[i];
            if (x > 0) v += px[i - 1];
            if (y > 0) v += py[i - nx];
            dd[i] = v;
          }
      }
      double dd2 = 0, du = 0;
      for (Index i = 0; i < n; ++i) {
        u[i] = fp[i] + dd[i];
        dd2 += double(dd[i]) * dd[i];
        du += double(dd[i]) * u[i];
      }
      // TV(u) and the duality gap of (u, p) before p moves: gap = <div p, u> + w TV(u), P(u) = 0.5||d||^2 + w TV(u).
      double tv = 0;
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          const Index i = y * nx + x;
          const double ax = x + 1 < nx ? double(u[i + 1]) - u[i] : 0.0;
          const double ay = y + 1 < ny ? double(u[i + nx]) - u[i] : 0.0;
          tv += std::sqrt(ax * ax + ay * ay);
        }
      const double primal = 0.5 * dd2 + w * tv, gap = du + w * tv;
      rel_gap = primal > 0 ? std::max(gap, 0.0) / primal : 0.0;
      if (s == 0) st.objective.push_back(primal);
      if (rel_gap <= opt.tolerance) {
        converged = true;
        break;
      }
      // g = grad u (forward differences, zero at the far boundary); p = (p - tau g) / (1 + tau/w |g|).
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          const Index i = y * nx + x;
          const float ax = x + 1 < nx ? u[i + 1] - u[i] : 0.f;
          const float ay = y + 1 < ny ? u[i + nx] - u[i] : 0.f;
          const float den = 1.f + tau / w * std::sqrt(ax * ax + ay * ay);
          px[i] = (px[i] - tau * ax) / den;
          py[i] = (py[i] - tau * ay) / den;
        }
    }
    std::copy(u.begin(), u.end(), out.data() + s * n);
    st.iterations = std::max(st.iterations, it);
    st.converged = st.converged && converged;
    if (gaps) (*gaps)[static_cast<std::size_t>(s)] = rel_gap;
  }
  if (status) *status = std::move(st);
  return out;
}

/// The ROF objective 0.5 ||u - f||^2 + w TV(u) (isotropic, forward differences, Neumann), summed over planes.
inline double rof_energy(const RArray& u, const RArray& f, double weight) {
  const Dims d = dims_of(u);
  require(d == dims_of(f), "rof_energy: u and f dims differ");
  const Index nx = d[0], ny = d[1], n = nx * ny, planes = n ? u.size() / n : 0;
  double e = 0;
  for (Index s = 0; s < planes; ++s) {
    const float* up = u.data() + s * n;
    const float* fp = f.data() + s * n;
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        const Index i = y * nx + x;
        const double ax = x + 1 < nx ? double(up[i + 1]) - up[i] : 0.0;
        const double ay = y + 1 < ny ? double(up[i + nx]) - up[i] : 0.0;
        e += 0.5 * (double(up[i]) - fp[i]) * (double(up[i]) - fp[i]) + weight * std::sqrt(ax * ax + ay * ay);
      }
  }
  return e;
}

}  // namespace reconlab::solvers
