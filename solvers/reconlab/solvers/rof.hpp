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

namespace detail {

/// Sums one ROF sweep returns: ||div p||^2, <div p, u> and TV(u) of the iterate it started from.
struct RofSums {
  double dd2 = 0, du = 0, tv = 0;
};

/// u's row y = f + div p (backward differences; p is zero on the last row and column), adding its ||div p||^2
/// and <div p, u> to s. Sums run in 8 float lanes (vectorisable without reassociation flags; the same order
/// whatever the vector width), added to s in double once per row.
[[gnu::always_inline]] inline void rof_form_row(const float* fp, const float* px, const float* py, float* u,
                                                float* dv, Index nx, Index y, RofSums& s) {
  const Index r = y * nx;
  const float* pxr = px + r;
  const float* pyr = py + r;
  const float* fr = fp + r;
  float* ur = u + r;
  dv[0] = -pxr[0] - pyr[0];
  for (Index x = 1; x < nx; ++x) dv[x] = pxr[x - 1] - pxr[x] - pyr[x];
  if (y > 0)
    for (Index x = 0; x < nx; ++x) dv[x] += pyr[x - nx];
  float a2[8] = {0, 0, 0, 0, 0, 0, 0, 0}, au[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index x = 0;
  for (; x + 8 <= nx; x += 8)
    for (int j = 0; j < 8; ++j) {
      const float dj = dv[x + j], uj = fr[x + j] + dj;
      ur[x + j] = uj;
      a2[j] += dj * dj;
      au[j] += dj * uj;
    }
  for (; x < nx; ++x) {
    ur[x] = fr[x] + dv[x];
    s.dd2 += double(dv[x]) * dv[x];
    s.du += double(dv[x]) * ur[x];
  }
  for (int j = 0; j < 8; ++j) s.dd2 += a2[j], s.du += au[j];
}

/// One iteration of Chambolle's projection (2004, eq. 9) on an nx x ny plane (row-major, x fastest), p updated
/// in place. Rows in order: u's row y + 1 = f + div p is formed from p's rows y and y + 1 before p's row y moves
/// (it needs u's rows y and y + 1), so every p value is updated from the previous iterate, as in (9). `u`
/// receives f + div p of the iterate the sweep started from; |grad u| is both the update's and TV(u)'s.
/// The inner loops have no branches (boundaries peeled) so that the compiler vectorises them. `g`, `dv`: nx
/// floats of scratch.
[[gnu::always_inline]] inline RofSums rof_sweep_body(const float* fp, float* px, float* py, float* u, float* g,
                                                     float* dv, Index nx, Index ny, float tau, float tw) {
  RofSums s;
  rof_form_row(fp, px, py, u, dv, nx, 0, s);
  for (Index y = 0; y < ny; ++y) {
    const bool last = y + 1 == ny;
    if (!last) rof_form_row(fp, px, py, u, dv, nx, y + 1, s);
    // grad u (forward differences, zero at the far boundary); p = (p - tau grad u) / (1 + tau/w |grad u|).
    const Index r = y * nx;
    const float* ur = u + r;
    const float* un = last ? ur : ur + nx;  // last row: a_y = u - u = 0
    float* pxr = px + r;
    float* pyr = py + r;
    for (Index x = 0; x + 1 < nx; ++x) {
      const float ax = ur[x + 1] - ur[x], ay = un[x] - ur[x];
      const float m = std::sqrt(ax * ax + ay * ay);
      g[x] = m;
      const float inv = 1.f / (1.f + tw * m);
      pxr[x] = (pxr[x] - tau * ax) * inv;
      pyr[x] = (pyr[x] - tau * ay) * inv;
    }
    {
      const Index x = nx - 1;
      const float ay = un[x] - ur[x];
      const float m = std::abs(ay);
      g[x] = m;
      const float inv = 1.f / (1.f + tw * m);
      pxr[x] = pxr[x] * inv;
      pyr[x] = (pyr[x] - tau * ay) * inv;
    }
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    Index x = 0;
    for (; x + 8 <= nx; x += 8)
      for (int j = 0; j < 8; ++j) acc[j] += g[x + j];
    for (; x < nx; ++x) s.tv += g[x];
    for (int j = 0; j < 8; ++j) s.tv += acc[j];
  }
  return s;
}

using RofSweep = RofSums (*)(const float*, float*, float*, float*, float*, float*, Index, Index, float, float);

/// The sweep for the baseline instruction set (SSE2 on x86-64).
inline RofSums rof_sweep_baseline(const float* fp, float* px, float* py, float* u, float* g, float* dv, Index nx,
                                  Index ny, float tau, float tw) {
  return rof_sweep_body(fp, px, py, u, g, dv, nx, ny, tau, tw);
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// The same sweep compiled for AVX2 (8-wide sqrt and division), chosen at run time where the CPU has it. No FMA
/// is enabled, so every operation rounds as in the baseline sweep: the two give the same bits.
[[gnu::target("avx2")]] inline RofSums rof_sweep_avx2(const float* fp, float* px, float* py, float* u, float* g,
                                                     float* dv, Index nx, Index ny, float tau, float tw) {
  return rof_sweep_body(fp, px, py, u, g, dv, nx, ny, tau, tw);
}
#endif
/// The fastest sweep this CPU runs.
inline RofSweep rof_sweep_for_this_cpu() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx2")) return &rof_sweep_avx2;
#endif
  return &rof_sweep_baseline;
}

}  // namespace detail

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
  const float tau = 0.25f, w = static_cast<float>(opt.weight), tw = tau / w;
  // One sweep per iteration (detail::rof_sweep); its sums give the duality gap of the iterate it started from.
  std::vector<float> px(n), py(n), u(n), g(nx), dv(nx);
  SolverStatus st;
  st.converged = true;
  if (gaps) gaps->assign(static_cast<std::size_t>(planes), 0.0);
  const auto sweep = detail::rof_sweep_for_this_cpu();
  for (Index s = 0; s < planes; ++s) {
    const float* fp = f.data() + s * n;
    std::fill(px.begin(), px.end(), 0.f);
    std::fill(py.begin(), py.end(), 0.f);
    int it = 0;
    bool converged = false;
    double rel_gap = 0;
    for (; it < opt.max_iterations; ++it) {
      const detail::RofSums sums = sweep(fp, px.data(), py.data(), u.data(), g.data(), dv.data(), nx, ny, tau, tw);
      // The duality gap of the iterate the sweep started from: gap = <div p, u> + w TV(u), P(u) = 0.5||div p||^2
      // + w TV(u). On convergence that iterate's u (kept in `u`) is the answer; p has moved on, unused.
      const double primal = 0.5 * sums.dd2 + w * sums.tv, gap = sums.du + w * sums.tv;
      rel_gap = primal > 0 ? std::max(gap, 0.0) / primal : 0.0;
      if (s == 0) st.objective.push_back(primal);
      if (rel_gap <= opt.tolerance) {
        converged = true;
        break;
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
