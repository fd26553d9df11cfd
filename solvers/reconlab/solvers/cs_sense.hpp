#pragma once
/// @file cs_sense.hpp
/// Compressed sensing with wavelets on any forward model (M F, M F S); TV is cs_tv.hpp (one PDHG for every
/// TV problem):
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
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/fista.hpp"
#include "reconlab/solvers/wavelet.hpp"

namespace reconlab::solvers {

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
