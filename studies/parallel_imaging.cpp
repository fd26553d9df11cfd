/// @file parallel_imaging.cpp
/// The parallel-imaging study on real 8-coil brain k-space: zero-filled RSS, CG-SENSE (ESPIRiT maps and our
/// low-resolution maps), GRAPPA (Griswold et al. 2002), multi-coil CS with TV and with Haar wavelet-L1, and BART
/// pics (TV, wavelet) with ESPIRiT maps.
///
/// Data (all real):
///   brain8ch/brain_clean      fully sampled 230 x 180 x 8 k-space (mikgroup/auto-espirit; Iyer et al. MRM 2020),
///                             retrospectively undersampled along y (180 phase-encoding lines) at nominal R = 2, 4, 6,
///                             8 with (a) fastMRI EquispacedMaskFunc line masks plus 24 ACS lines (centre fraction
///                             24/180) and (b) 2D variable-density Poisson-disc masks with a 24 x 24 calibration
///                             square; `seeds` masks per (pattern, R). Ground truth: RSS of the fully sampled coil
///                             images, k-space scaled so that its maximum is 1; metrics (fastMRI / scikit-image) on
///                             magnitudes with data range 1.
///   brain8ch-undersampled     two real Poisson-disc acquisitions without ground truth: bartws_ksp (compared with
///                             the shipped BART pics reconstruction, RSS over its two ESPIRiT maps) and
///                             sigpy_cartesian_ksp (compared with our own `bart pics` wavelet run as the peer).
///                             NRMSE = ||ref - a |x||| / ||ref|| with the least-squares scale a (reconstructions
///                             differ in their intensity scale).
/// modl-sense: the multi-coil MoDL of reconlab/networks/sense_modl.hpp (Aggarwal et al. 2019), trained (train_or_load
/// in <out>/modl-sense) on k-space simulated from Colin27 axial slices (z = 30..145 step 5, two augmented copies) resampled to 230 x 180 with the brain8ch coil
/// maps (lowres_maps of the fully sampled data) and the measured noise level, line and Poisson-disc masks at
/// R = 2..8 with other seeds; evaluated with the same ESPIRiT maps as cg-sense.
/// GRAPPA needs line undersampling, so it has no rows for the Poisson-disc masks and the real acquisitions.
/// Regularisation weights: chosen per method on a validation mask (R = 4, separate seed, both patterns) of the
/// same slice (the only fully sampled one), best mean PSNR; recorded in the manifest.
///
/// Output folder: metrics.csv (per case, resumable), summary.md, manifest.json (seeds, weights, BART commands,
/// map comparison), figures/ (box plots over R, panels with error maps, coil maps ours vs ESPIRiT), samples/.
#include <CLI/CLI.hpp>
#include <fftw3.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <thread>

#include "reconlab/io.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/figures.hpp"
#include "reconlab/study/manifest.hpp"
#include "reconlab/study/results.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

struct Preset {
  std::string name;
  int seeds;          ///< masks per (pattern, R)
  int cg_iterations;
  int cs_iterations;
  int pics_iterations;
  int modl_epochs;  ///< modl-sense training epochs
};

Preset make_preset(const std::string& n) {
  if (n == "quick") return {"quick", 3, 30, 100, 50, 5};
  if (n == "full") return {"full", 6, 50, 300, 150, 30};
  throw Error("unknown preset '" + n + "' (quick | full)");
}

const std::vector<double> kRs = {2, 4, 6, 8};
const std::vector<std::string> kMethods = {"zero-filled", "cg-sense", "cg-sense-lowres", "grappa", "cs-tv",
                                           "cs-wavelet", "bart-pics-tv", "bart-pics-wavelet",
                                           "modl-sense"};
constexpr Index kAcs = 24;
/// The trained modl-sense network (set in main before any case runs).
std::optional<networks::SenseModl> g_modl_sense;

/// Mask undersampling y (lines along x): fastMRI EquispacedMaskFunc over the ny phase-encoding lines, transposed.
SamplingMask line_mask(Index nx, Index ny, double R, uint64_t seed) {
  SamplingMask m = equispaced_column_mask(ny, nx, double(kAcs) / double(ny), R, int64_t(seed % 4294967296ULL));
  Eigen::array<Index, 5> perm{1, 0, 2, 3, 4};
  m.mask = RArray(m.mask.shuffle(perm));
  return m;
}

