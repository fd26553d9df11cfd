#pragma once
/// @file ismrmrd.hpp
/// Reads Cartesian 2D ISMRMRD raw data (Inati et al., "ISMRM Raw data format: A proposed standard for MRI raw
/// datasets", MRM 77, 2017) with libismrmrd (Debian `libismrmrd-dev`; its Dataset and XML header API) into an
/// Acquisition. Link the CMake target reconlab::fastmri (HDF5 and ISMRMRD).
///
/// Assembly (the rules of ISMRMRD's own ismrmrd_recon_cartesian_2d): the k-space grid is the first encoding's
/// encodedSpace matrix (readout Nx x phase encodes Ny); each acquisition's samples go to the readout positions
/// Nx/2 - center_sample + i, its line to phase-encode position Ny/2 - encodingLimits.kspace_encoding_step_1.center +
/// idx.kspace_encode_step_1 (the limit's center, else Ny/2: no shift). Noise measurements (flag 19) are skipped;
/// parallel-calibration lines (flag 20, and 21 "calibration and imaging") are kept and counted: they are measured
/// k-space, and an ACS-based method finds them in the mask. Repetitions become frames (dim 3), slices the batch
/// (dim 4). Layout (reconlab's): x = the phase-encode axis (Ny columns, the lines a Cartesian mask selects), y = the
/// readout (Nx, oversampled as acquired), coils = the active channels; the mask is 1 on every (line, frame) acquired.
///
/// Errors (reconlab::Error naming the file, one line): missing file, not HDF5, no such dataset group, no
/// acquisitions, a header without encoding or not Cartesian, 3D encodings (kspace_encode_step_2 used), readouts or
/// lines outside the encoded matrix, channel counts that change, or libismrmrd's own failure.
#include <hdf5.h>
#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/fastmri.hpp"

namespace reconlab::io {

/// An ISMRMRD file as an Acquisition and what its header said.
struct IsmrmrdData {
  Acquisition acquisition;            ///< k-space (Ny, Nx, coils, repetitions, slices), mask (Ny, Nx, 1, reps, slices)
  Index encoded_nx = 0, encoded_ny = 0;  ///< encodedSpace matrix (readout, phase encodes)
  Index recon_nx = 0, recon_ny = 0;      ///< reconSpace matrix
  double acceleration_header = 1;        ///< parallelImaging accelerationFactor kspace_encoding_step_1 (1 without)
  Index readouts = 0, calibration_readouts = 0, noise_readouts = 0;  ///< counts in the file
  std::string header_xml;
};

/// True when `path` is an HDF5 file holding ISMRMRD raw data (a `dataset` group with `xml` and `data`) and no
/// fastMRI `kspace` dataset. Never throws (false for unreadable files).
inline bool is_ismrmrd_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (H5Fis_hdf5(path.c_str()) <= 0) return false;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return false;
  const bool yes = H5Lexists(f, "dataset", H5P_DEFAULT) > 0 && H5Lexists(f, "dataset/data", H5P_DEFAULT) > 0 &&
                   H5Lexists(f, "kspace", H5P_DEFAULT) <= 0;
  H5Fclose(f);
  return yes;
}

