// The network methods of `reconlab recon`, built as a module (libreconlab_networks_cli.so) that the tool loads with
// dlopen only when a network method is asked for (network_loader.cpp): this is the only part of the tool that links
// LibTorch, whose loading costs about 0.35 s per process. Every network is served by the model registry
// (reconlab/networks/registry.hpp). The entry points are extern "C" so the loader finds them by name; they pass C++
// objects, which is sound because module and tool are built by one compiler against one standard library.
#include <memory>
#include <string>
#include <vector>

#include "reconlab/networks/registry.hpp"

/// Writes the registry's method names to *out.
extern "C" void reconlab_network_method_names(std::vector<std::string>* out) {
  *out = reconlab::networks::network_method_names();
}

/// The trained network `*method` loaded from `*weights` (model.json beside it), released to the caller, which owns
/// it (the module stays loaded for the process). Throws reconlab::Error as networks::load_reconstructor, and when
/// `*weights` is empty.
extern "C" reconlab::Reconstructor* reconlab_make_network_reconstructor(const std::string* method,
                                                                        const std::string* weights) {
  reconlab::require(!weights->empty(),
                    "--method " + *method + " needs --weights (a trained final.pt with model.json beside it)");
  return reconlab::networks::load_reconstructor(*method, *weights).release();
}
