# Installed next to quorumConfig.cmake: defines quorum::redis when hiredis is found again.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()
if(HIREDIS_FOUND AND NOT TARGET quorum::redis)
  include("${CMAKE_CURRENT_LIST_DIR}/quorumRedisTargets.cmake")
endif()
# The `redis` component: `find_package(quorum CONFIG REQUIRED COMPONENTS redis)` succeeds only
# when quorum::redis is defined (check_required_components reads this variable).
if(TARGET quorum::redis)
  set(quorum_redis_FOUND TRUE)
else()
  set(quorum_redis_FOUND FALSE)
endif()
