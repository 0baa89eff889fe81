// atomic_store in a plugin that is unloaded (dlclose) while its statics still close records:
// nothing of the plugin may be left to run after it is gone.
#include <doctest/doctest.h>

#include <dlfcn.h>

#include <thread>

namespace {

// Regression (review): the first record a thread kept made a thread_local whose destructor
// frees the thread's kept records. Made by the plugin's static destructor, during dlclose, it
// was registered after the loader had decided to unmap the plugin: the thread's exit then
// called into the unmapped plugin (SIGSEGV).
TEST_CASE("a plugin's atomic_store closes records as the plugin is unloaded, on a thread that ends") {
  void* so = dlopen(QUORUM_TEST_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(so != nullptr, dlerror());
  void* sym = dlsym(so, "quorum_test_plugin_open");
  REQUIRE(sym != nullptr);
  reinterpret_cast<void (*)()>(sym)();  // a record the plugin's static holds, opened here
  // The plugin's statics are destroyed on that thread (closing the record and running one
  // more execution), and then the thread ends.
  std::jthread([so] { CHECK(dlclose(so) == 0); }).join();
}

}  // namespace
