# LibTorch, CUDA and NCCL discovery; included by the top-level CMakeLists.txt.
#
# LibTorch: find_package(Torch) (Debian's LibTorch, or any LibTorch on CMAKE_PREFIX_PATH),
# or, with -DSPROUT_TORCH_PYTHON=<folder of a Python torch package>, imported straight from
# that folder's lib/ and include/. The second way skips Caffe2's CUDA CMake scripts, which
# want a complete CUDA toolkit (nvcc, nvToolsExt) of the exact version PyTorch was built with.
#
# NCCL backend: SPROUT_WITH_NCCL = AUTO (default) | ON | OFF. AUTO builds it when the CUDA
# runtime (cuda_runtime_api.h, libcudart) and NCCL (nccl.h, libnccl) are found under
# NCCL_ROOT, NCCL_HOME, CUDAToolkit_ROOT, CUDA_HOME (variables or environment),
# CMAKE_PREFIX_PATH or /usr/local/cuda. Nothing here needs a GPU: the backend compiles and
# links on any machine that has those files.
#
# Sets: TORCH_LIBRARIES, TORCH_CXX_FLAGS, SPROUT_TORCH_HAS_CUDA, SPROUT_NCCL_ENABLED,
#       SPROUT_DEVICE_SOURCES, SPROUT_DEVICE_LIBRARIES and SPROUT_DEVICE_DEFINITIONS (for
#       sprout_runtime).

set(SPROUT_TORCH_PYTHON "" CACHE PATH "Python torch package folder to take LibTorch from (instead of find_package(Torch))")
set(SPROUT_TORCH_CXX11_ABI 1 CACHE STRING "_GLIBCXX_USE_CXX11_ABI of the LibTorch in SPROUT_TORCH_PYTHON")
set(SPROUT_WITH_NCCL AUTO CACHE STRING "NCCL backend: AUTO, ON or OFF")
set_property(CACHE SPROUT_WITH_NCCL PROPERTY STRINGS AUTO ON OFF)

if(SPROUT_TORCH_PYTHON)
  set(_torch_lib ${SPROUT_TORCH_PYTHON}/lib)
  foreach(_name torch torch_cpu c10)
    find_library(SPROUT_TORCH_LIB_${_name} ${_name} PATHS ${_torch_lib} NO_DEFAULT_PATH)
    if(NOT SPROUT_TORCH_LIB_${_name})
      message(FATAL_ERROR "SPROUT_TORCH_PYTHON=${SPROUT_TORCH_PYTHON}: lib${_name}.so not found in ${_torch_lib}")
    endif()
    list(APPEND _torch_libs ${SPROUT_TORCH_LIB_${_name}})
  endforeach()
  find_library(SPROUT_TORCH_LIB_torch_cuda torch_cuda PATHS ${_torch_lib} NO_DEFAULT_PATH)
  find_library(SPROUT_TORCH_LIB_c10_cuda c10_cuda PATHS ${_torch_lib} NO_DEFAULT_PATH)
  set(SPROUT_TORCH_HAS_CUDA OFF)
  if(SPROUT_TORCH_LIB_torch_cuda AND SPROUT_TORCH_LIB_c10_cuda)
    set(SPROUT_TORCH_HAS_CUDA ON)
    list(APPEND _torch_libs ${SPROUT_TORCH_LIB_torch_cuda} ${SPROUT_TORCH_LIB_c10_cuda})
  endif()
  add_library(sprout_torch INTERFACE)
  target_include_directories(sprout_torch SYSTEM INTERFACE ${SPROUT_TORCH_PYTHON}/include
                             ${SPROUT_TORCH_PYTHON}/include/torch/csrc/api/include)
  # libtorch_cuda registers CUDA with LibTorch from static initialisers: keep it linked even
  # though sprout calls none of its symbols directly. One token (-Wl,--no-as-needed,a,b,
  # --as-needed), so CMake cannot reorder or deduplicate the flags away from the libraries;
  # tests/gpu/links_torch_cuda.sh checks the result with readelf.
  # CMake sees no library in that token, so it adds no run path for them: name the folder.
  string(REPLACE ";" "," _torch_libs_csv "${_torch_libs}")
  target_link_libraries(sprout_torch INTERFACE "-Wl,--no-as-needed,${_torch_libs_csv},--as-needed")
  target_link_options(sprout_torch INTERFACE "LINKER:-rpath,${_torch_lib}")
  set(TORCH_LIBRARIES sprout_torch)
  set(TORCH_CXX_FLAGS -D_GLIBCXX_USE_CXX11_ABI=${SPROUT_TORCH_CXX11_ABI})
  message(STATUS "LibTorch: ${SPROUT_TORCH_PYTHON} (CUDA: ${SPROUT_TORCH_HAS_CUDA})")
else()
  find_package(Torch REQUIRED)
  set(SPROUT_TORCH_HAS_CUDA OFF)
  if(TORCH_CUDA_LIBRARIES OR TARGET c10_cuda OR TARGET torch_cuda)
    set(SPROUT_TORCH_HAS_CUDA ON)
  endif()
endif()

