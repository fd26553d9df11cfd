#pragma once
/// @file study_training.hpp
/// What every study does with a network: train it in its own folder (checkpoints, loss.csv, final.pt and
/// model.json, resuming after an interruption) or load the finished weights; and the four data-consistent networks
/// of cascade_nets.hpp (k-space U-Net, cascade, DnCn, MoDL) trained on one packed data set, as Reconstructors.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "reconlab/io/atomic.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/trainer.hpp"

namespace reconlab::networks {

/// A network's training and validation tensors (inputs x, targets y), as trainer.hpp's tensor form takes them.
struct TrainingTensors {
  torch::Tensor x, y, xv, yv;
};

/// A network's training and validation sets as typed Batches (batch.hpp; val may be empty).
struct TrainingBatches {
  Batch train, val;
};

/// Trains `task` with `options` (its checkpoint_dir is set to `dir`) on the Batches `make_data()` returns, writing
/// `model_json` to dir/model.json first; when dir/final.pt exists the finished weights of the first trainable are
/// loaded instead (final_<name>.pt of the others when present) and `make_data` is not called (a resumed study does
/// not rebuild its training set). Returns a summary for the study manifest ({} when loaded). Throws Error as
/// train() and load_weights() do.
inline nlohmann::json train_or_load(TrainingTask& task, const std::filesystem::path& dir,
                                    const nlohmann::json& model_json, const std::function<TrainingBatches()>& make_data,
                                    TrainOptions options) {
  std::filesystem::create_directories(dir);
  io::atomic_write_text(dir / "model.json", model_json.dump(1));
  if (std::filesystem::exists(dir / "final.pt")) {
    for (std::size_t i = 0; i < task.trainables.size(); ++i) {
      const auto f = dir / (i == 0 ? std::string("final.pt") : "final_" + task.trainables[i].name + ".pt");
      if (i == 0 || std::filesystem::exists(f)) load_weights(*task.trainables[i].module, f);
    }
    spdlog::info("{}: loaded finished training from {}", dir.filename().string(), (dir / "final.pt").string());
    return nlohmann::json::object();
  }
  const TrainingBatches d = make_data();
  options.checkpoint_dir = dir.string();
  spdlog::info("{}: training on {} samples for {} epochs (task {}, loss {})", dir.filename().string(), d.train.size(),
               options.epochs, task.name, options.loss);
  const TrainResult r = train(task, d.train, d.val, options);
  nlohmann::json j = {{"epochs", options.epochs},          {"loss", options.loss},
                      {"learning_rate", options.learning_rate}, {"schedule", options.lr_schedule},
                      {"batch_size", options.batch_size},  {"samples", d.train.size()},
                      {"seconds", r.seconds},              {"final_train_loss", r.train_loss.back()},
                      {"final_val_loss", r.val_loss.back()}, {"task", task.name}};
  for (const auto& [name, v] : r.learning_rates) j["learning_rates"][name] = {v.front(), v.back()};
  return j;
}

/// train_or_load of a network with the supervised task (model(input) against target under options.loss).
template <class Net>
nlohmann::json train_or_load(Net& net, const std::filesystem::path& dir, const nlohmann::json& model_json,
                             const std::function<TrainingBatches()>& make_data, TrainOptions options) {
  TrainingTask task = supervised_task(
      detail::module_of(net), [&net](const Batch& b) { return detail::predict(net, b); }, options.loss);
  return train_or_load(task, dir, model_json, make_data, std::move(options));
}

/// train_or_load on tensors: the Batches image_batch(x, y) and image_batch(xv, yv) (no validation when xv is
/// empty), as train()'s tensor form.
template <class Net>
nlohmann::json train_or_load(Net& net, const std::filesystem::path& dir, const nlohmann::json& model_json,
                             const std::function<TrainingTensors()>& make_data, TrainOptions options) {
  return train_or_load(net, dir, model_json, std::function<TrainingBatches()>([&] {
                         const TrainingTensors d = make_data();
                         const bool has_val = d.xv.defined() && d.xv.numel() > 0;
                         return TrainingBatches{image_batch(d.x, d.y), has_val ? image_batch(d.xv, d.yv) : Batch{}};
                       }),
                       std::move(options));
}

/// train_or_load on tensors already built: (x, y) for training, (xv, yv) for validation.
template <class Net>
nlohmann::json train_or_load(Net& net, const std::filesystem::path& dir, const nlohmann::json& model_json,
                             const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& xv,
                             const torch::Tensor& yv, TrainOptions options) {
  return train_or_load(net, dir, model_json, std::function<TrainingTensors()>([&] {
                         return TrainingTensors{x, y, xv, yv};
                       }),
                       std::move(options));
}

/// Sizes of the data-consistent networks a study trains.
struct DcSuiteOptions {
  KspaceUnetOptions kspace_unet;  ///< stage 1 of the cascade too
  int64_t cascade_channels = 8, cascade_pools = 3;
  DncnOptions dncn;
  ModlOptions modl;
  int epochs_kspace = 8, epochs_cascade = 8, epochs_unrolled = 8;
};

/// The four data-consistent networks trained (or loaded) under `out`/<name>, as Reconstructors keyed by method name
/// ("kspace-unet", "cascade", "dncn", "modl"). Inputs: packed k-space (N, 3, H, W) and targets (N, 1, H, W) as
/// network_reconstructor.hpp documents; `base` carries the shared training settings (seed, threads, schedule).
/// `manifest` receives each network's training summary under "training". The cascade is trained with the
/// documented loss mix 0.5 L1 + 0.5 L2 on top of the frozen, trained k-space U-Net.
inline std::map<std::string, std::shared_ptr<Reconstructor>> train_dc_suite(
    const std::filesystem::path& out, const DcSuiteOptions& o, const torch::Tensor& x, const torch::Tensor& y,
    const torch::Tensor& xv, const torch::Tensor& yv, const TrainOptions& base, nlohmann::json& manifest) {
  std::map<std::string, std::shared_ptr<Reconstructor>> nets;
  auto opts = [&](int epochs, const std::string& loss) {
    TrainOptions t = base;
    t.epochs = epochs;
    t.loss = loss;
    return t;
  };
  auto record = [&](const std::string& name, nlohmann::json j) {
    if (!j.empty()) manifest["training"][name] = std::move(j);
  };
  torch::manual_seed(base.seed + 1);
  KspaceUnet kunet(o.kspace_unet);
  record("kspace-unet", train_or_load(kunet, out / "kspace-unet", network_json(o.kspace_unet), x, y, xv, yv,
                                      opts(o.epochs_kspace, "l1")));
  const CascadeOptions copt{o.kspace_unet, o.cascade_channels, o.cascade_pools};
  torch::manual_seed(base.seed + 2);
  Cascade cascade(copt);
  cascade->set_stage1(kunet);
  record("cascade", train_or_load(cascade, out / "cascade", network_json(copt), x, y, xv, yv,
                                  opts(o.epochs_cascade, "0.5*l1+0.5*l2")));
  torch::manual_seed(base.seed + 3);
  Dncn dncn(o.dncn);
  record("dncn", train_or_load(dncn, out / "dncn", network_json(o.dncn), x, y, xv, yv, opts(o.epochs_unrolled, "l1")));
  torch::manual_seed(base.seed + 4);
  Modl modl(o.modl);
  record("modl", train_or_load(modl, out / "modl", network_json(o.modl), x, y, xv, yv, opts(o.epochs_unrolled, "l1")));
  manifest["modl_lambda"] = modl->lambda();
  nets["kspace-unet"] = std::make_shared<NetworkReconstructor<KspaceUnet>>(kunet, "kspace-unet", network_json(o.kspace_unet));
  nets["cascade"] = std::make_shared<NetworkReconstructor<Cascade>>(cascade, "cascade", network_json(copt));
  nets["dncn"] = std::make_shared<NetworkReconstructor<Dncn>>(dncn, "dncn", network_json(o.dncn));
  nets["modl"] = std::make_shared<NetworkReconstructor<Modl>>(modl, "modl", network_json(o.modl));
  return nets;
}

}  // namespace reconlab::networks
