/// @file parallel_imaging.cpp
/// The parallel-imaging study on real 8-coil brain k-space: zero-filled RSS, CG-SENSE (ESPIRiT maps and our
/// low-resolution maps), GRAPPA (Griswold et al. 2002), multi-coil CS with TV and with Haar wavelet-L1, BART
/// pics (TV, wavelet) with ESPIRiT maps, and the multi-coil MoDL (modl-sense).
///
/// Data (all real):
///   brain8ch/brain_clean      fully sampled 230 x 180 x 8 k-space (mikgroup/auto-espirit; Iyer et al. MRM 2020),
///                             retrospectively undersampled along y (180 phase-encoding lines) at nominal R = 2, 4, 6,
///                             8 with (a) fastMRI EquispacedMaskFunc line masks plus 24 ACS lines (centre fraction
///                             24/180) and (b) 2D variable-density Poisson-disc masks with a 24 x 24 calibration
///                             square; `seeds` masks per (pattern, R). Ground truth: RSS of the fully sampled coil
///                             images, k-space scaled so that its maximum is 1; metrics (fastMRI / scikit-image) on
///                             magnitudes with data range 1. brain_clean is noise-free: every case adds complex
///                             Gaussian k-space noise at the level measured on the real sigpy acquisition.
///   brain8ch-undersampled     two real Poisson-disc acquisitions without ground truth: bartws_ksp (compared with
///                             the shipped BART pics reconstruction, RSS over its two ESPIRiT maps) and
///                             sigpy_cartesian_ksp (compared with our own `bart pics` wavelet run as the peer).
///                             NRMSE = ||ref - a |x||| / ||ref|| with the least-squares scale a (reconstructions
///                             differ in their intensity scale).
/// Simulated from Colin27 (never the test slice): axial slices transposed and resampled to 230 x 180, augmented
/// (flips, gamma, phase ramp), with the brain8ch coil maps (lowres_maps of the fully sampled data) and the measured
/// noise level. They serve (a) the regularisation weights: chosen per method on validation slices (R = 4, one line
/// and one Poisson-disc mask each, ESPIRiT maps from their own ACS as for the test cases), best mean PSNR; and
/// (b) modl-sense (reconlab/networks/sense_modl.hpp, Aggarwal et al. 2019): trained (train_or_load in
/// <out>/modl-sense) on z = 30..145 step 5 (two augmented copies), line and Poisson-disc masks at R = 2..8,
/// evaluated with the same ESPIRiT maps as cg-sense.
/// GRAPPA needs line undersampling, so it has no rows for the Poisson-disc masks and the real acquisitions.
///
/// The loop, options, manifest, summary and figures are the study runner's (reconlab/study/runner.hpp). Output
/// folder: metrics.csv (per case, resumable), summary.md, manifest.json (seeds, weights and their validation data,
/// BART commands, map comparison), figures/ (box plots over R, panels with error maps, coil maps ours vs ESPIRiT,
/// real-data panels), samples/.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iomanip>

#include "reconlab/io.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

struct Preset {
  int seeds;          ///< masks per (pattern, R)
  int cg_iterations;
  int cs_iterations;
  int pics_iterations;
  int modl_epochs;    ///< modl-sense training epochs
  std::vector<int> weight_z;  ///< Colin27 axial slices on which the weights are chosen
};

Preset make_preset(const std::string& n) {
  if (n == "quick") return {3, 30, 100, 50, 5, {88, 124}};
  require(n == "full", "unknown preset '" + n + "' (quick | full)");
  return {6, 50, 300, 150, 30, {52, 88, 124}};
}

const std::vector<double> kRs = {2, 4, 6, 8};
const std::vector<std::string> kMethods = {"zero-filled",  "cg-sense",          "cg-sense-lowres",
                                           "grappa",       "cs-tv",             "cs-wavelet",
                                           "bart-pics-tv", "bart-pics-wavelet", "modl-sense"};
constexpr Index kAcs = 24;

