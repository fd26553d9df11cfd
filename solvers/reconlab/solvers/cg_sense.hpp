#pragma once
/// @file cg_sense.hpp
/// CG-SENSE: K. P. Pruessmann, M. Weiger, P. Boernert, P. Boesiger, "Advances in sensitivity encoding with
/// arbitrary k-space trajectories", MRM 46 (2001) 638-651: conjugate gradients (cg.hpp) on the normal equations
/// (A^H A + lambda I) x = A^H y of the multi-coil model A = M F S (sense.hpp), started from x = 0.
#include "reconlab/linear_operator.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/cg.hpp"

namespace reconlab::solvers {

/// Options of cg_sense.
struct CgSenseOptions {
  int iterations = 30;      ///< CG iterations (>= 1)
  double lambda = 0;        ///< Tikhonov weight (>= 0), in the units of A^H A (maps normalised: ~1 = strong)
  double tolerance = 1e-6;  ///< stop when the relative residual ||r|| / ||A^H y|| is below it
};

/// Solves the regularised least-squares problem min ||A x - y||^2 + lambda ||x||^2 by CG on its normal
/// equations (A^H A + lambda I) x = A^H y, from x = 0, for any linear operator A with apply/adjoint (and, when it
/// has one, a cheaper normal: the NUFFT's Toeplitz embedding, SENSE's F^H M F). `y` is in A's range (k-space or
/// non-Cartesian samples); returns x in A's domain. Stops when ||r|| / ||A^H y|| <= opt.tolerance (cg.hpp) or
/// after opt.iterations; `status->objective`: the relative residual per iteration. Throws Error for lambda < 0,
/// iterations < 1 and as A does for dims that do not fit.
template <class B, class Op>
typename B::Array cg_least_squares(const Op& A, const typename B::Array& y, const CgSenseOptions& opt = {},
                                   SolverStatus* status = nullptr) {
  require(opt.lambda >= 0, "cg: lambda must be >= 0");
  const typename B::Array rhs = A.adjoint(y);
  const cfloat lam(static_cast<float>(opt.lambda));
  auto N = [&](const typename B::Array& v) { return B::axpy(lam, v, reconlab::normal(A, v)); };
  return conjugate_gradient<B>(N, rhs, B::zeros_like(rhs),
                               CgOptions{.max_iterations = opt.iterations, .tolerance = opt.tolerance}, status);
}

/// Solves (A^H A + lambda I) x = A^H y for k-space `y` (nx, ny, coils, f, b), zero where not acquired, with mask
/// (nx, ny, 1, 1, 1) and maps (nx, ny, coils, 1, 1): cg_least_squares with A = M F S. Returns the image
/// (nx, ny, 1, f, b) in the units of the maps-combined coil images. `status->objective`: relative residual per
/// iteration. Throws Error on dims that disagree (coil counts, map size), lambda < 0 or iterations < 1.
template <CoilBackend B = EigenFftw>
typename B::Array cg_sense(const typename B::Array& y, const typename B::Mask& mask, const typename B::Array& maps,
                           const CgSenseOptions& opt = {}, SolverStatus* status = nullptr) {
  require_maps_fit(B::dims(y), B::dims(maps));
  require(opt.lambda >= 0, "cg-sense: lambda must be >= 0");
  return cg_least_squares<B>(SenseOperator<B>(mask, maps), y, opt, status);
}

}  // namespace reconlab::solvers
