#pragma once
/// @file sense_modl.hpp
/// Multi-coil MoDL: an unrolled network with SENSE data consistency (the multi-coil model A = M F S of sense.hpp on
/// the torch backend), its packed one-tensor input, a Reconstructor wrapper with model.json, and the simulation of
/// multi-coil training data (coil images S x, k-space F S x plus complex Gaussian noise, masked).
///
/// Method: H. K. Aggarwal, M. P. Mani, M. Jacob, "MoDL: Model-based deep learning architecture for inverse
/// problems", IEEE TMI 38(2), 2019, eq. 9-10 (x_k = (A^H A + lambda I)^{-1} (A^H y + lambda z_k), z_k = D_w(x_{k-1}),
/// one CNN shared by all iterations, CG inside the network); K. Hammernik et al., "Learning a variational network
/// for reconstruction of accelerated MRI data", MRM 79(6), 2018 (unrolled multi-coil reconstruction with the coil
/// sensitivities in the forward model, trained end to end).
///
/// Layouts (torch_backend.hpp): multi-coil k-space and maps are complex64 (N, 1, C, H, W) = (batch, frame, coil, y, x);
/// masks float32 (N, 1, 1, H, W), 0/1; images complex64 (N, 1, 1, H, W). The packed input (what the trainer feeds to
/// forward()) is float32 (N, 4 C + 1, H, W): channels [Re y_0..Re y_{C-1}, Im y_0..Im y_{C-1}, Re s_0..Re s_{C-1},
/// Im s_0..Im s_{C-1}, mask]. k-space is scaled by s = 1 / max|A^H y| (the zero-filled SENSE combination then has
/// maximum 1); targets are |x_true| times the same s.
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/data_consistency.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/random.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/coil_maps.hpp"

