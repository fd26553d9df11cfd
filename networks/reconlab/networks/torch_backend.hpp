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
#include "reconlab/backends/eigen_fftw.hpp"

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
  /// Complex64 zeros of dims d on `device` (default CPU); generic code that has an input uses zeros_like, which
  /// keeps the input's device.
  static Array zeros(const Dims& d, torch::Device device = torch::kCPU) {
    return torch::zeros({d[4], d[3], d[2], d[1], d[0]},
                        torch::TensorOptions().dtype(torch::kComplexFloat).device(device));
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
  /// mask * x with the mask broadcast over coil, frame and batch where it has size 1 (contract and checks as
  /// EigenFftw::multiply_mask, reconlab::require_broadcastable). Throws Error when the dims do not broadcast.
  static Array multiply_mask(const Mask& m, const Array& x) {
    require_broadcastable(dims(m), dims(x), "multiply_mask: mask");
    return x * m;
  }
  /// m * a + (1 - m) * b (contract as EigenFftw::blend), differentiable in m, a and b.
  static Array blend(const Mask& m, const Array& a, const Array& b) {
    require(a.sizes() == b.sizes(), "blend: a and b differ in shape");
    require_broadcastable(dims(m), dims(a), "blend: mask");
    return m * a + (1 - m) * b;
  }

  /// Coil expansion for SENSE (contract as EigenFftw::coil_expand): maps of sizes (1, 1, coils, y, x) times an
  /// image of sizes (batch, frame, 1, y, x) -> (batch, frame, coils, y, x).
  static Array coil_expand(const Array& maps, const Array& img) { return img * maps; }
  /// Coil combination sum_c conj(maps) * coils over the coil axis (dim 2), kept: (batch, frame, 1, y, x).
  static Array coil_combine(const Array& maps, const Array& coils) {
    return (torch::conj(maps) * coils).sum(2, /*keepdim=*/true);
  }

  /// Forward difference along `axis` (0 = x ... 4 = batch; tensor dim 4 - axis), Neumann: zero at the last
  /// index. Throws Error for an axis outside 0..4.
  static Array forward_diff(const Array& a, int axis) {
    const int64_t dim = tensor_dim(axis, "forward_diff");
    const int64_t n = a.size(dim);
    if (n < 2) return torch::zeros_like(a);
    auto d = a.narrow(dim, 1, n - 1) - a.narrow(dim, 0, n - 1);
    return torch::cat({d, torch::zeros_like(a.narrow(dim, 0, 1))}, dim);
  }
  /// Adjoint of forward_diff: out[i] = g[i-1] - g[i], with g[-1] = 0 and g[n-1] taken as 0.
  static Array forward_diff_adjoint(const Array& g, int axis) {
    const int64_t dim = tensor_dim(axis, "forward_diff_adjoint");
    const int64_t n = g.size(dim);
    auto zero = torch::zeros_like(g.narrow(dim, 0, 1));
    if (n < 2) return torch::zeros_like(g);
    auto gz = torch::cat({g.narrow(dim, 0, n - 1), zero}, dim);
    auto prev = torch::cat({zero, g.narrow(dim, 0, n - 1)}, dim);
    return prev - gz;
  }
  /// Centred unitary 1D DFT along `axis` (contract as EigenFftw::fftc_axis).
  static Array fftc_axis(const Array& a, int axis) {
    const int64_t dim = tensor_dim(axis, "fftc_axis");
    return torch::fft::fftshift(torch::fft::fft(torch::fft::ifftshift(a, {dim}), c10::nullopt, dim, "ortho"), {dim});
  }
  /// Centred unitary inverse 1D DFT along `axis`, the adjoint of fftc_axis.
  static Array ifftc_axis(const Array& a, int axis) {
    const int64_t dim = tensor_dim(axis, "ifftc_axis");
    return torch::fft::fftshift(torch::fft::ifft(torch::fft::ifftshift(a, {dim}), c10::nullopt, dim, "ortho"), {dim});
  }
  /// Centre crop / zero-pad of the (x, y) planes to nx x ny (contract as EigenFftw::resize_xy).
  static Array resize_xy(const Array& a, Index nx, Index ny) {
    require(nx > 0 && ny > 0, "resize_xy: target size must be positive");
    auto out = a;
    for (auto [dim, n] : {std::pair<int64_t, Index>{-1, nx}, {-2, ny}}) {
      const Index in = out.size(dim);
      const Index off = in / 2 - n / 2;  // input index = output index + off
      if (n <= in) {
        out = out.narrow(dim, off, n);
      } else {
        std::vector<int64_t> pad(4, 0);  // (x_left, x_right, y_left, y_right) for the last two dims
        const std::size_t k = dim == -1 ? 0 : 2;
        pad[k] = -off;
        pad[k + 1] = n - in + off;
        out = torch::constant_pad_nd(out, pad, 0);
      }
    }
    return out;
  }

  /// Per-sample scalars: a complex tensor of sizes (batch, 1, 1, 1, 1), on the graph (autograd flows through
  /// step sizes computed from them) and on the arrays' device.
  using Scalars = torch::Tensor;
  /// <a_b, b_b> per batch entry, accumulated in double precision, returned in a's dtype, sizes (batch, 1, 1, 1, 1).
  static Scalars dot_batch(const Array& a, const Array& b) {
    require(a.sizes() == b.sizes(), "dot_batch: shapes differ");
    return (torch::conj(a).to(torch::kComplexDouble) * b.to(torch::kComplexDouble))
        .sum({1, 2, 3, 4}, /*keepdim=*/true)
        .to(a.scalar_type());
  }
  /// num / den per sample, 0 where den is 0.
  static Scalars divide(const Scalars& num, const Scalars& den) {
    auto zero = torch::abs(den) == 0;
    return torch::where(zero, torch::zeros_like(num), num / torch::where(zero, torch::ones_like(den), den));
  }
  /// s where |value| > (10 eps)^2 |reference| per sample (eps of the tensors' precision: 1e-12 for complex64,
  /// 1e-28 for complex128), else 0 (contract as EigenFftw::keep_above). Differentiable in s.
  static Scalars keep_above(const Scalars& s, const Scalars& value, const Scalars& reference) {
    const double rel = s.scalar_type() == torch::kComplexDouble || s.scalar_type() == torch::kDouble ? 1e-28 : 1e-12;
    return torch::where(torch::abs(value) > rel * torch::abs(reference), s, torch::zeros_like(s));
  }
  /// -s per sample.
  static Scalars negate(const Scalars& s) { return -s; }
  /// The scalars as host values.
  static std::vector<std::complex<double>> to_host(const Scalars& s) {
    auto c = s.detach().to(torch::kCPU).to(torch::kComplexDouble).contiguous().view({-1});
    std::vector<std::complex<double>> out(static_cast<std::size_t>(c.numel()));
    for (int64_t i = 0; i < c.numel(); ++i) {
      const auto v = c[i].item<c10::complex<double>>();
      out[static_cast<std::size_t>(i)] = {v.real(), v.imag()};
    }
    return out;
  }
  /// s_b * x_b + y_b per batch entry.
  static Array scale_add(const Scalars& s, const Array& x, const Array& y) { return s * x + y; }
  /// A host array as a complex64 tensor (CPU).
  static Array from_host(const CArray& a) { return from_eigen(a); }
  /// A host mask as a float32 tensor (CPU).
  static Mask mask_from_host(const RArray& m) { return from_eigen(m); }

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

  /// Tensor dim of axis a (x = 4 ... batch = 0); throws Error outside 0..4.
  static int64_t tensor_dim(int axis, const char* who) {
    require(axis >= 0 && axis < 5, std::string(who) + ": axis must be 0 (x), 1 (y), 2 (coil), 3 (frame) or 4 "
                                                      "(batch), got " + std::to_string(axis));
    return 4 - axis;
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
