#pragma once
// Seeded random test inputs shared by the test suites (and benchmarks).
#include <cmath>

#include "reconlab/array.hpp"
#include "reconlab/random.hpp"

namespace reconlab::test_support {

/// Complex array of dims d with independent N(0, 1) real and imaginary parts (reconlab::Random seeded with `seed`:
/// the same values with every standard library).
inline CArray random_array(const Dims& d, unsigned seed) {
  Random rng(seed);
  CArray a(d[0], d[1], d[2], d[3], d[4]);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.complex_normal();
  return a;
}

/// 2D mask (nx, ny, 1, 1, 1) with each sample set to 1 with probability `p`.
inline RArray random_mask(Index nx, Index ny, unsigned seed, double p) {
  Random rng(seed);
  RArray m(nx, ny, 1, 1, 1);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.bernoulli(p) ? 1.f : 0.f;
  return m;
}

/// Relative L2 difference ||a - b|| / ||b||.
inline double rel_diff(const CArray& a, const CArray& b) {
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) {
    e += std::norm(a.data()[i] - b.data()[i]);
    n += std::norm(b.data()[i]);
  }
  return std::sqrt(e / std::max(n, 1e-30));
}

}  // namespace reconlab::test_support
