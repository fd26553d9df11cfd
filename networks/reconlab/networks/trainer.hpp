#pragma once
/// @file trainer.hpp
/// The one trainer of reconlab, for every network (a U-Net denoiser or de-aliaser, an unrolled network, a GAN
/// with two optimisers, a network with a learnable sampling mask): seeded, with learning-rate schedules,
/// validation after every epoch, atomic checkpoints (weights and optimiser state of every trained module, epoch,
/// loss history) that a rerun resumes from, a loss curve in CSV, a progress bar with ETA, and a clear error when
/// the loss stops being finite. The training loop follows fastMRI's `UnetModule` (Zbontar et al. 2018: Adam, L1
/// loss, step decay of the learning rate) and pytorch/examples `cpp/mnist`.
///
/// What one batch does is pluggable (a TrainingTask): the trainer owns the data order, the seeds, the optimisers
/// (one per Trainable, Adam by default; Kingma and Ba, "Adam: A method for stochastic optimization", ICLR 2015),
/// the learning-rate schedule, checkpoints, resume, progress and loss.csv; the task's step receives the typed
/// Batch (batch.hpp: k-space, sampling, maps, input, target) and the optimisers, and returns the loss. The usual
/// supervised case (model(input) against target under an L1/L2/SSIM loss, one Adam) is `train(model, ...)`.
///
/// Files written into TrainOptions::checkpoint_dir (each atomically: temporary file beside it, then rename):
///   checkpoint.pt   after every epoch: weights and optimiser state of every trainable, epochs done, loss
///                   history, run settings (the first trainable under "model"/"optimizer", as before)
///   loss.csv        after every epoch: `epoch,train_loss,val_loss,lr,seconds` (epoch counted from 1)
///   final.pt        at the end: the first trainable's weights, readable by load_weights (same format as
///                   torch::save(module, path)); final_<name>.pt for every further trainable
///
/// Reproducibility: torch::manual_seed(seed) at the start and torch::manual_seed(mix(seed, epoch)) before every
/// epoch, the data order from (seed, epoch) alone (Fisher-Yates on std::mt19937_64's raw output, which the C++
/// standard fixes), torch's deterministic algorithms on and a fixed thread count for the call: two runs from the
/// same initial weights, data, seed and thread count give bit-identical weights. Initial weights are the caller's
/// (LibTorch seeds its global generator from the operating system at start-up): build the model after
/// torch::manual_seed, or with networks::build_model(model_json, seed) (registry.hpp).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"
#include "reconlab/networks/batch.hpp"
#include "reconlab/networks/distributed.hpp"
#include "reconlab/networks/losses.hpp"