namespace reconlab::networks {

/// The input convention of model.json for "modl-sense" (checked on load).
inline constexpr const char* kPackedSenseInput =
    "(Re y_c, Im y_c, Re s_c, Im s_c per coil, mask) with y * 1/max|A^H y|";

/// Measured multi-coil k-space y (complex64 (N, 1, C, H, W)), maps (complex64 (N, 1, C, H, W)) and mask
/// (float32 (N, 1, 1, H, W)).
struct MeasuredSense {
  torch::Tensor kspace, maps, mask;
  int64_t coils() const { return kspace.size(2); }
};

/// Packs y (complex (N, 1, C, H, W)), maps (complex (N or 1, 1, C, H, W)) and mask (float (N or 1, 1, 1, H, W)) into
/// float32 (N, 4 C + 1, H, W) (file comment). Throws Error on other shapes, and when the coil counts of k-space and
/// maps differ.
inline torch::Tensor pack_sense(const torch::Tensor& kspace, const torch::Tensor& maps, const torch::Tensor& mask) {
  require(kspace.defined() && kspace.dim() == 5 && kspace.size(1) == 1 && kspace.is_complex(),
          "pack_sense: k-space must be complex (N, 1, coils, H, W)");
  require(maps.defined() && maps.dim() == 5 && maps.is_complex() && maps.size(1) == 1,
          "pack_sense: maps must be complex (N or 1, 1, coils, H, W)");
  require(maps.size(2) == kspace.size(2), "coil counts disagree: k-space has " + std::to_string(kspace.size(2)) +
                                              " coils, sensitivity maps have " + std::to_string(maps.size(2)));
  require(maps.size(3) == kspace.size(3) && maps.size(4) == kspace.size(4) &&
              (maps.size(0) == 1 || maps.size(0) == kspace.size(0)),
          "pack_sense: maps must match the k-space in-plane size and batch");
  require(mask.defined() && mask.dim() == 5 && mask.size(2) == 1 && mask.size(3) == kspace.size(3) &&
              mask.size(4) == kspace.size(4) && (mask.size(0) == 1 || mask.size(0) == kspace.size(0)),
          "pack_sense: mask must be (1 or N, 1, 1, H, W) matching the k-space");
  const int64_t n = kspace.size(0), c = kspace.size(2), h = kspace.size(3), w = kspace.size(4);
  auto k = kspace.to(torch::kComplexFloat).select(1, 0);                      // (N, C, H, W)
  auto s = maps.to(torch::kComplexFloat).select(1, 0).expand({n, c, h, w});  // (N, C, H, W)
  auto m = mask.to(torch::kFloat).select(1, 0).expand({n, 1, h, w});
  return torch::cat({torch::real(k), torch::imag(k), torch::real(s), torch::imag(s), m}, 1).contiguous();
}

/// Inverse of pack_sense. Throws Error unless the input is float (N, 4 C + 1, H, W) with C >= 1.
inline MeasuredSense unpack_sense(const torch::Tensor& packed) {
  require(packed.defined() && packed.dim() == 4 && packed.size(1) >= 5 && (packed.size(1) - 1) % 4 == 0,
          "modl-sense: network input must be packed multi-coil data (N, 4 coils + 1, H, W), got " +
              (packed.defined() ? detail::shape_string(packed) : std::string("an undefined tensor")));
  const int64_t c = (packed.size(1) - 1) / 4;
  auto part = [&](int64_t i) { return packed.narrow(1, i * c, c); };
  MeasuredSense m;
  m.kspace = torch::complex(part(0).contiguous(), part(1).contiguous()).unsqueeze(1);
  m.maps = torch::complex(part(2).contiguous(), part(3).contiguous()).unsqueeze(1);
  m.mask = packed.narrow(1, 4 * c, 1).unsqueeze(1);
  return m;
}

/// Options of SenseModlImpl (defaults: the small network of the parallel-imaging study's quick training).
struct SenseModlOptions {
  int64_t iterations = 4;      ///< K unrolled iterations (MoDL: 10)
  int64_t cg_iterations = 5;   ///< CG steps per DC (MoDL: 10)
  int64_t conv_layers = 4;     ///< layers of D_w (MoDL: 5)
  int64_t features = 24;       ///< features of D_w (MoDL: 64)
  double lambda_init = 0.05;   ///< initial lambda (> 0; learned as log lambda)
};

/// MoDL with SENSE data consistency (Aggarwal et al. 2019, eq. 9-10, multi-coil): x_0 = A^H y; for k = 1..K:
/// z_k = x_{k-1} + D_w(x_{k-1}) (ResidualCnn on (Re, Im), shared), x_k = (A^H A + lambda I)^{-1}(A^H y + lambda z_k)
/// by the one CG (solvers/cg.hpp, per-sample step sizes on the autograd graph) started at z_k, with A = SenseOperator<Torch>(mask_n, maps_n) per sample n (maps
/// and masks may differ within a batch) and a learned lambda > 0 (log-parametrised).
/// forward(packed (N, 4C+1, H, W)) -> magnitude float32 (N, 1, H, W); reconstruct(packed) -> complex (N, 1, 1, H, W).
class SenseModlImpl : public torch::nn::Module {
 public:
  /// Throws Error if iterations or cg_iterations < 1, lambda_init <= 0, or as ResidualCnn.
  explicit SenseModlImpl(const SenseModlOptions& o = {}) : options_(o) {
    require(o.iterations >= 1 && o.cg_iterations >= 1, "SenseModl: iterations and cg_iterations must be >= 1");
    require(o.lambda_init > 0 && std::isfinite(o.lambda_init), "SenseModl: lambda_init must be finite and > 0");
    cnn_ = register_module("cnn", ResidualCnn(o.conv_layers, o.features));
    log_lambda_ = register_parameter("log_lambda", torch::full({}, std::log(o.lambda_init)));
  }

  /// A^H y per sample: complex (N, 1, 1, H, W).
  torch::Tensor adjoint(const MeasuredSense& m) const {
    std::vector<torch::Tensor> out;
    for (int64_t n = 0; n < m.kspace.size(0); ++n) out.push_back(op(m, n).adjoint(m.kspace.narrow(0, n, 1)));
    return torch::cat(out, 0);
  }

  /// The DC step alone: argmin_x ||A x - y||^2 + lambda ||x - z||^2, i.e. (A^H A + lambda I) x = A^H y + lambda z,
  /// by cg_iterations CG steps from x = z. z: complex (N, 1, 1, H, W).
  torch::Tensor dc_step(const torch::Tensor& z, const MeasuredSense& m) {
    const int64_t N = m.kspace.size(0);
    std::vector<SenseOperator<Torch>> ops;
    for (int64_t n = 0; n < N; ++n) ops.push_back(op(m, n));
    auto lambda = torch::exp(log_lambda_);
    auto normal = [&](const torch::Tensor& v) {
      std::vector<torch::Tensor> out;
      for (int64_t n = 0; n < N; ++n) out.push_back(ops[n].normal(v.narrow(0, n, 1)));
      return torch::cat(out, 0) + lambda * v;
    };
    std::vector<torch::Tensor> rhs;
    for (int64_t n = 0; n < N; ++n) rhs.push_back(ops[n].adjoint(m.kspace.narrow(0, n, 1)));
    return solvers::conjugate_gradient<Torch>(
        normal, torch::cat(rhs, 0) + lambda * z, z,
        solvers::CgOptions{.max_iterations = static_cast<int>(options_.cg_iterations), .tolerance = 0});
  }