namespace ismrmrd_detail {

/// Member `name` of compound type `t`: its offset and (owned) type; throws Error naming `what` when absent.
inline std::pair<std::size_t, hdf5_detail::Handle> member(hid_t t, const char* name, const std::string& what) {
  const int i = H5Tget_class(t) == H5T_COMPOUND ? H5Tget_member_index(t, name) : -1;
  require(i >= 0, what + ": acquisition records have no member '" + name + "' (not ISMRMRD's record type)");
  return {H5Tget_member_offset(t, unsigned(i)), hdf5_detail::Handle(H5Tget_member_type(t, unsigned(i)), H5Tclose)};
}

/// Checks every acquisition record of `dataset`/data before libismrmrd reads it. libismrmrd 1.8's
/// ismrmrd_read_acquisition frees uninitialised pointers when HDF5 cannot read a record (a bit flip in a real file
/// crashed it under fuzzing, tests/fuzz/regressions/ismrmrd), and allocates what a record's header claims
/// (number_of_samples x active_channels) before looking at the data stored. Here each record is read by HDF5 in the
/// native form of the file's own type: a record HDF5 cannot read, a type without ISMRMRD's head (with 16-bit
/// number_of_samples, active_channels, trajectory_dimensions), traj and data members, or a record whose stored
/// data (2 x samples x channels floats) or trajectory (samples x dimensions floats) differs from its header's counts
/// is an Error naming the record.
inline void check_acquisition_records(const std::string& path, const std::string& dataset) {
  using hdf5_detail::Handle;
  const std::string what = "ISMRMRD file " + path;
  const Handle f = hdf5_detail::open_hdf5(path, "ISMRMRD file");
  Handle d(H5Dopen2(f, (dataset + "/data").c_str(), H5P_DEFAULT), H5Dclose);
  require(d >= 0, what + ": cannot open " + dataset + "/data");
  Handle file_type(H5Dget_type(d), H5Tclose);
  Handle t(file_type >= 0 ? H5Tget_native_type(file_type, H5T_DIR_ASCEND) : H5I_INVALID_HID, H5Tclose);
  require(t >= 0, what + ": " + dataset + "/data has an unreadable datatype");
  auto [head_off, head] = member(t, "head", what);
  auto [traj_off, traj] = member(t, "traj", what);
  auto [data_off, data] = member(t, "data", what);
  require(H5Tget_class(traj) == H5T_VLEN && H5Tget_class(data) == H5T_VLEN,
          what + ": acquisition records' traj and data are not variable-length arrays");
  std::size_t counts[3];
  const char* count_names[3] = {"number_of_samples", "active_channels", "trajectory_dimensions"};
  for (int k = 0; k < 3; ++k) {
    auto [off, type] = member(head, count_names[k], what);
    require(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 2,
            what + ": acquisition header member " + count_names[k] + " is not a 16-bit integer");
    counts[k] = head_off + off;
  }
  Handle space(H5Dget_space(d), H5Sclose);
  require(space >= 0 && H5Sget_simple_extent_ndims(space) == 1, what + ": " + dataset + "/data is not a 1D dataset");
  // The stored sequence lengths, read raw before HDF5 converts a record: HDF5 1.10.8 allocates a conversion buffer
  // of the length a record claims (fuzz_ismrmrd found 2.3 GB claimed in a 56 kB file). On disk a variable-length
  // member is a uint32 little-endian length followed by a global-heap reference, at the file type's member offset.
  // libismrmrd writes unfiltered chunks; filtered ones (compressed by another writer) are left to HDF5.
  {
    std::error_code ec;
    const std::uint64_t file_bytes = std::filesystem::file_size(path, ec);
    Handle dcpl(H5Dget_create_plist(d), H5Pclose);
    hsize_t chunk = 0, chunks = 0;
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &chunk) == 1 && chunk > 0) {
      // (HDF5 1.10.8 refuses H5S_ALL here: the dataset's own space selects every chunk.)
      require(H5Dget_num_chunks(d, space, &chunks) >= 0,
              what + ": the chunks of " + dataset + "/data cannot be listed (corrupt file)");
      const std::size_t rec = H5Tget_size(file_type);
      auto [traj_disk, traj_type] = member(file_type, "traj", what);
      auto [data_disk, data_type] = member(file_type, "data", what);
      Handle traj_base(H5Tget_super(traj_type), H5Tclose), data_base(H5Tget_super(data_type), H5Tclose);
      const std::pair<std::size_t, std::size_t> seqs[2] = {{traj_disk, H5Tget_size(traj_base)},
                                                           {data_disk, H5Tget_size(data_base)}};
      // A corrupt datatype can place a member's 4-byte length past the end of the record (fuzz_ismrmrd found one:
      // tests/fuzz/regressions/ismrmrd/crash-4057dbae...).
      for (const auto& [off, elem] : seqs)
        require(rec >= 4 && off <= rec - 4, what + ": " + dataset + "/data's record type places a member at byte " +
                                                std::to_string(off) + " of a " + std::to_string(rec) +
                                                "-byte record (corrupt datatype)");
      std::vector<unsigned char> raw;
      for (hsize_t k = 0; k < chunks; ++k) {
        hsize_t offset = 0, bytes = 0;
        unsigned filters = 0;
        haddr_t addr = 0;
        require(H5Dget_chunk_info(d, space, k, &offset, &filters, &addr, &bytes) >= 0,
                what + ": chunk " + std::to_string(k) + " of " + dataset + "/data cannot be located (corrupt file)");
        if (filters != 0 || bytes != chunk * rec) continue;
        raw.resize(bytes);
        require(H5Dread_chunk(d, H5P_DEFAULT, &offset, &filters, raw.data()) >= 0,
                what + ": chunk " + std::to_string(k) + " of " + dataset + "/data cannot be read (truncated file?)");
        for (hsize_t r = 0; r < chunk; ++r)
          for (const auto& [off, elem] : seqs) {
            const unsigned char* b = raw.data() + r * rec + off;
            const std::uint64_t len = std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
                                      std::uint32_t(b[3]) << 24;
            require(len * std::max<std::size_t>(elem, 1) <= file_bytes,
                    what + ": acquisition " + std::to_string(offset + r) + " claims " + std::to_string(len) +
                        " stored values, more than the " + std::to_string(file_bytes) + "-byte file holds (corrupt)");
          }
      }
    }
  }
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  const hsize_t one = 1;
  Handle mem(H5Screate_simple(1, &one, nullptr), H5Sclose);
  std::vector<unsigned char> record(H5Tget_size(t));
  for (hsize_t i = 0; i < n; ++i) {
    const hsize_t start = i;
    require(H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &one, nullptr) >= 0 &&
                H5Dread(d, t, mem, space, H5P_DEFAULT, record.data()) >= 0,
            what + ": acquisition " + std::to_string(i) + " cannot be read (truncated or corrupt file)");
    std::uint16_t c[3];
    for (int k = 0; k < 3; ++k) std::memcpy(&c[k], record.data() + counts[k], 2);
    hvl_t tr, da;
    std::memcpy(&tr, record.data() + traj_off, sizeof(hvl_t));
    std::memcpy(&da, record.data() + data_off, sizeof(hvl_t));
    const std::size_t data_len = da.len, traj_len = tr.len;
    H5Dvlen_reclaim(t, mem, H5P_DEFAULT, record.data());
    require(data_len == 2 * std::size_t(c[0]) * c[1] && traj_len == std::size_t(c[0]) * c[2],
            what + ": acquisition " + std::to_string(i) + " stores " + std::to_string(data_len) + " data and " +
                std::to_string(traj_len) + " trajectory values, its header claims " + std::to_string(c[0]) +
                " samples x " + std::to_string(c[1]) + " channels and " + std::to_string(c[2]) +
                " trajectory dimensions (corrupt file)");
  }
}

}  // namespace ismrmrd_detail

