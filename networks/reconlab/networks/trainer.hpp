#pragma once
/// @file trainer.hpp
/// The one trainer of reconlab for image-to-image networks (a U-Net denoiser or de-aliaser, an unrolled network):
/// Adam (Kingma and Ba, "Adam: A method for stochastic optimization", ICLR 2015) on an L1 or L2 loss, seeded,
/// with learning-rate schedules, validation after every epoch, atomic checkpoints (weights, optimizer state, epoch,
/// loss history) that a rerun resumes from, a loss curve in CSV, a progress bar with ETA, and a clear error when
/// the loss stops being finite. The training loop follows fastMRI's `UnetModule` (Zbontar et al. 2018: Adam, L1
/// loss, step decay of the learning rate) and pytorch/examples `cpp/mnist`.
///
/// Files written into TrainOptions::checkpoint_dir (each atomically: temporary file beside it, then rename):
///   checkpoint.pt  after every epoch: model weights, Adam state, epochs done, loss history, run settings
///   loss.csv       after every epoch: `epoch,train_loss,val_loss,lr,seconds` (epoch counted from 1)
///   final.pt       at the end: weights only, readable by load_weights (same format as torch::save(module, path))
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
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
#include "reconlab/networks/losses.hpp"

namespace reconlab::networks {

/// Settings of train(); an aggregate.
struct TrainOptions {
  /// Total number of epochs (>= 0). When resuming, training continues until this many epochs are done.
  int epochs = 10;
  /// Images per optimisation step (>= 1); the last batch of an epoch may be smaller.
  int batch_size = 4;
  /// Adam's base learning rate (> 0, finite).
  double learning_rate = 1e-3;
  /// Adam's L2 weight decay (>= 0), added to the gradient as in torch.optim.Adam.
  double weight_decay = 0.0;
  /// Seeds torch::manual_seed at the start, the torch generator of each epoch (dropout) and each epoch's shuffle.
  uint64_t seed = 0;
  /// Folder of checkpoint.pt, loss.csv and final.pt (created if missing; must not be empty).
  std::string checkpoint_dir;
  /// "l1" (mean absolute error, fastMRI's choice), "l2" (mean squared error), "ssim" (fastMRI's SSIMLoss) or a
  /// weighted mix such as "0.84*ssim+0.16*l1" (see losses.hpp for the definitions).
  std::string loss = "l1";
  /// Learning rate of epoch e (0-based), with lr0 = learning_rate:
  ///   "constant"     lr0
  ///   "step"         lr0 * gamma^floor(e / step_size)        (torch.optim.lr_scheduler.StepLR)
  ///   "exponential"  lr0 * gamma^e                           (ExponentialLR)
  ///   "cosine"       lr0 * (1 + cos(pi * e / epochs)) / 2    (CosineAnnealingLR with T_max = epochs, eta_min = 0)
  std::string lr_schedule = "constant";
  /// Epochs per step of the "step" schedule (>= 1 when used).
  int step_size = 10;
  /// Decay factor of "step" and "exponential" (> 0 when used).
  double gamma = 0.1;
  /// Progress bar on stderr when stderr is a terminal; otherwise (or when false) one log line per epoch.
  bool progress = true;
  /// torch::set_num_threads during training (restored afterwards); 0 = std::thread::hardware_concurrency().
  int threads = 0;
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
};

namespace detail {

/// The torch::nn::Module behind a module object, a ModuleHolder (e.g. Unet) or a std::shared_ptr to a module.
template <class M>
torch::nn::Module& module_of(M& m) {
  if constexpr (std::is_base_of_v<torch::nn::Module, M>)
    return m;
  else
    return *m;
}

/// Calls the module's forward on one batch.
template <class M>
torch::Tensor forward_of(M& m, const torch::Tensor& x) {
  if constexpr (std::is_base_of_v<torch::nn::Module, M>)
    return m.forward(x);
  else
    return m->forward(x);
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

/// Requires a 4-D float32 tensor of finite values with at least one image.
inline void require_images(const torch::Tensor& t, const std::string& what) {
  require(t.defined(), "train: " + what + " is undefined");
  require(t.dim() == 4, "train: " + what + " must have shape (N, C, H, W), got " + shape_string(t));
  require(t.scalar_type() == torch::kFloat32,
          "train: " + what + " must be float32, got " + std::string(c10::toString(t.scalar_type())));
  require(t.size(0) >= 1 && t.numel() >= 1, "train: " + what + " is empty: " + shape_string(t));
  require(torch::isfinite(t).all().item<bool>(), "train: " + what + " holds non-finite values (NaN or Inf)");
}

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

/// Trains `model` (a module, a ModuleHolder such as Unet, or a shared_ptr to a module whose forward maps a
/// (B, C, H, W) batch to a tensor shaped like the matching target batch) to map `inputs` to `targets`.
///
/// Tensors: inputs (N, C_in, H, W) and targets (N, C_out, H', W'), float32, finite, N >= 1, on the CPU; they are
/// sliced into batches and moved to the device of the model's first parameter. val_inputs / val_targets: the same
/// layout with their own N (>= 1), or both undefined / empty for no validation (val_loss is then NaN).
///
/// Procedure per epoch e (0-based): learning rate from the schedule; torch::manual_seed(mix(seed, e)) (dropout
/// and other torch randomness); a shuffle of the N images from (seed, e) alone; model.train(); Adam steps on the
/// mean L1/L2 loss of each batch; validation under torch::NoGradGuard with model.eval() (train() afterwards);
/// then checkpoint.pt and loss.csv are written atomically. Because everything random is derived from (seed, e),
/// a run killed after epoch k and restarted resumes from checkpoint.pt with the same order and the same weights
/// as an uninterrupted run (bitwise with threads = 1). Initial weights are the caller's: seed torch before
/// building the model. A checkpoint written with a different seed, batch_size, loss or N is refused.
///
/// Throws reconlab::Error for invalid options or tensors (shapes, dtype, non-finite values, N mismatch), a model
/// output whose shape differs from the target batch, a non-finite training loss (naming the epoch and batch), a
/// non-finite validation loss or non-finite weights after an epoch, an unreadable or mismatched checkpoint, and
/// files that cannot be written. Sets torch::set_num_threads(threads) for the duration of the call.
template <class Module>
TrainResult train(Module& model, const torch::Tensor& inputs, const torch::Tensor& targets,
                  const torch::Tensor& val_inputs, const torch::Tensor& val_targets, const TrainOptions& options) {
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
              o.lr_schedule == "cosine",
          "train: lr_schedule must be constant, step, exponential or cosine, got \"" + o.lr_schedule + "\"");
  require(o.lr_schedule != "step" || o.step_size >= 1,
          "train: step_size must be >= 1 for the step schedule, got " + std::to_string(o.step_size));
  require((o.lr_schedule != "step" && o.lr_schedule != "exponential") || (std::isfinite(o.gamma) && o.gamma > 0),
          "train: gamma must be finite and > 0 for the " + o.lr_schedule + " schedule, got " + std::to_string(o.gamma));
  require(!o.checkpoint_dir.empty(), "train: checkpoint_dir must be set");
  require(o.threads >= 0, "train: threads must be >= 0, got " + std::to_string(o.threads));

  // Tensors.
  detail::require_images(inputs, "inputs");
  detail::require_images(targets, "targets");
  require(inputs.size(0) == targets.size(0), "train: inputs hold " + std::to_string(inputs.size(0)) +
                                                 " images, targets " + std::to_string(targets.size(0)));
  const bool has_val = (val_inputs.defined() && val_inputs.numel() > 0) ||
                       (val_targets.defined() && val_targets.numel() > 0);
  if (has_val) {
    detail::require_images(val_inputs, "val_inputs");
    detail::require_images(val_targets, "val_targets");
    require(val_inputs.size(0) == val_targets.size(0),
            "train: val_inputs hold " + std::to_string(val_inputs.size(0)) + " images, val_targets " +
                std::to_string(val_targets.size(0)));
    require(val_inputs.sizes().slice(1) == inputs.sizes().slice(1) &&
                val_targets.sizes().slice(1) == targets.sizes().slice(1),
            "train: validation images " + detail::shape_string(val_inputs) + " -> " +
                detail::shape_string(val_targets) + " do not match the training images " +
                detail::shape_string(inputs) + " -> " + detail::shape_string(targets) + " beyond N");
  }

  torch::nn::Module& net = detail::module_of(model);
  auto params = net.parameters();
  require(!params.empty(), "train: the model has no parameters");
  const torch::Device device = params.front().device();

  detail::ThreadScope thread_scope(o.threads);
  torch::manual_seed(o.seed);

  const fs::path dir = o.checkpoint_dir;
  const fs::path ckpt_path = dir / "checkpoint.pt";
  fs::create_directories(dir);

  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));

