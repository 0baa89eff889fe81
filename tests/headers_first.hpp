// Included by each generated tests/headers_alone/<header>.cpp after the one header it checks:
// the rest of the library comes second, and its templates are instantiated here, so that a
// header included first cannot change what a later header's template finds by name. (It did:
// store_check.hpp's detail::describe overloads, declared first, hid quorum::describe from
// to_json's call in detail, and to_json no longer compiled.) Compiled, never run.
#pragma once

#include <quorum/history.hpp>
#include <quorum/live_view.hpp>
#include <quorum/quorum.hpp>
#include <quorum/store_check.hpp>

#include <iostream>
#include <stop_token>
#include <string>

namespace quorum_headers_first {

inline int branch() { return 1; }
inline void void_branch() {}

struct projected {
  int v = 0;
};

// Every public template that names another header's functions, instantiated once.
inline void instantiate() {
  quorum::options o{.quorum = 1};
  const quorum::result<int> r = quorum::quorum_parallel(o, branch, [](std::stop_token) { return 2; });
  std::string text = quorum::to_json(r) + quorum::to_json(quorum::quorum_parallel(o, void_branch));
  text += quorum::to_json(quorum::quorum_parallel(o, [] { return projected{}; }),
                          [](const projected& p) { return p.v; });
  quorum::history h;
  o.observer = h.observer();
  auto e = quorum::start(o, branch);
  h.finish(e.get());
  const quorum::timeline t = h.snapshot();
  text += quorum::to_json(t) + quorum::to_chrome_trace(t) + quorum::to_svg(t);
  quorum::live_view view(std::cerr, {.quorum = 1});
  view.update(t, t.end);
  view.finish(t);
  quorum::memory_store m;
  text += std::to_string(quorum::check_store(m).size());
  std::cerr << text;
}

}  // namespace quorum_headers_first
