/// @file reconlab_python.cpp
/// `import reconlab`: the Python module (pybind11, Debian pybind11-dev). It exposes masks, metrics, the centred FFT,
/// the forward models (apply / adjoint / normal; Cartesian and NUFFT), every method of `reconlab recon` on Cartesian
/// k-space and on trajectories (classical and, when reconlab was built with networks, trained networks by path), and
/// the file readers.
///
/// Trajectories. Samples are (frames, coils, spokes, samples) with the leading axes optional, as `reconlab recon
/// --traj` reads them from .npy; coordinates (frames, spokes, samples, 2 or 3) or (spokes, samples, 2 or 3) in
/// cycles per field of view (kx, ky, kz = 0), as BART's trajectories; density weights (frames, spokes, samples).
///
/// Axis order. A NumPy array in C order with shape (batch, frames, coils, ny, nx) holds the same bytes as reconlab's
/// column-major (nx, ny, coils, frames, batch) array, so the module maps one onto the other with the leading NumPy axes
/// optional: (ny, nx) is one image, (coils, ny, nx) multi-coil k-space or coil maps, (frames, coils, ny, nx) a cine
/// (coils = 1 for single-coil). Masks follow the same rule: (ny, nx) for every frame, or (frames, 1, ny, nx) per
/// frame. Results come back with their leading singleton axes dropped (never ny or nx).
///
/// Copies. Inputs are copied once into reconlab's arrays (any dtype NumPy can cast to complex64 / float32; a
/// complex64 C-contiguous input is one memcpy). Results are not copied: the NumPy array owns reconlab's buffer.
///
/// Errors. reconlab's errors (bad shapes, bad files, bad parameters) raise reconlab.Error, a subclass of ValueError,
/// carrying reconlab's message.
#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "methods.hpp"
#include "recon_methods.hpp"
#include "reconlab/acquisition.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/io/array_file.hpp"
#include "reconlab/io/fastmri.hpp"
#include "reconlab/io/image_file.hpp"
#include "reconlab/io/ismrmrd.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"

namespace py = pybind11;
using namespace reconlab;

namespace {

using CNumpy = py::array_t<cfloat, py::array::c_style | py::array::forcecast>;
using RNumpy = py::array_t<float, py::array::c_style | py::array::forcecast>;
using DNumpy = py::array_t<double, py::array::c_style | py::array::forcecast>;  ///< trajectory coordinates

/// reconlab dims (nx, ny, coils, frames, batch) of a C-order NumPy shape (..., ny, nx) with 2 to 5 axes.
Dims dims_from_shape(const py::array& a, const std::string& what) {
  const py::ssize_t nd = a.ndim();
  require(nd >= 2 && nd <= 5, what + " must have 2 to 5 axes ((batch, frames, coils,) ny, nx), got " +
                                  std::to_string(nd));
  Dims d{1, 1, 1, 1, 1};
  for (py::ssize_t i = 0; i < nd; ++i) d[std::size_t(i)] = Index(a.shape(nd - 1 - i));
  require(d[0] > 0 && d[1] > 0, what + " is empty (ny or nx is 0)");
  return d;
}

/// The NumPy shape (batch, frames, coils, ny, nx) of reconlab dims (nx, ny, coils, frames, batch), leading 1s dropped.
std::vector<py::ssize_t> numpy_shape(const Dims& d) {
  std::vector<py::ssize_t> s{py::ssize_t(d[1]), py::ssize_t(d[0])};
  Index lead = 4;
  while (lead >= 2 && d[std::size_t(lead)] == 1) --lead;
  for (Index i = 2; i <= lead; ++i) s.insert(s.begin(), py::ssize_t(d[std::size_t(i)]));
  return s;
}

template <class T>
Eigen::Tensor<T, 5, Eigen::ColMajor> to_tensor(const py::array_t<T, py::array::c_style | py::array::forcecast>& a,
                                               const std::string& what) {
  const Dims d = dims_from_shape(a, what);
  Eigen::Tensor<T, 5, Eigen::ColMajor> t(d[0], d[1], d[2], d[3], d[4]);
  std::copy(a.data(), a.data() + t.size(), t.data());
  return t;
}

/// The NumPy array that owns `t`'s buffer, shape (batch, frames, coils, ny, nx) with leading 1s dropped.
template <class T>
py::array_t<T> to_numpy(Eigen::Tensor<T, 5, Eigen::ColMajor>&& t) {
  const std::vector<py::ssize_t> shape = numpy_shape(dims_of(t));
  auto* owner = new Eigen::Tensor<T, 5, Eigen::ColMajor>(std::move(t));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<Eigen::Tensor<T, 5, Eigen::ColMajor>*>(p); });
  return py::array_t<T>(shape, owner->data(), free_when_done);
}

