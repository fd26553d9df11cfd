// Classical solvers per iteration on a 256 x 256 image: ROF (Chambolle projection) and CS-TV (Chambolle-Pock
// with the Cartesian sampling operator, R = 4 column mask). Each benchmark iteration runs `kIters` solver
// iterations; the reported time per item is the time per solver iteration.
// Side by side with the peers, in one run (issue 12):
//  - BM_RofVsSkimage: ROF per iteration on a 256 x 256 float image against scikit-image's float32
//    denoise_tv_chambolle (the same projection algorithm, tau = 1/4) on the same image (.npy), run as
//    `python3 benchmarks/peers/skimage_rof.py` (Debian python3-skimage), which times itself without start-up;
//    counters ours_ms_per_it, skimage_ms_per_it and speedup = skimage / ours (target: at least 5).
//  - BM_CsTvVsBartPicsKnee: CS-TV on the real 320 x 256 knee slice 0 (shared data), the slice's own 2D
//    variable-density mask (26.9 %), single coil, against `bart pics -R T` solving the same problem (the k-space
//    scaled by the zero-filled maximum on both sides, BART through -w). BART runs kBartIters ADMM iterations
//    (time = the run minus a 1-iteration run: start-up and file I/O cancel out); ours runs the fewest of
//    1, 2, 4, ... (up to 16 kBartIters) PDHG iterations whose PSNR (magnitude, against the fully sampled image) is
//    at least BART's. Counters: iterations, ms per iteration and PSNR of each; per_it_ratio = ours / BART per
//    iteration; time_ratio = ours / BART to that PSNR (the fair number: an ADMM iteration runs inner CG steps).
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "reconlab/io/npy.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/subprocess.hpp"

#include "reconlab/masks.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/rof.hpp"

using namespace reconlab;

namespace {
constexpr int kIters = 20;
CArray image(Index n) {
  Random rng(2);
  CArray a(n, n, 1, 1, 1);
  for (Index y = 0; y < n; ++y)
    for (Index x = 0; x < n; ++x)
      a(x, y, 0, 0, 0) = cfloat((std::abs(x - n / 2) < n / 4 && std::abs(y - n / 2) < n / 3 ? 1.f : 0.f) +
                                    float(rng.normal(0, 0.05)),
                                0);
  return a;
}
}  // namespace

static void BM_RofIteration(benchmark::State& state) {
  const Index n = state.range(0);
  RArray f = image(n).real();
  for (auto _ : state) {
    RArray u = solvers::rof_denoise(f, {.weight = 0.1, .max_iterations = kIters, .tolerance = 1e-300});
    benchmark::DoNotOptimize(u.data());
  }
  state.SetItemsProcessed(state.iterations() * kIters);
}

static void BM_CsTvIteration(benchmark::State& state) {
  const Index n = state.range(0);
  const auto m = random_column_mask(n, n, 0.08, 4, 0);
  CartesianSampling<EigenFftw> A(m.mask);
  const CArray y = A.apply(image(n));
  for (auto _ : state) {
    CArray x = solvers::cs_tv(A, y, {.lambda = 1e-3, .max_iterations = kIters, .tolerance = 0, .record_objective = false});
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * kIters);
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
/// The first of /usr/bin/python3 and python3 that imports `module`, or "".
std::string python_with(const std::string& module) {
  for (std::string py : {"/usr/bin/python3", "python3"}) {
    try {
      if (run_process({py, "-c", "import " + module}).exit_status == 0) return py;
    } catch (const Error&) {
    }
  }
  return "";
}
}  // namespace

static void BM_RofVsSkimage(benchmark::State& state) {
  const Index n = state.range(0);
  constexpr int kRofIters = 100;
  const std::string py = python_with("skimage");
  if (py.empty()) {
    state.SkipWithError("python3 with scikit-image (Debian python3-skimage) is not available");
    return;
  }
  RArray f = image(n).real();
  solvers::TempDir dir;
  io::write_npy(dir.path() + "/f.npy", f);
  const ProcessResult r = run_process({py, std::string(RECONLAB_SOURCE_DIR) + "/benchmarks/peers/skimage_rof.py",
                                       dir.path() + "/f.npy", std::to_string(kRofIters), "5", "0.1"});
  double sk = 0;
  if (r.exit_status != 0 || std::sscanf(r.output.c_str(), "seconds_per_iteration %lf", &sk) != 1 || !(sk > 0)) {
    state.SkipWithError(("skimage_rof.py failed: " + r.output).c_str());
    return;
  }
  double ours = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    RArray u = solvers::rof_denoise(f, {.weight = 0.1, .max_iterations = kRofIters, .tolerance = 1e-300});
    ours += seconds_since(t0);
    benchmark::DoNotOptimize(u.data());
  }
  ours /= double(state.iterations()) * kRofIters;
  state.counters["ours_ms_per_it"] = 1e3 * ours;
  state.counters["skimage_ms_per_it"] = 1e3 * sk;
  state.counters["speedup"] = sk / ours;
}

