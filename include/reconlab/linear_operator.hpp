#pragma once
/// @file linear_operator.hpp
/// The LinearOperator concept and operator composition, after SigPy's linop (shapes known to each operator,
/// shape errors that name it) and BART's linops (explicit normal operators).
#include <concepts>
#include <string>
#include <utility>

#include "reconlab/array.hpp"

namespace reconlab {

/// A linear map A from Domain to Range arrays with its adjoint A^H.
/// - `domain_dims()` / `range_dims()`: the shapes it accepts and returns, (x, y, coil, frame, batch), -1 = any.
/// - `apply(x)` = A x, `adjoint(y)` = A^H y; both throw Error on a shape mismatch, naming the operator.
/// - `name()`: for error messages.
/// An operator may also provide `normal(x)` = A^H A x when a cheaper form exists (see reconlab::normal).
template <class Op>
concept LinearOperator = requires(const Op& op, const typename Op::Domain& x, const typename Op::Range& y) {
  typename Op::Domain;
  typename Op::Range;
  { op.apply(x) } -> std::convertible_to<typename Op::Range>;
  { op.adjoint(y) } -> std::convertible_to<typename Op::Domain>;
  { op.domain_dims() } -> std::convertible_to<Dims>;
  { op.range_dims() } -> std::convertible_to<Dims>;
  { op.name() } -> std::convertible_to<std::string>;
};

/// A^H A x: the operator's own `normal` when it has one, else adjoint(apply(x)).
template <LinearOperator Op>
typename Op::Domain normal(const Op& op, const typename Op::Domain& x) {
  if constexpr (requires { op.normal(x); })
    return op.normal(x);
  else
    return op.adjoint(op.apply(x));
}

/// Throws Error when `got` does not fit `want` (axes of -1 in `want` accept any size).
inline void require_dims(const std::string& op_name, const char* role, const Dims& want, const Dims& got) {
  if (!dims_compatible(want, got))
    throw Error(op_name + ": " + role + " has dims " + dims_string(got) + ", expected " + dims_string(want) +
                " (x, y, coil, frame, batch)");
}

/// Composition A * B: x -> A(B(x)). Built by `operator*`; the shapes of A's domain and B's range must agree.
template <LinearOperator A, LinearOperator B>
  requires std::same_as<typename A::Domain, typename B::Range>
class Composed {
 public:
  using Domain = typename B::Domain;
  using Range = typename A::Range;
  /// Throws Error when A's domain dims and B's range dims are incompatible.
  Composed(A a, B b) : a_(std::move(a)), b_(std::move(b)) {
    if (!dims_compatible(a_.domain_dims(), b_.range_dims()))
      throw Error("cannot compose " + a_.name() + " (domain " + dims_string(a_.domain_dims()) + ") with " +
                  b_.name() + " (range " + dims_string(b_.range_dims()) + ")");
  }
  Range apply(const Domain& x) const { return a_.apply(b_.apply(x)); }
  Domain adjoint(const Range& y) const { return b_.adjoint(a_.adjoint(y)); }
  Dims domain_dims() const { return b_.domain_dims(); }
  Dims range_dims() const { return a_.range_dims(); }
  std::string name() const { return a_.name() + " * " + b_.name(); }

 private:
  A a_;
  B b_;
};

/// A * B = the composition x -> A(B(x)); throws Error on incompatible shapes.
template <LinearOperator A, LinearOperator B>
  requires std::same_as<typename A::Domain, typename B::Range>
Composed<A, B> operator*(A a, B b) {
  return Composed<A, B>(std::move(a), std::move(b));
}

}  // namespace reconlab
