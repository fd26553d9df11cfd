// k-t reconstructions per iteration on one cine-sized problem (30 frames of 184 x 256: the ACDC cine of
// ../shared/data/cine-acdc when present, else a synthetic beating disc of the same size), single-coil, random
// lines per frame at R = 4 with 8 centre lines (reconlab::Random, seed 0):
//  - BM_KtTvVsBartPics: our k-t TV (PDHG, cs_tv with lambda_t) for kIters iterations in-process, against
//    `bart pics -R T:3:0:l -R T:1024:0:lt -i kIters` as a subprocess minus the same command with -i 1 (BART's
//    start-up, file writing and reading cancel out); counters: ms per iteration of each and the ratio ours/BART.
//    A PDHG iteration is one A and one A^H; a BART ADMM iteration runs up to -C (default 10) CG iterations inside,
//    so the ratio is per outer iteration of each method, not per unit of accuracy. BART runs with
//    OMP_NUM_THREADS=1, as our FFTW plans do. Wall and CPU time (getrusage of this process and of the bart
//    children) are both reported; on a machine shared with other jobs the CPU ratio is the fairer one.
//  - BM_LowRankSparseIteration: Otazo et al.'s Algorithm 1 (SVT of the 47104 x 30 Casorati matrix + x-f soft
//    threshold + data consistency) per iteration.
// Run: build-.../benchmarks/cine_bench --benchmark_repetitions=3 (medians in the aggregate rows).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <sys/resource.h>

#include "reconlab/io/npy.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/lowrank_sparse.hpp"

using namespace reconlab;

namespace {
constexpr int kIters = 10;

struct Problem {
  CArray truth;  // (nx, ny, 1, frames, 1), max 1
  RArray mask;   // (nx, ny, 1, frames, 1)
  CArray kspace;
  std::string source;
};

const Problem& problem() {
  static const Problem p = [] {
    Problem q;
    const std::string path = data_dir() + "/cine-acdc/cine_30x184x256_uint8.npy";
    if (std::filesystem::exists(path)) {
      q.truth = io::read_npy_complex(path, "fyx") * cfloat(1.0f / 255.0f);  // (256, 184, 1, 30, 1)
      q.source = path;
    } else {
      const Index nx = 256, ny = 184, T = 30;
      q.truth = CArray(nx, ny, 1, T, 1);
      for (Index t = 0; t < T; ++t)
        for (Index j = 0; j < ny; ++j)
          for (Index i = 0; i < nx; ++i) {
            const double r = 20 + 6 * std::sin(2 * 3.14159265358979 * double(t) / double(T));
            q.truth(i, j, 0, t, 0) = cfloat(std::hypot(i - nx / 2.0, j - ny / 2.0) < r ? 1.f : 0.2f, 0);
          }
      q.source = "synthetic beating disc (cine not found at " + path + ")";
    }
    const Index nx = q.truth.dimension(0), ny = q.truth.dimension(1), T = q.truth.dimension(3);
    Random rng(0);
    q.mask = RArray(nx, ny, 1, T, 1);
    for (Index t = 0; t < T; ++t)
      for (Index x = 0; x < nx; ++x) {
        const bool on = std::abs(x - nx / 2) < 4 || rng.bernoulli((double(nx) / 4 - 8) / double(nx - 8));
        for (Index y = 0; y < ny; ++y) q.mask(x, y, 0, t, 0) = on ? 1.f : 0.f;
      }
    q.kspace = EigenFftw::multiply_mask(q.mask, EigenFftw::fft2c(q.truth));
    return q;
  }();
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// CPU seconds of this process (all threads) and of its finished children (the bart subprocesses): on a shared
// machine CPU time is the fairer measure, wall time is reported beside it.
double self_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
double children_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
}  // namespace

static void BM_KtTvVsBartPics(benchmark::State& state) {
  const Problem& p = problem();
  ::setenv("OMP_NUM_THREADS", "1", 1);
  CartesianSampling<EigenFftw> A(p.mask);
  const solvers::CsTvOptions ours{.lambda = 2e-3, .lambda_t = 1e-2, .max_iterations = kIters, .tolerance = 0,
                                  .record_objective = false};
  CArray sens(p.kspace.dimension(0), p.kspace.dimension(1), 1, 1, 1);
  sens.setConstant(cfloat(1));
  double t_ours = 0, t_bart_n = 0, t_bart_1 = 0, c_ours = 0, c_bart_n = 0, c_bart_1 = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = self_cpu();
    CArray x = solvers::cs_tv(A, p.kspace, ours);
    benchmark::DoNotOptimize(x.data());
    t_ours += seconds_since(t0);
    c_ours += self_cpu() - c0;
    t0 = std::chrono::steady_clock::now();
    c0 = children_cpu();
    auto rn = solvers::bart_pics_tv(p.kspace, sens, {.lambda = 2e-3, .iterations = kIters, .lambda_t = 1e-2});
    t_bart_n += seconds_since(t0);
    c_bart_n += children_cpu() - c0;
    t0 = std::chrono::steady_clock::now();
    c0 = children_cpu();
    auto r1 = solvers::bart_pics_tv(p.kspace, sens, {.lambda = 2e-3, .iterations = 1, .lambda_t = 1e-2});
    t_bart_1 += seconds_since(t0);
    c_bart_1 += children_cpu() - c0;
    benchmark::DoNotOptimize(rn.output.data());
    benchmark::DoNotOptimize(r1.output.data());
    state.SetLabel(rn.command + " | " + p.source);
  }
  const double n = double(state.iterations());
  const double ours_ms = 1e3 * t_ours / n / kIters, ours_cpu = 1e3 * c_ours / n / kIters;
  const double bart_ms = 1e3 * (t_bart_n - t_bart_1) / n / (kIters - 1);
  const double bart_cpu = 1e3 * (c_bart_n - c_bart_1) / n / (kIters - 1);
  state.counters["ours_ms_per_it"] = ours_ms;
  state.counters["bart_ms_per_it"] = bart_ms;
  state.counters["ours_cpu_ms_per_it"] = ours_cpu;
  state.counters["bart_cpu_ms_per_it"] = bart_cpu;
  state.counters["bart_startup_ms"] = 1e3 * t_bart_1 / n;
  state.counters["ratio_ours_over_bart"] = ours_ms / bart_ms;
  state.counters["cpu_ratio_ours_over_bart"] = ours_cpu / bart_cpu;
}

static void BM_LowRankSparseIteration(benchmark::State& state) {
  const Problem& p = problem();
  CartesianSampling<EigenFftw> E(p.mask);
  const CArray zf = E.adjoint(p.kspace);
  const double sigma0 = solvers::largest_singular_value(zf);
  double t = 0, c = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = self_cpu();
    auto r = solvers::lowrank_sparse(E, p.kspace, 0.02 * sigma0, 0.01, 1.0, kIters, 0.0);
    benchmark::DoNotOptimize(r.low_rank.data());
    t += seconds_since(t0);
    c += self_cpu() - c0;
  }
  state.counters["ms_per_it"] = 1e3 * t / double(state.iterations()) / kIters;
  state.counters["cpu_ms_per_it"] = 1e3 * c / double(state.iterations()) / kIters;
}

BENCHMARK(BM_KtTvVsBartPics)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_LowRankSparseIteration)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_MAIN();
