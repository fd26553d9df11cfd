#include <gtest/gtest.h>

#include <random>

#include "../common/random_data.hpp"
#include "../common/operator_battery.hpp"
#include "reconlab/networks/torch_backend.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/sense.hpp"

using namespace reconlab;
using namespace reconlab::test_support;
using reconlab::networks::Torch;
using reconlab::test_support::run_operator_battery;

namespace {




}  // namespace

TEST(TorchBackend, EigenRoundTripKeepsLayout) {
  CArray a = random_array(make_dims(7, 5, 3, 2, 1), 1);
  auto t = Torch::from_eigen(a);
  EXPECT_EQ(t.size(0), 1);
  EXPECT_EQ(t.size(3), 5);
  EXPECT_EQ(t.size(4), 7);
  auto v = t.index({0, 1, 2, 4, 6}).item<c10::complex<float>>();
  EXPECT_EQ(cfloat(v.real(), v.imag()), a(6, 4, 2, 1, 0));
  EXPECT_EQ(rel_diff(Torch::to_eigen(t), a), 0.0);
}

TEST(TorchBackend, OperatorsAgreeWithEigenBackend) {
  for (auto [nx, ny] : {std::pair<Index, Index>{32, 24}, {33, 21}}) {
    CArray x = random_array(make_dims(nx, ny, 2, 1, 2), 2);
    RArray m = random_mask(nx, ny, 3, 0.35);
    CartesianSampling<EigenFftw> Ae(m);
    CartesianSampling<Torch> At(Torch::from_eigen(m));
    EXPECT_LT(rel_diff(Torch::to_eigen(At.apply(Torch::from_eigen(x))), Ae.apply(x)), 1e-5);
    EXPECT_LT(rel_diff(Torch::to_eigen(At.adjoint(Torch::from_eigen(x))), Ae.adjoint(x)), 1e-5);
    Fft2c<EigenFftw> Fe;
    Fft2c<Torch> Ft;
    EXPECT_LT(rel_diff(Torch::to_eigen(Ft.apply(Torch::from_eigen(x))), Fe.apply(x)), 1e-5);
    FiniteDifference<EigenFftw> Ge;
    FiniteDifference<Torch> Gt;
    const auto g = Ge.apply(x);
    const auto gt = Gt.apply(Torch::from_eigen(x));
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_LT(rel_diff(Torch::to_eigen(gt[i]), g[i]), 1e-5);
    EXPECT_LT(rel_diff(Torch::to_eigen(Gt.adjoint({Torch::from_eigen(g[0]), Torch::from_eigen(g[1])})),
                       Ge.adjoint(g)),
              1e-5);
  }
}

// The v2 primitives (frame-axis differences and FFT, centred crop/pad, blend, broadcast masks per frame, per-sample
// dots) agree between the backends, and bad broadcasts are refused on both.
TEST(TorchBackend, FrameAxisResizeBlendAndBroadcastAgreeWithEigen) {
  const CArray x = random_array(make_dims(9, 8, 2, 5, 3), 7);
  const auto xt = Torch::from_eigen(x);
  for (int axis : {0, 1, 3}) {
    EXPECT_LT(rel_diff(Torch::to_eigen(Torch::forward_diff(xt, axis)), EigenFftw::forward_diff(x, axis)), 1e-6);
    EXPECT_LT(rel_diff(Torch::to_eigen(Torch::forward_diff_adjoint(xt, axis)), EigenFftw::forward_diff_adjoint(x, axis)),
              1e-6);
  }
  EXPECT_THROW(Torch::forward_diff(xt, 5), Error);
  EXPECT_LT(rel_diff(Torch::to_eigen(Torch::fftc_axis(xt, 3)), EigenFftw::fftc_axis(x, 3)), 1e-5);
  EXPECT_LT(rel_diff(Torch::to_eigen(Torch::ifftc_axis(xt, 3)), EigenFftw::ifftc_axis(x, 3)), 1e-5);
  for (auto [nx, ny] : {std::pair<Index, Index>{12, 11}, {5, 4}, {9, 8}})
    EXPECT_EQ(rel_diff(Torch::to_eigen(Torch::resize_xy(xt, nx, ny)), EigenFftw::resize_xy(x, nx, ny)), 0.0)
        << nx << " x " << ny;
  RArray m(9, 8, 1, 5, 1);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = float(i % 3) / 2.f;
  const auto mt = Torch::from_eigen(m);
  const CArray b = random_array(make_dims(9, 8, 2, 5, 3), 8);
  EXPECT_LT(rel_diff(Torch::to_eigen(Torch::multiply_mask(mt, xt)), EigenFftw::multiply_mask(m, x)), 1e-6);
  EXPECT_LT(rel_diff(Torch::to_eigen(Torch::blend(mt, xt, Torch::from_eigen(b))), EigenFftw::blend(m, x, b)), 1e-6);
  EXPECT_THROW(Torch::multiply_mask(Torch::from_eigen(RArray(9, 8, 1, 4, 1)), xt), Error);
  const auto dt = Torch::to_host(Torch::dot_batch(xt, Torch::from_eigen(b)));
  const auto de = EigenFftw::dot_batch(x, b);
  ASSERT_EQ(dt.size(), de.size());
  for (std::size_t i = 0; i < de.size(); ++i) EXPECT_LT(std::abs(dt[i] - de[i]), 1e-4 * std::abs(de[i]));
  EXPECT_EQ(Torch::zeros(make_dims(2, 2)).device(), torch::Device(torch::kCPU));
}

