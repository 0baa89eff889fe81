// Built only with QUORUM_CONSUME_REDIS: the Redis store's header compiles against the installed
// package, and its options type can be made (no server is contacted).
#include <quorum/stores/redis.hpp>

[[maybe_unused]] static const quorum::redis_options consumer_redis_options{};
