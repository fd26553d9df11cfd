#pragma once
/// @file random.hpp
/// Seeded random numbers whose values depend on nothing but the seed: the same on every standard library, compiler
/// and platform. The engine is std::mt19937_64, whose raw output the C++ standard fixes ([rand.predef]: the
/// 10000th output of a default-constructed engine is 9981545732273789042). The distributions of <random>
/// (std::normal_distribution, std::uniform_real_distribution, std::uniform_int_distribution, ...) are not fixed by
/// the standard and differ between libstdc++ and libc++, so reconlab never uses them for anything that feeds a
/// result; it uses the algorithms below, each written out here. Each call consumes raw outputs in a documented
/// order, and functions that return two numbers (complex_normal) draw the real part first.
///
/// Floating point: uniform draws use only exact operations. normal() uses std::log and std::sqrt; sqrt is
/// correctly rounded by IEEE 754, log is the platform's libm (glibc's is accurate to < 1 ulp; another libm may
/// differ in the last bit of a rare draw).
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>

#include "reconlab/error.hpp"

namespace reconlab {

/// A seeded random generator: std::mt19937_64 and portable distributions on top of it. Not thread-safe; give
/// each thread (or each independent stream) its own generator with its own seed.
class Random {
 public:
  /// The engine std::mt19937_64 seeded with `seed` (its standard seeding; std::mt19937_64(seed)).
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  /// The next raw 64-bit output of the engine (one output consumed).
  std::uint64_t next_u64() { return engine_(); }

  /// Uniform on [0, 1): the top 53 bits of one raw output times 2^-53, so every multiple of 2^-53 in [0, 1) is
  /// equally likely. Exact (no rounding). One raw output.
  double uniform_double() { return double(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform on [lo, hi): lo + (hi - lo) * uniform_double(). One raw output. Throws Error unless lo <= hi and
  /// both are finite.
  double uniform_double(double lo, double hi) {
    require(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "Random::uniform_double: need finite lo <= hi");
    return lo + (hi - lo) * uniform_double();
  }

  /// Uniform integer in [lo, hi] (both included), without modulo bias: with span = hi - lo and mask = the
  /// smallest 2^k - 1 >= span, raw outputs are masked (low k bits) until one is <= span; returns lo + that.
  /// Fewer than 2 raw outputs on average; none is drawn when lo == hi. Throws Error when lo > hi.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    require(lo <= hi, "Random::uniform_int: need lo <= hi, got " + std::to_string(lo) + " > " + std::to_string(hi));
    const std::uint64_t span = std::uint64_t(hi) - std::uint64_t(lo);
    if (span == 0) return lo;
    std::uint64_t mask = span;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    std::uint64_t v;
    do v = engine_() & mask;
    while (v > span);
    return std::int64_t(std::uint64_t(lo) + v);
  }

  /// True with probability p (uniform_double() < p). One raw output. Throws Error unless 0 <= p <= 1.
  bool bernoulli(double p) {
    require(p >= 0.0 && p <= 1.0, "Random::bernoulli: p must be in [0, 1]");
    return uniform_double() < p;
  }

  /// Standard normal N(0, 1) by Marsaglia's polar method (G. Marsaglia and T. A. Bray, SIAM Review 6:260, 1964):
  /// draw u = 2 uniform_double() - 1, then v likewise, until 0 < s = u^2 + v^2 < 1; the pair is
  /// u f and v f with f = sqrt(-2 log(s) / s). The first call returns u f and keeps v f, which the next call
  /// returns without drawing; so normals come in pairs and the sequence depends only on the seed.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform_double() - 1.0;
      v = 2.0 * uniform_double() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  /// N(mean, stddev^2): mean + stddev * normal(). Throws Error unless stddev >= 0.
  double normal(double mean, double stddev) {
    require(stddev >= 0.0, "Random::normal: stddev must be >= 0");
    return mean + stddev * normal();
  }

  /// Complex normal with independent N(0, stddev^2) real and imaginary parts (so E|z|^2 = 2 stddev^2), as
  /// std::complex<float>: the real part is drawn first (normal()), then the imaginary part.
  std::complex<float> complex_normal(double stddev = 1.0) {
    const double re = normal(0.0, stddev);
    const double im = normal(0.0, stddev);
    return {float(re), float(im)};
  }

  /// The engine itself, for code that needs raw outputs only (e.g. a shuffle written out by hand).
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace reconlab