/// A complex or real NumPy image as reconlab's real image for metrics: magnitude of complex input, real as given
/// (scikit-image's convention, as `reconlab metrics`).
RArray metric_image(const py::array& a, const std::string& what) {
  if (py::isinstance<py::array_t<std::complex<float>>>(a) || py::isinstance<py::array_t<std::complex<double>>>(a))
    return to_tensor<cfloat>(CNumpy::ensure(a), what).abs();
  return to_tensor<float>(RNumpy::ensure(a), what);
}

/// An Acquisition from NumPy k-space (..., ny, nx), an optional mask and maps, validated as reconlab recon does.
Acquisition make_acquisition(const CNumpy& kspace, const std::optional<RNumpy>& mask, const std::optional<CNumpy>& sens,
                             std::optional<Index> upscale, const std::string& low_resolution) {
  Acquisition acq;
  acq.kspace = to_tensor<cfloat>(kspace, "kspace");
  const Dims kd = dims_of(acq.kspace);
  require(kd[4] == 1, "kspace: a batch axis is not supported; pass one slice at a time ((frames,) (coils,) ny, nx)");
  acq.sampling = mask ? CartesianMask{to_tensor<float>(*mask, "mask")} : CartesianMask{mask_from_kspace(acq.kspace)};
  if (sens) acq.sensitivities = to_tensor<cfloat>(*sens, "sens");
  if (upscale) {
    require(*upscale >= 1, "upscale must be >= 1, got " + std::to_string(*upscale));
    acq.low_resolution = low_resolution_from_string(low_resolution);
    require(acq.low_resolution != LowResolution::none, "low_resolution must be kspace-truncation or block-average");
    acq.image_dims = {kd[0] * *upscale, kd[1] * *upscale, 1, kd[3], 1};
  }
  validate_acquisition(acq);
  if (kd[2] > 1 || acq.sensitivities) solvers::validate_multicoil(acq);
  return acq;
}

/// The forward model A of a Cartesian acquisition, held for repeated apply / adjoint / normal.
struct PyOperator {
  AnyOperator<CArray> op;
  Dims domain, range;  ///< (nx, ny, coils, frames, 1) of the image and of the k-space
  CNumpy apply(const CNumpy& x) const { return to_numpy(op.apply(checked(x, domain, "x"))); }
  CNumpy adjoint(const CNumpy& y) const { return to_numpy(op.adjoint(checked(y, range, "y"))); }
  CNumpy normal(const CNumpy& x) const { return to_numpy(op.normal(checked(x, domain, "x"))); }
  static CArray checked(const CNumpy& a, const Dims& want, const std::string& what) {
    CArray t = to_tensor<cfloat>(a, what);
    require(dims_of(t) == want, what + " has reconlab dims " + dims_string(dims_of(t)) + ", the operator expects " +
                                    dims_string(want) + " (nx, ny, coils, frames, batch)");
    return t;
  }
};

/// reconlab's image grid {nx, ny} of a NumPy shape (ny, nx), when given.
std::optional<std::pair<Index, Index>> image_grid(const std::optional<std::pair<Index, Index>>& ny_nx) {
  if (!ny_nx) return std::nullopt;
  return std::pair<Index, Index>{ny_nx->second, ny_nx->first};
}

/// Trajectory coords (2, samples, spokes, frames, 1) from NumPy (frames, spokes, samples, 2|3) or (spokes,
/// samples, 2|3), checked by io::trajectory_from_values.
RArray trajectory_coords(const DNumpy& t) {
  const py::ssize_t nd = t.ndim();
  require(nd == 3 || nd == 4, "traj must be (spokes, samples, 2 or 3) or (frames, spokes, samples, 2 or 3), got " +
                                  std::to_string(nd) + " axes");
  const Index c = t.shape(nd - 1), S = t.shape(nd - 2), Y = t.shape(nd - 3), T = nd == 4 ? t.shape(0) : 1;
  return io::trajectory_from_values(std::vector<double>(t.data(), t.data() + t.size()), c, S, Y, T, "traj");
}

