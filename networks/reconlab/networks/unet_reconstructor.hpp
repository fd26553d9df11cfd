#pragma once
/// @file unet_reconstructor.hpp
/// A trained image-domain U-Net as a reconlab::Reconstructor (the "U-Net" baseline of fastMRI, Zbontar et al.
/// 2018, Sec. 5.2: a U-Net maps the zero-filled magnitude image to the fully sampled one).
///
/// Input convention (written into model.json and checked on load): one channel, the magnitude m of the
/// single-coil zero-filled image (for a trajectory: the gridding image, unet_input) standardised by its own mean and standard deviation, (m - mean) / std, as
/// fastMRI's NormUnet does (Sriram et al. 2020, "End-to-end variational networks", Sec. 3.1); the network
/// predicts the target magnitude in the same standardised units; the output is mapped back by * std + mean.
/// Standardising (rather than dividing by the maximum) keeps the input statistics alike across contrasts and
/// scanners. Phase is not modelled: the output is a real (magnitude) image.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/reconstructors.hpp"

namespace reconlab::networks {

/// The normalisation contract between training and inference, stored as model.json beside the weights.
inline constexpr const char* kMagnitudeInput = "(|zero-filled| - mean) / std";

/// "reflect" / "zero" <-> UnetPadding (model.json). Throws Error for another name.
inline std::string to_string(UnetPadding p) { return p == UnetPadding::zero ? "zero" : "reflect"; }
inline UnetPadding unet_padding_from_string(const std::string& s) {
  if (s == "reflect") return UnetPadding::reflect;
  if (s == "zero") return UnetPadding::zero;
  throw Error("unknown U-Net padding '" + s + "' (reflect | zero)");
}

/// model.json of the image-domain U-Net ("architecture": "unet"; read back by the registry, registry.hpp).
inline nlohmann::json unet_options_json(const UnetOptions& o) {
  return {{"architecture", "unet"},          {"in_channels", o.in_channels},
          {"out_channels", o.out_channels},  {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers}, {"drop_prob", o.drop_prob},
          {"residual", o.residual},          {"padding", to_string(o.padding)},
          {"input", kMagnitudeInput}};
}
/// The same under the name every network's model.json writer has.
inline nlohmann::json network_json(const UnetOptions& o) { return unet_options_json(o); }

/// The network input of one acquisition: the standardised zero-filled magnitude, shape (1, 1, ny, nx), with the
/// mean and standard deviation used (std floored at 1e-12 of the mean magnitude scale to avoid division by zero).
struct UnetInput {
  torch::Tensor x;
  float mean, std;
  /// Maps an image (magnitude, same units as the acquisition) to the network's standardised units.
  torch::Tensor standardise(const torch::Tensor& image) const { return (image - mean) / std; }
};

/// Builds UnetInput from a single-coil Cartesian acquisition (the zero-filled image) or a single-frame trajectory
/// acquisition of any coil count (the gridding reconstruction, solvers::GriddingReconstructor: the
/// density-compensated adjoint NUFFT, coils combined with the acquisition's maps or by root-sum-of-squares; the
/// non-Cartesian counterpart of zero-filling, as in the radial networks of Hauptmann et al., MRM 81, 2019). Throws
/// Error on invalid input.
inline UnetInput unet_input(const Acquisition& acq) {
  RArray mag;
  if (!acq.cartesian()) {
    validate_acquisition(acq);
    require_single_frame(acq, "unet");
    mag = solvers::GriddingReconstructor().reconstruct(acq).abs();
  } else {
    require_single_coil_cartesian(acq, "unet");
    mag = solvers::zero_filled(acq).abs();
  }
  auto t = Torch::from_eigen(mag);  // (1, 1, 1, ny, nx)
  t = t.reshape({1, 1, t.size(3), t.size(4)});
  const float mean = t.mean().item<float>();
  const float sd = std::max(t.std().item<float>(), 1e-12f * std::max(std::abs(mean), 1.0f));
  return {(t - mean) / sd, mean, sd};
}

/// Reconstructs with a trained U-Net (see the file comment for the input convention): single-coil, single-frame
/// Cartesian acquisitions with a 0/1 mask, and single-frame trajectory acquisitions from their gridding image (others
/// are refused with an Error, see unet_input).
/// Loaded from final.pt and model.json by the registry (registry.hpp, "unet").
class UnetReconstructor : public Reconstructor {
 public:
  /// Wraps a model (trained, or loaded by the registry); `label` is recorded as "weights" in parameters().
  UnetReconstructor(Unet model, UnetOptions options, std::string label)
      : weights_(std::move(label)), options_(options), model_(std::move(model)) {
    model_->eval();
  }
  std::string name() const override { return "unet"; }
  nlohmann::json parameters() const override {
    auto j = unet_options_json(options_);
    j["weights"] = weights_;
    return j;
  }
  CArray reconstruct(const Acquisition& acq) override {
    const UnetInput in = unet_input(acq);
    torch::NoGradGuard no_grad;
    auto y = model_->forward(in.x).reshape({1, 1, 1, in.x.size(2), in.x.size(3)}) * in.std + in.mean;
    return to_complex(Torch::to_eigen_real(y));
  }

 private:
  std::string weights_;
  UnetOptions options_;
  Unet model_;
};

}  // namespace reconlab::networks