namespace reconlab::networks {

/// Settings of train(); an aggregate.
struct TrainOptions {
  /// Total number of epochs (>= 0). When resuming, training continues until this many epochs are done.
  int epochs = 10;
  /// Samples per optimisation step (>= 1); the last batch of an epoch may be smaller.
  int batch_size = 4;
  /// Base learning rate (> 0, finite) of every optimiser (times Trainable::lr_scale).
  double learning_rate = 1e-3;
  /// L2 weight decay (>= 0) of the default Adam optimisers, added to the gradient as in torch.optim.Adam.
  double weight_decay = 0.0;
  /// Seeds torch::manual_seed at the start, the torch generator of each epoch (dropout) and each epoch's shuffle.
  uint64_t seed = 0;
  /// Folder of checkpoint.pt, loss.csv and final.pt (created if missing; must not be empty).
  std::string checkpoint_dir;
  /// "l1" (mean absolute error, fastMRI's choice), "l2" (mean squared error), "ssim" (fastMRI's SSIMLoss) or a
  /// weighted mix such as "0.84*ssim+0.16*l1" (see losses.hpp for the definitions): the loss of the supervised
  /// task; a custom task may ignore it (it is still stored in the checkpoint and checked on resume).
  std::string loss = "l1";
  /// Learning rate of epoch e (0-based), with lr0 = learning_rate:
  ///   "constant"     lr0
  ///   "step"         lr0 * gamma^floor(e / step_size)        (torch.optim.lr_scheduler.StepLR)
  ///   "exponential"  lr0 * gamma^e                           (ExponentialLR)
  ///   "cosine"       lr0 * (1 + cos(pi * e / epochs)) / 2    (CosineAnnealingLR with T_max = epochs, eta_min = 0)
  ///   "warmup-cosine"  W = warmup_epochs: lr0 * (f + (1 - f) e / W) for e < W (linear warm-up from f lr0, f =
  ///                  warmup_factor), then lr0 * (1 + cos(pi * (e - W) / (epochs - W))) / 2 (seed 001's "warm-up
  ///                  phase followed by cosine decay", warm-up 5 % of the epochs from 1e-3 lr0; its lr_scheduler
  ///                  function is not in the seed's stored files, so this is the usual form of that schedule)
  std::string lr_schedule = "constant";
  /// Warm-up epochs W of "warmup-cosine" (0 <= W < epochs; seed 001: 5 % of the epochs).
  int warmup_epochs = 0;
  /// Starting fraction f of the warm-up of "warmup-cosine" (in (0, 1]; seed 001: 1e-3).
  double warmup_factor = 1e-3;
  /// Epochs per step of the "step" schedule (>= 1 when used).
  int step_size = 10;
  /// Decay factor of "step" and "exponential" (> 0 when used).
  double gamma = 0.1;
  /// Progress bar on stderr when stderr is a terminal; otherwise (or when false) one log line per epoch.
  bool progress = true;
  /// torch::set_num_threads during training (restored afterwards); 0 = std::thread::hardware_concurrency().
  int threads = 0;
  /// Model selection on the validation set ("early stopping" by the validation loss, e.g. Goodfellow, Bengio and
  /// Courville, Deep Learning, 2016, Sec. 7.8): the validation loss of the initial weights is measured before the
  /// first epoch (epoch 0), the weights of the epoch with the lowest validation loss so far are kept in
  /// checkpoint_dir/best.pt (best_<name>.pt for further trainables, written atomically before the checkpoint), and
  /// at the end those weights are loaded into the trainables and written as final.pt. Ties keep the earlier epoch.
  /// Needs a validation set. With false the last epoch's weights are final.
  bool select_best_validation = false;
  /// Data-parallel training over the processes of this group (distributed.hpp; ProcessGroup::connect), or null
  /// for one process. Every rank calls train() with the same options (bar this group), data, task and
  /// checkpoint_dir (one folder all ranks see: one machine, or a shared file system). Each global batch of
  /// batch_size samples is split over the ranks (shard_range), so batch_size >= world size and the last batch of an
  /// epoch must also hold at least world-size samples; gradients are scaled by n_r / batch_size and summed before
  /// every optimiser step, so the weights follow those of one process with the same batch_size up to the order of
  /// floating-point sums (BatchNorm's batch statistics are per rank, as in DistributedDataParallel without
  /// SyncBatchNorm; its running buffers are rank 0's, broadcast after every epoch). Rank 0 writes every file and
  /// logs; the initial weights are rank 0's. A checkpoint resumes only with the world size it was written with.
  std::shared_ptr<ProcessGroup> process_group;
};

/// What train() returns.
struct TrainResult {
  /// Mean training loss per epoch (per image over the epoch, with the weights of the moment), the whole history
  /// including epochs loaded from a checkpoint.
  std::vector<double> train_loss;
  /// Validation loss per epoch after that epoch's last step (NaN where no validation set was given).
  std::vector<double> val_loss;
  /// Epochs run by this call (0 when the checkpoint already had all of them).
  int epochs_run = 0;
  /// True when this call started from checkpoint_dir/checkpoint.pt.
  bool resumed = false;
  /// Wall-clock seconds of this call.
  double seconds = 0.0;
  /// With select_best_validation: the validation loss of the initial weights (epoch 0), the epoch whose weights
  /// are final (0 = the initial weights, 1..epochs) and its validation loss; NaN / -1 without.
  double initial_val_loss = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = -1;
  double best_val_loss = std::numeric_limits<double>::quiet_NaN();
  /// What the task's step recorded with StepContext::record, per name: the per-epoch mean (weighted by batch
  /// size; NaN for an epoch that did not record it), the whole history (e.g. a GAN's discriminator loss).
  std::map<std::string, std::vector<double>> metrics;
  /// The learning rate per epoch of every trainable with its own Trainable::learning_rate, by name.
  std::map<std::string, std::vector<double>> learning_rates;
};

namespace detail {

/// The module object behind a module object, a ModuleHolder (e.g. Unet) or a std::shared_ptr to a module.
template <class M>
auto& impl_of(M& m) {
  if constexpr (std::is_base_of_v<torch::nn::Module, M>)
    return m;
  else
    return *m;
}

/// The torch::nn::Module behind a module object, a ModuleHolder (e.g. Unet) or a std::shared_ptr to a module.
template <class M>
torch::nn::Module& module_of(M& m) {
  return impl_of(m);
}

/// The model's prediction for a batch: forward(batch.input) when the batch has an image-domain input (the
/// U-Net, or packed k-space), else forward(batch) for networks that take the typed batch (the k-space networks;
/// the cine networks have only this form). Throws Error when neither applies.
template <class M>
torch::Tensor predict(M& m, const Batch& b) {
  auto& impl = impl_of(m);
  if constexpr (requires { impl.forward(b.input); }) {
    if (b.input.defined()) return impl.forward(b.input);
  } else {
    if (b.input.defined() && !b.kspace.defined())
      throw Error("train: the batch has an image `input` but the model takes k-space batches (forward(const Batch&))");
  }
  if constexpr (requires { impl.forward(b); })
    return impl.forward(b);
  else
    throw Error("train: the batch has no `input` and the model has no forward(const Batch&)");
}

inline std::string shape_string(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

/// Copies the parameters and buffers stored in `archive` (the format of torch::nn::Module::save) into `module`,
/// checking that names and shapes match exactly; throws Error naming `file` otherwise. LibTorch's own
/// Module::load replaces mismatching tensors silently, so it is not used.
inline void load_module_strict(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                               const std::string& file, const std::string& prefix = "") {
  torch::NoGradGuard no_grad;
  std::set<std::string> expected;
  auto load_tensor = [&](const std::string& name, torch::Tensor& dst, bool is_buffer) {
    expected.insert(name);
    torch::Tensor src;
    if (!archive.try_read(name, src, is_buffer))
      throw Error(file + ": does not match the architecture: no " + (is_buffer ? "buffer " : "parameter ") + prefix +
                  name);
    if (src.sizes() != dst.sizes())
      throw Error(file + ": does not match the architecture: " + prefix + name + " has shape " + shape_string(src) +
                  " in the file, " + shape_string(dst) + " in the model");
    dst.copy_(src);
  };
  for (auto& p : module.named_parameters(/*recurse=*/false)) load_tensor(p.key(), p.value(), false);
  for (auto& b : module.named_buffers(/*recurse=*/false)) load_tensor(b.key(), b.value(), true);
  for (const auto& c : module.named_children()) {
    expected.insert(c.key());
    torch::serialize::InputArchive child;
    if (!archive.try_read(c.key(), child))
      throw Error(file + ": does not match the architecture: no submodule " + prefix + c.key());
    load_module_strict(*c.value(), child, file, prefix + c.key() + ".");
  }
  for (const auto& key : archive.keys())
    if (!expected.count(key))
      throw Error(file + ": does not match the architecture: unexpected entry " + prefix + key);
}

/// Opens a LibTorch archive, turning a missing or unreadable file into reconlab::Error.
inline void open_archive(torch::serialize::InputArchive& archive, const std::filesystem::path& path,
                         const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(what + ": file not found: " + path.string());
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    throw Error(what + ": cannot read " + path.string() + " (not a LibTorch archive, or corrupt): " +
                e.what_without_backtrace());
  }
}

/// SplitMix64: mixes the seed and the epoch into an independent 64-bit seed.
inline uint64_t mix_seed(uint64_t seed, uint64_t epoch) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (epoch + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A permutation of 0..n-1 that depends only on (seed, epoch): Fisher-Yates driven by std::mt19937_64 (whose
/// output the standard fixes), not std::shuffle (whose algorithm it does not).
inline std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

/// Learning rate of 0-based epoch `e` (see TrainOptions::lr_schedule).
inline double lr_at(const TrainOptions& o, int e) {
  if (o.lr_schedule == "step") return o.learning_rate * std::pow(o.gamma, e / o.step_size);
  if (o.lr_schedule == "exponential") return o.learning_rate * std::pow(o.gamma, e);
  if (o.lr_schedule == "warmup-cosine") {
    const int w = o.warmup_epochs;
    if (e < w) return o.learning_rate * (o.warmup_factor + (1.0 - o.warmup_factor) * double(e) / double(w));
    return o.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * (e - w) / std::max(o.epochs - w, 1)));
  }
  if (o.lr_schedule == "cosine")
    return o.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * e / std::max(o.epochs, 1)));
  return o.learning_rate;
}

