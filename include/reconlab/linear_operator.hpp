#pragma once
/// @file linear_operator.hpp
/// The LinearOperator concept and operator composition, after SigPy's linop (shapes known to each operator,
/// shape errors that name it) and BART's linops (explicit normal operators).
#include <cmath>
#include <complex>
#include <concepts>
#include <functional>
#include <memory>
#include <tuple>
#include <vector>
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

/// out = A x into a caller-owned value: the operator's own `apply_into(x, out)` when it has one (no allocation in
/// solvers' hot loops), else `out = op.apply(x)`. Throws Error as the operator's apply does.
template <LinearOperator Op>
void apply_into(const Op& op, const typename Op::Domain& x, typename Op::Range& out) {
  if constexpr (requires { op.apply_into(x, out); })
    op.apply_into(x, out);
  else
    out = op.apply(x);
}

/// out = A^H y into a caller-owned value: the operator's own `adjoint_into(y, out)` when it has one, else
/// `out = op.adjoint(y)`. Throws Error as the operator's adjoint does.
template <LinearOperator Op>
void adjoint_into(const Op& op, const typename Op::Range& y, typename Op::Domain& out) {
  if constexpr (requires { op.adjoint_into(y, out); })
    op.adjoint_into(y, out);
  else
    out = op.adjoint(y);
}

