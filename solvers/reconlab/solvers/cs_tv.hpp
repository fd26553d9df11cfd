#pragma once
/// @file cs_tv.hpp
/// Compressed sensing with total variation, single- or multi-coil, one frame or many (k-t TV):
///     min_x 0.5 ||A x - y||^2 + lambda TV_xy(x) + lambda_t TV_t(x),
/// A any forward model (M F, M F S; forward_model.hpp), TV_xy isotropic over (x, y) on forward differences with
/// Neumann boundary, TV_t the l1 norm of the forward differences along frames (the temporal TV of k-t methods,
/// e.g. Lustig et al., MRM 58 (2007) 1182, and BART pics -R T:1024:0:lambda), x complex.
/// One configuration of the one PDHG (pdhg.hpp): K = [A; G] with G = FiniteDifference over (x, y) (and the frame
/// axis when lambda_t > 0), F*(q, p) = the conjugate of the data term on q and the indicator of
/// {|(p_x, p_y)| <= lambda} x {|p_t| <= lambda_t} on p (Chambolle & Pock 2011, Sec. 6.2.1), G = 0.
/// Frames without a temporal term are independent problems solved together.
#include <cmath>

#include "reconlab/operators.hpp"
#include "reconlab/solvers/common.hpp"
#include "reconlab/solvers/pdhg.hpp"

