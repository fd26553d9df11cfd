// k-t operators of dynamic MRI on the operator battery: the temporal finite difference, the temporal FFT, per-frame
// Cartesian sampling (a different mask in every frame) and per-frame SENSE (forward_model with maps and frames).
// The dense checks build each operator's matrix from apply() alone and compare adjoint and normal with its
// conjugate transpose and A^H A (an independent reference).
#include <gtest/gtest.h>

#include "../common/operator_battery.hpp"
#include "../common/random_data.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {
// One random line (column x) pattern per frame: `centre` columns around nx/2 in every frame plus each other column
// with probability p, drawn from reconlab::Random(seed).
RArray kt_line_mask(Index nx, Index ny, Index frames, Index centre, double p, std::uint64_t seed) {
  Random rng(seed);
  RArray m(nx, ny, 1, frames, 1);
  for (Index f = 0; f < frames; ++f)
    for (Index x = 0; x < nx; ++x) {
      const bool c = x >= nx / 2 - centre / 2 && x < nx / 2 - centre / 2 + centre;
      const float v = (c || rng.bernoulli(p)) ? 1.f : 0.f;
      for (Index y = 0; y < ny; ++y) m(x, y, 0, f, 0) = v;
    }
  return m;
}
}  // namespace

// D_t alone (FiniteDifference over the frame axis only), odd and even frame counts, single- and multi-coil.
TEST(KtOperators, TemporalFiniteDifferencePassesBatteryAndDenseChecks) {
  FiniteDifference<EigenFftw> Dt({3});
  for (Dims d : {make_dims(6, 5, 1, 7), make_dims(4, 3, 2, 6)}) {
    run_operator_battery<EigenFftw>(Dt, random_array(d, 1), random_array(d, 2),
                                    std::vector<CArray>{random_array(d, 3)}, 1e-5, false);
    run_dense_checks(Dt, random_array(d, 4), 1e-5);
  }
  // The frame differences of a constant-in-time sequence vanish; ||D_t||^2 <= 4.
  CArray still(4, 3, 1, 5, 1);
  for (Index f = 0; f < 5; ++f)
    for (Index i = 0; i < 12; ++i) still.data()[f * 12 + i] = cfloat(float(i), -1.f);
  EXPECT_EQ(EigenFftw::norm(Dt.apply(still)[0]), 0.0);
  EXPECT_LE(Dt.norm_squared_bound(), 4.0);
}

// F_t (centred unitary DFT along frames): unitary, adjoint and normal entry by entry, odd frame count; composed
// with per-frame sampling (x-f to k-t, the operator of k-t FOCUSS-type methods).
TEST(KtOperators, TemporalFftPassesBatteryAndComposesWithPerFrameSampling) {
  TemporalFft<EigenFftw> Ft;
  const Dims d = make_dims(4, 3, 1, 5);
  run_operator_battery<EigenFftw>(Ft, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, true);
  run_dense_checks(Ft, random_array(d, 4), 1e-5);
  const RArray m = kt_line_mask(4, 3, 5, 1, 0.4, 9);
  auto A = CartesianSampling<EigenFftw>(m) * Ft;
  run_operator_battery<EigenFftw>(A, random_array(d, 5), random_array(d, 6), random_array(d, 7), 1e-5, false);
  run_dense_checks(A, random_array(d, 8), 1e-5);
}

// Per-frame Cartesian sampling with a different line pattern in every frame: each frame is the single-frame
// operator with its own plane, and the dense checks hold (single- and multi-coil domains).
TEST(KtOperators, PerFrameCartesianSamplingPassesDenseChecks) {
  const Index nx = 6, ny = 4, nf = 5;
  const RArray m = kt_line_mask(nx, ny, nf, 2, 0.3, 3);
  // The patterns differ between frames (otherwise this would test one plane).
  bool differ = false;
  for (Index f = 1; f < nf; ++f)
    for (Index x = 0; x < nx; ++x) differ |= m(x, 0, 0, f, 0) != m(x, 0, 0, 0, 0);
  ASSERT_TRUE(differ);
  CartesianSampling<EigenFftw> A(m);
  for (Index nc : {1, 2}) {
    const Dims d = make_dims(nx, ny, nc, nf);
    run_operator_battery<EigenFftw>(A, random_array(d, 1), random_array(d, 2), random_array(d, 3), 1e-5, false);
    run_dense_checks(A, random_array(d, 4), 1e-5);
  }
  // Frame f of A x equals M_f F x_f, with M_f that frame's mask plane.
  const CArray x = random_array(make_dims(nx, ny, 1, nf), 5);
  const CArray k = A.apply(x);
  const CArray fx = EigenFftw::fft2c(x);
  for (Index f = 0; f < nf; ++f)
    for (Index i = 0; i < nx * ny; ++i)
      ASSERT_EQ(k.data()[f * nx * ny + i], fx.data()[f * nx * ny + i] * m.data()[f * nx * ny + i]);
}

// Per-frame SENSE as every Reconstructor builds it: forward_model<EigenFftw>(acq) with maps, frames > 1 and a
// mask per frame (A = M_f F S per frame).
TEST(KtOperators, PerFrameSenseFromForwardModelPassesDenseChecks) {
  const Index nx = 5, ny = 4, nc = 3, nf = 4;
  Acquisition acq;
  acq.kspace = random_array(make_dims(nx, ny, nc, nf), 1);
  acq.sampling = kt_line_mask(nx, ny, nf, 1, 0.4, 7);
  acq.sensitivities = random_array(make_dims(nx, ny, nc), 2);
  const auto A = forward_model<EigenFftw>(acq);
  const Dims d = make_dims(nx, ny, 1, nf);
  run_operator_battery<EigenFftw>(A, random_array(d, 3), random_array(d, 4), random_array(make_dims(nx, ny, nc, nf), 5),
                                  1e-5, false);
  run_dense_checks(A, random_array(d, 6), 1e-5);
}
