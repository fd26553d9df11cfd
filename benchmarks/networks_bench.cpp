// Benchmarks of the data-consistent networks (cascade_nets.hpp): one training step (forward, L1 loss on the
// magnitude, backward, Adam step) per batch, and inference per slice (no-grad forward of a batch, reported per
// slice through items_per_second), at 128^2 and 256^2, batch 1 and 8, on the CPU with all cores.
// Network sizes are those of the phantom study's quick preset (k-space and image U-Nets with 8 channels and 3
// pools; DnCn 3 cascades of 4 convolutions with 16 features; MoDL 3 iterations, 6 CG steps, CNN 4 x 16).
// Inputs: equispaced R = 4 column masks with an 8 % centre, random complex k-space (timings do not depend on
// values). Args: {size, batch}.
// BM_UnetVsPytorch: the fastMRI U-Net (4 pools, 16 channels) in reconlab against the same architecture in
// PyTorch's Python API on the same LibTorch (Debian python3-torch, benchmarks/peers/torch_unet.py, run once per
// benchmark as a subprocess that times itself: medians of 5 after 2 warm-ups), same threads, batch 8, 128^2 and
// 256^2: one training step (forward, L1 loss, backward, Adam step) and a no-grad forward. Counters: ms of each
// and the ratios ours / PyTorch (issue 12's target: at most 1). The parameter counts must agree, else the
// benchmark reports an error instead of a ratio.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "reconlab/networks/cascade_nets.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/subprocess.hpp"

using namespace reconlab::networks;

