#pragma once
/// @file atomic.hpp
/// Atomic file writes: results and checkpoints are written to a temporary file in the same folder, flushed,
/// then renamed over the destination, so a kill leaves either the old file or the new one, never half of one.
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <unistd.h>

#include "reconlab/error.hpp"

namespace reconlab::io {

/// Calls `write(tmp_path)` to produce the file at a temporary path beside `path`, fsyncs it, then renames it to
/// `path`. Creates missing parent folders. Throws Error if writing or renaming fails; the temporary file is removed.
inline void atomic_write(const std::filesystem::path& path,
                         const std::function<void(const std::filesystem::path&)>& write) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::random_device rd;
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(rd());
  try {
    write(tmp);
    if (FILE* f = std::fopen(tmp.c_str(), "rb")) {
      ::fsync(fileno(f));
      std::fclose(f);
    } else {
      throw Error("atomic_write: the writer did not create " + tmp.string());
    }
    fs::rename(tmp, path);
  } catch (const Error&) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error("cannot write " + path.string() + ": " + e.what());
  }
}

/// Writes `text` to `path` atomically (see atomic_write).
inline void atomic_write_text(const std::filesystem::path& path, const std::string& text) {
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error("cannot write " + tmp.string());
  });
}

}  // namespace reconlab::io
