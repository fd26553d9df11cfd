#pragma once
/// @file fastmri.hpp
/// Reads fastMRI raw-data files (HDF5; Zbontar et al., "fastMRI: An open dataset and benchmarks for accelerated MRI",
/// arXiv 1811.08839, and the fastMRI repository's data/mri_data.py) with libhdf5's C API (Debian `libhdf5-dev`);
/// the `ismrmrd_header` XML is parsed by libismrmrd's ISMRMRD::deserialize (Debian `libismrmrd-dev`). Link the CMake
/// target reconlab::fastmri (HDF5 and ISMRMRD) to use it.
///
/// What a fastMRI file holds, and where it goes (reconlab layout (x, y, coil, frame, batch), x fastest):
///   kspace               complex64 (slices, H, W) single-coil or (slices, coils, H, W) multi-coil, centred,
///                        orthonormal FFT; W (the last axis) is the phase-encode direction, which fastMRI's masks
///                        undersample -> dims (W, H, coils, 1, slices): x = W, so phase-encode lines are columns x,
///                        reconlab's convention, and slices are the batch axis;
///   mask                 (test and challenge files) float / bool (W,): the acquired phase-encode lines -> a
///                        SamplingMask (W, H, 1, 1, 1) with every row equal to it;
///   reconstruction_rss   float32 (slices, h, w) (multi-coil) -> (w, h, 1, 1, slices);
///   reconstruction_esc   float32 (slices, h, w) (single-coil) -> (w, h, 1, 1, slices);
///   ismrmrd_header       the ISMRMRD XML: encoded and reconstruction matrix sizes (fastMRI crops images to the
///                        reconstruction size, (320, 320) for the knee);
///   attributes           acquisition (string, e.g. "CORPD_FBK"), max and norm (floats), acceleration and
///                        num_low_frequency (test files), patient_id; absent ones are left empty.
///
/// Errors (reconlab::Error, one line naming the file): missing file, not HDF5, truncated or corrupt (libhdf5's
/// failure to open or read), no `kspace` dataset, a `kspace` that is not complex64 (compound of two float32 fields
/// `r`, `i`, as h5py writes complex64) or not 3D / 4D, a reconstruction or mask of the wrong rank or size, and an
/// ismrmrd_header that is not valid ISMRMRD XML.
#include <hdf5.h>
#include <ismrmrd/xml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"
#include "reconlab/io/limits.hpp"
#include "reconlab/metrics.hpp"

namespace reconlab::io {

/// The contents of a fastMRI file (file comment).
struct FastmriFile {
  CArray kspace;                              ///< (W, H, coils, 1, slices)
  std::optional<RArray> mask;                 ///< (W, H, 1, 1, 1), from the `mask` dataset of test files
  std::optional<RArray> reconstruction_rss;   ///< (w, h, 1, 1, slices)
  std::optional<RArray> reconstruction_esc;   ///< (w, h, 1, 1, slices)
  std::string header_xml;                     ///< ismrmrd_header ("" when absent)
  Index encoded_nx = 0, encoded_ny = 0;       ///< encodedSpace matrixSize x, y (0 without a header)
  Index recon_nx = 0, recon_ny = 0;           ///< reconSpace matrixSize x, y: the crop of fastMRI's images
  std::string acquisition, patient_id;        ///< attributes ("" when absent)
  std::optional<double> max, norm, acceleration, num_low_frequency;  ///< attributes

