// CheckpointTable <-> one HDF5 compound dataset (a row per record; int64, float64 and
// fixed-length string columns), e.g. /growth/history. h5py reads it as a structured array.
#pragma once

#include <hdf5.h>

#include <string>

#include "runtime/checkpoint/checkpoint.h"

namespace sprout::runtime {

// Collective: every rank calls with the same table; only `writer` transfers the rows.
void write_table(hid_t file, hid_t lcpl, hid_t dxpl, bool writer, const std::string& name,
                 const CheckpointTable& table, const std::string& where);

// Collective: every rank reads every row. Throws CheckpointError naming `where` for a
// column type other than integer, float or fixed-length string.
CheckpointTable read_table(hid_t dataset, hid_t dxpl, const std::string& where);

// True if the dataset's element type is compound (a table, not a tensor).
bool is_table(hid_t dataset, const std::string& where);

}  // namespace sprout::runtime
