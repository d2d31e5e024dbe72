# Helpers for the install rules of the libraries and tools (docs/Install.md).
# Included by the CMakeLists of runtime/, lib/Compiler, torch/ and tools/;
# the package files (rotaryConfig.cmake, the export sets) are in
# cmake/Install.cmake.
include(GNUInstallDirs)

# rotary_install(<target> COMPONENT <component> [EXPORT <export set>]
#                [LLVM] [TORCH])
#
# Installs a library (to CMAKE_INSTALL_LIBDIR; with EXPORT, into that export
# set, headers under CMAKE_INSTALL_INCLUDEDIR) or an executable (to
# CMAKE_INSTALL_BINDIR), and sets its install RPATH so that it runs from the
# install prefix wherever that is: a tool looks in $ORIGIN/../lib (the
# relative path from the bin to the lib folder), a library in $ORIGIN (its
# siblings). LLVM adds LLVM_LIBRARY_DIR, the folder of libMLIR.so and
# libLLVM.so this build was configured with, for targets that link them.
# TORCH adds the folders of the linked libraries outside the build tree that
# are not the system's (a LibTorch unpacked somewhere, say; Debian's is in a
# system folder and adds nothing).
function(rotary_install target)
  cmake_parse_arguments(ARG "LLVM;TORCH" "COMPONENT;EXPORT" "" ${ARGN})
  if(NOT ARG_COMPONENT)
    message(FATAL_ERROR "rotary_install(${target}): COMPONENT is required")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    if(type STREQUAL "EXECUTABLE")
      file(RELATIVE_PATH toLib "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}"
           "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
      set(rpath "\$ORIGIN/${toLib}")
    else()
      set(rpath "\$ORIGIN")
    endif()
    if(ARG_LLVM)
      list(APPEND rpath "${LLVM_LIBRARY_DIR}")
    endif()
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}")
    if(ARG_TORCH)
      set_target_properties(${target} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
    endif()
  endif()
  if(ARG_EXPORT)
    set(export EXPORT ${ARG_EXPORT})
  endif()
  install(TARGETS ${target} ${export}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${ARG_COMPONENT}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${ARG_COMPONENT}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${ARG_COMPONENT}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
