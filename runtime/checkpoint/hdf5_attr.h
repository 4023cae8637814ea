// Attributes of HDF5 objects as sprout Attributes (runtime/checkpoint/checkpoint.h).
// In a file opened for parallel I/O these calls are collective: every rank calls them with
// the same object and the same values.
#pragma once

#include <hdf5.h>

#include <string>

#include "runtime/checkpoint/checkpoint.h"

namespace sprout::runtime {

// Stores every attribute (replacing one of the same name). Integers are int64, numbers
// float64, strings fixed-length UTF-8, integer lists 1-D int64 — plain types h5py and
// h5dump show as they are.
void write_attributes(hid_t object, const Attributes& attrs, const std::string& where);
// An int64 attribute of shape [rows, cols] (e.g. shard_rows).
void write_int_matrix(hid_t object, const std::string& key, const std::vector<int64_t>& values, hsize_t rows,
                      hsize_t cols, const std::string& where);

// Reads every attribute sprout can represent: integer scalars and arrays (arrays
// flattened), float scalars, fixed- and variable-length string scalars. Others are
// skipped.
Attributes read_attributes(hid_t object, const std::string& where);

}  // namespace sprout::runtime
