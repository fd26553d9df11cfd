#pragma once
/// @file lowrank_sparse.hpp
/// L+S: low-rank plus sparse reconstruction of dynamic MRI.
///
/// Method: R. Otazo, E. Candès, D. K. Sodickson, "Low-rank plus sparse matrix decomposition for accelerated
/// dynamic MRI with separation of background and dynamic components", Magn. Reson. Med. 73 (2015) 1125-1136.
/// The frames are the columns of the Casorati matrix M (pixels x frames); M = L + S with L low rank (the
/// background) and S sparse in the temporal Fourier domain T (the dynamics). Their eq. (2) (with eq. (1), the
/// noiseless decomposition, relaxed to data consistency):
///     min_{L,S} 0.5 ||E (L + S) - d||_2^2 + lambda_L ||L||_* + lambda_S ||T S||_1,
/// solved by their Algorithm 1 (iterative soft thresholding), from M_0 = E^H d, S_0 = 0, L_{-1} = M_0:
///     L_k = SVT_{lambda_L}(M_{k-1} - S_{k-1})                      (singular value thresholding)
///     S_k = T^{-1} Lambda_{lambda_S}(T (M_{k-1} - L_{k-1}))          (complex soft thresholding in x-f space)
///     M_k = L_k + S_k - t E^H (E (L_k + S_k) - d)                  (data consistency gradient step)
/// with SVT_tau(X) = U max(Sigma - tau, 0) V^H and Lambda_tau(z) = z max(0, 1 - tau / |z|). The paper uses
/// t = 1 (||E|| <= 1 for M F with a 0/1 mask and M F S with normalised maps); here t = 1 / b with b the bound
/// max mask^2 x max over pixels of sum_c |s_c|^2 of ||E||^2 when that exceeds 1, so that unnormalised maps stay
/// stable. E = forward_model<EigenFftw>(acq): M F single-coil, M F S with maps, per-frame masks.
/// T: the centred unitary DFT along frames (operators.hpp TemporalFft).
///
/// Scale (so one lambda serves data of any units): the k-space is divided by the maximum magnitude of the
/// zero-filled image E^H d (as CsTvReconstructor does), so lambda_S is relative to that maximum; lambda_L is
/// relative to the largest singular value of the initial Casorati matrix M_0 (the authors' code thresholds at
/// lambda_L times the current largest singular value; a fixed threshold keeps the iteration a fixed-point
/// iteration of one problem). The result is scaled back to the units of E^H d.
/// Stop: ||(L+S)_k - (L+S)_{k-1}|| <= tolerance ||(L+S)_{k-1}|| (the authors' code uses 2.5e-3), or
/// max_iterations.
#include <cmath>
#include <string>

#include <Eigen/Dense>
#include <Eigen/SVD>

#include "reconlab/forward_model.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/common.hpp"
#include "reconlab/solvers/cs_tv.hpp"  // max_coil_power

