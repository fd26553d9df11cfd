#pragma once
/// @file operators.hpp
/// The operators of reconlab, each one template over an array backend B (EigenFftw here, Torch in networks/):
/// one definition serves classical solvers and network data-consistency layers alike.
///
/// Conventions: k-space is centred and the Fourier transform is the centred unitary one,
/// F x = fftshift(fft2(ifftshift(x))) / sqrt(nx ny), over the (x, y) axes of (x, y, coil, frame, batch) arrays.
#include <string>

#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/linear_operator.hpp"

namespace reconlab {

/// A backend provides the array type and a few primitives (see EigenFftw for their exact contracts).
template <class B>
concept ArrayBackend = requires(const typename B::Array& a, const typename B::Mask& m, const Dims& d) {
  typename B::Array;
  typename B::Mask;
  { B::dims(a) } -> std::convertible_to<Dims>;
  { B::mask_dims(m) } -> std::convertible_to<Dims>;
  { B::fft2c(a) } -> std::convertible_to<typename B::Array>;
  { B::ifft2c(a) } -> std::convertible_to<typename B::Array>;
  { B::multiply_mask(m, a) } -> std::convertible_to<typename B::Array>;
  { B::forward_diff(a, 0) } -> std::convertible_to<typename B::Array>;
  { B::forward_diff_adjoint(a, 0) } -> std::convertible_to<typename B::Array>;
  { B::concat_batch(a, a) } -> std::convertible_to<typename B::Array>;
  { B::split_batch(a) };
  { B::zeros(d) } -> std::convertible_to<typename B::Array>;
};

/// Centred unitary 2D Fourier transform F over (x, y); unitary, so F^H F = I and F^H = F^{-1}.
/// Domain and range: any dims (x, y, coil, frame, batch) with nx, ny >= 1; fixed in-plane size optional.
template <ArrayBackend B>
class Fft2c {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  /// In-plane size (nx, ny) the operator accepts; -1 accepts any.
  explicit Fft2c(Index nx = -1, Index ny = -1) : dims_{nx, ny, -1, -1, -1} {}
  Range apply(const Domain& x) const {
    require_dims(name(), "input", dims_, B::dims(x));
    return B::fft2c(x);
  }
  Domain adjoint(const Range& k) const {
    require_dims(name(), "k-space", dims_, B::dims(k));
    return B::ifft2c(k);
  }
  /// F^H F = I.
  Domain normal(const Domain& x) const { return x; }
  Dims domain_dims() const { return dims_; }
  Dims range_dims() const { return dims_; }
  std::string name() const { return "Fft2c"; }

 private:
  Dims dims_;
};

/// Cartesian sampling A = M F: image (x, y, coil, frame, batch) -> masked centred k-space of the same dims.
/// The mask (values 0/1, dims (nx, ny, 1, 1, 1) broadcast over coil/frame/batch, or the data's full dims) marks
/// the acquired samples; unacquired samples of the range are zero. A^H y = F^H (M y); A^H A = F^H M F (M^2 = M
/// for a binary mask; for weights the normal is F^H M^2 F and is computed so).
template <ArrayBackend B>
class CartesianSampling {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  using Mask = typename B::Mask;
  /// Throws Error if the mask has a zero in-plane size.
  explicit CartesianSampling(Mask mask) : mask_(std::move(mask)) {
    const Dims md = B::mask_dims(mask_);
    require(md[0] > 0 && md[1] > 0, "CartesianSampling: empty mask (" + dims_string(md) + ")");
    dims_ = {md[0], md[1], md[2] == 1 ? -1 : md[2], md[3] == 1 ? -1 : md[3], md[4] == 1 ? -1 : md[4]};
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "image", dims_, B::dims(x));
    return B::multiply_mask(mask_, B::fft2c(x));
  }
  Domain adjoint(const Range& y) const {
    require_dims(name(), "k-space", dims_, B::dims(y));
    return B::ifft2c(B::multiply_mask(mask_, y));
  }
  /// A^H A x = F^H M F x (the mask applied once: masks are binary; for weights, twice).
  Domain normal(const Domain& x) const { return adjoint(apply(x)); }
  const Mask& mask() const { return mask_; }
  Dims domain_dims() const { return dims_; }
  Dims range_dims() const { return dims_; }
  std::string name() const { return "CartesianSampling"; }

 private:
  Mask mask_;
  Dims dims_;
};

/// Finite-difference gradient G for (isotropic) total variation: forward differences with Neumann boundary
/// (the last difference along each axis is zero), as in Chambolle 2004 and scikit-image.
/// Domain: (x, y, coil, frame, batch). Range: the x-differences and y-differences stacked along the batch axis,
/// dims (x, y, coil, frame, 2 batch), x-differences first. G^H = -div (the divergence of Chambolle 2004, eq. 2.3).
/// ||G||^2 <= 8 in 2D.
template <ArrayBackend B>
class FiniteDifference {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  explicit FiniteDifference(Index nx = -1, Index ny = -1) : dims_{nx, ny, -1, -1, -1} {}
  Range apply(const Domain& x) const {
    require_dims(name(), "image", dims_, B::dims(x));
    return B::concat_batch(B::forward_diff(x, 0), B::forward_diff(x, 1));
  }
  Domain adjoint(const Range& g) const {
    require_dims(name(), "gradient", dims_, B::dims(g));
    const Dims d = B::dims(g);
    require(d[4] % 2 == 0, name() + ": gradient batch axis must be even (x and y halves), got " + dims_string(d));
    auto [gx, gy] = B::split_batch(g);
    return B::forward_diff_adjoint(gx, 0) + B::forward_diff_adjoint(gy, 1);
  }
  Dims domain_dims() const { return dims_; }
  Dims range_dims() const { return dims_; }
  std::string name() const { return "FiniteDifference"; }

 private:
  Dims dims_;
};

}  // namespace reconlab