inline std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  const auto t = static_cast<long long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", t / 60, t % 60);
  return buf;
}

/// "%.9g" of v; NaN as "" (an empty CSV field) unless nan_text is given.
inline std::string format_number(double v, const char* nan_text = "") {
  if (std::isnan(v)) return nan_text;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// Sets torch's intra-op thread count and restores the previous one on destruction.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : previous_(torch::get_num_threads()) {
    int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
    torch::set_num_threads(std::max(n, 1));
  }
  ~ThreadScope() { torch::set_num_threads(previous_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

/// Turns on torch's deterministic algorithms (at::Context::setDeterministicAlgorithms; ops without a deterministic
/// implementation warn) and restores the previous setting on destruction.
class DeterminismScope {
 public:
  DeterminismScope()
      : previous_(at::globalContext().deterministicAlgorithms()),
        previous_warn_only_(at::globalContext().deterministicAlgorithmsWarnOnly()) {
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  }
  ~DeterminismScope() { at::globalContext().setDeterministicAlgorithms(previous_, previous_warn_only_); }
  DeterminismScope(const DeterminismScope&) = delete;
  DeterminismScope& operator=(const DeterminismScope&) = delete;

 private:
  bool previous_, previous_warn_only_;
};

inline torch::Tensor loss_of(const std::string& loss, const torch::Tensor& out, const torch::Tensor& target) {
  if (loss == "l1") return torch::l1_loss(out, target);
  if (loss == "l2") return torch::mse_loss(out, target);
  return compute_loss(parse_loss(loss), out, target);
}

inline torch::Tensor to_double_tensor(const std::vector<double>& v) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kFloat64));
}

inline std::vector<double> from_double_tensor(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace detail

/// Writes the weights (parameters and buffers) of `model` to `path` atomically, in the format of
/// torch::save(module, path). Throws reconlab::Error if the file cannot be written.
template <class Module>
void save_weights(Module& model, const std::filesystem::path& path) {
  io::atomic_write(path, [&](const std::filesystem::path& tmp) {
    torch::serialize::OutputArchive archive;
    detail::module_of(model).save(archive);
    archive.save_to(tmp.string());
  });
}

/// Loads weights written by save_weights, train()'s final.pt, torch::save(module, path), or the model part of a
/// train() checkpoint.pt into `model` (a module, a ModuleHolder such as Unet, or a shared_ptr to a module).
/// Names and shapes must match the model exactly. Throws reconlab::Error naming the file if it is missing,
/// unreadable, or does not match the architecture (missing, extra or differently shaped tensors).
template <class Module>
void load_weights(Module& model, const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  detail::open_archive(archive, path, "load_weights");
  try {
    torch::serialize::InputArchive nested;
    c10::IValue format;
    if (archive.try_read("reconlab_checkpoint", format) && archive.try_read("model", nested))
      detail::load_module_strict(detail::module_of(model), nested, path.string());
    else
      detail::load_module_strict(detail::module_of(model), archive, path.string());
  } catch (const c10::Error& e) {
    throw Error("load_weights: " + path.string() + " does not match the architecture: " +
                e.what_without_backtrace());
  }
}

/// One optimiser's worth of the things a task trains: a module (a network, a discriminator, a learnable mask
/// wrapped in a module), its learning-rate factor and, optionally, its optimiser.
struct Trainable {
  /// Name in checkpoints and file names (unique within a task; letters, digits, '-' and '_'). The first
  /// trainable's state is stored under "model"/"optimizer" and its weights in final.pt, whatever its name; the
  /// others under "model_<name>"/"optimizer_<name>" and in final_<name>.pt.
  std::string name = "model";
  /// The module (not owned: it must outlive train()). Every parameter is handed to the optimiser (parameters
  /// with requires_grad false are skipped by it as by Adam).
  torch::nn::Module* module = nullptr;
  /// Learning rate of this trainable = schedule(epoch) * lr_scale (> 0).
  double lr_scale = 1.0;
  /// Builds the optimiser from the parameters and the initial learning rate; empty = Adam with
  /// TrainOptions::weight_decay. The schedule sets every param group's lr before each epoch (set_lr).
  std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>, double)> make_optimizer{};
  /// This trainable's own learning rate at epoch e (0-based; finite, > 0), replacing TrainOptions' schedule x
  /// lr_scale: e.g. seed 002's 3e-5 x 0.95^e for a generator beside 2e-5 x 0.96^e for its discriminator. Its
  /// values go to TrainResult::learning_rates and loss.csv (column lr_<name>; the "lr" column when it is the first
  /// trainable's).
  std::function<double(int epoch)> learning_rate{};
};

/// What a step receives besides its batch: the optimisers (one per Trainable, in the task's order) and where the
/// trainer is.
struct StepContext {
  std::vector<torch::optim::Optimizer*> optimizers;
  int epoch = 0;            ///< 0-based
  int64_t batch = 0;        ///< 0-based within the epoch
  int64_t batches = 0;      ///< batches per epoch
  double learning_rate = 0; ///< the schedule's learning rate of this epoch (before lr_scale)
  /// Sums of the values recorded in this epoch (weighted by batch size); set by the trainer.
  std::map<std::string, double>* recorded = nullptr;
  int64_t batch_samples = 0;  ///< samples in this batch
  /// The i-th optimiser. Throws Error when there is none.
  torch::optim::Optimizer& optimizer(std::size_t i = 0) const {
    require(i < optimizers.size(), "train: the task has " + std::to_string(optimizers.size()) +
                                       " optimisers, step asked for number " + std::to_string(i));
    return *optimizers[i];
  }
  /// Records a per-batch value under `name` (letters, digits, '-' and '_'; not "epoch", "train_loss", "val_loss",
  /// "lr" or "seconds"): the trainer averages it over the epoch (weighted by batch size) into TrainResult::metrics,
  /// the checkpoint and a loss.csv column. Throws Error for a non-finite value or an invalid name.
  void record(const std::string& name, double value) const {
    require(!name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
                                 std::string::npos && name != "epoch" && name != "train_loss" && name != "val_loss" &&
                name != "lr" && name != "seconds",
            "train: recorded value names must be letters, digits, '-' or '_' and not a loss.csv column, got '" +
                name + "'");
    require(std::isfinite(value), "train: non-finite recorded value " + name + " at epoch " +
                                      std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1));
    if (recorded) (*recorded)[name] += value * static_cast<double>(batch_samples);
  }
  /// Throws the trainer's error for a non-finite loss, naming epoch, batch and learning rate (a step calls it
  /// before backward() so that no optimiser steps on a NaN; the trainer checks the returned loss again).
  void require_finite_loss(double v) const {
    if (std::isfinite(v)) return;
    throw Error("train: non-finite training loss (" + detail::format_number(v, "nan") + ") at epoch " +
                std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) + " of " +
                std::to_string(batches) + " (learning rate " + detail::format_number(learning_rate) +
                "); lower the learning rate or check the data");
  }
};

