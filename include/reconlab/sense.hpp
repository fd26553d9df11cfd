#pragma once
/// @file sense.hpp
/// The coil dimension: the SENSE coil-sensitivity operator S, the multi-coil forward model A = M F S (built from
/// the same CartesianSampling operator as single-coil data, on either backend), and root-sum-of-squares.
///
/// Method: K. P. Pruessmann, M. Weiger, M. B. Scheidegger, P. Boesiger, "SENSE: sensitivity encoding for fast
/// MRI", Magn. Reson. Med. 42 (1999) 952-962, eq. (1)-(4) (encoding = coil sensitivity times Fourier encoding);
/// K. P. Pruessmann et al., "Advances in sensitivity encoding with arbitrary k-space trajectories", MRM 46 (2001)
/// 638-651 (CG-SENSE: CG on the normal equations A^H A x = A^H y).
///
/// Layout: images have one coil, dims (nx, ny, 1, frames, batch); coil images and multi-coil k-space have dims
/// (nx, ny, coils, frames, batch); sensitivity maps have dims (nx, ny, coils, 1, 1) and are shared by every frame
/// and batch entry. k-space is centred, F the centred unitary 2D FFT (operators.hpp).
#include <cmath>
#include <string>

#include "reconlab/operators.hpp"

namespace reconlab {

/// A backend with the two coil primitives SENSE needs (EigenFftw and networks::Torch both have them):
/// coil_expand(maps, img) = maps * img broadcast over coils, coil_combine(maps, coils) = sum_c conj(maps) coils.
template <class B>
concept CoilBackend = ArrayBackend<B> && requires(const typename B::Array& a) {
  { B::coil_expand(a, a) } -> std::convertible_to<typename B::Array>;
  { B::coil_combine(a, a) } -> std::convertible_to<typename B::Array>;
};

/// Coil sensitivity operator S: image (nx, ny, 1, f, b) -> coil images (nx, ny, c, f, b), (S x)_c = s_c x.
/// S^H y = sum_c conj(s_c) y_c (coil combination); S^H S x = (sum_c |s_c|^2) x. Maps normalised as ESPIRiT or
/// RSS-divided maps (sum_c |s_c|^2 = 1 inside the object, 0 outside) make S an isometry on the support.
/// Pruessmann et al. 1999, eq. (1).
template <CoilBackend B>
class CoilSensitivity {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  /// `maps`: dims (nx, ny, coils, 1, 1), coils >= 1. Throws Error on other dims.
  explicit CoilSensitivity(typename B::Array maps) : maps_(std::move(maps)) {
    const Dims d = B::dims(maps_);
    require(d[0] > 0 && d[1] > 0 && d[2] >= 1 && d[3] == 1 && d[4] == 1,
            "CoilSensitivity: sensitivity maps must have dims (nx, ny, coils, 1, 1), got " + dims_string(d));
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "image", domain_dims(), B::dims(x));
    return B::coil_expand(maps_, x);
  }
  Domain adjoint(const Range& y) const {
    require_dims(name(), "coil images", range_dims(), B::dims(y));
    return B::coil_combine(maps_, y);
  }
  /// Number of coils.
  Index coils() const { return B::dims(maps_)[2]; }
  const typename B::Array& maps() const { return maps_; }
  Dims domain_dims() const {
    const Dims d = B::dims(maps_);
    return {d[0], d[1], 1, -1, -1};
  }
  Dims range_dims() const {
    const Dims d = B::dims(maps_);
    return {d[0], d[1], d[2], -1, -1};
  }
  std::string name() const { return "CoilSensitivity"; }

 private:
  typename B::Array maps_;
};

