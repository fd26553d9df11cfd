// Benchmarks of the data-consistent networks (cascade_nets.hpp): one training step (forward, L1 loss on the
// magnitude, backward, Adam step) per batch, and inference per slice (no-grad forward of a batch, reported per
// slice through items_per_second), at 128^2 and 256^2, batch 1 and 8, on the CPU with all cores.
// Network sizes are those of the phantom study's quick preset (k-space and image U-Nets with 8 channels and 3
// pools; DnCn 3 cascades of 4 convolutions with 16 features; MoDL 3 iterations, 6 CG steps, CNN 4 x 16).
// Inputs: equispaced R = 4 column masks with an 8 % centre, random complex k-space (timings do not depend on
// values). Args: {size, batch}.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <thread>

#include "reconlab/networks/cascade_nets.hpp"

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

#define RECONLAB_NET_BENCH(Net)                                                                                  \
  BENCHMARK_TEMPLATE(BM_TrainStep, Net)->ArgsProduct({{128, 256}, {1, 8}})->Unit(benchmark::kMillisecond);      \
  BENCHMARK_TEMPLATE(BM_Inference, Net)->ArgsProduct({{128, 256}, {1, 8}})->Unit(benchmark::kMillisecond);

RECONLAB_NET_BENCH(KspaceUnet)
RECONLAB_NET_BENCH(Cascade)
RECONLAB_NET_BENCH(Dncn)
RECONLAB_NET_BENCH(Modl)

}  // namespace

BENCHMARK_MAIN();
