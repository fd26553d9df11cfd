// Loads the network methods of `reconlab recon` (unet_method.cpp's module) on first use; see methods.hpp.
#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <vector>

#include "methods.hpp"
#include "reconlab/error.hpp"

namespace reconlab::tool {

namespace {

#ifdef RECONLAB_NETWORKS_MODULE
/// The module's handle, opened once. Looked for beside the executable (the build tree and an install keep them
/// together), beside the shared object that holds this loader (the Python module, whose executable is python3), and
/// in the build tree it was built in.
void* networks_module() {
  static void* handle = [] {
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / RECONLAB_NETWORKS_MODULE);
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&network_method_names), &info) != 0 && info.dli_fname != nullptr)
      candidates.push_back(fs::absolute(fs::path(info.dli_fname), ec).parent_path() / RECONLAB_NETWORKS_MODULE);
#ifdef RECONLAB_NETWORKS_MODULE_DIR
    candidates.push_back(fs::path(RECONLAB_NETWORKS_MODULE_DIR) / RECONLAB_NETWORKS_MODULE);
#endif
    std::string tried;
    for (const auto& module : candidates) {
      if (!fs::exists(module, ec)) {
        tried += (tried.empty() ? "" : ", ") + module.string() + " (absent)";
        continue;
      }
      if (void* h = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
      const char* why = dlerror();
      tried += (tried.empty() ? "" : ", ") + module.string() + " (" + std::string(why ? why : "unknown error") + ")";
    }
    throw Error("the network methods live in " + std::string(RECONLAB_NETWORKS_MODULE) +
                ", which could not be loaded from " + tried + "; rebuild reconlab with RECONLAB_BUILD_NETWORKS=ON");
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
