#pragma once
/// @file operators.hpp
/// The operators of reconlab, each one template over an array backend B (EigenFftw here, Torch in networks/):
/// one definition serves classical solvers and network data-consistency layers alike.
///
/// Conventions: k-space is centred and the Fourier transform is the centred unitary one,
/// F x = fftshift(fft2(ifftshift(x))) / sqrt(nx ny), over the (x, y) axes of (x, y, coil, frame, batch) arrays.
#include <complex>
#include <string>
#include <vector>

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
  { B::blend(m, a, a) } -> std::convertible_to<typename B::Array>;
  { B::forward_diff(a, 0) } -> std::convertible_to<typename B::Array>;
  { B::forward_diff_adjoint(a, 0) } -> std::convertible_to<typename B::Array>;
  { B::fftc_axis(a, 3) } -> std::convertible_to<typename B::Array>;
  { B::ifftc_axis(a, 3) } -> std::convertible_to<typename B::Array>;
  { B::resize_xy(a, Index(1), Index(1)) } -> std::convertible_to<typename B::Array>;
  { B::zeros(d) } -> std::convertible_to<typename B::Array>;
  { B::zeros_like(a) } -> std::convertible_to<typename B::Array>;
  { B::dot_batch(a, a) } -> std::convertible_to<typename B::Scalars>;
  { B::scale_add(B::dot_batch(a, a), a, a) } -> std::convertible_to<typename B::Array>;
  { B::divide(B::dot_batch(a, a), B::dot_batch(a, a)) } -> std::convertible_to<typename B::Scalars>;
  { B::to_host(B::dot_batch(a, a)) } -> std::convertible_to<std::vector<std::complex<double>>>;
  { B::negate(B::dot_batch(a, a)) } -> std::convertible_to<typename B::Scalars>;
  { B::keep_above(B::dot_batch(a, a), B::dot_batch(a, a), B::dot_batch(a, a)) } -> std::convertible_to<typename B::Scalars>;
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
  /// apply() into a caller-owned array, for solvers' hot loops: `k` is resized to x's dims if they differ and
  /// overwritten; it must not alias `x`. No allocation after the first call on the CPU backend (plans and the
  /// output reused; the benchmark fft_bench compares it with a raw FFTW plan). Backends without an into form
  /// assign apply()'s result. Throws Error as apply() does, and when k aliases x.
  void apply_into(const Domain& x, Range& k) const {
    require_dims(name(), "input", dims_, B::dims(x));
    if constexpr (requires { B::fft2c_into(x, k); }) B::fft2c_into(x, k);
    else k = B::fft2c(x);
  }
  /// adjoint() into a caller-owned array; see apply_into.
  void adjoint_into(const Range& k, Domain& x) const {
    require_dims(name(), "k-space", dims_, B::dims(k));
    if constexpr (requires { B::ifft2c_into(k, x); }) B::ifft2c_into(k, x);
    else x = B::ifft2c(k);
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
/// The mask (dims (nx, ny, c, f, b), each of c, f, b either 1, broadcast, or the data's size: one plane, one per
/// frame for k-t sampling, one per sample) marks the acquired samples with 1, or holds sampling weights in [0, 1];
/// unacquired samples of the range are zero. A^H y = F^H (M y); A^H A = F^H M^2 F (= F^H M F for a 0/1 mask).
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
  /// apply() into a caller-owned array (resized to x's dims if they differ; must not alias x): no allocation on
  /// the CPU backend (fft2c_into, then the mask in place); other backends assign apply()'s result.
  void apply_into(const Domain& x, Range& k) const {
    require_dims(name(), "image", dims_, B::dims(x));
    if constexpr (requires { B::fft2c_into(x, k); B::multiply_mask_into(mask_, k, k); }) {
      B::fft2c_into(x, k);
      B::multiply_mask_into(mask_, k, k);
    } else {
      k = apply(x);
    }
  }
  /// adjoint() into a caller-owned array (resized; must not alias y): the masked copy, then the inverse FFT in
  /// place on the CPU backend; other backends assign adjoint()'s result.
  void adjoint_into(const Range& y, Domain& x) const {
    require_dims(name(), "k-space", dims_, B::dims(y));
    if constexpr (requires { B::multiply_mask_into(mask_, y, x); B::ifft2c_inplace(x); }) {
      require(y.size() == 0 || y.data() != x.data(), name() + ": adjoint_into's output must not alias its input");
      B::multiply_mask_into(mask_, y, x);
      B::ifft2c_inplace(x);
    } else {
      x = adjoint(y);
    }
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

/// Finite differences G along a list of axes, for total variation: G x = (D_a1 x, D_a2 x, ...), each D_a the
/// forward difference along axis a with Neumann boundary (the last difference along the axis is zero), as in
/// Chambolle 2004 and scikit-image. Axes: 0 = x, 1 = y, 3 = frame (temporal TV of dynamic MRI); any of 0..4.
/// Domain: (x, y, coil, frame, batch). Range: a std::vector of one array per axis, each of the domain's dims (a
/// block array: SigPy's Vstack / SCICO's BlockArray), so TV over x, y and t is three components.
/// G^H g = sum_a D_a^H g_a = -div g (Chambolle 2004, eq. 2.3). ||G||^2 <= 4 x (number of axes).
/// Throws Error for an axis outside 0..4, an empty or repeated axis list, or a range of the wrong length.
template <ArrayBackend B>
class FiniteDifference {
 public:
  using Domain = typename B::Array;
  using Range = std::vector<typename B::Array>;
  /// `axes`: the axes to difference (default x and y); nx, ny: in-plane size accepted (-1 = any).
  explicit FiniteDifference(std::vector<int> axes = {0, 1}, Index nx = -1, Index ny = -1)
      : axes_(std::move(axes)), dims_{nx, ny, -1, -1, -1} {
    require(!axes_.empty(), "FiniteDifference: no axes given");
    for (std::size_t i = 0; i < axes_.size(); ++i) {
      require(axes_[i] >= 0 && axes_[i] < 5, "FiniteDifference: axis must be in 0..4 (x, y, coil, frame, batch), "
                                             "got " + std::to_string(axes_[i]));
      for (std::size_t j = 0; j < i; ++j)
        require(axes_[i] != axes_[j], "FiniteDifference: axis " + std::to_string(axes_[i]) + " given twice");
    }
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "image", dims_, B::dims(x));
    Range g;
    g.reserve(axes_.size());
    for (int a : axes_) g.push_back(B::forward_diff(x, a));
    return g;
  }
  Domain adjoint(const Range& g) const {
    require(g.size() == axes_.size(), name() + ": gradient has " + std::to_string(g.size()) +
                                          " components, expected " + std::to_string(axes_.size()));
    Domain out = B::forward_diff_adjoint(g[0], axes_[0]);
    for (std::size_t i = 1; i < axes_.size(); ++i) out = out + B::forward_diff_adjoint(g[i], axes_[i]);
    return out;
  }
  /// apply() into a caller-owned block array (one component per axis, each resized to x's dims if needed; none
  /// may alias x): no allocation on the CPU backend (forward_diff_into); others assign apply()'s result.
  void apply_into(const Domain& x, Range& g) const {
    if constexpr (requires { B::forward_diff_into(x, 0, g[0]); }) {
      require_dims(name(), "image", dims_, B::dims(x));
      g.resize(axes_.size());
      for (std::size_t i = 0; i < axes_.size(); ++i) B::forward_diff_into(x, axes_[i], g[i]);
    } else {
      g = apply(x);
    }
  }
  /// adjoint() into a caller-owned array (resized to the components' dims).
  void adjoint_into(const Range& g, Domain& out) const { adjoint_accumulate(g, out, false); }
  /// out += G^H g (out has the components' dims): the TV block of K^H [y; g] without a temporary.
  void adjoint_add_into(const Range& g, Domain& out) const { adjoint_accumulate(g, out, true); }
  /// The differenced axes, in the order of the range's components.
  const std::vector<int>& axes() const { return axes_; }
  /// Upper bound of ||G||^2: 4 per axis.
  double norm_squared_bound() const { return 4.0 * double(axes_.size()); }
  Dims domain_dims() const { return dims_; }
  /// The dims of each component of the range (those of the domain).
  Dims range_dims() const { return dims_; }
  std::string name() const {
    static const char* n[5] = {"x", "y", "coil", "t", "batch"};
    std::string s = "FiniteDifference(";
    for (std::size_t i = 0; i < axes_.size(); ++i) s += (i ? "," : "") + std::string(n[axes_[i]]);
    return s + ")";
  }

 private:
  void adjoint_accumulate(const Range& g, Domain& out, bool accumulate) const {
    require(g.size() == axes_.size(), name() + ": gradient has " + std::to_string(g.size()) +
                                          " components, expected " + std::to_string(axes_.size()));
    if constexpr (requires { B::forward_diff_adjoint_into(g[0], 0, out, accumulate); }) {
      for (std::size_t i = 0; i < axes_.size(); ++i) {
        require(B::dims(g[i]) == B::dims(g[0]), name() + ": gradient components differ in dims");
        B::forward_diff_adjoint_into(g[i], axes_[i], out, accumulate || i > 0);
      }
    } else {
      out = accumulate ? Domain(out + adjoint(g)) : adjoint(g);
    }
  }
  std::vector<int> axes_;
  Dims dims_;
};

/// Centred unitary 1D Fourier transform along the frame axis (x-f space of dynamic MRI; the temporal transform
/// of L+S and k-t methods): F_t x = fftshift(fft(ifftshift(x))) / sqrt(frames) along axis 3. Unitary.
template <ArrayBackend B>
class TemporalFft {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  Range apply(const Domain& x) const { return B::fftc_axis(x, 3); }
  Domain adjoint(const Range& y) const { return B::ifftc_axis(y, 3); }
  Domain normal(const Domain& x) const { return x; }
  Dims domain_dims() const { return {-1, -1, -1, -1, -1}; }
  Dims range_dims() const { return {-1, -1, -1, -1, -1}; }
  std::string name() const { return "TemporalFft"; }
};

/// Zero padding P of every (x, y) plane from (nx, ny) to the larger (px, py), centred (BART resize -c): the
/// oversampled grid of a NUFFT, or a high-resolution image seen from a low-resolution k-space. The adjoint is the
/// centre crop back; P^H P = I. Throws Error unless px >= nx and py >= ny, all > 0.
template <ArrayBackend B>
class ZeroPad {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  ZeroPad(Index nx, Index ny, Index px, Index py) : in_{nx, ny, -1, -1, -1}, out_{px, py, -1, -1, -1} {
    require(nx > 0 && ny > 0 && px >= nx && py >= ny,
            "ZeroPad: need 0 < (nx, ny) <= (px, py), got " + std::to_string(nx) + " x " + std::to_string(ny) +
                " -> " + std::to_string(px) + " x " + std::to_string(py));
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "image", in_, B::dims(x));
    return B::resize_xy(x, out_[0], out_[1]);
  }
  Domain adjoint(const Range& y) const {
    require_dims(name(), "padded image", out_, B::dims(y));
    return B::resize_xy(y, in_[0], in_[1]);
  }
  Domain normal(const Domain& x) const { return x; }
  Dims domain_dims() const { return in_; }
  Dims range_dims() const { return out_; }
  std::string name() const { return "ZeroPad"; }

 private:
  Dims in_, out_;
};

}  // namespace reconlab
