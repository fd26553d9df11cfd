// The network methods of `reconlab recon`, built as a module (libreconlab_networks_cli.so) that the tool loads with
// dlopen only when a network method is asked for (network_loader.cpp): this is the only part of the tool that links
// LibTorch, whose loading costs about 0.35 s per process. Every network is served by the model registry
// (reconlab/networks/registry.hpp). The entry points are extern "C" so the loader finds them by name; they pass C++
// objects, which is sound because module and tool are built by one compiler against one standard library.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "reconlab/io/npy.hpp"
#include "reconlab/networks/distributed.hpp"
#include "reconlab/networks/registry.hpp"
#include "train_command.hpp"

/// Writes the registry's method names to *out.
extern "C" void reconlab_network_method_names(std::vector<std::string>* out) {
  *out = reconlab::networks::network_method_names();
}

/// The trained network `*method` loaded from `*weights` (model.json beside it), released to the caller, which owns
/// it (the module stays loaded for the process). Throws reconlab::Error as networks::load_reconstructor, and when
/// `*weights` is empty.
extern "C" reconlab::Reconstructor* reconlab_make_network_reconstructor(const std::string* method,
                                                                        const std::string* weights) {
  reconlab::require(!weights->empty(),
                    "--method " + *method + " needs --weights (a trained final.pt with model.json beside it)");
  return reconlab::networks::load_reconstructor(*method, *weights).release();
}

/// The test-time mask of the trained learned-sampling model at `*weights` (model.json beside it), written to *out
/// as (nx, ny, 1, 1, 1) 0/1, with its description in *description. Throws reconlab::Error as networks::load_model,
/// for an empty path, and when model.json describes another architecture.
extern "C" void reconlab_learned_mask(const std::string* weights, reconlab::RArray* out, std::string* description) {
  reconlab::require(!weights->empty(), "--type learned needs --weights (a trained learned-sampling final.pt)");
  auto model = reconlab::networks::load_model("learned-sampling", *weights);
  auto net = model.as<reconlab::networks::LearnedSamplingNet>();
  *out = reconlab::networks::learned_mask(net);
  *description = "learned (LOUPE) " + std::string(net->options.mask.columns ? "column" : "2D") + " mask of " + *weights +
                 ": the round(rate N) most probable " + (net->options.mask.columns ? "columns" : "samples") +
                 ", rate " + std::to_string(net->options.mask.rate);
}

namespace {

/// A real float32 array of rank 4 from a .npy file, as a tensor (N, C, H, W). Throws Error naming the option.
torch::Tensor read_tensor4(const std::string& path, const char* option) {
  const auto a = reconlab::io::read_npy(path);
  reconlab::require(!a.is_complex, std::string(option) + " " + path +
                                       " is complex: store real channels (e.g. real and imaginary parts as C = 2)");
  reconlab::require(a.shape.size() == 4 && a.size() > 0,
                    std::string(option) + " " + path + " has shape " + reconlab::io::npy_detail::shape_string(a.shape) +
                        "; expected (N, C, H, W) with no zero size");
  std::vector<int64_t> shape(a.shape.begin(), a.shape.end());
  auto t = torch::from_blob(const_cast<float*>(a.data_r.data()), shape, torch::kFloat32).clone();
  reconlab::require(torch::isfinite(t).all().item<bool>(), std::string(option) + " " + path + " holds NaN or Inf");
  return t;
}

}  // namespace

/// `reconlab train` as one rank (tools/train_command.hpp): arrays from .npy, the model from model.json (built with
/// the seed, so every rank starts from the same weights even before rank 0's broadcast), the process group when
/// world_size > 1, networks::train into args->out; rank 0 writes model.json and prints one JSON line. Throws
/// reconlab::Error as networks::train, build_model and read_npy do.
extern "C" void reconlab_train(const reconlab::tool::TrainArgs* args) {
  namespace nw = reconlab::networks;
  const auto& a = *args;
  nlohmann::json model_json;
  {
    std::ifstream in(a.model);
    reconlab::require(static_cast<bool>(in), "--model: cannot open " + a.model);
    try {
      model_json = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw reconlab::Error("--model " + a.model + " is not JSON: " + e.what());
    }
  }
  reconlab::require(a.val_inputs.empty() == a.val_targets.empty(),
                    "--val-inputs and --val-targets go together (both or neither)");
  const torch::Tensor x = read_tensor4(a.inputs, "--inputs"), y = read_tensor4(a.targets, "--targets");
  reconlab::require(x.size(0) == y.size(0), "--inputs has " + std::to_string(x.size(0)) + " samples, --targets " +
                                                std::to_string(y.size(0)));
  nw::Batch val;
  if (!a.val_inputs.empty()) {
    const torch::Tensor xv = read_tensor4(a.val_inputs, "--val-inputs"), yv = read_tensor4(a.val_targets, "--val-targets");
    reconlab::require(xv.size(0) == yv.size(0), "--val-inputs has " + std::to_string(xv.size(0)) +
                                                    " samples, --val-targets " + std::to_string(yv.size(0)));
    val = nw::image_batch(xv, yv);
  }
  nw::NetworkModel model = nw::build_model(model_json, a.seed, a.model);
  nw::TrainOptions o;
  o.epochs = a.epochs;
  o.batch_size = a.batch_size;
  o.learning_rate = a.learning_rate;
  o.loss = a.loss;
  o.lr_schedule = a.schedule;
  o.seed = a.seed;
  o.threads = a.threads;
  o.select_best_validation = a.select_best;
  o.checkpoint_dir = a.out;
  if (a.world_size > 1)
    o.process_group = nw::ProcessGroup::connect(nw::DistributedOptions{
        .world_size = a.world_size, .rank = a.rank, .master = a.master, .timeout_seconds = a.timeout});
  if (a.rank == 0) {
    std::filesystem::create_directories(a.out);
    reconlab::io::atomic_write_text(std::filesystem::path(a.out) / "model.json", model.config.dump(1));
  }
  const nw::TrainResult r = nw::train(model, nw::image_batch(x, y), val, o);
  if (a.rank == 0) {
    nlohmann::json j = {{"architecture", model.name},
                        {"samples", x.size(0)},
                        {"epochs", a.epochs},
                        {"epochs_run", r.epochs_run},
                        {"resumed", r.resumed},
                        {"world_size", a.world_size},
                        {"seconds", r.seconds},
                        {"train_loss", r.train_loss.empty() ? nlohmann::json() : nlohmann::json(r.train_loss.back())},
                        {"val_loss", r.val_loss.empty() || std::isnan(r.val_loss.back())
                                         ? nlohmann::json()
                                         : nlohmann::json(r.val_loss.back())},
                        {"weights", (std::filesystem::path(a.out) / "final.pt").string()}};
    std::cout << j.dump() << std::endl;
  }
}