SamplingMask make_mask(const std::string& pattern, Index nx, Index ny, double R, uint64_t seed) {
  if (pattern == "lines") return line_mask(nx, ny, R, seed);
  return poisson_disc_mask(nx, ny, R, kAcs, int64_t(seed % 4294967296ULL));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Builds method `m` with weight `w`; the maps (when SENSE-based) come from the acquisition or the low-res estimate.
std::unique_ptr<Reconstructor> make_method(const std::string& m, double w, const Preset& P, double R) {
  using namespace solvers;
  if (m == "zero-filled") return std::make_unique<ZeroFilledReconstructor>();
  // CG-SENSE is regularised by early stopping: w = the number of CG iterations (Pruessmann et al. 2001).
  if (m == "cg-sense") return std::make_unique<CgSenseReconstructor>(CgSenseOptions{.iterations = int(w)});
  if (m == "cg-sense-lowres")
    return std::make_unique<CgSenseReconstructor>(CgSenseOptions{.iterations = int(w)}, MapsSource::LowRes,
                                                  "cg-sense-lowres");
  if (m == "grappa")  // w = Tikhonov weight; the kernel's source lines must fit into the 24 ACS lines
    return std::make_unique<GrappaReconstructor>(
        GrappaOptions{.lines_per_side = R <= 4 ? 2 : 1, .kernel_width = 5, .lambda = w});
  if (m == "cs-tv") return std::make_unique<CsSenseReconstructor>(CsSenseReconstructor::Penalty::TV, w, P.cs_iterations);
  if (m == "cs-wavelet")
    return std::make_unique<CsSenseReconstructor>(CsSenseReconstructor::Penalty::Wavelet, w, P.cs_iterations);
  if (m == "bart-pics-tv") return std::make_unique<BartPicsSenseReconstructor>("T", w, P.pics_iterations);
  if (m == "bart-pics-wavelet") return std::make_unique<BartPicsSenseReconstructor>("W", w, P.pics_iterations);
  if (m == "modl-sense") return std::make_unique<networks::SenseModlReconstructor>(*g_modl_sense);
  throw Error("unknown method " + m);
}

/// Acquisition of `k` under `mask` with ESPIRiT maps from its own ACS region (`cmd` receives the bart command);
/// methods named "-lowres" drop the maps so that they estimate their own.
/// k plus seeded complex Gaussian noise (std sigma per component), masked.
CArray acquire_noisy(const CArray& k, const RArray& mask, double sigma, uint64_t noise_seed) {
  CArray noisy = k;
  std::mt19937_64 rng(noise_seed);
  std::normal_distribution<float> g(0.f, float(sigma));
  for (Index i = 0; i < noisy.size(); ++i) noisy.data()[i] += cfloat(g(rng), g(rng));
  return EigenFftw::multiply_mask(mask, noisy);
}

Acquisition acquire(const CArray& k, const RArray& mask, double sigma, uint64_t noise_seed, std::string* cmd) {
  Acquisition a;
  a.mask = mask;
  a.kspace = acquire_noisy(k, mask, sigma, noise_seed);
  solvers::EcalibResult e = solvers::ecalib_maps(a.kspace, &a.mask);
  if (cmd) *cmd = e.command;
  a.sensitivities = e.maps;
  return a;
}

RArray run_method(const std::string& m, double w, const Preset& P, double R, const Acquisition& acq,
                  nlohmann::json* params) {
  auto rec = make_method(m, w, P, R);
  Acquisition a = acq;
  if (m == "cg-sense-lowres" || m == "zero-filled" || m == "grappa") a.sensitivities.reset();
  RArray x = rec->reconstruct(a).abs();
  if (params) *params = rec->parameters();
  return x;
}

/// NRMSE of |x| against `ref` after the least-squares scale a = <ref, |x|> / <|x|, |x|>; also returns a |x|.
std::pair<double, RArray> scaled_nrmse(const RArray& ref, const RArray& x) {
  double num = 0, den = 0, rr = 0;
  for (Index i = 0; i < x.size(); ++i)
    num += double(ref.data()[i]) * x.data()[i], den += double(x.data()[i]) * x.data()[i], rr += double(ref.data()[i]) * ref.data()[i];
  const float a = float(den > 0 ? num / den : 0);
  RArray xs = x * a;
  double e = 0;
  for (Index i = 0; i < x.size(); ++i) e += std::pow(double(ref.data()[i]) - xs.data()[i], 2);
  return {std::sqrt(e / rr), xs};
}

/// Noise level of a real multi-coil acquisition (.npy (coils, ny, nx), zeros where not acquired): the standard
/// deviation per real/imaginary component of the acquired samples at normalised k-space radius > 0.9 (where the
/// signal has decayed to the noise floor), divided by the largest |k|.
double measured_noise_ratio(const std::string& path) {
  const CArray k = io::read_npy_complex(path);
  const Index nx = k.dimension(0), ny = k.dimension(1);
  double s2 = 0, n = 0, kmax = 0;
  for (Index c = 0; c < k.dimension(2); ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        const cfloat v = k(x, y, c, 0, 0);
        kmax = std::max(kmax, double(std::abs(v)));
        const double rx = (x - nx / 2) / (nx / 2.0), ry = (y - ny / 2) / (ny / 2.0);
        if (v != cfloat(0) && rx * rx + ry * ry > 0.81) s2 += std::norm(v), n += 2;
      }
  require(n > 0 && kmax > 0, "noise estimate: no acquired outer k-space samples in " + path);
  return std::sqrt(s2 / n) / kmax;
}

/// |maps| of the first 4 coils: a panel row.
void add_map_row(std::vector<study::PanelImage>& imgs, const CArray& maps, const std::string& tag) {
  for (Index c = 0; c < 4; ++c) {
    RArray m(maps.dimension(0), maps.dimension(1), 1, 1, 1);
    for (Index y = 0; y < maps.dimension(1); ++y)
      for (Index x = 0; x < maps.dimension(0); ++x) m(x, y, 0, 0, 0) = std::abs(maps(x, y, c, 0, 0));
    imgs.push_back({tag + " coil " + std::to_string(c), m, 0.f, 1.f});
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parallel imaging study on the real 8-coil brain: SENSE, GRAPPA, CS, BART pics at R = 2..8"};
  std::string preset_name = "quick", out_dir, data, colin = "/usr/share/mricron/templates/ch2.nii.gz";
  uint64_t seed = 4242;
  int threads = 0;
  app.add_option("--preset", preset_name, "quick (minutes on 2 cores) | full")->capture_default_str();
  app.add_option("--out", out_dir, "output folder (default results/parallel_imaging_<preset>)");
  app.add_option("--data", data, "shared data folder with brain8ch/ (default $RECONLAB_DATA or ../shared/data)");
  app.add_option("--seed", seed, "seed of every random choice (masks)")->capture_default_str();
  app.add_option("--threads", threads, "FFTW threads (default: all cores)");
  app.add_option("--colin27", colin, "Colin27 NIfTI (modl-sense training images)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const Preset P = make_preset(preset_name);
    if (out_dir.empty()) out_dir = "results/parallel_imaging_" + P.name;
    if (data.empty()) data = data_dir();
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    EigenFftw::set_fft_threads(threads);
    const fs::path out(out_dir);
    fs::create_directories(out / "figures");
    fs::create_directories(out / "samples");
    const auto t_start = std::chrono::steady_clock::now();
    spdlog::info("parallel imaging study, preset {}, output {}", P.name, fs::absolute(out).string());

    // ---- Data ------------------------------------------------------------------------------------------------
    const std::string clean = data + "/brain8ch/brain_clean";
    CArray k = io::read_cfl(clean, 2);  // (230, 180, 8)
    const Index nx = k.dimension(0), ny = k.dimension(1);
    RArray truth = rss(EigenFftw::ifft2c(k));
    {
      Eigen::Tensor<float, 0> mx = truth.maximum();
      k = k * cfloat(1.0f / mx());
      truth = truth * (1.0f / mx());
    }
    const RArray support = io::read_cfl(data + "/brain8ch/brain_fov").real();
    // brain_clean is noise-free (CG-SENSE reproduces it to ~70 dB at R = 2), so every case gets complex Gaussian
    // k-space noise at the level measured on the real acquisition sigpy_cartesian_ksp (noise_ratio below).
    const double noise_ratio = measured_noise_ratio(data + "/brain8ch-undersampled/sigpy_cartesian_ksp.npy");
    double kmax = 0;
    for (Index i = 0; i < k.size(); ++i) kmax = std::max(kmax, double(std::abs(k.data()[i])));
    const double sigma = noise_ratio * kmax;
    double noise_floor_psnr = 0;
    spdlog::info("noise: std per real/imaginary part = {:.3g} x max|k| (measured on sigpy_cartesian_ksp)", noise_ratio);
    io::write_npy((out / "samples" / "truth.npy").string(), truth);

    study::Manifest manifest(out, "parallel_imaging", argc, argv);
    manifest["preset"] = {{"name", P.name}, {"seeds", P.seeds}, {"cg_iterations", P.cg_iterations},
                          {"cs_iterations", P.cs_iterations}, {"pics_iterations", P.pics_iterations}};
    manifest["seed"] = seed;
    manifest["data"] = {{"brain8ch", clean + ".cfl"},
                        {"support", data + "/brain8ch/brain_fov.cfl"},
                        {"bartws", data + "/brain8ch-undersampled/bartws_ksp.cfl"},
                        {"bartws_reference", data + "/brain8ch-undersampled/bartws_pics_img.cfl"},
                        {"sigpy", data + "/brain8ch-undersampled/sigpy_cartesian_ksp.npy"}};
    manifest["masks"] = {{"lines", "fastMRI EquispacedMaskFunc along y, 24 ACS lines, seed = seed + 100 R + s"},
                         {"poisson", "poisson_disc_mask, 24 x 24 calibration, seed = seed + 100 R + s + 50"},
                         {"validation", "R = 4, seed + 7777 (+1 for poisson)"}};
    {
      // Noise floor: the RSS of the noisy, fully sampled k-space against the ground truth.
      RArray full(nx, ny, 1, 1, 1);
      full.setConstant(1.f);
      const RArray floor_img = rss(EigenFftw::ifft2c(acquire_noisy(k, full, sigma, seed + 9000)));
      noise_floor_psnr = compute_metrics(truth, floor_img, 1.0).psnr;
    }
    manifest["noise_floor_psnr_db"] = noise_floor_psnr;
    manifest["noise"] = {{"model", "complex Gaussian added to the fully sampled k-space, per case, seed = mask seed + 9000"},
                         {"std_per_component_over_max_abs_k", noise_ratio},
                         {"measured_on", "sigpy_cartesian_ksp: acquired samples with normalised k-radius > 0.9"},
                         {"ground_truth", "RSS of the noise-free fully sampled k-space"}};
    manifest["versions"] = {{"reconlab", "0.1.0"}, {"fftw", std::string(fftwf_version)},
                            {"bart", solvers::bart_version()}};
    nlohmann::json commands = manifest->value("commands", nlohmann::json::object());
    manifest.save();

    // ---- Coil maps: ours against ESPIRiT on the R = 4 line mask -----------------------------------------------
    {
      const SamplingMask m = line_mask(nx, ny, 4, seed + 400);
      const CArray y = acquire(k, m.mask, sigma, seed + 400 + 9000, nullptr).kspace;
      const CArray ours = solvers::lowres_maps(y, m.mask);
      const solvers::EcalibResult es = solvers::ecalib_maps(y, &m.mask);
      RArray inside = support;
      const RArray r = rss(es.maps);
      for (Index i = 0; i < inside.size(); ++i) inside.data()[i] = (support.data()[i] != 0 && r.data()[i] > 0.5f) ? 1 : 0;
      const double corr = solvers::map_magnitude_correlation(ours, es.maps, inside);
      manifest["maps_comparison"] = {{"ours", "lowres_maps (Hann-windowed ACS, at most 32 x 32, / RSS, threshold 0.05)"},
                                     {"espirit", es.command},
                                     {"mask", "lines R = 4"},
                                     {"mean_magnitude_correlation_inside_support", corr}};
      spdlog::info("coil maps: mean per-coil magnitude correlation ours vs ESPIRiT inside the support = {:.4f}", corr);
      std::vector<study::PanelImage> imgs;
      add_map_row(imgs, ours, "ours");
      add_map_row(imgs, es.maps, "ESPIRiT");
      study::image_panel(imgs, 4, out / "figures" / "maps_ours_vs_espirit.png",
                         "|coil maps|, first 4 coils: low-resolution ACS (top) vs bart ecalib (bottom), corr " +
                             std::to_string(corr).substr(0, 6));
      manifest.save();
    }

    // ---- modl-sense: trained on Colin27 k-space simulated with the brain8ch maps and noise level ---------------
    {
      RArray full(nx, ny, 1, 1, 1);
      full.setConstant(1.f);
      // Maps of the fully sampled data, not thresholded (sum_c |s_c|^2 = 1 everywhere): the simulated object may
      // extend beyond brain8ch's support. Resampling is the identity here (training images are 230 x 180).
      const CArray maps = networks::normalise_maps(networks::resample_bilinear(
          solvers::lowres_maps(k, full, {.threshold = 0.0}), nx, ny));
      const io::NiftiVolume vol = io::read_nifti(colin);
      // Axial slice z, transposed (x = anterior-posterior, 217 px; y = left-right, 181 px) to match the 230 x 180
      // matrix's aspect, bilinearly resampled, maximum 1; augmentation: flips, gamma in [0.7, 1.5], smooth phase.
      auto colin_image = [&](int z, std::mt19937_64& rng) {
        const Index cx = vol.data.dimension(0), cy = vol.data.dimension(1);
        CArray sl(cy, cx, 1, 1, 1);
        for (Index a = 0; a < cy; ++a)
          for (Index b = 0; b < cx; ++b) sl(a, b, 0, 0, 0) = vol.data(b, cy - 1 - a, 0, 0, z);
        CArray img = networks::resample_bilinear(sl, nx, ny);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const bool fx = u(rng) < 0.5, fy = u(rng) < 0.5;
        const double gamma = 0.7 + 0.8 * u(rng), px = 2 * (u(rng) - 0.5), py = 2 * (u(rng) - 0.5), p0 = 6.3 * u(rng);
        Eigen::Tensor<float, 0> mx = img.abs().maximum();
        CArray out(nx, ny, 1, 1, 1);
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x < nx; ++x) {
            const float v = std::abs(img(fx ? nx - 1 - x : x, fy ? ny - 1 - y : y, 0, 0, 0)) / mx();
            const double ph = p0 + px * 3.14 * (x - nx / 2.0) / nx + py * 3.14 * (y - ny / 2.0) / ny;
            out(x, y, 0, 0, 0) = std::polar(std::pow(v, float(gamma)), float(ph));
          }
        return out;
      };
      auto make_set = [&](const std::vector<int>& zs, int copies, uint64_t s0) {
        std::mt19937_64 rng(s0);
        std::vector<CArray> imgs;
        std::vector<RArray> masks;
        for (int c = 0; c < copies; ++c)
          for (size_t i = 0; i < zs.size(); ++i) {
            imgs.push_back(colin_image(zs[i], rng));
            const size_t j = imgs.size();
            masks.push_back(make_mask(j % 2 ? "lines" : "poisson", nx, ny, kRs[(j / 2) % kRs.size()], s0 + j).mask);
          }
        return networks::simulate_sense_training(imgs, maps, masks, noise_ratio, s0 + 5000);
      };
      std::vector<int> train_z, val_z = {52, 88, 124};
      for (int z = 30; z <= 146; z += 5) train_z.push_back(z);
      const auto tr = make_set(train_z, 2, seed + 20000), va = make_set(val_z, 1, seed + 30000);
      networks::TrainOptions to;
      to.epochs = P.modl_epochs;
      to.batch_size = 2;
      to.learning_rate = 2e-3;
      to.lr_schedule = "cosine";
      to.seed = seed;
      to.threads = threads;
      to.progress = false;
      // quick: a smaller network (3 iterations, 16 features) so that training takes minutes on 2 cores.
      const networks::SenseModlOptions mo = P.name == "quick" ? networks::SenseModlOptions{3, 5, 4, 16, 0.05}
                                                              : networks::SenseModlOptions{};
      torch::manual_seed(seed + 5);
      networks::SenseModl net(mo);
      auto summary = networks::train_or_load(net, out / "modl-sense", networks::network_json(mo), tr.inputs,
                                             tr.targets, va.inputs, va.targets, to);
      if (!summary.empty()) manifest["training"]["modl-sense"] = summary;
      manifest["modl_sense"] = {{"lambda", net->lambda()},
                                {"training", "Colin27 axial z = 30..145 step 5 (x2, augmented), validation z = 52, 88, "
                                             "124; 230 x 180; brain8ch lowres_maps (fully sampled, no threshold); "
                                             "noise at the measured level; lines/poisson, R = 2, 4, 6, 8"},
                                {"samples", tr.inputs.size(0)}};
      g_modl_sense = net;
      manifest.save();
    }

    // ---- Regularisation weights on a validation mask ---------------------------------------------------------
    const std::map<std::string, std::vector<double>> grid = {{"cg-sense", {2, 3, 5, 10, double(P.cg_iterations)}},
                                                             {"cg-sense-lowres", {2, 3, 5, 10, double(P.cg_iterations)}},
                                                             {"grappa", {1e-2, 1e-1, 1, 10}},
                                                             {"cs-tv", {1e-3, 3e-3, 1e-2}},
                                                             {"cs-wavelet", {3e-3, 1e-2, 3e-2}},
                                                             {"bart-pics-tv", {3e-3, 1e-2, 3e-2}},
                                                             {"bart-pics-wavelet", {3e-3, 1e-2, 3e-2}}};
    std::map<std::string, double> chosen;
    for (const auto& [method, values] : grid)
      chosen[method] = study::choose_weight(manifest, method, values, [&](double w) {  // mean validation PSNR
        double sum = 0;
        int n = 0;
        for (const std::string pattern : {"lines", "poisson"}) {
          if (method == "grappa" && pattern == "poisson") continue;
          const SamplingMask m = make_mask(pattern, nx, ny, 4, seed + 7777 + (pattern == "poisson"));
          const Acquisition acq = acquire(k, m.mask, sigma, seed + 7777 + 9000 + (pattern == "poisson"), nullptr);
          sum += compute_metrics(truth, run_method(method, w, P, 4, acq, nullptr), 1.0).psnr;
          ++n;
        }
        return sum / n;
      });
    auto weight = [&](const std::string& m) { return chosen.count(m) ? chosen.at(m) : 0.0; };

    // ---- Retrospective undersampling of brain8ch ---------------------------------------------------------------
    study::ResultsTable table(out / "metrics.csv");
    nlohmann::json achieved = manifest->value("achieved_acceleration", nlohmann::json::object());
    for (const std::string pattern : {"lines", "poisson"}) {
      const std::string ds = "brain8ch-" + pattern;
      for (double R : kRs)
        for (int s = 0; s < P.seeds; ++s) {
          const std::string id = "mask" + std::to_string(s);
          const bool sample = s == 0;
          auto sample_file = [&](const std::string& m) {
            return out / "samples" / (pattern + "_R" + std::to_string(int(R)) + "_" + m + ".npy");
          };
          bool todo = false;
          for (const auto& m : kMethods) {
            if (pattern == "poisson" && m == "grappa") continue;
            if (!table.has(ds, id, R, m) || (sample && !fs::exists(sample_file(m)))) todo = true;
          }
          if (!todo) continue;
          const uint64_t mseed = seed + 100 * uint64_t(R) + s + (pattern == "poisson" ? 50 : 0);
          const SamplingMask mask = make_mask(pattern, nx, ny, R, mseed);
          achieved[ds + "@R" + std::to_string(int(R)) + "/" + id] = mask.acceleration();
          std::string ecmd;
          const Acquisition acq = acquire(k, mask.mask, sigma, mseed + 9000, &ecmd);
          commands["ecalib"] = ecmd;
          if (sample) io::write_npy((out / "samples" / ("mask_" + pattern + "_R" + std::to_string(int(R)) + ".npy")).string(), mask.mask);
          for (const auto& m : kMethods) {
            if (pattern == "poisson" && m == "grappa") continue;
            if (table.has(ds, id, R, m) && !(sample && !fs::exists(sample_file(m)))) continue;
            const auto t0 = std::chrono::steady_clock::now();
            nlohmann::json params;
            const RArray x = run_method(m, weight(m), P, R, acq, &params);
            const double secs = seconds_since(t0);
            if (params.contains("command")) commands[m] = params["command"];
            if (sample) io::write_npy(sample_file(m).string(), x);
            if (!table.has(ds, id, R, m)) {
              table.add({ds, id, R, m, compute_metrics(truth, x, 1.0), secs});
              spdlog::info("{} R={} {} {}: PSNR {:.2f} dB SSIM {:.4f} ({:.2f} s)", ds, R, id, m,
                           table.rows().back().metrics.psnr, table.rows().back().metrics.ssim, secs);
            }
          }
          manifest["achieved_acceleration"] = achieved;
          manifest["commands"] = commands;
          manifest.save();
        }
    }

    // ---- Real undersampled acquisitions -------------------------------------------------------------------------
    std::ostringstream real_md;
    {
      // bartws: BART dims 1 x 180 x 230 x 8 -> (x, y, coil) = (180, 230, 8): a plain copy (dim 0 has size 1).
      const io::CflRaw raw = io::read_cfl_raw(data + "/brain8ch-undersampled/bartws_ksp");
      require(raw.dims.size() >= 4 && raw.dims[0] == 1, "bartws_ksp: expected dims 1 x ny x nz x coils");
      CArray kb(raw.dims[1], raw.dims[2], raw.dims[3], 1, 1);
      std::copy(raw.data.begin(), raw.data.end(), kb.data());
      const io::CflRaw ref_raw = io::read_cfl_raw(data + "/brain8ch-undersampled/bartws_pics_img");
      RArray ref_b(raw.dims[1], raw.dims[2], 1, 1, 1);
      ref_b.setZero();
      const Index plane = raw.dims[1] * raw.dims[2];
      for (Index mp = 0; mp < Index(ref_raw.data.size() / plane); ++mp)
        for (Index i = 0; i < plane; ++i) ref_b.data()[i] += std::norm(ref_raw.data[mp * plane + i]);
      for (Index i = 0; i < plane; ++i) ref_b.data()[i] = std::sqrt(ref_b.data()[i]);
      const CArray ks = io::read_npy_complex(data + "/brain8ch-undersampled/sigpy_cartesian_ksp.npy");  // (180, 230, 8)

      real_md << "\n## Real undersampled acquisitions (no ground truth)\n\nNRMSE of |x| against the reference after "
                 "the least-squares intensity scale. bartws: reference = the BART pics reconstruction shipped with the "
                 "data (RSS over its 2 ESPIRiT maps). sigpy: reference = our `bart pics` wavelet run (a peer, not "
                 "ground truth). GRAPPA: not applicable (2D Poisson-disc sampling).\n\n"
              << "| data | R (achieved) | method | NRMSE | seconds |\n|---|---|---|---|---|\n";
      for (auto& [name, kr] : std::vector<std::pair<std::string, CArray>>{{"bartws", kb}, {"sigpy", ks}}) {
        Acquisition acq;
        acq.kspace = kr;
        acq.mask = RArray(kr.dimension(0), kr.dimension(1), 1, 1, 1);
        acq.mask.setZero();
        for (Index c = 0; c < kr.dimension(2); ++c)
          for (Index y = 0; y < kr.dimension(1); ++y)
            for (Index x = 0; x < kr.dimension(0); ++x)
              if (kr(x, y, c, 0, 0) != cfloat(0)) acq.mask(x, y, 0, 0, 0) = 1;
        // Scale: zero-filled RSS maximum 1, so the relative weights chosen above apply.
        const float sc = solvers::zero_filled_rss_max(acq);
        acq.kspace = acq.kspace * cfloat(1.0f / sc);
        const double Rach = acceleration_of(acq.mask);
        std::string ecmd;
        solvers::EcalibResult es = solvers::ecalib_maps(EigenFftw::multiply_mask(acq.mask, acq.kspace), &acq.mask);
        acq.sensitivities = es.maps;
        std::map<std::string, RArray> recs;
        std::map<std::string, double> secs;
        for (const auto& m : kMethods) {
          if (m == "grappa") continue;
          const auto t0 = std::chrono::steady_clock::now();
          recs[m] = run_method(m, weight(m), P, Rach, acq, nullptr);
          secs[m] = seconds_since(t0);
        }
        const RArray ref = name == "bartws" ? ref_b : recs.at("bart-pics-wavelet");
        Eigen::Tensor<float, 0> rmx = ref.maximum();
        const RArray refn = ref * (1.0f / rmx());
        std::vector<study::PanelImage> imgs{{name == "bartws" ? "reference: shipped BART pics" : "reference: our bart-pics-wavelet", refn, 0.f, 1.f}};
        std::vector<study::PanelImage> errs{{"mask", acq.mask, 0.f, 1.f}};
        nlohmann::json nj;
        for (const auto& m : kMethods) {
          if (m == "grappa") continue;
          auto [e, xs] = scaled_nrmse(refn, recs.at(m));
          nj[m] = e;
          real_md << "| " << name << " | " << std::fixed << std::setprecision(2) << Rach << " | " << m << " | "
                  << std::setprecision(4) << e << " | " << std::setprecision(2) << secs.at(m) << " |\n";
          std::ostringstream t;
          t << m << " NRMSE " << std::fixed << std::setprecision(3) << e;
          imgs.push_back({t.str(), xs, 0.f, 1.f});
          errs.push_back({"|diff| " + m, RArray((xs - refn).abs()), 0.f, 0.2f});
        }
        manifest["real_data"][name] = {{"acceleration", Rach}, {"nrmse", nj}, {"ecalib", es.command}};
        imgs.insert(imgs.end(), errs.begin(), errs.end());
        study::image_panel(imgs, int(imgs.size() / 2), out / "figures" / ("panel_real_" + name + ".png"),
                           name + " (real acquisition, R = " + std::to_string(Rach).substr(0, 4) +
                               "): reconstructions and |difference| to the reference (window 0..0.2)");
        spdlog::info("{}: done", name);
      }
      manifest.save();
    }

    // ---- Summary and figures ------------------------------------------------------------------------------------
    std::ostringstream md;
    md << "# Parallel imaging study (" << P.name << " preset)\n\nReal 8-coil brain (brain8ch, 230 x 180), "
       << "retrospectively undersampled along y; ground truth RSS of the fully sampled data (max 1). Mean ± sample "
       << "std over " << P.seeds << " masks per R; fastMRI / scikit-image metrics with data range 1. Nominal R; "
       << "achieved R in manifest.json (line masks add 24 ACS lines on top, fastMRI style). SENSE methods use "
       << "ESPIRiT maps from `bart ecalib -m 1` on each undersampled acquisition's ACS, except cg-sense-lowres (our "
       << "low-resolution maps). brain_clean is noise-free, so each case adds complex Gaussian k-space noise of "
       << "std " << noise_ratio << " x max|k| per component, the level measured on the real sigpy acquisition; the RSS of the noisy fully sampled data "
       << "reaches " << noise_floor_psnr << " dB (the noise floor). Weights (cg-sense: CG iterations; grappa: "
       << "Tikhonov lambda) (validation mask, R = 4): ";
    for (const auto& [kk, v] : chosen) md << kk << " = " << v << "; ";
    md << "\nCoil maps, ours vs ESPIRiT, mean per-coil magnitude correlation inside the support: "
       << manifest["maps_comparison"]["mean_magnitude_correlation_inside_support"].get<double>() << "\n"
       << study::summary_markdown(table, kMethods) << real_md.str();
    io::atomic_write_text(out / "summary.md", md.str());

    for (const std::string pattern : {"lines", "poisson"}) {
      const std::string ds = "brain8ch-" + pattern;
      std::vector<std::string> ms;
      for (const auto& m : kMethods)
        if (!(pattern == "poisson" && m == "grappa")) ms.push_back(m);
      for (const std::string metric : {"psnr", "ssim"})
        study::boxplot_figure(table, ds, metric, ms, kRs, out / "figures" / ("box_" + ds + "_" + metric + ".png"));
      for (double R : {4.0, 8.0}) {
        std::vector<study::PanelImage> imgs{{"ground truth (RSS)", truth, 0.f, 1.f}};
        std::vector<study::PanelImage> errs{
            {"mask", io::read_npy_real((out / "samples" / ("mask_" + pattern + "_R" + std::to_string(int(R)) + ".npy")).string()), 0.f, 1.f}};
        for (const auto& m : ms) {
          const RArray x = io::read_npy_real((out / "samples" / (pattern + "_R" + std::to_string(int(R)) + "_" + m + ".npy")).string());
          std::ostringstream t;
          t << m << " " << std::fixed << std::setprecision(2) << compute_metrics(truth, x, 1.0).psnr << " dB";
          imgs.push_back({t.str(), x, 0.f, 1.f});
          errs.push_back({"|error| " + m, RArray((x - truth).abs()), 0.f, 0.2f});
        }
        imgs.insert(imgs.end(), errs.begin(), errs.end());
        study::image_panel(imgs, int(ms.size()) + 1,
                           out / "figures" / ("panel_" + pattern + "_R" + std::to_string(int(R)) + ".png"),
                           ds + ", R = " + std::to_string(int(R)) + " (mask 0; error window 0..0.2)");
      }
    }
    spdlog::info("done in {:.0f} s", seconds_since(t_start));
    std::cout << "\n" << md.str() << "\n";
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