  const int64_t n = inputs.size(0);
  TrainResult result;
  std::vector<double> lrs, seconds;
  int start_epoch = 0;

  // Resume.
  if (fs::exists(ckpt_path)) {
    torch::serialize::InputArchive archive;
    detail::open_archive(archive, ckpt_path, "train: checkpoint");
    try {
      c10::IValue format, seed, batch_size, loss, n_train, epochs_done;
      require(archive.try_read("reconlab_checkpoint", format),
              "train: " + ckpt_path.string() + " is not a reconlab trainer checkpoint");
      archive.read("seed", seed);
      archive.read("batch_size", batch_size);
      archive.read("loss", loss);
      archive.read("n_train", n_train);
      archive.read("epochs_done", epochs_done);
      auto refuse = [&](const std::string& what, const std::string& was, const std::string& is) {
        throw Error("train: " + ckpt_path.string() + " was written with " + what + " " + was + ", the options say " +
                    is + "; use another checkpoint_dir or delete the checkpoint");
      };
      if (static_cast<uint64_t>(seed.toInt()) != o.seed)
        refuse("seed", std::to_string(static_cast<uint64_t>(seed.toInt())), std::to_string(o.seed));
      if (batch_size.toInt() != o.batch_size)
        refuse("batch_size", std::to_string(batch_size.toInt()), std::to_string(o.batch_size));
      if (loss.toStringRef() != o.loss) refuse("loss", loss.toStringRef(), o.loss);
      if (n_train.toInt() != n) refuse("N (training images)", std::to_string(n_train.toInt()), std::to_string(n));

      torch::serialize::InputArchive model_archive, optim_archive;
      archive.read("model", model_archive);
      archive.read("optimizer", optim_archive);
      try {
        detail::load_module_strict(net, model_archive, ckpt_path.string());
      } catch (const Error& e) {
        throw Error(std::string("train: cannot resume: ") + e.what());
      }
      optimizer.load(optim_archive);

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
      require(result.train_loss.size() == static_cast<std::size_t>(start_epoch) &&
                  result.val_loss.size() == result.train_loss.size() && lrs.size() == result.train_loss.size() &&
                  seconds.size() == result.train_loss.size(),
              "train: " + ckpt_path.string() + " is inconsistent: the loss history does not match the epoch count");
    } catch (const c10::Error& e) {
      throw Error("train: cannot resume from " + ckpt_path.string() +
                  " (written for another model or corrupt): " + e.what_without_backtrace());
    }
    result.resumed = true;
    spdlog::info("train: resumed from {} after epoch {} of {}", ckpt_path.string(), start_epoch, o.epochs);
  }

