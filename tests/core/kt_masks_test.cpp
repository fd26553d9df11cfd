// Tests of the k-t line masks (masks.hpp: kt_variable_density_mask, kt_gaussian_mask): the centre block in every
// frame, a new pattern per frame, the achieved acceleration, seeds, bad arguments, and the per-line sampling
// frequency against NumPy's own weighted sampling without replacement (an independent implementation of the law).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "../common/temp_dir.hpp"
#include "reconlab/masks.hpp"

using namespace reconlab;
using reconlab::test_support::TempDir;

namespace {

using MaskFn = std::function<SamplingMask(Index, Index, Index, double, Index, std::int64_t)>;

struct Kind {
  const char* name;
  MaskFn fn;
};

std::vector<Kind> kinds() {
  return {{"kt_variable_density_mask", kt_variable_density_mask}, {"kt_gaussian_mask", kt_gaussian_mask}};
}

/// Column pattern of frame t (row 0), after checking that every row of the frame equals row 0.
std::vector<int> frame_columns(const SamplingMask& m, Index t) {
  const Index nx = m.mask.dimension(0), ny = m.mask.dimension(1);
  std::vector<int> c(nx);
  for (Index x = 0; x < nx; ++x) {
    c[x] = int(m.mask(x, 0, 0, t, 0));
    for (Index y = 1; y < ny; ++y) EXPECT_EQ(m.mask(x, y, 0, t, 0), m.mask(x, 0, 0, t, 0)) << "x " << x << " y " << y;
  }
  return c;
}

bool same_mask(const SamplingMask& a, const SamplingMask& b) {
  if (dims_of(a.mask) != dims_of(b.mask)) return false;
  for (Index i = 0; i < a.mask.size(); ++i)
    if (a.mask.data()[i] != b.mask.data()[i]) return false;
  return true;
}

std::string python_with_numpy() {
  for (std::string py : {"/usr/bin/python3", "python3"})
    if (std::system((py + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

}  // namespace

TEST(KtMasks, ShapeValuesCentreLinesAndNewPatternPerFrame) {
  for (const auto& k : kinds()) {
    for (Index nx : {184, 185, 256}) {
      const Index ny = 7, frames = 12, c = 11;
      const SamplingMask m = k.fn(nx, ny, frames, 5.0, c, 3);
      ASSERT_EQ(dims_of(m.mask), (Dims{nx, ny, 1, frames, 1})) << k.name;
      const Index c0 = nx / 2 - c / 2;  // the centre block holds the DC column nx/2
      int distinct_pairs = 0;
      std::vector<int> prev;
      for (Index t = 0; t < frames; ++t) {
        const auto cols = frame_columns(m, t);
        for (Index x = c0; x < c0 + c; ++x) EXPECT_EQ(cols[x], 1) << k.name << " nx " << nx << " frame " << t;
        EXPECT_EQ(cols[nx / 2], 1);
        if (t > 0) distinct_pairs += cols != prev;
        prev = cols;
      }
      EXPECT_EQ(distinct_pairs, frames - 1) << k.name << ": consecutive frames must differ";
      for (Index i = 0; i < m.mask.size(); ++i) ASSERT_TRUE(m.mask.data()[i] == 0.f || m.mask.data()[i] == 1.f);
    }
  }
}

TEST(KtMasks, AchievedAccelerationWithinFivePercent) {
  for (const auto& k : kinds())
    for (Index nx : {184, 185, 192, 256, 257})
      for (double r : {5.0, 8.0, 12.0}) {
        const SamplingMask m = k.fn(nx, 5, 9, r, r == 12.0 ? 8 : 11, 11);
        // Counted here from the mask values: samples / sampled.
        Index ones = 0;
        for (Index i = 0; i < m.mask.size(); ++i) ones += m.mask.data()[i] == 1.f;
        const double achieved = double(m.mask.size()) / double(ones);
        EXPECT_NEAR(achieved, r, 0.05 * r) << k.name << " nx " << nx << " R " << r;
        EXPECT_DOUBLE_EQ(m.acceleration(), achieved);
        // Every frame samples the same number of lines (exact per-frame budget).
        const auto c0 = frame_columns(m, 0);
        const int lines0 = std::accumulate(c0.begin(), c0.end(), 0);
        for (Index t = 1; t < 9; ++t) {
          const auto ct = frame_columns(m, t);
          EXPECT_EQ(std::accumulate(ct.begin(), ct.end(), 0), lines0);
        }
        EXPECT_THAT(m.description, ::testing::HasSubstr("achieved acceleration"));
      }
}

TEST(KtMasks, LinesPerFrameFollowTheDocumentedRounding) {
  // variable density: round(nx / R) lines; Gaussian: int(nx / R) (Python's int() of the division).
  auto lines = [](const SamplingMask& m) {
    const auto c = frame_columns(m, 0);
    return std::accumulate(c.begin(), c.end(), 0);
  };
  EXPECT_EQ(lines(kt_variable_density_mask(256, 1, 2, 5.0, 11, 0)), 51);   // 51.2
  EXPECT_EQ(lines(kt_variable_density_mask(258, 1, 2, 5.0, 11, 0)), 52);   // 51.6 rounds up
  EXPECT_EQ(lines(kt_gaussian_mask(258, 1, 2, 5.0, 11, 0)), 51);           // int(51.6)
  EXPECT_EQ(lines(kt_gaussian_mask(256, 1, 2, 8.0, 10, 0)), 32);
}

TEST(KtMasks, SeedsReproduceAndDiffer) {
  for (const auto& k : kinds()) {
    const SamplingMask a = k.fn(128, 4, 6, 5.0, 11, 42);
    const SamplingMask b = k.fn(128, 4, 6, 5.0, 11, 42);
    const SamplingMask c = k.fn(128, 4, 6, 5.0, 11, 43);
    EXPECT_TRUE(same_mask(a, b)) << k.name;
    EXPECT_FALSE(same_mask(a, c)) << k.name;
  }
}

TEST(KtMasks, BadArgumentsThrow) {
  for (const auto& k : kinds()) {
    EXPECT_THROW(k.fn(128, 4, 6, 0.5, 11, 0), Error) << k.name;         // R < 1
    EXPECT_THROW(k.fn(128, 4, 6, std::nan(""), 11, 0), Error) << k.name;
    EXPECT_THROW(k.fn(128, 4, 6, 5.0, 129, 0), Error) << k.name;        // centre lines > nx
    EXPECT_THROW(k.fn(128, 4, 6, 5.0, -1, 0), Error) << k.name;
    EXPECT_THROW(k.fn(128, 4, 0, 5.0, 11, 0), Error) << k.name;         // frames < 1
    EXPECT_THROW(k.fn(0, 4, 6, 5.0, 0, 0), Error) << k.name;
    EXPECT_THROW(k.fn(128, 4, 6, 5.0, 11, -3), Error) << k.name;        // negative seed
    EXPECT_THROW(k.fn(128, 4, 6, 16.0, 11, 0), Error) << k.name;        // 11 centre lines > 8 lines of R 16
    try {
      k.fn(128, 4, 0, 5.0, 11, 0);
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("frames"));
    }
  }
}

// The drawing law: per-line sampling frequency over many frames against NumPy's
// numpy.random.default_rng(0).choice(N, n, replace=False, p=pdf), with pdf computed in Python from the formulas
// (Gaussian: exp(-(k - N/2)^2 / (2 (N/10)^2)) + 1/(2R), centre zeroed; variable density: (1 - |k - N/2| /
// (N/2 + 1))^2, centre zeroed). Both are Monte Carlo estimates of the same inclusion probabilities; each line's
// difference must be within 5 standard errors of the difference of two binomial frequencies.
TEST(KtMasks, PerLineFrequencyMatchesNumpyWeightedSamplingWithoutReplacement) {
  const std::string py = python_with_numpy();
  if (py.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  TempDir dir("kt_masks");
  const Index nx = 97, frames = 6000, c = 11;
  const double r = 5.0;
  for (const std::string kind : {"gaussian", "vd"}) {
    const std::string out = dir / (kind + ".txt");
    const Index n_lines = kind == "gaussian" ? Index(std::floor(nx / r)) - c : Index(std::llround(nx / r)) - c;
    std::ostringstream script;
    script << "import numpy as np\n"
           << "N, C, R, T, n = " << nx << ", " << c << ", " << r << ", " << frames << ", " << n_lines << "\n"
           << "k = np.arange(N) - N / 2\n"
           << (kind == "gaussian" ? "p = np.exp(-k**2 / (2 * (N / 10)**2)) + 1 / (2 * R)\n"
                                  : "p = (1 - np.abs(k) / (N / 2 + 1))**2\n")
           << "p[N // 2 - C // 2 : N // 2 - C // 2 + C] = 0\n"
           << "p = p / p.sum()\n"
           << "g = np.random.default_rng(0)\n"
           << "f = np.zeros(N)\n"
           << "for t in range(T): f[g.choice(N, n, replace=False, p=p)] += 1\n"
           << "np.savetxt('" << out << "', f / T)\n";
    const std::string script_path = dir / (kind + ".py");
    std::ofstream(script_path) << script.str();
    ASSERT_EQ(std::system((py + " " + script_path).c_str()), 0);
    std::ifstream in(out);
    std::vector<double> f_np;
    for (double v; in >> v;) f_np.push_back(v);
    ASSERT_EQ(Index(f_np.size()), nx);

    const SamplingMask m = kind == "gaussian" ? kt_gaussian_mask(nx, 1, frames, r, c, 7)
                                              : kt_variable_density_mask(nx, 1, frames, r, c, 7);
    double max_z = 0;
    for (Index x = 0; x < nx; ++x) {
      double f = 0;
      for (Index t = 0; t < frames; ++t) f += m.mask(x, 0, 0, t, 0);
      f /= double(frames);
      const Index c0 = nx / 2 - c / 2;
      if (x >= c0 && x < c0 + c) {
        EXPECT_EQ(f, 1.0);
        continue;
      }
      const double pbar = 0.5 * (f + f_np[x]);
      const double se = std::sqrt(std::max(2.0 * pbar * (1.0 - pbar) / double(frames), 1e-8));
      max_z = std::max(max_z, std::fabs(f - f_np[x]) / se);
      EXPECT_LT(std::fabs(f - f_np[x]), 5.0 * se + 1e-3) << kind << " line " << x << ": ours " << f << ", numpy "
                                                         << f_np[x];
    }
    // The density falls from the centre: the lines next to the centre block are sampled more often than the edges.
    double near = 0, edge = 0;
    for (Index t = 0; t < frames; ++t) {
      near += m.mask(nx / 2 - c / 2 - 1, 0, 0, t, 0);
      edge += m.mask(0, 0, 0, t, 0);
    }
    EXPECT_GT(near, 2.0 * edge) << kind;
    RecordProperty(kind + "_max_z", std::to_string(max_z));
  }
}
