#pragma once
/// @file data_consistency.hpp
/// Data-consistency (DC) layers for single-coil Cartesian networks, built on the torch backend of reconlab's
/// operators (CartesianSampling<Torch>, Fft2c<Torch>), the packing of measured k-space and mask into one network
/// input, and a batched conjugate-gradient solver that autograd can differentiate (MoDL's DC step).
///
/// Layouts (see torch_backend.hpp): complex images and k-space are complex64 tensors of sizes (N, 1, 1, H, W) =
/// (batch, frame, coil, y, x); masks are float32 (N, 1, 1, H, W) or (1, 1, 1, H, W) with values 0/1. k-space is
/// centred and the FFT is the centred unitary one. Measured k-space y is zero where the mask is 0.
///
/// The packed network input (what the trainer feeds to forward()) is float32 (N, 3, H, W): channel 0 = Re y,
/// channel 1 = Im y, channel 2 = mask. Networks recover y and the mask from it, so every network has the trainer's
/// one-tensor forward().
#include <torch/torch.h>

#include <string>

#include "reconlab/error.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/solvers/cg.hpp"

namespace reconlab::networks {

/// Measured k-space y (complex64, (N, 1, 1, H, W)) and its mask (float32, (N, 1, 1, H, W), 0/1).
struct MeasuredKspace {
  torch::Tensor kspace;
  torch::Tensor mask;
};

/// Packs y (complex64 (N, 1, 1, H, W)) and mask (float32 (N, 1, 1, H, W) or (1, 1, 1, H, W)) into the network
/// input float32 (N, 3, H, W) = (Re y, Im y, mask). Throws Error on other shapes or dtypes.
inline torch::Tensor pack_kspace(const torch::Tensor& kspace, const torch::Tensor& mask) {
  require(kspace.defined() && kspace.dim() == 5 && kspace.size(1) == 1 && kspace.size(2) == 1 &&
              kspace.is_complex(),
          "pack_kspace: k-space must be complex (N, 1, 1, H, W) (single coil, single frame)");
  require(mask.defined() && mask.dim() == 5 && mask.size(3) == kspace.size(3) && mask.size(4) == kspace.size(4) &&
              (mask.size(0) == 1 || mask.size(0) == kspace.size(0)),
          "pack_kspace: mask must be (1 or N, 1, 1, H, W) matching the k-space");
  auto k = kspace.to(torch::kComplexFloat).squeeze(2).squeeze(1);  // (N, H, W)
  auto m = mask.to(torch::kFloat).squeeze(2).squeeze(1).expand({kspace.size(0), kspace.size(3), kspace.size(4)});
  return torch::stack({torch::real(k), torch::imag(k), m}, 1).contiguous();
}

/// Unpacks the network input float32 (N, 3, H, W) into y and the mask. Throws Error on another shape.
inline MeasuredKspace unpack_kspace(const torch::Tensor& packed) {
  require(packed.defined() && packed.dim() == 4 && packed.size(1) == 3,
          "network input must be packed k-space (N, 3, H, W) = (Re y, Im y, mask), got " +
              (packed.defined() ? std::to_string(packed.dim()) + "D tensor with " +
                                      (packed.dim() > 1 ? std::to_string(packed.size(1)) : std::string("?")) +
                                      " channels"
                                : std::string("an undefined tensor")));
  auto k = torch::complex(packed.select(1, 0), packed.select(1, 1)).unsqueeze(1).unsqueeze(1);
  auto m = packed.select(1, 2).unsqueeze(1).unsqueeze(1);
  return {k, m};
}

/// Complex (N, 1, 1, H, W) -> float32 channels (N, 2, H, W) = (Re, Im).
inline torch::Tensor complex_to_channels(const torch::Tensor& x) {
  auto c = x.squeeze(2).squeeze(1);
  return torch::stack({torch::real(c), torch::imag(c)}, 1);
}

/// Float32 channels (N, 2, H, W) = (Re, Im) -> complex64 (N, 1, 1, H, W).
inline torch::Tensor channels_to_complex(const torch::Tensor& c) {
  return torch::complex(c.select(1, 0).contiguous(), c.select(1, 1).contiguous()).unsqueeze(1).unsqueeze(1);
}

/// Magnitude sqrt(|x|^2 + eps) of complex (N, 1, 1, H, W) as float32 (N, 1, H, W). The eps = 1e-12 keeps the
/// gradient finite at x = 0 (background of phantoms); it adds at most 1e-6 to any value.
inline torch::Tensor magnitude(const torch::Tensor& x) {
  auto c = x.squeeze(2);  // (N, 1, H, W)
  return torch::sqrt(torch::real(c) * torch::real(c) + torch::imag(c) * torch::imag(c) + 1e-12);
}

/// Hard k-space replacement (the DC of Schlemper et al. 2017, eq. 6, with lambda -> infinity, noiseless case):
/// returns k where mask = 0 and y where mask = 1, bit for bit (a select, no arithmetic). Shapes as the file comment.
inline torch::Tensor hard_replace_kspace(const torch::Tensor& k, const torch::Tensor& y, const torch::Tensor& mask) {
  return torch::where(mask > 0.5f, y, k);
}

/// k-space blend data consistency, per frame: x <- F^H( w y + (1 - w) F x ), with F the centred unitary 2D FFT over
/// (y, x) of every frame (Fft2c<Torch>) and the blend of the torch backend (Torch::blend). x: complex64 image
/// (N, T, 1, H, W); y: measured k-space of the same sizes (zero outside the sampling); w: sampling float32
/// (N or 1, T or 1, 1, H, W) with values in [0, 1] (one pattern per frame for k-t sampling). For a 0/1 mask this is
/// the hard replacement of Schlemper et al. 2018 (eq. 6, lambda -> infinity) and of Qin et al.'s CRNN-MRI
/// (`DataConsistencyInKspace` of github.com/js3611/Deep-MRI-Reconstruction, noise_lvl None): measured samples are
/// y exactly (1 * y + 0 * k = y in floating point) and unmeasured ones keep F x; fractional weights blend the
/// measurement with the prediction, weighted by how much of each sample was acquired. Throws Error when the
/// sampling does not broadcast onto the k-space.
inline torch::Tensor blend_data_consistency(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w) {
  Fft2c<Torch> F;
  return F.adjoint(Torch::blend(w, y, F.apply(x)));
}

/// The kinds of data-consistency step (image x in, image out; A = M F the CartesianSampling operator):
enum class DcMode {
  /// Hard replacement: x <- F^H( (1 - M) F x + M y ): measured samples replaced by y exactly (in k-space).
  hard,
  /// Weighted soft replacement, Schlemper et al., "A deep cascade of convolutional neural networks for dynamic MR
  /// image reconstruction", IEEE TMI 37(2), 2018 (arXiv 2017), eq. 6: on measured samples
  /// k <- (k + lambda y) / (1 + lambda), i.e. x <- x + w A^H (y - A x) with w = lambda / (1 + lambda); lambda > 0
  /// learnable (stored as log lambda, so w = sigmoid(log lambda)). lambda -> infinity gives hard.
  soft,
  /// Gradient step on 1/2 ||A x - y||^2 with a learnable step eta (unconstrained): x <- x - eta A^H (A x - y);
  /// the "soft DC" of fastMRI's VarNet (Sriram et al., "End-to-end variational networks for accelerated MRI
  /// reconstruction", MICCAI 2020, eq. 4), here in the image domain.
  gradient,
};

/// "hard" / "soft" / "gradient" <-> DcMode. Throws Error for another name.
inline DcMode dc_mode_from_string(const std::string& s) {
  if (s == "hard") return DcMode::hard;
  if (s == "soft") return DcMode::soft;
  if (s == "gradient") return DcMode::gradient;
  throw Error("unknown data-consistency mode '" + s + "' (hard | soft | gradient)");
}
/// DcMode -> "hard" / "soft" / "gradient" (the names of model.json and of dc_mode_from_string).
inline std::string to_string(DcMode m) {
  return m == DcMode::hard ? "hard" : m == DcMode::soft ? "soft" : "gradient";
}

/// A data-consistency layer (see DcMode). forward(x, y, mask): x complex64 (N, 1, 1, H, W) image, y measured
/// k-space of the same sizes (zero outside the mask), mask float32 (N or 1, 1, 1, H, W) 0/1 -> image (N, 1, 1, H, W).
/// Parameters: soft has `log_lambda` (scalar), gradient has `eta` (scalar); hard has none.
class DataConsistencyImpl : public torch::nn::Module {
 public:
  /// `init`: lambda for soft (> 0, default 10: weight 10/11, close to hard), eta for gradient (default 1 = hard for a
  /// binary mask). Throws Error if soft's lambda is not > 0.
  explicit DataConsistencyImpl(DcMode mode = DcMode::hard, double init = -1.0) : mode_(mode) {
    if (mode_ == DcMode::soft) {
      const double lambda = init < 0 ? 10.0 : init;
      require(lambda > 0 && std::isfinite(lambda), "DataConsistency: soft lambda must be finite and > 0");
      log_lambda_ = register_parameter("log_lambda", torch::full({}, std::log(lambda)));
    } else if (mode_ == DcMode::gradient) {
      eta_ = register_parameter("eta", torch::full({}, init < 0 ? 1.0 : init));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
    if (mode_ == DcMode::hard) {
      Fft2c<Torch> F;
      return F.adjoint(hard_replace_kspace(F.apply(x), y, mask));
    }
    CartesianSampling<Torch> A(mask);
    auto residual = A.adjoint(y - A.apply(x));  // A^H (y - A x)
    if (mode_ == DcMode::soft) return x + residual * torch::sigmoid(log_lambda_);
    return x + residual * eta_;
  }

  /// The k-space form of forward for inspection and tests: F x after the DC step, with hard replacement exact.
  torch::Tensor forward_kspace(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
    Fft2c<Torch> F;
    auto k = F.apply(x);
    if (mode_ == DcMode::hard) return hard_replace_kspace(k, y, mask);
    auto w = mode_ == DcMode::soft ? torch::sigmoid(log_lambda_) : eta_;
    return k + mask * (y - k) * w;
  }

  DcMode mode() const { return mode_; }
  /// lambda of soft DC (exp(log_lambda)); NaN for the other modes.
  double lambda() const { return mode_ == DcMode::soft ? std::exp(log_lambda_.item<double>()) : std::nan(""); }

 private:
  DcMode mode_;
  torch::Tensor log_lambda_, eta_;
};
TORCH_MODULE(DataConsistency);

}  // namespace reconlab::networks