/// A training step: updates the trainables from one batch (zero_grad, forward, backward, step of whichever
/// optimisers it uses) and returns the batch's loss as a scalar tensor, whose value is logged and averaged per
/// epoch (weighted by the batch size).
using TrainStep = std::function<torch::Tensor(const Batch&, StepContext&)>;
/// The validation loss of one batch (a scalar tensor), called under torch::NoGradGuard with every trainable in
/// eval mode.
using ValidationStep = std::function<torch::Tensor(const Batch&)>;

/// What train() trains and how one batch is used (see the file comment).
struct TrainingTask {
  /// Stored in the checkpoint; a checkpoint written by another task is refused.
  std::string name = "supervised";
  /// The modules and their optimisers (>= 1).
  std::vector<Trainable> trainables;
  TrainStep step;
  /// Needed when a validation set is given.
  ValidationStep validation_loss;
};

/// The supervised task: one Adam on `module`'s parameters; the step is zero_grad, prediction = `predict(batch)`,
/// loss(prediction, batch.target) under `loss` (TrainOptions::loss names), finite check, backward, step; the
/// validation loss is the same loss. Throws (from the step) when the prediction's shape differs from the target's.
inline TrainingTask supervised_task(torch::nn::Module& module, std::function<torch::Tensor(const Batch&)> predict,
                                    std::string loss) {
  TrainingTask task;
  task.trainables.push_back(Trainable{.name = "model", .module = &module});
  auto shared_predict = std::make_shared<std::function<torch::Tensor(const Batch&)>>(std::move(predict));
  auto checked = [shared_predict, loss](const Batch& b, const char* what) {
    torch::Tensor out = (*shared_predict)(b);
    require(out.sizes() == b.target.sizes(), std::string("train: the model maps a ") + what + " batch of " +
                                                 std::to_string(b.size()) + " samples to " +
                                                 detail::shape_string(out) + ", the targets are " +
                                                 detail::shape_string(b.target));
    return detail::loss_of(loss, out, b.target);
  };
  task.step = [checked](const Batch& b, StepContext& ctx) {
    ctx.optimizer().zero_grad();
    torch::Tensor l = checked(b, "training");
    ctx.require_finite_loss(l.item<double>());
    l.backward();
    ctx.optimizer().step();
    return l.detach();
  };
  task.validation_loss = [checked](const Batch& b) { return checked(b, "validation"); };
  return task;
}

