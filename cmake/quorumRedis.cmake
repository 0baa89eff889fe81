# Installed next to quorumConfig.cmake: defines quorum::redis when hiredis is found again.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()
if(HIREDIS_FOUND AND NOT TARGET quorum::redis)
  include("${CMAKE_CURRENT_LIST_DIR}/quorumRedisTargets.cmake")
endif()
