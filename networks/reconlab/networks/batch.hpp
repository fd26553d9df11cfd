#pragma once
/// @file batch.hpp
/// The typed training data of reconlab's trainer: a Batch holds, for B samples, the measured k-space, its
/// sampling, optional coil maps, an optional image-domain network input and the target, as separate tensors
/// (instead of one packed (Re y, Im y, mask) tensor). A data set is a Batch with N samples; the trainer draws
/// batches from it with select().
///
/// Layouts (torch_backend.hpp): k-space complex64 (B, T, C, H, W) = (batch, frame, coil, y, x), T = 1 for the
/// single-image networks and T frames for cines (cine_nets.hpp); maps complex64 (B or 1, 1, C, H, W); sampling
/// float32 (B or 1, T or 1, 1, H, W) (a 0/1 mask or weights in [0, 1]; one pattern per frame for k-t sampling, or
/// one plane for all frames); images float32 (B, C, H, W), or (B, C, T, H, W) for networks on cines. A field whose
/// first axis is 1 while the batch has B > 1 samples is shared by all samples (one mask, one set of maps) and is
/// kept as is by select(). Non-Cartesian data: k-space holds the samples, complex64 (B, T, C, Y, S) = (batch,
/// frame, coil, spoke, readout sample), `trajectory` their coordinates float32 (B or 1, T, Y, S, 2) in cycles per
/// field of view (the bytes of nufft.hpp's RArray (2, S, Y, T, 1)), `sampling` is unused, and `maps` (single-coil:
/// ones) give the image size.
#include <torch/torch.h>

#include <optional>
#include <sstream>
#include <string>

#include "reconlab/error.hpp"

namespace reconlab::networks {

/// B training samples (see the file comment). Every field but `target` may be undefined: an image-to-image network
/// (the U-Net) uses `input` and `target` only; a k-space network uses `kspace`, `sampling` (and `maps`) and
/// `target`.
struct Batch {
  /// Measured k-space, complex64 (B, T, C, H, W), zero where not sampled, in the network's units (scaled).
  torch::Tensor kspace;
  /// Sampling mask or weights, float32 (B or 1, T or 1, 1, H, W).
  torch::Tensor sampling;
  /// Coil sensitivity maps, complex64 (B or 1, 1, C, H, W), for multi-coil networks.
  std::optional<torch::Tensor> maps;
  /// Non-Cartesian sample coordinates, float32 (B or 1, T, Y, S, 2) (file comment); then k-space is (B, T, C, Y, S).
  std::optional<torch::Tensor> trajectory;
  /// Image-domain network input, float32 (B, C, H, W) (e.g. the standardised zero-filled magnitude of the U-Net),
  /// or (B, C, T, H, W) for a network on cines.
  torch::Tensor input;
  /// What the network should produce, float32 (B, ...) (e.g. the target magnitude (B, 1, H, W)).
  torch::Tensor target;

  /// Number of samples B: the first axis of target (of input or k-space when target is undefined); 0 when empty.
  int64_t size() const {
    for (const torch::Tensor* t : {&target, &input, &kspace})
      if (t->defined() && t->dim() > 0) return t->size(0);
    return 0;
  }
  /// True when the batch holds no sample.
  bool empty() const { return size() == 0; }

  /// The samples at `index` (int64 (K,)): per-sample fields index_select-ed, shared fields (first axis 1 while
  /// the batch has more than one sample) kept.
  Batch select(const torch::Tensor& index) const {
    const int64_t n = size();
    auto pick = [&](const torch::Tensor& t) {
      if (!t.defined()) return t;
      if (t.size(0) == 1 && n != 1) return t;
      return t.index_select(0, index);
    };
    return map(pick);
  }

  /// The batch on `device` (a no-op for tensors already there).
  Batch to(const torch::Device& device) const {
    auto mv = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
    return map(mv);
  }

  /// The batch with f applied to every field (maps only when present): f maps torch::Tensor -> torch::Tensor.
  template <class F>
  Batch map(F&& f) const {
    Batch b;
    b.kspace = f(kspace);
    b.sampling = f(sampling);
    if (maps) b.maps = f(*maps);
    if (trajectory) b.trajectory = f(*trajectory);
    b.input = f(input);
    b.target = f(target);
    return b;
  }

