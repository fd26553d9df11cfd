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
/// Output folder: metrics.csv, summary.md, manifest.json, figures/ (box plots, per-sample panels with error maps and
/// difference maps cascade - method, training curves), <network>/ (checkpoint.pt, loss.csv, final.pt, model.json).
/// A rerun skips finished trainings and (case, method) rows.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "reconlab/io.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/study_training.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/phantoms.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/study/figures.hpp"
#include "reconlab/study/manifest.hpp"
#include "reconlab/study/results.hpp"

using namespace reconlab;
namespace fs = std::filesystem;
namespace nw = reconlab::networks;

namespace {

/// Study sizes: `quick` (all networks on a 2-core CPU in under ~10 minutes) and `full`.
struct Preset {
  std::string name;
  PhantomCounts counts;
  int epochs_kspace, epochs_cascade, epochs_unrolled;
  int64_t unet_channels, unet_pools;
  nw::DncnOptions dncn;
  nw::ModlOptions modl;
};

Preset make_preset(const std::string& name) {
  if (name == "quick")
    return {"quick", {96, 8, 20}, 20, 20, 20, 8, 3,
            nw::DncnOptions{.cascades = 3, .conv_layers = 4, .features = 16, .shared_weights = false,
                            .dc = nw::DcMode::soft},
            nw::ModlOptions{.iterations = 3, .cg_iterations = 6, .conv_layers = 4, .features = 16,
                            .lambda_init = 0.05}};
  if (name == "full")
    return {"full", {400, 20, 20}, 40, 40, 40, 16, 4,
            nw::DncnOptions{.cascades = 5, .conv_layers = 5, .features = 64, .shared_weights = false,
                            .dc = nw::DcMode::soft},
            nw::ModlOptions{.iterations = 8, .cg_iterations = 10, .conv_layers = 5, .features = 64,
                            .lambda_init = 0.05}};
  throw Error("unknown preset '" + name + "' (quick | full)");
}

constexpr double kR = 4, kCentre = 0.08;
constexpr Index kN = 128;

Acquisition acquire(const RArray& truth, int64_t mask_seed) {
  Acquisition a;
  a.mask = equispaced_column_mask(kN, kN, kCentre, kR, mask_seed % 4294967296LL).mask;
  a.kspace = EigenFftw::multiply_mask(a.mask, EigenFftw::fft2c(to_complex(truth)));
  return a;
}

/// Both images mapped with the truth's range (min..max -> 0..1), then metrics with data range 1.
Metrics range_metrics(const RArray& truth, const RArray& x) {
  Eigen::Tensor<float, 0> lo = truth.minimum(), hi = truth.maximum();
  const float r = std::max(hi() - lo(), 1e-12f);
  RArray t = (truth - lo()) / r, p = (x - lo()) / r;
  return compute_metrics(t, p, 1.0);
}

std::unique_ptr<Reconstructor> classical(const std::string& method, double w) {
  return solvers::make_classical_reconstructor(method, w);
}

const std::vector<std::string> kMethods = {"zero-filled", "rof",     "cs-tv", "bart-pics",
                                           "kspace-unet", "cascade", "dncn",  "modl"};

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

/// Per-method Markdown table with PSNR, SSIM and RMSE (mean ± sample std).
std::string summary_table(const study::ResultsTable& table) {
  std::ostringstream md;
  md << std::fixed << "| method | PSNR (dB) | SSIM | RMSE | n | seconds/case |\n|---|---|---|---|---|---|\n";
  for (const auto& m : kMethods) {
    std::vector<double> p, s, r, t;
    for (const auto& row : table.rows())
      if (row.method == m) {
        p.push_back(row.metrics.psnr);
        s.push_back(row.metrics.ssim);
        r.push_back(row.metrics.rmse);
        t.push_back(row.seconds);
      }
    if (p.empty()) continue;
    auto [pm, ps] = study::mean_std(p);
    auto [sm, ss] = study::mean_std(s);
    auto [rm, rs] = study::mean_std(r);
    md << "| " << m << " | " << std::setprecision(2) << pm << " ± " << ps << " | " << std::setprecision(4) << sm
       << " ± " << ss << " | " << rm << " ± " << rs << " | " << p.size() << " | " << std::setprecision(3)
       << study::mean_std(t).first << " |\n";
  }
  return md.str();
}

double mean_of(const study::ResultsTable& table, const std::string& method, double Metrics::*field) {
  std::vector<double> v;
  for (const auto& r : table.rows())
    if (r.method == method) v.push_back(r.metrics.*field);
  return study::mean_std(v).first;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"phantom cascade study: k-space U-Net, cascade, DnCn, MoDL vs classical methods (R = 4)"};
  std::string preset_name = "quick", out_dir;
  uint64_t seed = 2024;
  int threads = 0;
  app.add_option("--preset", preset_name, "quick (minutes on 2 cores) | full")->capture_default_str();
  app.add_option("--out", out_dir, "output folder (default results/phantom_cascade_<preset>)");
  app.add_option("--seed", seed, "seed of every random choice (phantoms, masks, training)")->capture_default_str();
  app.add_option("--threads", threads, "threads for LibTorch and FFTW (default: all cores)");
  CLI11_PARSE(app, argc, argv);

