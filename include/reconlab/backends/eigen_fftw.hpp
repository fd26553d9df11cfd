#pragma once
/// @file eigen_fftw.hpp
/// The CPU array backend: Eigen tensors (reconlab::CArray, dims (x, y, coil, frame, batch), column-major) with
/// FFTW3 single-precision transforms. Operators (operators.hpp) are templates over a backend; this one serves the
/// classical solvers, the torch one (networks/reconlab/networks/torch_backend.hpp) serves networks.
#include <fftw3.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <filesystem>
#include <string>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "reconlab/array.hpp"

namespace reconlab {

/// How FFTW chooses its algorithms (fft_bench measures what each costs).
/// - `Wisdom` (the default): FFTW_MEASURE (timed candidates: fast plans), with the choices stored as FFTW wisdom
///   in fftw_wisdom_path() and imported by every later process, so the same size gets the same plan, hence
///   byte-identical results, in every run on this machine once the wisdom holds that size. The file is written
///   atomically after each new plan; if it cannot be written, plans stay per process.
/// - `Estimate`: FFTW_ESTIMATE heuristics, no file, the same plan in every run; for the 1D plans of even sizes
///   measured 0.8-1.4x the time of measured plans (fft_bench).
/// - `Measure`: FFTW_MEASURE without stored wisdom: the plan, and so the rounding, can change from run to run.
enum class FftPlanning { Wisdom, Estimate, Measure };

/// Where FFTW wisdom is kept: $RECONLAB_FFTW_WISDOM if set, else cache_dir()/fftw3f_wisdom.
inline std::string fftw_wisdom_path() {
  if (const char* e = std::getenv("RECONLAB_FFTW_WISDOM"); e && *e) return e;
  return cache_dir() + "/fftw3f_wisdom";
}

namespace detail {

/// FFTW plans, made once per (shape, direction, planning mode) and reused. Planning is serialised by a mutex
/// (FFTW's planner is not thread-safe); execution through fftwf_execute_dft on aligned buffers is.
class FftwPlanCache {
 public:
  static FftwPlanCache& instance() {
    static FftwPlanCache cache;
    return cache;
  }
  /// Plan for an in-place batched 2D transform of `howmany` contiguous ny x nx (row-major, x fastest) images,
  /// planned on an fftwf_malloc'ed (SIMD-aligned) buffer (odd sizes; even sizes use get_1d's plans).
  fftwf_plan get(Index nx, Index ny, Index howmany, int sign) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_tuple(nx, ny, howmany, sign * (1 + 3 * int(planning_)), threads_);
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    const int n[2] = {static_cast<int>(ny), static_cast<int>(nx)};
    const Index total = nx * ny * howmany;
    auto* buf = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * total));
    if (!buf) throw Error("FFTW: cannot allocate " + std::to_string(total) + " samples");
    fftwf_plan_with_nthreads(threads_);
    fftwf_plan p = fftwf_plan_many_dft(2, n, static_cast<int>(howmany), buf, nullptr, 1, static_cast<int>(nx * ny),
                                       buf, nullptr, 1, static_cast<int>(nx * ny), sign, flags());
    fftwf_free(buf);
    if (!p) throw Error("FFTW: planning failed for " + std::to_string(nx) + " x " + std::to_string(ny));
    plans_.emplace(key, p);
    save_wisdom();
    return p;
  }
  /// One-thread plan for `howmany` 1D transforms of length n, element j of transform i at i * dist + j * stride,
  /// the same layout in and out, in place or out of place (input preserved); planned on fftwf_malloc'ed buffers
  /// of the extent the layout spans (callers execute it on arrays with the planning alignment).
  fftwf_plan get_1d(Index n, Index howmany, Index stride, Index dist, int sign, bool out_of_place) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::array<Index, 6> key{n, howmany, stride, dist, sign * (out_of_place ? 2 : 1), int(planning_)};
    if (auto it = plans_1d_.find(key); it != plans_1d_.end()) return it->second;
    const Index extent = (n - 1) * stride + (howmany - 1) * dist + 1;
    const int nn[1] = {static_cast<int>(n)};
    auto* buf = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * std::max<Index>(extent, 1)));
    auto* obuf =
        out_of_place ? static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * std::max<Index>(extent, 1)))
                     : buf;
    if (!buf || !obuf) throw Error("FFTW: cannot allocate " + std::to_string(extent) + " samples");
    fftwf_plan_with_nthreads(1);
    fftwf_plan p = fftwf_plan_many_dft(1, nn, static_cast<int>(howmany), buf, nullptr, static_cast<int>(stride),
                                       static_cast<int>(dist), obuf, nullptr, static_cast<int>(stride),
                                       static_cast<int>(dist), sign, flags() | (out_of_place ? FFTW_PRESERVE_INPUT : 0));
    if (out_of_place) fftwf_free(obuf);
    fftwf_free(buf);
    if (!p) throw Error("FFTW: planning failed for " + std::to_string(howmany) + " transforms of length " +
                        std::to_string(n));
    plans_1d_.emplace(key, p);
    save_wisdom();
    return p;
  }
  /// Plan for `howmany` interleaved 1D transforms of length n with stride `stride` (element j of transform i at
  /// i + j * stride, i < howmany = stride), in place, on one contiguous block of n * stride samples.
  fftwf_plan get_strided(Index n, Index stride, int sign) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_tuple(n, stride, Index(-1), sign * (1 + 3 * int(planning_)), threads_);
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    const int nn[1] = {static_cast<int>(n)};
    auto* buf = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * std::max<Index>(n * stride, 1)));
    if (!buf) throw Error("FFTW: cannot allocate " + std::to_string(n * stride) + " samples");
    fftwf_plan_with_nthreads(threads_);
    fftwf_plan p = fftwf_plan_many_dft(1, nn, static_cast<int>(stride), buf, nullptr, static_cast<int>(stride), 1,
                                       buf, nullptr, static_cast<int>(stride), 1, sign, flags());
    fftwf_free(buf);
    if (!p) throw Error("FFTW: planning failed for a strided transform of length " + std::to_string(n));
    plans_.emplace(key, p);
    save_wisdom();
    return p;
  }
  /// Threads used by plans made from now on (default: hardware concurrency).
  void set_threads(int t) {
    std::lock_guard<std::mutex> lock(mutex_);
    threads_ = std::max(1, t);
  }
  /// The thread count set (set_threads; default hardware concurrency).
  int threads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }
  /// Planning mode of plans made from now on (default FftPlanning::Wisdom, see there).
  void set_planning(FftPlanning p) {
    std::lock_guard<std::mutex> lock(mutex_);
    planning_ = p;
  }
  ~FftwPlanCache() {
    for (auto& kv : plans_) fftwf_destroy_plan(kv.second);
    for (auto& kv : plans_1d_) fftwf_destroy_plan(kv.second);
  }

 private:
  FftwPlanCache() {
    fftwf_init_threads();
    threads_ = std::max(1u, std::thread::hardware_concurrency());
    wisdom_path_ = fftw_wisdom_path();
    fftwf_import_wisdom_from_filename(wisdom_path_.c_str());  // absent or unreadable: start without
  }
  unsigned flags() const { return planning_ == FftPlanning::Estimate ? FFTW_ESTIMATE : FFTW_MEASURE; }
  /// After a new Wisdom-mode plan: merge the file's wisdom (other processes may have added to it) and write it
  /// back atomically (temporary file + rename). Failures leave the plans per process.
  void save_wisdom() {
    if (planning_ != FftPlanning::Wisdom) return;
    fftwf_import_wisdom_from_filename(wisdom_path_.c_str());
    std::error_code ec;
    const auto dir = std::filesystem::path(wisdom_path_).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    const std::string tmp = wisdom_path_ + ".tmp" + std::to_string(::getpid());
    if (fftwf_export_wisdom_to_filename(tmp.c_str())) std::filesystem::rename(tmp, wisdom_path_, ec);
    if (ec) std::filesystem::remove(tmp, ec);
  }
  std::string wisdom_path_;
  std::mutex mutex_;
  int threads_ = 1;
  FftPlanning planning_ = FftPlanning::Wisdom;
  std::map<std::tuple<Index, Index, Index, int, int>, fftwf_plan> plans_;
  std::map<std::array<Index, 6>, fftwf_plan> plans_1d_;
};

