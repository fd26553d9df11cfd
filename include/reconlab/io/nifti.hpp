#pragma once
/// @file nifti.hpp
/// NIfTI-1 / NIfTI-2 volume reader (and a float32 NIfTI-1 writer for reconstructions) through the reference library nifti_clib (Debian libnifti2, <nifti/nifti2_io.h>).
///
/// Format source: NIfTI-1 and NIfTI-2 specifications, https://nifti.nimh.nih.gov/nifti-1 and
/// https://nifti.nimh.nih.gov/nifti-2 ; reader library https://github.com/NIFTI-Imaging/nifti_clib.
/// Reads .nii, .nii.gz and .hdr/.img pairs (also ANALYZE 7.5, which the library accepts).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <nifti/nifti2_io.h>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/limits.hpp"

namespace reconlab::io {

/// A 3D scalar volume.
struct NiftiVolume {
  /// Voxel values (after scl_slope/scl_inter scaling), dims (nx, ny, 1, 1, nz): the NIfTI i index is x, j is y and
  /// the slices k lie along the batch axis. Same bytes as the file's data array (i fastest).
  RArray data;
  /// Voxel size (pixdim[1..3]) in millimetres (converted from metres/micrometres per xyz_units; unknown units are
  /// taken as mm).
  std::array<double, 3> voxel_mm{0.0, 0.0, 0.0};
};

namespace nifti_detail {

struct ImageDeleter {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};

template <class T>
inline void convert(const void* src, float* dst, std::int64_t n, double slope, double inter) {
  const T* s = static_cast<const T*>(src);
  if (slope != 0.0)
    for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<double>(s[i]) * slope + inter);
  else
    for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
}

}  // namespace nifti_detail