  try {
    const Preset P = make_preset(preset_name);
    if (out_dir.empty()) out_dir = "results/phantom_cascade_" + P.name;
    if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
    torch::set_num_threads(threads);
    EigenFftw::set_fft_threads(threads);
    const fs::path out(out_dir);
    fs::create_directories(out / "figures");
    fs::create_directories(out / "samples");
    const auto t_start = std::chrono::steady_clock::now();
    auto since = [](auto t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    spdlog::info("phantom cascade study, preset {}, output {}", P.name, fs::absolute(out).string());

    // ---- Data ----------------------------------------------------------------------------------------------------
    std::vector<RArray> train, val, test;
    std::vector<int64_t> train_masks, val_masks;
    for (int i = 0; i < P.counts.train; ++i) {
      train.push_back(split_phantom(PhantomSplit::train, i, seed, kN));
      train_masks.push_back(int64_t(seed) + 20000 + i);
    }
    for (int i = 0; i < P.counts.validation; ++i) {
      val.push_back(split_phantom(PhantomSplit::validation, i, seed, kN));
      val_masks.push_back(int64_t(seed) + 3000 + i);
    }
    for (int i = 0; i < P.counts.test; ++i) test.push_back(split_phantom(PhantomSplit::test, i, seed, kN));

    study::Manifest manifest(out, "phantom_cascade", argc, argv);
    const fs::path manifest_path = manifest.path();
    manifest["preset"] = P.name;
    manifest["seed"] = seed;
    manifest["threads"] = threads;
    manifest["data"] = {{"phantoms", "reconlab::split_phantom (random Shepp-Logan-style ellipses, [0, 1])"},
                        {"size", kN},
                        {"train", P.counts.train},
                        {"validation", P.counts.validation},
                        {"test", P.counts.test}};
    manifest["masks"] = {{"type", "fastMRI EquispacedMaskFunc"}, {"R", kR}, {"center_fraction", kCentre},
                         {"test_mask_seed", "seed + 7000 + i"}, {"train_mask_seed", "seed + 20000 + i"}};
    manifest["versions"] = {{"libtorch", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR)},
                            {"bart", solvers::bart_version()}};
    manifest.save();

    // ---- Regularisation weights on validation --------------------------------------------------------------------
    const std::map<std::string, std::vector<double>> grid = {{"rof", {0.003, 0.01, 0.03}},
                                                             {"cs-tv", {3e-3, 1e-2, 3e-2}},
                                                             {"bart-pics", {0.03, 0.1, 0.3}}};
    std::map<std::string, double> chosen;
    for (const auto& [method, values] : grid)
      chosen[method] = study::choose_weight(manifest, method, values, [&](double w) {  // mean validation PSNR
        const int n = std::min<int>(4, int(val.size()));
        double sum = 0;
        for (int i = 0; i < n; ++i)
          sum += range_metrics(val[i], classical(method, w)->reconstruct(acquire(val[i], val_masks[i])).abs()).psnr;
        return sum / n;
      });

    // ---- Networks ------------------------------------------------------------------------------------------------
    auto [xtr, ytr] = network_set(train, train_masks);
    auto [xva, yva] = network_set(val, val_masks);
    nw::TrainOptions base;
    base.batch_size = 4;
    base.learning_rate = 1e-3;
    base.seed = seed;
    base.lr_schedule = "cosine";
    base.threads = threads;
    const nw::DcSuiteOptions suite{.kspace_unet = {P.unet_channels, P.unet_pools},
                                   .cascade_channels = P.unet_channels,
                                   .cascade_pools = P.unet_pools,
                                   .dncn = P.dncn,
                                   .modl = P.modl,
                                   .epochs_kspace = P.epochs_kspace,
                                   .epochs_cascade = P.epochs_cascade,
                                   .epochs_unrolled = P.epochs_unrolled};
    auto nets = nw::train_dc_suite(out, suite, xtr, ytr, xva, yva, base, *manifest);
    manifest.save();

    // ---- Test ----------------------------------------------------------------------------------------------------
    study::ResultsTable table(out / "metrics.csv");
    nlohmann::json commands;
    const int n_samples = 2;
    for (int i = 0; i < int(test.size()); ++i) {
      const Acquisition acq = acquire(test[i], int64_t(seed) + 7000 + i);
      const std::string id = "phantom" + std::to_string(i);
      const bool sample = i < n_samples;
      for (const auto& method : kMethods) {
        const fs::path sample_file = out / "samples" / (id + "_" + method + ".npy");
        if (table.has("phantom", id, kR, method) && (!sample || fs::exists(sample_file))) continue;
        const auto t0 = std::chrono::steady_clock::now();
        RArray x;
        if (nets.count(method)) {
          x = nets[method]->reconstruct(acq).abs();
        } else {
          auto rec = classical(method, method == "zero-filled" ? 0.0 : chosen.at(method));
          x = rec->reconstruct(acq).abs();
          if (method == "bart-pics") commands["bart-pics"] = rec->parameters()["command"];
        }
        const double secs = since(t0);
        if (sample) io::write_npy(sample_file.string(), x);
        if (!table.has("phantom", id, kR, method)) {
          table.add({"phantom", id, kR, method, range_metrics(test[i], x), secs});
          spdlog::info("{} {}: PSNR {:.2f} dB, SSIM {:.4f}", id, method, table.rows().back().metrics.psnr,
                       table.rows().back().metrics.ssim);
        }
      }
      if (sample) {
        io::write_npy((out / "samples" / (id + "_truth.npy")).string(), test[i]);
        io::write_npy((out / "samples" / (id + "_mask.npy")).string(), acq.mask);
      }
    }
    if (!commands.empty()) manifest["commands"] = commands;
    manifest.save();

    // ---- Summary -------------------------------------------------------------------------------------------------
    std::ostringstream md;
    md << "# Phantom cascade study (" << P.name << " preset)\n\n"
       << P.counts.test << " test phantoms (128 x 128), R = 4 equispaced lines with a fully sampled centre "
       << "(centre fraction 0.08). Mean ± sample std; metrics after normalising both images with the ground truth's "
       << "range. Weights chosen on validation: ";
    for (const auto& [k, v] : chosen) md << k << " = " << v << "; ";
    md << "\n\n" << summary_table(table) << "\n";
    const double psnr_c = mean_of(table, "cascade", &Metrics::psnr), psnr_k = mean_of(table, "kspace-unet", &Metrics::psnr),
                 psnr_tv = mean_of(table, "cs-tv", &Metrics::psnr), psnr_zf = mean_of(table, "zero-filled", &Metrics::psnr);
    const double ssim_c = mean_of(table, "cascade", &Metrics::ssim), ssim_k = mean_of(table, "kspace-unet", &Metrics::ssim),
                 ssim_tv = mean_of(table, "cs-tv", &Metrics::ssim), ssim_zf = mean_of(table, "zero-filled", &Metrics::ssim);
    md << std::fixed << std::setprecision(2) << "Published ordering cascade > k-space U-Net > TV ~ zero-filled (PSNR): "
       << "cascade " << psnr_c << ", k-space U-Net " << psnr_k << ", CS-TV " << psnr_tv << ", zero-filled " << psnr_zf
       << " dB -> cascade > k-space U-Net: " << (psnr_c > psnr_k ? "yes" : "no")
       << "; k-space U-Net > CS-TV: " << (psnr_k > psnr_tv ? "yes" : "no")
       << "; |CS-TV - zero-filled| = " << std::abs(psnr_tv - psnr_zf) << " dB.\n" << std::setprecision(4)
       << "SSIM: cascade " << ssim_c << ", k-space U-Net " << ssim_k << ", CS-TV " << ssim_tv << ", zero-filled "
       << ssim_zf << ".\n";
    io::atomic_write_text(out / "summary.md", md.str());

    // ---- Figures -------------------------------------------------------------------------------------------------
    for (const std::string metric : {"psnr", "ssim", "nmse"})
      study::boxplot_figure(table, "phantom", metric, kMethods, {kR}, out / "figures" / ("box_" + metric + ".png"));
    for (int i = 0; i < std::min<int>(n_samples, int(test.size())); ++i) {
      const std::string id = "phantom" + std::to_string(i);
      const RArray truth = io::read_npy_real((out / "samples" / (id + "_truth.npy")).string());
      const RArray casc = io::read_npy_real((out / "samples" / (id + "_cascade.npy")).string());
      std::vector<study::PanelImage> imgs{{"ground truth", truth, 0.f, 1.f}};
      std::vector<study::PanelImage> errs{{"mask", io::read_npy_real((out / "samples" / (id + "_mask.npy")).string()), 0.f, 1.f}};
      std::vector<study::PanelImage> diffs{{"(cascade - method) +-0.2", RArray(truth.constant(0.f)), -0.2f, 0.2f}};
      for (const auto& method : kMethods) {
        const RArray x = io::read_npy_real((out / "samples" / (id + "_" + method + ".npy")).string());
        std::ostringstream t;
        t << method << " " << std::fixed << std::setprecision(2) << range_metrics(truth, x).psnr << " dB";
        imgs.push_back({t.str(), x, 0.f, 1.f});
        errs.push_back({"|error| " + method, RArray((x - truth).abs()), 0.f, 0.2f});
        diffs.push_back({"cascade - " + method, RArray(casc - x), -0.2f, 0.2f});
      }
      imgs.insert(imgs.end(), errs.begin(), errs.end());
      imgs.insert(imgs.end(), diffs.begin(), diffs.end());
      study::image_panel(imgs, int(kMethods.size()) + 1, out / "figures" / ("panel_" + id + ".png"),
                         id + ", R = 4: images, |error| (0..0.2), cascade - method (-0.2..0.2)");
    }
    for (const std::string name : {"kspace-unet", "cascade", "dncn", "modl"})
      if (fs::exists(out / name / "loss.csv"))
        study::loss_curve_figure(out / name / "loss.csv", out / "figures" / ("loss_" + name + ".png"),
                                 name + " training");
    spdlog::info("done in {:.0f} s", since(t_start));
    std::cout << "\n" << md.str() << "\nOutput: " << fs::absolute(out).string() << "\n";
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
