#pragma once
/// @file eigen_fftw.hpp
/// The CPU array backend: Eigen tensors (reconlab::CArray, dims (x, y, coil, frame, batch), column-major) with
/// FFTW3 single-precision transforms. Operators (operators.hpp) are templates over a backend; this one serves the
/// classical solvers, the torch one (networks/reconlab/networks/torch_backend.hpp) serves networks.
#include <fftw3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "reconlab/array.hpp"

namespace reconlab {

namespace detail {

/// FFTW plans, made once per (nx, ny, howmany, direction) and reused. Planning is serialised by a mutex (FFTW's
/// planner is not thread-safe); execution through fftwf_execute_dft on 64-byte aligned scratch buffers is.
class FftwPlanCache {
 public:
  static FftwPlanCache& instance() {
    static FftwPlanCache cache;
    return cache;
  }
  /// Plan for a batched 2D transform of `howmany` contiguous ny x nx (row-major, x fastest) images, in place or
  /// out of place (input preserved), planned on fftwf_malloc'ed (SIMD-aligned) buffers.
  fftwf_plan get(Index nx, Index ny, Index howmany, int sign, bool out_of_place = false) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_tuple(nx, ny, howmany, sign * (out_of_place ? 2 : 1));
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    const int n[2] = {static_cast<int>(ny), static_cast<int>(nx)};
    const Index total = nx * ny * howmany;
    auto* buf = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * total));
    auto* obuf = out_of_place ? static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * total)) : buf;
    if (!buf || !obuf) throw Error("FFTW: cannot allocate " + std::to_string(total) + " samples");
    fftwf_plan_with_nthreads(threads_);
    fftwf_plan p = fftwf_plan_many_dft(2, n, static_cast<int>(howmany), buf, nullptr, 1,
                                       static_cast<int>(nx * ny), obuf, nullptr, 1, static_cast<int>(nx * ny),
                                       sign, FFTW_MEASURE | (out_of_place ? FFTW_PRESERVE_INPUT : 0));
    if (out_of_place) fftwf_free(obuf);
    fftwf_free(buf);
    if (!p) throw Error("FFTW: planning failed for " + std::to_string(nx) + " x " + std::to_string(ny));
    plans_.emplace(key, p);
    return p;
  }
  /// Threads used by plans made from now on (default: hardware concurrency).
  void set_threads(int t) {
    std::lock_guard<std::mutex> lock(mutex_);
    threads_ = std::max(1, t);
  }
  ~FftwPlanCache() {
    for (auto& kv : plans_) fftwf_destroy_plan(kv.second);
  }

 private:
  FftwPlanCache() {
    fftwf_init_threads();
    threads_ = std::max(1u, std::thread::hardware_concurrency());
  }
  std::mutex mutex_;
  int threads_ = 1;
  std::map<std::tuple<Index, Index, Index, int>, fftwf_plan> plans_;
};

/// 64-byte aligned scratch buffer from fftwf_malloc.
struct FftwBuffer {
  explicit FftwBuffer(Index n) : ptr(static_cast<cfloat*>(fftwf_malloc(sizeof(cfloat) * std::max<Index>(n, 1)))) {
    if (!ptr) throw Error("FFTW: cannot allocate " + std::to_string(n) + " samples");
  }
  ~FftwBuffer() { fftwf_free(ptr); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  cfloat* ptr;
};

/// Copies one ny x nx plane from `src` to `dst` circularly shifted by (sx, sy): dst[(y+sy)%ny][(x+sx)%nx] =
/// src[y][x], scaled by `scale`. Row-wise in two contiguous segments.
inline void shift_plane(const cfloat* src, cfloat* dst, Index nx, Index ny, Index sx, Index sy, float scale) {
  for (Index y = 0; y < ny; ++y) {
    const cfloat* s = src + y * nx;
    cfloat* d = dst + ((y + sy) % ny) * nx;
    const Index first = nx - sx;  // elements s[0..first) land at d[sx..nx)
    if (scale == 1.0f) {
      std::memcpy(d + sx, s, sizeof(cfloat) * first);
      std::memcpy(d, s + first, sizeof(cfloat) * sx);
    } else {
      for (Index x = 0; x < first; ++x) d[sx + x] = s[x] * scale;
      for (Index x = 0; x < sx; ++x) d[x] = s[first + x] * scale;
    }
  }
}

}  // namespace detail

