// Everything that differs between NCCL versions, and the checks that wrap every NCCL and
// CUDA runtime call. Included by the NCCL backend's .cpp files only (needs nccl.h).
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <torch/types.h>

#include "runtime/comm/nccl_guard.h"

namespace sprout::runtime::nccl {

// ncclAvg: NCCL 2.10. Older versions sum and divide on the compute stream.
constexpr bool kHasAvg = NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0);
// ncclCommSplit: NCCL 2.18. Older versions bootstrap a fresh unique id over the MPI
// sub-communicator.
constexpr bool kHasSplit = NCCL_VERSION_CODE >= NCCL_VERSION(2, 18, 0);
// ncclGetLastError (a detailed message beside the error code): NCCL 2.13.
constexpr bool kHasLastError = NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0);

static_assert(sizeof(ncclUniqueId) == 128, "the MPI bootstrap broadcasts a 128-byte unique id");

// NCCL's datatype and reduction for arguments checked by nccl_args (runtime/comm/nccl_guard.h);
// throws CommError for bfloat16 before NCCL 2.10.
ncclDataType_t datatype(NcclElement element);
ncclRedOp_t reduction(ReduceOp op);

// Runtime version of the loaded libnccl as "2.28.9".
std::string library_version();

// The library's own message for `result` on `comm` (may be null).
std::string error_message(ncclResult_t result, ncclComm_t comm);

[[noreturn]] void throw_nccl(ncclResult_t result, ncclComm_t comm, const char* call, const char* file, int line);
[[noreturn]] void throw_cuda(cudaError_t error, const char* call, const char* file, int line);

}  // namespace sprout::runtime::nccl

// Wrap every NCCL call: on failure throws CommError with file:line, the call and NCCL's
// message. `comm` (may be nullptr) adds ncclGetLastError's detail.
#define SPROUT_NCCL_CHECK(call, comm)                                                   \
  do {                                                                                  \
    const ncclResult_t sprout_nccl_result_ = (call);                                    \
    if (sprout_nccl_result_ != ncclSuccess)                                             \
      ::sprout::runtime::nccl::throw_nccl(sprout_nccl_result_, (comm), #call, __FILE__, \
                                          __LINE__);                                    \
  } while (0)

// Wrap every CUDA runtime call: on failure throws CommError with file:line and CUDA's message.
#define SPROUT_CUDA_CHECK(call)                                                                 \
  do {                                                                                          \
    const cudaError_t sprout_cuda_error_ = (call);                                              \
    if (sprout_cuda_error_ != cudaSuccess)                                                      \
      ::sprout::runtime::nccl::throw_cuda(sprout_cuda_error_, #call, __FILE__, __LINE__);       \
  } while (0)
