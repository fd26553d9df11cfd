#pragma once
/// @file noncartesian.hpp
/// Files of non-Cartesian (trajectory) data in BART's layout and units, and as NumPy arrays, so that trajectories
/// and samples move between reconlab, `bart traj` / `bart nufft` / `bart pics -t` and Python unchanged.
///
/// BART's non-Cartesian layout (bart-doc "Non-Cartesian datasets"; src/misc/mri.h): a trajectory is
/// [3, samples, spokes, 1, ..., frames in TIME_DIM 10] with the coordinates (kx, ky, kz) in cycles per field of
/// view (-N/2 .. N/2, dk = 1/FOV), and its samples are [1, samples, spokes, coils, 1, ..., frames in dim 10].
/// reconlab holds a trajectory as RArray (2, samples, spokes, frames, 1) and samples as CArray (samples, spokes,
/// coils, frames, 1) (acquisition.hpp), both in the same units.
///
/// NumPy layouts (C order, last axis fastest): trajectory (frames, spokes, samples, 3) or (spokes, samples, 3)
/// (what `reconlab traj` writes; real float dtypes; the third coordinate must be 0: 2D only); samples (spokes,
/// samples), (coils, spokes, samples) or (frames, coils, spokes, samples), complex or real dtypes.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/array_file.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/npy.hpp"

