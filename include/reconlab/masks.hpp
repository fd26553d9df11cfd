#pragma once
/// @file masks.hpp
/// k-space sampling masks: fastMRI's 1D column masks (bit-for-bit equal to fastMRI's subsample.py) and a 2D
/// variable-density Poisson-disc mask (after SigPy's mri.poisson), k-t line masks for cines (one pattern per frame,
/// dims (nx, ny, 1, frames, 1)), plus the checks every mask consumer uses.
///
/// Layout: a mask is an RArray with dims (nx, ny, 1, 1, 1) (NumPy shape (ny, nx)), values exactly 0.f or 1.f,
/// 1 = the k-space sample at (kx, ky) is acquired. k-space is centred (DC at index n/2), as everywhere in reconlab.
/// Every generator is deterministic: the same arguments and seed give the same mask on every platform (the random
/// numbers come from MT19937 with fixed, documented conversions, never from std:: distributions).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/random.hpp"

namespace reconlab {

/// A sampling mask and what it achieves.
struct SamplingMask {
  /// dims (nx, ny, 1, 1, 1), or (nx, ny, 1, frames, 1) for the k-t masks; values 0/1 (float), 1 = acquired.
  RArray mask;
  /// Human-readable summary: generator, parameters, seed and the achieved acceleration.
  std::string description;

