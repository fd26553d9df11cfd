#pragma once
/// @file distributed.hpp
/// Data-parallel training over several processes on LibTorch's own distributed engine, c10d: a TCPStore
/// rendezvous at rank 0's address and a ProcessGroupGloo (Facebook's Gloo collectives over TCP) for the
/// all-reduce of gradients and the broadcast of initial weights. The design is PyTorch's DistributedDataParallel
/// (Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB 2020): every rank
/// holds the whole model, sees its own shard of each batch, and all ranks add their gradients before every
/// optimiser step, so all ranks keep identical weights. The trainer (trainer.hpp) uses it when
/// TrainOptions::process_group is set; `reconlab train --world-size N --rank R --master HOST:PORT` (or `--nproc N`,
/// which starts N local processes) is the command-line form.
///
/// Sharding (shard_range): each global batch of B samples (the batch a single process would train on) is cut into
/// world_size contiguous parts of floor(B / W) or ceil(B / W) samples, the first B mod W ranks taking one more; so
/// over an epoch the ranks' shards are disjoint and together cover the epoch's shuffled order exactly, and the
/// optimisation is that of one process with batch size B (up to the order of floating-point sums).
///
/// Gradient averaging: rank r scales its gradients by n_r / B (n_r samples in its part) and the ranks' gradients are
/// summed, which for a loss that is a mean over the batch's samples (every reconlab loss) is the gradient of the
/// mean over the whole batch: exactly what one process computes. Gradients are flattened into buckets of at most
/// kBucketBytes per dtype, one all-reduce per bucket (DDP's gradient bucketing).
#include <torch/torch.h>
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // Debian's LibTorch is built with Gloo; its header hides the class without this
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/error.hpp"

namespace reconlab::networks {

/// Where a process stands in a data-parallel run; an aggregate.
struct DistributedOptions {
  /// Number of processes (>= 1; 1 = no distribution).
  int world_size = 1;
  /// This process's rank, 0 <= rank < world_size. Rank 0 serves the rendezvous and writes every file.
  int rank = 0;
  /// "HOST:PORT" of rank 0's rendezvous (TCPStore): an IPv4 address or host name and a port in 1..65535; every
  /// rank names the same one. "127.0.0.1:PORT" for processes on one machine.
  std::string master = "127.0.0.1:29500";
  /// Seconds (> 0) that the rendezvous and every collective wait for the other ranks before failing.
  double timeout_seconds = 120.0;
};

/// Splits "HOST:PORT" into its parts. Throws Error for a missing host, a missing or non-numeric port, or a port
/// outside 1..65535.
inline std::pair<std::string, uint16_t> parse_master(const std::string& master) {
  const auto colon = master.rfind(':');
  require(colon != std::string::npos && colon > 0 && colon + 1 < master.size(),
          "distributed: --master must be HOST:PORT (e.g. 127.0.0.1:29500), got '" + master + "'");
  const std::string host = master.substr(0, colon), port_s = master.substr(colon + 1);
  require(port_s.find_first_not_of("0123456789") == std::string::npos && port_s.size() <= 5,
          "distributed: the port of --master must be a number, got '" + port_s + "'");
  const long port = std::stol(port_s);
  require(port >= 1 && port <= 65535, "distributed: the port of --master must be in 1..65535, got " + port_s);
  return {host, static_cast<uint16_t>(port)};
}

/// The half-open range [begin, end) of the global batch [b0, b1) that `rank` of `world_size` trains on (see the file
/// comment): contiguous parts of floor or ceil((b1 - b0) / world_size) samples, the first (b1 - b0) mod world_size
/// ranks taking the larger. Over all ranks the parts are disjoint and cover [b0, b1). Throws Error for world_size
/// < 1, a rank outside [0, world_size) or b1 < b0.
inline std::pair<int64_t, int64_t> shard_range(int64_t b0, int64_t b1, int rank, int world_size) {
  require(world_size >= 1 && rank >= 0 && rank < world_size && b1 >= b0,
          "shard_range: needs 0 <= rank < world_size and b0 <= b1, got rank " + std::to_string(rank) + " of " +
              std::to_string(world_size) + ", [" + std::to_string(b0) + ", " + std::to_string(b1) + ")");
  const int64_t n = b1 - b0, q = n / world_size, extra = n % world_size;
  const int64_t begin = b0 + rank * q + std::min<int64_t>(rank, extra);
  return {begin, begin + q + (rank < extra ? 1 : 0)};
}

/// A connected group of processes (a c10d TCPStore and a ProcessGroupGloo) with the collectives the trainer
/// needs. Every collective is called by every rank in the same order; one that fails (a rank died, or did not
/// answer within the timeout) throws Error naming this rank and the operation. Not copyable; share it with
/// std::shared_ptr.
class ProcessGroup {
 public:
  /// Largest bucket of flattened gradients in one all-reduce, in bytes (25 MiB, DDP's default bucket_cap_mb).
  static constexpr int64_t kBucketBytes = 25ll << 20;