namespace reconlab::io {

namespace noncart_detail {
/// Checks that BART dims `d` are 1 outside the slots in `used` (dims beyond the list count as 1).
inline void require_only(const std::vector<long>& d, std::initializer_list<std::size_t> used, const std::string& path,
                         const std::string& what) {
  for (std::size_t i = 0; i < d.size(); ++i) {
    bool ok = d[i] == 1;
    for (std::size_t u : used) ok = ok || i == u;
    require(ok, what + " " + path + ": BART dim " + std::to_string(i) + " is " + std::to_string(d[i]) +
                    ", expected 1 (layout " + cfl_detail::dims_text(d) + ")");
  }
}
inline long dim(const std::vector<long>& d, std::size_t i) { return i < d.size() ? d[i] : 1; }
}  // namespace noncart_detail

/// Trajectory coordinates from values `v` laid out (c, S, Y, T) with c fastest (c = 3: kx, ky, kz = 0; or c = 2:
/// kx, ky), in cycles per FOV: the coords (2, samples S, spokes Y, frames T, 1) of Trajectory. `what` names the
/// source in errors. Throws Error for c other than 2 or 3, an empty trajectory, a size that does not match, a
/// non-finite coordinate and a non-zero kz (3D trajectories are not supported).
inline RArray trajectory_from_values(const std::vector<double>& v, Index c, Index S, Index Y, Index T,
                                     const std::string& what) {
  require(c == 2 || c == 3, what + " has " + std::to_string(c) +
                                " coordinates per sample; expected 3 (kx, ky, kz = 0) or 2");
  require(S >= 1 && Y >= 1 && T >= 1, what + " is empty");
  require(Index(v.size()) == c * S * Y * T, what + ": " + std::to_string(v.size()) + " values for " +
                                                 std::to_string(c * S * Y * T) + " coordinates");
  RArray out(2, S, Y, T, 1);
  for (Index i = 0; i < S * Y * T; ++i) {
    for (Index a = 0; a < 2; ++a) {
      const double x = v[std::size_t(i * c + a)];
      require(std::isfinite(x), what + ": coordinate " + std::to_string(a) + " of sample " + std::to_string(i) +
                                    " is not finite");
      out.data()[2 * i + a] = float(x);
    }
    if (c == 3)
      require(v[std::size_t(i * c + 2)] == 0.0, what + ": sample " + std::to_string(i) + " has kz = " +
                                                    std::to_string(v[std::size_t(i * c + 2)]) +
                                                    "; only 2D trajectories are supported");
  }
  return out;
}

/// Reads a trajectory file: BART .cfl/.hdr [3 (or 2), samples, spokes, 1, ..., frames in dim 10] or .npy (frames,
/// spokes, samples, 3) / (spokes, samples, 3) (2 instead of 3 accepted). Returns coords (2, samples, spokes,
/// frames, 1) in cycles per FOV. Throws Error naming the file for another layout, a non-zero kz (3D trajectories
/// are not supported), a non-zero imaginary part in a .cfl, non-finite coordinates, and as read_cfl_raw /
/// read_npy for unreadable files. (Whether the coordinates fit an image grid is checked by the NUFFT.)
inline RArray read_trajectory(const std::string& path) {
  using namespace noncart_detail;
  Index c = 0, S = 0, Y = 0, T = 0;
  std::vector<double> v;  // (c, S, Y, T), c fastest
  if (is_npy(path)) {
    const NpyArray a = read_npy(path);
    require(!a.is_complex, "trajectory " + path + " is complex; a .npy trajectory is real (frames, spokes, samples, 3)");
    require(a.shape.size() == 3 || a.shape.size() == 4,
            "trajectory " + path + " has shape " + npy_detail::shape_string(a.shape) +
                "; expected (spokes, samples, 3) or (frames, spokes, samples, 3)");
    const std::size_t k = a.shape.size();
    c = a.shape[k - 1], S = a.shape[k - 2], Y = a.shape[k - 3], T = k == 4 ? a.shape[0] : 1;
    v.assign(a.data_r.begin(), a.data_r.end());
  } else {
    const CflRaw r = read_cfl_raw(cfl_base(path));
    require_only(r.dims, {0, 1, 2, 10}, path, "trajectory");
    c = dim(r.dims, 0), S = dim(r.dims, 1), Y = dim(r.dims, 2), T = dim(r.dims, 10);
    v.resize(r.data.size());
    for (std::size_t i = 0; i < r.data.size(); ++i) {
      require(r.data[i].imag() == 0.0f, "trajectory " + path + " has a non-zero imaginary part at element " +
                                            std::to_string(i) + "; coordinates are real");
      v[i] = r.data[i].real();
    }
  }
  return trajectory_from_values(v, c, S, Y, T, "trajectory " + path);
}

/// Reads non-Cartesian samples: BART .cfl [1, samples, spokes, coils, 1, ..., frames in dim 10] or .npy (spokes,
/// samples), (coils, spokes, samples), (frames, coils, spokes, samples). Returns (samples, spokes, coils, frames, 1).
/// Throws Error naming the file for another layout, non-finite samples, and as read_cfl_raw / read_npy.
inline CArray read_noncartesian(const std::string& path) {
  using namespace noncart_detail;
  CArray out;
  if (is_npy(path)) {
    const NpyArray a = read_npy(path);
    const std::size_t k = a.shape.size();
    require(k >= 2 && k <= 4, "non-Cartesian samples " + path + " have shape " + npy_detail::shape_string(a.shape) +
                                  "; expected (spokes, samples), (coils, spokes, samples) or (frames, coils, "
                                  "spokes, samples)");
    const Index S = a.shape[k - 1], Y = a.shape[k - 2], C = k >= 3 ? a.shape[k - 3] : 1, T = k == 4 ? a.shape[0] : 1;
    out = CArray(S, Y, C, T, 1);
    for (Index i = 0; i < out.size(); ++i)  // C order with samples fastest = our column-major (S, Y, C, T)
      out.data()[i] = a.is_complex ? a.data_c[std::size_t(i)] : cfloat(float(a.data_r[std::size_t(i)]), 0.f);
  } else {
    const CflRaw r = read_cfl_raw(cfl_base(path));
    require_only(r.dims, {0, 1, 2, 3, 10}, path, "non-Cartesian samples");
    require(dim(r.dims, 0) == 1, "non-Cartesian samples " + path + " have BART dims " + cfl_detail::dims_text(r.dims) +
                                     "; BART's layout puts the samples in dim 1 and the spokes in dim 2, dim 0 = 1");
    out = CArray(dim(r.dims, 1), dim(r.dims, 2), dim(r.dims, 3), dim(r.dims, 10), 1);
    std::copy(r.data.begin(), r.data.end(), out.data());
  }
  require_finite(out, "non-Cartesian samples " + path);
  return out;
}

/// BART's dims [1, S, Y, C, 1, ..., T in dim 10] of non-Cartesian samples of dims (S, Y, C, T, 1).
inline std::vector<long> bart_noncartesian_dims(const Dims& d) {
  return {1, long(d[0]), long(d[1]), long(d[2]), 1, 1, 1, 1, 1, 1, long(d[3])};
}

/// A trajectory (2, S, Y, T, 1) in BART's layout: the dims [3, S, Y, 1, ..., T in dim 10] and the coordinates as
/// complex samples (kx, ky, kz = 0), kx fastest. Throws Error for other dims.
inline std::pair<std::vector<long>, std::vector<cfloat>> bart_trajectory_layout(const RArray& coords) {
  const Dims d = dims_of(coords);
  require(d[0] == 2 && d[4] == 1, "trajectory coords must be (2, samples, spokes, frames, 1), got " + dims_string(d));
  const Index n = d[1] * d[2] * d[3];
  std::vector<cfloat> data(std::size_t(3 * n), cfloat(0));
  for (Index i = 0; i < n; ++i)
    data[std::size_t(3 * i)] = coords.data()[2 * i], data[std::size_t(3 * i + 1)] = coords.data()[2 * i + 1];
  return {{3, long(d[1]), long(d[2]), 1, 1, 1, 1, 1, 1, 1, long(d[3])}, std::move(data)};
}

/// Writes samples (samples, spokes, coils, frames, 1) in the layout read_noncartesian reads: .npy (frames, coils,
/// spokes, samples) with leading 1s dropped down to (spokes, samples), else BART [1, S, Y, C, 1, ..., T in dim 10].
/// Atomic (write_npy / write_cfl_raw). Throws Error when the batch dim is not 1 or a file cannot be written.
inline void write_noncartesian(const std::string& path, const CArray& y) {
  const Dims d = dims_of(y);
  require(d[4] == 1, "write_noncartesian: batch dim must be 1, got dims " + dims_string(d));
  if (is_npy(path)) {
    std::vector<Index> shape{d[3], d[2], d[1], d[0]};
    while (shape.size() > 2 && shape.front() == 1) shape.erase(shape.begin());
    write_npy(path, y, shape);
    return;
  }
  write_cfl_raw(cfl_base(path), bart_noncartesian_dims(d), std::vector<cfloat>(y.data(), y.data() + y.size()));
}

/// Writes a trajectory (2, S, Y, T, 1) as read_trajectory reads it: .npy (T, Y, S, 3) or BART [3, S, Y, 1, ...,
/// T in dim 10], kz = 0. Atomic. Throws Error for other dims or an unwritable file.
inline void write_trajectory(const std::string& path, const RArray& coords) {
  const auto [dims, data] = bart_trajectory_layout(coords);  // checks the dims
  const Dims d = dims_of(coords);
  if (is_npy(path)) {
    RArray out(3, d[1], d[2], d[3], 1);
    for (Index i = 0; i < out.size(); ++i) out.data()[i] = data[std::size_t(i)].real();
    write_npy(path, out, {d[3], d[2], d[1], 3});
    return;
  }
  write_cfl_raw(cfl_base(path), dims, data);
}

/// The image grid a trajectory implies, by BART's rule (`bart estdims`, src/noncart/nufft.c estimate_im_dims; the
/// rule was measured against bart estdims v0.8 and is tested against it): per axis 2 ceil(max |k|), or 1 when every
/// coordinate on that axis is 0. Returns {nx, ny}.
inline std::pair<Index, Index> estimate_image_dims(const RArray& coords) {
  double mx = 0, my = 0;
  for (Index i = 0; i < coords.size() / 2; ++i) {
    mx = std::max(mx, double(std::abs(coords.data()[2 * i])));
    my = std::max(my, double(std::abs(coords.data()[2 * i + 1])));
  }
  auto n = [](double m) { return m == 0 ? Index(1) : Index(2 * std::ceil(m)); };
  return {n(mx), n(my)};
}

}  // namespace reconlab::io