TEST(TorchBackend, OperatorBatteryOnTorch) {
  Dims d = make_dims(20, 16, 2, 1, 1);
  auto x = Torch::from_eigen(random_array(d, 1)), x2 = Torch::from_eigen(random_array(d, 2));
  auto y = Torch::from_eigen(random_array(d, 3));
  run_operator_battery<Torch>(Fft2c<Torch>(), x, x2, y, 1e-5, true);
  run_operator_battery<Torch>(CartesianSampling<Torch>(Torch::from_eigen(random_mask(20, 16, 4, 0.35))), x, x2, y, 1e-5,
                              false);
  run_operator_battery<Torch>(FiniteDifference<Torch>(), x, x2,
                              std::vector<torch::Tensor>{Torch::from_eigen(random_array(d, 5)),
                                                         Torch::from_eigen(random_array(d, 6))},
                              1e-5, false);
  Dims t = make_dims(6, 5, 1, 7, 1);
  auto xt = Torch::from_eigen(random_array(t, 1)), xt2 = Torch::from_eigen(random_array(t, 2));
  run_operator_battery<Torch>(TemporalFft<Torch>(), xt, xt2, Torch::from_eigen(random_array(t, 3)), 1e-5, true);
  run_operator_battery<Torch>(ZeroPad<Torch>(6, 5, 9, 8), xt, xt2,
                              Torch::from_eigen(random_array(make_dims(9, 8, 1, 7, 1), 4)), 1e-5, false);
}

// The SENSE primitives and operator agree between the two backends (sense.hpp).

TEST(TorchBackend, SenseOperatorMatchesEigenBackendAndPassesBattery) {
  const CArray maps = random_array(make_dims(20, 14, 4), 31);
  const RArray mask = random_mask(20, 14, 32, 0.35);
  const CArray x = random_array(make_dims(20, 14, 1, 1, 2), 33);
  const CArray k = random_array(make_dims(20, 14, 4, 1, 2), 34);
  SenseOperator<EigenFftw> Ae(mask, maps);
  SenseOperator<Torch> At(Torch::from_eigen(mask), Torch::from_eigen(maps));
  EXPECT_LT(rel_diff(Torch::to_eigen(At.apply(Torch::from_eigen(x))), Ae.apply(x)), 1e-5);
  EXPECT_LT(rel_diff(Torch::to_eigen(At.adjoint(Torch::from_eigen(k))), Ae.adjoint(k)), 1e-5);
  EXPECT_LT(rel_diff(Torch::to_eigen(At.normal(Torch::from_eigen(x))), Ae.normal(x)), 1e-5);
  run_operator_battery<Torch>(At, Torch::from_eigen(x), Torch::from_eigen(random_array(make_dims(20, 14, 1, 1, 2), 35)),
                              Torch::from_eigen(k), 1e-5, false);
}