/// Mask undersampling y (lines along x): fastMRI EquispacedMaskFunc over the ny phase-encoding lines, transposed.
SamplingMask line_mask(Index nx, Index ny, double R, uint64_t seed) {
  SamplingMask m = equispaced_column_mask(ny, nx, double(kAcs) / double(ny), R, int64_t(seed % 4294967296ULL));
  m.mask = study::transposed(m.mask);
  return m;
}

SamplingMask make_mask(const std::string& pattern, Index nx, Index ny, double R, uint64_t seed) {
  if (pattern == "lines") return line_mask(nx, ny, R, seed);
  return poisson_disc_mask(nx, ny, R, kAcs, int64_t(seed % 4294967296ULL));
}

/// Forwards to `inner` with the acquisition's sensitivity maps dropped: for the methods that estimate their own
/// (cg-sense-lowres) or use none (zero-filled RSS, GRAPPA).
class WithoutMaps : public Reconstructor {
 public:
  explicit WithoutMaps(std::shared_ptr<Reconstructor> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  nlohmann::json parameters() const override { return inner_->parameters(); }
  CArray reconstruct(const Acquisition& acq) override {
    Acquisition a = acq;
    a.sensitivities.reset();
    return inner_->reconstruct(a);
  }

 private:
  std::shared_ptr<Reconstructor> inner_;
};

/// Method `m` with weight `w` at acceleration R; modl-sense is the trained network `modl` (set by its preparation).
std::shared_ptr<Reconstructor> make_method(const std::string& m, double w, const Preset& P, double R,
                                           const std::optional<networks::SenseModl>& modl) {
  using namespace solvers;
  if (m == "zero-filled") return std::make_shared<WithoutMaps>(std::make_shared<ZeroFilledReconstructor>());
  // CG-SENSE is regularised by early stopping: w = the number of CG iterations (Pruessmann et al. 2001).
  if (m == "cg-sense") return std::make_shared<CgSenseReconstructor>(CgSenseOptions{.iterations = int(w)});
  if (m == "cg-sense-lowres")
    return std::make_shared<WithoutMaps>(std::make_shared<CgSenseReconstructor>(
        CgSenseOptions{.iterations = int(w)}, MapsSource::LowRes, "cg-sense-lowres"));
  if (m == "grappa")  // w = Tikhonov weight; the kernel's source lines must fit into the 24 ACS lines
    return std::make_shared<WithoutMaps>(std::make_shared<GrappaReconstructor>(
        GrappaOptions{.lines_per_side = R <= 4 ? 2 : 1, .kernel_width = 5, .lambda = w}));
  if (m == "cs-tv") return std::make_shared<CsSenseReconstructor>(CsSenseReconstructor::Penalty::TV, w, P.cs_iterations);
  if (m == "cs-wavelet")
    return std::make_shared<CsSenseReconstructor>(CsSenseReconstructor::Penalty::Wavelet, w, P.cs_iterations);
  if (m == "bart-pics-tv") return std::make_shared<BartPicsSenseReconstructor>("T", w, P.pics_iterations);
  if (m == "bart-pics-wavelet") return std::make_shared<BartPicsSenseReconstructor>("W", w, P.pics_iterations);
  if (m == "modl-sense") {
    require(modl.has_value(), "modl-sense is not trained yet");
    return std::make_shared<networks::SenseModlReconstructor>(*modl);
  }
  throw Error("unknown method " + m);
}

/// k plus seeded complex Gaussian noise (std sigma per real/imaginary part, reconlab::Random), masked.
CArray acquire_noisy(const CArray& k, const RArray& mask, double sigma, uint64_t noise_seed) {
  CArray noisy = k;
  Random rng(noise_seed);
  for (Index i = 0; i < noisy.size(); ++i) noisy.data()[i] += rng.complex_normal(sigma);
  return EigenFftw::multiply_mask(mask, noisy);
}

/// Acquisition of `k` under `mask` with noise, and ESPIRiT maps from its own ACS region (`cmd` receives the bart
/// command).
Acquisition acquire(const CArray& k, const RArray& mask, double sigma, uint64_t noise_seed, std::string* cmd) {
  Acquisition a;
  a.sampling = mask;
  a.kspace = acquire_noisy(k, mask, sigma, noise_seed);
  solvers::EcalibResult e = solvers::ecalib_maps(a.kspace, &a.mask());
  if (cmd) *cmd = e.command;
  a.sensitivities = e.maps;
  return a;
}

/// NRMSE of |x| against `ref` after the least-squares scale a = <ref, |x|> / <|x|, |x|>; also returns a |x|.
std::pair<double, RArray> scaled_nrmse(const RArray& ref, const RArray& x) {
  double num = 0, den = 0, rr = 0;
  for (Index i = 0; i < x.size(); ++i)
    num += double(ref.data()[i]) * x.data()[i], den += double(x.data()[i]) * x.data()[i],
        rr += double(ref.data()[i]) * ref.data()[i];
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

/// Colin27 axial slice z transposed (x = anterior-posterior, 217 px; y = left-right, 181 px) to match the
/// 230 x 180 matrix's aspect, bilinearly resampled to nx x ny, then augmented (flips, gamma in [0.7, 1.5),
/// phase ramp; maximum 1).
CArray colin27_image(const io::NiftiVolume& vol, int z, Index nx, Index ny, Random& rng) {
  const CArray sl = to_complex(study::transposed(study::colin27_view(vol, 2, z)));
  return study::augment(networks::resample_bilinear(sl, nx, ny), rng, {.phase_ramp = true});
}

}  // namespace

int main(int argc, char** argv) {
  const study::StudyInfo info("parallel_imaging",
                              "parallel imaging study on the real 8-coil brain: SENSE, GRAPPA, CS, BART pics, MoDL "
                              "at R = 2..8",
                              "parallel_imaging", 4242, kMethods);
  std::string colin = study::kColin27Path;
  auto options = [&](CLI::App& app) {
    app.add_option("--colin27", colin, "Colin27 NIfTI (weight validation and modl-sense training images)")
        ->capture_default_str();
  };
  return study::run_study(info, argc, argv, options, [&](study::Study& s) {
    const Preset P = make_preset(s.options().preset);
    const uint64_t seed = s.seed();
    const std::string data = s.options().data;
    torch::set_num_threads(s.options().threads);
    const fs::path out = s.out();
    auto& manifest = s.manifest();

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
    spdlog::info("noise: std per real/imaginary part = {:.3g} x max|k| (measured on sigpy_cartesian_ksp)", noise_ratio);
    RArray full(nx, ny, 1, 1, 1);
    full.setConstant(1.f);
    // Noise floor: the RSS of the noisy, fully sampled k-space against the ground truth.
    const double noise_floor_psnr =
        compute_metrics(truth, rss(EigenFftw::ifft2c(acquire_noisy(k, full, sigma, seed + 9000))), 1.0).psnr;

    manifest.fix("preset_settings", {{"seeds", P.seeds}, {"cg_iterations", P.cg_iterations},
                                   {"cs_iterations", P.cs_iterations}, {"pics_iterations", P.pics_iterations},
                                   {"modl_epochs", P.modl_epochs}});
    manifest["data"] = {{"brain8ch", clean + ".cfl"},
                        {"support", data + "/brain8ch/brain_fov.cfl"},
                        {"bartws", data + "/brain8ch-undersampled/bartws_ksp.cfl"},
                        {"bartws_reference", data + "/brain8ch-undersampled/bartws_pics_img.cfl"},
                        {"sigpy", data + "/brain8ch-undersampled/sigpy_cartesian_ksp.npy"},
                        {"colin27", colin}};
    manifest["masks"] = {{"lines", "fastMRI EquispacedMaskFunc along y, 24 ACS lines, seed = seed + 100 R + s"},
                         {"poisson", "poisson_disc_mask, 24 x 24 calibration, seed = seed + 100 R + s + 50"},
                         {"weight_validation", "R = 4, seed + 7777 + 2 j (+1 for poisson), j = validation slice"}};
    manifest["noise_floor_psnr_db"] = noise_floor_psnr;
    manifest["noise"] = {{"model", "complex Gaussian (reconlab::Random) added to the fully sampled k-space, per case, "
                                   "seed = mask seed + 9000"},
                         {"std_per_component_over_max_abs_k", noise_ratio},
                         {"measured_on", "sigpy_cartesian_ksp: acquired samples with normalised k-radius > 0.9"},
                         {"ground_truth", "RSS of the noise-free fully sampled k-space"}};
    manifest["versions"]["bart"] = solvers::bart_version();
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

    // ---- Colin27 simulated with the brain8ch coil maps: weight validation and modl-sense training ---------------
    // Maps of the fully sampled data, not thresholded (sum_c |s_c|^2 = 1 everywhere): the simulated object may
    // extend beyond brain8ch's support. Resampling is the identity here (the images are 230 x 180).
    const CArray maps = networks::normalise_maps(
        networks::resample_bilinear(solvers::lowres_maps(k, full, {.threshold = 0.0}), nx, ny));
    const io::NiftiVolume vol = io::read_nifti(colin);

    // Weights: chosen on Colin27 validation slices, never on the brain8ch test slice. Each slice's fully sampled
    // k-space F S x is scaled so that its RSS (the ground truth) has maximum 1, as the test slice's; then the same
    // acquisition as a test case (noise at the measured level, R = 4 mask, ESPIRiT maps from its ACS).
    struct Validation {
      RArray truth;
      Acquisition acq;
      std::string pattern;
    };
    std::vector<Validation> validation;
    std::function<void()> build_validation = study::once([&] {
      Random rng(seed + 31000);
      for (std::size_t j = 0; j < P.weight_z.size(); ++j) {
        const CArray x = colin27_image(vol, P.weight_z[j], nx, ny, rng);
        CArray kv = EigenFftw::fft2c(CoilSensitivity<EigenFftw>(maps).apply(x));
        RArray tv = rss(EigenFftw::ifft2c(kv));
        Eigen::Tensor<float, 0> mx = tv.maximum();
        kv = kv * cfloat(1.0f / mx());
        tv = tv * (1.0f / mx());
        Eigen::Tensor<float, 0> kvmax = kv.abs().maximum();
        for (const std::string pattern : {"lines", "poisson"}) {
          const uint64_t mseed = seed + 7777 + 2 * j + (pattern == "poisson");
          const SamplingMask m = make_mask(pattern, nx, ny, 4, mseed);
          validation.push_back({tv, acquire(kv, m.mask, noise_ratio * kvmax(), mseed + 9000, nullptr), pattern});
        }
      }
    });
    require(!manifest->contains("chosen_weights") || manifest->contains("weight_validation"),
            "the output folder " + out.string() + " holds weights chosen on the brain8ch test slice by an older "
            "version of this study (and rows computed with them): use another --out or delete it");
    manifest["weight_validation"] = {
        {"data", "Colin27 axial slices (not the brain8ch test slice), simulated with the brain8ch coil maps"},
        {"colin27_z", P.weight_z},
        {"images", "transposed, resampled to 230 x 180, augmented (flips, gamma, phase ramp), Random(seed + 31000)"},
        {"kspace", "F S x, scaled so that its RSS has maximum 1; noise std = measured ratio x max|k| per component"},
        {"maps_simulated", "lowres_maps of the fully sampled brain8ch k-space, normalised, no threshold"},
        {"maps_used", "ESPIRiT (bart ecalib) from each validation acquisition's ACS, as for the test cases"},
        {"masks", "R = 4, one line and one Poisson-disc mask per slice (GRAPPA: lines only)"},
        {"score", "mean PSNR (data range 1) over the validation acquisitions"}};
    std::optional<networks::SenseModl> modl;
    s.choose_weights({{"cg-sense", {2, 3, 5, 10, double(P.cg_iterations)}},
                      {"cg-sense-lowres", {2, 3, 5, 10, double(P.cg_iterations)}},
                      {"grappa", {1e-2, 1e-1, 1, 10}},
                      {"cs-tv", {1e-3, 3e-3, 1e-2, 3e-2}},
                      {"cs-wavelet", {3e-3, 1e-2, 3e-2, 1e-1}},
                      {"bart-pics-tv", {3e-3, 1e-2, 3e-2, 1e-1}},
                      {"bart-pics-wavelet", {3e-3, 1e-2, 3e-2, 1e-1}}},
                     [&](const std::string& method, double w, std::optional<double>) {
                       build_validation();
                       double sum = 0;
                       int n = 0;
                       for (const auto& v : validation) {
                         if (method == "grappa" && v.pattern == "poisson") continue;
                         const RArray x = make_method(method, w, P, 4, modl)->reconstruct(v.acq).abs();
                         sum += compute_metrics(v.truth, x, 1.0).psnr;
                         ++n;
                       }
                       return sum / n;
                     });

    // modl-sense: trained (or loaded) before its first missing row.
    auto train_modl = study::once([&] {
      auto make_set = [&](const std::vector<int>& zs, int copies, uint64_t s0) {
        Random rng(s0);
        std::vector<CArray> imgs;
        std::vector<RArray> masks;
        for (int c = 0; c < copies; ++c)
          for (size_t i = 0; i < zs.size(); ++i) {
            imgs.push_back(colin27_image(vol, zs[i], nx, ny, rng));
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
      to.threads = s.options().threads;
      to.progress = false;
      // quick: a smaller network (3 iterations, 16 features) so that training takes minutes on 2 cores.
      const networks::SenseModlOptions mo = s.options().preset == "quick" ? networks::SenseModlOptions{3, 5, 4, 16, 0.05}
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
      modl = net;
      manifest.save();
    });

    for (const auto& m : kMethods)
      s.add_weighted_method(
          m, [&, m](double w, const study::StudyCase& c) { return make_method(m, w, P, c.acceleration, modl); },
          m == "modl-sense" ? train_modl : std::function<void()>{},
          [m](const study::StudyCase& c) { return !(m == "grappa" && c.dataset == "brain8ch-poisson"); });

    // ---- Retrospective undersampling of brain8ch ---------------------------------------------------------------
    for (const std::string pattern : {"lines", "poisson"})
      for (double R : kRs)
        for (int si = 0; si < P.seeds; ++si) {
          const std::string ds = "brain8ch-" + pattern, id = "mask" + std::to_string(si);
          const uint64_t mseed = seed + 100 * uint64_t(R) + si + (pattern == "poisson" ? 50 : 0);
          s.add_case({ds, id, R, {}, truth,
                      [&, pattern, R, mseed, ds, id] {
                        const SamplingMask mask = make_mask(pattern, nx, ny, R, mseed);
                        manifest["achieved_acceleration"][ds + "@R" + std::to_string(int(R)) + "/" + id] =
                            mask.acceleration();
                        std::string ecmd;
                        Acquisition acq = acquire(k, mask.mask, sigma, mseed + 9000, &ecmd);
                        manifest["commands"]["ecalib"] = ecmd;
                        return acq;
                      },
                      /*sample=*/si == 0 && (R == 4 || R == 8)});
        }
    s.run();

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

      std::vector<std::string> real_methods;
      for (const auto& m : s.method_names())
        if (m != "grappa") real_methods.push_back(m);
      const bool have_reference_method =
          std::find(real_methods.begin(), real_methods.end(), "bart-pics-wavelet") != real_methods.end();
      real_md << "\n## Real undersampled acquisitions (no ground truth)\n\nNRMSE of |x| against the reference after "
                 "the least-squares intensity scale. bartws: reference = the BART pics reconstruction shipped with the "
                 "data (RSS over its 2 ESPIRiT maps). sigpy: reference = our `bart pics` wavelet run (a peer, not "
                 "ground truth). GRAPPA: not applicable (2D Poisson-disc sampling).\n\n"
              << "| data | R (achieved) | method | NRMSE | seconds |\n|---|---|---|---|---|\n";
      for (auto& [name, kr] : std::vector<std::pair<std::string, CArray>>{{"bartws", kb}, {"sigpy", ks}}) {
        if (name == "sigpy" && !have_reference_method) continue;  // its reference is our bart-pics-wavelet
        Acquisition acq;
        acq.kspace = kr;
        acq.sampling = mask_from_kspace(kr);
        // Scale: zero-filled RSS maximum 1, so the relative weights chosen above apply.
        const float sc = solvers::zero_filled_rss_max(acq);
        acq.kspace = acq.kspace * cfloat(1.0f / sc);
        const double Rach = acceleration_of(acq.mask());
        solvers::EcalibResult es = solvers::ecalib_maps(EigenFftw::multiply_mask(acq.mask(), acq.kspace), &acq.mask());
        acq.sensitivities = es.maps;
        const study::StudyCase real_case{name, "real", Rach, {}, {}, {}, false};
        std::map<std::string, RArray> recs;
        std::map<std::string, double> secs;
        for (const auto& m : real_methods) {
          s.prepare(m);
          const auto t0 = std::chrono::steady_clock::now();
          recs[m] = s.method(m).make(real_case)->reconstruct(acq).abs();
          secs[m] = study::seconds_since(t0);
        }
        const RArray ref = name == "bartws" ? ref_b : recs.at("bart-pics-wavelet");
        Eigen::Tensor<float, 0> rmx = ref.maximum();
        const RArray refn = ref * (1.0f / rmx());
        std::vector<std::pair<std::string, RArray>> scaled;
        std::map<std::string, double> nrmse;
        nlohmann::json nj;
        for (const auto& m : real_methods) {
          auto [e, xs] = scaled_nrmse(refn, recs.at(m));
          nj[m] = nrmse[m] = e;
          scaled.push_back({m, xs});
          real_md << "| " << name << " | " << std::fixed << std::setprecision(2) << Rach << " | " << m << " | "
                  << std::setprecision(4) << e << " | " << std::setprecision(2) << secs.at(m) << " |\n";
        }
        manifest["real_data"][name] = {{"acceleration", Rach}, {"nrmse", nj}, {"ecalib", es.command}};
        study::comparison_panel(
            {name == "bartws" ? "reference: shipped BART pics" : "reference: our bart-pics-wavelet", refn, 0.f, 1.f},
            {"mask", acq.mask(), 0.f, 1.f}, scaled,
            [&](const std::string& m, const RArray&) {
              std::ostringstream t;
              t << m << " NRMSE " << std::fixed << std::setprecision(3) << nrmse.at(m);
              return t.str();
            },
            out / "figures" / ("panel_real_" + name + ".png"),
            name + " (real acquisition, R = " + std::to_string(Rach).substr(0, 4) +
                "): reconstructions and |difference| to the reference (window 0..0.2)",
            0.2f, "", "|diff| ");
        spdlog::info("{}: done", name);
      }
      manifest.save();
    }

    // ---- Summary and figures ------------------------------------------------------------------------------------
    std::ostringstream intro;
    intro << "Real 8-coil brain (brain8ch, 230 x 180), retrospectively undersampled along y; ground truth RSS of the "
          << "fully sampled data (max 1). Mean ± sample std over " << P.seeds << " masks per R; fastMRI / "
          << "scikit-image metrics with data range 1. Nominal R; achieved R in manifest.json (line masks add 24 ACS "
          << "lines on top, fastMRI style). SENSE methods use ESPIRiT maps from `bart ecalib -m 1` on each "
          << "undersampled acquisition's ACS, except cg-sense-lowres (our low-resolution maps). brain_clean is "
          << "noise-free, so each case adds complex Gaussian k-space noise of std " << noise_ratio
          << " x max|k| per component, the level measured on the real sigpy acquisition; the RSS of the noisy fully "
          << "sampled data reaches " << noise_floor_psnr << " dB (the noise floor). Weights (cg-sense: CG "
          << "iterations; grappa: Tikhonov lambda) chosen on Colin27 slices simulated with the brain8ch coil maps "
          << "(R = 4; never the test slice; manifest.json weight_validation).";
    std::ostringstream extra;
    extra << "\nCoil maps, ours vs ESPIRiT, mean per-coil magnitude correlation inside the support: "
          << manifest["maps_comparison"]["mean_magnitude_correlation_inside_support"].get<double>() << "\n"
          << real_md.str();
    s.write_summary("Parallel imaging study", intro.str(), extra.str());
    s.box_plots({"psnr", "ssim"});
    s.panels();
    s.finish();
  });
}