  /// Number of acquired samples (entries equal to 1).
  Index num_sampled() const {
    Index n = 0;
    const float* p = mask.data();
    for (Index i = 0; i < mask.size(); ++i) n += p[i] != 0.f;
    return n;
  }
  /// Real acceleration: entries / num_sampled() (nx*ny*frames / samples, >= 1); +inf for an empty mask
  /// (generators never return one).
  double acceleration() const {
    const Index n = num_sampled();
    return n == 0 ? std::numeric_limits<double>::infinity() : double(mask.size()) / double(n);
  }
};

/// Real acceleration of a mask: number of entries / number of nonzero entries (>= 1).
/// Throws Error for an empty array or a mask with no sampled entry.
inline double acceleration_of(const RArray& mask) {
  require(mask.size() > 0, "acceleration_of: empty mask array");
  Index n = 0;
  for (Index i = 0; i < mask.size(); ++i) n += mask.data()[i] != 0.f;
  require(n > 0, "acceleration_of: mask samples nothing (all zeros)");
  return double(mask.size()) / double(n);
}

/// Checks that `mask` can sample data of dims `image_dims` (x, y, coil, frame, batch):
/// in-plane size (nx, ny) equal to the image's; every other axis either 1 (broadcast) or equal to the image's
/// (-1 in image_dims accepts any size along that axis); every value exactly 0 or 1 (NaN and Inf rejected); at least
/// one sample set. Throws Error naming the first violation.
inline void require_valid_mask(const RArray& mask, const Dims& image_dims) {
  const Dims md = dims_of(mask);
  require(mask.size() > 0, "mask: empty array (dims " + dims_string(md) + ")");
  for (int a = 0; a < 5; ++a) {
    const bool ok = a < 2 ? (image_dims[a] < 0 || md[a] == image_dims[a])
                          : (md[a] == 1 || image_dims[a] < 0 || md[a] == image_dims[a]);
    if (!ok)
      throw Error("mask: dims " + dims_string(md) + " do not fit image dims " + dims_string(image_dims) +
                  " (in-plane size must match; other axes 1 or equal)");
  }
  Index ones = 0;
  const float* p = mask.data();
  for (Index i = 0; i < mask.size(); ++i) {
    if (std::isnan(p[i])) throw Error("mask: NaN at linear index " + std::to_string(i));
    if (p[i] != 0.f && p[i] != 1.f) {
      std::ostringstream s;
      s << "mask: value " << p[i] << " at linear index " << i << " is not 0 or 1";
      throw Error(s.str());
    }
    ones += p[i] == 1.f;
  }
  require(ones > 0, "mask: samples nothing (all zeros, dims " + dims_string(md) + ")");
}

namespace detail {

/// NumPy's legacy RandomState stream (numpy/random/mtrand.pyx, numpy/random/src/legacy and distributions.c):
/// MT19937 seeded by an integer through init_genrand (`mt19937_seed`, which std::mt19937's seeding reproduces
/// exactly), random_sample() = 53-bit double from two 32-bit draws, randint() = masked rejection sampling.
class NumpyLegacyRng {
 public:
  explicit NumpyLegacyRng(std::uint32_t seed) : mt_(seed) {}
  /// np.random.RandomState.random_sample() / uniform(0, 1): (a>>5, b>>6) -> (a*2^26 + b) / 2^53, in [0, 1).
  double random_sample() {
    const std::uint32_t a = static_cast<std::uint32_t>(mt_()) >> 5;
    const std::uint32_t b = static_cast<std::uint32_t>(mt_()) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  /// np.random.RandomState.randint(low, high) (int64, exclusive high) for high - 1 - low < 2^32 - 1: no draw when
  /// the range holds one value, else draws 32-bit words masked to the smallest all-ones mask >= range until one
  /// falls in range (random_bounded_uint64_fill with use_masked=true).
  std::int64_t randint(std::int64_t low, std::int64_t high) {
    require(high > low, "randint: low >= high");
    const std::uint64_t rng = static_cast<std::uint64_t>(high - 1 - low);
    require(rng < 0xFFFFFFFFull, "randint: range beyond 32 bits is not supported");
    if (rng == 0) return low;
    std::uint64_t mask = rng;
    mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
    std::uint64_t v;
    while ((v = (static_cast<std::uint32_t>(mt_()) & mask)) > rng) {
    }
    return low + static_cast<std::int64_t>(v);
  }

 private:
  std::mt19937 mt_;
};

/// Python's round() / NumPy's around() for doubles: round half to even.
inline double round_half_even(double v) {
  const double r = std::round(v);
  if (std::fabs(v - std::trunc(v)) == 0.5) return 2.0 * std::round(v / 2.0);
  return r;
}

inline std::uint32_t checked_seed(std::int64_t seed) {
  require(seed >= 0 && seed <= 0xFFFFFFFFll,
          "mask seed must be in [0, 2^32 - 1] (NumPy RandomState integer seeding), got " + std::to_string(seed));
  return static_cast<std::uint32_t>(seed);
}

inline void check_column_args(const char* fn, Index nx, Index ny, double center_fraction, double acceleration) {
  const std::string f(fn);
  require(nx >= 1 && ny >= 1, f + ": nx and ny must be >= 1, got " + std::to_string(nx) + " x " + std::to_string(ny));
  require(std::isfinite(acceleration) && acceleration >= 1.0,
          f + ": acceleration must be finite and >= 1, got " + std::to_string(acceleration));
  require(std::isfinite(center_fraction) && center_fraction > 0.0 && center_fraction < 1.0,
          f + ": center_fraction must be in (0, 1), got " + std::to_string(center_fraction));
}

/// fastMRI MaskFunc.calculate_center_mask: num_low = round(n * cf) (half to even), columns
/// [pad, pad + num_low) with pad = (n - num_low + 1) // 2.
inline void center_block(Index n, double center_fraction, Index& pad, Index& num_low) {
  num_low = static_cast<Index>(round_half_even(double(n) * center_fraction));
  pad = (n - num_low + 1) / 2;
}

/// Broadcasts a 1D column pattern (length nx) over ny rows and wraps it with its statistics.
inline SamplingMask column_mask(const std::vector<std::uint8_t>& cols, Index ny, const std::string& what) {
  const Index nx = static_cast<Index>(cols.size());
  SamplingMask m;
  m.mask = RArray(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) m.mask(x, y, 0, 0, 0) = cols[x] ? 1.f : 0.f;
  require(m.num_sampled() > 0, what + ": the mask would sample nothing");
  std::ostringstream s;
  s << what << ", achieved acceleration " << m.acceleration() << " (" << m.num_sampled() / ny << " of " << nx
    << " columns)";
  m.description = s.str();
  return m;
}

inline std::string column_what(const char* name, Index nx, Index ny, double cf, double acc, std::int64_t seed) {
  std::ostringstream s;
  s << name << "(nx=" << nx << ", ny=" << ny << ", center_fraction=" << cf << ", acceleration=" << acc
    << ", seed=" << seed << ")";
  return s.str();
}

}  // namespace detail

/// fastMRI RandomMaskFunc([center_fraction], [acceleration])((1, nx, 1), seed=seed), bit for bit
/// (facebookresearch/fastMRI, fastmri/data/subsample.py, MaskFunc.sample_mask + RandomMaskFunc).
///
/// The mask varies along x (columns, fastMRI's phase-encode axis) and is constant along y; dims (nx, ny, 1, 1, 1).
/// num_low = round(nx * center_fraction) centre columns [pad, pad + num_low), pad = (nx - num_low + 1) // 2, are
/// always sampled; every column (centre included, as in fastMRI) gets a uniform draw u from NumPy's legacy
/// RandomState(seed) and is sampled when u < p, p = (nx / acceleration - num_low) / (nx - num_low), so the expected
/// number of columns is nx / acceleration. (choose_acceleration's randint(1) consumes no draw.) The achieved
/// acceleration is random around the target; acceleration() reports it. If p <= 0 only the centre is sampled.
///
/// @param nx columns (>= 1); @param ny rows (>= 1); @param center_fraction in (0, 1) (fastMRI: 0.08 for R=4,
/// 0.04 for R=8); @param acceleration target R >= 1; @param seed in [0, 2^32 - 1].
/// @throws Error on arguments out of range, or when the mask would be empty.
inline SamplingMask random_column_mask(Index nx, Index ny, double center_fraction, double acceleration,
                                       std::int64_t seed) {
  detail::check_column_args("random_column_mask", nx, ny, center_fraction, acceleration);
  detail::NumpyLegacyRng rng(detail::checked_seed(seed));
  Index pad, num_low;
  detail::center_block(nx, center_fraction, pad, num_low);
  const double prob = num_low < nx ? (double(nx) / acceleration - double(num_low)) / double(nx - num_low) : 0.0;
  std::vector<std::uint8_t> cols(nx, 0);
  for (Index x = 0; x < nx; ++x) cols[x] = rng.random_sample() < prob;
  for (Index x = pad; x < pad + num_low; ++x) cols[x] = 1;
  return detail::column_mask(cols, ny,
                             detail::column_what("random_column_mask", nx, ny, center_fraction, acceleration, seed));
}

/// fastMRI EquiSpacedMaskFunc([center_fraction], [acceleration])((1, nx, 1), seed=seed), bit for bit
/// (fastmri/data/subsample.py, EquiSpacedMaskFunc with offset=None).
///
/// Centre columns as in random_column_mask, plus every acceleration-th column x = offset, offset + R, ... with
/// offset = RandomState(seed).randint(0, R). Because the centre block is added on top, the achieved acceleration is
/// below R (e.g. 256 columns, R=4, cf=0.08: 79 columns, R_eff = 3.24); acceleration() reports it.
/// Dims (nx, ny, 1, 1, 1), constant along y.
/// @param acceleration integer-valued R >= 1 (fastMRI slices with step R); other arguments as random_column_mask.
/// @throws Error on arguments out of range or a non-integer acceleration.
inline SamplingMask equispaced_column_mask(Index nx, Index ny, double center_fraction, double acceleration,
                                           std::int64_t seed) {
  detail::check_column_args("equispaced_column_mask", nx, ny, center_fraction, acceleration);
  require(acceleration == std::floor(acceleration) && acceleration <= 1e9,
          "equispaced_column_mask: acceleration must be an integer (fastMRI uses it as a slice step), got " +
              std::to_string(acceleration));
  detail::NumpyLegacyRng rng(detail::checked_seed(seed));
  Index pad, num_low;
  detail::center_block(nx, center_fraction, pad, num_low);
  const Index step = static_cast<Index>(acceleration);
  const Index offset = static_cast<Index>(rng.randint(0, step));
  std::vector<std::uint8_t> cols(nx, 0);
  for (Index x = offset; x < nx; x += step) cols[x] = 1;
  for (Index x = pad; x < pad + num_low; ++x) cols[x] = 1;
  return detail::column_mask(
      cols, ny, detail::column_what("equispaced_column_mask", nx, ny, center_fraction, acceleration, seed));
}

/// fastMRI EquispacedMaskFractionFunc([center_fraction], [acceleration])((1, nx, 1), seed=seed), bit for bit
/// (fastmri/data/subsample.py, EquispacedMaskFractionFunc with offset=None).
///
/// Centre columns as in random_column_mask plus columns around(offset + i * d) for the float64
/// np.arange(offset, nx - 1, a) (element i = offset + i * d, d = (offset + a) - offset, length ceil((nx - 1 -
/// offset) / a)), with the adjusted spacing a = R (num_low - nx) / (num_low R - nx) so the total is about nx / R,
/// offset = RandomState(seed).randint(0, round(a)); rounding is half to even (np.around). Not exactly equispaced
/// (fastMRI issue #54), as fastMRI's multicoil data. Dims (nx, ny, 1, 1, 1), constant along y.
/// @throws Error on arguments out of range, or when num_low * R >= nx (no room for the outer columns).
inline SamplingMask equispaced_fraction_column_mask(Index nx, Index ny, double center_fraction, double acceleration,
                                                    std::int64_t seed) {
  detail::check_column_args("equispaced_fraction_column_mask", nx, ny, center_fraction, acceleration);
  detail::NumpyLegacyRng rng(detail::checked_seed(seed));
  Index pad, num_low;
  detail::center_block(nx, center_fraction, pad, num_low);
  const double denom = double(num_low) * acceleration - double(nx);
  require(denom < 0.0, "equispaced_fraction_column_mask: round(nx * center_fraction) * acceleration must be < nx "
                       "(the centre alone already reaches the target)");
  const double adjusted = (acceleration * double(num_low - nx)) / denom;
  const auto high = static_cast<std::int64_t>(detail::round_half_even(adjusted));
  const auto offset = rng.randint(0, high);
  std::vector<std::uint8_t> cols(nx, 0);
  // np.arange(start, stop, step) for floats: length ceil((stop - start) / step), values start + i * delta with
  // delta = (start + step) - start (numpy's DOUBLE_fill).
  const double start = double(offset);
  const double stop = double(nx - 1);
  const double len_d = std::ceil((stop - start) / adjusted);
  const Index len = len_d > 0 ? static_cast<Index>(len_d) : 0;
  const double delta = (start + adjusted) - start;
  for (Index i = 0; i < len; ++i) {
    const double v = i == 0 ? start : (i == 1 ? start + adjusted : start + double(i) * delta);
    const auto idx = static_cast<Index>(detail::round_half_even(v));
    if (idx >= 0 && idx < nx) cols[idx] = 1;
  }
  for (Index x = pad; x < pad + num_low; ++x) cols[x] = 1;
  return detail::column_mask(
      cols, ny,
      detail::column_what("equispaced_fraction_column_mask", nx, ny, center_fraction, acceleration, seed));
}

namespace detail {

/// One Poisson-disc draw with per-pixel radii (SigPy sigpy/mri/samp.py `_poisson`, after Bridson 2007):
/// active-list dart throwing, candidates at distance sqrt(U*3+1) * r in a random direction from an active point,
/// rejected when inside the (elliptical, radius_x/radius_y) disc of an accepted sample or on an already sampled
/// pixel. Returns mask[y*nx + x].
inline std::vector<std::uint8_t> poisson_once(Index nx, Index ny, const std::vector<double>& radius_x,
                                              const std::vector<double>& radius_y, int max_attempts,
                                              std::uint32_t seed) {
  NumpyLegacyRng rng(seed);
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(nx * ny), 0);
  std::vector<int> pxs(static_cast<std::size_t>(nx * ny)), pys(static_cast<std::size_t>(nx * ny));
  pxs[0] = static_cast<int>(rng.randint(0, nx));
  pys[0] = static_cast<int>(rng.randint(0, ny));
  mask[static_cast<std::size_t>(pys[0] * nx + pxs[0])] = 1;
  Index num_actives = 1;
  while (num_actives > 0) {
    const Index i = static_cast<Index>(rng.randint(0, num_actives));
    const int px = pxs[i], py = pys[i];
    const double rx = radius_x[py * nx + px], ry = radius_y[py * nx + px];
    bool done = false;
    double qx = 0, qy = 0;
    for (int k = 0; k < max_attempts && !done; ++k) {
      const double v = std::sqrt(rng.random_sample() * 3.0 + 1.0);
      const double t = 2.0 * std::numbers::pi * rng.random_sample();
      qx = px + v * rx * std::cos(t);
      qy = py + v * ry * std::sin(t);
      if (!(qx >= 0 && qx < double(nx) && qy >= 0 && qy < double(ny))) continue;
      const Index sx = std::max<Index>(static_cast<Index>(qx - rx), 0);
      const Index ex = std::min<Index>(static_cast<Index>(qx + rx + 1), nx);
      const Index sy = std::max<Index>(static_cast<Index>(qy - ry), 0);
      const Index ey = std::min<Index>(static_cast<Index>(qy + ry + 1), ny);
      // A pixel holds at most one sample (keeps the active list within nx*ny entries).
      done = !mask[static_cast<std::size_t>(static_cast<Index>(qy) * nx + static_cast<Index>(qx))];
      for (Index x = sx; x < ex && done; ++x)
        for (Index y = sy; y < ey; ++y) {
          const std::size_t j = static_cast<std::size_t>(y * nx + x);
          if (!mask[j]) continue;
          const double dx = (qx - double(x)) / radius_x[j], dy = (qy - double(y)) / radius_y[j];
          if (dx * dx + dy * dy < 1.0) {
            done = false;
            break;
          }
        }
    }
    if (done) {
      const int ix = static_cast<int>(qx), iy = static_cast<int>(qy);
      pxs[num_actives] = ix;
      pys[num_actives] = iy;
      mask[static_cast<std::size_t>(iy * nx + ix)] = 1;
      ++num_actives;
    } else {
      pxs[i] = pxs[num_actives - 1];
      pys[i] = pys[num_actives - 1];
      --num_actives;
    }
  }
  return mask;
}

}  // namespace detail

/// 2D variable-density Poisson-disc mask (Bridson, "Fast Poisson disk sampling in arbitrary dimensions",
/// SIGGRAPH 2007 sketches; variable density and parameters as SigPy's `sigpy.mri.poisson`, sigpy/mri/samp.py, and
/// BART's `poisson`; Lustig et al., MRM 58:1182, 2007 for its use in compressed sensing).
///
/// Normalised distance from the centre outside the calibration box: per axis
/// d_x = max(|x - nx/2| - calib/2, 0) / max_x(...), likewise d_y, r = sqrt(d_x^2 + d_y^2) in [0, sqrt 2]. The disc
/// radius (in pixels) is (1 + s r) * n_axis / max(nx, ny), at least 1, elliptical for non-square grids; the slope s
/// is found by bisection on [0, max(nx, ny)] until the achieved acceleration is within 2% of the target (at most 40
/// steps; the closest mask found is returned). The corners r >= 1 are left empty (SigPy crop_corner=True) and the
/// calib_size x calib_size block [floor(n/2 - calib/2), floor(n/2 + calib/2)) on both axes is fully sampled.
/// Sample density therefore falls with distance from the k-space centre. Each bisection step reuses `seed`, so the
/// result is deterministic. Not bit-identical to SigPy (different bounded-integer draws; SigPy's rejection test only
/// leaves its inner loop on a conflict).
///
/// @param nx, ny grid size (>= 2 each); @param acceleration target R >= 1 and reachable: R <= nx*ny/calib^2;
/// @param calib_size side of the fully sampled centre, 0 <= calib_size <= min(nx, ny); @param seed [0, 2^32-1].
/// Returns dims (nx, ny, 1, 1, 1); acceleration() is the achieved value.
/// @throws Error on arguments out of range, or when no slope brings the acceleration within 5% of the target.
inline SamplingMask poisson_disc_mask(Index nx, Index ny, double acceleration, Index calib_size, std::int64_t seed) {
  require(nx >= 2 && ny >= 2,
          "poisson_disc_mask: nx and ny must be >= 2, got " + std::to_string(nx) + " x " + std::to_string(ny));
  require(std::isfinite(acceleration) && acceleration >= 1.0,
          "poisson_disc_mask: acceleration must be finite and >= 1, got " + std::to_string(acceleration));
  require(calib_size >= 0 && calib_size <= std::min(nx, ny),
          "poisson_disc_mask: calib_size must be in [0, min(nx, ny)], got " + std::to_string(calib_size));
  require(double(calib_size * calib_size) * acceleration <= double(nx * ny),
          "poisson_disc_mask: acceleration " + std::to_string(acceleration) +
              " is unreachable: the calibration block alone samples more than nx*ny/acceleration");
  const std::uint32_t s = detail::checked_seed(seed);
  const double c = double(calib_size);
  std::vector<double> dx(nx), dy(ny);
  double mx = 0, my = 0;
  for (Index x = 0; x < nx; ++x) mx = std::max(mx, dx[x] = std::max(std::fabs(x - nx / 2.0) - c / 2.0, 0.0));
  for (Index y = 0; y < ny; ++y) my = std::max(my, dy[y] = std::max(std::fabs(y - ny / 2.0) - c / 2.0, 0.0));
  std::vector<double> r(static_cast<std::size_t>(nx * ny));
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const double a = mx > 0 ? dx[x] / mx : 0.0, b = my > 0 ? dy[y] / my : 0.0;
      r[y * nx + x] = std::sqrt(a * a + b * b);
    }
  const Index cx0 = static_cast<Index>(nx / 2.0 - c / 2.0), cx1 = static_cast<Index>(nx / 2.0 + c / 2.0);
  const Index cy0 = static_cast<Index>(ny / 2.0 - c / 2.0), cy1 = static_cast<Index>(ny / 2.0 + c / 2.0);
  const double nmax = double(std::max(nx, ny));

