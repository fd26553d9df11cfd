#pragma once
/// @file torch_backend.hpp
/// The LibTorch array backend for reconlab's operator templates (operators.hpp): the same CartesianSampling,
/// Fft2c and FiniteDifference definitions run on torch tensors, with autograd and on any device.
///
/// Arrays are complex64 tensors of sizes (batch, frame, coil, y, x): the same bytes as reconlab::CArray with dims
/// (x, y, coil, frame, batch). Masks are float32 tensors of sizes (1, 1, 1, y, x) (broadcast) or the data's sizes.
#include <torch/torch.h>

#include <complex>

#include "reconlab/array.hpp"

namespace reconlab::networks {

/// Array backend on torch::Tensor. Contracts as EigenFftw (see reconlab/backends/eigen_fftw.hpp).
struct Torch {
  using Array = torch::Tensor;
  using Mask = torch::Tensor;
  using Scalar = cfloat;

  static constexpr const char* name() { return "Torch"; }
  /// Dims (x, y, coil, frame, batch) of a 5D tensor of sizes (batch, frame, coil, y, x).
  static Dims dims(const Array& a) {
    require(a.dim() == 5, "Torch backend: expected a 5D tensor (batch, frame, coil, y, x), got " +
                              std::to_string(a.dim()) + "D");
    return {a.size(4), a.size(3), a.size(2), a.size(1), a.size(0)};
  }
  static Dims mask_dims(const Mask& m) { return dims(m); }
  static Array zeros(const Dims& d) {
    return torch::zeros({d[4], d[3], d[2], d[1], d[0]}, torch::TensorOptions().dtype(torch::kComplexFloat));
  }
  static Array zeros_like(const Array& a) { return torch::zeros_like(a); }

  /// Centred unitary 2D DFT over (y, x): fftshift(fft2(ifftshift(x), norm="ortho")).
  static Array fft2c(const Array& x) {
    return torch::fft::fftshift(torch::fft::fft2(torch::fft::ifftshift(x, {-2, -1}), c10::nullopt, {-2, -1}, "ortho"),
                                {-2, -1});
  }
  /// Centred unitary inverse 2D DFT, the adjoint of fft2c.
  static Array ifft2c(const Array& k) {
    return torch::fft::fftshift(torch::fft::ifft2(torch::fft::ifftshift(k, {-2, -1}), c10::nullopt, {-2, -1}, "ortho"),
                                {-2, -1});
  }
  static Array multiply_mask(const Mask& m, const Array& x) { return x * m; }

  /// Coil expansion for SENSE (contract as EigenFftw::coil_expand): maps of sizes (1, 1, coils, y, x) times an
  /// image of sizes (batch, frame, 1, y, x) -> (batch, frame, coils, y, x).
  static Array coil_expand(const Array& maps, const Array& img) { return img * maps; }
  /// Coil combination sum_c conj(maps) * coils over the coil axis (dim 2), kept: (batch, frame, 1, y, x).
  static Array coil_combine(const Array& maps, const Array& coils) {
    return (torch::conj(maps) * coils).sum(2, /*keepdim=*/true);
  }

  /// Forward difference along axis 0 (x, tensor dim -1) or 1 (y, dim -2), Neumann: zero at the last index.
  static Array forward_diff(const Array& a, int axis) {
    const int64_t dim = axis == 0 ? -1 : -2;
    const int64_t n = a.size(dim);
    if (n < 2) return torch::zeros_like(a);
    auto d = a.narrow(dim, 1, n - 1) - a.narrow(dim, 0, n - 1);
    return torch::cat({d, torch::zeros_like(a.narrow(dim, 0, 1))}, dim);
  }
  /// Adjoint of forward_diff: out[i] = g[i-1] - g[i], with g[-1] = 0 and g[n-1] taken as 0.
  static Array forward_diff_adjoint(const Array& g, int axis) {
    const int64_t dim = axis == 0 ? -1 : -2;
    const int64_t n = g.size(dim);
    auto zero = torch::zeros_like(g.narrow(dim, 0, 1));
    if (n < 2) return torch::zeros_like(g);
    auto gz = torch::cat({g.narrow(dim, 0, n - 1), zero}, dim);
    auto prev = torch::cat({zero, g.narrow(dim, 0, n - 1)}, dim);
    return prev - gz;
  }
  static Array concat_batch(const Array& a, const Array& b) { return torch::cat({a, b}, 0); }
  static std::pair<Array, Array> split_batch(const Array& a) {
    auto parts = a.chunk(2, 0);
    return {parts[0], parts[1]};
  }
  /// <a, b> = sum conj(a) b, in double precision.
  static std::complex<double> dot(const Array& a, const Array& b) {
    auto s = (torch::conj(a).to(torch::kComplexDouble) * b.to(torch::kComplexDouble)).sum();
    auto c = s.item<c10::complex<double>>();
    return {c.real(), c.imag()};
  }
  static double norm(const Array& a) { return std::sqrt(std::max(0.0, dot(a, a).real())); }
  static Array axpy(cfloat alpha, const Array& x, const Array& y) {
    return x * c10::complex<float>(alpha.real(), alpha.imag()) + y;
  }

  /// Copy of an Eigen CArray as a complex64 tensor (batch, frame, coil, y, x).
  static Array from_eigen(const CArray& a) {
    return torch::from_blob(const_cast<cfloat*>(a.data()), {a.dimension(4), a.dimension(3), a.dimension(2),
                                                            a.dimension(1), a.dimension(0)},
                            torch::kComplexFloat)
        .clone();
  }
  /// Copy of an Eigen RArray (a mask or magnitude image) as a float32 tensor (batch, frame, coil, y, x).
  static Mask from_eigen(const RArray& a) {
    return torch::from_blob(const_cast<float*>(a.data()), {a.dimension(4), a.dimension(3), a.dimension(2),
                                                          a.dimension(1), a.dimension(0)},
                            torch::kFloat)
        .clone();
  }
  /// Copy of a complex 5D tensor (any device) as an Eigen CArray.
  static CArray to_eigen(const Array& t) {
    const Dims d = dims(t);
    auto c = t.detach().to(torch::kCPU).to(torch::kComplexFloat).contiguous();
    CArray out(d[0], d[1], d[2], d[3], d[4]);
    std::memcpy(out.data(), c.data_ptr(), sizeof(cfloat) * out.size());
    return out;
  }
  /// Copy of a real 5D tensor as an Eigen RArray.
  static RArray to_eigen_real(const torch::Tensor& t) {
    const Dims d = dims(t);
    auto c = t.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
    RArray out(d[0], d[1], d[2], d[3], d[4]);
    std::memcpy(out.data(), c.data_ptr(), sizeof(float) * out.size());
    return out;
  }
};

}  // namespace reconlab::networks
