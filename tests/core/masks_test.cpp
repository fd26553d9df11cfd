// Tests of include/reconlab/masks.hpp: fastMRI column masks bit for bit against fastMRI's own output
// (/work/shared/reference, made by fastmri/data/subsample.py), properties of every generator, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reconlab/io/npy.hpp"
#include "reconlab/masks.hpp"

using namespace reconlab;

namespace {

std::string reference_dir() { return shared_dir() + "/reference"; }

std::vector<std::uint8_t> columns_of(const SamplingMask& m) {
  std::vector<std::uint8_t> c(m.mask.dimension(0));
  for (Index x = 0; x < m.mask.dimension(0); ++x) c[x] = m.mask(x, 0, 0, 0, 0) != 0.f;
  return c;
}

SamplingMask make_column(const std::string& cls, Index nx, Index ny, double cf, double acc, std::int64_t seed) {
  if (cls == "RandomMaskFunc") return random_column_mask(nx, ny, cf, acc, seed);
  if (cls == "EquiSpacedMaskFunc") return equispaced_column_mask(nx, ny, cf, acc, seed);
  if (cls == "EquispacedMaskFractionFunc") return equispaced_fraction_column_mask(nx, ny, cf, acc, seed);
  throw std::runtime_error("unknown mask class " + cls);
}

bool all_ones_and_zeros(const RArray& m) {
  for (Index i = 0; i < m.size(); ++i)
    if (m.data()[i] != 0.f && m.data()[i] != 1.f) return false;
  return true;
}

}  // namespace