  std::vector<double> rx(r.size()), ry(r.size());
  std::vector<std::uint8_t> best;
  double best_acc = 0, best_err = std::numeric_limits<double>::infinity(), best_slope = 0;
  double lo = 0, hi = nmax;
  for (int it = 0; it < 40; ++it) {
    const double slope = 0.5 * (lo + hi);
    for (std::size_t j = 0; j < r.size(); ++j) {
      const double base = 1.0 + r[j] * slope;
      rx[j] = std::max(base * double(nx) / nmax, 1.0);
      ry[j] = std::max(base * double(ny) / nmax, 1.0);
    }
    std::vector<std::uint8_t> m = detail::poisson_once(nx, ny, rx, ry, 30, s);
    for (std::size_t j = 0; j < m.size(); ++j)
      if (r[j] >= 1.0) m[j] = 0;
    for (Index y = cy0; y < cy1; ++y)
      for (Index x = cx0; x < cx1; ++x) m[y * nx + x] = 1;
    Index n = 0;
    for (auto v : m) n += v;
    const double acc = n > 0 ? double(nx * ny) / double(n) : std::numeric_limits<double>::infinity();
    const double err = std::fabs(acc - acceleration) / acceleration;
    if (err < best_err) {
      best_err = err;
      best_acc = acc;
      best_slope = slope;
      best = std::move(m);
    }
    if (err < 0.02) break;
    if (acc < acceleration)
      lo = slope;
    else
      hi = slope;
  }
  if (best_err > 0.05) {
    std::ostringstream e;
    e << "poisson_disc_mask: cannot reach acceleration " << acceleration << " on " << nx << " x " << ny
      << " with calib_size " << calib_size << " (closest " << best_acc << ")";
    throw Error(e.str());
  }
  SamplingMask out;
  out.mask = RArray(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) out.mask(x, y, 0, 0, 0) = best[y * nx + x] ? 1.f : 0.f;
  require(out.num_sampled() > 0, "poisson_disc_mask: the mask would sample nothing");
  std::ostringstream d;
  d << "poisson_disc_mask(nx=" << nx << ", ny=" << ny << ", acceleration=" << acceleration
    << ", calib_size=" << calib_size << ", seed=" << seed << "), slope " << best_slope << ", achieved acceleration "
    << out.acceleration() << " (" << out.num_sampled() << " samples)";
  out.description = d.str();
  return out;
}