/// A fixed set of persistent worker threads for the backend's short parallel loops (an FFT batch, a ROF sweep,
/// the NUFFT's interpolation): starting std::threads costs tens of microseconds per call, as much as a 128^2
/// FFT. Workers are started on first use and grow to the largest count asked for. After a job, a worker (and a
/// caller waiting for one) polls for up to kSpin (100 us) before it sleeps, as OpenMP runtimes do: iterative
/// solvers call every few hundred microseconds, and a sleeping thread takes tens of microseconds to wake.
/// One loop runs on the pool at a time; a caller that finds it busy (another thread's loop, or a loop nested
/// inside a worker) runs its loop inline, so calls never deadlock and never oversubscribe the cores.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static WorkerPool pool;
    return pool;
  }
  /// Runs job(k) for k = 0..count-1, job(0) on the calling thread and the others on workers; returns when all
  /// have finished and rethrows the first exception any of them threw. Returns false without running anything
  /// when the pool is busy (the caller then runs the loop itself).
  template <class Job>
  bool run(int count, Job&& job) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock() || in_worker()) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (static_cast<int>(workers_.size()) < count - 1)
        workers_.emplace_back([this, id = static_cast<int>(workers_.size()) + 1] { work(id); });
      task_ = [&job](int k) { job(k); };
      count_ = count;
      error_ = nullptr;
      pending_.store(count - 1);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    std::exception_ptr mine;
    try {
      job(0);
    } catch (...) {
      mine = std::current_exception();
    }
    spin_until([&] { return pending_.load() == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    task_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
    return true;
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  static constexpr std::chrono::microseconds kSpin{100};
  WorkerPool() = default;
  static bool& in_worker() {
    thread_local bool flag = false;
    return flag;
  }
  /// Polls `ready` for up to kSpin; true once it holds.
  template <class Pred>
  static bool spin_until(Pred&& ready) {
    const auto end = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; ++i) {
      if (ready()) return true;
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > end) return false;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();  // spin-wait hint: frees the core's shared resources while polling
#endif
    }
  }
  void work(int id) {
    in_worker() = true;
    std::uint64_t seen = 0;
    for (;;) {
      auto fresh = [&] { return stop_.load() || generation_.load() != seen; };
      if (!spin_until(fresh)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, fresh);
      }
      std::function<void(int)> task;
      {
        std::lock_guard<std::mutex> lock(mutex_);  // task_ and count_ were written under it
        if (stop_.load()) return;
        seen = generation_.load();
        if (id >= count_) continue;
        task = task_;
      }
      std::exception_ptr err;
      try {
        task(id);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (err && !error_) error_ = err;
      if (pending_.fetch_sub(1) == 1) done_.notify_one();
    }
  }
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::function<void(int)> task_;
  int count_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::exception_ptr error_;
  std::atomic<bool> stop_{false};
};

