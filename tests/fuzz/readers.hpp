#pragma once
// The file readers under fuzzing (issue 12): one entry point per reader that takes arbitrary bytes, writes them to
// a file of the reader's kind in a scratch folder of this process, and reads it back through reconlab's public
// reader. A reader must either return an array or throw reconlab::Error; anything else (a crash, a sanitizer
// report, another exception type, an allocation beyond the file's size) is a bug the harness exposes.
//
// Used twice: by the libFuzzer harnesses (fuzz_harness.cpp, built with clang -fsanitize=fuzzer,address,undefined
// by `make fuzz`), and by tests/io/fuzz_corpus_test.cpp, which replays the seed corpus (valid files: each must be
// accepted) and every crash input kept in tests/fuzz/regressions (each must be refused or read, not crash) in the
// normal build and in `make sanitize`.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "reconlab/error.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/dicom.hpp"
#include "reconlab/io/fastmri.hpp"
#include "reconlab/io/ismrmrd.hpp"
#include "reconlab/io/mat.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/io/png.hpp"

namespace reconlab::fuzz {

/// The readers with a harness: fuzz_<name> executables and tests/fuzz/{corpus,regressions}/<name>/ folders.
inline const std::vector<std::string>& reader_names() {
  static const std::vector<std::string> names = {"npy", "cfl", "nifti", "dicom", "png", "mat", "fastmri", "ismrmrd"};
  return names;
}

/// This process's scratch folder (/tmp/reconlab_fuzz_<pid>), created on first use, removed at exit.
inline const std::filesystem::path& scratch() {
  struct Folder {
    std::filesystem::path path;
    Folder() : path(std::filesystem::temp_directory_path() / ("reconlab_fuzz_" + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return folder.path;
}

inline void write_bytes(const std::filesystem::path& p, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

/// Feeds `data` to reader `name` (one of reader_names()). Returns true when the reader accepted the file, false
/// when it threw reconlab::Error (its message in *error when given). Other exceptions propagate (the fuzzer reports
/// them as crashes).
/// cfl: the input is split into the .hdr text and the .cfl bytes: byte 0 + 256 x byte 1 = the .hdr length L, the
/// next L bytes the .hdr, the rest the .cfl (the seed corpus writes valid pairs in this form).
inline bool read_with(const std::string& name, const std::uint8_t* data, std::size_t size,
                      std::string* error = nullptr) {
  const auto dir = scratch();
  // The whole input as one file named f<ext> in the scratch folder; its path.
  const auto as_file = [&](const std::string& ext) {
    const auto p = dir / ("f" + ext);
    write_bytes(p, data, size);
    return p.string();
  };
  try {
    if (name == "npy") {
      (void)io::read_npy(as_file(".npy"));
    } else if (name == "cfl") {
      const std::size_t n = size < 2 ? 0 : std::min<std::size_t>(size - 2, data[0] + 256u * data[1]);
      write_bytes(dir / "f.hdr", size < 2 ? data : data + 2, n);
      write_bytes(dir / "f.cfl", size < 2 ? data : data + 2 + n, size < 2 ? 0 : size - 2 - n);
      (void)io::read_cfl_raw((dir / "f").string());
    } else if (name == "nifti") {
      (void)io::read_nifti(as_file(".nii"), 0);
    } else if (name == "dicom") {
      (void)io::read_dicom(as_file(".dcm"));
    } else if (name == "png") {
      (void)io::read_png(as_file(".png"));
    } else if (name == "mat") {
      const std::string f = as_file(".mat");
      for (const auto& v : io::mat_variables(f)) (void)io::read_mat(f, v);
    } else if (name == "fastmri") {
      (void)io::read_fastmri(as_file(".h5"));
    } else if (name == "ismrmrd") {
      (void)io::read_ismrmrd(as_file(".h5"));
    } else {
      throw std::invalid_argument("reconlab::fuzz: no reader named '" + name + "'");
    }
    return true;
  } catch (const Error& e) {
    if (error) *error = e.what();
    return false;
  }
}

}  // namespace reconlab::fuzz
