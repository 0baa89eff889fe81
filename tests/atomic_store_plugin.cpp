// A plugin (a shared library loaded with dlopen) that keeps an atomic_store and an execution's
// record in statics, and closes the record, then runs one more execution's open and close,
// from a static's destructor: when it is unloaded (dlclose). See test_atomic_store_dlclose.cpp.
#include <quorum/stores/atomic.hpp>

namespace {

quorum::execution_spec spec(std::string id) {
  return quorum::execution_spec{std::move(id), 3, quorum::at_least(2).resolve(3)};
}

struct service {
  quorum::atomic_store store{4};
  quorum::atomic_store::handle held = nullptr;
  ~service() {
    if (held != nullptr) store.close(held);
    store.close(store.open(spec("goodbye")));
  }
};
service the_service;

}  // namespace

extern "C" __attribute__((visibility("default"))) void quorum_test_plugin_open() {
  the_service.held = the_service.store.open(spec("held"));
}
