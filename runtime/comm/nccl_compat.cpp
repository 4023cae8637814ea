#include "runtime/comm/nccl_compat.h"

#include "runtime/error.h"

namespace sprout::runtime::nccl {

ncclDataType_t datatype(NcclElement element) {
  switch (element) {
    case NcclElement::Int8: return ncclInt8;
    case NcclElement::Uint8: return ncclUint8;
    case NcclElement::Int32: return ncclInt32;
    case NcclElement::Int64: return ncclInt64;
    case NcclElement::Float16: return ncclFloat16;
    case NcclElement::Bfloat16:
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
      return ncclBfloat16;
#else
      throw CommError("nccl: bfloat16 needs NCCL 2.10 or later");
#endif
    case NcclElement::Float32: return ncclFloat32;
    case NcclElement::Float64: return ncclFloat64;
  }
  throw CommError("nccl: unknown element type");
}

ncclRedOp_t reduction(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg:
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
      return ncclAvg;
#else
      return ncclSum;  // divided by the size after completion (nccl_communicator.cpp)
#endif
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

std::string library_version() {
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "unknown";
  // Codes are X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z after.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? (code / 100) % 100 : (code / 100) % 10;
  return concat(major, ".", minor, ".", code % 100);
}

std::string error_message(ncclResult_t result, ncclComm_t comm) {
  std::string text = ncclGetErrorString(result);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') text += concat(" (", last, ")");
#else
  (void)comm;
#endif
  return text;
}

void throw_nccl(ncclResult_t result, ncclComm_t comm, const char* call, const char* file, int line) {
  throw CommError(concat(file, ":", line, ": ", call, " failed: ", error_message(result, comm)));
}

void throw_cuda(cudaError_t error, const char* call, const char* file, int line) {
  throw CommError(concat(file, ":", line, ": ", call, " failed: ", cudaGetErrorName(error), ": ",
                         cudaGetErrorString(error)));
}

}  // namespace sprout::runtime::nccl
