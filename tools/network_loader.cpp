// Loads the network methods of `reconlab recon` (unet_method.cpp's module) on first use; see methods.hpp.
#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "methods.hpp"
#include "reconlab/error.hpp"

namespace reconlab::tool {

namespace {

#ifdef RECONLAB_NETWORKS_MODULE
/// The module's handle, opened once: beside the executable (the build tree and an install keep them together).
void* networks_module() {
  static void* handle = [] {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::filesystem::path module = (ec ? std::filesystem::path(".") : exe.parent_path()) / RECONLAB_NETWORKS_MODULE;
    void* h = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = dlerror();
      throw Error("the network methods live in " + module.string() + ", which could not be loaded (" +
                  std::string(why ? why : "unknown error") + "); rebuild reconlab with RECONLAB_BUILD_NETWORKS=ON");
    }
    return h;
  }();
  return handle;
}

template <class F>
F entry(const char* name) {
  void* f = dlsym(networks_module(), name);
  require(f != nullptr, std::string("the networks module lacks ") + name + " (a stale build?)");
  return reinterpret_cast<F>(f);
}
#endif

}  // namespace

std::vector<std::string> network_method_names() {
#ifdef RECONLAB_NETWORKS_MODULE
  std::vector<std::string> names;
  entry<void (*)(std::vector<std::string>*)>("reconlab_network_method_names")(&names);
  return names;
#else
  return {};
#endif
}

std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights) {
#ifdef RECONLAB_NETWORKS_MODULE
  using Make = Reconstructor* (*)(const std::string*, const std::string*);
  return std::unique_ptr<Reconstructor>(entry<Make>("reconlab_make_network_reconstructor")(&method, &weights));
#else
  (void)weights;
  throw Error("this reconlab was built without networks (RECONLAB_BUILD_NETWORKS=OFF): --method " + method +
              " is unavailable");
#endif
}

RArray learned_mask(const std::string& weights, std::string& description) {
#ifdef RECONLAB_NETWORKS_MODULE
  RArray out;
  entry<void (*)(const std::string*, RArray*, std::string*)>("reconlab_learned_mask")(&weights, &out, &description);
  return out;
#else
  (void)weights, (void)description;
  throw Error("this reconlab was built without networks (RECONLAB_BUILD_NETWORKS=OFF): --type learned is unavailable");
#endif
}

void run_network_training(const TrainArgs& args) {
#ifdef RECONLAB_NETWORKS_MODULE
  entry<void (*)(const TrainArgs*)>("reconlab_train")(&args);
#else
  (void)args;
  throw Error("this reconlab was built without networks (RECONLAB_BUILD_NETWORKS=OFF): train is unavailable");
#endif
}

}  // namespace reconlab::tool
