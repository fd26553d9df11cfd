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
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/solvers/common.hpp"

namespace reconlab::solvers {

namespace detail {

/// One plane of an ROF sweep: f, the dual field p = (px, py) updated in place, u = f + div p written, each
/// nx x ny row-major (x fastest); per-row sums (||div p||^2, <div p, u>, TV(u)) written to row_* (ny doubles
/// each), added in row order by the caller, so the totals do not depend on how rows are split between threads.
struct RofPlane {
  const float* f;
  float *px, *py, *u;
  Index nx, ny;
  float tau, tw;  ///< step 1/4 and tau / w
  double *row_dd2, *row_du, *row_tv;
};

/// The rows [r0, r1) one thread sweeps. Rows of p outside the chunk belong to other threads, which may already
/// have moved them: the values this chunk needs from them were copied before the sweep (py of row r0 - 1, px and
/// py of row r1; unused when r0 = 0 or r1 = ny). u's row r1 (the next chunk's) is formed again here, into
/// u_below. g, dv: nx floats of scratch.
struct RofChunk {
  Index r0, r1;
  float *py_above, *px_below, *py_below;  ///< filled by the caller before each sweep, read by it
  float *u_below, *g, *dv;
};

/// ur = f + div p for one row, from p's row (pxr, pyr) and, unless pyu is null (the first row), the py row
/// above (backward differences; p is zero on the last row and column). When dd2 is not null, the row's
/// ||div p||^2 and <div p, u> go to *dd2 and *du, summed in 8 float lanes (vectorisable without reassociation
/// flags; the same order whatever the vector width) and added in double.
[[gnu::always_inline]] inline void rof_form_row(const float* fr, const float* pxr, const float* pyr,
                                                const float* pyu, float* ur, float* dv, Index nx, double* dd2,
                                                double* du) {
  dv[0] = -pxr[0] - pyr[0];
  for (Index x = 1; x < nx; ++x) dv[x] = pxr[x - 1] - pxr[x] - pyr[x];
  if (pyu)
    for (Index x = 0; x < nx; ++x) dv[x] += pyu[x];
  float a2[8] = {0, 0, 0, 0, 0, 0, 0, 0}, au[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index x = 0;
  for (; x + 8 <= nx; x += 8)
    for (int j = 0; j < 8; ++j) {
      const float dj = dv[x + j], uj = fr[x + j] + dj;
      ur[x + j] = uj;
      a2[j] += dj * dj;
      au[j] += dj * uj;
    }
  double s2 = 0, su = 0;
  for (; x < nx; ++x) {
    ur[x] = fr[x] + dv[x];
    s2 += double(dv[x]) * dv[x];
    su += double(dv[x]) * ur[x];
  }
  if (!dd2) return;
  for (int j = 0; j < 8; ++j) s2 += a2[j], su += au[j];
  *dd2 = s2;
  *du = su;
}

/// One iteration of Chambolle's projection (2004, eq. 9) on the rows of one chunk. Rows in order: u's row y + 1
/// is formed from p's rows y and y + 1 before p's row y moves (it needs u's rows y and y + 1), so every p value
/// is updated from the previous iterate, as (9) says; u holds f + div p of the iterate the sweep started from,
/// and |grad u| is both the update's and TV(u)'s. The inner loops have no branches (boundaries peeled) so that
/// the compiler vectorises them.
[[gnu::always_inline]] inline void rof_sweep_body(const RofPlane& P, const RofChunk& C) {
  const Index nx = P.nx, ny = P.ny;
  const float tau = P.tau, tw = P.tw;
  {
    const Index r = C.r0 * nx;
    rof_form_row(P.f + r, P.px + r, P.py + r, C.r0 > 0 ? C.py_above : nullptr, P.u + r, C.dv, nx,
                 &P.row_dd2[C.r0], &P.row_du[C.r0]);
  }
  for (Index y = C.r0; y < C.r1; ++y) {
    const Index r = y * nx;
    const float* ur = P.u + r;
    const float* un;  // u's row y + 1 (the row itself on the last row: a_y = 0 there)
    if (y + 1 < C.r1) {
      rof_form_row(P.f + r + nx, P.px + r + nx, P.py + r + nx, P.py + r, P.u + r + nx, C.dv, nx,
                   &P.row_dd2[y + 1], &P.row_du[y + 1]);
      un = ur + nx;
    } else if (y + 1 < ny) {
      rof_form_row(P.f + r + nx, C.px_below, C.py_below, P.py + r, C.u_below, C.dv, nx, nullptr, nullptr);
      un = C.u_below;
    } else {
      un = ur;
    }
    // grad u (forward differences, zero at the far boundary); p = (p - tau grad u) / (1 + tau/w |grad u|).
    float* pxr = P.px + r;
    float* pyr = P.py + r;
    float* g = C.g;
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
    double tv = 0;
    for (; x < nx; ++x) tv += g[x];
    for (int j = 0; j < 8; ++j) tv += acc[j];
    P.row_tv[y] = tv;
  }
}

using RofSweep = void (*)(const RofPlane&, const RofChunk&);

/// The sweep for the baseline instruction set (SSE2 on x86-64).
inline void rof_sweep_baseline(const RofPlane& P, const RofChunk& C) { rof_sweep_body(P, C); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// The same sweep compiled for AVX2 (8-wide sqrt and division), chosen at run time where the CPU has it. No FMA
/// is enabled, so every operation rounds as in the baseline sweep: the two give the same bits.
[[gnu::target("avx2")]] inline void rof_sweep_avx2(const RofPlane& P, const RofChunk& C) { rof_sweep_body(P, C); }
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
  // One sweep per iteration (detail::rof_sweep_body); its sums give the duality gap of the iterate it started
  // from. Planes of 128^2 and more split their rows between the backend's threads (EigenFftw::fft_threads):
  // every value, the sums included, is the same whatever the split.
  const int threads = n >= 128 * 128 ? static_cast<int>(std::min<Index>(EigenFftw::fft_threads(), ny / 8)) : 1;
  const int chunks = std::max(1, threads);
  std::vector<float> px(n), py(n), u(n);
  std::vector<double> row_dd2(ny), row_du(ny), row_tv(ny);
  // Per chunk: scratch g, dv, u_below (nx each) and the copies of the neighbours' boundary rows (3 nx).
  std::vector<float> scratch(static_cast<std::size_t>(chunks * 6 * nx));
  SolverStatus st;
  st.converged = true;
  if (gaps) gaps->assign(static_cast<std::size_t>(planes), 0.0);
  const auto sweep = detail::rof_sweep_for_this_cpu();
  for (Index s = 0; s < planes; ++s) {
    const float* fp = f.data() + s * n;
    std::fill(px.begin(), px.end(), 0.f);
    std::fill(py.begin(), py.end(), 0.f);
    const detail::RofPlane P{fp, px.data(), py.data(), u.data(), nx, ny, tau, tw, row_dd2.data(), row_du.data(),
                             row_tv.data()};
    std::vector<detail::RofChunk> C(static_cast<std::size_t>(chunks));
    for (int k = 0; k < chunks; ++k) {
      float* b = scratch.data() + k * 6 * nx;
      C[std::size_t(k)] = {ny * k / chunks, ny * (k + 1) / chunks, b, b + nx, b + 2 * nx, b + 3 * nx, b + 4 * nx,
                           b + 5 * nx};
    }
    int it = 0;
    bool converged = false;
    double rel_gap = 0;
    for (; it < opt.max_iterations; ++it) {
      if (chunks == 1) {
        sweep(P, C[0]);
      } else {
        for (auto& c : C) {  // the neighbours' boundary rows as the previous iterate left them
          if (c.r0 > 0) std::copy_n(py.data() + (c.r0 - 1) * nx, nx, c.py_above);
          if (c.r1 < ny) {
            std::copy_n(px.data() + c.r1 * nx, nx, c.px_below);
            std::copy_n(py.data() + c.r1 * nx, nx, c.py_below);
          }
        }
        reconlab::detail::parallel_chunks(chunks, chunks, [&](Index k0, Index k1) {
          for (Index k = k0; k < k1; ++k) sweep(P, C[std::size_t(k)]);
        });
      }
      double dd2 = 0, du = 0, tv = 0;
      for (Index y = 0; y < ny; ++y) dd2 += row_dd2[y], du += row_du[y], tv += row_tv[y];
      // The duality gap of the iterate the sweep started from: gap = <div p, u> + w TV(u), P(u) = 0.5||div p||^2
      // + w TV(u). On convergence that iterate's u (kept in `u`) is the answer; p has moved on, unused.
      const double primal = 0.5 * dd2 + w * tv, gap = du + w * tv;
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