/// Array backend on Eigen tensors and FFTW3 (single precision). Arrays are reconlab::CArray with dims
/// (x, y, coil, frame, batch); masks are reconlab::RArray with dims (x, y, 1, 1, 1) or the full dims of the
/// data, values 0/1 (or sampling weights), broadcast over coil, frame and batch.
struct EigenFftw {
  using Array = CArray;
  using Mask = RArray;
  using Scalar = cfloat;

  static constexpr const char* name() { return "EigenFftw"; }
  static Dims dims(const Array& a) { return dims_of(a); }
  static Dims mask_dims(const Mask& m) { return dims_of(m); }
  static Array zeros(const Dims& d) {
    Array a(d[0], d[1], d[2], d[3], d[4]);
    a.setZero();
    return a;
  }
  static Array zeros_like(const Array& a) { return zeros(dims(a)); }

  /// Sets the FFTW thread count for plans made afterwards.
  static void set_fft_threads(int t) { detail::FftwPlanCache::instance().set_threads(t); }

  /// Centred unitary 2D DFT over (x, y) of every (coil, frame, batch) plane:
  /// fftshift(fft2(ifftshift(x))) / sqrt(nx ny). Batched through one FFTW plan.
  static Array fft2c(const Array& x) { return transform(x, FFTW_FORWARD); }
  /// Centred unitary inverse 2D DFT: fftshift(ifft2(ifftshift(k))) * sqrt(nx ny) / (nx ny); the adjoint of fft2c.
  static Array ifft2c(const Array& k) { return transform(k, FFTW_BACKWARD); }

  /// Elementwise mask * x, the mask broadcast over coil/frame/batch when it has dims (x, y, 1, 1, 1).
  static Array multiply_mask(const Mask& m, const Array& x) {
    const Dims d = dims(x);
    const Index plane = d[0] * d[1];
    Array out(d[0], d[1], d[2], d[3], d[4]);
    const float* mp = m.data();
    const cfloat* xp = x.data();
    cfloat* op = out.data();
    if (m.size() == plane) {
      const Index planes = x.size() / std::max<Index>(plane, 1);
      for (Index p = 0; p < planes; ++p)
        for (Index i = 0; i < plane; ++i) op[p * plane + i] = xp[p * plane + i] * mp[i];
    } else {
      for (Index i = 0; i < x.size(); ++i) op[i] = xp[i] * mp[i];
    }
    return out;
  }

  /// Coil expansion for SENSE: out(x, y, c, f, b) = maps(x, y, c) * img(x, y, 0, f, b).
  /// `maps`: dims (nx, ny, coils, 1, 1); `img`: dims (nx, ny, 1, frames, batch). Returns (nx, ny, coils, frames,
  /// batch). Shapes are checked by the SENSE operator (sense.hpp), not here.
  static Array coil_expand(const Array& maps, const Array& img) {
    const Dims dm = dims(maps), di = dims(img);
    const Index plane = di[0] * di[1], nc = dm[2], outer = di[3] * di[4];
    Array out(di[0], di[1], nc, di[3], di[4]);
    const cfloat* mp = maps.data();
    const cfloat* ip = img.data();
    cfloat* op = out.data();
    for (Index o = 0; o < outer; ++o)
      for (Index c = 0; c < nc; ++c) {
        const cfloat* m = mp + c * plane;
        const cfloat* x = ip + o * plane;
        cfloat* d = op + (o * nc + c) * plane;
        for (Index i = 0; i < plane; ++i) d[i] = m[i] * x[i];
      }
    return out;
  }
  /// Coil combination, the adjoint of coil_expand: out(x, y, 0, f, b) = sum_c conj(maps(x, y, c)) coils(x, y, c, f, b).
  /// `maps`: (nx, ny, coils, 1, 1); `coils`: (nx, ny, coils, frames, batch). Returns (nx, ny, 1, frames, batch).
  static Array coil_combine(const Array& maps, const Array& coils) {
    const Dims dm = dims(maps), dc = dims(coils);
    const Index plane = dc[0] * dc[1], nc = dm[2], outer = dc[3] * dc[4];
    Array out(dc[0], dc[1], 1, dc[3], dc[4]);
    out.setZero();
    const cfloat* mp = maps.data();
    const cfloat* cp = coils.data();
    cfloat* op = out.data();
    for (Index o = 0; o < outer; ++o)
      for (Index c = 0; c < nc; ++c) {
        const cfloat* m = mp + c * plane;
        const cfloat* y = cp + (o * nc + c) * plane;
        cfloat* d = op + o * plane;
        for (Index i = 0; i < plane; ++i) d[i] += std::conj(m[i]) * y[i];
      }
    return out;
  }