TEST(FastMriMaskTest, MatchesAllReferenceMasksBitForBit) {
  const std::string dir = reference_dir();
  if (!std::filesystem::exists(dir + "/manifest.json")) GTEST_SKIP() << "no reference folder at " << dir;
  std::ifstream f(dir + "/manifest.json");
  const auto manifest = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& e : manifest.at("masks")) {
    const std::string file = e.at("file");
    const std::string cls = e.at("class");
    const Index nx = e.at("shape")[1].get<Index>();
    const double cf = e.at("center_fractions")[0].get<double>();
    const double acc = e.at("accelerations")[0].get<double>();
    const std::int64_t seed = e.at("seed").get<std::int64_t>();
    const RArray ref_mask = io::read_npy_real(dir + "/" + file);
    std::vector<std::uint8_t> ref(ref_mask.data(), ref_mask.data() + ref_mask.size());
    ASSERT_EQ(static_cast<Index>(ref.size()), nx) << file;
    const Index ny = 7;
    const SamplingMask m = make_column(cls, nx, ny, cf, acc, seed);
    EXPECT_EQ(columns_of(m), ref) << file;
    EXPECT_EQ(m.num_sampled(), e.at("sampled").get<Index>() * ny) << file;
    EXPECT_DOUBLE_EQ(m.acceleration(), double(nx) / e.at("sampled").get<double>()) << file;
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

TEST(FastMriMaskTest, SameSeedSameMaskDifferentSeedDifferentMask) {
  for (const std::string cls : {"RandomMaskFunc", "EquiSpacedMaskFunc", "EquispacedMaskFractionFunc"}) {
    const auto a = make_column(cls, 368, 32, 0.08, 4, 7);
    const auto b = make_column(cls, 368, 32, 0.08, 4, 7);
    EXPECT_EQ(columns_of(a), columns_of(b)) << cls;
    EXPECT_EQ(a.description, b.description) << cls;
    // Equispaced masks have only round(R) offsets: look for a seed that changes the mask among a few.
    bool differs = false;
    for (std::int64_t s = 8; s < 20 && !differs; ++s) differs = columns_of(make_column(cls, 368, 32, 0.08, 4, s)) !=
                                                                columns_of(a);
    EXPECT_TRUE(differs) << cls;
  }
  EXPECT_NE(columns_of(random_column_mask(256, 4, 0.08, 4, 0)), columns_of(random_column_mask(256, 4, 0.08, 4, 1)));
}

TEST(FastMriMaskTest, ReportedAccelerationEqualsCount) {
  for (const std::string cls : {"RandomMaskFunc", "EquiSpacedMaskFunc", "EquispacedMaskFractionFunc"})
    for (std::int64_t seed : {0, 3, 123456789}) {
      const auto m = make_column(cls, 320, 24, 0.04, 8, seed);
      Index ones = 0;
      for (Index i = 0; i < m.mask.size(); ++i) ones += m.mask.data()[i] == 1.f;
      EXPECT_EQ(m.num_sampled(), ones);
      EXPECT_DOUBLE_EQ(m.acceleration(), double(m.mask.size()) / double(ones));
      EXPECT_DOUBLE_EQ(acceleration_of(m.mask), m.acceleration());
      EXPECT_FALSE(m.description.empty());
    }
}

TEST(FastMriMaskTest, ColumnMasksAreConstantAlongRowsAndBinary) {
  for (const std::string cls : {"RandomMaskFunc", "EquiSpacedMaskFunc", "EquispacedMaskFractionFunc"}) {
    const auto m = make_column(cls, 200, 37, 0.08, 4, 5);
    ASSERT_EQ(dims_of(m.mask), make_dims(200, 37));
    EXPECT_TRUE(all_ones_and_zeros(m.mask));
    for (Index y = 1; y < 37; ++y)
      for (Index x = 0; x < 200; ++x) ASSERT_EQ(m.mask(x, y, 0, 0, 0), m.mask(x, 0, 0, 0, 0)) << cls;
    EXPECT_NO_THROW(require_valid_mask(m.mask, make_dims(200, 37, 8, 2, 3)));
  }
}

TEST(FastMriMaskTest, CentreBlockPlacedAsFastMri) {
  // num_low = round(n * cf) (half to even), columns [pad, pad + num_low), pad = (n - num_low + 1) // 2.
  struct Case { Index n; double cf; Index num_low, pad; };
  for (const Case c : {Case{256, 0.08, 20, 118}, Case{368, 0.08, 29, 170}, Case{320, 0.04, 13, 154},
                       Case{25, 0.1, 2, 12}, Case{35, 0.1, 4, 16}}) {
    for (const std::string cls : {"RandomMaskFunc", "EquiSpacedMaskFunc"}) {
      const auto cols = columns_of(make_column(cls, c.n, 3, c.cf, 4, 11));
      for (Index x = c.pad; x < c.pad + c.num_low; ++x) EXPECT_EQ(cols[x], 1) << cls << " n=" << c.n << " x=" << x;
    }
  }
  // With acceleration 1e6 the random mask is the centre block alone: exactly [pad, pad + num_low).
  const auto cols = columns_of(random_column_mask(256, 2, 0.08, 1e6, 0));
  for (Index x = 0; x < 256; ++x) EXPECT_EQ(cols[x], x >= 118 && x < 138 ? 1 : 0) << x;
}

TEST(FastMriMaskTest, EquispacedSpacingAndFractionAcceleration) {
  const auto cols = columns_of(equispaced_column_mask(256, 1, 0.08, 4, 0));
  Index first = -1;
  for (Index x = 0; x < 256 && first < 0; ++x)
    if (cols[x]) first = x;
  ASSERT_GE(first, 0);
  ASSERT_LT(first, 4);
  for (Index x = first; x < 256; x += 4) EXPECT_EQ(cols[x], 1);
  // The fraction variant targets nx / R columns in total.
  for (std::int64_t seed : {0, 1, 2, 3}) {
    const auto m = equispaced_fraction_column_mask(368, 1, 0.08, 4, seed);
    EXPECT_NEAR(m.acceleration(), 4.0, 0.2);
  }
}

TEST(FastMriMaskTest, BadArgumentsThrow) {
  EXPECT_THROW(random_column_mask(0, 10, 0.08, 4, 0), Error);
  EXPECT_THROW(random_column_mask(10, 0, 0.08, 4, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, 0.08, 0.5, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, 0.08, NAN, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, 0.0, 4, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, 1.0, 4, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, -0.1, 4, 0), Error);
  EXPECT_THROW(random_column_mask(256, 10, 0.08, 4, -1), Error);
  EXPECT_THROW(random_column_mask(256, 10, 0.08, 4, std::int64_t(1) << 32), Error);
  EXPECT_THROW(equispaced_column_mask(256, 10, 0.08, 4.5, 0), Error);
  EXPECT_THROW(equispaced_fraction_column_mask(256, 10, 0.5, 4, 0), Error);
  // A mask that would be empty: tiny grid, no centre column, no random column.
  EXPECT_THROW(random_column_mask(4, 4, 0.01, 1000, 0), Error);
}

TEST(MaskValidationTest, RequireValidMaskAndAccelerationOf) {
  RArray m(8, 6, 1, 1, 1);
  m.setZero();
  EXPECT_THROW(require_valid_mask(m, make_dims(8, 6)), Error);  // empty
  EXPECT_THROW(acceleration_of(m), Error);
  m(3, 2, 0, 0, 0) = 1.f;
  m(4, 2, 0, 0, 0) = 1.f;
  EXPECT_NO_THROW(require_valid_mask(m, make_dims(8, 6, 4, 2, 1)));
  EXPECT_NO_THROW(require_valid_mask(m, Dims{8, 6, -1, -1, -1}));
  EXPECT_DOUBLE_EQ(acceleration_of(m), 24.0);
  EXPECT_THROW(require_valid_mask(m, make_dims(6, 8)), Error);  // transposed in-plane size
  EXPECT_THROW(require_valid_mask(m, make_dims(8, 7)), Error);
  RArray bad = m;
  bad(0, 0, 0, 0, 0) = 0.5f;
  EXPECT_THROW(require_valid_mask(bad, make_dims(8, 6)), Error);
  bad(0, 0, 0, 0, 0) = NAN;
  EXPECT_THROW(require_valid_mask(bad, make_dims(8, 6)), Error);
  bad(0, 0, 0, 0, 0) = INFINITY;
  EXPECT_THROW(require_valid_mask(bad, make_dims(8, 6)), Error);
  RArray full(8, 6, 2, 1, 1);
  full.setConstant(1.f);
  EXPECT_NO_THROW(require_valid_mask(full, make_dims(8, 6, 2, 1, 1)));
  EXPECT_THROW(require_valid_mask(full, make_dims(8, 6, 3, 1, 1)), Error);
  EXPECT_THROW(require_valid_mask(RArray(0, 6, 1, 1, 1), make_dims(0, 6)), Error);
}

namespace {

// Sampled fraction of the pixels outside the calibration box whose normalised radius lies in [r0, r1).
double density_in_ring(const SamplingMask& m, Index calib, double r0, double r1) {
  const Index nx = m.mask.dimension(0), ny = m.mask.dimension(1);
  Index in = 0, hit = 0;
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const double dx = std::max(std::fabs(x - nx / 2.0) - calib / 2.0, 0.0) / (nx / 2.0 - calib / 2.0);
      const double dy = std::max(std::fabs(y - ny / 2.0) - calib / 2.0, 0.0) / (ny / 2.0 - calib / 2.0);
      const double r = std::sqrt(dx * dx + dy * dy);
      if (r <= 0 || r < r0 || r >= r1) continue;
      ++in;
      hit += m.mask(x, y, 0, 0, 0) != 0.f;
    }
  return in ? double(hit) / double(in) : 0.0;
}

}  // namespace

