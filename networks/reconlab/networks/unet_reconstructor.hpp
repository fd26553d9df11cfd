#pragma once
/// @file unet_reconstructor.hpp
/// A trained image-domain U-Net as a reconlab::Reconstructor (the "U-Net" baseline of fastMRI, Zbontar et al.
/// 2018, Sec. 5.2: a U-Net maps the zero-filled magnitude image to the fully sampled one).
///
/// Input convention (written into model.json and checked on load): one channel, the magnitude m of the
/// single-coil zero-filled image standardised by its own mean and standard deviation, (m - mean) / std, as
/// fastMRI's NormUnet does (Sriram et al. 2020, "End-to-end variational networks", Sec. 3.1); the network
/// predicts the target magnitude in the same standardised units; the output is mapped back by * std + mean.
/// Standardising (rather than dividing by the maximum) keeps the input statistics alike across contrasts and
/// scanners. Phase is not modelled: the output is a real (magnitude) image.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/reconstructors.hpp"

namespace reconlab::networks {

/// The normalisation contract between training and inference, stored as model.json beside the weights.
inline constexpr const char* kMagnitudeInput = "(|zero-filled| - mean) / std";

/// U-Net options <-> JSON (model.json).
inline nlohmann::json unet_options_json(const UnetOptions& o) {
  return {{"architecture", "unet"},          {"in_channels", o.in_channels},
          {"out_channels", o.out_channels},  {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers}, {"drop_prob", o.drop_prob},
          {"residual", o.residual},          {"input", kMagnitudeInput}};
}

/// Reads model.json; throws Error if it is missing, malformed or describes another input convention.
inline UnetOptions read_unet_options(const std::filesystem::path& model_json) {
  std::ifstream in(model_json);
  require(static_cast<bool>(in), "U-Net: cannot open " + model_json.string() +
                                     " (model.json must sit beside the weights)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    require(j.at("architecture") == "unet", "architecture is not unet");
    require(j.at("input") == kMagnitudeInput, "unknown input convention " + j.at("input").dump());
    UnetOptions o;
    o.in_channels = j.at("in_channels");
    o.out_channels = j.at("out_channels");
    o.base_channels = j.at("base_channels");
    o.num_pool_layers = j.at("num_pool_layers");
    o.drop_prob = j.at("drop_prob");
    o.residual = j.at("residual");
    return o;
  } catch (const std::exception& e) {
    throw Error("U-Net: malformed " + model_json.string() + ": " + e.what());
  }
}

/// The network input of one acquisition: the standardised zero-filled magnitude, shape (1, 1, ny, nx), with the
/// mean and standard deviation used (std floored at 1e-12 of the mean magnitude scale to avoid division by zero).
struct UnetInput {
  torch::Tensor x;
  float mean, std;
  /// Maps an image (magnitude, same units as the acquisition) to the network's standardised units.
  torch::Tensor standardise(const torch::Tensor& image) const { return (image - mean) / std; }
};

/// Builds UnetInput from a single-coil acquisition (see the file comment). Throws Error on invalid input.
inline UnetInput unet_input(const Acquisition& acq) {
  RArray mag = solvers::zero_filled(acq).abs();
  auto t = Torch::from_eigen(mag);  // (1, 1, 1, ny, nx)
  t = t.reshape({1, 1, t.size(3), t.size(4)});
  const float mean = t.mean().item<float>();
  const float sd = std::max(t.std().item<float>(), 1e-12f * std::max(std::abs(mean), 1.0f));
  return {(t - mean) / sd, mean, sd};
}

/// Reconstructs with a trained U-Net (see the file comment for the input convention).
class UnetReconstructor : public Reconstructor {
 public:
  /// Loads `weights` (final.pt or a trainer checkpoint's weights) and model.json from the same folder.
  /// Throws Error when either file is missing or does not match the architecture.
  explicit UnetReconstructor(const std::filesystem::path& weights)
      : weights_(weights), options_(read_unet_options(weights.parent_path() / "model.json")), model_(options_) {
    load_weights(model_, weights);
    model_->eval();
  }
  /// Wraps an in-memory model (e.g. just trained).
  UnetReconstructor(Unet model, UnetOptions options, std::string label)
      : weights_(std::move(label)), options_(options), model_(std::move(model)) {
    model_->eval();
  }
  std::string name() const override { return "unet"; }
  nlohmann::json parameters() const override {
    auto j = unet_options_json(options_);
    j["weights"] = weights_.string();
    return j;
  }
  CArray reconstruct(const Acquisition& acq) override {
    solvers::require_single_coil(acq, "unet");
    const UnetInput in = unet_input(acq);
    torch::NoGradGuard no_grad;
    auto y = model_->forward(in.x).reshape({1, 1, 1, in.x.size(2), in.x.size(3)}) * in.std + in.mean;
    return to_complex(Torch::to_eigen_real(y));
  }

 private:
  std::filesystem::path weights_;
  UnetOptions options_;
  Unet model_;
};

}  // namespace reconlab::networks
