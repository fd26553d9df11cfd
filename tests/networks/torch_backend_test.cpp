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
    CArray g = Ge.apply(x);
    EXPECT_LT(rel_diff(Torch::to_eigen(Gt.apply(Torch::from_eigen(x))), g), 1e-5);
    EXPECT_LT(rel_diff(Torch::to_eigen(Gt.adjoint(Torch::from_eigen(g))), Ge.adjoint(g)), 1e-5);
  }
}

TEST(TorchBackend, OperatorBatteryOnTorch) {
  Dims d = make_dims(20, 16, 2, 1, 1);
  auto x = Torch::from_eigen(random_array(d, 1)), x2 = Torch::from_eigen(random_array(d, 2));
  auto y = Torch::from_eigen(random_array(d, 3));
  run_operator_battery<Torch>(Fft2c<Torch>(), x, x2, y, 1e-5, true);
  run_operator_battery<Torch>(CartesianSampling<Torch>(Torch::from_eigen(random_mask(20, 16, 4, 0.35))), x, x2, y, 1e-5,
                              false);
  Dims g = make_dims(20, 16, 2, 1, 2);
  run_operator_battery<Torch>(FiniteDifference<Torch>(), x, x2, Torch::from_eigen(random_array(g, 5)), 1e-5, false);
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
