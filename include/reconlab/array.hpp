#pragma once
/// @file array.hpp
/// The data model shared by every part of reconlab.
///
/// Samples are std::complex<float> (what BART and LibTorch use); magnitude images are float.
/// One memory layout everywhere: x fastest, then y, then coil, then frame, then batch. A column-major
/// Eigen::Tensor with dims (x, y, coil, frame, batch) has the same bytes as a contiguous torch tensor of sizes
/// (batch, frame, coil, y, x), as a C-order NumPy array of shape (batch, frame, coil, y, x), and as a BART .cfl
/// with dims [x, y, 1, coil, ...]: every bridge is a plain copy or a view.
/// A 2D image of ny rows and nx columns (NumPy shape (ny, nx)) is an array with dims (nx, ny, 1, 1, 1).
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unsupported/Eigen/CXX11/Tensor>

#include "reconlab/error.hpp"

namespace reconlab {

using cfloat = std::complex<float>;
using Index = Eigen::Index;

/// Sizes of the five axes, in memory order: (x, y, coil, frame, batch). -1 stands for "any size" where an
/// operator accepts every size along an axis (used by operator shape descriptions only).
using Dims = std::array<Index, 5>;

/// Complex samples, dims (x, y, coil, frame, batch), column-major (x fastest).
using CArray = Eigen::Tensor<cfloat, 5, Eigen::ColMajor>;
/// Real samples (magnitude images, masks), same layout as CArray.
using RArray = Eigen::Tensor<float, 5, Eigen::ColMajor>;

/// Builds Dims from the in-plane size and optional coil, frame and batch counts.
inline Dims make_dims(Index nx, Index ny, Index coils = 1, Index frames = 1, Index batch = 1) {
  return {nx, ny, coils, frames, batch};
}

/// "nx x ny x coils x frames x batch", for error messages.
inline std::string dims_string(const Dims& d) {
  std::string s;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i) s += " x ";
    s += d[i] < 0 ? std::string("*") : std::to_string(d[i]);
  }
  return s;
}

/// Dims of an Eigen array.
template <class T>
inline Dims dims_of(const Eigen::Tensor<T, 5, Eigen::ColMajor>& a) {
  return {a.dimension(0), a.dimension(1), a.dimension(2), a.dimension(3), a.dimension(4)};
}

/// True where every axis agrees or either side is -1 ("any").
inline bool dims_compatible(const Dims& a, const Dims& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= 0 && b[i] >= 0 && a[i] != b[i]) return false;
  return true;
}

/// Throws Error unless a mask of dims `md` broadcasts onto data of dims `d`: the same in-plane size, and each of
/// (coil, frame, batch) either 1 (broadcast) or equal. `who` starts the message, which names both shapes.
inline void require_broadcastable(const Dims& md, const Dims& d, const std::string& who) {
  bool ok = md[0] == d[0] && md[1] == d[1];
  for (int a = 2; a < 5; ++a) ok = ok && (md[a] == 1 || md[a] == d[a]);
  if (!ok)
    throw Error(who + " dims " + dims_string(md) + " do not broadcast onto data dims " + dims_string(d) +
                " (x, y, coil, frame, batch): in-plane sizes must match; coil, frame and batch must be 1 or equal");
}

/// Number of elements of dims (no wildcards allowed).
inline Index dims_size(const Dims& d) {
  Index n = 1;
  for (Index v : d) n *= v;
  return n;
}

/// Throws Error naming `what` and the first offending index when `a` holds a NaN or infinity.
template <class T>
inline void require_finite(const Eigen::Tensor<T, 5, Eigen::ColMajor>& a, const std::string& what) {
  const T* p = a.data();
  for (Index i = 0; i < a.size(); ++i) {
    bool ok;
    if constexpr (std::is_same_v<T, cfloat>)
      ok = std::isfinite(p[i].real()) && std::isfinite(p[i].imag());
    else
      ok = std::isfinite(static_cast<double>(p[i]));
    if (!ok) throw Error(what + ": non-finite value (NaN or Inf) at linear index " + std::to_string(i));
  }
}

/// Magnitude |a| elementwise.
inline RArray magnitude(const CArray& a) { return a.abs(); }

/// Real array -> complex array with zero imaginary part.
inline CArray to_complex(const RArray& a) { return a.cast<cfloat>(); }

/// The folder holding data/ and reference/: $RECONLAB_SHARED if set, else the build-time default (../shared
/// beside the source tree).
inline std::string shared_dir() {
  if (const char* e = std::getenv("RECONLAB_SHARED"); e && *e) return e;
#ifdef RECONLAB_DEFAULT_SHARED
  return RECONLAB_DEFAULT_SHARED;
#else
  return "../shared";
#endif
}

/// $RECONLAB_DATA if set, else shared_dir() + "/data".
inline std::string data_dir() {
  if (const char* e = std::getenv("RECONLAB_DATA"); e && *e) return e;
  return shared_dir() + "/data";
}

/// Folder where the installer unpacked registry data ($RECONLAB_CACHE, else $HOME/.cache/reconlab).
inline std::string cache_dir() {
  if (const char* e = std::getenv("RECONLAB_CACHE"); e && *e) return e;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/reconlab";
}

}  // namespace reconlab
