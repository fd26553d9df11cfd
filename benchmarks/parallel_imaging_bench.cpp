// Parallel imaging: the SENSE forward model A = M F S and its normal operator A^H A per call at 230 x 180 x 8
// (the brain8ch size) and 256 x 256 x 16 coils; CG-SENSE, 10 iterations, against `bart pics -l2 -i 10` on the same
// k-space and the same ESPIRiT maps (brain8ch, R = 4 Poisson disc), timed back to back in one benchmark, with the
// ratio as a counter. BART's time includes its process start and .cfl file I/O (what a user of the CLI pays);
// `bart_overhead_s` (`bart pics -i 1` minus one iteration's share is not separable, so it reports `bart fmac` on
// the same inputs, the cost of starting bart and moving the arrays) lets the reader subtract it.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "reconlab/io/cfl.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/cg_sense.hpp"
#include "reconlab/solvers/coil_maps.hpp"

using namespace reconlab;

namespace {
CArray random_array(const Dims& d, unsigned seed) {
  Random rng(seed);
  CArray a(d[0], d[1], d[2], d[3], d[4]);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.complex_normal();
  return a;
}
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

static void BM_SenseApply(benchmark::State& state) {
  const Index nx = state.range(0), ny = state.range(1), nc = state.range(2);
  SenseOperator<EigenFftw> A(poisson_disc_mask(nx, ny, 4, 24, 1).mask, random_array(make_dims(nx, ny, nc), 1));
  const CArray x = random_array(make_dims(nx, ny), 2);
  for (auto _ : state) {
    CArray k = A.apply(x);
    benchmark::DoNotOptimize(k.data());
  }
}

static void BM_SenseNormal(benchmark::State& state) {
  const Index nx = state.range(0), ny = state.range(1), nc = state.range(2);
  SenseOperator<EigenFftw> A(poisson_disc_mask(nx, ny, 4, 24, 1).mask, random_array(make_dims(nx, ny, nc), 1));
  const CArray x = random_array(make_dims(nx, ny), 2);
  for (auto _ : state) {
    CArray y = A.normal(x);
    benchmark::DoNotOptimize(y.data());
  }
}

static void BM_CgSense10VsBartPicsL2(benchmark::State& state) {
  const std::string base = data_dir() + "/brain8ch/brain_clean";
  if (!std::filesystem::exists(base + ".cfl")) {
    state.SkipWithError(("no " + base).c_str());
    return;
  }
  const CArray k = io::read_cfl(base, 2);
  const RArray mask = poisson_disc_mask(k.dimension(0), k.dimension(1), 4, 24, 3).mask;
  const CArray y = EigenFftw::multiply_mask(mask, k);
  const CArray maps = solvers::ecalib_maps(y, &mask).maps;
  double ours = 0, bart = 0, overhead = 0;
  std::string cmd;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    CArray x = solvers::cg_sense(y, mask, maps, {.iterations = 10, .lambda = 0, .tolerance = 0});
    benchmark::DoNotOptimize(x.data());
    ours += since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto r = solvers::run_bart("pics", {"-l2", "-r", "0", "-i", "10", "-w", "1"}, {{"kspace", &y}, {"sens", &maps}});
    bart += since(t0);
    cmd = r.command;
    t0 = std::chrono::steady_clock::now();
    solvers::run_bart("fmac", {}, {{"kspace", &y}, {"sens", &maps}});
    overhead += since(t0);
  }
  const double n = double(state.iterations());
  state.counters["reconlab_s"] = ours / n;
  state.counters["bart_s"] = bart / n;
  state.counters["bart_overhead_s"] = overhead / n;
  state.counters["ratio_reconlab_over_bart"] = ours / bart;
  state.counters["ratio_excl_overhead"] = ours / std::max(bart - overhead, 1e-9);
  state.SetLabel(cmd);
}

BENCHMARK(BM_SenseApply)->Args({230, 180, 8})->Args({256, 256, 16})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SenseNormal)->Args({230, 180, 8})->Args({256, 256, 16})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CgSense10VsBartPicsL2)->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