// ------------------------------------------------------------------------------------------------------------
// k-t (dynamic) Cartesian masks: one line pattern per frame.
// ------------------------------------------------------------------------------------------------------------

namespace detail {

/// Checks the arguments every k-t mask shares; throws Error naming the first bad one.
inline void check_kt_args(const std::string& fn, Index nx, Index ny, Index frames, double acceleration,
                          Index center_lines, std::int64_t seed) {
  require(nx >= 1 && ny >= 1, fn + ": nx and ny must be >= 1, got " + std::to_string(nx) + " x " + std::to_string(ny));
  require(frames >= 1, fn + ": frames must be >= 1, got " + std::to_string(frames));
  require(std::isfinite(acceleration) && acceleration >= 1.0,
          fn + ": acceleration must be finite and >= 1, got " + std::to_string(acceleration));
  require(center_lines >= 0 && center_lines <= nx, fn + ": center_lines must be in [0, nx] = [0, " +
                                                       std::to_string(nx) + "], got " + std::to_string(center_lines));
  require(seed >= 0, fn + ": seed must be >= 0, got " + std::to_string(seed));
}

/// First column of the centre block of `c` lines on `n` columns: n/2 - c/2 (integer division), so the block
/// [start, start + c) holds the DC column n/2 and, for odd c, is symmetric about it (Deep-MRI-Reconstruction's
/// Nx//2 - sample_n//2).
inline Index kt_center_start(Index n, Index c) { return n / 2 - c / 2; }

/// Weighted sampling without replacement (successive sampling, the law of numpy.random.choice(n, k,
/// replace=False, p)): k times, draw column j among those not yet taken with probability w_j / sum of the
/// remaining w, by one uniform_double() u and a linear scan for the first j whose running weight exceeds
/// u * remaining total. Needs at least k columns with w > 0. Sets cols[j] = 1 for the chosen columns.
inline void successive_sampling(std::vector<double> w, Index k, Random& rng, std::vector<std::uint8_t>& cols) {
  for (Index draw = 0; draw < k; ++draw) {
    double total = 0;
    for (double v : w) total += v;
    const double target = rng.uniform_double() * total;
    double run = 0;
    Index pick = -1, last_positive = -1;
    for (Index j = 0; j < static_cast<Index>(w.size()); ++j) {
      if (w[j] <= 0) continue;
      last_positive = j;
      run += w[j];
      if (run > target) {
        pick = j;
        break;
      }
    }
    if (pick < 0) pick = last_positive;  // rounding of the running sum at the very top
    require(pick >= 0, "successive_sampling: fewer columns with positive weight than lines to draw");
    cols[pick] = 1;
    w[pick] = 0;
  }
}

/// Builds the (nx, ny, 1, frames, 1) mask: per frame the centre block plus `random_lines` columns drawn by
/// successive_sampling with weights `w` (zero on the centre block), one Random(seed) stream for all frames in
/// frame order.
inline SamplingMask kt_line_mask(Index nx, Index ny, Index frames, Index center_lines, Index random_lines,
                                 const std::vector<double>& w, std::int64_t seed, const std::string& what) {
  Random rng(static_cast<std::uint64_t>(seed));
  const Index c0 = kt_center_start(nx, center_lines);
  SamplingMask m;
  m.mask = RArray(nx, ny, 1, frames, 1);
  for (Index t = 0; t < frames; ++t) {
    std::vector<std::uint8_t> cols(static_cast<std::size_t>(nx), 0);
    for (Index x = c0; x < c0 + center_lines; ++x) cols[x] = 1;
    successive_sampling(w, random_lines, rng, cols);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) m.mask(x, y, 0, t, 0) = cols[x] ? 1.f : 0.f;
  }
  require(m.num_sampled() > 0, what + ": the mask would sample nothing");
  std::ostringstream s;
  s << what << ", achieved acceleration " << m.acceleration() << " (" << center_lines + random_lines << " of " << nx
    << " lines per frame, " << frames << " frames)";
  m.description = s.str();
  return m;
}

}  // namespace detail

