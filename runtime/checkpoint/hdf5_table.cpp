#include "runtime/checkpoint/hdf5_table.h"

#include <cstring>

#include "runtime/checkpoint/hdf5_util.h"

namespace sprout::runtime {

namespace {

struct Member {
  std::string name;
  size_t offset = 0, size = 0;
  H5Id type;
};

}  // namespace

void write_table(hid_t file, hid_t lcpl, hid_t dxpl, bool writer, const std::string& name,
                 const CheckpointTable& table, const std::string& where) {
  const int64_t rows = table.rows();
  std::vector<Member> members;
  size_t row_size = 0;
  for (const auto& col : table.columns) {
    Member m;
    m.name = col.name;
    m.offset = row_size;
    const int64_t n = std::visit([](const auto& v) { return static_cast<int64_t>(v.size()); }, col.values);
    SPROUT_CHECK(n == rows, CheckpointError, where, ": column '", col.name, "' has ", n, " rows, expected ", rows);
    if (std::holds_alternative<std::vector<int64_t>>(col.values)) {
      m.type = H5Id::type(SPROUT_H5_CHECK(H5Tcopy(H5T_STD_I64LE), where));
    } else if (std::holds_alternative<std::vector<double>>(col.values)) {
      m.type = H5Id::type(SPROUT_H5_CHECK(H5Tcopy(H5T_IEEE_F64LE), where));
    } else {
      size_t longest = 0;
      for (const auto& s : std::get<std::vector<std::string>>(col.values)) longest = std::max(longest, s.size());
      m.type = make_string_type(longest + 1);
    }
    m.size = H5Tget_size(m.type);
    row_size += m.size;
    members.push_back(std::move(m));
  }
  SPROUT_CHECK(!members.empty(), CheckpointError, where, ": a table needs at least one column");
  H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Tcreate(H5T_COMPOUND, row_size), where));
  for (const auto& m : members) SPROUT_H5_CHECK(H5Tinsert(type, m.name.c_str(), m.offset, m.type), where);

  std::vector<char> bytes(std::max<size_t>(1, row_size * static_cast<size_t>(rows)), 0);
  for (size_t c = 0; c < members.size(); ++c) {
    const auto& col = table.columns[c];
    for (int64_t r = 0; r < rows; ++r) {
      char* dst = bytes.data() + static_cast<size_t>(r) * row_size + members[c].offset;
      if (const auto* i = std::get_if<std::vector<int64_t>>(&col.values)) std::memcpy(dst, &(*i)[r], 8);
      else if (const auto* d = std::get_if<std::vector<double>>(&col.values)) std::memcpy(dst, &(*d)[r], 8);
      else {
        const auto& s = std::get<std::vector<std::string>>(col.values)[r];
        std::memcpy(dst, s.data(), s.size());
      }
    }
  }
  H5Id fspace = make_space({static_cast<hsize_t>(rows)}, where);
  H5Id dset = H5Id::dataset(
      SPROUT_H5_CHECK(H5Dcreate2(file, name.c_str(), type, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT), where));
  if (rows > 0) {
    H5Id mspace = make_space({static_cast<hsize_t>(rows)}, where);
    if (!writer) {
      SPROUT_H5_CHECK(H5Sselect_none(fspace), where);
      SPROUT_H5_CHECK(H5Sselect_none(mspace), where);
    }
    SPROUT_H5_CHECK(H5Dwrite(dset, type, mspace, fspace, dxpl, bytes.data()), where);
  }
  dset.close(where);
}

bool is_table(hid_t dataset, const std::string& where) {
  H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Dget_type(dataset), where));
  return SPROUT_H5_CHECK(H5Tget_class(type), where) == H5T_COMPOUND;
}

CheckpointTable read_table(hid_t dataset, hid_t dxpl, const std::string& where) {
  H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Dget_type(dataset), where));
  H5Id space = H5Id::space(SPROUT_H5_CHECK(H5Dget_space(dataset), where));
  const auto dims = space_dims(space, where);
  SPROUT_CHECK(dims.size() == 1, CheckpointError, where, ": a table must be one-dimensional");
  const size_t rows = dims[0], row_size = H5Tget_size(type);
  std::vector<char> bytes(std::max<size_t>(1, rows * row_size), 0);
  if (rows > 0) SPROUT_H5_CHECK(H5Dread(dataset, type, H5S_ALL, H5S_ALL, dxpl, bytes.data()), where);

  CheckpointTable table;
  const int n = SPROUT_H5_CHECK(H5Tget_nmembers(type), where);
  for (int c = 0; c < n; ++c) {
    char* raw = H5Tget_member_name(type, static_cast<unsigned>(c));
    CheckpointTable::Column col;
    col.name = raw ? raw : "";
    H5free_memory(raw);
    const size_t offset = H5Tget_member_offset(type, static_cast<unsigned>(c));
    H5Id mtype = H5Id::type(SPROUT_H5_CHECK(H5Tget_member_type(type, static_cast<unsigned>(c)), where));
    const H5T_class_t cls = H5Tget_class(mtype);
    const size_t size = H5Tget_size(mtype);
    const std::string ctx = where + " column '" + col.name + "'";
    if (cls == H5T_INTEGER && size == 8) {
      std::vector<int64_t> v(rows);
      for (size_t r = 0; r < rows; ++r) std::memcpy(&v[r], bytes.data() + r * row_size + offset, 8);
      col.values = std::move(v);
    } else if (cls == H5T_FLOAT && size == 8) {
      std::vector<double> v(rows);
      for (size_t r = 0; r < rows; ++r) std::memcpy(&v[r], bytes.data() + r * row_size + offset, 8);
      col.values = std::move(v);
    } else if (cls == H5T_STRING && SPROUT_H5_CHECK(H5Tis_variable_str(mtype), ctx) == 0) {
      std::vector<std::string> v(rows);
      for (size_t r = 0; r < rows; ++r) {
        const char* p = bytes.data() + r * row_size + offset;
        v[r] = std::string(p, strnlen(p, size));
      }
      col.values = std::move(v);
    } else {
      throw CheckpointError(concat(ctx, ": unsupported column type (want int64, float64 or fixed-length string)"));
    }
    table.columns.push_back(std::move(col));
  }
  return table;
}

}  // namespace sprout::runtime
