#pragma once
/// @file cs_sense.hpp
/// Multi-coil compressed sensing on the SENSE model A = M F S (sense.hpp):
///  - TV:          min_x 0.5 ||A x - y||^2 + lambda TV(x), isotropic TV on forward differences (Neumann), solved
///                 by Chambolle & Pock, J. Math. Imaging Vis. 40 (2011), Algorithm 1 with K = [A; G] (the same
///                 scheme as cs_tv.hpp, for any operator A; ||K||^2 <= ||A||^2 + 8, ||A||^2 by power iteration).
///  - wavelet-L1:  min_x 0.5 ||A x - y||^2 + lambda ||W x||_1 (W: orthonormal Haar, wavelet.hpp; the coarsest
///                 approximation band is not penalised), solved by FISTA (fista.hpp), whose proximal step is exact
///                 because W is orthonormal: prox = W^H soft(W v, t lambda). Lustig et al., MRM 58 (2007) eq. (2).
/// Images (nx, ny, 1, 1, 1); k-space (nx, ny, coils, 1, 1); lambda in the image's units (data term 0.5||.||^2).
#include <cmath>
#include <cstdint>

#include "reconlab/operators.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/common.hpp"
#include "reconlab/solvers/fista.hpp"
#include "reconlab/solvers/wavelet.hpp"

namespace reconlab::solvers {

/// Options of cs_tv_operator.
struct CsTvOperatorOptions {
  double lambda = 1e-3;      ///< >= 0
  int max_iterations = 200;  ///< >= 1
  double tolerance = 1e-5;   ///< stop when ||x_k - x_{k-1}|| <= tolerance ||x_k||
  double step_ratio = 0.1;   ///< sigma / tau
};

/// CS-TV by Chambolle-Pock for any operator A on EigenFftw arrays whose domain is an image. `norm2` >= ||A||^2
/// (e.g. operator_norm_squared, times 1.05). Start: A^H y. `status->objective`: relative change per iteration.
/// Throws Error on lambda < 0, max_iterations < 1, norm2 <= 0 or non-finite k-space.
template <LinearOperator Op>
CArray cs_tv_operator(const Op& A, const CArray& y, double norm2, const CsTvOperatorOptions& opt,
                      SolverStatus* status = nullptr) {
  require(opt.lambda >= 0 && opt.max_iterations >= 1 && norm2 > 0 && opt.step_ratio > 0,
          "cs-tv: lambda >= 0, max_iterations >= 1, ||A||^2 > 0 and step_ratio > 0 required");
  require_finite(y, "cs-tv k-space");
  FiniteDifference<EigenFftw> G;
  const double L = std::sqrt(norm2 + 8.0);
  const float tau = float(0.99 / (L * std::sqrt(opt.step_ratio))), sigma = float(0.99 * std::sqrt(opt.step_ratio) / L);
  const float lam = float(opt.lambda);
  CArray x = A.adjoint(y), xbar = x;
  CArray q = EigenFftw::zeros_like(y);
  CArray p = G.apply(x);
  p.setZero();
  const Index half = p.size() / 2;
  SolverStatus st;
  for (int k = 0; k < opt.max_iterations; ++k) {
    const CArray axb = A.apply(xbar);
    for (Index i = 0; i < q.size(); ++i) q.data()[i] = (q.data()[i] + sigma * (axb.data()[i] - y.data()[i])) / (1.0f + sigma);
    const CArray g = G.apply(xbar);
    for (Index i = 0; i < half; ++i) {
      const cfloat a = p.data()[i] + sigma * g.data()[i], b = p.data()[i + half] + sigma * g.data()[i + half];
      const float nrm = std::sqrt(std::norm(a) + std::norm(b));
      const float s = nrm > lam ? (lam > 0 ? lam / nrm : 0.0f) : 1.0f;
      p.data()[i] = a * s;
      p.data()[i + half] = b * s;
    }
    const CArray step = A.adjoint(q) + G.adjoint(p);
    double dn = 0, xn2 = 0;
    for (Index i = 0; i < x.size(); ++i) {
      const cfloat xn = x.data()[i] - tau * step.data()[i];
      dn += std::norm(xn - x.data()[i]);
      xn2 += std::norm(xn);
      xbar.data()[i] = 2.0f * xn - x.data()[i];
      x.data()[i] = xn;
    }
    st.iterations = k + 1;
    const double rel = std::sqrt(dn / std::max(xn2, 1e-30));
    st.objective.push_back(rel);
    if (rel <= opt.tolerance) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = std::move(st);
  return x;
}

/// Options of cs_wavelet_operator.
struct CsWaveletOptions {
  double lambda = 1e-3;      ///< >= 0
  int levels = 4;            ///< Haar levels
  int max_iterations = 100;  ///< FISTA iterations
  double tolerance = 1e-5;
  /// Cycle spinning: each FISTA step thresholds in a wavelet basis circularly shifted by a random (sx, sy) in
  /// [0, 2^levels), which removes the blocky artefacts of a fixed Haar grid (as BART's pics does for its wavelets;
  /// Figueiredo & Nowak, IEEE TIP 12 (2003) 906-916). Each shifted basis is orthonormal, so every prox is exact.
  bool cycle_spin = true;
  std::uint64_t seed = 0;  ///< seed of the shifts
};

/// Circular shift of every (x, y) plane by (sx, sy) (negative values shift back).
inline CArray circshift_xy(const CArray& a, Index sx, Index sy) {
  const Index nx = a.dimension(0), ny = a.dimension(1), plane = nx * ny;
  CArray out(a.dimensions());
  sx = ((sx % nx) + nx) % nx;
  sy = ((sy % ny) + ny) % ny;
  for (Index p = 0; p * plane < a.size(); ++p)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x)
        out.data()[p * plane + ((y + sy) % ny) * nx + (x + sx) % nx] = a.data()[p * plane + y * nx + x];
  return out;
}

/// Complex soft thresholding of the wavelet coefficients of `v` except the coarsest approximation block:
/// c -> c max(0, 1 - thr / |c|).
inline CArray wavelet_soft_threshold(const HaarWavelet& W, const CArray& v, float thr) {
  CArray c = W.forward(v);
  const Index nx = c.dimension(0), ny = c.dimension(1), plane = nx * ny;
  const auto [wx, wy] = W.coarse_block(nx, ny);
  for (Index p = 0; p * plane < c.size(); ++p)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        if (x < wx && y < wy) continue;
        cfloat& z = c.data()[p * plane + y * nx + x];
        const float a = std::abs(z);
        z = a > thr ? z * (1.0f - thr / a) : cfloat(0);
      }
  return W.inverse(c);
}