namespace reconlab::solvers {

/// Options of L+S.
struct LowRankSparseOptions {
  double lambda_l = 0.01;    ///< nuclear-norm threshold, relative to the largest singular value of M_0, >= 0
  double lambda_s = 0.01;    ///< x-f soft threshold, relative to max |E^H d| (the scaled problem's units), >= 0
  int max_iterations = 100;  ///< cap >= 1
  double tolerance = 1e-3;   ///< relative change of L + S that stops the iteration; 0 runs all iterations
};

/// Singular value thresholding of the Casorati matrix of `x` (dims (nx, ny, 1, frames, 1): the frames, each a
/// column of nx * ny pixels, x fastest; the layout is already column-major pixels x frames):
/// U max(Sigma - tau, 0) V^H (Cai, Candès, Shen, SIAM J. Optim. 20 (2010) 1956, Theorem 2.1), by Eigen's
/// BDCSVD on the thin factors. Returns the same dims. `sigma_max` (optional) receives the largest singular value.
inline CArray singular_value_threshold(const CArray& x, double tau, double* sigma_max = nullptr) {
  const Dims d = dims_of(x);
  require(d[2] == 1 && d[4] == 1, "singular_value_threshold: expects (nx, ny, 1, frames, 1), got " + dims_string(d));
  const Index rows = d[0] * d[1], cols = d[3];
  Eigen::Map<const Eigen::MatrixXcf> C(x.data(), rows, cols);
  Eigen::BDCSVD<Eigen::MatrixXcf> svd(C, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXf s = svd.singularValues();
  if (sigma_max) *sigma_max = s.size() ? double(s(0)) : 0.0;
  Eigen::VectorXf sh = (s.array() - float(tau)).max(0.0f).matrix();
  Index keep = 0;
  while (keep < sh.size() && sh(keep) > 0) ++keep;
  CArray out(x.dimensions());
  Eigen::Map<Eigen::MatrixXcf> L(out.data(), rows, cols);
  if (keep == 0) {
    L.setZero();
    return out;
  }
  L.noalias() = svd.matrixU().leftCols(keep) * sh.head(keep).cast<cfloat>().asDiagonal() *
                svd.matrixV().leftCols(keep).adjoint();
  return out;
}

/// The largest singular value of the Casorati matrix of `x` (dims (nx, ny, 1, frames, 1)), by BDCSVD (values only).
inline double largest_singular_value(const CArray& x) {
  const Dims d = dims_of(x);
  require(d[2] == 1 && d[4] == 1, "largest_singular_value: expects (nx, ny, 1, frames, 1), got " + dims_string(d));
  Eigen::Map<const Eigen::MatrixXcf> C(x.data(), d[0] * d[1], d[3]);
  Eigen::BDCSVD<Eigen::MatrixXcf> svd(C);
  return svd.singularValues().size() ? double(svd.singularValues()(0)) : 0.0;
}

/// Complex soft thresholding z -> z max(0, 1 - tau / |z|), elementwise.
inline CArray complex_soft_threshold(CArray z, float tau) {
  for (Index i = 0; i < z.size(); ++i) {
    cfloat& v = z.data()[i];
    const float a = std::abs(v);
    v = a > tau ? v * (1.0f - tau / a) : cfloat(0);
  }
  return z;
}

/// The outcome of lowrank_sparse: L and S in the scaled units of E^H d (the Reconstructor scales them back).
struct LowRankSparseResult {
  CArray low_rank;  ///< L, dims (nx, ny, 1, frames, 1)
  CArray sparse;    ///< S, same dims
};

/// Otazo et al.'s Algorithm 1 (this file's header) for forward model `E` (image (nx, ny, 1, frames, 1) ->
/// k-space) and k-space `d` in E's range; `tau_l`, `tau_s` are the absolute thresholds, `step` the data
/// consistency step t (<= 1 / ||E||^2). `status->objective` holds the relative change per iteration.
/// Throws Error on negative or non-finite thresholds, max_iterations < 1, step <= 0, non-finite k-space.
template <LinearOperator Op>
LowRankSparseResult lowrank_sparse(const Op& E, const CArray& d, double tau_l, double tau_s, double step,
                                   int max_iterations, double tolerance, SolverStatus* status = nullptr) {
  require(tau_l >= 0 && std::isfinite(tau_l) && tau_s >= 0 && std::isfinite(tau_s),
          "l+s: thresholds must be finite and >= 0");
  require(max_iterations >= 1, "l+s: max_iterations must be >= 1");
  require(step > 0 && std::isfinite(step), "l+s: the step must be > 0");
  require_finite(d, "l+s k-space");
  const TemporalFft<EigenFftw> T;
  CArray M = E.adjoint(d);
  CArray S = EigenFftw::zeros_like(M);
  CArray L_prev = M;
  CArray LS_prev = M;
  SolverStatus st;
  for (int k = 1; k <= max_iterations; ++k) {
    CArray L = singular_value_threshold(M - S, tau_l);
    S = T.adjoint(complex_soft_threshold(T.apply(M - L_prev), float(tau_s)));
    CArray LS = L + S;
    const CArray r = E.apply(LS) - d;
    M = LS - E.adjoint(r) * cfloat(float(step));
    const double change = EigenFftw::norm(LS - LS_prev) / std::max(EigenFftw::norm(LS_prev), 1e-30);
    st.objective.push_back(change);
    st.iterations = k;
    L_prev = std::move(L);
    LS_prev = std::move(LS);
    if (tolerance > 0 && change <= tolerance) {
      st.converged = true;
      break;
    }
  }
  if (status) *status = st;
  return {std::move(L_prev), std::move(S)};
}

/// L+S as a Reconstructor (name "l+s"): single-coil (M F) or multi-coil with sensitivity maps (M F S), any number
/// of frames (>= 2 for a meaningful low-rank part), per-frame masks or one plane. Output dims (nx, ny, 1,
/// frames, 1) = L + S in the units of E^H d. Scale and stop as in this file's header.
/// Throws Error for an invalid acquisition, a trajectory, multi-coil k-space without sensitivity maps, a mask
/// per coil, and bad options.
class LowRankSparseReconstructor : public Reconstructor {
 public:
  explicit LowRankSparseReconstructor(LowRankSparseOptions opt) : opt_(opt) {
    require(opt.lambda_l >= 0 && std::isfinite(opt.lambda_l), "l+s: lambda_l must be >= 0");
    require(opt.lambda_s >= 0 && std::isfinite(opt.lambda_s), "l+s: lambda_s must be >= 0");
    require(opt.max_iterations >= 1, "l+s: max_iterations must be >= 1");
    require(opt.tolerance >= 0, "l+s: tolerance must be >= 0");
  }
  std::string name() const override { return "l+s"; }
  nlohmann::json parameters() const override {
    return {{"lambda_l", opt_.lambda_l},
            {"lambda_s", opt_.lambda_s},
            {"max_iterations", opt_.max_iterations},
            {"tolerance", opt_.tolerance},
            {"scale", "k-space divided by the zero-filled image's maximum magnitude; lambda_l relative to the "
                      "largest singular value of the initial Casorati matrix"},
            {"solver", "Otazo, Candes, Sodickson, MRM 73 (2015) 1125, Algorithm 1; stop on relative change of L+S"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    require(acq.coils() == 1 || acq.sensitivities.has_value(),
            "l+s: multi-coil k-space (" + std::to_string(acq.coils()) +
                " coils) needs sensitivity maps (estimate them first, e.g. --estimate-maps)");
    const RArray& m = acq.mask();
    require(m.dimension(2) == 1, "l+s: the mask must be shared by all coils, got " + dims_string(dims_of(m)));
    const auto E = forward_model<EigenFftw>(acq);
    const CArray zf = E.adjoint(acq.kspace);
    Eigen::Tensor<float, 0> mx = zf.abs().maximum();
    const float scale = mx() > 0 ? mx() : 1.0f;
    const CArray d = EigenFftw::multiply_mask(m, acq.kspace) * cfloat(1.0f / scale);
    // ||E||^2 <= max mask^2 x max_pixels sum_c |s_c|^2 (F unitary; S pointwise).
    Eigen::Tensor<float, 0> mmax = m.maximum();
    const double smax = acq.sensitivities ? max_coil_power(*acq.sensitivities) : 1.0;
    const double bound = double(mmax()) * double(mmax()) * smax;
    const double step = bound > 1.0 ? 1.0 / bound : 1.0;
    const double sigma0 = largest_singular_value(zf * cfloat(1.0f / scale));
    const LowRankSparseResult r = lowrank_sparse(E, d, opt_.lambda_l * sigma0, opt_.lambda_s, step,
                                                 opt_.max_iterations, opt_.tolerance, &status_);
    CArray out = (r.low_rank + r.sparse) * cfloat(scale);
    return out;
  }
  const SolverStatus& status() const { return status_; }

 private:
  LowRankSparseOptions opt_;
  SolverStatus status_;
};

}  // namespace reconlab::solvers
