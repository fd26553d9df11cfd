// The centred unitary FFT operator against a raw FFTW plan on the same data, side by side in one run.
// Sizes 128^2, 256^2, 320^2; batch 1 and 16 (e.g. 16 coils); plans made before timing, the same thread count;
// the operator also centres (shift with signs) and scales.
// - BM_Fft2cOperator: the operator with its default planning (FFTW_MEASURE + stored wisdom: byte-identical reruns);
// - BM_Fft2cOperatorEstimate: the operator with FFTW_ESTIMATE planning (reproducible without a wisdom file);
// - BM_RawFftwPlan: a raw FFTW_MEASURE plan.
// - BM_Fft2cIntoVsFftw: the operator's apply_into (no allocation: a solver's hot loop) and the raw FFTW_MEASURE
//   plan with the same thread count, alternated within each benchmark iteration (16 calls of each, so that load
//   changes hit both); counters ours_us and fftw_us (mean per call) and ratio = ours / fftw (issue 12's target:
//   at most 1.10).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "reconlab/operators.hpp"
#include "reconlab/random.hpp"

using namespace reconlab;

namespace {
CArray random_array(Index n, Index batch) {
  Random rng(1);
  CArray a(n, n, batch, 1, 1);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.complex_normal();
  return a;
}
}  // namespace

static void BM_Fft2cOperator(benchmark::State& state) {
  const Index n = state.range(0), batch = state.range(1);
  CArray x = random_array(n, batch);
  Fft2c<EigenFftw> F;
  CArray k = F.apply(x);  // plan outside the timed loop
  for (auto _ : state) {
    k = F.apply(x);
    benchmark::DoNotOptimize(k.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

static void BM_Fft2cOperatorEstimate(benchmark::State& state) {
  fftwf_forget_wisdom();  // FFTW_ESTIMATE would otherwise reuse the measured plans' wisdom
  EigenFftw::set_fft_planning(FftPlanning::Estimate);
  BM_Fft2cOperator(state);
  EigenFftw::set_fft_planning(FftPlanning::Wisdom);
}

static void BM_RawFftwPlan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), batch = static_cast<int>(state.range(1));
  CArray x = random_array(n, batch);
  const int dims[2] = {n, n};
  auto* in = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n * n * batch));
  auto* out = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n * n * batch));
  fftwf_init_threads();
  fftwf_plan_with_nthreads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  fftwf_plan p = fftwf_plan_many_dft(2, dims, batch, in, nullptr, 1, n * n, out, nullptr, 1, n * n, FFTW_FORWARD,
                                     FFTW_MEASURE);
  std::memcpy(in, x.data(), sizeof(fftwf_complex) * n * n * batch);
  for (auto _ : state) {
    fftwf_execute(p);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
}

static void BM_Fft2cIntoVsFftw(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), batch = static_cast<int>(state.range(1));
  CArray x = random_array(n, batch), k(n, n, batch, 1, 1);
  Fft2c<EigenFftw> F;
  F.apply_into(x, k);  // plan outside the timed loop
  const int dims[2] = {n, n};
  auto* in = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n * n * batch));
  auto* out = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n * n * batch));
  fftwf_init_threads();
  fftwf_plan_with_nthreads(EigenFftw::fft_threads());
  fftwf_plan p = fftwf_plan_many_dft(2, dims, batch, in, nullptr, 1, n * n, out, nullptr, 1, n * n, FFTW_FORWARD,
                                     FFTW_MEASURE);
  std::memcpy(in, x.data(), sizeof(fftwf_complex) * n * n * batch);
  fftwf_execute(p);
  constexpr int kCalls = 16;
  double t_ours = 0, t_fftw = 0;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    // A pause before each block: reconlab's workers poll for 100 us after a call and would take a core from the
    // FFTW threads of the block that follows.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    auto t0 = clock::now();
    for (int i = 0; i < kCalls; ++i) F.apply_into(x, k);
    auto t1 = clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto t1b = clock::now();
    for (int i = 0; i < kCalls; ++i) fftwf_execute(p);
    auto t2 = clock::now();
    benchmark::DoNotOptimize(k.data());
    benchmark::DoNotOptimize(out);
    t_ours += std::chrono::duration<double>(t1 - t0).count();
    t_fftw += std::chrono::duration<double>(t2 - t1b).count();
  }
  const double calls = double(state.iterations()) * kCalls;
  state.counters["ours_us"] = 1e6 * t_ours / calls;
  state.counters["fftw_us"] = 1e6 * t_fftw / calls;
  state.counters["ratio"] = t_ours / t_fftw;
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
}

#define FFT_ARGS ->Args({128, 1})->Args({128, 16})->Args({256, 1})->Args({256, 16})->Args({320, 1})->Args({320, 16})
BENCHMARK(BM_Fft2cOperator) FFT_ARGS->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fft2cOperatorEstimate) FFT_ARGS->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawFftwPlan) FFT_ARGS->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fft2cIntoVsFftw) FFT_ARGS->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