/// Line-drawing weights of kt_variable_density_mask (not normalised): for column k of n,
/// r_k = |k - n/2| / (n/2 + 1) in [0, 1) and w_k = (1 - r_k)^2 (a polynomial fall-off from the k-space centre, as
/// the polynomial variable-density PDFs of Lustig et al., MRM 58:1182, 2007, with power 2), zero on the
/// `center_lines` centre block [n/2 - c/2, n/2 - c/2 + c). Every other column has w > 0 (the outermost
/// ~ (1/(n/2+1))^2). Throws Error unless 0 <= center_lines <= n, n >= 1.
inline std::vector<double> kt_variable_density_weights(Index nx, Index center_lines) {
  require(nx >= 1 && center_lines >= 0 && center_lines <= nx,
          "kt_variable_density_weights: need nx >= 1 and 0 <= center_lines <= nx");
  std::vector<double> w(static_cast<std::size_t>(nx));
  const double c = double(nx) / 2.0, half = double(nx) / 2.0 + 1.0;
  for (Index k = 0; k < nx; ++k) {
    const double r = std::fabs(double(k) - c) / half;
    w[k] = (1.0 - r) * (1.0 - r);
  }
  const Index c0 = detail::kt_center_start(nx, center_lines);
  for (Index k = c0; k < c0 + center_lines; ++k) w[k] = 0.0;
  return w;
}