/// A trajectory Acquisition from NumPy samples, coordinates, optional density weights, grid (ny, nx) and maps.
Acquisition make_trajectory_acquisition(const CNumpy& kspace, const DNumpy& traj,
                                        const std::optional<RNumpy>& density,
                                        const std::optional<std::pair<Index, Index>>& shape,
                                        const std::optional<CNumpy>& sens) {
  CArray k = to_tensor<cfloat>(kspace, "kspace");
  require(dims_of(k)[4] == 1, "kspace: trajectory samples are (frames, coils, spokes, samples); no batch axis");
  std::optional<CArray> w;
  if (density) w = CArray(to_tensor<float>(*density, "density").cast<cfloat>());
  std::optional<CArray> maps;
  if (sens) maps = to_tensor<cfloat>(*sens, "sens");
  return tool::trajectory_acquisition(std::move(k), trajectory_coords(traj), w, image_grid(shape), std::move(maps),
                                      {"kspace", "traj", "density"});
}

py::dict metrics_dict(const Metrics& m) {
  py::dict out;
  out["psnr"] = m.psnr, out["ssim"] = m.ssim, out["nmse"] = m.nmse, out["rmse"] = m.rmse,
  out["data_range"] = m.data_range;
  return out;
}

}  // namespace

PYBIND11_MODULE(reconlab, m) {
  m.doc() = "reconlab: MRI reconstruction from undersampled k-space (C++20, header-only), from Python. NumPy arrays "
            "are C order (batch, frames, coils, ny, nx) with the leading axes optional; k-space is centred (DC at "
            "index n // 2), the FFT unitary.";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);

  m.def(
      "fft2c",
      [](const CNumpy& x) { return to_numpy(EigenFftw::fft2c(to_tensor<cfloat>(x, "x"))); }, py::arg("x"),
      "Centred unitary 2D DFT over the last two axes: fftshift(fft2(ifftshift(x), norm='ortho')). x: (..., ny, nx), "
      "up to 5 axes; returns complex64 of the same shape.");
  m.def(
      "ifft2c",
      [](const CNumpy& k) { return to_numpy(EigenFftw::ifft2c(to_tensor<cfloat>(k, "k"))); }, py::arg("k"),
      "Inverse of fft2c: fftshift(ifft2(ifftshift(k), norm='ortho')) over the last two axes.");

  m.def(
      "mask",
      [](const std::string& kind, std::pair<Index, Index> shape, double acceleration, double center_fraction,
         std::int64_t seed, Index frames, std::optional<Index> center_lines, Index calib) {
        const auto [ny, nx] = shape;
        SamplingMask s;
        if (kind == "random") s = random_column_mask(nx, ny, center_fraction, acceleration, seed);
        else if (kind == "equispaced") s = equispaced_column_mask(nx, ny, center_fraction, acceleration, seed);
        else if (kind == "equispaced-fraction")
          s = equispaced_fraction_column_mask(nx, ny, center_fraction, acceleration, seed);
        else if (kind == "poisson") s = poisson_disc_mask(nx, ny, acceleration, calib, seed);
        else if (kind == "kt-vd" || kind == "kt-gaussian") {
          const Index c = center_lines.value_or(Index(std::llround(center_fraction * double(nx))));
          s = kind == "kt-vd" ? kt_variable_density_mask(nx, ny, frames, acceleration, c, seed)
                              : kt_gaussian_mask(nx, ny, frames, acceleration, c, seed);
        } else {
          throw Error("mask kind must be random, equispaced, equispaced-fraction, poisson, kt-vd or kt-gaussian, got '" +
                      kind + "'");
        }
        return py::make_tuple(to_numpy(std::move(s.mask)), s.description);
      },
      py::arg("kind"), py::arg("shape"), py::arg("acceleration"), py::arg("center_fraction") = 0.08,
      py::arg("seed") = 0, py::arg("frames") = 1, py::arg("center_lines") = py::none(), py::arg("calib") = 24,
      "A sampling mask and its description. kind: random | equispaced | equispaced-fraction (fastMRI's column masks, "
      "bit for bit for the same seed), poisson (variable-density Poisson disc with a calib x calib centre), kt-vd | "
      "kt-gaussian (k-t line masks, a new pattern per frame; center_lines defaults to round(center_fraction nx)). "
      "shape: (ny, nx); acceleration R >= 1; seed in [0, 2^32 - 1]. Returns (mask float32 (ny, nx) or (frames, 1, ny, "
      "nx) of 0/1, description).");

  m.def(
      "metrics",
      [](const py::array& target, const py::array& prediction, std::optional<double> data_range) {
        return metrics_dict(compute_metrics(metric_image(target, "target"), metric_image(prediction, "prediction"),
                                            data_range));
      },
      py::arg("target"), py::arg("prediction"), py::arg("data_range") = py::none(),
      "PSNR (dB), SSIM and NMSE of one 2D image (ny, nx) as scikit-image / fastMRI define them: data range "
      "max(target) unless given, SSIM with a 7 x 7 uniform window. Complex inputs are compared by magnitude. Returns a "
      "dict {psnr, ssim, nmse, rmse, data_range}.");

  py::class_<PyOperator>(m, "Operator",
                         "A forward model A (centred FFT, sampling mask, coil maps): apply, adjoint, normal = A^H A.")
      .def("apply", &PyOperator::apply, py::arg("x"), "A x: image -> k-space")
      .def("adjoint", &PyOperator::adjoint, py::arg("y"), "A^H y: k-space -> image")
      .def("normal", &PyOperator::normal, py::arg("x"), "A^H A x")
      .def_property_readonly("domain_shape", [](const PyOperator& o) { return numpy_shape(o.domain); })
      .def_property_readonly("range_shape", [](const PyOperator& o) { return numpy_shape(o.range); });

  m.def(
      "forward_model",
      [](const RNumpy& mask, const std::optional<CNumpy>& sens, Index coils) {
        Acquisition acq;
        acq.sampling = CartesianMask{to_tensor<float>(mask, "mask")};
        const Dims md = dims_of(acq.mask());
        if (sens) acq.sensitivities = to_tensor<cfloat>(*sens, "sens");
        const Index c = sens ? acq.sensitivities->dimension(2) : coils;
        require(c >= 1, "coils must be >= 1");
        acq.kspace = CArray(md[0], md[1], c, md[3], 1);
        acq.kspace.setZero();
        if (sens) solvers::validate_multicoil(acq);
        const Dims range = dims_of(acq.kspace);
        const Dims domain{md[0], md[1], sens ? 1 : c, md[3], 1};
        return PyOperator{forward_model<EigenFftw>(acq), domain, range};
      },
      py::arg("mask"), py::arg("sens") = py::none(), py::arg("coils") = 1,
      "The Cartesian forward model: A = M F S (SENSE, Pruessmann et al. 2001) with coil maps sens (coils, ny, nx), "
      "else A = M F on images with `coils` coils. mask: (ny, nx) or per frame (frames, 1, ny, nx), 0/1 or weights.");

  m.def(
      "nufft_model",
      [](const DNumpy& traj,
         const std::optional<std::pair<Index, Index>>& shape, const std::optional<CNumpy>& sens, Index coils) {
        RArray coords = trajectory_coords(traj);
        const Index S = coords.dimension(1), Y = coords.dimension(2), T = coords.dimension(3);
        Index c = coils;
        std::optional<CArray> maps;
        if (sens) {
          maps = to_tensor<cfloat>(*sens, "sens");
          c = maps->dimension(2);
        }
        require(c >= 1, "coils must be >= 1");
        CArray zeros(S, Y, c, T, 1);
        zeros.setZero();
        const Acquisition acq = tool::trajectory_acquisition(std::move(zeros), std::move(coords), std::nullopt,
                                                             image_grid(shape), std::move(maps),
                                                             {"kspace", "traj", "density"});
        const Dims id = acq.image_dims;
        const Dims domain{id[0], id[1], sens ? 1 : c, T, 1};
        return PyOperator{forward_model<EigenFftw>(acq), domain, dims_of(acq.kspace)};
      },
      py::arg("traj"), py::arg("shape") = py::none(), py::arg("sens") = py::none(), py::arg("coils") = 1,
      "The non-Cartesian forward model: A = N S with N the NUFFT (Kaiser-Bessel gridding, Fessler & Sutton 2003; "
      "Beatty et al. 2005) onto the trajectory traj ((frames,) spokes, samples, 2 or 3) in cycles per FOV, S the coil "
      "maps sens (coils, ny, nx) when given, else images with `coils` coils. shape: the image grid (ny, nx), default "
      "BART's estdims rule. apply: image ((frames,) (coils,) ny, nx) -> samples ((frames,) (coils,) spokes, samples).");

  m.def(
      "methods",
      [] {
        std::vector<std::string> all = tool::classical_methods();
        try {
          for (auto& n : tool::network_method_names()) all.push_back(n);
        } catch (const Error&) {
        }
        return all;
      },
      "The method names reconstruct() accepts: the classical ones, then the networks of the model registry when "
      "reconlab was built with them.");

  m.def(
      "reconstruct",
      [](const CNumpy& kspace, const std::string& method, const std::optional<RNumpy>& mask,
         const std::optional<CNumpy>& sens, std::optional<double> lambda, std::optional<double> lambda_t,
         std::optional<double> lambda_l, std::optional<int> iterations, const std::string& maps,
         double window_width, const std::string& weights, std::optional<Index> upscale,
         const std::string& low_resolution,
         const std::optional<DNumpy>& traj,
         const std::optional<RNumpy>& density, const std::optional<std::pair<Index, Index>>& shape,
         Index sliding_window) {
        const tool::ReconOptions o{.lambda = lambda,
                                   .lambda_t = lambda_t,
                                   .lambda_l = lambda_l,
                                   .iterations = iterations,
                                   .maps_source = maps,
                                   .window_width = window_width,
                                   .weights = weights,
                                   .sliding_window = sliding_window};
        Acquisition acq;
        std::unique_ptr<Reconstructor> rec;
        if (traj) {
          require(!mask && !upscale, "mask and upscale apply to Cartesian k-space, not to a trajectory (traj)");
          acq = make_trajectory_acquisition(kspace, *traj, density, shape, sens);
          rec = tool::make_trajectory_reconstructor(method, o, acq);
        } else {
          require(!density && !shape && sliding_window == 0,
                  "density, shape and sliding_window apply to trajectories: give traj");
          acq = make_acquisition(kspace, mask, sens, upscale, low_resolution);
          rec = tool::make_cartesian_reconstructor(method, o, acq);
        }
        CArray img;
        {
          py::gil_scoped_release release;
          img = rec->reconstruct(acq);
        }
        return to_numpy(std::move(img));
      },
      py::arg("kspace"), py::arg("method") = "zero-filled", py::arg("mask") = py::none(), py::arg("sens") = py::none(),
      py::arg("lambda_") = py::none(), py::arg("lambda_t") = py::none(), py::arg("lambda_l") = py::none(),
      py::arg("iterations") = py::none(), py::arg("maps") = "lowres", py::arg("window_width") = 1.0,
      py::arg("weights") = "", py::arg("upscale") = py::none(), py::arg("low_resolution") = "kspace-truncation",
      py::arg("traj") = py::none(), py::arg("density") = py::none(), py::arg("shape") = py::none(),
      py::arg("sliding_window") = 0,
      "Reconstructs centred Cartesian k-space with any method of methods(), exactly as `reconlab recon --method` "
      "does (same defaults). kspace: (ny, nx), (coils, ny, nx), (frames, coils, ny, nx); mask: (ny, nx) or (frames, "
      "1, ny, nx), default the non-zero samples; sens: coil maps (coils, ny, nx), default estimated from the ACS "
      "region (maps = 'lowres' | 'ecalib'); lambda_, lambda_t, lambda_l, iterations: as --lambda, --lambda-t, "
      "--lambda-l, --iterations; weights: a trained network's final.pt (model.json beside it); upscale: "
      "super-resolution factor of a low-resolution acquisition. Trajectories (as `reconlab recon --traj`): traj "
      "((frames,) spokes, samples, 2 or 3) in cycles per FOV with kspace ((frames,) (coils,) spokes, samples), "
      "density ((frames,) spokes, samples) weights, shape (ny, nx) of the image grid (default BART's estdims rule), "
      "sliding_window (view-sharing). Returns the complex64 image (ny, nx) (cines: (frames, 1, ny, nx)).");

  m.def(
      "read_array", [](const std::string& path) { return to_numpy(io::read_array(path)); }, py::arg("path"),
      "A complex64 array from .npy (C order) or BART .cfl/.hdr, mapped to (batch, frames, coils, ny, nx) with leading "
      "1s dropped.");
  m.def(
      "write_array",
      [](const std::string& path, const CNumpy& a) { io::write_array(path, to_tensor<cfloat>(a, "array")); },
      py::arg("path"), py::arg("array"), "Writes .npy or BART .cfl atomically (reconlab's layout, as read_array).");
  m.def(
      "read_image", [](const std::string& path) { return to_numpy(io::read_image(path)); }, py::arg("path"),
      "A 2D image (or DICOM frames) from .png, one-slice .nii/.nii.gz, .dcm, .npy or .cfl, values as stored.");
  m.def(
      "write_nifti",
      [](const std::string& path, const py::array& image, std::array<double, 3> voxel_mm) {
        io::write_nifti(path, metric_image(image, "image"), voxel_mm);
      },
      py::arg("path"), py::arg("image"), py::arg("voxel_mm") = std::array<double, 3>{1.0, 1.0, 1.0},
      "Writes an image (magnitude of complex input) as NIfTI-1 (.nii or .nii.gz), slices along the leading axes.");

  m.def(
      "read_fastmri",
      [](const std::string& path) {
        io::FastmriFile f = io::read_fastmri(path);
        const Dims d = dims_of(f.kspace);  // (W, H, coils, 1, slices)
        py::dict out;
        // (slices, coils, H, W): the file's own multi-coil order; single-coil files get coils = 1.
        auto k = to_numpy(std::move(f.kspace));
        out["kspace"] = k.reshape({py::ssize_t(d[4]), py::ssize_t(d[2]), py::ssize_t(d[1]), py::ssize_t(d[0])});
        out["mask"] = f.mask ? py::object(to_numpy(std::move(*f.mask))) : py::object(py::none());
        auto volume = [](std::optional<RArray>& v) -> py::object {
          if (!v) return py::none();
          const Dims vd = dims_of(*v);
          return to_numpy(std::move(*v)).reshape({py::ssize_t(vd[4]), py::ssize_t(vd[1]), py::ssize_t(vd[0])});
        };
        out["reconstruction_rss"] = volume(f.reconstruction_rss);
        out["reconstruction_esc"] = volume(f.reconstruction_esc);
        out["header_xml"] = f.header_xml;
        out["encoded_size"] = py::make_tuple(f.encoded_ny, f.encoded_nx);
        out["recon_size"] = py::make_tuple(f.recon_ny, f.recon_nx);
        py::dict attrs;
        attrs["acquisition"] = f.acquisition, attrs["patient_id"] = f.patient_id;
        for (auto [name, v] : {std::pair{"max", f.max}, {"norm", f.norm}, {"acceleration", f.acceleration},
                               {"num_low_frequency", f.num_low_frequency}})
          attrs[name] = v ? py::object(py::float_(*v)) : py::object(py::none());
        out["attrs"] = attrs;
        return out;
      },
      py::arg("path"),
      "A fastMRI .h5 file: dict with kspace complex64 (slices, coils, ny, nx) (coils = 1 for single-coil files), mask "
      "(ny, nx) or None (test files), reconstruction_rss / reconstruction_esc (slices, h, w) or None, header_xml, "
      "encoded_size and recon_size (ny, nx) from the ISMRMRD header, and attrs (acquisition, patient_id, max, norm, "
      "acceleration, num_low_frequency).");

  m.def(
      "read_ismrmrd",
      [](const std::string& path) {
        io::IsmrmrdData d = io::read_ismrmrd(path);
        py::dict out;
        out["kspace"] = to_numpy(std::move(d.acquisition.kspace));
        out["mask"] = to_numpy(RArray(d.acquisition.mask()));
        out["encoded_size"] = py::make_tuple(d.encoded_ny, d.encoded_nx);
        out["recon_size"] = py::make_tuple(d.recon_ny, d.recon_nx);
        out["acceleration"] = d.acceleration_header;
        out["readouts"] = d.readouts, out["calibration_readouts"] = d.calibration_readouts;
        out["header_xml"] = d.header_xml;
        return out;
      },
      py::arg("path"),
      "ISMRMRD raw data (Cartesian): dict with kspace complex64 ((slices, repetitions,) coils, ny, nx), its mask, "
      "encoded_size and recon_size (ny, nx), the header's acceleration, readout counts and header_xml.");
}
