#pragma once
/// @file registry.hpp
/// The model registry: one table of every trained network reconlab can load, by the name used as model.json's
/// "architecture" and as `reconlab recon --method`. Each entry knows what model.json holds (the architecture's
/// options and the input normalisation it was trained with), how to build the network from it, and how to wrap
/// the network as a Reconstructor; loading final.pt and checking it against the architecture is common to all.
///
///   name          network (file)                              input convention ("input" in model.json)
///   unet          Unet, image domain (unet.hpp)               kMagnitudeInput: standardised |zero-filled|
///   kspace-unet   KspaceUnet (cascade_nets.hpp)               kPackedKspaceInput: y / max|zero-filled|, mask
///   cascade       Cascade (cascade_nets.hpp)                  kPackedKspaceInput
///   dncn          Dncn (cascade_nets.hpp)                     kPackedKspaceInput
///   modl          Modl (cascade_nets.hpp)                     kPackedKspaceInput
///   modl-sense    SenseModl, multi-coil (sense_modl.hpp)      kPackedSenseInput: y / max|A^H y|, maps, mask
///   nufft-modl    NufftModl, trajectories (nufft_modl.hpp)   kTrajectoryInput: samples / max|gridding|, trajectory,
///                                                             maps (ones for one coil)
///   crnn          CrnnMri, cine (cine_nets.hpp)               kPackedCineInput: y / max|zero-filled| (N, T, 1, H, W),
///                                                             per-frame sampling, target (Re, Im) (N, 2, T, H, W)
///   dual-unet-3d  DualUnet3d, cine, seed 001 (cine_nets.hpp)  kPackedCineInput
///   residual-unet-3d  CineUnet3d, cine (cine_nets.hpp)        kPackedCineInput
///   dncn-3d-ds    Dncn3d, cine, data sharing (cine_nets.hpp)  kPackedCineInput
///   sr-dcgan      SrDcganGenerator, seed 002's 4x super-       kLowResolutionInput: (|low| / max - 0.5) / 0.5
///                 resolution generator (super_resolution_nets.hpp)
///   sr-resnet     SrResNet, residual super-resolution         kLowResolutionInput
///                 network (super_resolution_nets.hpp)
///   learned-sampling  LearnedSamplingNet: LOUPE mask + U-Net    kLearnedSamplingInput: zero-filled (Re, Im) /
///                 + DC, seed 000 (learned_sampling.hpp)       std|zero-filled|; its mask from learned_mask()
/// crnn and residual-unet-3d built with "initial_image": "gridding" or "sliding-window" reconstruct trajectory
/// (radial) cines instead
/// (model.json adds "trajectory_input": kTrajectoryCineInput; CRNN's DC is then the NUFFT CG step, nufft_dc.hpp).
///
/// model.json files are written by the network_json(options) overloads (unet_options_json for the U-Net), the
/// format studies have always written; options added later are read with their defaults when absent, so older
/// files keep loading. Exception: the k-space U-Net's "norm" and "conjugate_channels" and the cascade's "norm" and
/// "final_dc" (issue 7: the networks standardise their own input) are read as "none" / false when absent, the
/// networks those files were trained as (new files write "standardised" / true).
///
/// Usage: `auto rec = load_reconstructor("dncn", "run/dncn/final.pt");` (model.json beside final.pt);
/// `NetworkModel m = build_model(network_json(opts), seed);` then train(m, ...) and save_model(m, dir).
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"
#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/cine_nets.hpp"
#include "reconlab/networks/learned_sampling.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/nufft_modl.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/networks/super_resolution_nets.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"
#include "reconlab/reconstructor.hpp"

namespace reconlab::networks {

/// A network built by the registry: its name, its model.json, the module, and what the trainer and the tool need
/// of it without knowing its type.
struct NetworkModel {
  /// Registry name (model.json's "architecture").
  std::string name;
  /// The model.json it was built from (architecture, options, input convention).
  nlohmann::json config;
  /// The network (a UnetImpl, KspaceUnetImpl, ...); as<Holder>() gives it typed.
  std::shared_ptr<torch::nn::Module> module;
  /// The prediction the network is trained on, for a batch (batch.hpp): forward(batch.input) when the batch has
  /// an input, else forward(batch).
  std::function<torch::Tensor(const Batch&)> forward;
  /// The network as a Reconstructor; `weights_label` is recorded in its parameters() as "weights".
  std::function<std::unique_ptr<Reconstructor>(const std::string& weights_label)> reconstructor;

