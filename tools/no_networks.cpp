// Built instead of unet_method.cpp when reconlab is configured with RECONLAB_BUILD_NETWORKS=OFF.
#include "methods.hpp"

namespace reconlab::tool {

std::vector<std::string> network_method_names() { return {}; }

std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string&) {
  throw Error("this reconlab was built without networks (RECONLAB_BUILD_NETWORKS=OFF): --method " + method +
              " is unavailable");
}

}  // namespace reconlab::tool