  auto write_loss_csv = [&] {
    std::string csv = "epoch,train_loss,val_loss,lr,seconds\n";
    for (std::size_t i = 0; i < result.train_loss.size(); ++i)
      csv += std::to_string(i + 1) + "," + detail::format_number(result.train_loss[i]) + "," +
             detail::format_number(result.val_loss[i]) + "," + detail::format_number(lrs[i]) + "," +
             detail::format_number(seconds[i]) + "\n";
    io::atomic_write_text(dir / "loss.csv", csv);
  };

  auto write_checkpoint = [&](int epochs_done) {
    io::atomic_write(ckpt_path, [&](const fs::path& tmp) {
      torch::serialize::OutputArchive archive, model_archive, optim_archive;
      net.save(model_archive);
      optimizer.save(optim_archive);
      archive.write("reconlab_checkpoint", c10::IValue(int64_t{1}));
      archive.write("model", model_archive);
      archive.write("optimizer", optim_archive);
      archive.write("epochs_done", c10::IValue(int64_t{epochs_done}));
      archive.write("seed", c10::IValue(static_cast<int64_t>(o.seed)));
      archive.write("batch_size", c10::IValue(int64_t{o.batch_size}));
      archive.write("loss", c10::IValue(o.loss));
      archive.write("n_train", c10::IValue(n));
      archive.write("train_loss", detail::to_double_tensor(result.train_loss));
      archive.write("val_loss", detail::to_double_tensor(result.val_loss));
      archive.write("lr", detail::to_double_tensor(lrs));
      archive.write("seconds", detail::to_double_tensor(seconds));
      archive.save_to(tmp.string());
    });
  };

  const bool bar = o.progress && ::isatty(::fileno(stderr));
  const int64_t batches = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = static_cast<int64_t>(std::max(o.epochs - start_epoch, 0)) * batches;
  int64_t steps_done = 0;
  const auto t_loop = clock::now();
  bool checked_shapes = false;

