/// @file phantom_cascade.cpp
/// The phantom cascade study: a k-space U-Net with data consistency, a k-space-then-image cascade (stage 1 the
/// frozen k-space U-Net, stage 2 an image-space residual U-Net), the unrolled DnCn (Schlemper et al. 2018) and
/// MoDL (Aggarwal et al. 2019) against zero-filled, ROF, CS-TV and BART pics on random Shepp-Logan-style phantoms
/// (reconlab/phantoms.hpp, 128 x 128, values in [0, 1]) at R = 4 with fastMRI equispaced column masks and a fully
/// sampled centre (centre fraction 0.08). The original study reported cascade > k-space U-Net > TV ~ zero-filled,
/// with TV competitive on SSIM; summary.md says whether that holds here.
///
/// Data: phantoms are real images; single-coil k-space is their centred unitary FFT, noiseless. Every training
/// phantom gets its own mask (random offset of the equispaced lines); test case i uses mask seed seed + 7000 + i.
/// Metrics (fastMRI / scikit-image) after normalising both images with the ground truth's range (min..max -> 0..1).
/// Regularisation weights are chosen per method on the validation phantoms (best mean PSNR).
///
/// The loop, options, manifest, summary and figures are the study runner's (reconlab/study/runner.hpp); this file
/// holds the data, the methods and the training. Output folder: metrics.csv, summary.md, manifest.json, figures/
/// (box plots, panels with error maps and cascade - method, training curves), samples/, <network>/ (checkpoint.pt,
/// loss.csv, final.pt, model.json). A rerun skips finished trainings and (case, method) rows.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/runner.hpp"

using namespace reconlab;
namespace nw = reconlab::networks;