/// out += A^H y (out holds a value of the domain's dims): the operator's own `adjoint_add_into(y, out)` when it
/// has one, else `out = out + op.adjoint(y)`. For K^H of a stack without temporaries.
template <LinearOperator Op>
void adjoint_add_into(const Op& op, const typename Op::Range& y, typename Op::Domain& out) {
  if constexpr (requires { op.adjoint_add_into(y, out); })
    op.adjoint_add_into(y, out);
  else
    out = typename Op::Domain(out + op.adjoint(y));
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
  /// (A B)^H (A B) x = B^H (A^H A) (B x), with A's own normal when it has one (e.g. F^H F = I, F^H M F).
  Domain normal(const Domain& x) const { return b_.adjoint(reconlab::normal(a_, b_.apply(x))); }
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

/// Sum A + B: x -> A x + B x (SigPy's linop.Add), for operators with the same domain and range types and
/// compatible shapes; (A + B)^H = A^H + B^H. The range must support `+` (a backend array). The normal is
/// A^H A + A^H B + B^H A + B^H B, computed as adjoint(apply(x)).
template <LinearOperator A, LinearOperator B>
  requires std::same_as<typename A::Domain, typename B::Domain> && std::same_as<typename A::Range, typename B::Range>
class Sum {
 public:
  using Domain = typename A::Domain;
  using Range = typename A::Range;
  /// Throws Error when the domains or ranges are incompatible.
  Sum(A a, B b) : a_(std::move(a)), b_(std::move(b)) {
    if (!dims_compatible(a_.domain_dims(), b_.domain_dims()) || !dims_compatible(a_.range_dims(), b_.range_dims()))
      throw Error("cannot add " + a_.name() + " and " + b_.name() + ": shapes differ");
  }
  Range apply(const Domain& x) const { return Range(a_.apply(x) + b_.apply(x)); }
  Domain adjoint(const Range& y) const { return Domain(a_.adjoint(y) + b_.adjoint(y)); }
  Dims domain_dims() const { return a_.domain_dims(); }
  Dims range_dims() const { return a_.range_dims(); }
  std::string name() const { return "(" + a_.name() + " + " + b_.name() + ")"; }

 private:
  A a_;
  B b_;
};

/// A + B = the sum operator; throws Error on incompatible shapes.
template <LinearOperator A, LinearOperator B>
  requires std::same_as<typename A::Domain, typename B::Domain> && std::same_as<typename A::Range, typename B::Range>
Sum<A, B> operator+(A a, B b) {
  return Sum<A, B>(std::move(a), std::move(b));
}

/// s I: x -> s x for a complex scalar s (the lambda I of Tikhonov terms, a step size); adjoint conj(s) I, normal
/// |s|^2 I. B is the array backend; any dims.
template <class B>
class ScaledIdentity {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  explicit ScaledIdentity(cfloat s) : s_(s) {}
  Range apply(const Domain& x) const { return B::axpy(s_, x, B::zeros_like(x)); }
  Domain adjoint(const Range& y) const { return B::axpy(std::conj(s_), y, B::zeros_like(y)); }
  Domain normal(const Domain& x) const { return B::axpy(cfloat(std::norm(s_)), x, B::zeros_like(x)); }
  Dims domain_dims() const { return {-1, -1, -1, -1, -1}; }
  Dims range_dims() const { return {-1, -1, -1, -1, -1}; }
  std::string name() const { return "ScaledIdentity"; }
  cfloat scale() const { return s_; }

 private:
  cfloat s_;
};

/// Vertical stack K = [A_1; A_2; ...] of operators on one domain (SigPy's Vstack, the K of primal-dual methods):
/// K x = (A_1 x, A_2 x, ...), a std::tuple range (each block keeps its own type and shape: k-space, a gradient);
/// K^H (y_1, y_2, ...) = sum_i A_i^H y_i; K^H K = sum_i A_i^H A_i (each with its own normal when it has one).
/// domain_dims: the first block's; range_dims: the first block's (see block<i>() for the others).
template <LinearOperator First, LinearOperator... Rest>
  requires(std::same_as<typename First::Domain, typename Rest::Domain> && ...)
class Stack {
 public:
  using Domain = typename First::Domain;
  using Range = std::tuple<typename First::Range, typename Rest::Range...>;
  /// Throws Error when the blocks' domains are incompatible.
  explicit Stack(First first, Rest... rest) : ops_(std::move(first), std::move(rest)...) {
    std::apply([&](const auto& f, const auto&... r) {
      ((void)(dims_compatible(f.domain_dims(), r.domain_dims()) ||
              (throw Error("cannot stack " + f.name() + " and " + r.name() + ": domains differ"), false)), ...);
    }, ops_);
  }
  Range apply(const Domain& x) const {
    return std::apply([&](const auto&... op) { return Range(op.apply(x)...); }, ops_);
  }
  Domain adjoint(const Range& y) const {
    return adjoint_sum(y, std::make_index_sequence<1 + sizeof...(Rest)>{});
  }
  /// K x into a caller-owned tuple, block by block through each block's apply_into (reconlab::apply_into).
  void apply_into(const Domain& x, Range& out) const {
    apply_into_blocks(x, out, std::make_index_sequence<1 + sizeof...(Rest)>{});
  }
  /// K^H y into a caller-owned array: the first block's adjoint_into, then the others' adjoint_add_into.
  void adjoint_into(const Range& y, Domain& out) const {
    adjoint_into_blocks(y, out, std::make_index_sequence<1 + sizeof...(Rest)>{});
  }
  Domain normal(const Domain& x) const {
    return std::apply([&](const auto& f, const auto&... r) {
      Domain acc = reconlab::normal(f, x);
      ((acc = Domain(acc + reconlab::normal(r, x))), ...);
      return acc;
    }, ops_);
  }
  /// Block i.
  template <std::size_t I>
  const auto& block() const { return std::get<I>(ops_); }
  Dims domain_dims() const { return std::get<0>(ops_).domain_dims(); }
  Dims range_dims() const { return std::get<0>(ops_).range_dims(); }
  std::string name() const {
    return std::apply([](const auto& f, const auto&... r) {
      std::string s = "[" + f.name();
      ((s += "; " + r.name()), ...);
      return s + "]";
    }, ops_);
  }

 private:
  template <std::size_t... I>
  void apply_into_blocks(const Domain& x, Range& out, std::index_sequence<I...>) const {
    (reconlab::apply_into(std::get<I>(ops_), x, std::get<I>(out)), ...);
  }
  template <std::size_t... I>
  void adjoint_into_blocks(const Range& y, Domain& out, std::index_sequence<I...>) const {
    auto one = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
      if constexpr (J == 0)
        reconlab::adjoint_into(std::get<0>(ops_), std::get<0>(y), out);
      else
        reconlab::adjoint_add_into(std::get<J>(ops_), std::get<J>(y), out);
    };
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }
  template <std::size_t... I>
  Domain adjoint_sum(const Range& y, std::index_sequence<I...>) const {
    Domain acc = std::get<0>(ops_).adjoint(std::get<0>(y));
    ((I > 0 ? (acc = Domain(acc + std::get<I>(ops_).adjoint(std::get<I>(y))), 0) : 0), ...);
    return acc;
  }
  std::tuple<First, Rest...> ops_;
};