  auto evaluate = [&](const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard no_grad;
    net.eval();
    double sum = 0;
    for (int64_t b0 = 0; b0 < x.size(0); b0 += o.batch_size) {
      const int64_t b1 = std::min<int64_t>(b0 + o.batch_size, x.size(0));
      torch::Tensor out = detail::forward_of(model, x.slice(0, b0, b1).to(device));
      auto yb = y.slice(0, b0, b1).to(device);
      require(out.sizes() == yb.sizes(), "train: the model maps validation batch " + detail::shape_string(x) +
                                             " to " + detail::shape_string(out) + ", the targets are " +
                                             detail::shape_string(yb));
      sum += detail::loss_of(o.loss, out, yb).item<double>() * static_cast<double>(b1 - b0);
    }
    net.train();
    return sum / static_cast<double>(x.size(0));
  };

  for (int e = start_epoch; e < o.epochs; ++e) {
    const auto t_epoch = clock::now();
    const double lr = detail::lr_at(o, e);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    torch::manual_seed(detail::mix_seed(o.seed, static_cast<uint64_t>(e)));
    const auto order = detail::epoch_order(n, o.seed, e);
    const auto order_t = torch::tensor(order, torch::TensorOptions().dtype(torch::kInt64));
    net.train();

    double sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t b0 = b * o.batch_size, b1 = std::min<int64_t>(b0 + o.batch_size, n);
      const auto idx = order_t.slice(0, b0, b1);
      auto xb = inputs.index_select(0, idx).to(device);
      auto yb = targets.index_select(0, idx).to(device);
      optimizer.zero_grad();
      torch::Tensor out = detail::forward_of(model, xb);
      if (!checked_shapes) {
        require(out.sizes() == yb.sizes(), "train: the model maps a batch " + detail::shape_string(xb) + " to " +
                                               detail::shape_string(out) + ", the targets are " +
                                               detail::shape_string(yb));
        checked_shapes = true;
      }
      torch::Tensor loss = detail::loss_of(o.loss, out, yb);
      const double v = loss.item<double>();
      if (!std::isfinite(v)) {
        if (bar) std::fputc('\n', stderr);
        throw Error("train: non-finite training loss (" + detail::format_number(v, "nan") + ") at epoch " +
                    std::to_string(e + 1) + ", batch " + std::to_string(b + 1) + " of " + std::to_string(batches) +
                    " (learning rate " + detail::format_number(lr) +
                    "); lower the learning rate or check the data");
      }
      loss.backward();
      optimizer.step();
      sum += v * static_cast<double>(b1 - b0);
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
    const double train_loss = sum / static_cast<double>(n);

    for (const auto& p : params)
      if (!torch::isfinite(p).all().item<bool>()) {
        if (bar) std::fputc('\n', stderr);
        throw Error("train: the weights became non-finite during epoch " + std::to_string(e + 1) + " (learning rate " +
                    detail::format_number(lr) + "); lower the learning rate");
      }

    double val_loss = std::numeric_limits<double>::quiet_NaN();
    if (has_val) {
      val_loss = evaluate(val_inputs, val_targets);
      if (!std::isfinite(val_loss)) {
        if (bar) std::fputc('\n', stderr);
        throw Error("train: non-finite validation loss (" + detail::format_number(val_loss, "nan") +
                    ") after epoch " + std::to_string(e + 1));
      }
    }

    result.train_loss.push_back(train_loss);
    result.val_loss.push_back(val_loss);
    lrs.push_back(lr);
    seconds.push_back(std::chrono::duration<double>(clock::now() - t_epoch).count());
    write_checkpoint(e + 1);
    write_loss_csv();
    ++result.epochs_run;

    const double elapsed = std::chrono::duration<double>(clock::now() - t_loop).count();
    const double eta = elapsed / static_cast<double>(steps_done) * static_cast<double>(total_steps - steps_done);
    if (bar) {
      std::fprintf(stderr, "\r\033[Kepoch %d/%d train %.5g val %.5g lr %.3g elapsed %s ETA %s\n", e + 1, o.epochs,
                   train_loss, val_loss, lr, detail::format_duration(elapsed).c_str(),
                   detail::format_duration(eta).c_str());
      std::fflush(stderr);
    } else {
      spdlog::info("train: epoch {}/{} train_loss {:.5g} val_loss {:.5g} lr {:.3g} elapsed {} ETA {}", e + 1,
                   o.epochs, train_loss, val_loss, lr, detail::format_duration(elapsed),
                   detail::format_duration(eta));
    }
  }

  if (!result.train_loss.empty() && !fs::exists(dir / "loss.csv")) write_loss_csv();
  save_weights(model, dir / "final.pt");
  result.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
  return result;
}

}  // namespace reconlab::networks
