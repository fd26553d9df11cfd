#pragma once
/// @file torch_nufft.hpp
/// The non-uniform FFT on torch tensors, with autograd: the same operator as reconlab::Nufft (nufft.hpp: the
/// unitary non-uniform DFT by Kaiser-Bessel gridding, Beatty et al., IEEE TMI 24, 2005) built from that class's
/// precomputed plan (deapodisation, per-sample kernel taps, Toeplitz kernel), so the two backends share one
/// construction and agree to float rounding (tests/networks/torch_nufft_test.cpp: below 1e-5 relative).
///
/// Every step is a differentiable torch operation (multiply, pad, FFT, index_select / index_add, crop), so autograd's
/// backward of apply() is the adjoint and the backward of adjoint() is apply(): a loss through the operator gives
/// the exact gradient (2 A^H (A x - y) for ||A x - y||^2 under torch's complex convention).
///
/// Layouts (torch_backend.hpp): images complex64 (B, T, C, ny, nx) = (batch, frame, coil, y, x); samples complex64
/// (B, T, C, Y, S) = (batch, frame, coil, spoke, readout sample), the bytes of the CArray (S, Y, C, T, B) of
/// nufft.hpp; any B and C, T the trajectory's frame count.
///
/// Memory: the interpolator is stored per frame as W^2 flat grid indices (int64) and weights (float) per sample,
/// 12 W^2 bytes per sample (W = 6: 432 bytes; 166 000 samples take 72 MB).
#include <torch/torch.h>

#include <optional>
#include <sstream>
#include <tuple>

#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/nufft.hpp"

namespace reconlab::networks {

/// The NUFFT A (or W^(1/2) A for a density-weighted Nufft, see Nufft's weighted_model) on torch tensors of the
/// file comment's layouts, on `device`. Throws Error (apply / adjoint / normal) for tensors of other shapes.
class TorchNufft {
 public:
  /// Takes the plan of `plan` (which may be discarded afterwards); the Toeplitz kernel is computed here (by the
  /// Eigen operator's adjoint onto the 2n grid) when `toeplitz` is true.
  explicit TorchNufft(const Nufft& plan, torch::Device device = torch::kCPU, bool toeplitz = true) : device_(device) {
    const Dims dd = plan.domain_dims(), rd = plan.range_dims();
    nx_ = dd[0], ny_ = dd[1], S_ = rd[0], Y_ = rd[1], T_ = rd[3];
    std::tie(gx_, gy_) = plan.grid_size();
    const Index w = plan.options().width, M = S_ * Y_;
    const auto taps = plan.taps();
    auto fopt = torch::TensorOptions().dtype(torch::kFloat);
    deapod_ = torch::from_blob(const_cast<float*>(plan.deapodisation().data()), {1, 1, 1, ny_, nx_}, fopt)
                  .clone()
                  .to(device);
    // Flat grid index iy * gx + ix and weight wy wx of each of the W^2 taps of every sample, per frame.
    auto index = torch::empty({T_, M * w * w}, torch::TensorOptions().dtype(torch::kInt64));
    auto weight = torch::empty({T_, M, w * w, 1}, fopt);
    int64_t* ip = index.data_ptr<int64_t>();
    float* wp = weight.data_ptr<float>();
    for (Index s = 0; s < T_ * M; ++s) {
      const std::size_t t = std::size_t(s * w);
      for (Index b = 0; b < w; ++b)
        for (Index a = 0; a < w; ++a) {
          const Index k = s * w * w + b * w + a;
          ip[k] = taps.iy[t + std::size_t(b)] * gx_ + taps.ix[t + std::size_t(a)];
          wp[k] = taps.wy[t + std::size_t(b)] * taps.wx[t + std::size_t(a)];
        }
    }
    index_ = index.to(device), weight_ = weight.to(device);
    if (plan.weighted_model())
      sqrt_weights_ = Torch::from_eigen(RArray(plan.weights()->sqrt())).to(device);  // (1, T, 1, Y, S)
    if (toeplitz) toeplitz_ = Torch::from_eigen(plan.toeplitz()).to(device);  // (1, T, 1, 2 ny, 2 nx)
  }