/// CS with wavelet-L1 by FISTA for any operator A on EigenFftw image arrays; L >= ||A||^2. Start: A^H y.
/// Throws Error on lambda < 0 and as fista does.
template <LinearOperator Op>
CArray cs_wavelet_operator(const Op& A, const CArray& y, double L, const CsWaveletOptions& opt,
                           SolverStatus* status = nullptr) {
  require(opt.lambda >= 0, "cs-wavelet: lambda must be >= 0");
  require_finite(y, "cs-wavelet k-space");
  const HaarWavelet W(opt.levels);
  Random rng(opt.seed);  // portable shifts (random.hpp): the same on every standard library
  auto shift = [hi = (Index(1) << std::min(opt.levels, 20)) - 1](Random& r) { return Index(r.uniform_int(0, hi)); };
  auto prox = [&](const CArray& v, double t) {
    if (!opt.cycle_spin) return wavelet_soft_threshold(W, v, float(t * opt.lambda));
    const Index sx = shift(rng), sy = shift(rng);
    return circshift_xy(wavelet_soft_threshold(W, circshift_xy(v, sx, sy), float(t * opt.lambda)), -sx, -sy);
  };
  return fista<EigenFftw>(A, y, A.adjoint(y), L, prox,
                          FistaOptions{.max_iterations = opt.max_iterations, .tolerance = opt.tolerance}, status);
}

}  // namespace reconlab::solvers