namespace {

torch::Tensor packed_input(int64_t n, int64_t size) {
  torch::manual_seed(1);
  auto mask = torch::zeros({1, 1, 1, size, size});
  for (int64_t x = 0; x < size; x += 4) mask.select(4, x).fill_(1);
  const int64_t c = size * 8 / 100;
  mask.narrow(4, size / 2 - c / 2, c).fill_(1);
  auto k = torch::randn({n, 1, 1, size, size}, torch::kComplexFloat) * mask;
  return pack_kspace(k, mask);
}

template <class Net>
Net make_net();
template <>
KspaceUnet make_net<KspaceUnet>() { return KspaceUnet(KspaceUnetOptions{8, 3}); }
template <>
Cascade make_net<Cascade>() { return Cascade(CascadeOptions{{8, 3}, 8, 3}); }
template <>
Dncn make_net<Dncn>() {
  return Dncn(DncnOptions{.cascades = 3, .conv_layers = 4, .features = 16, .dc = DcMode::soft});
}
template <>
Modl make_net<Modl>() {
  return Modl(ModlOptions{.iterations = 3, .cg_iterations = 6, .conv_layers = 4, .features = 16});
}

void set_threads() {
  static bool done = false;
  if (!done) torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  done = true;
}

template <class Net>
void BM_TrainStep(benchmark::State& state) {
  set_threads();
  torch::manual_seed(0);
  Net net = make_net<Net>();
  net->train();
  const int64_t size = state.range(0), batch = state.range(1);
  auto x = packed_input(batch, size);
  auto target = torch::rand({batch, 1, size, size});
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  for (auto _ : state) {
    opt.zero_grad();
    auto loss = torch::l1_loss(net->forward(x), target);
    loss.backward();
    opt.step();
    const float v = loss.template item<float>();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

template <class Net>
void BM_Inference(benchmark::State& state) {
  set_threads();
  torch::manual_seed(0);
  Net net = make_net<Net>();
  net->eval();
  const int64_t size = state.range(0), batch = state.range(1);
  auto x = packed_input(batch, size);
  torch::NoGradGuard g;
  for (auto _ : state) {
    auto y = net->reconstruct(x);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);  // slices per second
}

/// Median seconds of f over `repeats` calls after 2 warm-up calls (as torch_unet.py measures).
template <class F>
double median_seconds(F&& f, int repeats) {
  for (int i = 0; i < 2; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void BM_UnetVsPytorch(benchmark::State& state) {
  set_threads();
  const int64_t size = state.range(0), batch = state.range(1);
  constexpr int64_t kChans = 16, kPools = 4;
  constexpr int kRepeats = 5;
  std::string py;
  for (std::string cand : {"/usr/bin/python3", "python3"}) {
    try {
      if (reconlab::run_process({cand, "-c", "import torch"}).exit_status == 0) {
        py = cand;
        break;
      }
    } catch (const reconlab::Error&) {
    }
  }
  if (py.empty()) {
    state.SkipWithError("python3 with torch (Debian python3-torch) is not available");
    return;
  }
  const int threads = torch::get_num_threads();
  const auto r = reconlab::run_process({py, std::string(RECONLAB_SOURCE_DIR) + "/benchmarks/peers/torch_unet.py",
                                        std::to_string(size), std::to_string(batch), std::to_string(kChans),
                                        std::to_string(kPools), std::to_string(threads), std::to_string(kRepeats)});
  long long their_params = 0;
  double their_train = 0, their_infer = 0;
  const auto at = [&](const char* key) { return r.output.find(key); };
  if (r.exit_status != 0 || at("params") == std::string::npos ||
      std::sscanf(r.output.c_str() + at("params"), "params %lld", &their_params) != 1 ||
      std::sscanf(r.output.c_str() + at("train_step_seconds"), "train_step_seconds %lf", &their_train) != 1 ||
      std::sscanf(r.output.c_str() + at("inference_seconds"), "inference_seconds %lf", &their_infer) != 1) {
    state.SkipWithError(("torch_unet.py failed: " + r.output).c_str());
    return;
  }
  torch::manual_seed(0);
  Unet net(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = kChans, .num_pool_layers = kPools});
  long long ours_params = 0;
  for (const auto& p : net->parameters()) ours_params += p.numel();
  if (ours_params != their_params) {
    state.SkipWithError(("the architectures differ: " + std::to_string(ours_params) + " parameters here, " +
                         std::to_string(their_params) + " in torch_unet.py").c_str());
    return;
  }
  auto x = torch::rand({batch, 1, size, size});
  auto target = torch::rand({batch, 1, size, size});
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  double train = 0, infer = 0;
  for (auto _ : state) {
    net->train();
    train = median_seconds([&] {
      opt.zero_grad();
      auto loss = torch::l1_loss(net->forward(x), target);
      loss.backward();
      opt.step();
      const float v = loss.item<float>();
      benchmark::DoNotOptimize(v);
    }, kRepeats);
    net->eval();
    infer = median_seconds([&] {
      torch::NoGradGuard g;
      auto y = net->forward(x);
      benchmark::DoNotOptimize(y.data_ptr());
    }, kRepeats);
  }
  state.counters["ours_train_ms"] = 1e3 * train;
  state.counters["torch_train_ms"] = 1e3 * their_train;
  state.counters["train_ratio"] = train / their_train;
  state.counters["ours_infer_ms"] = 1e3 * infer;
  state.counters["torch_infer_ms"] = 1e3 * their_infer;
  state.counters["infer_ratio"] = infer / their_infer;
  state.counters["threads"] = threads;
}
BENCHMARK(BM_UnetVsPytorch)->Args({128, 8})->Args({256, 8})->Iterations(1)->Unit(benchmark::kMillisecond);

#define RECONLAB_NET_BENCH(Net)                                                                                  \
  BENCHMARK_TEMPLATE(BM_TrainStep, Net)->ArgsProduct({{128, 256}, {1, 8}})->Unit(benchmark::kMillisecond);      \
  BENCHMARK_TEMPLATE(BM_Inference, Net)->ArgsProduct({{128, 256}, {1, 8}})->Unit(benchmark::kMillisecond);

RECONLAB_NET_BENCH(KspaceUnet)
RECONLAB_NET_BENCH(Cascade)
RECONLAB_NET_BENCH(Dncn)
RECONLAB_NET_BENCH(Modl)

}  // namespace

BENCHMARK_MAIN();