  /// Type-2 NUFFT: image (B, T, C, ny, nx) -> samples (B, T, C, Y, S).
  torch::Tensor apply(const torch::Tensor& x) const {
    check(x, ny_, nx_, "image");
    const int64_t B = x.size(0), C = x.size(2);
    const int64_t oy = gy_ / 2 - ny_ / 2, ox = gx_ / 2 - nx_ / 2;
    auto grid = torch::constant_pad_nd(x * deapod_, {ox, gx_ - nx_ - ox, oy, gy_ - ny_ - oy});
    auto K = torch::view_as_real(Torch::fft2c(grid).contiguous()).reshape({B, T_, C, gy_ * gx_, 2});
    const int64_t taps = weight_.size(2);
    std::vector<torch::Tensor> frames;
    for (int64_t f = 0; f < T_; ++f) {
      auto g = K.select(1, f).index_select(2, index_[f]).reshape({B, C, S_ * Y_, taps, 2});
      frames.push_back((g * weight_[f]).sum(3));  // (B, C, M, 2)
    }
    auto y = torch::view_as_complex(torch::stack(frames, 1).contiguous()).reshape({B, T_, C, Y_, S_});
    return sqrt_weights_.defined() ? y * sqrt_weights_ : y;
  }

  /// The exact adjoint: samples (B, T, C, Y, S) -> image (B, T, C, ny, nx).
  torch::Tensor adjoint(const torch::Tensor& y_in) const {
    check(y_in, Y_, S_, "samples");
    const int64_t B = y_in.size(0), C = y_in.size(2), taps = weight_.size(2);
    auto y = sqrt_weights_.defined() ? y_in * sqrt_weights_ : y_in;
    auto yr = torch::view_as_real(y.contiguous()).reshape({B, T_, C, S_ * Y_, 1, 2});
    std::vector<torch::Tensor> frames;
    for (int64_t f = 0; f < T_; ++f) {
      auto contrib = (yr.select(1, f) * weight_[f]).reshape({B, C, S_ * Y_ * taps, 2});
      auto grid = torch::zeros({B, C, gy_ * gx_, 2}, contrib.options());
      frames.push_back(grid.index_add(2, index_[f], contrib));
    }
    auto grid = torch::view_as_complex(torch::stack(frames, 1).contiguous()).reshape({B, T_, C, gy_, gx_});
    const int64_t oy = gy_ / 2 - ny_ / 2, ox = gx_ / 2 - nx_ / 2;
    return Torch::ifft2c(grid).narrow(3, oy, ny_).narrow(4, ox, nx_) * deapod_;
  }

  /// A^H W A x (W the plan's weights, else ones) by the Toeplitz embedding (nufft.hpp): zero-pad to (2 ny, 2 nx)
  /// as EigenFftw::resize_xy does, multiply the centred spectrum by the kernel, crop. Differentiable. Throws Error
  /// when the operator was built without the kernel.
  torch::Tensor normal(const torch::Tensor& x) const {
    require(toeplitz_.defined(), "TorchNufft: built without the Toeplitz kernel (toeplitz = false)");
    check(x, ny_, nx_, "image");
    const int64_t py = ny_ - ny_ / 2, px = nx_ - nx_ / 2;  // resize_xy: output index = input index + ceil(n / 2)
    auto k = Torch::fft2c(torch::constant_pad_nd(x, {px, nx_ / 2, py, ny_ / 2})) * toeplitz_;
    return Torch::ifft2c(k).narrow(3, py, ny_).narrow(4, px, nx_);
  }

  int64_t nx() const { return nx_; }
  int64_t ny() const { return ny_; }
  int64_t frames() const { return T_; }
  const torch::Device& device() const { return device_; }

 private:
  void check(const torch::Tensor& t, int64_t a, int64_t b, const char* what) const {
    if (t.defined() && t.dim() == 5 && t.is_complex() && t.size(1) == T_ && t.size(3) == a && t.size(4) == b) return;
    std::ostringstream got;
    if (t.defined()) got << ", got " << (t.is_complex() ? "complex " : "real ") << t.sizes();
    throw Error(std::string("TorchNufft: ") + what + " must be complex (batch, " + std::to_string(T_) + ", coils, " +
                std::to_string(a) + ", " + std::to_string(b) + ")" + got.str());
  }
  torch::Device device_;
  int64_t nx_ = 0, ny_ = 0, S_ = 0, Y_ = 0, T_ = 0, gx_ = 0, gy_ = 0;
  torch::Tensor deapod_, index_, weight_, sqrt_weights_, toeplitz_;
};

}  // namespace reconlab::networks
