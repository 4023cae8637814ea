// The HDF5 structure of one checkpoint file, made by one process (serial HDF5) before any
// tensor data is written: root attributes, groups, tables, and every tensor dataset at
// full shape with contiguous storage allocated at creation (no fill), its attributes
// (shard_rows, the caller's) and a crc32 attribute holding 0 until store_checksums
// writes the agreed values. Datasets of 1 MiB or more start on 1 MiB boundaries.
//
// Because storage is contiguous and C-ordered, rows [a, b) of a tensor are the bytes
// [offset + a·row_bytes, offset + b·row_bytes) of the file: the ranks then write their
// rows there with plain POSIX I/O (runtime/checkpoint/shard_writer.h), in parallel and in
// any order, and the result is an ordinary HDF5 file (h5py, h5dump, any world size).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"

namespace sprout::runtime {

// The file offset of every tensor's data, by dataset path (-1 for a tensor without
// elements, which has no storage).
using DataOffsets = std::map<std::string, int64_t>;

// Creates (truncating) `path` with the structure of `content`; `world_size` is recorded
// (root attribute world_size, shard_rows). Throws CheckpointError naming the file and the
// object. Local.
DataOffsets create_checkpoint_layout(const std::string& path, const CheckpointContent& content, int world_size);

// Writes each tensor's agreed CRC-32 into its crc32 attribute (the file's structure is
// otherwise unchanged). Throws CheckpointError naming the file and the tensor. Local.
void store_checksums(const std::string& path, const std::map<std::string, uint32_t>& crc32);

}  // namespace sprout::runtime