/// The multi-coil Cartesian forward model A = M F S: image (nx, ny, 1, f, b) -> multi-coil k-space
/// (nx, ny, c, f, b), zero where not acquired. Built from the single-coil CartesianSampling (M F, the mask
/// broadcast over coils) and CoilSensitivity; A^H y = S^H F^H M y; normal A^H A x = S^H (F^H M F) (S x), with the
/// Cartesian operator's own normal. Pruessmann et al. 2001, eq. (8).
template <CoilBackend B>
class SenseOperator {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  /// `mask`: (nx, ny, 1, 1, 1), 0/1; `maps`: (nx, ny, coils, 1, 1). Throws Error when the in-plane sizes differ.
  SenseOperator(typename B::Mask mask, typename B::Array maps) : M_(std::move(mask)), S_(std::move(maps)) {
    const Dims md = B::mask_dims(M_.mask()), sd = B::dims(S_.maps());
    require(md[0] == sd[0] && md[1] == sd[1],
            "SenseOperator: mask dims " + dims_string(md) + " and sensitivity map dims " + dims_string(sd) +
                " disagree in-plane");
    require(md[2] == 1, "SenseOperator: the mask must be shared by all coils (dims (nx, ny, 1, .., ..)), got " +
                            dims_string(md));
  }
  Range apply(const Domain& x) const { return M_.apply(S_.apply(x)); }
  Domain adjoint(const Range& y) const { return S_.adjoint(M_.adjoint(y)); }
  Domain normal(const Domain& x) const { return S_.adjoint(M_.normal(S_.apply(x))); }
  const CartesianSampling<B>& sampling() const { return M_; }
  const CoilSensitivity<B>& sensitivity() const { return S_; }
  Dims domain_dims() const { return S_.domain_dims(); }
  Dims range_dims() const { return S_.range_dims(); }
  std::string name() const { return "SenseOperator(M F S)"; }

 private:
  CartesianSampling<B> M_;
  CoilSensitivity<B> S_;
};

/// Root-sum-of-squares coil combination sqrt(sum_c |x_c|^2) of coil images (nx, ny, c, f, b) -> (nx, ny, 1, f, b)
/// (Roemer et al., "The NMR phased array", MRM 16 (1990) 192-225, eq. (19) without noise weighting).
inline RArray rss(const CArray& coil_images) {
  const Dims d = dims_of(coil_images);
  const Index plane = d[0] * d[1], nc = d[2], outer = d[3] * d[4];
  RArray out(d[0], d[1], 1, d[3], d[4]);
  out.setZero();
  const cfloat* p = coil_images.data();
  float* o = out.data();
  for (Index k = 0; k < outer; ++k) {
    for (Index c = 0; c < nc; ++c)
      for (Index i = 0; i < plane; ++i) o[k * plane + i] += std::norm(p[(k * nc + c) * plane + i]);
    for (Index i = 0; i < plane; ++i) o[k * plane + i] = std::sqrt(o[k * plane + i]);
  }
  return out;
}

/// Throws Error unless `maps` (dims (nx, ny, coils, 1, 1)) fits multi-coil k-space of dims `kspace_dims`: same
/// nx, ny and coil count. The message names both shapes.
inline void require_maps_fit(const Dims& kspace_dims, const Dims& maps_dims) {
  require(maps_dims[3] == 1 && maps_dims[4] == 1,
          "sensitivity maps must have dims (nx, ny, coils, 1, 1), got " + dims_string(maps_dims));
  require(maps_dims[0] == kspace_dims[0] && maps_dims[1] == kspace_dims[1],
          "sensitivity maps of in-plane size " + std::to_string(maps_dims[0]) + " x " + std::to_string(maps_dims[1]) +
              " do not match k-space of size " + std::to_string(kspace_dims[0]) + " x " +
              std::to_string(kspace_dims[1]) + " (maps " + dims_string(maps_dims) + ", k-space " +
              dims_string(kspace_dims) + ")");
  require(maps_dims[2] == kspace_dims[2],
          "coil counts disagree: k-space has " + std::to_string(kspace_dims[2]) + " coils, sensitivity maps have " +
              std::to_string(maps_dims[2]));
}

}  // namespace reconlab
