#pragma once
// One scratch folder for the tests: created empty, removed with everything in it on destruction.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace reconlab::test_support {

/// A fresh folder /tmp/reconlab_<name>_<pid>_<n> (n counts the folders of this process), removed on destruction.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("reconlab_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  static int& counter() {
    static int n = 0;
    return n;
  }
  /// The path of `name` inside the folder.
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace reconlab::test_support
