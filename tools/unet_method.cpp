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

/// The test-time mask of the trained learned-sampling model at `*weights` (model.json beside it), written to *out
/// as (nx, ny, 1, 1, 1) 0/1, with its description in *description. Throws reconlab::Error as networks::load_model,
/// for an empty path, and when model.json describes another architecture.
extern "C" void reconlab_learned_mask(const std::string* weights, reconlab::RArray* out, std::string* description) {
  reconlab::require(!weights->empty(), "--type learned needs --weights (a trained learned-sampling final.pt)");
  auto model = reconlab::networks::load_model("learned-sampling", *weights);
  auto net = model.as<reconlab::networks::LearnedSamplingNet>();
  *out = reconlab::networks::learned_mask(net);
  *description = "learned (LOUPE) " + std::string(net->options.mask.columns ? "column" : "2D") + " mask of " + *weights +
                 ": the round(rate N) most probable " + (net->options.mask.columns ? "columns" : "samples") +
                 ", rate " + std::to_string(net->options.mask.rate);
}