/// Trains `task` on `train_set` (a Batch of N >= 1 samples, see batch.hpp), validating on `val_set` after every
/// epoch (an empty Batch for none: val_loss is then NaN). Batches are train_set.select(shuffled indices) moved to
/// the device of the first trainable's first parameter.
///
/// Procedure per epoch e (0-based): learning rate lr = schedule(e), each optimiser's groups set to lr * lr_scale;
/// torch::manual_seed(mix(seed, e)) (dropout, a GAN's noise and other torch randomness); a shuffle of the N
/// samples from (seed, e) alone; every trainable in train mode; task.step per batch; the weights of every
/// trainable checked finite; validation under torch::NoGradGuard with every trainable in eval mode (train mode
/// afterwards); then checkpoint.pt and loss.csv written atomically. A run killed after epoch k and restarted
/// resumes from checkpoint.pt with the same order and the same weights and optimiser states as an uninterrupted
/// run (bitwise for the same thread count). A checkpoint written with a different seed, batch_size, loss, N, task
/// name or trainables is refused.
///
/// Throws reconlab::Error for invalid options, tasks or batches (batch.hpp's validate), a non-finite training
/// loss (naming the epoch and batch), a non-finite validation loss or non-finite weights after an epoch, an
/// unreadable or mismatched checkpoint, and files that cannot be written; with a process group, a failed
/// collective (another rank died or timed out) and ranks that disagree about the checkpoint. Sets
/// torch::set_num_threads(threads)
/// and torch's deterministic algorithms for the duration of the call.
inline TrainResult train(TrainingTask& task, const Batch& train_set, const Batch& val_set,
                         const TrainOptions& options) {
  namespace fs = std::filesystem;
  using clock = std::chrono::steady_clock;
  const auto t_start = clock::now();
  const TrainOptions& o = options;

  // Options.
  require(o.epochs >= 0, "train: epochs must be >= 0, got " + std::to_string(o.epochs));
  require(o.batch_size >= 1, "train: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  require(std::isfinite(o.learning_rate) && o.learning_rate > 0,
          "train: learning_rate must be finite and > 0, got " + std::to_string(o.learning_rate));
  require(std::isfinite(o.weight_decay) && o.weight_decay >= 0,
          "train: weight_decay must be finite and >= 0, got " + std::to_string(o.weight_decay));
  try {
    parse_loss(o.loss);
  } catch (const Error& e) {
    throw Error(std::string("train: ") + e.what());
  }
  require(o.lr_schedule == "constant" || o.lr_schedule == "step" || o.lr_schedule == "exponential" ||
              o.lr_schedule == "cosine" || o.lr_schedule == "warmup-cosine",
          "train: lr_schedule must be constant, step, exponential, cosine or warmup-cosine, got \"" + o.lr_schedule +
              "\"");
  require(o.lr_schedule != "warmup-cosine" ||
              (o.warmup_epochs >= 0 && (o.warmup_epochs < o.epochs || o.epochs == 0) && std::isfinite(o.warmup_factor) &&
               o.warmup_factor > 0 && o.warmup_factor <= 1),
          "train: warmup-cosine needs 0 <= warmup_epochs < epochs and warmup_factor in (0, 1], got warmup_epochs " +
              std::to_string(o.warmup_epochs) + ", warmup_factor " + std::to_string(o.warmup_factor));
  require(o.lr_schedule != "step" || o.step_size >= 1,
          "train: step_size must be >= 1 for the step schedule, got " + std::to_string(o.step_size));
  require((o.lr_schedule != "step" && o.lr_schedule != "exponential") || (std::isfinite(o.gamma) && o.gamma > 0),
          "train: gamma must be finite and > 0 for the " + o.lr_schedule + " schedule, got " + std::to_string(o.gamma));
  require(!o.checkpoint_dir.empty(), "train: checkpoint_dir must be set");
  require(o.threads >= 0, "train: threads must be >= 0, got " + std::to_string(o.threads));

  // Task.
  require(!task.trainables.empty(), "train: the task has no trainables");
  require(static_cast<bool>(task.step), "train: the task has no step");
  std::string trainable_names;
  std::set<std::string> seen;
  std::vector<torch::Tensor> all_params;
  for (const auto& t : task.trainables) {
    require(t.module != nullptr, "train: trainable '" + t.name + "' has no module");
    require(!t.name.empty() && t.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789-_") == std::string::npos,
            "train: trainable names must be letters, digits, '-' or '_', got '" + t.name + "'");
    require(seen.insert(t.name).second, "train: two trainables are named '" + t.name + "'");
    require(std::isfinite(t.lr_scale) && t.lr_scale > 0,
            "train: lr_scale of '" + t.name + "' must be finite and > 0");
    trainable_names += (trainable_names.empty() ? "" : ",") + t.name;
    for (auto& p : t.module->parameters()) all_params.push_back(p);
  }
  require(!all_params.empty(), "train: the model has no parameters");
  const torch::Device device = all_params.front().device();

  // Data.
  train_set.validate("training set");
  const bool has_val = !val_set.empty() || val_set.input.defined() || val_set.target.defined() ||
                       val_set.kspace.defined();
  if (has_val) {
    val_set.validate("validation set");
    require(static_cast<bool>(task.validation_loss),
            "train: a validation set was given but the task has no validation_loss");
    auto beyond_n = [](const torch::Tensor& a, const torch::Tensor& b) {
      return !a.defined() || !b.defined() || a.sizes().slice(1) == b.sizes().slice(1);
    };
    require(beyond_n(val_set.input, train_set.input) && beyond_n(val_set.target, train_set.target) &&
                beyond_n(val_set.kspace, train_set.kspace) &&
                val_set.input.defined() == train_set.input.defined() &&
                val_set.kspace.defined() == train_set.kspace.defined(),
            "train: validation samples (inputs " + detail::shape_string(val_set.input) + ", k-space " +
                detail::shape_string(val_set.kspace) + ", targets " + detail::shape_string(val_set.target) +
                ") do not match the training samples (inputs " + detail::shape_string(train_set.input) +
                ", k-space " + detail::shape_string(train_set.kspace) + ", targets " +
                detail::shape_string(train_set.target) + ") beyond N");
  }
  require(!o.select_best_validation || has_val,
          "train: select_best_validation needs a validation set (none was given)");

  ProcessGroup* const group = o.process_group.get();
  const int world = group ? group->world_size() : 1, rank = group ? group->rank() : 0;
  const bool writer = rank == 0;  // rank 0 writes every file and logs
  if (world > 1) {
    const int64_t nt = train_set.size(), last = nt % o.batch_size == 0 ? o.batch_size : nt % o.batch_size;
    require(o.batch_size >= world && last >= world,
            "train: with " + std::to_string(world) + " processes every batch needs at least " +
                std::to_string(world) + " samples (one per rank); batch_size is " + std::to_string(o.batch_size) +
                " and the last batch of the " + std::to_string(nt) + " samples has " + std::to_string(last) +
                ": choose another batch_size");
  }

  detail::ThreadScope thread_scope(o.threads);
  detail::DeterminismScope determinism;
  torch::manual_seed(o.seed);

  const fs::path dir = o.checkpoint_dir;
  const fs::path ckpt_path = dir / "checkpoint.pt";
  fs::create_directories(dir);

  std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;
  std::vector<torch::optim::Optimizer*> optimizer_ptrs;
  for (const auto& t : task.trainables) {
    const double lr0 = o.learning_rate * t.lr_scale;
    if (t.make_optimizer)
      optimizers.push_back(t.make_optimizer(t.module->parameters(), lr0));
    else
      optimizers.push_back(std::make_unique<torch::optim::Adam>(
          t.module->parameters(), torch::optim::AdamOptions(lr0).weight_decay(o.weight_decay)));
    require(optimizers.back() != nullptr, "train: make_optimizer of '" + t.name + "' returned no optimiser");
    optimizer_ptrs.push_back(optimizers.back().get());
  }
  // With a process group the steps see optimisers that all-reduce the gradients first (distributed.hpp).
  std::vector<std::unique_ptr<detail::AllReduceOptimizer>> reducers;
  if (world > 1)
    for (std::size_t i = 0; i < optimizers.size(); ++i) {
      reducers.push_back(std::make_unique<detail::AllReduceOptimizer>(*optimizers[i], *group, task.trainables[i].name));
      optimizer_ptrs[i] = reducers.back().get();
    }
  auto model_key = [&](std::size_t i) { return i == 0 ? std::string("model") : "model_" + task.trainables[i].name; };
  auto optim_key = [&](std::size_t i) {
    return i == 0 ? std::string("optimizer") : "optimizer_" + task.trainables[i].name;
  };

  const int64_t n = train_set.size();
  TrainResult result;
  std::vector<double> lrs, seconds;
  int start_epoch = 0;

  // Resume.
  bool have_checkpoint = fs::exists(ckpt_path);
  if (world > 1) {
    const bool at_rank0 = group->broadcast_int(have_checkpoint ? 1 : 0, 0, "the checkpoint check") != 0;
    require(at_rank0 == have_checkpoint,
            "train: rank " + std::to_string(rank) + (have_checkpoint ? " finds " : " does not find ") +
                ckpt_path.string() + (at_rank0 ? " but rank 0 does" : " but rank 0 does not") +
                ": checkpoint_dir must be one folder every rank sees");
  }
  if (have_checkpoint) {
    torch::serialize::InputArchive archive;
    detail::open_archive(archive, ckpt_path, "train: checkpoint");
    try {
      c10::IValue format, seed, batch_size, loss, n_train, epochs_done, task_name, names;
      require(archive.try_read("reconlab_checkpoint", format),
              "train: " + ckpt_path.string() + " is not a reconlab trainer checkpoint");
      archive.read("seed", seed);
      archive.read("batch_size", batch_size);
      archive.read("loss", loss);
      archive.read("n_train", n_train);
      archive.read("epochs_done", epochs_done);
      // Checkpoints written before tasks existed hold one supervised model.
      const std::string ckpt_task = archive.try_read("task", task_name) ? task_name.toStringRef() : "supervised";
      const std::string ckpt_names = archive.try_read("trainables", names) ? names.toStringRef() : "model";
      auto refuse = [&](const std::string& what, const std::string& was, const std::string& is) {
        throw Error("train: " + ckpt_path.string() + " was written with " + what + " " + was + ", the options say " +
                    is + "; use another checkpoint_dir or delete the checkpoint");
      };
      if (static_cast<uint64_t>(seed.toInt()) != o.seed)
        refuse("seed", std::to_string(static_cast<uint64_t>(seed.toInt())), std::to_string(o.seed));
      if (batch_size.toInt() != o.batch_size)
        refuse("batch_size", std::to_string(batch_size.toInt()), std::to_string(o.batch_size));
      if (loss.toStringRef() != o.loss) refuse("loss", loss.toStringRef(), o.loss);
      if (n_train.toInt() != n) refuse("N (training samples)", std::to_string(n_train.toInt()), std::to_string(n));
      if (ckpt_task != task.name) refuse("task", ckpt_task, task.name);
      c10::IValue ckpt_world;
      const int64_t written_world = archive.try_read("world_size", ckpt_world) ? ckpt_world.toInt() : 1;
      if (written_world != world)
        refuse("world size", std::to_string(written_world), std::to_string(world));
      if (ckpt_names != trainable_names && !(task.trainables.size() == 1 && ckpt_names == "model"))
        refuse("trainables", ckpt_names, trainable_names);

      for (std::size_t i = 0; i < task.trainables.size(); ++i) {
        torch::serialize::InputArchive model_archive, optim_archive;
        archive.read(model_key(i), model_archive);
        archive.read(optim_key(i), optim_archive);
        try {
          detail::load_module_strict(*task.trainables[i].module, model_archive, ckpt_path.string());
        } catch (const Error& e) {
          throw Error(std::string("train: cannot resume: ") + e.what());
        }
        optimizers[i]->load(optim_archive);
      }

      torch::Tensor t;
      archive.read("train_loss", t);
      result.train_loss = detail::from_double_tensor(t);
      archive.read("val_loss", t);
      result.val_loss = detail::from_double_tensor(t);
      archive.read("lr", t);
      lrs = detail::from_double_tensor(t);
      archive.read("seconds", t);
      seconds = detail::from_double_tensor(t);
      start_epoch = static_cast<int>(epochs_done.toInt());
      c10::IValue metric_names;
      if (archive.try_read("metric_names", metric_names)) {
        std::stringstream names_in(metric_names.toStringRef());
        for (std::string name; std::getline(names_in, name, ',');) {
          archive.read("metric_" + name, t);
          result.metrics[name] = detail::from_double_tensor(t);
          require(result.metrics[name].size() == static_cast<std::size_t>(start_epoch),
                  "train: " + ckpt_path.string() + " is inconsistent: the history of " + name +
                      " does not match the epoch count");
        }
      }
      for (const auto& tr : task.trainables)
        if (tr.learning_rate) {
          require(archive.try_read("lr_" + tr.name, t), "train: " + ckpt_path.string() + " has no learning rates of '" +
                                                             tr.name + "' (written without its own schedule)");
          result.learning_rates[tr.name] = detail::from_double_tensor(t);
        }
      if (o.select_best_validation) {
        c10::IValue best_epoch, best_loss, initial_loss;
        require(archive.try_read("best_epoch", best_epoch) && archive.try_read("best_val_loss", best_loss) &&
                    archive.try_read("initial_val_loss", initial_loss),
                "train: " + ckpt_path.string() +
                    " was written without select_best_validation; use another checkpoint_dir or delete it");
        result.best_epoch = static_cast<int>(best_epoch.toInt());
        result.best_val_loss = best_loss.toDouble();
        result.initial_val_loss = initial_loss.toDouble();
      }
      require(result.train_loss.size() == static_cast<std::size_t>(start_epoch) &&
                  result.val_loss.size() == result.train_loss.size() && lrs.size() == result.train_loss.size() &&
                  seconds.size() == result.train_loss.size(),
              "train: " + ckpt_path.string() + " is inconsistent: the loss history does not match the epoch count");
    } catch (const c10::Error& e) {
      throw Error("train: cannot resume from " + ckpt_path.string() +
                  " (written for another model or corrupt): " + e.what_without_backtrace());
    }
    result.resumed = true;
    if (writer) spdlog::info("train: resumed from {} after epoch {} of {}", ckpt_path.string(), start_epoch, o.epochs);
  }

  // Columns after seconds: lr_<name> of every further trainable with its own learning rate, then the recorded
  // values by name.
  auto write_loss_csv = [&] {
    std::string csv = "epoch,train_loss,val_loss,lr,seconds";
    for (std::size_t t = 1; t < task.trainables.size(); ++t)
      if (task.trainables[t].learning_rate) csv += ",lr_" + task.trainables[t].name;
    for (const auto& [name, v] : result.metrics) csv += "," + name;
    csv += "\n";
    for (std::size_t i = 0; i < result.train_loss.size(); ++i) {
      csv += std::to_string(i + 1) + "," + detail::format_number(result.train_loss[i]) + "," +
             detail::format_number(result.val_loss[i]) + "," + detail::format_number(lrs[i]) + "," +
             detail::format_number(seconds[i]);
      for (std::size_t t = 1; t < task.trainables.size(); ++t)
        if (task.trainables[t].learning_rate)
          csv += "," + detail::format_number(result.learning_rates[task.trainables[t].name][i]);
      for (const auto& [name, v] : result.metrics) csv += "," + detail::format_number(v[i], "nan");
      csv += "\n";
    }
    io::atomic_write_text(dir / "loss.csv", csv);
  };

  auto write_checkpoint = [&](int epochs_done) {
    io::atomic_write(ckpt_path, [&](const fs::path& tmp) {
      torch::serialize::OutputArchive archive;
      archive.write("reconlab_checkpoint", c10::IValue(int64_t{1}));
      for (std::size_t i = 0; i < task.trainables.size(); ++i) {
        torch::serialize::OutputArchive model_archive, optim_archive;
        task.trainables[i].module->save(model_archive);
        optimizers[i]->save(optim_archive);
        archive.write(model_key(i), model_archive);
        archive.write(optim_key(i), optim_archive);
      }
      archive.write("task", c10::IValue(task.name));
      archive.write("trainables", c10::IValue(trainable_names));
      archive.write("epochs_done", c10::IValue(int64_t{epochs_done}));
      archive.write("seed", c10::IValue(static_cast<int64_t>(o.seed)));
      archive.write("batch_size", c10::IValue(int64_t{o.batch_size}));
      archive.write("loss", c10::IValue(o.loss));
      archive.write("n_train", c10::IValue(n));
      archive.write("world_size", c10::IValue(int64_t{world}));
      archive.write("train_loss", detail::to_double_tensor(result.train_loss));
      archive.write("val_loss", detail::to_double_tensor(result.val_loss));
      archive.write("lr", detail::to_double_tensor(lrs));
      archive.write("seconds", detail::to_double_tensor(seconds));
      std::string metric_names;
      for (const auto& [name, v] : result.metrics) {
        metric_names += (metric_names.empty() ? "" : ",") + name;
        archive.write("metric_" + name, detail::to_double_tensor(v));
      }
      archive.write("metric_names", c10::IValue(metric_names));
      for (const auto& [name, v] : result.learning_rates) archive.write("lr_" + name, detail::to_double_tensor(v));
      if (o.select_best_validation) {
        archive.write("best_epoch", c10::IValue(int64_t{result.best_epoch}));
        archive.write("best_val_loss", c10::IValue(result.best_val_loss));
        archive.write("initial_val_loss", c10::IValue(result.initial_val_loss));
      }
      archive.save_to(tmp.string());
    });
  };

  auto set_mode = [&](bool training) {
    for (auto& t : task.trainables) t.module->train(training);
  };

  // Parameters and buffers of every trainable, for broadcasts from rank 0.
  auto all_state = [&](bool parameters, bool buffers) {
    std::vector<torch::Tensor> v;
    for (const auto& t : task.trainables) {
      if (parameters)
        for (const auto& p : t.module->parameters()) v.push_back(p);
      if (buffers)
        for (const auto& b : t.module->buffers()) v.push_back(b);
    }
    return v;
  };
  if (world > 1 && !result.resumed) group->broadcast(all_state(true, true), 0, "the broadcast of rank 0's initial weights");

  const bool bar = writer && o.progress && ::isatty(::fileno(stderr));
  const int64_t batches = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = static_cast<int64_t>(std::max(o.epochs - start_epoch, 0)) * batches;
  int64_t steps_done = 0;
  const auto t_loop = clock::now();

  auto evaluate = [&](const Batch& set) {
    torch::NoGradGuard no_grad;
    set_mode(false);
    double sum = 0;
    const int64_t nv = set.size();
    for (int64_t b0 = 0, k = 0; b0 < nv; b0 += o.batch_size, ++k) {
      if (k % world != rank) continue;  // validation batches are dealt out to the ranks in turn
      const int64_t b1 = std::min<int64_t>(b0 + o.batch_size, nv);
      const Batch b = set.select(torch::arange(b0, b1, torch::TensorOptions().dtype(torch::kInt64))).to(device);
      sum += task.validation_loss(b).item<double>() * static_cast<double>(b1 - b0);
    }
    if (world > 1) {
      auto t = torch::tensor({sum}, torch::kFloat64);
      group->allreduce_sum({t}, "the validation loss sum");
      sum = t.item<double>();
    }
    set_mode(true);
    return sum / static_cast<double>(nv);
  };

  auto weights_file = [&](const std::string& stem, std::size_t i) {
    return dir / (i == 0 ? stem + ".pt" : stem + "_" + task.trainables[i].name + ".pt");
  };
  // Model selection: best.pt holds the weights of the lowest validation loss so far (written before the
  // checkpoint that records its epoch, so a kill between the two re-runs the epoch and rewrites the same file).
  auto keep_if_best = [&](int epoch, double val_loss) {
    if (result.best_epoch >= 0 && !(val_loss < result.best_val_loss)) return;
    if (writer)
      for (std::size_t i = 0; i < task.trainables.size(); ++i)
        save_weights(*task.trainables[i].module, weights_file("best", i));
    result.best_epoch = epoch;
    result.best_val_loss = val_loss;
  };
  if (o.select_best_validation && start_epoch == 0 && result.best_epoch < 0) {
    result.initial_val_loss = evaluate(val_set);
    require(std::isfinite(result.initial_val_loss),
            "train: non-finite validation loss of the initial weights (" +
                detail::format_number(result.initial_val_loss, "nan") + ")");
    keep_if_best(0, result.initial_val_loss);
    if (writer) spdlog::info("train: validation loss of the initial weights {:.5g}", result.initial_val_loss);
  }

  for (int e = start_epoch; e < o.epochs; ++e) {
    const auto t_epoch = clock::now();
    double lr = detail::lr_at(o, e);
    for (std::size_t i = 0; i < optimizers.size(); ++i) {
      const Trainable& tr = task.trainables[i];
      double lr_i = lr * tr.lr_scale;
      if (tr.learning_rate) {
        lr_i = tr.learning_rate(e);
        require(std::isfinite(lr_i) && lr_i > 0, "train: the learning rate of '" + tr.name + "' at epoch " +
                                                     std::to_string(e + 1) + " is " + detail::format_number(lr_i, "nan") +
                                                     "; it must be finite and > 0");
        result.learning_rates[tr.name].push_back(lr_i);
        if (i == 0) lr = lr_i;
      }
      for (auto& group : optimizers[i]->param_groups()) group.options().set_lr(lr_i);
    }
    std::map<std::string, double> recorded;
    torch::manual_seed(detail::mix_seed(o.seed, static_cast<uint64_t>(e)));
    const auto order = detail::epoch_order(n, o.seed, e);
    const auto order_t = torch::tensor(order, torch::TensorOptions().dtype(torch::kInt64));
    set_mode(true);

    double sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t b0 = b * o.batch_size, b1 = std::min<int64_t>(b0 + o.batch_size, n);
      // This rank's part of the global batch [b0, b1) (all of it in one process).
      const auto [s0, s1] = shard_range(b0, b1, rank, world);
      for (auto& r : reducers) r->scale = static_cast<double>(s1 - s0) / static_cast<double>(b1 - b0);
      const Batch batch = train_set.select(order_t.slice(0, s0, s1)).to(device);
      StepContext ctx{optimizer_ptrs, e, b, batches, lr, &recorded, s1 - s0};
      double v;
      try {
        v = task.step(batch, ctx).item<double>();
        ctx.require_finite_loss(v);
      } catch (...) {
        if (bar) std::fputc('\n', stderr);
        throw;
      }
      sum += v * static_cast<double>(s1 - s0);
      ++steps_done;

      if (bar) {
        const double elapsed = std::chrono::duration<double>(clock::now() - t_loop).count();
        const double eta = elapsed / static_cast<double>(steps_done) * static_cast<double>(total_steps - steps_done);
        std::fprintf(stderr, "\r\033[Kepoch %d/%d batch %lld/%lld loss %.5g elapsed %s ETA %s", e + 1, o.epochs,
                     static_cast<long long>(b + 1), static_cast<long long>(batches), v,
                     detail::format_duration(elapsed).c_str(), detail::format_duration(eta).c_str());
        std::fflush(stderr);
      }
    }
    if (world > 1) {
      // The epoch's sums over all ranks (the same recorded names on every rank), and rank 0's buffers.
      std::vector<double> sums{sum, static_cast<double>(recorded.size())};
      for (const auto& [name, v] : recorded) sums.push_back(v);
      auto count = torch::tensor({static_cast<double>(recorded.size())}, torch::kFloat64);
      group->allreduce_sum({count}, "the count of recorded values");
      require(count.item<double>() == static_cast<double>(recorded.size() * static_cast<std::size_t>(world)),
              "train: the ranks recorded different values in epoch " + std::to_string(e + 1));
      auto t = torch::tensor(sums, torch::kFloat64);
      group->allreduce_sum({t}, "the training loss sum");
      sum = t[0].item<double>();
      std::size_t k = 2;
      for (auto& [name, v] : recorded) v = t[static_cast<int64_t>(k++)].item<double>();
      const auto buffers = all_state(false, true);
      if (!buffers.empty()) group->broadcast(buffers, 0, "the broadcast of rank 0's buffers");
    }
    const double train_loss = sum / static_cast<double>(n);

    for (const auto& t : task.trainables)
      for (const auto& p : t.module->parameters())
        if (!torch::isfinite(p).all().item<bool>()) {
          if (bar) std::fputc('\n', stderr);
          throw Error("train: the weights of '" + t.name + "' became non-finite during epoch " +
                      std::to_string(e + 1) + " (learning rate " + detail::format_number(lr) +
                      "); lower the learning rate");
        }

    double val_loss = std::numeric_limits<double>::quiet_NaN();
    if (has_val) {
      val_loss = evaluate(val_set);
      if (!std::isfinite(val_loss)) {
        if (bar) std::fputc('\n', stderr);
        throw Error("train: non-finite validation loss (" + detail::format_number(val_loss, "nan") +
                    ") after epoch " + std::to_string(e + 1));
      }
    }

    for (const auto& [name, sum_v] : recorded)
      if (!result.metrics.count(name))
        result.metrics[name] = std::vector<double>(result.train_loss.size(), std::numeric_limits<double>::quiet_NaN());
    for (auto& [name, v] : result.metrics)
      v.push_back(recorded.count(name) ? recorded[name] / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN());
    result.train_loss.push_back(train_loss);
    result.val_loss.push_back(val_loss);
    lrs.push_back(lr);
    seconds.push_back(std::chrono::duration<double>(clock::now() - t_epoch).count());
    if (o.select_best_validation) keep_if_best(e + 1, val_loss);
    if (writer) {
      write_checkpoint(e + 1);
      write_loss_csv();
    }
    if (world > 1) group->barrier("the end of epoch " + std::to_string(e + 1));
    ++result.epochs_run;

    const double elapsed = std::chrono::duration<double>(clock::now() - t_loop).count();
    const double eta = elapsed / static_cast<double>(steps_done) * static_cast<double>(total_steps - steps_done);
    if (bar) {
      std::fprintf(stderr, "\r\033[Kepoch %d/%d train %.5g val %.5g lr %.3g elapsed %s ETA %s\n", e + 1, o.epochs,
                   train_loss, val_loss, lr, detail::format_duration(elapsed).c_str(),
                   detail::format_duration(eta).c_str());
      std::fflush(stderr);
    } else if (writer) {
      spdlog::info("train: epoch {}/{} train_loss {:.5g} val_loss {:.5g} lr {:.3g} elapsed {} ETA {}", e + 1,
                   o.epochs, train_loss, val_loss, lr, detail::format_duration(elapsed),
                   detail::format_duration(eta));
    }
  }

  if (writer && !result.train_loss.empty() && !fs::exists(dir / "loss.csv")) write_loss_csv();
  if (o.select_best_validation) {
    for (std::size_t i = 0; i < task.trainables.size(); ++i)
      load_weights(*task.trainables[i].module, weights_file("best", i));
    if (writer) spdlog::info("train: final weights from epoch {} (validation loss {:.5g}; initial {:.5g})", result.best_epoch,
                 result.best_val_loss, result.initial_val_loss);
  }
  if (writer)
    for (std::size_t i = 0; i < task.trainables.size(); ++i)
      save_weights(*task.trainables[i].module, weights_file("final", i));
  if (world > 1) group->barrier("the end of training");
  result.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
  return result;
}