# The C++ standard follows the LibTorch found: C++17 where it allows it, C++20 where its
# headers demand it (runtime/device/torch_cxx_standard.cmake); no compile check needed.
include(${CMAKE_CURRENT_LIST_DIR}/torch_cxx_standard.cmake)
set(_torch_include_dirs ${TORCH_INCLUDE_DIRS})
if(SPROUT_TORCH_PYTHON)
  set(_torch_include_dirs ${SPROUT_TORCH_PYTHON}/include ${SPROUT_TORCH_PYTHON}/include/torch/csrc/api/include)
endif()
find_file(SPROUT_TORCH_VERSION_H torch/version.h PATHS ${_torch_include_dirs} NO_DEFAULT_PATH)
find_file(SPROUT_C10_MACROS_H c10/macros/Macros.h PATHS ${_torch_include_dirs} NO_DEFAULT_PATH)
sprout_torch_cxx_standard("${SPROUT_TORCH_VERSION_H}" "${SPROUT_C10_MACROS_H}" SPROUT_TORCH_VERSION _torch_standard)
if(CMAKE_CXX_STANDARD LESS _torch_standard)
  set(CMAKE_CXX_STANDARD ${_torch_standard})
endif()
message(STATUS "LibTorch ${SPROUT_TORCH_VERSION}: C++${CMAKE_CXX_STANDARD}")

set(SPROUT_NCCL_ENABLED OFF)
set(SPROUT_DEVICE_SOURCES
    ${PROJECT_SOURCE_DIR}/runtime/comm/backend.cpp
    ${PROJECT_SOURCE_DIR}/runtime/comm/host_staging_communicator.cpp
    ${PROJECT_SOURCE_DIR}/runtime/device/device.cpp
    ${PROJECT_SOURCE_DIR}/runtime/device/transfer.cpp
    ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_bootstrap.cpp
    ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_guard.cpp)
set(SPROUT_DEVICE_LIBRARIES "")
set(SPROUT_DEVICE_DEFINITIONS "")

if(NOT SPROUT_WITH_NCCL STREQUAL "OFF")
  set(_hints ${NCCL_ROOT} $ENV{NCCL_ROOT} ${NCCL_HOME} $ENV{NCCL_HOME} ${CUDAToolkit_ROOT}
      $ENV{CUDAToolkit_ROOT} ${CUDA_HOME} $ENV{CUDA_HOME} $ENV{CUDA_PATH} /usr/local/cuda)
  find_path(SPROUT_CUDA_INCLUDE_DIR cuda_runtime_api.h HINTS ${_hints} PATH_SUFFIXES include)
  find_library(SPROUT_CUDART_LIBRARY NAMES cudart libcudart.so.13 libcudart.so.12 libcudart.so.11.0
               HINTS ${_hints} PATH_SUFFIXES lib64 lib)
  find_path(SPROUT_NCCL_INCLUDE_DIR nccl.h HINTS ${_hints} PATH_SUFFIXES include)
  # Python wheels ship libnccl.so.2 without the unversioned link.
  find_library(SPROUT_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_hints} PATH_SUFFIXES lib64 lib)
  set(_missing "")
  foreach(_var SPROUT_CUDA_INCLUDE_DIR SPROUT_CUDART_LIBRARY SPROUT_NCCL_INCLUDE_DIR SPROUT_NCCL_LIBRARY)
    if(NOT ${_var})
      list(APPEND _missing ${_var})
    endif()
  endforeach()
  if(_missing)
    if(SPROUT_WITH_NCCL STREQUAL "ON")
      message(FATAL_ERROR "SPROUT_WITH_NCCL=ON but not found: ${_missing} (set NCCL_ROOT or CUDA_HOME)")
    endif()
    message(STATUS "NCCL backend: off (not found: ${_missing})")
  else()
    set(SPROUT_NCCL_ENABLED ON)
  endif()
endif()

if(SPROUT_NCCL_ENABLED)
  add_library(sprout_cuda_nccl INTERFACE)
  target_include_directories(sprout_cuda_nccl SYSTEM INTERFACE ${SPROUT_CUDA_INCLUDE_DIR} ${SPROUT_NCCL_INCLUDE_DIR})
  target_link_libraries(sprout_cuda_nccl INTERFACE ${SPROUT_NCCL_LIBRARY} ${SPROUT_CUDART_LIBRARY})
  list(APPEND SPROUT_DEVICE_LIBRARIES sprout_cuda_nccl)
  set(_nccl_sources ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_communicator.cpp ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_compat.cpp
      ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_stream.cpp)
  list(APPEND SPROUT_DEVICE_SOURCES ${_nccl_sources})
  if(SPROUT_TORCH_HAS_CUDA)
    # runtime/device/cuda_compat.h: take the compute stream from LibTorch.
    list(APPEND SPROUT_DEVICE_DEFINITIONS SPROUT_TORCH_CUDA=1)
  endif()
  message(STATUS "NCCL backend: on (${SPROUT_NCCL_LIBRARY}, CUDA runtime ${SPROUT_CUDART_LIBRARY})")
else()
  list(APPEND SPROUT_DEVICE_SOURCES ${PROJECT_SOURCE_DIR}/runtime/comm/nccl_unavailable.cpp)
endif()
