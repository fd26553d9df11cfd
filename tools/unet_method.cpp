// The network methods of `reconlab recon`, kept in their own translation unit: the only one of the tool that
// includes LibTorch. Every network is served by the model registry (reconlab/networks/registry.hpp).
#include "methods.hpp"
#include "reconlab/networks/registry.hpp"

namespace reconlab::tool {

std::vector<std::string> network_method_names() { return networks::network_method_names(); }

std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights) {
  require(!weights.empty(), "--method " + method + " needs --weights (a trained final.pt with model.json beside it)");
  return networks::load_reconstructor(method, weights);
}

}  // namespace reconlab::tool
