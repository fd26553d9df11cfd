#pragma once
/// @file error_of.hpp
/// The message a call throws, for tests of clear errors on bad input.
#include <exception>
#include <string>
#include <utility>

#include "reconlab/error.hpp"

namespace reconlab::test_support {

/// Runs f and returns the reconlab::Error message it throws, or a marker ("<no exception>", "<wrong exception
/// type: ...>", "<non-std exception>") so that an assertion on the message fails with something readable.
template <class F>
std::string error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const reconlab::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<wrong exception type: ") + e.what() + ">";
  } catch (...) {
    return "<non-std exception>";
  }
  return "<no exception>";
}

}  // namespace reconlab::test_support