  /// Forward difference along axis 0 (x) or 1 (y) with Neumann boundary: d[i] = a[i+1] - a[i], 0 at the last.
  static Array forward_diff(const Array& a, int axis) {
    const Dims d = dims(a);
    Array out = zeros(d);
    const Index nx = d[0], ny = d[1], planes = a.size() / std::max<Index>(nx * ny, 1);
    const cfloat* p = a.data();
    cfloat* o = out.data();
    for (Index s = 0; s < planes; ++s) {
      const cfloat* ps = p + s * nx * ny;
      cfloat* os = o + s * nx * ny;
      if (axis == 0) {
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x + 1 < nx; ++x) os[y * nx + x] = ps[y * nx + x + 1] - ps[y * nx + x];
      } else {
        for (Index y = 0; y + 1 < ny; ++y)
          for (Index x = 0; x < nx; ++x) os[y * nx + x] = ps[(y + 1) * nx + x] - ps[y * nx + x];
      }
    }
    return out;
  }

  /// Adjoint of forward_diff (minus the backward-difference divergence): out[i] = g[i-1] - g[i] with g[-1] = 0
  /// and g[n-1] taken as 0.
  static Array forward_diff_adjoint(const Array& g, int axis) {
    const Dims d = dims(g);
    Array out = zeros(d);
    const Index nx = d[0], ny = d[1], planes = g.size() / std::max<Index>(nx * ny, 1);
    const cfloat* p = g.data();
    cfloat* o = out.data();
    for (Index s = 0; s < planes; ++s) {
      const cfloat* ps = p + s * nx * ny;
      cfloat* os = o + s * nx * ny;
      if (axis == 0) {
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x < nx; ++x) {
            const cfloat cur = x + 1 < nx ? ps[y * nx + x] : cfloat(0);
            const cfloat prev = x > 0 ? ps[y * nx + x - 1] : cfloat(0);
            os[y * nx + x] = prev - cur;
          }
      } else {
        for (Index y = 0; y < ny; ++y)
          for (Index x = 0; x < nx; ++x) {
            const cfloat cur = y + 1 < ny ? ps[y * nx + x] : cfloat(0);
            const cfloat prev = y > 0 ? ps[(y - 1) * nx + x] : cfloat(0);
            os[y * nx + x] = prev - cur;
          }
      }
    }
    return out;
  }

  /// Stacks a and b along the batch axis (a first): dims (x, y, c, f, 2b).
  static Array concat_batch(const Array& a, const Array& b) {
    Array out = a.concatenate(b, 4);
    return out;
  }
  /// Splits an array with an even batch count into its first and second halves along the batch axis.
  static std::pair<Array, Array> split_batch(const Array& a) {
    const Dims d = dims(a);
    const Index h = d[4] / 2;
    Eigen::array<Index, 5> ext = {d[0], d[1], d[2], d[3], h};
    Array first = a.slice(Eigen::array<Index, 5>{0, 0, 0, 0, 0}, ext);
    Array second = a.slice(Eigen::array<Index, 5>{0, 0, 0, 0, h}, ext);
    return {std::move(first), std::move(second)};
  }

  /// Inner product <a, b> = sum conj(a) * b, accumulated in double precision.
  static std::complex<double> dot(const Array& a, const Array& b) {
    std::complex<double> s = 0;
    const cfloat* pa = a.data();
    const cfloat* pb = b.data();
    for (Index i = 0; i < a.size(); ++i)
      s += std::complex<double>(std::conj(pa[i])) * std::complex<double>(pb[i]);
    return s;
  }
  /// a * x + y, elementwise.
  static Array axpy(cfloat a, const Array& x, const Array& y) {
    Array out(x.dimensions());
    const cfloat* px = x.data();
    const cfloat* py = y.data();
    cfloat* po = out.data();
    for (Index i = 0; i < x.size(); ++i) po[i] = a * px[i] + py[i];
    return out;
  }
  /// Euclidean norm ||a||_2.
  static double norm(const Array& a) { return std::sqrt(std::max(0.0, dot(a, a).real())); }

 private:
  static Array transform(const Array& in, int sign) {
    const Dims d = dims(in);
    const Index nx = d[0], ny = d[1], plane = nx * ny;
    Array out(d[0], d[1], d[2], d[3], d[4]);
    if (in.size() == 0) return out;
    const Index howmany = in.size() / plane;
    const float scale = 1.0f / std::sqrt(static_cast<float>(plane));
    // Even sizes: ifftshift before the DFT is a modulation of its output by (-1)^k, and fftshift is a swap of
    // quadrants, so centred F x = fftshift(M F x): FFTW runs out of place from the input straight into the output
    // (input preserved), then one in-place pass swaps the quadrants with the signs (-1)^(x + y + (nx + ny) / 2) and
    // the unitary scale. New-array execution needs the planning alignment, checked at run time.
    auto* src = reinterpret_cast<fftwf_complex*>(const_cast<cfloat*>(in.data()));
    auto* dst = reinterpret_cast<fftwf_complex*>(out.data());
    if (nx % 2 == 0 && ny % 2 == 0 && fftwf_alignment_of(reinterpret_cast<float*>(src)) == 0 &&
        fftwf_alignment_of(reinterpret_cast<float*>(dst)) == 0) {
      fftwf_plan oplan = detail::FftwPlanCache::instance().get(nx, ny, howmany, sign, true);
      fftwf_execute_dft(oplan, src, dst);
      const float c = (((nx + ny) / 2) % 2 ? -1.0f : 1.0f) * scale;
      const Index hx = nx / 2, hy = ny / 2;
      cfloat* o = out.data();
      for (Index p = 0; p < howmany; ++p) {
        cfloat* a = o + p * plane;
        for (Index y = 0; y < hy; ++y) {
          cfloat* r1 = a + y * nx;          // row y
          cfloat* r2 = a + (y + hy) * nx;   // row y + ny/2
          // (y, x) <-> (y + hy, x + hx mod nx); sign of (y, x) is (-1)^(x + y), of its partner (-1)^(x + y + hx + hy).
          const float sy = (y & 1) ? -c : c;
          const float sp = ((hx + hy) & 1) ? -sy : sy;
          for (Index x = 0; x < nx; ++x) {
            const Index x2 = x < hx ? x + hx : x - hx;
            const float sx = (x & 1) ? -1.0f : 1.0f;
            const cfloat v1 = r1[x], v2 = r2[x2];
            r1[x] = v2 * (sy * sx);
            r2[x2] = v1 * (sp * sx);
          }
        }
      }
      return out;
    }
    // General sizes: ifftshift into an aligned scratch buffer, transform, fftshift back with the scaling.
    fftwf_plan plan = detail::FftwPlanCache::instance().get(nx, ny, howmany, sign);
    detail::FftwBuffer buf(in.size());
    // ifftshift moves index i to i - n/2 (mod n), i.e. shift by ceil(n/2); fftshift by floor(n/2).
    const Index isx = (nx + 1) / 2, isy = (ny + 1) / 2, osx = nx / 2, osy = ny / 2;
    for (Index p = 0; p < howmany; ++p)
      detail::shift_plane(in.data() + p * plane, buf.ptr + p * plane, nx, ny, isx, isy, 1.0f);
    fftwf_execute_dft(plan, reinterpret_cast<fftwf_complex*>(buf.ptr), reinterpret_cast<fftwf_complex*>(buf.ptr));
    for (Index p = 0; p < howmany; ++p)
      detail::shift_plane(buf.ptr + p * plane, out.data() + p * plane, nx, ny, osx, osy, scale);
    return out;
  }
};

}  // namespace reconlab