  /// The module as its ModuleHolder type (e.g. `m.as<Dncn>()`), sharing the weights. Throws Error when the
  /// model is of another type.
  template <class Holder>
  Holder as() const {
    auto p = std::dynamic_pointer_cast<typename Holder::Impl>(module);
    require(p != nullptr, "network '" + name + "' is not of the requested type");
    return Holder(p);
  }
};

/// One row of the registry.
struct RegistryEntry {
  /// Method and architecture name.
  std::string name;
  /// The input convention that model.json's "input" must state.
  std::string input;
  /// True for networks that reconstruct multi-coil k-space (with coil maps).
  bool multicoil = false;
  /// One line for help texts.
  std::string summary;
  /// Builds the network from model.json (already checked for name and input), initialised from torch's global
  /// generator. Throws Error or nlohmann::json::exception on missing or invalid options.
  std::function<NetworkModel(const nlohmann::json&)> build;
};

namespace detail {

/// forward for the registry: input when the batch has one, else the typed batch.
template <class Holder>
std::function<torch::Tensor(const Batch&)> registry_forward(Holder net) {
  return [net](const Batch& b) mutable { return predict(net, b); };
}

template <class Holder, class Options>
NetworkModel make_network_model(const std::string& name, const nlohmann::json& j, const Options& o,
                                std::function<std::unique_ptr<Reconstructor>(Holder, const std::string&,
                                                                             const nlohmann::json&)>
                                    wrap) {
  Holder net(o);
  NetworkModel m;
  m.name = name;
  m.config = j;
  m.module = net.ptr();
  m.forward = registry_forward(net);
  m.reconstructor = [net, name, j, wrap](const std::string& label) {
    auto params = j;
    params["weights"] = label;
    return wrap(net, name, params);
  };
  return m;
}

/// The single-coil data-consistent networks share one Reconstructor wrapper.
template <class Holder, class Options>
RegistryEntry dc_entry(const std::string& name, const std::string& summary,
                       std::function<Options(const nlohmann::json&)> parse) {
  return RegistryEntry{
      name, kPackedKspaceInput, false, summary, [name, parse](const nlohmann::json& j) {
        return make_network_model<Holder, Options>(
            name, j, parse(j), [](Holder net, const std::string& n, const nlohmann::json& params) {
              return std::unique_ptr<Reconstructor>(std::make_unique<NetworkReconstructor<Holder>>(net, n, params));
            });
      }};
}

/// The single-coil cine networks share one Reconstructor wrapper (CineNetworkReconstructor).
template <class Holder, class Options>
RegistryEntry cine_entry(const std::string& name, const std::string& summary,
                         std::function<Options(const nlohmann::json&)> parse) {
  return RegistryEntry{
      name, kPackedCineInput, false, summary, [name, parse](const nlohmann::json& j) {
        return make_network_model<Holder, Options>(
            name, j, parse(j), [](Holder net, const std::string& n, const nlohmann::json& params) {
              return std::unique_ptr<Reconstructor>(
                  std::make_unique<CineNetworkReconstructor<Holder>>(net, n, params));
            });
      }};
}

/// The cine networks' "initial_image" (absent in files written before it existed: "zero-filled").
inline cine::InitialImage cine_initial(const nlohmann::json& j) {
  return cine::initial_image_from_string(j.value("initial_image", std::string("zero-filled")));
}

inline UnetOptions unet_options_from_json(const nlohmann::json& j) {
  UnetOptions o;
  o.in_channels = j.at("in_channels");
  o.out_channels = j.at("out_channels");
  o.base_channels = j.at("base_channels");
  o.num_pool_layers = j.at("num_pool_layers");
  o.drop_prob = j.at("drop_prob");
  o.residual = j.at("residual");
  o.padding = unet_padding_from_string(j.value("padding", std::string("reflect")));  // absent before padding was stored
  return o;
}
inline KspaceUnetOptions kspace_unet_options_from_json(const nlohmann::json& j) {
  // "norm" absent: a model.json written before the k-space U-Net standardised its input (raw k-space).
  return KspaceUnetOptions{j.at("base_channels"), j.at("num_pool_layers"),
                           input_norm_from_string(j.value("norm", std::string("none"))),
                           j.value("conjugate_channels", false)};
}

}  // namespace detail

/// The registry (see the file comment), in the order of the table above.
inline const std::vector<RegistryEntry>& model_registry() {
  static const std::vector<RegistryEntry> entries = [] {
    std::vector<RegistryEntry> e;
    e.push_back(RegistryEntry{
        "unet", kMagnitudeInput, false, "image-domain U-Net on the standardised zero-filled magnitude (single-coil)",
        [](const nlohmann::json& j) {
          const UnetOptions o = detail::unet_options_from_json(j);
          return detail::make_network_model<Unet, UnetOptions>(
              "unet", j, o, [o](Unet net, const std::string&, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(
                    std::make_unique<UnetReconstructor>(net, o, params.value("weights", std::string())));
              });
        }});
    e.push_back(detail::dc_entry<KspaceUnet, KspaceUnetOptions>(
        "kspace-unet", "k-space U-Net with hard data consistency (single-coil)", detail::kspace_unet_options_from_json));
    e.push_back(detail::dc_entry<Cascade, CascadeOptions>(
        "cascade", "k-space U-Net then image U-Net cascade (single-coil)", [](const nlohmann::json& j) {
          // "norm" and "final_dc" absent: written before stage 2 standardised its input and ended with DC.
          return CascadeOptions{detail::kspace_unet_options_from_json(j.at("stage1")), j.at("base_channels"),
                                j.at("num_pool_layers"), input_norm_from_string(j.value("norm", std::string("none"))),
                                j.value("final_dc", false)};
        }));
    e.push_back(detail::dc_entry<Dncn, DncnOptions>(
        "dncn", "deep cascade of CNNs with data consistency, Schlemper et al. 2018 (single-coil)",
        [](const nlohmann::json& j) {
          return DncnOptions{j.at("cascades"), j.at("conv_layers"), j.at("features"), j.at("shared_weights"),
                             dc_mode_from_string(j.at("dc"))};
        }));
    e.push_back(detail::dc_entry<Modl, ModlOptions>(
        "modl", "MoDL, unrolled CNN + CG data consistency, Aggarwal et al. 2019 (single-coil)",
        [](const nlohmann::json& j) {
          return ModlOptions{j.at("iterations"), j.at("cg_iterations"), j.at("conv_layers"), j.at("features"),
                             j.at("lambda_init")};
        }));
    e.push_back(RegistryEntry{
        "modl-sense", kPackedSenseInput, true, "MoDL with SENSE data consistency (multi-coil, coil maps)",
        [](const nlohmann::json& j) {
          const SenseModlOptions o{j.at("iterations"), j.at("cg_iterations"), j.at("conv_layers"), j.at("features"),
                                   j.at("lambda_init")};
          return detail::make_network_model<SenseModl, SenseModlOptions>(
              "modl-sense", j, o, [](SenseModl net, const std::string& n, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(std::make_unique<SenseModlReconstructor>(net, n, params));
              });
        }});
    e.push_back(RegistryEntry{
        "nufft-modl", kTrajectoryInput, true,
        "MoDL with NUFFT data consistency (CG on the density-weighted Toeplitz normal; trajectories, any coil count)",
        [](const nlohmann::json& j) {
          const NufftModlOptions o{j.at("iterations"), j.at("cg_iterations"), j.at("conv_layers"), j.at("features"),
                                   j.at("lambda_init"), j.at("width"), j.at("oversampling")};
          return detail::make_network_model<NufftModl, NufftModlOptions>(
              "nufft-modl", j, o, [](NufftModl net, const std::string& n, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(std::make_unique<NufftModlReconstructor>(net, n, params));
              });
        }});
    e.push_back(detail::cine_entry<CrnnMri, CrnnOptions>(
        "crnn", "CRNN-MRI, Qin et al. 2019: bidirectional convolutional recurrence, DC per frame (single-coil cine)",
        [](const nlohmann::json& j) {
          return CrnnOptions{j.at("iterations"), j.at("features"), j.at("kernel_size"),
                             j.value("shared_directions", true), detail::cine_initial(j),
                             j.value("cg_iterations", int64_t{4}), j.value("lambda_init", 0.05),
                             j.value("window", int64_t{5})};
        }));
    e.push_back(detail::cine_entry<DualUnet3d, DualUnetOptions>(
        "dual-unet-3d", "seed 001: dual U-Net with attention (real/imaginary) + 3D ResNet, optional DC and cascade "
                        "(single-coil cine)",
        [](const nlohmann::json& j) {
          return DualUnetOptions{j.at("frames"),          j.at("features"),        j.at("num_pool_layers"),
                                 j.at("dropout"),         j.value("negative_slope", 0.1), j.at("resnet_features"),
                                 j.at("resnet_blocks"),   j.at("dc"),              j.value("cascades", int64_t{1}),
                                 detail::cine_initial(j)};
        }));
    e.push_back(detail::cine_entry<CineUnet3d, CineUnet3dOptions>(
        "residual-unet-3d", "spatio-temporal residual 3D U-Net, Hauptmann et al. 2019 (single-coil cine)",
        [](const nlohmann::json& j) {
          return CineUnet3dOptions{j.at("base_channels"), j.at("num_pool_layers"), j.value("drop_prob", 0.0),
                                   j.value("final_dc", false), detail::cine_initial(j), j.value("window", int64_t{5})};
        }));
    e.push_back(detail::cine_entry<Dncn3d, Dncn3dOptions>(
        "dncn-3d-ds", "DnCn-3D with data sharing, Schlemper et al. 2018 (single-coil cine)", [](const nlohmann::json& j) {
          return Dncn3dOptions{j.at("cascades"), j.at("conv_layers"), j.at("features"),
                               j.at("frame_distances").get<std::vector<int64_t>>(), detail::cine_initial(j)};
        }));
    e.push_back(RegistryEntry{
        "sr-dcgan", kLowResolutionInput, false,
        "seed 002: SR-DCGAN generator, 4x super-resolution of low-resolution acquisitions",
        [](const nlohmann::json& j) {
          require(j.value("scale", int64_t{4}) == 4, "sr-dcgan upsamples by 4");
          const SrDcganOptions o{j.at("width")};
          return detail::make_network_model<SrDcganGenerator, SrDcganOptions>(
              "sr-dcgan", j, o, [](SrDcganGenerator net, const std::string& n, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(
                    std::make_unique<SrNetworkReconstructor<SrDcganGenerator>>(net, n, params, 4));
              });
        }});
    e.push_back(RegistryEntry{
        "sr-resnet", kLowResolutionInput, false,
        "residual super-resolution network (EDSR-style, sub-pixel upsampling) on low-resolution acquisitions",
        [](const nlohmann::json& j) {
          const SrResNetOptions o{j.at("features"), j.at("blocks"), j.at("scale")};
          return detail::make_network_model<SrResNet, SrResNetOptions>(
              "sr-resnet", j, o, [o](SrResNet net, const std::string& n, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(
                    std::make_unique<SrNetworkReconstructor<SrResNet>>(net, n, params, o.scale));
              });
        }});
    e.push_back(RegistryEntry{
        "learned-sampling", kLearnedSamplingInput, false,
        "seed 000 / LOUPE: a learned sampling mask trained with GO_RecoNet's U-Net (or ours) and data consistency",
        [](const nlohmann::json& j) {
          const LearnedSamplingOptions o = learned_sampling_options_from_json(j);
          return detail::make_network_model<LearnedSamplingNet, LearnedSamplingOptions>(
              "learned-sampling", j, o, [](LearnedSamplingNet net, const std::string& n, const nlohmann::json& params) {
                return std::unique_ptr<Reconstructor>(std::make_unique<LearnedSamplingReconstructor>(net, n, params));
              });
        }});
    return e;
  }();
  return entries;
}

/// The registered names, in registry order (the network methods of `reconlab recon`).
inline std::vector<std::string> network_method_names() {
  std::vector<std::string> names;
  for (const auto& e : model_registry()) names.push_back(e.name);
  return names;
}

/// True when `name` is registered.
inline bool is_network_method(const std::string& name) {
  const auto names = network_method_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// The entry of `name`. Throws Error naming the registered names when there is none.
inline const RegistryEntry& registry_entry(const std::string& name) {
  for (const auto& e : model_registry())
    if (e.name == name) return e;
  std::string known;
  for (const auto& n : network_method_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown network '" + name + "' (registered networks: " + known + ")");
}

/// Builds the network that `model_json` describes ("architecture" names the entry; "input" must be its input
/// convention). With `seed`, torch::manual_seed(seed) first, so the initial weights depend on the seed alone
/// (LibTorch seeds its generator from the operating system otherwise). `what` names the source in messages.
/// Throws Error for an unknown architecture, another input convention, or missing or invalid options.
inline NetworkModel build_model(const nlohmann::json& model_json, std::optional<uint64_t> seed = std::nullopt,
                                const std::string& what = "model.json") {
  require(model_json.is_object() && model_json.contains("architecture") && model_json["architecture"].is_string(),
          what + " has no \"architecture\" (one of the registered networks)");
  const std::string arch = model_json["architecture"];
  const RegistryEntry& entry = registry_entry(arch);
  require(model_json.value("input", std::string()) == entry.input,
          what + ": input convention \"" + model_json.value("input", std::string()) + "\" is not the one " + arch +
              " is trained with (\"" + entry.input + "\")");
  if (seed) torch::manual_seed(*seed);
  try {
    return entry.build(model_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(arch + ": malformed " + what + ": " + e.what());
  } catch (const Error& e) {
    throw Error(arch + ": invalid " + what + ": " + e.what());
  }
}

/// Reads the model.json beside `weights` (a final.pt or checkpoint.pt). Throws Error when it is missing or not
/// JSON.
inline nlohmann::json read_model_json(const std::filesystem::path& weights) {
  const auto path = weights.parent_path() / "model.json";
  std::ifstream in(path);
  require(static_cast<bool>(in), "cannot open " + path.string() + " (model.json must sit beside the weights " +
                                     weights.string() + ")");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error("malformed " + path.string() + ": " + e.what());
  }
}

/// Loads the trained network `name` from `weights` (final.pt, or a trainer checkpoint.pt) and the model.json
/// beside it. Throws Error for an unknown name, a missing or malformed model.json, a model.json that describes
/// another architecture or input convention, and weights that do not match the architecture (missing, extra or
/// differently shaped tensors; see load_weights).
inline NetworkModel load_model(const std::string& name, const std::filesystem::path& weights) {
  registry_entry(name);  // unknown names first
  const auto json_path = weights.parent_path() / "model.json";
  const nlohmann::json j = read_model_json(weights);
  const std::string arch = j.is_object() ? j.value("architecture", std::string()) : std::string();
  require(arch == name, json_path.string() + " describes architecture '" + arch + "', not '" + name + "'");
  NetworkModel m = build_model(j, std::nullopt, json_path.string());
  load_weights(*m.module, weights);
  m.module->eval();
  return m;
}

/// The Reconstructor of the trained network `name` (load_model), recording `weights` in its parameters.
/// Throws Error as load_model.
inline std::unique_ptr<Reconstructor> load_reconstructor(const std::string& name,
                                                         const std::filesystem::path& weights) {
  return load_model(name, weights).reconstructor(weights.string());
}

/// Writes `model`'s model.json and weights (final.pt) into `dir` (created if missing), each atomically, so that
/// load_model(model.name, dir / "final.pt") gives the same network.
inline void save_model(const NetworkModel& model, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  io::atomic_write_text(dir / "model.json", model.config.dump(1));
  save_weights(*model.module, dir / "final.pt");
}

/// Trains a registry model with the supervised task (train(TrainingTask&, ...) with model.forward) on the typed
/// batches. See trainer.hpp.
inline TrainResult train(NetworkModel& model, const Batch& train_set, const Batch& val_set,
                         const TrainOptions& options) {
  TrainingTask task = supervised_task(*model.module, model.forward, options.loss);
  return train(task, train_set, val_set, options);
}

}  // namespace reconlab::networks