/// Variable-density random k-t line mask, the sampling of seed 001 (Deep-Learning-Dynamic-MRI-Reconstruction:
/// "variable density random undersampling pattern ... acceleration factor 5, eleven central k-space lines sampled
/// for each frame", a different pattern in every frame; the seed does not state its density, this is ours).
///
/// Phase-encode lines are columns (the mask depends on x only within a frame, as the column masks above). In every
/// frame: the `center_lines` centre columns [nx/2 - c/2, nx/2 - c/2 + c) are sampled, and
/// L = round(nx / acceleration) - center_lines further columns are drawn without replacement (successive sampling:
/// each draw picks a remaining column with probability proportional to its weight) with the weights of
/// kt_variable_density_weights, w_k = (1 - |k - nx/2| / (nx/2 + 1))^2. So each frame has exactly
/// round(nx / R) lines and the achieved acceleration nx / round(nx / R) is the request up to the rounding of one
/// line. Frames are drawn in order from one reconlab::Random(seed) stream (the same mask on every platform).
///
/// @param nx columns (phase encodes, >= 1); @param ny rows (>= 1); @param frames >= 1; @param acceleration R >= 1;
/// @param center_lines 0..nx, and at most round(nx / R); @param seed >= 0.
/// @return dims (nx, ny, 1, frames, 1), values 0/1; acceleration() = nx / lines per frame.
/// @throws Error on arguments out of range, or when the centre alone exceeds round(nx / R) lines.
inline SamplingMask kt_variable_density_mask(Index nx, Index ny, Index frames, double acceleration,
                                             Index center_lines, std::int64_t seed) {
  const std::string fn = "kt_variable_density_mask";
  detail::check_kt_args(fn, nx, ny, frames, acceleration, center_lines, seed);
  const auto total = static_cast<Index>(std::llround(double(nx) / acceleration));
  require(total >= 1, fn + ": acceleration " + std::to_string(acceleration) + " leaves no line of " +
                          std::to_string(nx));
  require(center_lines <= total, fn + ": " + std::to_string(center_lines) + " centre lines exceed the " +
                                     std::to_string(total) + " lines per frame of R = " + std::to_string(acceleration) +
                                     " on " + std::to_string(nx) + " columns");
  std::ostringstream what;
  what << fn << "(nx=" << nx << ", ny=" << ny << ", frames=" << frames << ", acceleration=" << acceleration
       << ", center_lines=" << center_lines << ", seed=" << seed << ")";
  return detail::kt_line_mask(nx, ny, frames, center_lines, total - center_lines,
                              kt_variable_density_weights(nx, center_lines), seed, what.str());
}

