// quorum/quorum_parallel.hpp — the blocking primitive.
#pragma once

#include <utility>

#include "execution.hpp"

namespace quorum {

/// Run the branches side by side, decide as early as the outcome is known, ask the rest to
/// stop, and return once every branch has ended (structured: nothing outlives the call).
///   auto r = quorum::quorum_parallel({.quorum = 2, .timeout = 15s}, f1, f2, f3);
/// Throws invalid_options (a std::invalid_argument) for bad input, before any branch runs.
template <detail::branch... Fs>
[[nodiscard]] auto quorum_parallel(const options& o, Fs&&... fs) {
  auto ex = start(o, std::forward<Fs>(fs)...);
  return detail::join_and_take(std::move(ex));
}

/// The same with the branches given as a range of callables. A range with random access whose
/// elements outlive the call (an lvalue vector or array, a span) and whose callables can be
/// called as const is called in place, neither copied nor moved: it must not change until the
/// call returns. Callables that can be neither copied nor called as const are called in place
/// as they are: do not share such a range between concurrent calls (nor a range of
/// std::function wrapping mutable lambdas: std::function is const-callable whatever it holds).
/// Other ranges are copied (an rvalue container is moved from), as by start().
template <detail::branch_range R>
[[nodiscard]] auto quorum_parallel(const options& o, R&& range) {
  auto ex = detail::start_branches<void>(nullptr, thread_executor{}, o,
                                         detail::call_branches(std::forward<R>(range)));
  return detail::join_and_take(std::move(ex));
}

/// The same on an executor of yours (a pool_executor kept for the service's life), with the
/// default store. An rvalue executor is owned for the call (so it must be movable: a
/// pool_executor is not, and is passed as an lvalue).
template <detail::executor_only E, detail::branch... Fs>
  requires detail::held_executor<E>
[[nodiscard]] auto quorum_parallel(E&& ex, const options& o, Fs&&... fs) {
  auto h = start(std::forward<E>(ex), o, std::forward<Fs>(fs)...);
  return detail::join_and_take(std::move(h));
}

template <detail::executor_only E, detail::branch_range R>
  requires detail::held_executor<E>
[[nodiscard]] auto quorum_parallel(E&& ex, const options& o, R&& range) {
  auto h = detail::start_branches<void>(nullptr, std::forward<E>(ex), o,
                                        detail::call_branches(std::forward<R>(range)));
  return detail::join_and_take(std::move(h));
}

/// The same, recording into a store of yours (the store comes first).
template <store S, detail::branch... Fs>
[[nodiscard]] auto quorum_parallel(S& st, const options& o, Fs&&... fs) {
  auto ex = start(st, o, std::forward<Fs>(fs)...);
  return detail::join_and_take(std::move(ex));
}

template <store S, detail::branch_range R>
[[nodiscard]] auto quorum_parallel(S& st, const options& o, R&& range) {
  auto ex = detail::start_branches(&st, thread_executor{}, o,
                                   detail::call_branches(std::forward<R>(range)));
  return detail::join_and_take(std::move(ex));
}

/// The same with a store and an executor (an rvalue executor is owned for the call, and must be
/// movable).
template <store S, executor E, detail::branch... Fs>
  requires detail::held_executor<E>
[[nodiscard]] auto quorum_parallel(S& st, E&& ex, const options& o, Fs&&... fs) {
  auto h = start(st, std::forward<E>(ex), o, std::forward<Fs>(fs)...);
  return detail::join_and_take(std::move(h));
}

template <store S, executor E, detail::branch_range R>
  requires detail::held_executor<E>
[[nodiscard]] auto quorum_parallel(S& st, E&& ex, const options& o, R&& range) {
  auto h = detail::start_branches(&st, std::forward<E>(ex), o,
                                  detail::call_branches(std::forward<R>(range)));
  return detail::join_and_take(std::move(h));
}

/// A call whose branches are not callables of a form quorum accepts: one readable error.
// clang-format off
template <class... Fs> requires detail::not_branches<Fs...>
void quorum_parallel(const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <store S, class... Fs> requires detail::not_branches<Fs...>
void quorum_parallel(S&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <detail::executor_only E, class... Fs> requires detail::not_branches<Fs...>
void quorum_parallel(E&&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <store S, executor E, class... Fs> requires detail::not_branches<Fs...>
void quorum_parallel(S&, E&&, const options&, Fs&&...) = delete;  // quorum: each branch must be callable as T(), T(std::stop_token) or T(quorum::branch_context&), or give one range of such callables
template <class E, class... Fs> requires detail::unmovable_rvalue_executor<E>
void quorum_parallel(E&&, const options&, Fs&&...) = delete;  // quorum: an executor given as an rvalue is owned by the execution, so it must be movable; pool_executor is not: create it once (a service keeps it for its life) and pass it as an lvalue
template <store S, class E, class... Fs> requires detail::unmovable_rvalue_executor<E>
void quorum_parallel(S&, E&&, const options&, Fs&&...) = delete;  // quorum: an executor given as an rvalue is owned by the execution, so it must be movable; pool_executor is not: create it once (a service keeps it for its life) and pass it as an lvalue
template <class E, class... Fs> requires detail::const_executor<E>
void quorum_parallel(E&&, const options&, Fs&&...) = delete;  // quorum: the executor is given as const, but execute() changes it: pass it without const
template <store S, class E, class... Fs> requires detail::const_executor<E>
void quorum_parallel(S&, E&&, const options&, Fs&&...) = delete;  // quorum: the executor is given as const, but execute() changes it: pass it without const
template <class E, store S, class... Fs> requires detail::executor_only<E>
void quorum_parallel(E&&, S&, const options&, Fs&&...) = delete;  // quorum: the store comes first: quorum_parallel(store, executor, options, branches...)
template <class S, class... Args> requires detail::rvalue_store<S>
void quorum_parallel(S&&, const options&, Args&&...) = delete;  // quorum: the store is borrowed, not owned: make it once and pass it by name (quorum::memory_store s; quorum_parallel(s, opts, ...)), or leave it out for a memory_store of the call's own
template <class S, class E, class... Args> requires detail::rvalue_store<S>
void quorum_parallel(S&&, E&&, const options&, Args&&...) = delete;  // quorum: the store is borrowed, not owned: make it once and pass it by name (quorum::memory_store s; quorum_parallel(s, executor, opts, ...)), or leave it out for a memory_store of the call's own
template <std::integral I, class... Fs> requires detail::some_branches<Fs...>
void quorum_parallel(I, Fs&&...) = delete;  // quorum: the first argument is the options, not the quorum: quorum_parallel({.quorum = 2}, branches...)
template <store S, std::integral I, class... Fs> requires detail::some_branches<Fs...>
void quorum_parallel(S&, I, Fs&&...) = delete;  // quorum: the options come after the store, not the quorum: quorum_parallel(store, {.quorum = 2}, branches...)
// clang-format on

}  // namespace quorum