/// Reads `dataset` (default "dataset", ISMRMRD's) of the ISMRMRD file `path` (file comment). Throws Error as listed.
inline IsmrmrdData read_ismrmrd(const std::string& path, const std::string& dataset = "dataset") {
  {
    const hdf5_detail::Handle f = hdf5_detail::open_hdf5(path, "ISMRMRD file");
    const bool ok = hdf5_detail::has_link(f, dataset.c_str()) && hdf5_detail::has_link(f, (dataset + "/xml").c_str()) &&
                    hdf5_detail::has_link(f, (dataset + "/data").c_str());
    require(ok, "ISMRMRD file " + path + ": no dataset '" + dataset + "' with xml and data (not ISMRMRD raw data?)");
  }
  ismrmrd_detail::check_acquisition_records(path, dataset);
  IsmrmrdData out;
  try {
    ISMRMRD::Dataset d(path.c_str(), dataset.c_str(), false);
    d.readHeader(out.header_xml);
    ISMRMRD::IsmrmrdHeader h;
    ISMRMRD::deserialize(out.header_xml.c_str(), h);
    require(!h.encoding.empty(), "ISMRMRD file " + path + ": the header has no encoding");
    const auto& e = h.encoding.front();
    require(e.trajectory == ISMRMRD::TrajectoryType::CARTESIAN,
            "ISMRMRD file " + path + ": only Cartesian encodings are read (this one is not)");
    const Index Nx = Index(e.encodedSpace.matrixSize.x), Ny = Index(e.encodedSpace.matrixSize.y);
    require(Nx > 0 && Ny > 0 && e.encodedSpace.matrixSize.z <= 1,
            "ISMRMRD file " + path + ": encoded matrix must be 2D, got " + std::to_string(Nx) + " x " +
                std::to_string(Ny) + " x " + std::to_string(e.encodedSpace.matrixSize.z));
    out.encoded_nx = Nx, out.encoded_ny = Ny;
    out.recon_nx = Index(e.reconSpace.matrixSize.x), out.recon_ny = Index(e.reconSpace.matrixSize.y);
    if (e.parallelImaging) out.acceleration_header = e.parallelImaging->accelerationFactor.kspace_encoding_step_1;
    const Index centre = e.encodingLimits.kspace_encoding_step_1 ? Index(e.encodingLimits.kspace_encoding_step_1->center)
                                                                 : Ny / 2;
    const Index reps = e.encodingLimits.repetition ? Index(e.encodingLimits.repetition->maximum) + 1 : 1;
    const Index slices = e.encodingLimits.slice ? Index(e.encodingLimits.slice->maximum) + 1 : 1;
    const uint32_t n = d.getNumberOfAcquisitions();
    require(n > 0, "ISMRMRD file " + path + ": no acquisitions");
    Index coils = 0;
    ISMRMRD::Acquisition a;
    for (uint32_t i = 0; i < n; ++i) {
      d.readAcquisition(i, a);
      if (a.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_NOISE_MEASUREMENT)) {
        ++out.noise_readouts;
        continue;
      }
      if (coils == 0) {
        coils = Index(a.active_channels());
        out.acquisition.kspace = CArray(Ny, Nx, coils, reps, slices);
        out.acquisition.kspace.setZero();
        RArray m(Ny, Nx, 1, reps, slices);
        m.setZero();
        out.acquisition.sampling = CartesianMask(m);
      }
      require(Index(a.active_channels()) == coils, "ISMRMRD file " + path + ": acquisition " + std::to_string(i) +
                                                       " has " + std::to_string(a.active_channels()) +
                                                       " channels, the first had " + std::to_string(coils));
      const auto& idx = a.idx();
      require(idx.kspace_encode_step_2 == 0, "ISMRMRD file " + path + ": 3D encodings (kspace_encode_step_2) are not read");
      const Index line = Ny / 2 - centre + Index(idx.kspace_encode_step_1);
      const Index x0 = Nx / 2 - Index(a.center_sample()), ns = Index(a.number_of_samples());
      const Index rep = Index(idx.repetition), sl = Index(idx.slice);
      require(line >= 0 && line < Ny && x0 >= 0 && x0 + ns <= Nx && rep < reps && sl < slices,
              "ISMRMRD file " + path + ": acquisition " + std::to_string(i) + " (line " +
                  std::to_string(idx.kspace_encode_step_1) + ", " + std::to_string(ns) +
                  " samples) lies outside the encoded matrix or the encoding limits");
      for (Index c = 0; c < coils; ++c)
        for (Index s = 0; s < ns; ++s)
          out.acquisition.kspace(line, x0 + s, c, rep, sl) = a.data(uint16_t(s), uint16_t(c));
      RArray& m = std::get<CartesianMask>(out.acquisition.sampling).values;
      for (Index s = 0; s < Nx; ++s) m(line, s, 0, rep, sl) = 1.0f;
      ++out.readouts;
      if (a.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION) ||
          a.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING))
        ++out.calibration_readouts;
    }
    require(coils > 0, "ISMRMRD file " + path + ": only noise measurements, no imaging acquisition");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error("ISMRMRD file " + path + ": libismrmrd failed: " + std::string(ex.what()));
  }
  return out;
}

/// Slice `s` of an acquisition read by read_ismrmrd (k-space and mask with slices along the batch axis): k-space
/// (Ny, Nx, coils, repetitions, 1) and that slice's mask (Ny, Nx, 1, repetitions, 1); sensitivities, when set, are
/// kept. Throws Error for s outside 0..slices-1 or an acquisition that is not Cartesian.
inline Acquisition ismrmrd_slice(const Acquisition& a, Index s) {
  const Index slices = a.kspace.dimension(4);
  require(s >= 0 && s < slices, "ISMRMRD slice " + std::to_string(s) + " outside 0.." + std::to_string(slices - 1));
  require(a.cartesian(), "ismrmrd_slice: the acquisition is not Cartesian");
  const Dims kd = dims_of(a.kspace);
  Acquisition out;
  out.kspace = a.kspace.chip(s, 4).reshape(Dims{kd[0], kd[1], kd[2], kd[3], 1});
  const RArray& m = a.mask();
  const Dims md = dims_of(m);
  out.sampling = CartesianMask{md[4] == 1 ? m : RArray(m.chip(s, 4).reshape(Dims{md[0], md[1], md[2], md[3], 1}))};
  out.sensitivities = a.sensitivities;
  return out;
}

}  // namespace reconlab::io
