# Install rules: headers, exported target, package config and version files.
include_guard(GLOBAL)

include(CMakePackageConfigHelpers)

# The package is header-only, so its CMake files are architecture independent.
set(QUORUM_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/quorum"
  CACHE STRING "Where quorumConfig.cmake is installed, relative to the prefix")
mark_as_advanced(QUORUM_INSTALL_CMAKEDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/quorum"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(TARGETS quorum EXPORT quorumTargets)

install(EXPORT quorumTargets
  NAMESPACE quorum::
  DESTINATION "${QUORUM_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/quorumConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/quorumConfig.cmake"
  INSTALL_DESTINATION "${QUORUM_INSTALL_CMAKEDIR}")

write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/quorumConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)

install(FILES
  "${PROJECT_BINARY_DIR}/quorumConfig.cmake"
  "${PROJECT_BINARY_DIR}/quorumConfigVersion.cmake"
  DESTINATION "${QUORUM_INSTALL_CMAKEDIR}")

install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/quorum")
