// The acquisition model v2: sampling kinds, validation messages, and the one forward-model factory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../common/random_data.hpp"
#include "reconlab/forward_model.hpp"

using namespace reconlab;
using namespace reconlab::test_support;
using ::testing::HasSubstr;

namespace {
std::string error_of(const Acquisition& acq) {
  try {
    validate_acquisition(acq);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
RArray ones(const Dims& d) {
  RArray m(d[0], d[1], d[2], d[3], d[4]);
  m.setConstant(1.f);
  return m;
}
}  // namespace

TEST(Acquisition, MasksBroadcastPerPlaneFrameOrSampleAndBadOnesAreNamed) {
  const CArray k = random_array(make_dims(8, 6, 2, 3), 1);
  EXPECT_EQ(error_of({k, ones(make_dims(8, 6))}), "no error");
  EXPECT_EQ(error_of({k, ones(make_dims(8, 6, 1, 3))}), "no error");   // k-t: one pattern per frame
  EXPECT_EQ(error_of({k, ones(make_dims(8, 6, 2, 3))}), "no error");   // one per coil and frame
  EXPECT_THAT(error_of({k, ones(make_dims(8, 6, 1, 2))}), HasSubstr("do not broadcast"));
  EXPECT_THAT(error_of({k, ones(make_dims(6, 8))}), HasSubstr("8 x 6 x 2 x 3 x 1"));
  RArray w = ones(make_dims(8, 6));
  w(1, 1, 0, 0, 0) = 0.25f;  // sampling weights are allowed ...
  EXPECT_EQ(error_of({k, w}), "no error");
  w(2, 1, 0, 0, 0) = 2.f;  // ... but only in [0, 1]
  EXPECT_THAT(error_of({k, w}), HasSubstr("found 2.0"));
  w(2, 1, 0, 0, 0) = std::nanf("");
  EXPECT_THAT(error_of({k, w}), HasSubstr("mask values"));
  RArray z(8, 6, 1, 1, 1);
  z.setZero();
  EXPECT_THAT(error_of({k, z}), HasSubstr("empty"));
  const CArray k2 = random_array(make_dims(8, 6, 1, 1, 2), 2);
  EXPECT_THAT(error_of({k2, ones(make_dims(8, 6))}), HasSubstr("batch axis 1"));
  EXPECT_THAT(error_of({k, ones(make_dims(8, 6)), random_array(make_dims(8, 6, 3), 3)}),
              HasSubstr("coil counts disagree"));
}

TEST(Acquisition, ImageGridAndTrajectoriesAreCheckedWithClearMessages) {
  Acquisition a{random_array(make_dims(8, 6, 1, 4), 1), ones(make_dims(8, 6, 1, 4))};
  EXPECT_EQ(a.resolved_image_dims(), make_dims(8, 6, 1, 4, 1));
  a.image_dims = make_dims(16, 12, 1, 4);
  EXPECT_THAT(error_of(a), HasSubstr("differ from the k-space grid"));
  // Radial: 32 samples x 5 spokes x 2 coils x 4 frames; coordinates (2, 32, 5, 4, 1).
  Acquisition r;
  r.kspace = random_array(make_dims(32, 5, 2, 4), 2);
  RArray coords(2, 32, 5, 4, 1);
  coords.setConstant(0.5f);
  r.sampling = Trajectory{coords, std::nullopt};
  EXPECT_THAT(error_of(r), HasSubstr("needs image_dims"));
  r.image_dims = make_dims(16, 16, 1, 4);
  EXPECT_EQ(error_of(r), "no error");
  EXPECT_THAT([&] { try { (void)r.mask(); } catch (const Error& e) { return std::string(e.what()); } return std::string(); }(),
              HasSubstr("needs Cartesian sampling"));
  r.sampling = Trajectory{RArray(2, 31, 5, 4, 1), std::nullopt};
  EXPECT_THAT(error_of(r), HasSubstr("trajectory dims"));
  RArray dcf(32, 5, 1, 1, 1);
  dcf.setConstant(-1.f);
  r.sampling = Trajectory{coords, dcf};
  EXPECT_THAT(error_of(r), HasSubstr("negative density"));
  EXPECT_THROW(forward_model<EigenFftw>(Acquisition{r}), Error);
}

// forward_model builds M F without maps and M F S with them; each equals the operator built by hand, and a
// per-frame mask samples each frame with its own plane.
TEST(ForwardModel, BuildsMfOrMfsFromTheAcquisition) {
  const Index nx = 10, ny = 8, nc = 3, nf = 2;
  RArray m(nx, ny, 1, nf, 1);
  const RArray m0 = random_mask(nx, ny, 1, 0.5), m1 = random_mask(nx, ny, 2, 0.5);
  std::copy(m0.data(), m0.data() + nx * ny, m.data());
  std::copy(m1.data(), m1.data() + nx * ny, m.data() + nx * ny);
  const CArray maps = random_array(make_dims(nx, ny, nc), 3);
  const CArray k = random_array(make_dims(nx, ny, nc, nf), 4);
  const CArray x = random_array(make_dims(nx, ny, 1, nf), 5);
  const auto A = forward_model<EigenFftw>(Acquisition{k, m, maps});
  EXPECT_EQ(rel_diff(A.apply(x), SenseOperator<EigenFftw>(m, maps).apply(x)), 0.0);
  EXPECT_EQ(rel_diff(A.normal(x), SenseOperator<EigenFftw>(m, maps).normal(x)), 0.0);
  const auto B = forward_model<EigenFftw>(Acquisition{k, m});
  EXPECT_EQ(rel_diff(B.adjoint(k), CartesianSampling<EigenFftw>(m).adjoint(k)), 0.0);
  // Frame 1 of the result uses mask plane 1: an unsampled location of that frame is 0 in k-space.
  const CArray kx = A.apply(x);
  for (Index i = 0; i < nx * ny; ++i)
    if (m1.data()[i] == 0) ASSERT_EQ(kx.data()[(1 * nc + 2) * nx * ny + i], cfloat(0));
}