/// Runs f(begin, end) over [0, n) split into `threads` contiguous chunks, chunk k = [n k / t, n (k + 1) / t),
/// on the WorkerPool (inline when one thread, n < 2, or the pool is busy). Each index is visited once; f must
/// not write where another chunk writes. Rethrows the first exception a chunk threw.
template <class F>
void parallel_chunks(Index n, int threads, F f) {
  const Index t = std::max<Index>(1, std::min<Index>(threads, n));
  if (t == 1 || !WorkerPool::instance().run(static_cast<int>(t), [&](int k) { f(n * k / t, n * (k + 1) / t); }))
    f(Index(0), n);
}
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
  /// The FFTW thread count (set_fft_threads); other threaded loops of this backend (the NUFFT's interpolation)
  /// use the same number.
  static int fft_threads() { return detail::FftwPlanCache::instance().threads(); }
  /// Sets how FFTW plans made afterwards are chosen (default FftPlanning::Wisdom: fast plans, byte-identical reruns).
  static void set_fft_planning(FftPlanning p) { detail::FftwPlanCache::instance().set_planning(p); }

  /// Centred unitary 2D DFT over (x, y) of every (coil, frame, batch) plane:
  /// fftshift(fft2(ifftshift(x))) / sqrt(nx ny). Even sizes: the shifts folded in as sign modulations, rows and
  /// columns on the worker pool (transform_even); odd sizes: shifts, then one batched FFTW plan.
  static Array fft2c(const Array& x) { return transform(x, FFTW_FORWARD); }
  /// Centred unitary inverse 2D DFT: fftshift(ifft2(ifftshift(k))) * sqrt(nx ny) / (nx ny); the adjoint of fft2c.
  static Array ifft2c(const Array& k) { return transform(k, FFTW_BACKWARD); }

  /// Elementwise mask * x. The mask (dims (nx, ny, c, f, b), each of c, f, b either 1 or equal to x's) is
  /// broadcast over the axes where it has size 1: one plane for all, one per frame (k-t), one per sample.
  /// Throws Error when the dims do not broadcast (reconlab::require_broadcastable).
  static Array multiply_mask(const Mask& m, const Array& x) {
    Array out(x.dimensions());
    multiply_mask_into(m, x, out);
    return out;
  }
  /// multiply_mask into a caller-owned array (resized to x's dims if they differ); `out` may be `x` itself
  /// (masking in place). Throws Error as multiply_mask does.
  static void multiply_mask_into(const Mask& m, const Array& x, Array& out) {
    if (dims(out) != dims(x)) out.resize(x.dimensions());
    broadcast_planes(m, x, "multiply_mask", [&](const float* mp, const cfloat* xp, cfloat* op, Index plane) {
      for (Index i = 0; i < plane; ++i) op[i] = xp[i] * mp[i];
    }, out);
  }
  /// Data-consistency blend m * a + (1 - m) * b, elementwise, the mask broadcast as in multiply_mask (for a 0/1
  /// mask: a where sampled, b elsewhere; for weights in [0, 1] a convex combination). Throws Error when a and b
  /// differ in dims or the mask does not broadcast.
  static Array blend(const Mask& m, const Array& a, const Array& b) {
    require(dims(a) == dims(b), std::string("blend: dims ") + dims_string(dims(a)) + " and " + dims_string(dims(b)) +
                                    " differ");
    Array out(a.dimensions());
    const cfloat* a0 = a.data();
    const cfloat* b0 = b.data();
    broadcast_planes(m, a, "blend", [&](const float* mp, const cfloat* ap, cfloat* op, Index plane) {
      const cfloat* bp = b0 + (ap - a0);
      for (Index i = 0; i < plane; ++i) op[i] = mp[i] * ap[i] + (1.0f - mp[i]) * bp[i];
    }, out);
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

  /// Forward difference along `axis` (0 = x, 1 = y, 2 = coil, 3 = frame, 4 = batch) with Neumann boundary:
  /// d[i] = a[i+1] - a[i], and 0 at the last index along that axis. Throws Error for an axis outside 0..4.
  static Array forward_diff(const Array& a, int axis) {
    Array out(a.dimensions());
    forward_diff_into(a, axis, out);
    return out;
  }
  /// forward_diff into a caller-owned array (solvers' hot loops: no allocation when `out` has a's dims; resized
  /// otherwise). Large arrays are split over the FFT threads (the same values for any count). Throws Error for an
  /// axis outside 0..4 and when `out` aliases `a`.
  static void forward_diff_into(const Array& a, int axis, Array& out) {
    const auto [inner, n, outer] = axis_layout(dims(a), axis, "forward_diff");
    require(a.size() == 0 || a.data() != out.data(), "forward_diff_into: the output must not alias the input");
    if (dims(out) != dims(a)) out.resize(a.dimensions());
    const cfloat* p = a.data();
    cfloat* o = out.data();
    // Each line along the axis is a slab of n * inner samples: d[t] = a[t + inner] - a[t] for t < (n - 1) inner,
    // then 0. Contiguous runs whatever the axis, so the loops vectorise.
    const Index len = n * inner, interior = (n - 1) * inner;
    for_slab_ranges(a.size(), len, [&](Index base, Index t0, Index t1) {
      const Index m = std::min(t1, interior);
      for (Index t = t0; t < m; ++t) o[base + t] = p[base + t + inner] - p[base + t];
      for (Index t = std::max(t0, interior); t < t1; ++t) o[base + t] = cfloat(0);
    });
  }
  /// Adjoint of forward_diff along `axis` (minus the backward-difference divergence): out[i] = g[i-1] - g[i] with
  /// g[-1] = 0 and g[n-1] taken as 0. Throws Error for an axis outside 0..4.
  static Array forward_diff_adjoint(const Array& g, int axis) {
    Array out(g.dimensions());
    forward_diff_adjoint_into(g, axis, out, false);
    return out;
  }
  /// forward_diff_adjoint into a caller-owned array: out = D^H g, or out += D^H g when `accumulate` (then `out`
  /// must have g's dims; else it is resized to them). For K^H of a stack [A; G] without temporaries; split over
  /// the FFT threads as forward_diff_into. Throws Error for an axis outside 0..4, when `out` aliases `g`, or when
  /// accumulating into an array of other dims.
  static void forward_diff_adjoint_into(const Array& g, int axis, Array& out, bool accumulate) {
    const auto [inner, n, outer] = axis_layout(dims(g), axis, "forward_diff_adjoint");
    require(g.size() == 0 || g.data() != out.data(), "forward_diff_adjoint_into: the output must not alias the input");
    if (dims(out) != dims(g)) {
      require(!accumulate, "forward_diff_adjoint_into: accumulating into dims " + dims_string(dims(out)) +
                               ", expected " + dims_string(dims(g)));
      out.resize(g.dimensions());
    }
    const cfloat* p = g.data();
    cfloat* o = out.data();
    // Per slab (see forward_diff_into): t < inner: -g[t]; inner <= t < (n - 1) inner: g[t - inner] - g[t];
    // the last inner samples: g[t - inner]. A single sample along the axis (n = 1): 0.
    const Index len = n * inner, interior = (n - 1) * inner;
    for_slab_ranges(g.size(), len, [&](Index base, Index t0, Index t1) {
      cfloat* d = o + base;
      const cfloat* q = p + base;
      if (n == 1) {
        if (!accumulate) for (Index t = t0; t < t1; ++t) d[t] = cfloat(0);
        return;
      }
      const Index e0 = std::min(t1, inner), e1 = std::min(t1, interior);
      if (accumulate) {
        for (Index t = t0; t < e0; ++t) d[t] -= q[t];
        for (Index t = std::max(t0, inner); t < e1; ++t) d[t] += q[t - inner] - q[t];
        for (Index t = std::max(t0, interior); t < t1; ++t) d[t] += q[t - inner];
      } else {
        for (Index t = t0; t < e0; ++t) d[t] = -q[t];
        for (Index t = std::max(t0, inner); t < e1; ++t) d[t] = q[t - inner] - q[t];
        for (Index t = std::max(t0, interior); t < t1; ++t) d[t] = q[t - inner];
      }
    });
  }

  /// Centred unitary 1D DFT along `axis` (3 = frame: the x-f transform of dynamic MRI; any axis 0..4 works):
  /// fftshift(fft(ifftshift(a))) / sqrt(n) along that axis. Throws Error for an axis outside 0..4.
  static Array fftc_axis(const Array& a, int axis) { return transform_axis(a, axis, FFTW_FORWARD); }
  /// Centred unitary inverse 1D DFT along `axis`, the adjoint (and inverse) of fftc_axis.
  static Array ifftc_axis(const Array& a, int axis) { return transform_axis(a, axis, FFTW_BACKWARD); }

  /// Centre crop or zero-pad of every (x, y) plane to nx x ny (coil, frame, batch kept): output index j holds
  /// input index j - nx/2 + in_nx/2 (integer division), so the k-space centre (index n/2) stays the centre, as
  /// BART's `resize -c` and fastMRI's center_crop. Zero padding and cropping to the same centre are each other's
  /// adjoints. Throws Error for non-positive sizes.
  static Array resize_xy(const Array& a, Index nx, Index ny) {
    require(nx > 0 && ny > 0, "resize_xy: target size must be positive, got " + std::to_string(nx) + " x " +
                                  std::to_string(ny));
    const Dims d = dims(a);
    Array out(nx, ny, d[2], d[3], d[4]);
    out.setZero();
    const Index ox = d[0] / 2 - nx / 2, oy = d[1] / 2 - ny / 2;  // input index = output index + offset
    const Index planes = d[2] * d[3] * d[4];
    for (Index p = 0; p < planes; ++p)
      for (Index y = 0; y < ny; ++y) {
        const Index iy = y + oy;
        if (iy < 0 || iy >= d[1]) continue;
        for (Index x = 0; x < nx; ++x) {
          const Index ix = x + ox;
          if (ix >= 0 && ix < d[0]) out.data()[(p * ny + y) * nx + x] = a.data()[(p * d[1] + iy) * d[0] + ix];
        }
      }
    return out;
  }

  /// Per-sample scalars: one value per batch entry (the last axis), for step sizes that must not couple the
  /// samples of a batch (CG's alpha and beta). Accumulated in double precision.
  using Scalars = std::vector<std::complex<double>>;
  /// <a_b, b_b> = sum conj(a) b over everything but the batch axis, one value per batch entry. Throws Error when
  /// the dims differ.
  static Scalars dot_batch(const Array& a, const Array& b) {
    require(dims(a) == dims(b), "dot_batch: dims " + dims_string(dims(a)) + " and " + dims_string(dims(b)) + " differ");
    const Index nb = a.dimension(4), per = nb ? a.size() / nb : 0;
    Scalars s(static_cast<std::size_t>(nb));
    for (Index k = 0; k < nb; ++k) {
      std::complex<double> acc = 0;
      const cfloat* pa = a.data() + k * per;
      const cfloat* pb = b.data() + k * per;
      for (Index i = 0; i < per; ++i) acc += std::complex<double>(std::conj(pa[i])) * std::complex<double>(pb[i]);
      s[static_cast<std::size_t>(k)] = acc;
    }
    return s;
  }
  /// Elementwise num / den per sample, 0 where den is 0 (a converged or degenerate sample takes no step).
  static Scalars divide(const Scalars& num, const Scalars& den) {
    Scalars out(num.size());
    for (std::size_t i = 0; i < num.size(); ++i) out[i] = den[i] == 0.0 ? 0.0 : num[i] / den[i];
    return out;
  }
  /// s where |value| > 1e-12 |reference| (per sample), else 0: freezes a sample whose residual has reached the
  /// float precision floor ((10 eps)^2 relative), so that ratios of rounding noise never become steps.
  static Scalars keep_above(const Scalars& s, const Scalars& value, const Scalars& reference) {
    Scalars out(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = std::abs(value[i]) > 1e-12 * std::abs(reference[i]) ? s[i] : 0.0;
    return out;
  }
  /// -s per sample.
  static Scalars negate(const Scalars& s) {
    Scalars out(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = -s[i];
    return out;
  }
  /// The scalars as host values.
  static std::vector<std::complex<double>> to_host(const Scalars& s) { return s; }
  /// s_b * x_b + y_b for every batch entry b. Throws Error on a dims or count mismatch.
  static Array scale_add(const Scalars& s, const Array& x, const Array& y) {
    require(dims(x) == dims(y) && Index(s.size()) == x.dimension(4), "scale_add: mismatched dims or scalar count");
    Array out(x.dimensions());
    const Index nb = x.dimension(4), per = nb ? x.size() / nb : 0;
    for (Index k = 0; k < nb; ++k) {
      const cfloat a(s[static_cast<std::size_t>(k)]);
      const cfloat* px = x.data() + k * per;
      const cfloat* py = y.data() + k * per;
      cfloat* po = out.data() + k * per;
      for (Index i = 0; i < per; ++i) po[i] = a * px[i] + py[i];
    }
    return out;
  }

  /// The host (Eigen) array as a backend array: the identity here (Torch copies to a tensor).
  static Array from_host(const CArray& a) { return a; }
  /// A host mask as a backend mask: the identity here.
  static Mask mask_from_host(const RArray& m) { return m; }

  /// Inner product <a, b> = sum conj(a) * b, accumulated in double precision.
  static std::complex<double> dot(const Array& a, const Array& b) {
    // Real arithmetic in double (the products of floats are exact there), in 4 interleaved partial sums added
    // at the end: one sequential sum is bound by the latency of each addition (the solvers' residual norms
    // took a third of a CS-TV iteration). The order is fixed, so the result is the same on every run.
    double re[4] = {0, 0, 0, 0}, im[4] = {0, 0, 0, 0};
    const float* pa = reinterpret_cast<const float*>(a.data());
    const float* pb = reinterpret_cast<const float*>(b.data());
    const Index n = a.size();
    Index i = 0;
    for (; i + 4 <= n; i += 4)
      for (int j = 0; j < 4; ++j) {
        const double ar = pa[2 * (i + j)], ai = pa[2 * (i + j) + 1], br = pb[2 * (i + j)], bi = pb[2 * (i + j) + 1];
        re[j] += ar * br + ai * bi;
        im[j] += ar * bi - ai * br;
      }
    for (; i < n; ++i) {
      const double ar = pa[2 * i], ai = pa[2 * i + 1], br = pb[2 * i], bi = pb[2 * i + 1];
      re[0] += ar * br + ai * bi;
      im[0] += ar * bi - ai * br;
    }
    return {(re[0] + re[1]) + (re[2] + re[3]), (im[0] + im[1]) + (im[2] + im[3])};
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
  /// Samples per block of the threaded elementwise loops (lincomb_into, the norms, the differences).
  static constexpr Index kBlock = 16384;
  /// f(i0, i1) over [0, n): split over the FFT threads (fft_threads) in whole blocks of kBlock samples when n
  /// spans two blocks or more, else one call. For elementwise loops whose values do not depend on the split
  /// (solvers' proximal maps); f must not throw.
  template <class F>
  static void for_blocks(Index n, F&& f) {
    const Index blocks = (n + kBlock - 1) / kBlock;
    if (blocks < 2) {
      f(Index(0), n);
      return;
    }
    detail::parallel_chunks(blocks, fft_threads(), [&](Index k0, Index k1) { f(k0 * kBlock, std::min(n, k1 * kBlock)); });
  }
  /// out = a x + b y, elementwise, into a caller-owned array (resized to x's dims if they differ); `out` may be
  /// x or y itself. Large arrays are split over the FFT threads (elementwise: the same values for any count).
  /// Throws Error when x and y differ in dims.
  static void lincomb_into(cfloat a, const Array& x, cfloat b, const Array& y, Array& out) {
    require(dims(x) == dims(y), "lincomb_into: dims " + dims_string(dims(x)) + " and " + dims_string(dims(y)) + " differ");
    if (dims(out) != dims(x)) out.resize(x.dimensions());
    const cfloat* px = x.data();
    const cfloat* py = y.data();
    cfloat* po = out.data();
    if (a.imag() == 0 && b.imag() == 0) {  // real weights (the solvers' case): a loop over floats that vectorises
      const float ar = a.real(), br = b.real();
      const float* fx = reinterpret_cast<const float*>(px);
      const float* fy = reinterpret_cast<const float*>(py);
      float* fo = reinterpret_cast<float*>(po);
      for_blocks(x.size(), [&](Index i0, Index i1) {
        for (Index i = 2 * i0; i < 2 * i1; ++i) fo[i] = ar * fx[i] + br * fy[i];
      });
    } else {
      for_blocks(x.size(), [&](Index i0, Index i1) {
        for (Index i = i0; i < i1; ++i) po[i] = a * px[i] + b * py[i];
      });
    }
  }
  /// ||w||^2, summed as sum_squares does.
  static double norm_squared(const Array& w) {
    const float* fw = reinterpret_cast<const float*>(w.data());
    return sum_squares(2 * w.size(), [fw](Index r) { return fw[r]; });
  }
  /// ||a (w - x) + b (y - z)||^2 without forming the sum: the residuals of primal-dual solvers (pdhg.hpp). The
  /// differences are taken first, so the value stays accurate as w -> x and y -> z whatever a and b (a step
  /// 1 / sigma, say). b = 0: ||a (w - x)||^2, y and z not read. Summed as sum_squares does. Throws Error when the
  /// four arrays' dims differ.
  static double norm_squared_of_differences(double a, const Array& w, const Array& x, double b, const Array& y,
                                            const Array& z) {
    require(dims(w) == dims(x) && dims(w) == dims(y) && dims(w) == dims(z),
            "norm_squared_of_differences: the arrays' dims differ");
    const float af = float(a), bf = float(b);
    const float* fw = reinterpret_cast<const float*>(w.data());
    const float* fx = reinterpret_cast<const float*>(x.data());
    const float* fy = reinterpret_cast<const float*>(y.data());
    const float* fz = reinterpret_cast<const float*>(z.data());
    if (b == 0) return sum_squares(2 * w.size(), [=](Index r) { return af * (fw[r] - fx[r]); });
    return sum_squares(2 * w.size(), [=](Index r) { return af * (fw[r] - fx[r]) + bf * (fy[r] - fz[r]); });
  }

 private:
  /// sum over r < n of value(r)^2 (n floats; value(r) a float): fixed blocks of 2 kBlock floats split over the
  /// FFT threads, each summed in runs of 256 floats over 8 float lanes (32 squares per lane, relative rounding
  /// ~1e-6), each run's sum added in double, the blocks' sums added in order, so the value does not depend on
  /// the thread count. No allocation for up to 64 blocks (2 M complex samples).
  template <class V>
  static double sum_squares(Index n, const V& value) {
    const Index block = 2 * kBlock, blocks = (n + block - 1) / block;
    double local[64];
    std::vector<double> heap;
    double* partial = local;
    if (blocks > 64) {
      heap.resize(std::size_t(blocks));
      partial = heap.data();
    }
    detail::parallel_chunks(blocks, blocks >= 2 ? fft_threads() : 1, [&](Index k0, Index k1) {
      for (Index k = k0; k < k1; ++k) {
        const Index i1 = std::min(n, (k + 1) * block);
        Index i = k * block;
        double total = 0;
        for (; i + 256 <= i1; i += 256) {
          float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          for (Index r = i; r < i + 256; r += 8)
            for (int j = 0; j < 8; ++j) {
              const float v = value(r + j);
              acc[j] += v * v;
            }
          total += double(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
        }
        for (; i < i1; ++i) {
          const float v = value(i);
          total += double(v * v);
        }
        partial[k] = total;
      }
    });
    double sum = 0;
    for (Index k = 0; k < blocks; ++k) sum += partial[k];
    return sum;
  }
  /// f(base, t0, t1) for every piece of [0, total) cut at multiples of `len` (slabs): base = the slab's first
  /// index, [t0, t1) the piece within it. Split over the FFT threads as for_blocks.
  template <class F>
  static void for_slab_ranges(Index total, Index len, F&& f) {
    if (total == 0 || len == 0) return;
    for_blocks(total, [&](Index i0, Index i1) {
      while (i0 < i1) {
        const Index base = (i0 / len) * len, t0 = i0 - base, t1 = std::min(len, t0 + (i1 - i0));
        f(base, t0, t1);
        i0 += t1 - t0;
      }
    });
  }
  /// (inner stride, length, outer count) of `axis` in dims d; throws Error for an axis outside 0..4.
  static std::tuple<Index, Index, Index> axis_layout(const Dims& d, int axis, const char* who) {
    require(axis >= 0 && axis < 5, std::string(who) + ": axis must be 0 (x), 1 (y), 2 (coil), 3 (frame) or 4 "
                                                      "(batch), got " + std::to_string(axis));
    Index inner = 1, outer = 1;
    for (int i = 0; i < axis; ++i) inner *= d[i];
    for (int i = axis + 1; i < 5; ++i) outer *= d[i];
    return {inner, d[axis], outer};
  }

  /// Calls f(mask plane, x plane, out plane, plane size) for every (coil, frame, batch) plane of x with the mask
  /// plane that broadcasts onto it.
  template <class F>
  static void broadcast_planes(const Mask& m, const Array& x, const char* who, F&& f, Array& out) {
    const Dims md = dims_of(m), d = dims(x);
    require_broadcastable(md, d, std::string(who) + ": mask");
    const Index plane = d[0] * d[1];
    for (Index b = 0; b < d[4]; ++b)
      for (Index fr = 0; fr < d[3]; ++fr)
        for (Index c = 0; c < d[2]; ++c) {
          const Index xp = (b * d[3] + fr) * d[2] + c;
          const Index mp = ((md[4] == 1 ? 0 : b) * md[3] + (md[3] == 1 ? 0 : fr)) * md[2] + (md[2] == 1 ? 0 : c);
          f(m.data() + mp * plane, x.data() + xp * plane, out.data() + xp * plane, plane);
        }
  }

  /// Centred unitary 1D transform along one axis: ifftshift into an aligned buffer, one FFTW strided plan per
  /// outer block, fftshift back with the scale 1/sqrt(n).
  static Array transform_axis(const Array& in, int axis, int sign) {
    const auto [inner, n, outer] = axis_layout(dims(in), axis, sign == FFTW_FORWARD ? "fftc_axis" : "ifftc_axis");
    Array out(in.dimensions());
    if (in.size() == 0) return out;
    fftwf_plan plan = detail::FftwPlanCache::instance().get_strided(n, inner, sign);
    detail::FftwBuffer buf(n * inner);
    const float scale = 1.0f / std::sqrt(static_cast<float>(n));
    const Index ish = (n + 1) / 2, osh = n / 2;
    for (Index b = 0; b < outer; ++b) {
      const cfloat* src = in.data() + b * n * inner;
      cfloat* dst = out.data() + b * n * inner;
      for (Index j = 0; j < n; ++j)
        std::memcpy(buf.ptr + ((j + ish) % n) * inner, src + j * inner, sizeof(cfloat) * inner);
      fftwf_execute_dft(plan, reinterpret_cast<fftwf_complex*>(buf.ptr), reinterpret_cast<fftwf_complex*>(buf.ptr));
      for (Index j = 0; j < n; ++j) {
        const cfloat* s = buf.ptr + j * inner;
        cfloat* d = dst + ((j + osh) % n) * inner;
        for (Index i = 0; i < inner; ++i) d[i] = s[i] * scale;
      }
    }
    return out;
  }

  static Array transform(const Array& in, int sign) {
    Array out(in.dimensions());
    transform_impl(in, out, sign);
    return out;
  }

  /// Sign-and-swap pass of the even-size centred transform on planes [p0, p1) of `o` (each nx x ny, in place):
  /// (y, x) <-> (y + ny/2, x + nx/2 mod nx), each value multiplied by c (-1)^(x + y) (see transform_into).
  /// The centred transform of even nx and ny, with the shifts folded into the transform. For even n,
  /// ifftshift before a DFT multiplies its output by (-1)^k and fftshift after it multiplies its input by (-1)^j,
  /// so centred F = (-1)^(nx/2 + ny/2) M F M with M = (-1)^(x + y): no data is moved but by the DFT itself.
  /// Stage 1 (threads split the rows): blocks of 8 rows are copied into a scratch buffer times M and the unitary
  /// scale, and transformed along x by FFTW straight into the output rows. Stage 2 (threads split the columns):
  /// blocks of 16 columns are gathered into a contiguous buffer, transformed along y and written back times M.
  /// Batches of at least as many planes as threads give each thread whole planes instead. Every
  /// block is computed the same way whatever the thread count, so results do not depend on it. The output must
  /// have FFTW's planning alignment; when it has not (never for Eigen's 16-byte aligned arrays on SSE/AVX
  /// builds), an aligned buffer takes its place.
  static void transform_even(const Array& in, Array& out, int sign) {
    const Dims d = dims(in);
    const Index nx = d[0], ny = d[1], plane = nx * ny, howmany = in.size() / plane;
    constexpr Index kRows = 8, kCols = 16;
    const float c = (((nx + ny) / 2) % 2 ? -1.0f : 1.0f) / std::sqrt(static_cast<float>(plane));
    std::unique_ptr<detail::FftwBuffer> obuf;
    cfloat* o = out.data();
    if (fftwf_alignment_of(reinterpret_cast<float*>(o)) != 0) {
      obuf = std::make_unique<detail::FftwBuffer>(in.size());
      o = obuf->ptr;
    }
    auto& cache = detail::FftwPlanCache::instance();
    const int threads = cache.threads();
    const Index row_blocks = (ny + kRows - 1) / kRows, col_blocks = (nx + kCols - 1) / kCols;
    // Plans for full blocks and the last, shorter one (made here, outside the threads).
    fftwf_plan rows_full = cache.get_1d(nx, std::min(kRows, ny), 1, nx, sign, true);
    fftwf_plan rows_last = ny % kRows ? cache.get_1d(nx, ny % kRows, 1, nx, sign, true) : rows_full;
    fftwf_plan cols_full = cache.get_1d(ny, std::min(kCols, nx), std::min(kCols, nx), 1, sign, false);
    fftwf_plan cols_last = nx % kCols ? cache.get_1d(ny, nx % kCols, nx % kCols, 1, sign, false) : cols_full;
    const cfloat* src = in.data();
    // Row block b (of all planes' blocks) through stage 1; `buf` holds kRows x nx samples.
    auto rows = [&](Index b, cfloat* buf) {
      const Index p = b / row_blocks, y0 = (b % row_blocks) * kRows, y1 = std::min(ny, y0 + kRows);
      for (Index y = y0; y < y1; ++y) {
        const cfloat* s = src + p * plane + y * nx;
        cfloat* t = buf + (y - y0) * nx;
        const float cy = (y & 1) ? -c : c;
        for (Index x = 0; x < nx; x += 2) {
          t[x] = s[x] * cy;
          t[x + 1] = s[x + 1] * -cy;
        }
      }
      fftwf_execute_dft(y1 - y0 == kRows ? rows_full : rows_last, reinterpret_cast<fftwf_complex*>(buf),
                        reinterpret_cast<fftwf_complex*>(o + p * plane + y0 * nx));
    };
    // Column block b through stage 2; `buf` holds ny x kCols samples. The block is gathered into a contiguous
    // (ny, w) buffer: columns nx apart would fall into a few cache sets.
    auto cols = [&](Index b, cfloat* buf) {
      const Index p = b / col_blocks, x0 = (b % col_blocks) * kCols, w = std::min(nx, x0 + kCols) - x0;
      cfloat* a = o + p * plane + x0;
      for (Index y = 0; y < ny; ++y) std::memcpy(buf + y * w, a + y * nx, sizeof(cfloat) * w);
      fftwf_execute_dft(w == kCols ? cols_full : cols_last, reinterpret_cast<fftwf_complex*>(buf),
                        reinterpret_cast<fftwf_complex*>(buf));
      for (Index y = 0; y < ny; ++y) {  // x0 is even: negate where x + y is odd
        const cfloat* t = buf + y * w;
        cfloat* r = a + y * nx;
        const float sy = (y & 1) ? -1.0f : 1.0f;
        for (Index x = 0; x < w; x += 2) {
          r[x] = t[x] * sy;
          r[x + 1] = t[x + 1] * -sy;
        }
      }
    };
    const Index scratch = std::max(kRows * nx, kCols * ny);
    if (howmany >= threads) {
      // Batches: threads split the planes; each plane goes through both stages on one thread while it is in
      // that core's cache.
      detail::parallel_chunks(howmany, threads, [&](Index p0, Index p1) {
        detail::FftwBuffer buf(scratch);
        for (Index p = p0; p < p1; ++p) {
          for (Index b = p * row_blocks; b < (p + 1) * row_blocks; ++b) rows(b, buf.ptr);
          for (Index b = p * col_blocks; b < (p + 1) * col_blocks; ++b) cols(b, buf.ptr);
        }
      });
    } else {
      // Fewer planes than threads: threads split the row blocks, then the column blocks.
      const int t = plane * howmany >= 16384 ? threads : 1;
      detail::parallel_chunks(howmany * row_blocks, t, [&](Index b0, Index b1) {
        detail::FftwBuffer buf(scratch);
        for (Index b = b0; b < b1; ++b) rows(b, buf.ptr);
      });
      detail::parallel_chunks(howmany * col_blocks, t, [&](Index b0, Index b1) {
        detail::FftwBuffer buf(scratch);
        for (Index b = b0; b < b1; ++b) cols(b, buf.ptr);
      });
    }
    if (obuf) std::memcpy(out.data(), obuf->ptr, sizeof(cfloat) * in.size());
  }

 public:
  /// fft2c into a caller-owned array (solvers' hot loops: no allocation, plans and buffers reused): `out` is
  /// resized to in's dims if they differ, then overwritten; it must not alias `in`. Same values as fft2c.
  static void fft2c_into(const Array& in, Array& out) { transform_into(in, out, FFTW_FORWARD); }
  /// ifft2c into a caller-owned array; see fft2c_into.
  static void ifft2c_into(const Array& in, Array& out) { transform_into(in, out, FFTW_BACKWARD); }
  /// a = fft2c(a) in place, the same values (no array of a's size is allocated; the row and column blocks use
  /// small scratch buffers). In place is safe: the
  /// even-size path reads each block of rows into scratch before writing those rows, and the general path shifts
  /// the whole input into scratch first.
  static void fft2c_inplace(Array& a) { transform_impl(a, a, FFTW_FORWARD); }
  /// a = ifft2c(a) in place; see fft2c_inplace.
  static void ifft2c_inplace(Array& a) { transform_impl(a, a, FFTW_BACKWARD); }

 private:
  static void transform_into(const Array& in, Array& out, int sign) {
    require(in.data() != out.data() || in.size() == 0, "fft2c_into: the output must not alias the input");
    transform_impl(in, out, sign);
  }
  /// transform_into without the aliasing check (in == out allowed: see fft2c_inplace).
  static void transform_impl(const Array& in, Array& out, int sign) {
    const Dims d = dims(in);
    const Index nx = d[0], ny = d[1], plane = nx * ny;
    if (dims(out) != d) out.resize(in.dimensions());
    if (in.size() == 0) return;
    const Index howmany = in.size() / plane;
    const float scale = 1.0f / std::sqrt(static_cast<float>(plane));
    if (nx % 2 == 0 && ny % 2 == 0) {
      transform_even(in, out, sign);
      return;
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
  }
};

}  // namespace reconlab
