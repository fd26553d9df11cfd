#pragma once
/// @file rof.hpp
/// ROF / total-variation denoising by Chambolle's projection algorithm.
///
/// Solves min_u 0.5 ||u - f||^2 + w TV(u) with isotropic TV on forward differences (Neumann boundary), per 2D
/// (x, y) plane. Method: A. Chambolle, "An algorithm for total variation minimization and applications",
/// J. Math. Imaging Vis. 20 (2004), eq. (9), with step tau = 1/4 and the stopping rule of scikit-image's
/// denoise_tv_chambolle (relative change of the dual energy below eps).
#include <cmath>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

/// Options of rof_denoise.
struct RofOptions {
  double weight = 0.1;      ///< w > 0, in the image's units (scikit-image's `weight`).
  int max_iterations = 200; ///< upper bound on projection steps.
  double eps = 2e-4;        ///< stop when |E_prev - E| < eps * E_0 (E: the scaled dual energy, as scikit-image).
};

/// TV-denoises every (x, y) plane of `f` (dims (nx, ny, c, f, b), real). Returns u of the same dims.
/// `status` (optional) receives the iterations, convergence flag and primal objective 0.5||u-f||^2 + w TV(u) of
/// the first plane after each iteration. Throws Error on weight <= 0, max_iterations < 1 or non-finite input.
inline RArray rof_denoise(const RArray& f, const RofOptions& opt, SolverStatus* status = nullptr) {
  require(opt.weight > 0 && std::isfinite(opt.weight), "rof: weight must be > 0, got " + std::to_string(opt.weight));
  require(opt.max_iterations >= 1, "rof: max_iterations must be >= 1");
  require_finite(f, "rof input");
  const Dims d = dims_of(f);
  const Index nx = d[0], ny = d[1], n = nx * ny;
  RArray out(d[0], d[1], d[2], d[3], d[4]);
  const Index planes = n ? f.size() / n : 0;
  const float tau = 0.25f, w = static_cast<float>(opt.weight);
  std::vector<float> px(n), py(n), gx(n), gy(n), dd(n), u(n);
  SolverStatus st;
  for (Index s = 0; s < planes; ++s) {
    const float* fp = f.data() + s * n;
    std::fill(px.begin(), px.end(), 0.f);
    std::fill(py.begin(), py.end(), 0.f);
    std::fill(dd.begin(), dd.end(), 0.f);
    double e_init = 0, e_prev = 0;
    int it = 0;
    bool converged = false;
    for (; it < opt.max_iterations; ++it) {
      // d = div p (backward differences, p zero on the last row/column), u = f + d.
      double e = 0;
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
      for (Index i = 0; i < n; ++i) {
        u[i] = fp[i] + dd[i];
        e += double(dd[i]) * dd[i];
      }
      // g = grad u (forward differences, zero at the far boundary); p = (p - tau g) / (1 + tau/w |g|).
      double tv = 0;
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          const Index i = y * nx + x;
          const float ax = x + 1 < nx ? u[i + 1] - u[i] : 0.f;
          const float ay = y + 1 < ny ? u[i + nx] - u[i] : 0.f;
          const float nrm = std::sqrt(ax * ax + ay * ay);
          tv += nrm;
          const float den = 1.f + tau / w * nrm;
          px[i] = (px[i] - tau * ax) / den;
          py[i] = (py[i] - tau * ay) / den;
        }
      e = (e + w * tv) / static_cast<double>(n);
      if (s == 0) st.objective.push_back(0.5 * [&] {
        double r = 0;
        for (Index i = 0; i < n; ++i) r += double(dd[i]) * dd[i];
        return r;
      }() + w * tv);
      if (it == 0) {
        e_init = e_prev = e;
      } else if (std::abs(e_prev - e) < opt.eps * e_init) {
        converged = true;
        ++it;
        break;
      } else {
        e_prev = e;
      }
    }
    std::copy(u.begin(), u.end(), out.data() + s * n);
    if (s == 0) {
      st.iterations = it;
      st.converged = converged;
    }
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