/// stack(A, B, ...) = the Stack operator [A; B; ...].
template <LinearOperator First, LinearOperator... Rest>
Stack<First, Rest...> stack(First first, Rest... rest) {
  return Stack<First, Rest...>(std::move(first), std::move(rest)...);
}

/// A type-erased linear operator from Array to Array: what `forward_model` returns, so a Reconstructor gets A
/// (M F, M F S, ...) without knowing which it is. Holds the operator by value (shared, immutable).
template <class Array>
class AnyOperator {
 public:
  using Domain = Array;
  using Range = Array;
  /// Wraps any LinearOperator with Array domain and range; its own normal is kept when it has one.
  template <LinearOperator Op>
    requires std::same_as<typename Op::Domain, Array> && std::same_as<typename Op::Range, Array>
  AnyOperator(Op op) {  // NOLINT: implicit on purpose
    auto p = std::make_shared<const Op>(std::move(op));
    apply_ = [p](const Array& x) { return p->apply(x); };
    adjoint_ = [p](const Array& y) { return p->adjoint(y); };
    normal_ = [p](const Array& x) { return reconlab::normal(*p, x); };
    apply_into_ = [p](const Array& x, Array& out) { reconlab::apply_into(*p, x, out); };
    adjoint_into_ = [p](const Array& y, Array& out) { reconlab::adjoint_into(*p, y, out); };
    domain_ = p->domain_dims();
    range_ = p->range_dims();
    name_ = p->name();
  }
  Range apply(const Domain& x) const { return apply_(x); }
  Domain adjoint(const Range& y) const { return adjoint_(y); }
  Domain normal(const Domain& x) const { return normal_(x); }
  /// The wrapped operator's apply_into / adjoint_into (reconlab::apply_into: its own in-place form when it has
  /// one, so solvers' loops over a forward_model allocate nothing on that path).
  void apply_into(const Domain& x, Range& out) const { apply_into_(x, out); }
  void adjoint_into(const Range& y, Domain& out) const { adjoint_into_(y, out); }
  Dims domain_dims() const { return domain_; }
  Dims range_dims() const { return range_; }
  std::string name() const { return name_; }

 private:
  std::function<Array(const Array&)> apply_, adjoint_, normal_;
  std::function<void(const Array&, Array&)> apply_into_, adjoint_into_;
  Dims domain_, range_;
  std::string name_;
};