  /// Joins the group: rank 0 starts the TCPStore server at options.master, the others connect to it, and all
  /// build the Gloo process group (TCP transport on the interface that reaches the master's host). Blocks until
  /// all world_size ranks have joined. Throws Error for invalid options, and when the rendezvous fails or times
  /// out (a rank that never starts, a port in use, an unreachable host).
  static std::shared_ptr<ProcessGroup> connect(const DistributedOptions& o) {
    require(o.world_size >= 1, "distributed: --world-size must be >= 1, got " + std::to_string(o.world_size));
    require(o.rank >= 0 && o.rank < o.world_size, "distributed: --rank must be in 0.." +
                                                      std::to_string(o.world_size - 1) + ", got " +
                                                      std::to_string(o.rank));
    require(std::isfinite(o.timeout_seconds) && o.timeout_seconds > 0,
            "distributed: the timeout must be > 0 seconds");
    auto [host, port] = parse_master(o.master);
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000.0));
    auto group = std::shared_ptr<ProcessGroup>(new ProcessGroup(o));
    try {
      c10d::TCPStoreOptions so;
      so.port = port;
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<std::size_t>(o.world_size);
      so.waitWorkers = true;
      so.timeout = timeout;
      group->store_ = c10::make_intrusive<c10d::TCPStore>(host, so);
      auto go = c10d::ProcessGroupGloo::Options::create(timeout);
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
      go->threads = 1;
      group->pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store_, o.rank, o.world_size, go);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("distributed: rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                  " could not join the group at " + o.master + " within " + std::to_string(o.timeout_seconds) +
                  " s: " + first_line(e.what()));
    }
    return group;
  }

  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  const DistributedOptions& options() const { return options_; }

  /// Sums `tensors` (CPU, contiguous or not) over the ranks in place, flattened into buckets of at most
  /// kBucketBytes per dtype. `what` names the operation in errors.
  void allreduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    while (i < tensors.size()) {
      // One bucket: consecutive tensors of one dtype up to kBucketBytes (at least one tensor).
      std::vector<torch::Tensor> bucket{tensors[i]};
      int64_t bytes = tensors[i].numel() * tensors[i].element_size();
      std::size_t j = i + 1;
      while (j < tensors.size() && tensors[j].scalar_type() == tensors[i].scalar_type() &&
             bytes + tensors[j].numel() * tensors[j].element_size() <= kBucketBytes) {
        bytes += tensors[j].numel() * tensors[j].element_size();
        bucket.push_back(tensors[j++]);
      }
      std::vector<torch::Tensor> flat_parts;
      for (const auto& t : bucket) flat_parts.push_back(t.reshape(-1));
      std::vector<torch::Tensor> flat{torch::cat(flat_parts)};
      run(what, [&] { return pg_->allreduce(flat); });
      int64_t off = 0;
      for (auto& t : bucket) {
        t.copy_(flat[0].slice(0, off, off + t.numel()).view(t.sizes()));
        off += t.numel();
      }
      i = j;
    }
  }

  /// Replaces `tensors` on every rank by rank `root`'s (in place). `what` names the operation in errors.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root, const std::string& what) {
    torch::NoGradGuard no_grad;
    for (const auto& t : tensors) {
      std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      run(what, [&] { return pg_->broadcast(one, bo); });
      if (!t.is_contiguous()) t.copy_(one[0]);
    }
  }

  /// Waits until every rank has called it. `what` names the point in errors.
  void barrier(const std::string& what) {
    run(what, [&] { return pg_->barrier(); });
  }

  /// Rank `root`'s value of a 64-bit integer, on every rank.
  int64_t broadcast_int(int64_t v, int root, const std::string& what) {
    auto t = torch::tensor({v}, torch::kInt64);
    broadcast({t}, root, what);
    return t.item<int64_t>();
  }

 private:
  explicit ProcessGroup(DistributedOptions o) : options_(std::move(o)) {}

  static std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }

  template <class F>
  void run(const std::string& what, F&& start) {
    try {
      auto work = start();
      work->wait(std::chrono::milliseconds(static_cast<int64_t>(options_.timeout_seconds * 1000.0)));
    } catch (const std::exception& e) {
      throw Error("distributed: rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ": " +
                  what + " failed (another rank died or did not answer within " +
                  std::to_string(static_cast<int>(options_.timeout_seconds)) + " s): " + first_line(e.what()));
    }
  }

  DistributedOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

