# sprout as a library: the sprout::sprout target and `cmake --install build --prefix P`.
# Included by the top-level CMakeLists.txt after every layer is defined.
#
# Headers keep the spelling of the source tree under a sprout/ folder:
#   #include <sprout/sprout.h>                      the API (launch/api/sprout.h)
#   #include <sprout/growth/models/family.h>        any other header, from the top of the tree
# Installed: P/include/sprout/<layer>/..., libraries in P/lib, the CMake package in
# P/lib/cmake/sprout (sproutConfig.cmake: find_package(sprout) finds sprout's own
# dependencies through find_dependency). In the build tree the same spellings work
# through build/include/sprout, whose <layer> entries are links to the source folders.
include(CMakePackageConfigHelpers)

set(SPROUT_LAYERS runtime growth merge data launch)
set(_sprout_include ${PROJECT_BINARY_DIR}/include)
foreach(layer ${SPROUT_LAYERS})
  if(NOT EXISTS ${_sprout_include}/sprout/${layer})
    file(MAKE_DIRECTORY ${_sprout_include}/sprout)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${layer} ${_sprout_include}/sprout/${layer} SYMBOLIC)
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/sprout.h ${_sprout_include}/sprout/sprout.h COPYONLY)

# Every layer, for programs; the target `sprout` is the command-line program, hence the name.
add_library(sprout_library INTERFACE)
target_link_libraries(sprout_library INTERFACE sprout_launch sprout_growth sprout_merge sprout_data sprout_runtime)
target_include_directories(sprout_library INTERFACE $<BUILD_INTERFACE:${_sprout_include}>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(sprout_library INTERFACE cxx_std_17)
set_target_properties(sprout_library PROPERTIES EXPORT_NAME sprout)
add_library(sprout::sprout ALIAS sprout_library)

set(_sprout_targets sprout_library)
foreach(layer ${SPROUT_LAYERS})
  list(APPEND _sprout_targets sprout_${layer})
endforeach()
# Interface targets of the device discovery that the layers link (runtime/device/device.cmake).
foreach(extra sprout_torch sprout_cuda_nccl)
  if(TARGET ${extra})
    list(APPEND _sprout_targets ${extra})
  endif()
endforeach()
set(_sprout_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/sprout)
install(TARGETS ${_sprout_targets} EXPORT sproutTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS sprout RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT sproutTargets NAMESPACE sprout:: DESTINATION ${_sprout_cmake_dir})
foreach(layer ${SPROUT_LAYERS})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sprout
          FILES_MATCHING PATTERN "*.h"
          PATTERN "scripts" EXCLUDE PATTERN "configs" EXCLUDE PATTERN "results" EXCLUDE)
endforeach()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/sprout.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sprout)

# What the package config needs to find the same dependencies the build found.
if(SPROUT_TORCH_PYTHON)
  set(SPROUT_CONFIG_FIND_TORCH OFF)  # sprout::sprout_torch carries the libraries' paths
else()
  set(SPROUT_CONFIG_FIND_TORCH ON)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/sproutConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/sproutConfig.cmake INSTALL_DESTINATION ${_sprout_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sproutConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sproutConfig.cmake ${PROJECT_BINARY_DIR}/sproutConfigVersion.cmake
        DESTINATION ${_sprout_cmake_dir})
# The Python package that loads sprout's exports and checkpoints in PyTorch
# (launch/interop/python/README.md): P/share/sprout/python/sprout_torch.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/launch/interop/python/sprout_torch DESTINATION ${CMAKE_INSTALL_DATADIR}/sprout/python
        PATTERN "__pycache__" EXCLUDE)