/// Line-drawing probabilities of kt_gaussian_mask (normalised to sum 1): for column k of n,
/// pdf_k = exp(-(k - n/2)^2 / (2 (n/10)^2)) + lambda / n with lambda = n / (2 R) (so + 1/(2R)), set to 0 on the
/// centre block [n/2 - c/2, n/2 - c/2 + c), divided by its sum. n/2 is the real half (n odd: a half-integer), as
/// NumPy's np.arange(n) - n / 2. Throws Error on n < 1, R < 1 or c outside [0, n).
inline std::vector<double> kt_gaussian_pdf(Index nx, double acceleration, Index center_lines) {
  require(nx >= 1 && std::isfinite(acceleration) && acceleration >= 1.0 && center_lines >= 0 && center_lines < nx,
          "kt_gaussian_pdf: need nx >= 1, finite acceleration >= 1 and 0 <= center_lines < nx");
  std::vector<double> p(static_cast<std::size_t>(nx));
  const double sigma = double(nx) / 10.0, lambda = double(nx) / (2.0 * acceleration);
  for (Index k = 0; k < nx; ++k) {
    const double d = double(k) - double(nx) / 2.0;
    p[k] = std::exp(-d * d / (2.0 * sigma * sigma)) + lambda / double(nx);
  }
  const Index c0 = detail::kt_center_start(nx, center_lines);
  for (Index k = c0; k < c0 + center_lines; ++k) p[k] = 0.0;
  double sum = 0;
  for (double v : p) sum += v;
  for (double& v : p) v /= sum;
  return p;
}