TEST(PoissonDiscMaskTest, AccelerationWithinTenPercentAndCalibrationFull) {
  for (const double R : {4.0, 8.0}) {
    const Index calib = 24;
    const auto m = poisson_disc_mask(256, 256, R, calib, 0);
    ASSERT_EQ(dims_of(m.mask), make_dims(256, 256));
    EXPECT_TRUE(all_ones_and_zeros(m.mask));
    EXPECT_NEAR(m.acceleration(), R, 0.1 * R) << m.description;
    EXPECT_DOUBLE_EQ(m.acceleration(), acceleration_of(m.mask));
    for (Index y = 128 - calib / 2; y < 128 + calib / 2; ++y)
      for (Index x = 128 - calib / 2; x < 128 + calib / 2; ++x) ASSERT_EQ(m.mask(x, y, 0, 0, 0), 1.f) << x << "," << y;
    EXPECT_NO_THROW(require_valid_mask(m.mask, make_dims(256, 256)));
  }
}

TEST(PoissonDiscMaskTest, DensityFallsWithDistanceFromCentre) {
  const auto m = poisson_disc_mask(256, 256, 6.0, 20, 3);
  const double inner = density_in_ring(m, 20, 0.0, 0.25);
  const double middle = density_in_ring(m, 20, 0.25, 0.5);
  const double outer = density_in_ring(m, 20, 0.5, 0.75);
  EXPECT_GT(inner, middle);
  EXPECT_GT(middle, outer);
  EXPECT_GT(outer, 0.0);
  EXPECT_EQ(density_in_ring(m, 20, 1.0, 10.0), 0.0);  // corners cropped as SigPy
}

TEST(PoissonDiscMaskTest, SeededReproducibilityAndNonSquare) {
  const auto a = poisson_disc_mask(128, 96, 5.0, 16, 42);
  const auto b = poisson_disc_mask(128, 96, 5.0, 16, 42);
  const auto c = poisson_disc_mask(128, 96, 5.0, 16, 43);
  ASSERT_EQ(dims_of(a.mask), make_dims(128, 96));
  bool same = true, differ = false;
  for (Index i = 0; i < a.mask.size(); ++i) {
    same = same && a.mask.data()[i] == b.mask.data()[i];
    differ = differ || a.mask.data()[i] != c.mask.data()[i];
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differ);
  EXPECT_EQ(a.description, b.description);
  EXPECT_NEAR(a.acceleration(), 5.0, 0.5);
}

TEST(PoissonDiscMaskTest, BadArgumentsThrow) {
  EXPECT_THROW(poisson_disc_mask(1, 256, 4, 0, 0), Error);
  EXPECT_THROW(poisson_disc_mask(256, 0, 4, 0, 0), Error);
  EXPECT_THROW(poisson_disc_mask(256, 256, 0.9, 24, 0), Error);
  EXPECT_THROW(poisson_disc_mask(256, 256, NAN, 24, 0), Error);
  EXPECT_THROW(poisson_disc_mask(256, 256, 4, -1, 0), Error);
  EXPECT_THROW(poisson_disc_mask(256, 256, 4, 300, 0), Error);
  EXPECT_THROW(poisson_disc_mask(64, 64, 20, 32, 0), Error);  // calibration block alone exceeds 64*64/20
  EXPECT_THROW(poisson_disc_mask(64, 64, 4, 8, -5), Error);
}
