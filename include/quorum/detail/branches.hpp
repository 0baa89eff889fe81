// quorum/detail/branches.hpp — calling branches of any accepted signature through one index.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../branch_context.hpp"

namespace quorum::detail {

// Accepted signatures, in the order they are tried: T(branch_context&), T(std::stop_token), T().
template <class F>
consteval int branch_form() {
  if constexpr (std::is_invocable_v<F&, branch_context&>)
    return 2;
  else if constexpr (std::is_invocable_v<F&, std::stop_token>)
    return 1;
  else if constexpr (std::is_invocable_v<F&>)
    return 0;
  else
    return -1;
}

template <class F>
concept branch = branch_form<std::decay_t<F>>() >= 0;

template <class F, int Form = branch_form<F>()>
struct branch_return;
template <class F>
struct branch_return<F, 2> {
  using type = std::invoke_result_t<F&, branch_context&>;
};
template <class F>
struct branch_return<F, 1> {
  using type = std::invoke_result_t<F&, std::stop_token>;
};
template <class F>
struct branch_return<F, 0> {
  using type = std::invoke_result_t<F&>;
};

template <class F>
using branch_return_t = std::decay_t<typename branch_return<std::decay_t<F>>::type>;

template <class... Fs>
concept have_common_result = requires { typename std::common_type_t<branch_return_t<Fs>...>; };

// Every value of From is a value of To: the conversion a braced initialisation accepts. Only
// from an arithmetic type or an unscoped enumeration (which converts to its underlying type)
// to an arithmetic type, where the common type can silently change a value (int -1 and
// std::size_t make std::size_t, an integer and double make double; an enumerator -1 and
// std::size_t too, found by a review); a class type converts as it says.
template <class From, class To>
concept keeps_value =
    !((std::is_arithmetic_v<From> || std::is_enum_v<From>) && std::is_arithmetic_v<To>) ||
    requires(From f) { To{f}; };

// The value type of a pack of branches: their common type (void when there are none), when
// every branch's value converts to it unchanged.
template <class... Fs>
struct pack_result {
  using type = void;
};
template <class F, class... Fs>
struct pack_result<F, Fs...> {
  static_assert(have_common_result<F, Fs...>,
                "quorum: the branches' return types have no common type; make them return the "
                "same type (or one all the others convert to)");
  using type = std::decay_t<std::common_type_t<branch_return_t<F>, branch_return_t<Fs>...>>;
  static_assert((keeps_value<branch_return_t<F>, type> && ... && keeps_value<branch_return_t<Fs>, type>),
                "quorum: the branches return different arithmetic types, and their common type "
                "cannot hold every value of them (int -1 in std::size_t, an integer in double, "
                "double in float); make them return the same type, e.g. with static_cast in "
                "each branch");
};

template <class T, class F>
T invoke_branch(F& f, branch_context& ctx) {
  constexpr int form = branch_form<F>();
  if constexpr (form == 2)
    return static_cast<T>(std::invoke(f, ctx));
  else if constexpr (form == 1)
    return static_cast<T>(std::invoke(f, ctx.stop_token()));
  else
    return static_cast<T>(std::invoke(f));
}

// A callable that can be empty: a std::function, or a pointer to a function. An empty one
// is refused before any branch runs (launch); any other callable is never empty, and costs
// no test at all.
template <class F>
struct is_std_function : std::false_type {};
template <class R, class... A>
struct is_std_function<std::function<R(A...)>> : std::true_type {};

template <class F>
inline constexpr bool may_be_empty =
    is_std_function<std::remove_cvref_t<F>>::value || std::is_pointer_v<std::remove_cvref_t<F>>;

template <class F>
[[nodiscard]] bool empty_callable(const F& f) noexcept {
  if constexpr (may_be_empty<F>)
    return !f;
  else
    return false;
}

// A pack of callables, indexed at run time through a table of function pointers.
template <class T, class... Fs>
class pack_branches {
  using tuple_t = std::tuple<Fs...>;
  using fn_t = T (*)(tuple_t&, branch_context&);

  template <std::size_t I>
  static T call_one(tuple_t& t, branch_context& ctx) {
    return invoke_branch<T>(std::get<I>(t), ctx);
  }
  template <std::size_t... I>
  static constexpr std::array<fn_t, sizeof...(Fs)> make_table(std::index_sequence<I...>) {
    return {&call_one<I>...};
  }
  static constexpr std::array<fn_t, sizeof...(Fs)> table = make_table(std::index_sequence_for<Fs...>{});

 public:
  template <class... Gs>
  explicit pack_branches(std::in_place_t, Gs&&... gs) : fs_(std::forward<Gs>(gs)...) {}

  [[nodiscard]] static constexpr std::size_t size() noexcept { return sizeof...(Fs); }
  T call(std::size_t i, branch_context& ctx) { return table[i](fs_, ctx); }

  // The index of the first empty callable, or size() when none is.
  [[nodiscard]] std::size_t first_empty() const noexcept {
    if constexpr ((may_be_empty<Fs> || ...)) {
      return std::apply(
          [](const auto&... f) {
            std::size_t i = 0;
            (void)((empty_callable(f) || (++i, false)) || ...);
            return i;
          },
          fs_);
    } else {
      return size();
    }
  }

 private:
  tuple_t fs_;
};

// A range of callables of one type, moved or copied into a vector.
template <class T, class F>
class vector_branches {
 public:
  explicit vector_branches(std::vector<F> fs) : fs_(std::move(fs)) {}
  [[nodiscard]] std::size_t size() const noexcept { return fs_.size(); }
  T call(std::size_t i, branch_context& ctx) { return invoke_branch<T>(fs_[i], ctx); }

  // The index of the first empty callable, or size() when none is.
  [[nodiscard]] std::size_t first_empty() const noexcept {
    std::size_t i = 0;
    if constexpr (may_be_empty<F>)
      while (i < fs_.size() && !empty_callable(fs_[i])) ++i;
    else
      i = fs_.size();
    return i;
  }

 private:
  std::vector<F> fs_;
};

// A range of callables the caller keeps alive for the whole call (quorum_parallel, which
// returns only after every branch ended): each element is called where it is, neither copied
// nor moved; as const when AsConst. `first` is a random-access iterator whose reference is an
// lvalue.
template <class T, class It, bool AsConst>
class borrowed_branches {
 public:
  borrowed_branches(It first, std::size_t n) : first_(std::move(first)), n_(n) {}
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

  // The index of the first empty callable, or size() when none is.
  [[nodiscard]] std::size_t first_empty() const {
    std::size_t i = 0;
    if constexpr (may_be_empty<std::iter_reference_t<It>>)
      while (i < n_ && !empty_callable(first_[static_cast<std::iter_difference_t<It>>(i)])) ++i;
    else
      i = n_;
    return i;
  }

  T call(std::size_t i, branch_context& ctx) {
    auto& f = first_[static_cast<std::iter_difference_t<It>>(i)];
    if constexpr (AsConst)
      return invoke_branch<T>(std::as_const(f), ctx);
    else
      return invoke_branch<T>(f, ctx);
  }

 private:
  It first_;
  std::size_t n_;
};

}  // namespace quorum::detail
