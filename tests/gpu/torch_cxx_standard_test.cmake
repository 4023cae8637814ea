# cmake -DWORK=<scratch folder> -DSOURCE_DIR=<checkout> -P torch_cxx_standard_test.cmake
# The C++ standard chosen for made-up LibTorch headers (runtime/device/torch_cxx_standard.cmake).
include(${SOURCE_DIR}/runtime/device/torch_cxx_standard.cmake)
set(failures 0)
# expect(MAJOR MINOR MACROS_TEXT STANDARD VERSION): MAJOR empty = no version header.
function(expect major minor macros_text want_standard want_version)
  set(dir ${WORK}/case_${major}_${minor}_${want_standard})
  file(REMOVE_RECURSE ${dir})
  set(version_h "")
  if(NOT major STREQUAL "")
    set(version_h ${dir}/torch/version.h)
    file(WRITE ${version_h} "#pragma once\n#define TORCH_VERSION_MAJOR ${major}\n#define TORCH_VERSION_MINOR ${minor}\n#define TORCH_VERSION_PATCH 0\n")
  endif()
  set(macros_h ${dir}/c10/macros/Macros.h)
  file(WRITE ${macros_h} "${macros_text}\n")
  sprout_torch_cxx_standard("${version_h}" "${macros_h}" version standard)
  if(standard STREQUAL want_standard AND version STREQUAL want_version)
    message(STATUS "torch '${major}.${minor}': C++${standard} (ok)")
  else()
    message(SEND_ERROR "torch '${major}.${minor}': got C++${standard} (version ${version}), want C++${want_standard} (version ${want_version})")
  endif()
endfunction()
expect(1 13 "" 17 1.13)             # Debian 12
expect(2 11 "" 17 2.11)
expect(2 12 "" 20 2.12)             # the first PyTorch that refuses C++17
expect(3 0 "" 20 3.0)
expect(2 9 "#error C++20 or later compatible compiler is required to use PyTorch." 20 2.9)
expect("" "" "" 17 unknown)         # no version header: C++17