  Index slices() const { return kspace.dimension(4); }
  Index coils() const { return kspace.dimension(2); }
};

namespace hdf5_detail {

/// Closes an HDF5 identifier on scope exit.
struct Handle {
  hid_t id = H5I_INVALID_HID;
  herr_t (*close)(hid_t) = nullptr;
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id(o.id), close(o.close) { o.id = H5I_INVALID_HID; }
  ~Handle() {
    if (id >= 0 && close) close(id);
  }
  operator hid_t() const { return id; }
};

/// libhdf5 prints its error stack on stderr by default; errors are reported as reconlab::Error instead.
inline void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

/// Opens `path` read-only after checking that it is a regular HDF5 file; `what` prefixes every message ("fastMRI
/// file", "ISMRMRD file"). Throws Error: missing file, not HDF5, cannot open (truncated or corrupt).
inline Handle open_hdf5(const std::string& path, const std::string& what) {
  require(std::filesystem::is_regular_file(path), what + " " + path + ": missing file (no such regular file)");
  silence_hdf5();
  require(H5Fis_hdf5(path.c_str()) > 0, what + " " + path + ": not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  require(file >= 0, what + " " + path + ": cannot open it as HDF5 (truncated or corrupt file?)");
  return file;
}

inline bool has_link(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

/// Throws Error unless dataset `d` (`name` in `path`, prefixed by `what`) of `values` elements of `bytes_each` bytes
/// can be stored in its file: the logical size must not exceed 1032 x (the smaller of the bytes the dataset
/// stores and the file size), deflate's largest ratio. Called before a reader allocates what a shape claims
/// (fuzz_fastmri found a (slices, H, W) claim that took minutes of fill values to read).
inline void require_stored(hid_t d, long double values, std::size_t bytes_each, const std::string& path,
                           const std::string& what, const std::string& name) {
  std::error_code ec;
  const long double file_bytes = (long double)std::filesystem::file_size(path, ec);
  const long double stored = std::min<long double>((long double)H5Dget_storage_size(d), file_bytes);
  require(values * (long double)bytes_each <= max_decoded_bytes(stored, true),
          what + " " + path + ": dataset " + name + " claims " +
              [&] {  // (a claim past 2^64 cannot be cast to an integer: fuzz_fastmri, UBSan)
                std::ostringstream o;
                o << std::fixed << std::setprecision(0) << values;
                return o.str();
              }() +
              " values but stores " + std::to_string((unsigned long long)stored) + " bytes (truncated or corrupt)");
}

/// The dims of dataset `d` (C order, slowest first).
inline std::vector<hsize_t> dataset_shape(hid_t d) {
  Handle space(H5Dget_space(d), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

inline std::string shape_string(const std::vector<hsize_t>& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

/// A real dataset as float (any numeric type, converted by libhdf5), with its C-order shape.
inline std::vector<float> read_real(hid_t file, const char* name, std::vector<hsize_t>& shape, const std::string& path) {
  Handle d(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  require(d >= 0, "fastMRI file " + path + ": cannot open dataset " + name);
  Handle t(H5Dget_type(d), H5Tclose);
  const H5T_class_t cls = H5Tget_class(t);
  require(cls == H5T_FLOAT || cls == H5T_INTEGER || cls == H5T_ENUM,
          "fastMRI file " + path + ": dataset " + name + " is not a real numeric array");
  shape = dataset_shape(d);
  long double n = 1;
  for (hsize_t s : shape) n *= (long double)s;
  require_stored(d, n, H5Tget_size(t), path, "fastMRI file", name);
  std::vector<float> out(static_cast<std::size_t>(n));
  require(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
          "fastMRI file " + path + ": cannot read dataset " + name + " (truncated or corrupt file?)");
  return out;
}

/// A (slices, h, w) float dataset as (w, h, 1, 1, slices).
inline RArray read_images(hid_t file, const char* name, const std::string& path) {
  std::vector<hsize_t> s;
  const std::vector<float> v = read_real(file, name, s, path);
  require(s.size() == 3 && s[0] > 0 && s[1] > 0 && s[2] > 0,
          "fastMRI file " + path + ": " + name + " must be (slices, height, width), got " + shape_string(s));
  RArray out(static_cast<Index>(s[2]), static_cast<Index>(s[1]), 1, 1, static_cast<Index>(s[0]));
  std::copy(v.begin(), v.end(), out.data());
  return out;
}

/// A scalar attribute of the root as a double, if present and numeric.
inline std::optional<double> number_attribute(hid_t file, const char* name) {
  if (H5Aexists(file, name) <= 0) return std::nullopt;
  Handle a(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (a < 0) return std::nullopt;
  Handle t(H5Aget_type(a), H5Tclose);
  const H5T_class_t cls = H5Tget_class(t);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) return std::nullopt;
  double v = 0;
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) return std::nullopt;
  return v;
}

/// A string read from dataset or attribute `obj` of type `t` (fixed or variable length).
template <class Read>
std::string read_string(hid_t t, hid_t space, Read read) {
  if (H5Tis_variable_str(t) > 0) {
    Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(t));
    char* s = nullptr;
    if (read(hid_t(mt), &s) < 0) return {};
    std::string out = s ? s : "";
    H5free_memory(s);
    (void)space;
    return out;
  }
  const std::size_t n = H5Tget_size(t);
  std::string out(n, '\0');
  Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mt, n);
  if (read(hid_t(mt), out.data()) < 0) return {};
  out.resize(std::strlen(out.c_str()));
  return out;
}

inline std::string string_attribute(hid_t file, const char* name) {
  if (H5Aexists(file, name) <= 0) return {};
  Handle a(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  Handle t(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(t) != H5T_STRING) return {};
  Handle sp(H5Aget_space(a), H5Sclose);
  return read_string(t, sp, [&](hid_t mt, void* buf) { return H5Aread(a, mt, buf); });
}

}  // namespace hdf5_detail

/// A (slices, h, w) float image volume of a fastMRI-layout file (`dataset`: reconstruction, reconstruction_rss,
/// reconstruction_esc) as (w, h, 1, 1, slices). Throws Error for a missing or non-HDF5 file, a missing dataset
/// (naming those present among the three) and a dataset that is not a 3D real array.
inline RArray read_fastmri_volume(const std::string& path, const std::string& dataset) {
  using namespace hdf5_detail;
  const Handle file = open_hdf5(path, "fastMRI file");
  if (!has_link(file, dataset.c_str())) {
    std::string present;
    for (const char* n : {"reconstruction", "reconstruction_rss", "reconstruction_esc"})
      if (has_link(file, n)) present += std::string(present.empty() ? "" : ", ") + n;
    throw Error("fastMRI file " + path + ": no '" + dataset + "' dataset (has: " +
                (present.empty() ? std::string("none of reconstruction, reconstruction_rss, reconstruction_esc")
                                 : present) + ")");
  }
  return read_images(file, dataset.c_str(), path);
}

/// Writes magnitude images `volume` (w, h, 1, 1, slices) as a fastMRI reconstruction file: dataset `reconstruction`
/// float32 (slices, h, w), as fastMRI's save_reconstructions writes it (and its evaluate.py reads it). Atomic (a
/// temporary file renamed over `path`). Throws Error for a volume of another layout or when HDF5 cannot write.
inline void write_fastmri_reconstruction(const std::string& path, const RArray& volume) {
  using namespace hdf5_detail;
  const Dims d = dims_of(volume);
  require(d[2] == 1 && d[3] == 1 && d[0] > 0 && d[1] > 0 && d[4] > 0,
          "write_fastmri_reconstruction: expects (w, h, 1, 1, slices), got " + dims_string(d));
  silence_hdf5();
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    require(file >= 0, "cannot create HDF5 file " + tmp.string());
    const hsize_t dims[3] = {hsize_t(d[4]), hsize_t(d[1]), hsize_t(d[0])};
    Handle space(H5Screate_simple(3, dims, nullptr), H5Sclose);
    Handle ds(H5Dcreate2(file, "reconstruction", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
    require(ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, volume.data()) >= 0,
            "cannot write the reconstruction dataset of " + tmp.string());
  });
}

/// The centre crop of images (nx, ny, c, t, b) to (cx, cy) as fastMRI's transforms.center_crop: from (n - m) / 2
/// (floor) along each axis. Throws Error when the crop is larger than the image.
inline RArray fastmri_center_crop(const RArray& a, Index cx, Index cy) {
  const Dims d = dims_of(a);
  require(cx >= 1 && cy >= 1 && cx <= d[0] && cy <= d[1], "fastmri_center_crop: crop " + std::to_string(cx) + " x " +
                                                               std::to_string(cy) + " of an image " + dims_string(d));
  Eigen::array<Index, 5> off{(d[0] - cx) / 2, (d[1] - cy) / 2, 0, 0, 0}, ext{cx, cy, d[2], d[3], d[4]};
  RArray out = a.slice(off, ext);
  return out;
}

/// Per-volume metrics of the fastMRI leaderboard (fastmri/evaluate.py, `evaluate`): on a volume of slices
/// (nx, ny, 1, 1, slices), NMSE = ||t - p||^2 / ||t||^2 over the volume, PSNR = 10 log10(max(t)^2 / MSE) over the
/// volume (skimage's peak_signal_noise_ratio on the 3D arrays with data_range = the volume maximum), SSIM = the mean
/// over slices of the 2D SSIM with data_range = the volume maximum (evaluate.py's `ssim`). The caller crops first
/// (evaluate.py centre-crops both to the target's width squared). Fields psnr, ssim, nmse, rmse (over the volume),
/// data_range (the volume maximum). Throws Error as compute_metrics_per_slice, and for a layout other than (nx, ny,
/// 1, 1, slices).
inline Metrics fastmri_volume_metrics(const RArray& target, const RArray& prediction) {
  reconlab::detail::check_metric_pair(target, prediction);
  const Dims d = dims_of(target);
  require(d[2] == 1 && d[3] == 1, "fastmri_volume_metrics: expects (nx, ny, 1, 1, slices), got " + dims_string(d));
  Eigen::Tensor<float, 0> mx = target.maximum();
  const double range = double(mx());
  require(range > 0, "fastmri_volume_metrics: the target volume's maximum must be > 0");
  const auto slices = compute_metrics_per_slice(target, prediction, range);
  double ssim = 0, err = 0, ref = 0;
  for (const auto& m : slices) ssim += m.ssim / double(slices.size());
  for (Index i = 0; i < target.size(); ++i) {
    const double t = target.data()[i], p = prediction.data()[i];
    err += (t - p) * (t - p), ref += t * t;
  }
  const double mse = err / double(target.size());
  return {mse > 0 ? 10 * std::log10(range * range / mse) : std::numeric_limits<double>::infinity(), ssim,
          ref > 0 ? err / ref : (err > 0 ? std::numeric_limits<double>::infinity() : 0.0), std::sqrt(mse), range};
}

/// Reads the fastMRI file `path` (file comment). Throws Error as the file comment lists.
inline FastmriFile read_fastmri(const std::string& path) {
  using namespace hdf5_detail;
  const Handle file = open_hdf5(path, "fastMRI file");
  require(has_link(file, "kspace"), "fastMRI file " + path + ": no 'kspace' dataset (not a fastMRI raw-data file)");
  FastmriFile f;
  {
    Handle d(H5Dopen2(file, "kspace", H5P_DEFAULT), H5Dclose);
    require(d >= 0, "fastMRI file " + path + ": cannot open dataset kspace");
    Handle t(H5Dget_type(d), H5Tclose);
    bool complex64 = H5Tget_class(t) == H5T_COMPOUND && H5Tget_nmembers(t) == 2;
    if (complex64)
      for (unsigned i = 0; i < 2; ++i) {
        Handle mt(H5Tget_member_type(t, i), H5Tclose);
        char* nm = H5Tget_member_name(t, i);
        complex64 = complex64 && nm && std::string(nm) == (i == 0 ? "r" : "i") && H5Tget_class(mt) == H5T_FLOAT &&
                    H5Tget_size(mt) == 4;
        H5free_memory(nm);
      }
    require(complex64, "fastMRI file " + path +
                           ": kspace must be complex64 (an HDF5 compound of float32 r and i, as h5py writes it)");
    const std::vector<hsize_t> s = dataset_shape(d);
    require((s.size() == 3 || s.size() == 4) && s.front() > 0 && s.back() > 0 && s[s.size() - 2] > 0 &&
                (s.size() == 3 || s[1] > 0),
            "fastMRI file " + path + ": kspace must be (slices, H, W) or (slices, coils, H, W), got " + shape_string(s));
    const Index slices = Index(s[0]), coils = s.size() == 4 ? Index(s[1]) : 1, H = Index(s[s.size() - 2]),
                W = Index(s.back());
    require_stored(d, (long double)W * H * coils * slices, 8, path, "fastMRI file", "kspace");
    f.kspace = CArray(W, H, coils, 1, slices);  // the bytes of C-order (slices, [coils,] H, W)
    Handle mem(H5Tcreate(H5T_COMPOUND, sizeof(cfloat)), H5Tclose);
    H5Tinsert(mem, "r", 0, H5T_NATIVE_FLOAT);
    H5Tinsert(mem, "i", sizeof(float), H5T_NATIVE_FLOAT);
    require(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.kspace.data()) >= 0,
            "fastMRI file " + path + ": cannot read kspace (truncated or corrupt file?)");
  }
  const Index W = f.kspace.dimension(0), H = f.kspace.dimension(1);
  if (has_link(file, "mask")) {
    std::vector<hsize_t> s;
    const std::vector<float> m = read_real(file, "mask", s, path);
    require(s.size() == 1 && Index(s[0]) == W, "fastMRI file " + path + ": mask must be (" + std::to_string(W) +
                                                   ",) like kspace's last axis, got " + shape_string(s));
    RArray mask(W, H, 1, 1, 1);
    for (Index y = 0; y < H; ++y)
      for (Index x = 0; x < W; ++x) mask(x, y, 0, 0, 0) = m[std::size_t(x)] != 0 ? 1.0f : 0.0f;
    f.mask = mask;
  }
  if (has_link(file, "reconstruction_rss")) f.reconstruction_rss = read_images(file, "reconstruction_rss", path);
  if (has_link(file, "reconstruction_esc")) f.reconstruction_esc = read_images(file, "reconstruction_esc", path);
  for (const auto* r : {&f.reconstruction_rss, &f.reconstruction_esc})
    if (*r)
      require((*r)->dimension(4) == f.slices(), "fastMRI file " + path + ": a reconstruction has " +
                                                    std::to_string((*r)->dimension(4)) + " slices, kspace " +
                                                    std::to_string(f.slices()));
  if (has_link(file, "ismrmrd_header")) {
    Handle d(H5Dopen2(file, "ismrmrd_header", H5P_DEFAULT), H5Dclose);
    Handle t(H5Dget_type(d), H5Tclose);
    require(H5Tget_class(t) == H5T_STRING, "fastMRI file " + path + ": ismrmrd_header is not a string");
    Handle sp(H5Dget_space(d), H5Sclose);
    f.header_xml = read_string(t, sp, [&](hid_t mt, void* buf) { return H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); });
    ISMRMRD::IsmrmrdHeader h;
    try {
      ISMRMRD::deserialize(f.header_xml.c_str(), h);
    } catch (const std::exception& e) {
      throw Error("fastMRI file " + path + ": ismrmrd_header is not valid ISMRMRD XML (" + e.what() + ")");
    }
    require(!h.encoding.empty(), "fastMRI file " + path + ": ismrmrd_header has no encoding");
    const auto& enc = h.encoding.front();
    f.encoded_nx = Index(enc.encodedSpace.matrixSize.x), f.encoded_ny = Index(enc.encodedSpace.matrixSize.y);
    f.recon_nx = Index(enc.reconSpace.matrixSize.x), f.recon_ny = Index(enc.reconSpace.matrixSize.y);
  }
  f.acquisition = string_attribute(file, "acquisition");
  f.patient_id = string_attribute(file, "patient_id");
  f.max = number_attribute(file, "max");
  f.norm = number_attribute(file, "norm");
  f.acceleration = number_attribute(file, "acceleration");
  f.num_low_frequency = number_attribute(file, "num_low_frequency");
  return f;
}

/// Slice `s` of a fastMRI file as an Acquisition: its k-space (W, H, coils, 1, 1) and the file's mask when it has
/// one, else the non-zero k-space columns (any coil, any row): fastMRI's test files store zeros where not acquired.
/// Throws Error for s outside 0..slices-1.
inline Acquisition fastmri_slice(const FastmriFile& f, Index s) {
  require(s >= 0 && s < f.slices(), "fastMRI slice " + std::to_string(s) + " outside 0.." + std::to_string(f.slices() - 1));
  const Index W = f.kspace.dimension(0), H = f.kspace.dimension(1), C = f.coils();
  Acquisition acq;
  acq.kspace = f.kspace.chip(s, 4).reshape(Dims{W, H, C, 1, 1});
  if (f.mask) {
    acq.sampling = CartesianMask(*f.mask);
  } else {
    RArray m(W, H, 1, 1, 1);
    m.setZero();
    for (Index x = 0; x < W; ++x) {
      bool any = false;
      for (Index c = 0; c < C && !any; ++c)
        for (Index y = 0; y < H && !any; ++y) any = acq.kspace(x, y, c, 0, 0) != cfloat(0);
      if (any)
        for (Index y = 0; y < H; ++y) m(x, y, 0, 0, 0) = 1.0f;
    }
    acq.sampling = CartesianMask(m);
  }
  return acq;
}

}  // namespace reconlab::io
