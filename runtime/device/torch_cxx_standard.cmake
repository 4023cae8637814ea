# sprout_torch_cxx_standard(VERSION_H MACROS_H OUT_VERSION OUT_STANDARD)
#
# The C++ standard a LibTorch's headers need, read from its torch/version.h and
# c10/macros/Macros.h (either may be empty or missing): 20 for PyTorch 2.12 and later, which
# refuse C++17 with an #error, or where Macros.h asks for "C++20 or later"; 17 otherwise
# (Debian's 1.13, PyTorch up to 2.11). OUT_VERSION gets "MAJOR.MINOR" or "unknown".
# tests/gpu/torch_cxx_standard_test.cmake checks it on made-up headers.
function(sprout_torch_cxx_standard version_h macros_h out_version out_standard)
  set(version "unknown")
  if(version_h AND EXISTS "${version_h}")
    file(STRINGS "${version_h}" lines REGEX "define TORCH_VERSION_(MAJOR|MINOR) +[0-9]+")
    string(REGEX MATCH "MAJOR +([0-9]+)" _ "${lines}")
    set(major ${CMAKE_MATCH_1})
    string(REGEX MATCH "MINOR +([0-9]+)" _ "${lines}")
    set(minor ${CMAKE_MATCH_1})
    if(NOT major STREQUAL "" AND NOT minor STREQUAL "")
      set(version ${major}.${minor})
    endif()
  endif()
  set(standard 17)
  if(version MATCHES "^[0-9]" AND version VERSION_GREATER_EQUAL 2.12)
    set(standard 20)
  endif()
  if(macros_h AND EXISTS "${macros_h}")
    file(STRINGS "${macros_h}" demands REGEX "C\\+\\+20 or later")
    if(demands)
      set(standard 20)
    endif()
  endif()
  set(${out_version} ${version} PARENT_SCOPE)
  set(${out_standard} ${standard} PARENT_SCOPE)
endfunction()