namespace detail {

/// An optimiser that all-reduces its parameters' gradients over a ProcessGroup, each scaled by `scale` (n_r / B,
/// set by the trainer per batch), before the wrapped optimiser's step. zero_grad acts on the same parameters. The
/// wrapped optimiser keeps the state, the learning rates and the checkpoint format.
class AllReduceOptimizer : public torch::optim::Optimizer {
 public:
  AllReduceOptimizer(torch::optim::Optimizer& inner, ProcessGroup& group, std::string name)
      : torch::optim::Optimizer(parameters_of(inner), std::make_unique<torch::optim::SGDOptions>(0.0)),
        inner_(inner),
        group_(group),
        name_(std::move(name)) {}

  /// n_r / B of the current batch.
  double scale = 1.0;

  torch::Tensor step(LossClosure closure = nullptr) override {
    std::vector<torch::Tensor> params, grads;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : parameters_of(inner_))
        if (p.requires_grad()) params.push_back(p);
      // Which parameters have a gradient on some rank: a parameter the step did not reach on this rank takes part
      // with a zero gradient, so every rank reduces the same tensors; one that has none on any rank keeps none, so
      // that the wrapped optimiser skips it as it would in one process.
      auto defined = torch::zeros({static_cast<int64_t>(params.size())}, torch::kFloat32);
      for (std::size_t i = 0; i < params.size(); ++i) {
        auto& g = params[i].mutable_grad();
        if (g.defined()) defined[static_cast<int64_t>(i)] = 1.0f;
        else g = torch::zeros_like(params[i]);
        g.mul_(scale);
        grads.push_back(g);
      }
      grads.push_back(defined);
    }
    group_.allreduce_sum(grads, "the gradient all-reduce of '" + name_ + "'");
    const auto defined = grads.back();
    for (std::size_t i = 0; i < params.size(); ++i)
      if (defined[static_cast<int64_t>(i)].item<float>() == 0.0f) params[i].mutable_grad() = torch::Tensor();
    return inner_.step(std::move(closure));
  }

 private:
  static std::vector<torch::Tensor> parameters_of(torch::optim::Optimizer& o) {
    std::vector<torch::Tensor> v;
    for (auto& g : o.param_groups())
      for (auto& p : g.params()) v.push_back(p);
    return v;
  }

  torch::optim::Optimizer& inner_;
  ProcessGroup& group_;
  std::string name_;
};

}  // namespace detail

}  // namespace reconlab::networks
