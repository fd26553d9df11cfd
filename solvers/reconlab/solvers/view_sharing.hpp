#pragma once
/// @file view_sharing.hpp
/// View sharing (k-t data sharing) for Cartesian cine: every k-space sample a frame did not acquire is taken from
/// the nearest frame in time that acquired it, then each frame is inverse Fourier transformed.
///
/// Method: the sliding-window / keyhole family of dynamic MRI, S. J. Riederer, T. Tasciyan, F. Farzaneh, J. N. Lee,
/// R. C. Wright, R. J. Herfkens, "MR fluoroscopy: technical feasibility", MRM 8 (1988) 1-15 (sliding-window
/// reconstruction: each image uses the most recent acquisition of every view); J. J. van Vaals et al., "Keyhole
/// imaging", JMRI 3 (1993) 671-675; nearest-neighbour k-t data sharing as in the "data sharing" layer of
/// J. Schlemper et al., IEEE TMI 37 (2018) 491-503, Sec. III-C, with the window grown until the location is found.
///
/// Rule implemented (for a binary per-frame mask, dims (nx, ny, 1, frames or 1, 1)):
///  - the unit is one k-space location (x, y); for a Cartesian line mask (every y of a column x sampled together)
///    this is "each phase-encode line", for a 2D mask each sample;
///  - frame f keeps its own samples; a location it did not sample is filled from the frame g that sampled it with
///    the smallest temporal distance: cyclic (cine is periodic over the cardiac cycle, d = min(|f - g|,
///    T - |f - g|)) by default, or |f - g| with `cyclic = false`;
///  - ties (two frames at the same distance) go to the earlier frame: f - d (mod T when cyclic) before f + d;
///  - a location no frame sampled stays zero;
///  - with one mask plane for all frames nothing can be shared and the result equals zero-filled.
/// Coils: every coil is filled from the same source frame (the mask is shared by the coils). Coil combination:
/// single-coil returns the filled frame's image; multi-coil without maps returns the root-sum-of-squares (as
/// zero_filled); multi-coil with sensitivity maps returns the least-squares combination
/// (S^H S)^{-1} S^H x = sum_c conj(s_c) x_c / sum_c |s_c|^2 where sum_c |s_c|^2 > 0 (0 elsewhere), which is S^H
/// for maps normalised to sum_c |s_c|^2 = 1 (ESPIRiT, RSS-divided maps).
///
/// Trajectory (radial) cines: the sliding window of Riederer et al. 1988 for non-Cartesian data (as in real-time
/// radial MRI, e.g. the golden-angle sliding window of Winkelmann et al., IEEE TMI 26, 2007): frame f is gridded
/// from the spokes of the `window` frames centred on it (f - h .. f + h, h = window / 2; cyclic: modulo T; linear:
/// the window shifted to stay within the acquisition), with Pipe and Menon's density of that combined trajectory
/// (gridding.hpp), then coil-combined as above. A golden-angle acquisition's neighbouring frames hold new angles,
/// so the window fills k-space at the cost of temporal blurring: the window trades aliasing against motion.
#include <algorithm>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/gridding.hpp"

