// Tests of the random ellipse phantoms: the modified Shepp-Logan values, seeding, range and disjoint splits.
#include <gtest/gtest.h>

#include "reconlab/phantoms.hpp"

using namespace reconlab;

TEST(Phantoms, ModifiedSheppLoganHasTheTextbookIntensities) {
  const RArray p = render_ellipses(modified_shepp_logan(), 128);
  // Centre pixel: skull 1.0 + brain -0.8 = 0.2; a pixel inside the skull rim only: 1.0; outside: 0.
  EXPECT_NEAR(p(64, 64, 0, 0, 0), 0.2f, 1e-6);
  EXPECT_NEAR(p(64, 6, 0, 0, 0), 1.0f, 1e-6);  // y = 1 - 13/128 = 0.898: inside 0.92, outside 0.874 - 0.0184
  EXPECT_EQ(p(0, 0, 0, 0, 0), 0.0f);
  // The right ventricle (-0.2 at x = 0.22): 0.2 - 0.2 = 0.
  EXPECT_NEAR(p(78, 64, 0, 0, 0), 0.0f, 1e-6);
}

TEST(Phantoms, RandomPhantomsAreSeededAndInRange) {
  const RArray a = random_phantom(5), b = random_phantom(5), c = random_phantom(6);
  ASSERT_EQ(a.dimension(0), 128);
  ASSERT_EQ(a.dimension(1), 128);
  double diff_same = 0, diff_other = 0;
  for (Index i = 0; i < a.size(); ++i) {
    EXPECT_GE(a.data()[i], 0.0f);
    EXPECT_LE(a.data()[i], 1.0f);
    diff_same += std::abs(a.data()[i] - b.data()[i]);
    diff_other += std::abs(a.data()[i] - c.data()[i]);
  }
  EXPECT_EQ(diff_same, 0.0);
  EXPECT_GT(diff_other, 10.0);
}

TEST(Phantoms, SplitsDoNotShareImages) {
  const RArray tr = split_phantom(PhantomSplit::train, 0, 1), va = split_phantom(PhantomSplit::validation, 0, 1),
               te = split_phantom(PhantomSplit::test, 0, 1);
  double d1 = 0, d2 = 0;
  for (Index i = 0; i < tr.size(); ++i) {
    d1 += std::abs(tr.data()[i] - va.data()[i]);
    d2 += std::abs(tr.data()[i] - te.data()[i]);
  }
  EXPECT_GT(d1, 10.0);
  EXPECT_GT(d2, 10.0);
  EXPECT_EQ(PhantomCounts{}.test, 20);
  EXPECT_THROW(split_phantom(PhantomSplit::test, -1, 1), Error);
}