  /// The reconstruction of measured k-space, maps and mask (MeasuredSense's layouts): complex (N, 1, 1, H, W).
  torch::Tensor reconstruct(const MeasuredSense& m) {
    require(m.kspace.defined() && m.maps.defined() && m.mask.defined() && m.maps.size(2) == m.kspace.size(2),
            "modl-sense: needs k-space, maps and mask with the same coil count");
    auto x = adjoint(m);
    for (int64_t k = 0; k < options_.iterations; ++k) {
      auto z = channels_to_complex(cnn_->forward(complex_to_channels(x)));
      x = dc_step(z, m);
    }
    return x;
  }
  torch::Tensor reconstruct(const torch::Tensor& packed) { return reconstruct(unpack_sense(packed)); }
  /// Magnitude (N, 1, H, W) of the typed batch (batch.kspace, *batch.maps, batch.sampling). Throws Error when the
  /// batch has no maps.
  torch::Tensor forward(const Batch& b) {
    require(b.maps.has_value(), "modl-sense: the batch has no coil sensitivity maps");
    return magnitude(reconstruct(MeasuredSense{b.kspace, *b.maps, b.sampling}));
  }
  torch::Tensor forward(const torch::Tensor& packed) { return magnitude(reconstruct(packed)); }
  /// The learned lambda (exp(log_lambda)).
  double lambda() const { return std::exp(log_lambda_.item<double>()); }
  /// Sets lambda (> 0) without gradient tracking (tests).
  void set_lambda(double l) {
    require(l > 0 && std::isfinite(l), "SenseModl: lambda must be finite and > 0");
    torch::NoGradGuard g;
    log_lambda_.fill_(std::log(l));
  }
  ResidualCnn& cnn() { return cnn_; }
  const SenseModlOptions& options() const { return options_; }