  /// Checks shapes, dtypes and finiteness (see the field comments); `what` names the batch in messages
  /// ("training set", "validation set"). Throws reconlab::Error naming the field.
  void validate(const std::string& what) const {
    auto shape = [](const torch::Tensor& t) {
      std::ostringstream s;
      s << t.sizes();
      return s.str();
    };
    auto finite = [&](const torch::Tensor& t, const std::string& field) {
      require(torch::isfinite(t).all().item<bool>(),
              "train: " + what + " " + field + " holds non-finite values (NaN or Inf)");
    };
    require(target.defined(), "train: " + what + " has no targets");
    require(target.scalar_type() == torch::kFloat32,
            "train: " + what + " targets must be float32, got " + std::string(c10::toString(target.scalar_type())));
    const int64_t n = size();
    require(target.dim() >= 1 && n >= 1 && target.numel() >= 1, "train: " + what + " targets are empty: " +
                                                                     shape(target));
    finite(target, "targets");
    if (input.defined()) {
      require(input.dim() == 4 || input.dim() == 5,
              "train: " + what + " inputs must have shape (N, C, H, W) or (N, C, T, H, W), got " + shape(input));
      require(input.scalar_type() == torch::kFloat32,
              "train: " + what + " inputs must be float32, got " + std::string(c10::toString(input.scalar_type())));
      require(input.size(0) == n, "train: " + what + " inputs hold " + std::to_string(input.size(0)) +
                                      " images, targets " + std::to_string(n));
      finite(input, "inputs");
    }
    if (kspace.defined()) {
      require(kspace.dim() == 5 && kspace.is_complex(),
              "train: " + what + " k-space must be complex (N, frames, coils, H, W), got " + shape(kspace));
      require(kspace.size(0) == n, "train: " + what + " k-space holds " + std::to_string(kspace.size(0)) +
                                       " samples, targets " + std::to_string(n));
      finite(torch::view_as_real(kspace.contiguous()), "k-space");
      require(sampling.defined() || trajectory, "train: " + what + " has k-space but no sampling mask or trajectory");
    }
    if (sampling.defined()) {
      const int64_t frames = kspace.defined() ? kspace.size(1) : sampling.size(1);
      require(sampling.dim() == 5 && sampling.scalar_type() == torch::kFloat32 &&
                  (sampling.size(1) == 1 || sampling.size(1) == frames) && sampling.size(2) == 1 &&
                  (sampling.size(0) == 1 || sampling.size(0) == n),
              "train: " + what + " sampling must be float32 (N or 1, frames or 1, 1, H, W), got " + shape(sampling));
      if (kspace.defined())
        require(sampling.size(3) == kspace.size(3) && sampling.size(4) == kspace.size(4),
                "train: " + what + " sampling " + shape(sampling) + " does not match the k-space " + shape(kspace));
      finite(sampling, "sampling");
      require((sampling >= 0).all().item<bool>() && (sampling <= 1).all().item<bool>(),
              "train: " + what + " sampling values must lie in [0, 1]");
    }
    if (maps) {
      const torch::Tensor& s = *maps;
      require(s.defined() && s.dim() == 5 && s.is_complex() && s.size(1) == 1 && (s.size(0) == 1 || s.size(0) == n),
              "train: " + what + " maps must be complex (N or 1, 1, coils, H, W), got " +
                  (s.defined() ? shape(s) : std::string("undefined")));
      if (kspace.defined() && !trajectory)
        require(s.size(2) == kspace.size(2) && s.size(3) == kspace.size(3) && s.size(4) == kspace.size(4),
                "train: " + what + " maps " + shape(s) + " do not match the k-space " + shape(kspace));
      if (kspace.defined() && trajectory)
        require(s.size(2) == kspace.size(2), "train: " + what + " maps " + shape(s) + " and k-space " +
                                                 shape(kspace) + " differ in coil count");
      finite(torch::view_as_real(s.contiguous()), "maps");
    }
    if (trajectory) {
      const torch::Tensor& t = *trajectory;
      require(t.defined() && t.dim() == 5 && t.scalar_type() == torch::kFloat32 && t.size(4) == 2 &&
                  (t.size(0) == 1 || t.size(0) == n),
              "train: " + what + " trajectory must be float32 (N or 1, frames, spokes, samples, 2), got " +
                  (t.defined() ? shape(t) : std::string("undefined")));
      require(kspace.defined() && kspace.size(1) == t.size(1) && kspace.size(3) == t.size(2) &&
                  kspace.size(4) == t.size(3),
              "train: " + what + " trajectory " + shape(t) + " does not match the samples " +
                  (kspace.defined() ? shape(kspace) : std::string("(none)")));
      require(maps.has_value(), "train: " + what + " has a trajectory but no maps (ones for one coil): they give "
                                "the image size");
      finite(t, "trajectory");
    }
    require(input.defined() || kspace.defined(), "train: " + what + " has neither inputs nor k-space");
  }
};

/// The data set of an image-to-image network: inputs (N, C, H, W) and targets, as a Batch.
inline Batch image_batch(torch::Tensor inputs, torch::Tensor targets) {
  Batch b;
  b.input = std::move(inputs);
  b.target = std::move(targets);
  return b;
}

}  // namespace reconlab::networks