/// Reads a NIfTI (or ANALYZE) volume as float32. Voxel values are scaled v * scl_slope + scl_inter when
/// scl_slope is finite and != 0 (NIfTI rule), else left as stored. Supported datatypes: uint8, int8, int16, uint16, int32, uint32,
/// int64, uint64, float32, float64 (RGB, complex and float128 are rejected). Dims 5..7 must be 1.
/// A 4D file (nt > 1) is an Error unless `volume` picks one of its volumes (0-based); `volume` = -1 (default) asks
/// for a file holding exactly one volume. Example: /usr/share/mricron/templates/ch2.nii.gz (Colin27) ->
/// data dims (181, 217, 1, 1, 181), values 0..255, voxel_mm {1, 1, 1}.
/// Throws Error naming the file for: missing file, not a NIfTI/ANALYZE file (bad magic), unsupported datatype,
/// more than one volume (without `volume`), out-of-range `volume`, dims beyond 4, data that cannot be read (truncated).
inline NiftiVolume read_nifti(const std::string& path, Index volume = -1) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("NIfTI file " + path + ": missing file");
  nifti_set_debug_level(0);  // errors are reported through reconlab::Error, not stderr
  if (is_nifti_file(path.c_str()) < 0)
    throw Error("NIfTI file " + path + ": bad magic: not a NIfTI-1/NIfTI-2/ANALYZE file");
  std::unique_ptr<nifti_image, nifti_detail::ImageDeleter> hdr(nifti_image_read(path.c_str(), 0));
  if (!hdr) throw Error("NIfTI file " + path + ": bad header: the NIfTI library cannot parse it");

  const int dt = hdr->datatype;
  switch (dt) {
    case DT_UINT8: case DT_INT8: case DT_INT16: case DT_UINT16: case DT_INT32: case DT_UINT32: case DT_INT64:
    case DT_UINT64: case DT_FLOAT32: case DT_FLOAT64:
      break;
    default:
      throw Error("NIfTI file " + path + ": unsupported datatype " + std::string(nifti_datatype_string(dt)) +
                  " (code " + std::to_string(dt) + "; supported: integer types, FLOAT32, FLOAT64)");
  }
  // NIfTI-1 sec. "dim": sizes beyond dim[0] are ignored (writers, nifticlib's included, leave them 0).
  const int ndim = hdr->ndim;
  const std::int64_t nx = hdr->nx, ny = ndim >= 2 ? hdr->ny : 1, nz = ndim >= 3 ? hdr->nz : 1,
                     nt = ndim >= 4 ? hdr->nt : 1;
  if (ndim < 1 || nx < 1 || ny < 1 || nz < 1 || nt < 1)
    throw Error("NIfTI file " + path + ": bad header: dims " + std::to_string(nx) + " x " + std::to_string(ny) + " x " +
                std::to_string(nz) + " x " + std::to_string(nt));
  if ((ndim >= 5 && hdr->nu > 1) || (ndim >= 6 && hdr->nv > 1) || (ndim >= 7 && hdr->nw > 1))
    throw Error("NIfTI file " + path + ": unsupported dims: dims 5..7 (" + std::to_string(hdr->nu) + " x " +
                std::to_string(hdr->nv) + " x " + std::to_string(hdr->nw) + ") exceed 1");
  if (volume < 0 && nt > 1)
    throw Error("NIfTI file " + path + ": holds " + std::to_string(nt) +
                " volumes (4D); pass a volume index to read one of them");
  const std::int64_t t = volume < 0 ? 0 : volume;
  if (t >= nt)
    throw Error("NIfTI file " + path + ": volume " + std::to_string(t) + " out of range (file holds " +
                std::to_string(nt) + ")");

  // Before the library allocates what the header claims: the data must fit in its file (uncompressed), or in the
  // most a gzip stream of that size can inflate to (deflate's limit is 1032:1).
  {
    const std::string data_file = hdr->iname ? hdr->iname : path;
    const std::uintmax_t file_bytes = fs::file_size(data_file, ec);
    if (ec) throw Error("NIfTI file " + path + ": cannot stat the data file " + data_file);
    const long double need = (long double)(hdr->iname_offset) + (long double)nx * ny * nz * nt * hdr->nbyper;
    const bool gz = data_file.size() > 3 && data_file.compare(data_file.size() - 3, 3, ".gz") == 0;
    if (need > max_decoded_bytes((long double)file_bytes, gz))
      throw Error("NIfTI file " + path + ": truncated data: dims " + std::to_string(nx) + " x " + std::to_string(ny) +
                  " x " + std::to_string(nz) + " x " + std::to_string(nt) + " of " + std::to_string(hdr->nbyper) +
                  "-byte voxels do not fit in the " + std::to_string(file_bytes) + "-byte file " + data_file);
  }
  // Now read the data; the library reports truncated/unreadable data by returning null or leaving data empty.
  std::unique_ptr<nifti_image, nifti_detail::ImageDeleter> img(nifti_image_read(path.c_str(), 1));
  if (!img || !img->data)
    throw Error("NIfTI file " + path + ": truncated data: the image data cannot be read (" +
                std::to_string(nx * ny * nz * nt) + " voxels of " + std::to_string(hdr->nbyper) + " bytes expected)");

  NiftiVolume out;
  out.data = RArray(nx, ny, 1, 1, nz);
  const std::int64_t n = nx * ny * nz;
  const auto* base = static_cast<const unsigned char*>(img->data) + t * n * img->nbyper;
  // NIfTI rule: scale only when scl_slope is finite and non-zero.
  const bool scaled = std::isfinite(img->scl_slope) && img->scl_slope != 0.0;
  const double slope = scaled ? img->scl_slope : 0.0;
  const double inter = scaled && std::isfinite(img->scl_inter) ? img->scl_inter : 0.0;
  float* dst = out.data.data();
  using namespace nifti_detail;
  switch (dt) {
    case DT_UINT8: convert<std::uint8_t>(base, dst, n, slope, inter); break;
    case DT_INT8: convert<std::int8_t>(base, dst, n, slope, inter); break;
    case DT_INT16: convert<std::int16_t>(base, dst, n, slope, inter); break;
    case DT_UINT16: convert<std::uint16_t>(base, dst, n, slope, inter); break;
    case DT_INT32: convert<std::int32_t>(base, dst, n, slope, inter); break;
    case DT_UINT32: convert<std::uint32_t>(base, dst, n, slope, inter); break;
    case DT_INT64: convert<std::int64_t>(base, dst, n, slope, inter); break;
    case DT_UINT64: convert<std::uint64_t>(base, dst, n, slope, inter); break;
    case DT_FLOAT32: convert<float>(base, dst, n, slope, inter); break;
    case DT_FLOAT64: convert<double>(base, dst, n, slope, inter); break;
    default: break;
  }
  double unit = 1.0;
  switch (img->xyz_units) {
    case NIFTI_UNITS_METER: unit = 1000.0; break;
    case NIFTI_UNITS_MICRON: unit = 0.001; break;
    default: unit = 1.0;
  }
  out.voxel_mm = {img->dx * unit, img->dy * unit, img->dz * unit};
  return out;
}