 private:
  static SenseOperator<Torch> op(const MeasuredSense& m, int64_t n) {
    return SenseOperator<Torch>(m.mask.size(0) == 1 ? m.mask : m.mask.narrow(0, n, 1),
                                m.maps.size(0) == 1 ? m.maps : m.maps.narrow(0, n, 1));
  }
  SenseModlOptions options_;
  ResidualCnn cnn_{nullptr};
  torch::Tensor log_lambda_;
};
TORCH_MODULE(SenseModl);

/// model.json of a SenseModl ("architecture": "modl-sense").
inline nlohmann::json network_json(const SenseModlOptions& o) {
  return {{"architecture", "modl-sense"}, {"iterations", o.iterations},   {"cg_iterations", o.cg_iterations},
          {"conv_layers", o.conv_layers}, {"features", o.features},       {"lambda_init", o.lambda_init},
          {"input", kPackedSenseInput}};
}

/// A multi-coil acquisition as SenseModl's typed input, and the scale used.
struct SenseAcquisition {
  MeasuredSense measured;  ///< y * s (1, 1, C, ny, nx), maps (1, 1, C, ny, nx), mask (1, 1, 1, ny, nx)
  float scale;             ///< s = 1 / max|A^H y| (1 when A^H y is all zero)
};

/// The typed input of a multi-coil, single-frame, Cartesian acquisition (k-space (nx, ny, C, 1, 1)) with its
/// sensitivities, or with solvers::lowres_maps from its ACS region when it has none. Throws Error on an invalid
/// acquisition, a trajectory, frames, sampling weights (the network was trained on 0/1 masks), maps that do not
/// fit the k-space (e.g. a coil count mismatch), or (lowres_maps) no ACS region.
inline SenseAcquisition sense_acquisition(const Acquisition& acq) {
  validate_acquisition(acq);
  require_binary_mask(acq, "modl-sense");  // also rejects a trajectory
  require_single_frame(acq, "modl-sense");
  const Dims kd = dims_of(acq.kspace);
  const RArray& mask = acq.mask();
  require(dims_of(mask) == Dims{kd[0], kd[1], 1, 1, 1},
          "modl-sense: one mask plane (nx, ny, 1, 1, 1) expected, got " + dims_string(dims_of(mask)));
  const CArray maps = acq.sensitivities ? *acq.sensitivities : solvers::lowres_maps(acq.kspace, mask);
  require_maps_fit(kd, dims_of(maps));
  const CArray y = EigenFftw::multiply_mask(mask, acq.kspace);
  const CArray zf = SenseOperator<EigenFftw>(mask, maps).adjoint(y);
  Eigen::Tensor<float, 0> mx = zf.abs().maximum();
  const float s = mx() > 0 ? 1.0f / mx() : 1.0f;
  return {MeasuredSense{Torch::from_eigen(y) * s, Torch::from_eigen(maps), Torch::from_eigen(mask)}, s};
}

/// A multi-coil acquisition packed for SenseModl (pack_sense of sense_acquisition) and the scale used.
struct PackedSenseAcquisition {
  torch::Tensor packed;  ///< float32 (1, 4 C + 1, ny, nx)
  float scale;           ///< s = 1 / max|A^H y| (1 when A^H y is all zero)
};

/// pack_sense of sense_acquisition(acq). Throws Error as sense_acquisition.
inline PackedSenseAcquisition pack_sense_acquisition(const Acquisition& acq) {
  const SenseAcquisition a = sense_acquisition(acq);
  return {pack_sense(a.measured.kspace, a.measured.maps, a.measured.mask), a.scale};
}

/// The input convention of SenseModlReconstructor, a trained SenseModl as a Reconstructor: a multi-coil Cartesian acquisition of one frame in (maps from the
/// acquisition, else estimated with lowres_maps), the complex coil-combined image (nx, ny, 1, 1, 1) in the
/// acquisition's units out (the network's output divided by the input scale). Throws Error as sense_acquisition.
/// Loaded from final.pt and model.json by the registry (registry.hpp, "modl-sense").
struct SenseModlInput {
  static constexpr const char* name = "modl-sense";
  std::pair<MeasuredSense, float> operator()(const Acquisition& acq) const {
    const SenseAcquisition a = sense_acquisition(acq);
    return {a.measured, a.scale};
  }
};
using SenseModlReconstructor = LearnedLambdaReconstructor<SenseModl, SenseModlInput>;

/// Bilinear resampling of a complex array (nx, ny, c, 1, 1) to (mx, my, c, 1, 1), pixel centres aligned
/// (align_corners = false convention, edge samples clamped). Throws Error on empty sizes.
inline CArray resample_bilinear(const CArray& a, Index mx, Index my) {
  const Index nx = a.dimension(0), ny = a.dimension(1), nc = a.dimension(2);
  require(nx > 0 && ny > 0 && mx > 0 && my > 0 && a.dimension(3) == 1 && a.dimension(4) == 1,
          "resample_bilinear: sizes must be > 0 and the array (nx, ny, c, 1, 1)");
  CArray out(mx, my, nc, 1, 1);
  auto coord = [](Index i, Index n, Index m, Index& i0, Index& i1, float& t) {
    const double u = std::clamp((double(i) + 0.5) * double(n) / double(m) - 0.5, 0.0, double(n - 1));
    i0 = Index(std::floor(u)), i1 = std::min(i0 + 1, n - 1), t = float(u - double(i0));
  };
  for (Index y = 0; y < my; ++y) {
    Index y0, y1;
    float ty;
    coord(y, ny, my, y0, y1, ty);
    for (Index x = 0; x < mx; ++x) {
      Index x0, x1;
      float tx;
      coord(x, nx, mx, x0, x1, tx);
      for (Index c = 0; c < nc; ++c)
        out(x, y, c, 0, 0) = (1 - ty) * ((1 - tx) * a(x0, y0, c, 0, 0) + tx * a(x1, y0, c, 0, 0)) +
                             ty * ((1 - tx) * a(x0, y1, c, 0, 0) + tx * a(x1, y1, c, 0, 0));
    }
  }
  return out;
}

/// Normalises maps (nx, ny, c, 1, 1) so that sum_c |s_c|^2 = 1 wherever the RSS exceeds `threshold` times its
/// maximum, and sets them to 0 elsewhere (the convention of coil_maps.hpp).
inline CArray normalise_maps(const CArray& maps, double threshold = 0.0) {
  const RArray r = rss(maps);
  Eigen::Tensor<float, 0> mx = r.maximum();
  CArray out = maps;
  for (Index c = 0; c < maps.dimension(2); ++c)
    for (Index y = 0; y < maps.dimension(1); ++y)
      for (Index x = 0; x < maps.dimension(0); ++x) {
        const float v = r(x, y, 0, 0, 0);
        out(x, y, c, 0, 0) = (v > 0 && v > float(threshold) * mx()) ? maps(x, y, c, 0, 0) / v : cfloat(0);
      }
  return out;
}

/// Simulates one multi-coil training sample per image, as the trainer's typed Batch: coil images S x (maps
/// (nx, ny, C, 1, 1)), k-space F S x plus complex Gaussian noise of std noise_ratio * max|F S x| per
/// real/imaginary component (the measured level of a real acquisition), masked by masks[i] (nx, ny, 1, 1, 1), and
/// scaled by s = 1/max|A^H y|; the target is |x| s. images[i]: complex (nx, ny, 1, 1, 1). Noise from
/// reconlab::Random(seed + i) (complex_normal per sample in memory order), the same on every platform.
/// Returns kspace complex (N, 1, C, H, W), sampling float (N, 1, 1, H, W), maps complex (1, 1, C, H, W) (shared)
/// and target float (N, 1, H, W). Throws Error when images and masks differ in number or size, or the maps do
/// not fit.
inline Batch simulate_sense_batch(const std::vector<CArray>& images, const CArray& maps,
                                  const std::vector<RArray>& masks, double noise_ratio, uint64_t seed) {
  require(!images.empty() && images.size() == masks.size(), "simulate_sense_training: one mask per image needed");
  require(noise_ratio >= 0, "simulate_sense_training: noise_ratio must be >= 0");
  std::vector<torch::Tensor> ks, ms, ts;
  for (size_t i = 0; i < images.size(); ++i) {
    const Dims d = dims_of(images[i]);
    require(d[2] == 1 && d[3] == 1 && d[4] == 1, "simulate_sense_training: images must be (nx, ny, 1, 1, 1)");
    require_maps_fit({d[0], d[1], maps.dimension(2), 1, 1}, dims_of(maps));
    require(dims_of(masks[i]) == Dims{d[0], d[1], 1, 1, 1},
            "simulate_sense_training: masks must be (nx, ny, 1, 1, 1) like the images");
    CArray k = EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(images[i]));
    Eigen::Tensor<float, 0> kmax = k.abs().maximum();
    Random rng(seed + i);  // portable: the same noise on every standard library
    const double sigma = noise_ratio * double(kmax());
    for (Index j = 0; j < k.size(); ++j) k.data()[j] += rng.complex_normal(sigma);  // real part drawn first
    const CArray y = EigenFftw::multiply_mask(masks[i], k);
    const CArray zf = SenseOperator<EigenFftw>(masks[i], maps).adjoint(y);
    Eigen::Tensor<float, 0> mx = zf.abs().maximum();
    const float s = mx() > 0 ? 1.0f / mx() : 1.0f;
    ks.push_back(Torch::from_eigen(y) * s);
    ms.push_back(Torch::from_eigen(masks[i]));
    ts.push_back(Torch::from_eigen(RArray(images[i].abs() * s)).select(1, 0));  // (1, 1, H, W)
  }
  Batch b;
  b.kspace = torch::cat(ks, 0);
  b.sampling = torch::cat(ms, 0);
  b.maps = Torch::from_eigen(maps);
  b.target = torch::cat(ts, 0);
  return b;
}

/// Simulated multi-coil training pairs in the packed form: inputs float32 (N, 4 C + 1, H, W), targets float32
/// (N, 1, H, W).
struct SenseTrainingSet {
  torch::Tensor inputs, targets;
};

/// simulate_sense_batch packed with pack_sense (the same samples). Throws Error as simulate_sense_batch.
inline SenseTrainingSet simulate_sense_training(const std::vector<CArray>& images, const CArray& maps,
                                                const std::vector<RArray>& masks, double noise_ratio, uint64_t seed) {
  const Batch b = simulate_sense_batch(images, maps, masks, noise_ratio, seed);
  return {pack_sense(b.kspace, *b.maps, b.sampling), b.target};
}

}  // namespace reconlab::networks