namespace {

/// Study sizes: `quick` (all networks on a 2-core CPU in under ~10 minutes) and `full`.
struct Preset {
  PhantomCounts counts;
  int epochs_kspace, epochs_cascade, epochs_unrolled;
  int64_t unet_channels, unet_pools;
  nw::DncnOptions dncn;
  nw::ModlOptions modl;
};

Preset make_preset(const std::string& name) {
  if (name == "quick")
    return {{96, 8, 20}, 20, 20, 20, 8, 3,
            nw::DncnOptions{.cascades = 3, .conv_layers = 4, .features = 16, .shared_weights = false,
                            .dc = nw::DcMode::soft},
            nw::ModlOptions{.iterations = 3, .cg_iterations = 6, .conv_layers = 4, .features = 16,
                            .lambda_init = 0.05}};
  require(name == "full", "unknown preset '" + name + "' (quick | full)");
  return {{400, 20, 20}, 40, 40, 40, 16, 4,
          nw::DncnOptions{.cascades = 5, .conv_layers = 5, .features = 64, .shared_weights = false,
                          .dc = nw::DcMode::soft},
          nw::ModlOptions{.iterations = 8, .cg_iterations = 10, .conv_layers = 5, .features = 64,
                          .lambda_init = 0.05}};
}

constexpr double kR = 4, kCentre = 0.08;
constexpr Index kN = 128;
const std::vector<std::string> kClassical = {"zero-filled", "rof", "cs-tv", "bart-pics"};
const std::vector<std::string> kNetworks = {"kspace-unet", "cascade", "dncn", "modl"};

Acquisition acquire(const RArray& truth, int64_t mask_seed) {
  Acquisition a;
  a.sampling = equispaced_column_mask(kN, kN, kCentre, kR, mask_seed % 4294967296LL).mask;
  a.kspace = EigenFftw::multiply_mask(a.mask(), EigenFftw::fft2c(to_complex(truth)));
  return a;
}

/// Both images mapped with the truth's range (min..max -> 0..1), then metrics with data range 1.
Metrics range_metrics(const RArray& truth, const RArray& x) {
  Eigen::Tensor<float, 0> lo = truth.minimum(), hi = truth.maximum();
  const float r = std::max(hi() - lo(), 1e-12f);
  RArray t = (truth - lo()) / r, p = (x - lo()) / r;
  return compute_metrics(t, p, 1.0);
}

/// Packed inputs (N, 3, H, W) and scaled magnitude targets (N, 1, H, W) of phantoms with their mask seeds.
std::pair<torch::Tensor, torch::Tensor> network_set(const std::vector<RArray>& truths,
                                                    const std::vector<int64_t>& mask_seeds) {
  std::vector<torch::Tensor> xs, ys;
  for (std::size_t i = 0; i < truths.size(); ++i) {
    const auto in = nw::pack_acquisition(acquire(truths[i], mask_seeds[i]));
    xs.push_back(in.packed);
    ys.push_back(nw::Torch::from_eigen(truths[i]).squeeze(2) * in.scale);
  }
  return {torch::cat(xs), torch::cat(ys)};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> methods = kClassical;
  methods.insert(methods.end(), kNetworks.begin(), kNetworks.end());
  const study::StudyInfo info("phantom_cascade",
                              "phantom cascade study: k-space U-Net, cascade, DnCn, MoDL vs classical methods (R = 4)",
                              "phantom_cascade", 2024, methods);
  return study::run_study(info, argc, argv, {}, [&](study::Study& s) {
    const Preset P = make_preset(s.options().preset);
    const uint64_t seed = s.seed();
    torch::set_num_threads(s.options().threads);
    s.metric = range_metrics;

    // ---- Data ----------------------------------------------------------------------------------------------------
    std::vector<RArray> train, val;
    std::vector<int64_t> train_masks, val_masks;
    for (int i = 0; i < P.counts.train; ++i) {
      train.push_back(split_phantom(PhantomSplit::train, i, seed, kN));
      train_masks.push_back(int64_t(seed) + 20000 + i);
    }
    for (int i = 0; i < P.counts.validation; ++i) {
      val.push_back(split_phantom(PhantomSplit::validation, i, seed, kN));
      val_masks.push_back(int64_t(seed) + 3000 + i);
    }
    for (int i = 0; i < P.counts.test; ++i) {
      RArray truth = split_phantom(PhantomSplit::test, i, seed, kN);
      const int64_t mask_seed = int64_t(seed) + 7000 + i;
      s.add_case({"phantom", "phantom" + std::to_string(i), kR, {}, truth,
                  [truth, mask_seed] { return acquire(truth, mask_seed); }, /*sample=*/i < 2});
    }
    s.manifest()["data"] = {{"phantoms", "reconlab::split_phantom (random Shepp-Logan-style ellipses, [0, 1])"},
                            {"size", kN},
                            {"train", P.counts.train},
                            {"validation", P.counts.validation},
                            {"test", P.counts.test}};
    s.manifest()["masks"] = {{"type", "fastMRI EquispacedMaskFunc"}, {"R", kR}, {"center_fraction", kCentre},
                             {"test_mask_seed", "seed + 7000 + i"}, {"train_mask_seed", "seed + 20000 + i"}};
    s.manifest()["versions"]["libtorch"] = std::to_string(TORCH_VERSION_MAJOR) + "." +
                                           std::to_string(TORCH_VERSION_MINOR);
    s.manifest()["versions"]["bart"] = solvers::bart_version();
    s.manifest().save();

    // ---- Classical methods, weights chosen on validation (mean PSNR of 4 phantoms) --------------------------------
    s.choose_weights({{"rof", {0.003, 0.01, 0.03}}, {"cs-tv", {3e-3, 1e-2, 3e-2}}, {"bart-pics", {0.03, 0.1, 0.3}}},
                     [&](const std::string& method, double w, std::optional<double>) {
                       const int n = std::min<int>(4, int(val.size()));
                       double sum = 0;
                       for (int i = 0; i < n; ++i) {
                         const auto rec = solvers::make_classical_reconstructor(method, w);
                         sum += range_metrics(val[i], rec->reconstruct(acquire(val[i], val_masks[i])).abs()).psnr;
                       }
                       return sum / n;
                     });
    for (const auto& m : kClassical)
      s.add_weighted_method(m, [m](double w, const study::StudyCase&) {
        return solvers::make_classical_reconstructor(m, w);
      });

    // ---- Networks: trained (or loaded) once, before the first missing network row ---------------------------------
    std::map<std::string, std::shared_ptr<Reconstructor>> nets;
    auto train_networks = study::once([&] {
      auto [xtr, ytr] = network_set(train, train_masks);
      auto [xva, yva] = network_set(val, val_masks);
      nw::TrainOptions base;
      base.batch_size = 4;
      base.learning_rate = 1e-3;
      base.seed = seed;
      base.lr_schedule = "cosine";
      base.threads = s.options().threads;
      const nw::DcSuiteOptions suite{.kspace_unet = {P.unet_channels, P.unet_pools},
                                     .cascade_channels = P.unet_channels,
                                     .cascade_pools = P.unet_pools,
                                     .dncn = P.dncn,
                                     .modl = P.modl,
                                     .epochs_kspace = P.epochs_kspace,
                                     .epochs_cascade = P.epochs_cascade,
                                     .epochs_unrolled = P.epochs_unrolled};
      nets = nw::train_dc_suite(s.out(), suite, xtr, ytr, xva, yva, base, *s.manifest());
      s.manifest().save();
    });
    for (const auto& m : kNetworks)
      s.add_method({m, [&nets, m](const study::StudyCase&) { return nets.at(m); }, train_networks, {}});

    // ---- Test, summary, figures -----------------------------------------------------------------------------------
    s.run();
    const auto& t = s.table();
    auto mean = [&](const std::string& m, double Metrics::*f) { return study::mean_of(t, "phantom", m, f); };
    const double psnr_c = mean("cascade", &Metrics::psnr), psnr_k = mean("kspace-unet", &Metrics::psnr),
                 psnr_tv = mean("cs-tv", &Metrics::psnr), psnr_zf = mean("zero-filled", &Metrics::psnr);
    std::ostringstream intro, extra;
    intro << P.counts.test << " test phantoms (128 x 128), R = 4 equispaced lines with a fully sampled centre "
          << "(centre fraction 0.08). Mean ± sample std; metrics after normalising both images with the ground "
             "truth's range.";
    if (!std::isnan(psnr_c + psnr_k + psnr_tv + psnr_zf))  // the four methods have rows
      extra << std::fixed << std::setprecision(2)
          << "\nPublished ordering cascade > k-space U-Net > TV ~ zero-filled (PSNR): cascade " << psnr_c
          << ", k-space U-Net " << psnr_k << ", CS-TV " << psnr_tv << ", zero-filled " << psnr_zf
          << " dB -> cascade > k-space U-Net: " << (psnr_c > psnr_k ? "yes" : "no")
          << "; k-space U-Net > CS-TV: " << (psnr_k > psnr_tv ? "yes" : "no")
          << "; |CS-TV - zero-filled| = " << std::abs(psnr_tv - psnr_zf) << " dB.\n"
          << std::setprecision(4) << "SSIM: cascade " << mean("cascade", &Metrics::ssim) << ", k-space U-Net "
          << mean("kspace-unet", &Metrics::ssim) << ", CS-TV " << mean("cs-tv", &Metrics::ssim) << ", zero-filled "
          << mean("zero-filled", &Metrics::ssim) << ".\n";
    s.write_summary("Phantom cascade study", intro.str(), extra.str());
    s.box_plots();
    s.panels({.error_window = 0.2f, .difference_to = "cascade"});
    s.loss_curves({{"kspace-unet", "kspace-unet training"},
                   {"cascade", "cascade training"},
                   {"dncn", "dncn training"},
                   {"modl", "modl training"}});
    s.finish();
  });
}