/// Slice k = z of a volume, as a 2D image with dims (nx, ny, 1, 1, 1) (x = NIfTI i, y = NIfTI j).
/// Throws Error when z is outside [0, nz).
inline RArray axial_slice(const NiftiVolume& v, Index z) {
  const Index nx = v.data.dimension(0), ny = v.data.dimension(1), nz = v.data.dimension(4);
  if (z < 0 || z >= nz)
    throw Error("axial_slice: slice " + std::to_string(z) + " out of range [0, " + std::to_string(nz) + ")");
  RArray out(nx, ny, 1, 1, 1);
  std::copy(v.data.data() + z * nx * ny, v.data.data() + (z + 1) * nx * ny, out.data());
  return out;
}

/// Writes magnitude images `a` (nx, ny, 1, frames, slices) as a float32 NIfTI-1 file (.nii or .nii.gz, by the
/// name): i = x, j = y, k = slices, t = frames (the layout read_nifti reads), voxel size `voxel_mm` (mm; frames 1 s
/// apart), identity orientation (qform code 0: no scanner coordinates are claimed). Written to a temporary name
/// beside `path` and renamed (atomic). Throws Error for another name, coils > 1, or when the library cannot write.
inline void write_nifti(const std::string& path, const RArray& a, std::array<double, 3> voxel_mm = {1.0, 1.0, 1.0}) {
  namespace fs = std::filesystem;
  const std::string name = fs::path(path).filename().string();
  const bool gz = name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz";
  require(gz || fs::path(path).extension() == ".nii", "write_nifti: " + path + " must end in .nii or .nii.gz");
  const Dims d = dims_of(a);
  require(d[2] == 1, "write_nifti: one image per voxel; coil-combine first (dims " + dims_string(d) + ")");
  const int64_t dims[8] = {d[3] > 1 ? 4 : 3, d[0], d[1], d[4], d[3], 1, 1, 1};
  std::unique_ptr<nifti_image, nifti_detail::ImageDeleter> nim(nifti_make_new_nim(dims, NIFTI_TYPE_FLOAT32, 0));
  require(nim != nullptr, "write_nifti: nifti_make_new_nim failed for " + path);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nim->dx = nim->pixdim[1] = voxel_mm[0];
  nim->dy = nim->pixdim[2] = voxel_mm[1];
  nim->dz = nim->pixdim[3] = voxel_mm[2];
  nim->dt = nim->pixdim[4] = 1.0;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->time_units = NIFTI_UNITS_SEC;
  // The data: i fastest, then j, then k (slices, dim 4 here), then t (frames, dim 3 here).
  const Index plane = d[0] * d[1];
  float* out = static_cast<float*>(std::calloc(std::size_t(a.size()), sizeof(float)));
  require(out != nullptr, "write_nifti: out of memory for " + path);
  for (Index t = 0; t < d[3]; ++t)
    for (Index k = 0; k < d[4]; ++k)
      std::copy_n(a.data() + (k * d[3] + t) * plane, plane, out + (t * d[4] + k) * plane);
  nim->data = out;  // freed by nifti_image_free
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  const std::string tmp_name = tmp.string() + (gz ? ".nii.gz" : ".nii");
  require(nifti_set_filenames(nim.get(), tmp_name.c_str(), 0, 1) == 0, "write_nifti: bad file name " + path);
  nifti_image_write(nim.get());
  std::error_code ec;
  require(fs::is_regular_file(tmp_name, ec), "write_nifti: the NIfTI library could not write " + path);
  fs::rename(tmp_name, path, ec);
  if (ec) {
    fs::remove(tmp_name, ec);
    throw Error("write_nifti: cannot rename the temporary file to " + path);
  }
}

}  // namespace reconlab::io
