#pragma once
/// @file network_reconstructor.hpp
/// The data-consistent networks of cascade_nets.hpp as reconlab::Reconstructors, their input convention and their
/// model.json (architecture and options, written beside final.pt; read back by the registry, registry.hpp).
///
/// Input convention (stored in model.json as "input" and checked on load): the single-coil acquisition's k-space is
/// multiplied by s = 1 / max|F^H y| (the zero-filled magnitude then has maximum 1) and given with its mask to the
/// network (scale_acquisition; packed as (N, 3, H, W) = (Re y s, Im y s, mask) by pack_acquisition for data sets
/// stored packed). Training targets are the ground-truth magnitudes times the
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

/// Throws Error unless `acq` is what the single-coil networks reconstruct: valid (validate_acquisition), Cartesian
/// with a 0/1 mask of one plane (they were trained on 0/1 masks; a trajectory or sampling weights are refused),
/// one frame and one coil. `method` names the caller in the message.
inline void require_single_coil_cartesian(const Acquisition& acq, const std::string& method) {
  validate_acquisition(acq);
  require_binary_mask(acq, method);  // also rejects a trajectory
  require_single_frame(acq, method);
  solvers::require_single_coil(acq, method);
  const Dims kd = dims_of(acq.kspace);
  require(dims_of(acq.mask()) == Dims{kd[0], kd[1], 1, 1, 1},
          method + ": one mask plane (nx, ny, 1, 1, 1) expected, got " + dims_string(dims_of(acq.mask())));
}

/// The typed network input of one single-coil acquisition and the scale s used (see the file comment).
struct ScaledAcquisition {
  torch::Tensor kspace;  ///< complex64 (1, 1, 1, ny, nx): y * s
  torch::Tensor mask;    ///< float32 (1, 1, 1, ny, nx)
  float scale;           ///< s = 1 / max|zero-filled| (1 when the zero-filled image is all zero)
};

/// The scaled k-space and mask of a single-coil, single-frame Cartesian acquisition. Throws Error on another
/// acquisition (require_single_coil_cartesian; `method` names the caller).
inline ScaledAcquisition scale_acquisition(const Acquisition& acq, const std::string& method = "network") {
  require_single_coil_cartesian(acq, method);
  Eigen::Tensor<float, 0> mx = solvers::zero_filled(acq).abs().maximum();
  const float s = mx() > 0 ? 1.0f / mx() : 1.0f;
  return {Torch::from_eigen(acq.kspace) * s, Torch::from_eigen(acq.mask()), s};
}

/// Packed network input of one single-coil acquisition and the scale s used (see the file comment).
struct PackedAcquisition {
  torch::Tensor packed;  ///< float32 (1, 3, ny, nx)
  float scale;           ///< s = 1 / max|zero-filled| (1 when the zero-filled image is all zero)
};

/// pack_kspace of scale_acquisition(acq): the packed form studies store their training sets in. Throws Error as
/// scale_acquisition.
inline PackedAcquisition pack_acquisition(const Acquisition& acq) {
  const ScaledAcquisition a = scale_acquisition(acq);
  return {pack_kspace(a.kspace, a.mask), a.scale};
}

/// Architecture names of model.json and of `reconlab recon --method`.
inline nlohmann::json network_json(const KspaceUnetOptions& o) {
  return {{"architecture", "kspace-unet"}, {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers}, {"norm", to_string(o.norm)},
          {"conjugate_channels", o.conjugate_channels}, {"input", kPackedKspaceInput}};
}
/// model.json of a Cascade: its stage-1 k-space U-Net and its image-space U-Net sizes.
inline nlohmann::json network_json(const CascadeOptions& o) {
  return {{"architecture", "cascade"},
          {"stage1", network_json(o.stage1)},
          {"base_channels", o.base_channels},
          {"num_pool_layers", o.num_pool_layers},
          {"norm", to_string(o.norm)},
          {"final_dc", o.final_dc},
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

/// A trained network (KspaceUnet, Cascade, Dncn or Modl holder) as a Reconstructor: single-coil, single-frame
/// Cartesian acquisitions with a 0/1 mask in (others are refused with an Error, see
/// require_single_coil_cartesian), the complex image (nx, ny, 1, 1, 1) in the acquisition's units out (see the
/// file comment). Loaded from final.pt and model.json by the registry (registry.hpp).
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
    const auto in = scale_acquisition(acq, name_);
    torch::NoGradGuard g;
    net_->eval();
    auto x = net_->reconstruct(in.kspace, in.mask) / in.scale;
    return Torch::to_eigen(x);
  }
  Net& net() { return net_; }

 private:
  Net net_;
  std::string name_;
  nlohmann::json params_;
};

/// A trained unrolled network with a learned regularisation weight lambda (the MoDL family: SenseModl, NufftModl)
/// as a Reconstructor. `Prepare` is the network's input convention: a default-constructible function object with
/// `static constexpr const char* name` (the default method name) whose call Prepare{}(acq) returns the pair
/// (network input, scale s) and throws Error for an acquisition the network does not take. reconstruct() returns
/// net->reconstruct(input) / s as a CArray (nx, ny, 1, frames, 1) in the acquisition's units; parameters() adds the
/// learned "lambda" (net->lambda()) to `parameters`.
template <class Net, class Prepare>
class LearnedLambdaReconstructor : public Reconstructor {
 public:
  explicit LearnedLambdaReconstructor(Net net, std::string name = Prepare::name, nlohmann::json parameters = {})
      : net_(std::move(net)), name_(std::move(name)), params_(std::move(parameters)) {
    net_->eval();
  }
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override {
    auto p = params_;
    p["lambda"] = net_->lambda();
    return p;
  }
  CArray reconstruct(const Acquisition& acq) override {
    const auto [input, scale] = Prepare{}(acq);
    torch::NoGradGuard g;
    net_->eval();
    return Torch::to_eigen(net_->reconstruct(input) / scale);
  }
  Net& net() { return net_; }

 private:
  Net net_;
  std::string name_;
  nlohmann::json params_;
};

}  // namespace reconlab::networks
