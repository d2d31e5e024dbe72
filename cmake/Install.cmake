# The CMake package of an installed rotary (docs/Install.md): one export
# set per component, rotaryConfig.cmake and rotaryConfigVersion.cmake under
# <prefix>/lib/cmake/rotary. The targets' own install rules (with their
# RPATHs) are next to them (runtime/, lib/Compiler, torch/, tools/, through
# cmake/RotaryInstallHelpers.cmake); the headers' in include/rotary.
#
# Install components, for `cmake --install <build> --component <name>`:
#   runtime   librotary_runtime.so, its headers, the package files
#   compiler  librotary_compiler.so, rotary/Compiler and rotary/Model
#   torch     librotary_torch.so (rotary::torch and rotary::nn),
#             rotary/Torch
#   tools     bin/: rotary-opt, rotary-translate, rotary-runner,
#             rotary-train
# A deployment that only runs prebuilt bundles installs `runtime` alone.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ROTARY_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rotary)

install(EXPORT rotaryRuntimeTargets NAMESPACE rotary::
        DESTINATION ${ROTARY_CMAKE_INSTALL_DIR} COMPONENT runtime)
install(EXPORT rotaryCompilerTargets NAMESPACE rotary::
        DESTINATION ${ROTARY_CMAKE_INSTALL_DIR} COMPONENT compiler)
install(EXPORT rotaryTorchTargets NAMESPACE rotary::
        DESTINATION ${ROTARY_CMAKE_INSTALL_DIR} COMPONENT torch)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/rotaryConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/rotaryConfig.cmake
  INSTALL_DESTINATION ${ROTARY_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_BINDIR)
# SameMinorVersion: while the major version is 0, a new minor version may
# change the API and the ABI (the libraries' SONAME is
# librotary_*.so.MAJOR.MINOR for that reason), so find_package(rotary 0.1)
# accepts 0.1.x only.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/rotaryConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/rotaryConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/rotaryConfigVersion.cmake
        DESTINATION ${ROTARY_CMAKE_INSTALL_DIR} COMPONENT runtime)