/// Gaussian-density k-t line mask: the rule of `cartesian_mask(shape, acc, sample_n, centred)` in
/// utils/compressed_sensing.py of github.com/js3611/Deep-MRI-Reconstruction (Schlemper et al., IEEE TMI 37:491,
/// 2018, and Qin et al., IEEE TMI 38:280, 2019; "sampling density estimated from implementation of kt FOCUSS"):
/// pdf_x = exp(-(k - N/2)^2 / (2 (N/10)^2)) + lambda/N with lambda = N/(2R) (kt_gaussian_pdf), the centre lines
/// zeroed in the pdf and always sampled, n_lines = int(N / R) - centre lines drawn without replacement with
/// probability pdf_x (numpy.random.choice(N, n_lines, False, pdf_x)), a new draw for every frame.
///
/// What differs from that file: (1) the draws come from reconlab::Random(seed) (successive sampling, the same law
/// as NumPy's choice without replacement, not NumPy's stream), frames in order; (2) the centre block is
/// [N/2 - c/2, N/2 - c/2 + c), exactly c lines: the Python slice [N//2 - c//2, N//2 + c//2) holds 2 (c//2) lines,
/// one fewer than c for odd c, while n_lines still subtracts c; (3) the mask is centred (their default centred=False
/// returns it ifftshifted); (4) lines are our columns x (their axis -2 of (..., nx, ny)). Achieved acceleration
/// N / int(N / R).
///
/// @param nx columns (>= 2); @param ny rows (>= 1); @param frames >= 1; @param acceleration R >= 1;
/// @param center_lines 0..nx-1, at most int(nx / R); @param seed >= 0.
/// @return dims (nx, ny, 1, frames, 1), values 0/1; acceleration() = nx / int(nx / R).
/// @throws Error on arguments out of range or when the centre alone exceeds int(nx / R) lines.
inline SamplingMask kt_gaussian_mask(Index nx, Index ny, Index frames, double acceleration, Index center_lines,
                                     std::int64_t seed) {
  const std::string fn = "kt_gaussian_mask";
  detail::check_kt_args(fn, nx, ny, frames, acceleration, center_lines, seed);
  require(center_lines < nx, fn + ": center_lines must be < nx (no line left to draw), got " +
                                 std::to_string(center_lines));
  const auto total = static_cast<Index>(std::floor(double(nx) / acceleration));  // Python int(N / acc)
  require(total >= 1, fn + ": acceleration " + std::to_string(acceleration) + " leaves no line of " +
                          std::to_string(nx));
  require(center_lines <= total, fn + ": " + std::to_string(center_lines) + " centre lines exceed the " +
                                     std::to_string(total) + " lines per frame (int(nx / R)) of R = " +
                                     std::to_string(acceleration) + " on " + std::to_string(nx) + " columns");
  std::ostringstream what;
  what << fn << "(nx=" << nx << ", ny=" << ny << ", frames=" << frames << ", acceleration=" << acceleration
       << ", center_lines=" << center_lines << ", seed=" << seed << ")";
  return detail::kt_line_mask(nx, ny, frames, center_lines, total - center_lines,
                              kt_gaussian_pdf(nx, acceleration, center_lines), seed, what.str());
}

}  // namespace reconlab
