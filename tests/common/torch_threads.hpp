#pragma once
// LibTorch tests run on one thread: reductions then give the same bits in every run (see trainer.hpp).
#include <torch/torch.h>

namespace reconlab::test_support {

/// Sets torch's intra-op thread count to 1 for the scope's lifetime (restored afterwards).
struct Threads1 {
  Threads1() : previous(torch::get_num_threads()) { torch::set_num_threads(1); }
  ~Threads1() { torch::set_num_threads(previous); }
  Threads1(const Threads1&) = delete;
  Threads1& operator=(const Threads1&) = delete;
  int previous;
};

}  // namespace reconlab::test_support
