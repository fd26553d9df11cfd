// Benchmarks of the cine networks (cine_nets.hpp) on the CPU with one torch thread:
//   inference per cine: a 30-frame 184 x 256 cine (the ACDC cine's size), no-grad reconstruct_frames, batch 1;
//   one training step per batch: forward, L2 loss on the (Re, Im) channels, backward, Adam step, on batches of 2
//   crops of 64 x 64 x 30 frames (the size the cine study trains on).
// Widths: "quick" (CRNN nc 5, nf 16; dual U-Net features 16, 3 pools, ResNet 16; residual 3D U-Net 8 channels,
// 3 pools; DnCn-3D-DS 5 cascades of 5 convolutions with 16 features, frame distances 0..5) and "published" (CRNN
// nc 5, nf 64, ks 3 as Qin et al.; dual U-Net features 64, 4 pools, ResNet 32 as seed 001; residual 3D U-Net 32
// channels, 3 pools; DnCn-3D-DS D5C10 with 64 features). Published widths are timed once (Iterations(1): tens of
// seconds on one core), quick ones three times. Inputs: per-frame masks with 11 centre lines and every 5th line from a frame-dependent offset,
// random complex k-space (timings do not depend on values). Arg: 0 = quick, 1 = published.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "reconlab/networks/cine_nets.hpp"

using namespace reconlab::networks;

namespace {

struct Input {
  torch::Tensor kspace, mask, target;
};

Input cine_input(int64_t n, int64_t T, int64_t H, int64_t W) {
  torch::manual_seed(1);
  auto mask = torch::zeros({1, T, 1, H, W});
  for (int64_t f = 0; f < T; ++f)
    for (int64_t y = 0; y < H; ++y)
      if (std::abs(y - H / 2) <= 5 || (y + f) % 5 == 0) mask.select(1, f).select(2, y).fill_(1);
  auto k = torch::randn({n, T, 1, H, W}, torch::kComplexFloat) * mask;
  return {k, mask, torch::randn({n, 2, T, H, W})};
}

CrnnMri make_crnn(bool published) {
  return CrnnMri(CrnnOptions{.iterations = 5, .features = published ? 64 : 16, .kernel_size = 3});
}
DualUnet3d make_dual(bool published, int64_t T) {
  return DualUnet3d(DualUnetOptions{.frames = T, .features = published ? 64 : 16,
                                    .num_pool_layers = published ? 4 : 3, .resnet_features = published ? 32 : 16,
                                    .dc = true});
}
Dncn3d make_dncn3d(bool published) {
  return Dncn3d(Dncn3dOptions{.cascades = published ? 10 : 5, .conv_layers = 5, .features = published ? 64 : 16,
                              .frame_distances = {0, 1, 2, 3, 4, 5}});
}
CineUnet3d make_unet3d(bool published) {
  return CineUnet3d(CineUnet3dOptions{.base_channels = published ? 32 : 8, .num_pool_layers = 3, .final_dc = true});
}

template <class Net>
void inference(benchmark::State& state, Net net) {
  torch::set_num_threads(1);
  net->eval();
  const auto in = cine_input(1, 30, 184, 256);
  torch::NoGradGuard g;
  for (auto _ : state) {
    auto x = net->reconstruct_frames(in.kspace, in.mask);
    benchmark::DoNotOptimize(x.data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Net>
void train_step(benchmark::State& state, Net net) {
  torch::set_num_threads(1);
  net->train();
  const auto in = cine_input(2, 30, 64, 64);
  Batch b;
  b.kspace = in.kspace;
  b.sampling = in.mask;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-4).weight_decay(1e-4));
  for (auto _ : state) {
    opt.zero_grad();
    auto loss = torch::mse_loss(net->forward(b), in.target);
    loss.backward();
    opt.step();
    const float v = loss.template item<float>();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

void BM_CrnnInference(benchmark::State& s) { torch::manual_seed(0); inference(s, make_crnn(s.range(0) == 1)); }
void BM_DualUnetInference(benchmark::State& s) {
  torch::manual_seed(0);
  inference(s, make_dual(s.range(0) == 1, 30));
}
void BM_ResidualUnet3dInference(benchmark::State& s) {
  torch::manual_seed(0);
  inference(s, make_unet3d(s.range(0) == 1));
}
void BM_Dncn3dInference(benchmark::State& s) { torch::manual_seed(0); inference(s, make_dncn3d(s.range(0) == 1)); }
void BM_Dncn3dTrainStep(benchmark::State& s) { torch::manual_seed(0); train_step(s, make_dncn3d(s.range(0) == 1)); }
void BM_CrnnTrainStep(benchmark::State& s) { torch::manual_seed(0); train_step(s, make_crnn(s.range(0) == 1)); }
void BM_DualUnetTrainStep(benchmark::State& s) {
  torch::manual_seed(0);
  train_step(s, make_dual(s.range(0) == 1, 30));
}
void BM_ResidualUnet3dTrainStep(benchmark::State& s) {
  torch::manual_seed(0);
  train_step(s, make_unet3d(s.range(0) == 1));
}

}  // namespace

BENCHMARK(BM_CrnnInference)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_CrnnInference)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_DualUnetInference)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DualUnetInference)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ResidualUnet3dInference)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Dncn3dInference)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Dncn3dTrainStep)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_CrnnTrainStep)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DualUnetTrainStep)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ResidualUnet3dTrainStep)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_CrnnTrainStep)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_DualUnetTrainStep)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
