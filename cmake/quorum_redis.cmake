# The optional Redis store: target quorum_redis (alias quorum::redis), an INTERFACE target that
# adds hiredis to quorum::quorum. Defined only when pkg-config finds hiredis (Debian:
# libhiredis-dev); the core target never depends on it. Users include
# <quorum/stores/redis.hpp> themselves and link quorum::redis.
include_guard(GLOBAL)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()

if(NOT HIREDIS_FOUND)
  message(STATUS "quorum: hiredis not found (libhiredis-dev); quorum::redis not defined")
  return()
endif()
message(STATUS "quorum: hiredis ${HIREDIS_VERSION} found; quorum::redis defined")

add_library(quorum_redis INTERFACE)
add_library(quorum::redis ALIAS quorum_redis)
target_link_libraries(quorum_redis INTERFACE quorum PkgConfig::HIREDIS)
set_target_properties(quorum_redis PROPERTIES EXPORT_NAME redis)

if(QUORUM_INSTALL)
  # Exported apart from quorumTargets: the installed quorumRedis.cmake (included by
  # quorumConfig.cmake when present) finds hiredis again before defining quorum::redis.
  install(TARGETS quorum_redis EXPORT quorumRedisTargets)
  install(EXPORT quorumRedisTargets
    NAMESPACE quorum::
    DESTINATION "${QUORUM_INSTALL_CMAKEDIR}")
  install(FILES "${CMAKE_CURRENT_LIST_DIR}/quorumRedis.cmake"
    DESTINATION "${QUORUM_INSTALL_CMAKEDIR}")
endif()