namespace reconlab::solvers {

/// Options of cs_tv.
struct CsTvOptions {
  double lambda = 1e-3;      ///< spatial TV weight >= 0, in the image's units (data term 0.5||.||^2 of k-space)
  double lambda_t = 0.0;     ///< temporal TV weight >= 0 (frame axis); 0: no temporal term
  int max_iterations = 1000;  ///< cap >= 1 (the residual criterion, not the cap, should stop it)
  /// PDHG's relative primal and dual residuals (pdhg.hpp); 0 runs all iterations. Measured on a 256 x 320 knee
  /// slice with full sampling: 1e-3 leaves the solution within 1e-3 (relative L2) of scikit-image's converged ROF.
  double tolerance = 1e-3;
  bool record_objective = true;  ///< status->objective = the objective per iteration (else the residual)
  /// sigma / tau. Measured: on undersampled k-space of an image scaled to max 1, 0.1 reaches a given error about
  /// twice as fast as 1 (the reconstructors scale so); with full sampling 1 is faster.
  double step_ratio = 0.1;
};

/// TV_xy(x) = sum over pixels (and coil, frame, batch) of sqrt(|D_x x|^2 + |D_y x|^2), forward differences with
/// Neumann boundary. x: any dims (x, y, coil, frame, batch).
inline double total_variation(const CArray& x) {
  const auto g = FiniteDifference<EigenFftw>({0, 1}).apply(x);
  double tv = 0;
  for (Index i = 0; i < x.size(); ++i) tv += std::sqrt(std::norm(g[0].data()[i]) + std::norm(g[1].data()[i]));
  return tv;
}

/// TV_t(x) = sum |D_t x| (forward differences along frames). x: any dims.
inline double temporal_total_variation(const CArray& x) {
  const CArray g = EigenFftw::forward_diff(x, 3);
  double tv = 0;
  for (Index i = 0; i < g.size(); ++i) tv += std::abs(g.data()[i]);
  return tv;
}

/// max over pixels of sum_c |s_c|^2 for maps of dims (nx, ny, coils, 1, 1): ||S||^2 of the coil operator, so
/// ||M F S||^2 <= max(mask)^2 x this.
inline double max_coil_power(const CArray& maps) {
  require(maps.dimension(3) == 1 && maps.dimension(4) == 1,
          "max_coil_power: maps must have dims (nx, ny, coils, 1, 1), got " + dims_string(dims_of(maps)));
  const Index plane = maps.dimension(0) * maps.dimension(1);
  double best = 0;
  for (Index i = 0; i < plane; ++i) {
    double w = 0;
    for (Index c = 0; c < maps.dimension(2); ++c) w += std::norm(maps.data()[c * plane + i]);
    best = std::max(best, w);
  }
  return best;
}

/// Solves the CS-TV problem for k-space `y` (the range of A, zero where unsampled) with `norm_a2` >= ||A||^2
/// (1 for M F with a mask or weights <= 1; max(mask)^2 x max_coil_power(maps) for M F S, or a power-iteration
/// estimate times 1.05, see operator_norm_squared). Returns the complex image in A's domain. Start: A^H y.
/// `status->objective`: 0.5||Ax-y||^2 + lambda TV_xy + lambda_t TV_t per iteration (record_objective).
/// Throws Error on a negative or non-finite weight, non-finite k-space, and as pdhg does.
template <LinearOperator Op>
CArray cs_tv(const Op& A, const CArray& y, double norm_a2, const CsTvOptions& opt, SolverStatus* status = nullptr,
             PdhgStatus* residuals = nullptr) {
  require(opt.lambda >= 0 && std::isfinite(opt.lambda), "cs-tv: lambda must be >= 0, got " + std::to_string(opt.lambda));
  require(opt.lambda_t >= 0 && std::isfinite(opt.lambda_t),
          "cs-tv: lambda_t must be >= 0, got " + std::to_string(opt.lambda_t));
  require_finite(y, "cs-tv k-space");
  const bool temporal = opt.lambda_t > 0;
  FiniteDifference<EigenFftw> G(temporal ? std::vector<int>{0, 1, 3} : std::vector<int>{0, 1});
  const auto K = stack(A, G);
  using Range = typename decltype(K)::Range;
  const float lam = float(opt.lambda), lam_t = float(opt.lambda_t);
  auto prox_fstar = [&](Range v, double sigma) {
    // Data block: (v - sigma y) / (1 + sigma).
    // Pointwise maps, split over the backend's threads (the same values for any split).
    CArray& q = std::get<0>(v);
    const float s = float(sigma), inv = 1.0f / (1.0f + s);
    cfloat* qp = q.data();
    const cfloat* yp = y.data();
    EigenFftw::for_blocks(q.size(), [&](Index i0, Index i1) {
      for (Index i = i0; i < i1; ++i) qp[i] = (qp[i] - s * yp[i]) * inv;
    });
    // TV block: pointwise projection of (p_x, p_y) onto the ball of radius lambda, p_t onto radius lambda_t.
    auto& p = std::get<1>(v);
    cfloat* px = p[0].data();
    cfloat* py = p[1].data();
    EigenFftw::for_blocks(p[0].size(), [&](Index i0, Index i1) {
      for (Index i = i0; i < i1; ++i) {
        const float n = std::sqrt(std::norm(px[i]) + std::norm(py[i]));
        if (n > lam) {
          const float f = lam > 0 ? lam / n : 0.0f;
          px[i] *= f;
          py[i] *= f;
        }
      }
    });
    if (temporal) {
      cfloat* pt = p[2].data();
      EigenFftw::for_blocks(p[2].size(), [&](Index i0, Index i1) {
        for (Index i = i0; i < i1; ++i) {
          const float n = std::abs(pt[i]);
          if (n > lam_t) pt[i] *= lam_t / n;
        }
      });
    }
    return v;
  };
  auto prox_g = [](CArray v, double) { return v; };
  std::function<double(const CArray&, const Range&)> objective;
  if (opt.record_objective)
    objective = [&](const CArray&, const Range& kx) {
      const CArray& ax = std::get<0>(kx);
      const auto& g = std::get<1>(kx);
      double data = 0, tv = 0, tvt = 0;
      for (Index i = 0; i < ax.size(); ++i) data += std::norm(ax.data()[i] - y.data()[i]);
      for (Index i = 0; i < g[0].size(); ++i) tv += std::sqrt(std::norm(g[0].data()[i]) + std::norm(g[1].data()[i]));
      if (temporal)
        for (Index i = 0; i < g[2].size(); ++i) tvt += std::abs(g[2].data()[i]);
      return 0.5 * data + opt.lambda * tv + opt.lambda_t * tvt;
    };
  return pdhg<EigenFftw>(K, prox_fstar, prox_g, A.adjoint(y), norm_a2 + G.norm_squared_bound(),
                         PdhgOptions{.max_iterations = opt.max_iterations, .tolerance = opt.tolerance,
                                     .step_ratio = opt.step_ratio},
                         status, residuals, objective);
}

/// CS-TV for Cartesian sampling A = M F (mask or weights in [0, 1], so ||A|| <= 1).
inline CArray cs_tv(const CartesianSampling<EigenFftw>& A, const CArray& y, const CsTvOptions& opt,
                    SolverStatus* status = nullptr, PdhgStatus* residuals = nullptr) {
  return cs_tv(A, y, 1.0, opt, status, residuals);
}

}  // namespace reconlab::solvers
