#pragma once
/// @file phantoms.hpp
/// Random Shepp-Logan-style ellipse phantoms (Shepp and Logan, "The Fourier reconstruction of a head section",
/// IEEE TNS 21(3), 1974; the modified intensities of Toft, "The Radon transform", PhD thesis, DTU 1996), seeded,
/// with fixed train / validation / test splits for the phantom studies.
///
/// Image: n x n (default 128), dims (n, n, 1, 1, 1), real, x across columns, row 0 at the top; field of view
/// [-1, 1]^2. Intensity: the sum of the ellipses' additive intensities, clipped to [0, 1] (background 0, skull
/// about 1, brain about 0.2, lesions in 0.1 .. 0.6).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/random.hpp"

namespace reconlab {

/// One ellipse: additive intensity, semi-axes a (along x) and b (along y) and centre (x0, y0) in units of the
/// half field of view, rotation theta in degrees (counter-clockwise).
struct Ellipse {
  double intensity, a, b, x0, y0, theta_deg;
};

/// The 10 ellipses of the modified Shepp-Logan phantom (Toft 1996; skimage.data.shepp_logan_phantom's values).
inline std::vector<Ellipse> modified_shepp_logan() {
  return {{1.0, .69, .92, 0, 0, 0},          {-.8, .6624, .874, 0, -.0184, 0}, {-.2, .11, .31, .22, 0, -18},
          {-.2, .16, .41, -.22, 0, 18},      {.1, .21, .25, 0, .35, 0},        {.1, .046, .046, 0, .1, 0},
          {.1, .046, .046, 0, -.1, 0},       {.1, .046, .023, -.08, -.605, 0}, {.1, .023, .023, 0, -.606, 0},
          {.1, .023, .046, .06, -.605, 0}};
}

/// Renders ellipses on an n x n grid (pixel centres at -1 + (2 i + 1) / n; y grows upwards, so row 0 is y near
/// +1), summing intensities and clipping to [0, 1]. Throws Error if n < 1.
inline RArray render_ellipses(const std::vector<Ellipse>& ellipses, Index n) {
  require(n >= 1, "render_ellipses: size must be >= 1");
  RArray img(n, n, 1, 1, 1);
  img.setZero();
  for (const auto& e : ellipses) {
    const double th = e.theta_deg * 3.14159265358979323846 / 180.0, c = std::cos(th), s = std::sin(th);
    for (Index row = 0; row < n; ++row)
      for (Index col = 0; col < n; ++col) {
        const double x = -1.0 + (2.0 * col + 1.0) / n - e.x0, y = 1.0 - (2.0 * row + 1.0) / n - e.y0;
        const double u = x * c + y * s, v = -x * s + y * c;
        if (u * u / (e.a * e.a) + v * v / (e.b * e.b) <= 1.0) img(col, row, 0, 0, 0) += float(e.intensity);
      }
  }
  for (Index i = 0; i < img.size(); ++i) img.data()[i] = std::clamp(img.data()[i], 0.0f, 1.0f);
  return img;
}

/// One random Shepp-Logan-style phantom, a function of `seed` alone (reconlab::Random: std::mt19937_64, whose
/// output the standard fixes, with portable distributions, so results do not depend on the standard library):
///   - skull and brain ellipses of the modified Shepp-Logan phantom, scaled by a common factor in [0.8, 1.0],
///     per-axis factors in [0.9, 1.1], rotated by [-15, 15] degrees, shifted by up to 0.05;
///   - 4 .. 10 interior ellipses with centres within 0.45 of the origin, semi-axes in [0.03, 0.25], any rotation,
///     intensity +-[0.1, 0.4] (random sign), added to the brain (lesions, ventricles).
/// Output dims (n, n, 1, 1, 1), values in [0, 1].
inline RArray random_phantom(uint64_t seed, Index n = 128) {
  Random rng(seed);
  auto u = [&](double lo, double hi) { return rng.uniform_double(lo, hi); };
  const double scale = u(0.8, 1.0), sx = u(0.9, 1.1), sy = u(0.9, 1.1), rot = u(-15, 15), dx = u(-.05, .05),
               dy = u(-.05, .05);
  const double rr = rot * 3.14159265358979323846 / 180.0;
  std::vector<Ellipse> es;
  for (auto e : modified_shepp_logan()) {
    const double x = e.x0 * scale * sx, y = e.y0 * scale * sy;
    e.x0 = x * std::cos(rr) - y * std::sin(rr) + dx;
    e.y0 = x * std::sin(rr) + y * std::cos(rr) + dy;
    e.a *= scale * sx;
    e.b *= scale * sy;
    e.theta_deg += rot;
    es.push_back(e);
  }
  const int extra = 4 + int(rng.next_u64() % 7);  // raw modulo, kept so that phantom sets stay bit-identical
  for (int i = 0; i < extra; ++i) {
    const double r = 0.45 * std::sqrt(u(0, 1)), phi = u(0, 2 * 3.14159265358979323846);
    const double sign = u(0, 1) < 0.5 ? -1.0 : 1.0;
    es.push_back({sign * u(0.1, 0.4), u(0.03, 0.25) * scale, u(0.03, 0.25) * scale, r * std::cos(phi) * scale + dx,
                  r * std::sin(phi) * scale + dy, u(0, 180)});
  }
  return render_ellipses(es, n);
}

/// Which split a phantom belongs to.
enum class PhantomSplit { train, validation, test };

/// Fixed split sizes of the phantom studies (test n = 20 as in the original cascade study).
struct PhantomCounts {
  int train = 200;
  int validation = 20;
  int test = 20;
};

/// Phantom `index` of `split` for the study seed: random_phantom with a seed that mixes (seed, split, index) by
/// SplitMix64, so splits never share a phantom seed and each phantom is independent of the split sizes.
/// Throws Error if index < 0.
inline RArray split_phantom(PhantomSplit split, int index, uint64_t seed, Index n = 128) {
  require(index >= 0, "split_phantom: index must be >= 0");
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t(index) + 1) + (uint64_t(split) + 1) * 0xD1B54A32D192ED03ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return random_phantom(z ^ (z >> 31), n);
}

}  // namespace reconlab