namespace reconlab::solvers {

/// For each frame f and k-space location i of a binary mask (dims (nx, ny, 1, frames, 1), values 0/1; one plane
/// (frames = 1) is allowed and then `frames` gives the count), the frame whose sample fills (i, f) under the rule
/// of this file: f itself when sampled, else the nearest sampling frame (cyclic distance when `cyclic`, ties to
/// the earlier frame), or -1 when no frame sampled i. Returns a vector of nx * ny * frames entries, index
/// i + nx * ny * f (i = x + nx * y). Throws Error for a non-binary mask, a mask with coil or batch axes > 1, a
/// mask whose frame count is neither 1 nor `frames`, or frames < 1.
inline std::vector<int> view_sharing_sources(const RArray& mask, Index frames, bool cyclic = true) {
  const Dims md = dims_of(mask);
  require(frames >= 1, "view sharing: frames must be >= 1, got " + std::to_string(frames));
  require(md[2] == 1 && md[4] == 1 && (md[3] == 1 || md[3] == frames),
          "view sharing: mask dims " + dims_string(md) + " do not fit " + std::to_string(frames) +
              " frames (expected (nx, ny, 1, frames or 1, 1))");
  const Index plane = md[0] * md[1], T = frames;
  auto sampled = [&](Index i, Index f) {
    const float v = mask.data()[(md[3] == 1 ? 0 : f) * plane + i];
    require(v == 0.0f || v == 1.0f, "view sharing needs a 0/1 mask, found " + std::to_string(v) + " at location " +
                                        std::to_string(i) + ", frame " + std::to_string(f));
    return v == 1.0f;
  };
  std::vector<int> src(std::size_t(plane * T), -1);
  std::vector<char> has(static_cast<std::size_t>(T));
  for (Index i = 0; i < plane; ++i) {
    bool any = false;
    for (Index f = 0; f < T; ++f) {
      has[std::size_t(f)] = sampled(i, f);
      any |= bool(has[std::size_t(f)]);
    }
    if (!any) continue;
    for (Index f = 0; f < T; ++f) {
      int best = -1;
      for (Index d = 0; d < T && best < 0; ++d) {
        // Earlier frame first (ties go to it), then the later one.
        for (Index g : {f - d, f + d}) {
          if (cyclic) g = ((g % T) + T) % T;
          if (g < 0 || g >= T) continue;
          if (has[std::size_t(g)]) {
            best = int(g);
            break;
          }
        }
      }
      src[std::size_t(f * plane + i)] = best;
    }
  }
  return src;
}

/// The shared k-space: `kspace` (dims (nx, ny, coils, frames, 1), centred; only samples the mask marks are used,
/// others are treated as not acquired) with every location a frame did not sample copied, for all coils, from
/// the frame view_sharing_sources chooses; never-sampled locations are zero. Returns the same dims. Throws Error
/// as view_sharing_sources and when the mask's in-plane size differs from the k-space's.
inline CArray view_share_kspace(const CArray& kspace, const RArray& mask, bool cyclic = true) {
  const Dims kd = dims_of(kspace), md = dims_of(mask);
  require(md[0] == kd[0] && md[1] == kd[1], "view sharing: mask dims " + dims_string(md) +
                                                " and k-space dims " + dims_string(kd) + " differ in-plane");
  require(kd[4] == 1, "view sharing: one case at a time (batch 1), k-space dims " + dims_string(kd));
  const std::vector<int> src = view_sharing_sources(mask, kd[3], cyclic);
  const Index plane = kd[0] * kd[1], nc = kd[2];
  CArray out(kspace.dimensions());
  out.setZero();
  for (Index f = 0; f < kd[3]; ++f)
    for (Index i = 0; i < plane; ++i) {
      const int g = src[std::size_t(f * plane + i)];
      if (g < 0) continue;
      for (Index c = 0; c < nc; ++c)
        out.data()[(f * nc + c) * plane + i] = kspace.data()[(Index(g) * nc + c) * plane + i];
    }
  return out;
}

/// The smallest odd sliding window (in frames) whose spokes reach the radial Nyquist count pi/2 N (N the larger
/// image side) for `spokes_per_frame` spokes per frame, at most `frames` (then `frames` itself, even or odd).
/// Throws Error for spokes_per_frame < 1 or frames < 1.
inline Index nyquist_window(Index spokes_per_frame, Index n, Index frames) {
  require(spokes_per_frame >= 1 && frames >= 1, "nyquist_window: needs spokes_per_frame >= 1 and frames >= 1");
  Index w = Index(std::ceil(M_PI / 2 * double(n) / double(spokes_per_frame)));
  if (w % 2 == 0) ++w;
  return std::min(w, frames);
}

/// The frames of frame f's sliding window (view_sharing.hpp's header): `window` frames centred on f, modulo T when
/// `cyclic`, else shifted to lie within 0..T-1; all T frames when window >= T. Throws Error for window < 1 or f
/// outside 0..T-1.
inline std::vector<Index> sliding_window_frames(Index f, Index T, Index window, bool cyclic) {
  require(window >= 1 && f >= 0 && f < T, "sliding window: needs window >= 1 and a frame within the acquisition");
  std::vector<Index> out;
  if (window >= T) {
    for (Index g = 0; g < T; ++g) out.push_back(g);
    return out;
  }
  const Index h = window / 2;
  Index start = f - h;
  if (!cyclic) start = std::clamp<Index>(start, 0, T - window);
  for (Index k = 0; k < window; ++k) out.push_back(cyclic ? ((start + k) % T + T) % T : start + k);
  return out;
}

/// Sliding-window gridding of a trajectory cine (the header's rule): coil images (nx, ny, C, T, 1), frame f the
/// density-compensated adjoint NUFFT of the spokes of sliding_window_frames(f, T, window, cyclic) with Pipe and
/// Menon's density of those spokes (the acquisition's own density is not used: it belongs to one frame's spokes).
/// Throws Error for a Cartesian acquisition, window < 1, and as the NUFFT.
inline CArray sliding_window_gridding(const Acquisition& acq, Index window, bool cyclic) {
  validate_acquisition(acq);
  require(!acq.cartesian(), "sliding_window_gridding: the acquisition is Cartesian (use view_share_kspace)");
  const Index S = acq.kspace.dimension(0), Y = acq.kspace.dimension(1), C = acq.kspace.dimension(2), T = acq.frames();
  const RArray coords = trajectory_for_frames(acq.trajectory().coords, T);
  const Dims id = acq.resolved_image_dims();
  CArray out(id[0], id[1], C, T, 1);
  for (Index f = 0; f < T; ++f) {
    const std::vector<Index> frames = sliding_window_frames(f, T, window, cyclic);
    const Index W = Index(frames.size());
    Acquisition a;
    a.kspace = CArray(S, Y * W, C, 1, 1);
    RArray t(2, S, Y * W, 1, 1);
    for (Index k = 0; k < W; ++k)
      for (Index j = 0; j < Y; ++j) {
        for (Index i = 0; i < S; ++i) {
          t(0, i, k * Y + j, 0, 0) = coords(0, i, j, frames[std::size_t(k)], 0);
          t(1, i, k * Y + j, 0, 0) = coords(1, i, j, frames[std::size_t(k)], 0);
        }
        for (Index c = 0; c < C; ++c)
          for (Index i = 0; i < S; ++i) a.kspace(i, k * Y + j, c, 0, 0) = acq.kspace(i, j, c, frames[std::size_t(k)], 0);
      }
    a.sampling = Trajectory{t, std::nullopt};
    a.image_dims = Dims{id[0], id[1], 1, 1, 1};
    out.chip(f, 3) = gridded_coil_images(a).chip(0, 3);
  }
  return out;
}

/// View sharing as a Reconstructor (name "view-sharing"): Cartesian k-t data: view_share_kspace, then the per-frame
/// centred inverse FFT; trajectory cines: sliding_window_gridding with `window` frames (0: nyquist_window of the
/// acquisition's spokes per frame); then the coil combination of this file's header. Output dims (nx, ny, 1,
/// frames, 1) in the units of F^H kspace. Throws Error for an invalid acquisition (validate_acquisition), sampling
/// weights (a 0/1 mask is needed to know what was acquired) or a per-coil mask.
class ViewSharingReconstructor : public Reconstructor {
 public:
  /// `cyclic`: temporal distance taken around the cardiac cycle (cine), else linear. `window`: the sliding window
  /// of trajectory cines in frames (0: automatic, nyquist_window); unused for Cartesian data. Throws Error for
  /// window < 0.
  explicit ViewSharingReconstructor(bool cyclic = true, Index window = 0) : cyclic_(cyclic), window_(window) {
    require(window >= 0, "view-sharing: the sliding window must be >= 0 frames (0: automatic)");
  }
  std::string name() const override { return "view-sharing"; }
  nlohmann::json parameters() const override {
    return {{"cyclic", cyclic_},
            {"rule", "each unsampled k-space location filled from the nearest frame that sampled it (ties to the "
                     "earlier frame); never-sampled locations zero"},
            {"trajectories", "sliding window: each frame gridded from the spokes of the window frames centred on it "
                             "(Pipe-Menon density)"},
            {"window", window_ > 0 ? nlohmann::json(window_) : nlohmann::json("nyquist")},
            {"coil_combination", "rss without maps; sum conj(s) x / sum |s|^2 with maps"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    if (!acq.cartesian()) {
      const Dims id = acq.resolved_image_dims();
      const Index w = window_ > 0 ? window_ : nyquist_window(acq.kspace.dimension(1), std::max(id[0], id[1]), acq.frames());
      return combine(sliding_window_gridding(acq, w, cyclic_), acq);
    }
    require_binary_mask(acq, "view-sharing");
    const RArray& m = acq.mask();
    require(m.dimension(2) == 1, "view-sharing: the mask must be shared by all coils (dims (nx, ny, 1, ..)), got " +
                                     dims_string(dims_of(m)));
    const CArray masked = EigenFftw::multiply_mask(m, acq.kspace);
    return combine(EigenFftw::ifft2c(view_share_kspace(masked, m, cyclic_)), acq);
  }

 private:
  /// The coil combination of the header.
  static CArray combine(const CArray& coil_images, const Acquisition& acq) {
    if (acq.coils() == 1) return coil_images;
    if (!acq.sensitivities) return to_complex(rss(coil_images));
    const CArray& s = *acq.sensitivities;
    CArray out = EigenFftw::coil_combine(s, coil_images);
    const Index plane = s.dimension(0) * s.dimension(1), nc = s.dimension(2);
    std::vector<float> w(std::size_t(plane), 0.0f);
    for (Index c = 0; c < nc; ++c)
      for (Index i = 0; i < plane; ++i) w[std::size_t(i)] += std::norm(s.data()[c * plane + i]);
    for (Index f = 0; f < out.dimension(3); ++f)
      for (Index i = 0; i < plane; ++i) {
        cfloat& v = out.data()[f * plane + i];
        v = w[std::size_t(i)] > 0 ? v / w[std::size_t(i)] : cfloat(0);
      }
    return out;
  }

  bool cyclic_;
  Index window_;
};

}  // namespace reconlab::solvers