/// Vector-space operations on the values operators map between: a backend array, a std::vector of arrays (a
/// block array, e.g. a gradient) or a std::tuple of those (the range of a Stack). B is the array backend
/// (EigenFftw, networks::Torch). Inner products accumulate in double.
template <class B>
struct Blocks {
  using Array = typename B::Array;
  /// a x + y.
  static Array axpy(cfloat a, const Array& x, const Array& y) { return B::axpy(a, x, y); }
  template <class T>
  static std::vector<T> axpy(cfloat a, const std::vector<T>& x, const std::vector<T>& y) {
    std::vector<T> out;
    out.reserve(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out.push_back(axpy(a, x[i], y[i]));
    return out;
  }
  template <class... T>
  static std::tuple<T...> axpy(cfloat a, const std::tuple<T...>& x, const std::tuple<T...>& y) {
    return axpy_tuple(a, x, y, std::index_sequence_for<T...>{});
  }
  /// out = a x + b y over every block, into a caller-owned value (resized to x's shape; may be x or y itself):
  /// the backend's lincomb_into when it has one, else through axpy (which allocates).
  static void lincomb_into(cfloat a, const Array& x, cfloat b, const Array& y, Array& out) {
    if constexpr (requires { B::lincomb_into(a, x, b, y, out); }) {
      B::lincomb_into(a, x, b, y, out);
    } else if (a == cfloat(1)) {
      out = B::axpy(b, y, x);
    } else if (b == cfloat(1)) {
      out = B::axpy(a, x, y);
    } else {
      out = B::axpy(a, x, B::axpy(b, y, B::axpy(cfloat(-1), y, y)));
    }
  }
  template <class T>
  static void lincomb_into(cfloat a, const std::vector<T>& x, cfloat b, const std::vector<T>& y, std::vector<T>& out) {
    out.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) lincomb_into(a, x[i], b, y[i], out[i]);
  }
  template <class... T>
  static void lincomb_into(cfloat a, const std::tuple<T...>& x, cfloat b, const std::tuple<T...>& y,
                           std::tuple<T...>& out) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (lincomb_into(a, std::get<I>(x), b, std::get<I>(y), std::get<I>(out)), ...);
    }(std::index_sequence_for<T...>{});
  }
  /// ||w||^2 over every block (the backend's norm_squared when it has one, else dot).
  static double norm_squared(const Array& w) {
    if constexpr (requires { B::norm_squared(w); })
      return B::norm_squared(w);
    else
      return B::dot(w, w).real();
  }
  template <class T>
  static double norm_squared(const std::vector<T>& w) {
    double s = 0;
    for (const auto& v : w) s += norm_squared(v);
    return s;
  }
  template <class... T>
  static double norm_squared(const std::tuple<T...>& w) {
    return std::apply([](const auto&... v) { return (0.0 + ... + norm_squared(v)); }, w);
  }
  /// ||a (w - x) + b (y - z)||^2 over every block, the differences taken first (accurate as w -> x, y -> z;
  /// b = 0: ||a (w - x)||^2): the backend's norm_squared_of_differences when it has one, else through axpy.
  static double norm_squared_of_differences(double a, const Array& w, const Array& x, double b, const Array& y,
                                            const Array& z) {
    if constexpr (requires { B::norm_squared_of_differences(a, w, x, b, y, z); }) {
      return B::norm_squared_of_differences(a, w, x, b, y, z);
    } else {
      const Array d1 = B::axpy(cfloat(-1), x, w);
      Array s = B::axpy(cfloat(float(a - 1)), d1, d1);  // a (w - x)
      if (b != 0) s = B::axpy(cfloat(float(b)), B::axpy(cfloat(-1), z, y), s);
      return B::dot(s, s).real();
    }
  }
  template <class T>
  static double norm_squared_of_differences(double a, const std::vector<T>& w, const std::vector<T>& x, double b,
                                            const std::vector<T>& y, const std::vector<T>& z) {
    double s = 0;
    for (std::size_t i = 0; i < w.size(); ++i) s += norm_squared_of_differences(a, w[i], x[i], b, y[i], z[i]);
    return s;
  }
  template <class... T>
  static double norm_squared_of_differences(double a, const std::tuple<T...>& w, const std::tuple<T...>& x, double b,
                                            const std::tuple<T...>& y, const std::tuple<T...>& z) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (0.0 + ... + norm_squared_of_differences(a, std::get<I>(w), std::get<I>(x), b, std::get<I>(y),
                                                      std::get<I>(z)));
    }(std::index_sequence_for<T...>{});
  }
  /// <x, y> = sum conj(x) y over every block.
  static std::complex<double> dot(const Array& x, const Array& y) { return B::dot(x, y); }
  template <class T>
  static std::complex<double> dot(const std::vector<T>& x, const std::vector<T>& y) {
    std::complex<double> s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += dot(x[i], y[i]);
    return s;
  }
  template <class... T>
  static std::complex<double> dot(const std::tuple<T...>& x, const std::tuple<T...>& y) {
    return dot_tuple(x, y, std::index_sequence_for<T...>{});
  }
  /// ||x||_2 over every block.
  template <class T>
  static double norm(const T& x) { return std::sqrt(std::max(0.0, dot(x, x).real())); }

 private:
  template <class... T, std::size_t... I>
  static std::tuple<T...> axpy_tuple(cfloat a, const std::tuple<T...>& x, const std::tuple<T...>& y,
                                     std::index_sequence<I...>) {
    return std::tuple<T...>(axpy(a, std::get<I>(x), std::get<I>(y))...);
  }
  template <class... T, std::size_t... I>
  static std::complex<double> dot_tuple(const std::tuple<T...>& x, const std::tuple<T...>& y,
                                        std::index_sequence<I...>) {
    return (std::complex<double>(0) + ... + dot(std::get<I>(x), std::get<I>(y)));
  }
};

}  // namespace reconlab
