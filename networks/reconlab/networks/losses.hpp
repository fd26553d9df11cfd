#pragma once
/// @file losses.hpp
/// Training losses of reconlab: L1, L2 (MSE), SSIM (fastMRI's SSIMLoss) and weighted mixes, named by a string
/// that the trainer stores in its checkpoints:
///   "l1"                  mean absolute error
///   "l2"                  mean squared error
///   "ssim"                1 - SSIM, fastMRI `fastmri/losses.py` SSIMLoss (win 7, k1 0.01, k2 0.03)
///   "w1*name1+w2*name2"   a weighted sum, e.g. "0.84*ssim+0.16*l1" (Zhao et al., "Loss functions for image
///                         restoration with neural networks", IEEE TCI 2017, use alpha = 0.84 for MS-SSIM + L1)
/// Tensors: output and target float32 of the same shape (N, C, H, W); SSIM needs H, W >= 7.
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/error.hpp"

namespace reconlab::networks {

/// fastMRI SSIMLoss (Zbontar et al. 2018, `fastmri/losses.py`; SSIM of Wang et al., IEEE TIP 13(4), 2004, eq. 13):
/// 7x7 uniform window, valid convolution (no padding), covariances with the unbiased factor 49/48, C1 = (0.01 L)^2,
/// C2 = (0.03 L)^2, with the data range L = max of the target per image (fastMRI passes the volume maximum).
/// Each channel is an image. Returns 1 - mean SSIM (a scalar; 0 for identical images).
/// Throws Error unless both are 4-D of the same shape with H, W >= 7.
inline torch::Tensor ssim_loss(const torch::Tensor& output, const torch::Tensor& target, int64_t win_size = 7,
                               double k1 = 0.01, double k2 = 0.03) {
  require(output.dim() == 4 && output.sizes() == target.sizes(), "ssim_loss: output and target must be (N, C, H, W)");
  require(output.size(2) >= win_size && output.size(3) >= win_size, "ssim_loss: images smaller than the window");
  const int64_t n = output.size(0) * output.size(1), h = output.size(2), w = output.size(3);
  auto X = output.reshape({n, 1, h, w});
  auto Y = target.reshape({n, 1, h, w});
  auto dr = std::get<0>(Y.reshape({n, -1}).max(1)).clamp_min(1e-12).reshape({n, 1, 1, 1});
  auto win = torch::ones({1, 1, win_size, win_size}, X.options()) / double(win_size * win_size);
  const double np = double(win_size * win_size), cov_norm = np / (np - 1);
  auto f = [&](const torch::Tensor& t) { return torch::conv2d(t, win); };
  auto ux = f(X), uy = f(Y), uxx = f(X * X), uyy = f(Y * Y), uxy = f(X * Y);
  auto vx = cov_norm * (uxx - ux * ux), vy = cov_norm * (uyy - uy * uy), vxy = cov_norm * (uxy - ux * uy);
  auto C1 = (k1 * dr).pow(2), C2 = (k2 * dr).pow(2);
  auto S = (2 * ux * uy + C1) * (2 * vxy + C2) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  return 1 - S.mean();
}

/// A parsed loss specification: weighted terms (weight, "l1" | "l2" | "ssim").
struct LossSpec {
  std::vector<std::pair<double, std::string>> terms;
};

/// Parses "l1", "l2", "ssim" or a sum of "w*name" terms (weights finite and > 0). Throws Error otherwise.
inline LossSpec parse_loss(const std::string& spec) {
  LossSpec out;
  std::stringstream ss(spec);
  std::string term;
  while (std::getline(ss, term, '+')) {
    double w = 1.0;
    std::string name = term;
    if (const auto star = term.find('*'); star != std::string::npos) {
      try {
        std::size_t used = 0;
        w = std::stod(term.substr(0, star), &used);
        require(used == star, "");
      } catch (...) {
        throw Error("loss \"" + spec + "\": bad weight in term \"" + term + "\"");
      }
      name = term.substr(star + 1);
    }
    require(name == "l1" || name == "l2" || name == "ssim",
            "loss \"" + spec + "\": unknown term \"" + name + "\" (l1 | l2 | ssim, or a mix like 0.84*ssim+0.16*l1)");
    require(std::isfinite(w) && w > 0, "loss \"" + spec + "\": weights must be finite and > 0");
    out.terms.emplace_back(w, name);
  }
  require(!out.terms.empty(), "loss must not be empty (l1 | l2 | ssim | mixes)");
  return out;
}

/// The loss of `output` against `target` (same shape) under `spec` (see the file comment); a scalar tensor.
inline torch::Tensor compute_loss(const LossSpec& spec, const torch::Tensor& output, const torch::Tensor& target) {
  torch::Tensor total;
  for (const auto& [w, name] : spec.terms) {
    torch::Tensor t = name == "l1"   ? torch::l1_loss(output, target)
                      : name == "l2" ? torch::mse_loss(output, target)
                                     : ssim_loss(output, target);
    if (w != 1.0) t = t * w;
    total = total.defined() ? total + t : t;
  }
  return total;
}

}  // namespace reconlab::networks