static void BM_CsTvVsBartPicsKnee(benchmark::State& state) {
  constexpr int kBartIters = 20;
  constexpr double kLambda = 0.005;
  const std::string knee = data_dir() + "/knee/knee_complex_2x320x256.npy",
                    mask_file = data_dir() + "/knee/smp_mask_320x256.npy";
  if (!std::filesystem::exists(knee) || !std::filesystem::exists(mask_file)) {
    state.SkipWithError(("the knee data is absent: " + knee).c_str());
    return;
  }
  std::string bart;
  try {
    bart = solvers::find_bart();
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  const CArray both = io::read_npy_complex(knee, "byx");  // (256, 320, 1, 1, 2)
  const Index nx = both.dimension(0), ny = both.dimension(1);
  const CArray truth = both.slice(Eigen::array<Index, 5>{0, 0, 0, 0, 0}, Eigen::array<Index, 5>{nx, ny, 1, 1, 1});
  const RArray mask = io::read_npy_real(mask_file, "yx");
  CartesianSampling<EigenFftw> A(mask);
  const CArray y = A.apply(truth);
  const RArray target = truth.abs();
  const CArray zf = A.adjoint(y);
  const Eigen::Tensor<float, 0> mx = zf.abs().maximum();
  const float scale = mx();
  const CArray ones = [&] {
    CArray o(nx, ny, 1, 1, 1);
    o.setConstant(cfloat(1, 0));
    return o;
  }();
  auto psnr = [&](const CArray& x) {
    const RArray m = x.abs();
    return compute_metrics(target, m).psnr;
  };
  double t_bart = 0, t_bart1 = 0, t_ours = 0, psnr_bart = 0, psnr_ours = 0;
  int ours_iters = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    const auto rb = solvers::bart_pics_tv(y, ones, {.lambda = kLambda, .iterations = kBartIters, .inverse_scaling = scale});
    t_bart += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    solvers::bart_pics_tv(y, ones, {.lambda = kLambda, .iterations = 1, .inverse_scaling = scale});
    t_bart1 += seconds_since(t0);
    psnr_bart = psnr(rb.output);
    const CArray ys = y * cfloat(1.0f / scale);
    for (int k = 1; k <= 16 * kBartIters; k *= 2) {
      t0 = std::chrono::steady_clock::now();
      const CArray x = solvers::cs_tv(A, ys, {.lambda = kLambda, .max_iterations = k, .tolerance = 0,
                                              .record_objective = false});
      const double t = seconds_since(t0);
      ours_iters = k;
      psnr_ours = psnr(x * cfloat(scale));
      if (psnr_ours >= psnr_bart || 2 * k > 16 * kBartIters) {
        t_ours += t;
        break;
      }
    }
  }
  const double n = double(state.iterations());
  const double bart_s = (t_bart - t_bart1) / n, ours_s = t_ours / n;
  state.counters["bart_iters"] = kBartIters;
  state.counters["bart_ms_per_it"] = 1e3 * bart_s / (kBartIters - 1);
  state.counters["bart_psnr"] = psnr_bart;
  state.counters["ours_iters"] = ours_iters;
  state.counters["ours_ms_per_it"] = 1e3 * ours_s / ours_iters;
  state.counters["ours_psnr"] = psnr_ours;
  state.counters["per_it_ratio"] = (ours_s / ours_iters) / (bart_s / (kBartIters - 1));
  state.counters["time_ratio"] = ours_s / (bart_s * kBartIters / (kBartIters - 1));
}

BENCHMARK(BM_RofVsSkimage)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsTvVsBartPicsKnee)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RofIteration)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsTvIteration)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