/// Trains `model` (a module, a ModuleHolder such as Unet, or a shared_ptr to a module) with the supervised task
/// (supervised_task with detail::predict: forward(batch.input) when the batches have inputs, else
/// forward(const Batch&)) under TrainOptions::loss. See train(TrainingTask&, ...) for the procedure and errors.
/// Initial weights are the caller's: seed torch before building the model.
template <class Module>
TrainResult train(Module& model, const Batch& train_set, const Batch& val_set, const TrainOptions& options) {
  TrainingTask task = supervised_task(
      detail::module_of(model), [&model](const Batch& b) { return detail::predict(model, b); }, options.loss);
  return train(task, train_set, val_set, options);
}

/// Trains `model` to map `inputs` to `targets` (the image-to-image form, also used with packed k-space inputs):
/// inputs (N, C_in, H, W) and targets (N, ...) float32, finite, N >= 1, on the CPU; val_inputs / val_targets the
/// same layout with their own N (>= 1), or both undefined / empty for no validation (val_loss is then NaN).
/// The same as train(model, image_batch(inputs, targets), image_batch(val_inputs, val_targets), options).
template <class Module>
TrainResult train(Module& model, const torch::Tensor& inputs, const torch::Tensor& targets,
                  const torch::Tensor& val_inputs, const torch::Tensor& val_targets, const TrainOptions& options) {
  const bool has_val = (val_inputs.defined() && val_inputs.numel() > 0) ||
                       (val_targets.defined() && val_targets.numel() > 0);
  Batch val;
  if (has_val) val = image_batch(val_inputs, val_targets);
  return train(model, image_batch(inputs, targets), val, options);
}

}  // namespace reconlab::networks
