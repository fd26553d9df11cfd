// libFuzzer harness of one reader (readers.hpp): built once per reader by tests/fuzz/CMakeLists.txt with
// RECONLAB_FUZZ_READER="<name>" and clang's -fsanitize=fuzzer,address,undefined (`make fuzz`).
#include <cstddef>
#include <cstdint>

#include "readers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)reconlab::fuzz::read_with(RECONLAB_FUZZ_READER, data, size);
  return 0;
}
