#pragma once
/// @file image_file.hpp
/// Reads a 2D image (or a 2D cine) by file name, whatever format a researcher holds it in: the input of
/// `reconlab recon --image` (super-resolution of a low-resolution image).
#include <filesystem>
#include <string>

#include "reconlab/io/array_file.hpp"
#include "reconlab/io/dicom.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/png.hpp"

namespace reconlab::io {

/// Reads an image as complex dims (nx, ny, 1, frames, 1) by its extension:
///   .png            grey PNG (png.hpp: stored sample values, 0..255 or 0..65535), real;
///   .nii / .nii.gz  a NIfTI file with one slice (nz = 1) and one volume (nifti.hpp: scl_slope applied), real;
///   .dcm            DICOM pixels with the modality rescale (dicom.hpp), frames of a multi-frame file as frames;
///   .npy, .cfl/.hdr (or no extension: BART's base name)  array_file.hpp's layout ((ny, nx) NumPy, [nx, ny] BART).
/// Values are kept as stored (no normalisation). Throws Error naming the file for what each reader refuses, for a
/// NIfTI file with more than one slice, and for an array with coils or a batch.
inline CArray read_image(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  const auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  CArray img;
  if (ends_with(".png")) {
    img = read_png(path).cast<cfloat>();
  } else if (ends_with(".nii") || ends_with(".nii.gz")) {
    const NiftiVolume v = read_nifti(path);
    require(v.data.dimension(4) == 1, "image file " + path + " holds " + std::to_string(v.data.dimension(4)) +
                                          " slices; give a NIfTI file with one slice");
    img = v.data.cast<cfloat>();
  } else if (ends_with(".dcm")) {
    img = read_dicom(path).pixels.cast<cfloat>();
  } else {
    img = read_array(path);
  }
  const Dims d = dims_of(img);
  require(d[0] > 0 && d[1] > 0 && d[2] == 1 && d[3] >= 1 && d[4] == 1,
          "image file " + path + " must hold a 2D image (nx, ny, 1, frames, 1), got dims " + dims_string(d));
  return img;
}

}  // namespace reconlab::io
