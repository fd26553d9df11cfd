#pragma once
/// @file network_reconstructor.hpp
/// The data-consistent networks of cascade_nets.hpp as reconlab::Reconstructors, their input convention and their
/// model.json (architecture and options, written beside final.pt).
///
/// Input convention (stored in model.json as "input" and checked on load): the single-coil acquisition's k-space is
/// multiplied by s = 1 / max|F^H y| (the zero-filled magnitude then has maximum 1) and packed with its mask as
/// (N, 3, H, W) = (Re y s, Im y s, mask) (pack_kspace). Training targets are the ground-truth magnitudes times the
/// same s; reconstruct() divides the network's complex output by s, so results are in the acquisition's units.
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/reconstructors.hpp"

namespace reconlab::networks {

/// The input convention written to model.json (see the file comment) and checked when a network is loaded.
inline constexpr const char* kPackedKspaceInput = "(Re y, Im y, mask) * 1/max|zero-filled|";

/// Packed network input of one single-coil acquisition and the scale s used (see the file comment).
struct PackedAcquisition {
  torch::Tensor packed;  ///< float32 (1, 3, ny, nx)
  float scale;           ///< s = 1 / max|zero-filled| (1 when the zero-filled image is all zero)
};

/// Packs a single-coil, single-frame acquisition. Throws Error on another acquisition (validate_acquisition).
inline PackedAcquisition pack_acquisition(const Acquisition& acq) {
  solvers::require_single_coil(acq, "network");
  Eigen::Tensor<float, 0> mx = solvers::zero_filled(acq).abs().maximum();
  const float s = mx() > 0 ? 1.0f / mx() : 1.0f;
  auto k = Torch::from_eigen(acq.kspace) * s;
  auto m = Torch::from_eigen(acq.mask);
  return {pack_kspace(k, m), s};
}

/// Architecture names of model.json and of `reconlab recon --method`.
inline nlohmann::json network_json(const KspaceUnetOptions& o) {
  return {{"architecture", "kspace-unet"}, {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers}, {"input", kPackedKspaceInput}};
}
/// model.json of a Cascade: its stage-1 k-space U-Net and its image-space U-Net sizes.
inline nlohmann::json network_json(const CascadeOptions& o) {
  return {{"architecture", "cascade"},
          {"stage1", network_json(o.stage1)},
          {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers},
          {"input", kPackedKspaceInput}};
}
/// model.json of a DnCn: cascades, CNN size, weight sharing and data-consistency mode.
inline nlohmann::json network_json(const DncnOptions& o) {
  return {{"architecture", "dncn"},      {"cascades", o.cascades},         {"conv_layers", o.conv_layers},
          {"features", o.features},      {"shared_weights", o.shared_weights}, {"dc", to_string(o.dc)},
          {"input", kPackedKspaceInput}};
}
/// model.json of a MoDL: unrolled iterations, CG steps, CNN size and the initial lambda.
inline nlohmann::json network_json(const ModlOptions& o) {
  return {{"architecture", "modl"},   {"iterations", o.iterations}, {"cg_iterations", o.cg_iterations},
          {"conv_layers", o.conv_layers}, {"features", o.features},  {"lambda_init", o.lambda_init},
          {"input", kPackedKspaceInput}};
}

/// A trained network (KspaceUnet, Cascade, Dncn or Modl holder) as a Reconstructor: single-coil acquisitions in,
/// the complex image (nx, ny, 1, 1, 1) in the acquisition's units out (see the file comment).
template <class Net>
class NetworkReconstructor : public Reconstructor {
 public:
  /// `name`: the method name for tables; `parameters`: model.json content plus anything to record.
  NetworkReconstructor(Net net, std::string name, nlohmann::json parameters)
      : net_(std::move(net)), name_(std::move(name)), params_(std::move(parameters)) {
    net_->eval();
  }
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override { return params_; }
  CArray reconstruct(const Acquisition& acq) override {
    const auto in = pack_acquisition(acq);
    torch::NoGradGuard g;
    net_->eval();
    auto x = net_->reconstruct(in.packed) / in.scale;
    return Torch::to_eigen(x);
  }
  Net& net() { return net_; }

 private:
  Net net_;
  std::string name_;
  nlohmann::json params_;
};

namespace detail {
inline nlohmann::json read_model_json(const std::filesystem::path& weights, const std::string& architecture) {
  const auto path = weights.parent_path() / "model.json";
  std::ifstream in(path);
  require(static_cast<bool>(in), architecture + ": cannot open " + path.string() +
                                     " (model.json must sit beside the weights)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(architecture + ": malformed " + path.string() + ": " + e.what());
  }
  require(j.value("architecture", "") == architecture,
          path.string() + " describes architecture '" + j.value("architecture", "") + "', not '" + architecture + "'");
  require(j.value("input", "") == kPackedKspaceInput, path.string() + ": unknown input convention");
  return j;
}
}  // namespace detail

/// Loads a trained network for `reconlab recon --method` (architecture "kspace-unet", "cascade", "dncn" or
/// "modl") from `weights` (final.pt) and the model.json beside it. Throws Error when a file is missing, the
/// architecture differs, or the weights do not match.
inline std::unique_ptr<Reconstructor> load_network_reconstructor(const std::string& architecture,
                                                                 const std::filesystem::path& weights) {
  const auto j = detail::read_model_json(weights, architecture);
  auto params = j;
  params["weights"] = weights.string();
  try {
    if (architecture == "kspace-unet") {
      KspaceUnet net(KspaceUnetOptions{j.at("base_channels"), j.at("num_pool_layers")});
      load_weights(net, weights);
      return std::make_unique<NetworkReconstructor<KspaceUnet>>(net, architecture, params);
    }
    if (architecture == "cascade") {
      CascadeOptions o{{j.at("stage1").at("base_channels"), j.at("stage1").at("num_pool_layers")},
                       j.at("base_channels"), j.at("num_pool_layers")};
      Cascade net(o);
      load_weights(net, weights);
      return std::make_unique<NetworkReconstructor<Cascade>>(net, architecture, params);
    }
    if (architecture == "dncn") {
      DncnOptions o{j.at("cascades"), j.at("conv_layers"), j.at("features"), j.at("shared_weights"),
                    dc_mode_from_string(j.at("dc"))};
      Dncn net(o);
      load_weights(net, weights);
      return std::make_unique<NetworkReconstructor<Dncn>>(net, architecture, params);
    }
    if (architecture == "modl") {
      ModlOptions o{j.at("iterations"), j.at("cg_iterations"), j.at("conv_layers"), j.at("features"),
                    j.at("lambda_init")};
      Modl net(o);
      load_weights(net, weights);
      return std::make_unique<NetworkReconstructor<Modl>>(net, architecture, params);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(architecture + ": malformed model.json beside " + weights.string() + ": " + e.what());
  }
  throw Error("unknown network architecture '" + architecture + "' (kspace-unet | cascade | dncn | modl)");
}

}  // namespace reconlab::networks
