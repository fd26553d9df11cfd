// Classical solvers per iteration on a 256 x 256 image: ROF (Chambolle projection) and CS-TV (Chambolle-Pock
// with the Cartesian sampling operator, R = 4 column mask). Each benchmark iteration runs `kIters` solver
// iterations; the reported time per item is the time per solver iteration.
#include <benchmark/benchmark.h>

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

BENCHMARK(BM_RofIteration)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsTvIteration)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
