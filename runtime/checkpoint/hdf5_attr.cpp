#include "runtime/checkpoint/hdf5_attr.h"

#include "runtime/checkpoint/hdf5_util.h"

namespace sprout::runtime {

namespace {

void write_one(hid_t object, const std::string& key, hid_t file_type, hid_t mem_type, const H5Id& space,
               const void* data, const std::string& where) {
  const std::string ctx = where + " attribute '" + key + "'";
  if (SPROUT_H5_CHECK(H5Aexists(object, key.c_str()), ctx) > 0) SPROUT_H5_CHECK(H5Adelete(object, key.c_str()), ctx);
  H5Id attr = H5Id::attr(SPROUT_H5_CHECK(H5Acreate2(object, key.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), ctx));
  SPROUT_H5_CHECK(H5Awrite(attr, mem_type, data), ctx);
  attr.close(ctx);
}

}  // namespace

void write_attributes(hid_t object, const Attributes& attrs, const std::string& where) {
  for (const auto& [key, value] : attrs) {
    if (const auto* i = std::get_if<int64_t>(&value)) {
      write_one(object, key, H5T_STD_I64LE, H5T_NATIVE_INT64, make_space({}, where), i, where);
    } else if (const auto* d = std::get_if<double>(&value)) {
      write_one(object, key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, make_space({}, where), d, where);
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      H5Id type = make_string_type(s->size() + 1);
      write_one(object, key, type, type, make_space({}, where), s->c_str(), where);
    } else {
      const auto& v = std::get<std::vector<int64_t>>(value);
      write_int_matrix(object, key, v, v.size(), 0, where);
    }
  }
}

void write_int_matrix(hid_t object, const std::string& key, const std::vector<int64_t>& values, hsize_t rows,
                      hsize_t cols, const std::string& where) {
  std::vector<hsize_t> dims{rows};
  if (cols > 0) dims.push_back(cols);
  const int64_t dummy = 0;
  write_one(object, key, H5T_STD_I64LE, H5T_NATIVE_INT64, make_space(dims, where),
            values.empty() ? &dummy : values.data(), where);
}

namespace {

herr_t collect_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

bool read_one(hid_t object, const std::string& key, AttrValue& out, const std::string& where) {
  const std::string ctx = where + " attribute '" + key + "'";
  H5Id attr = H5Id::attr(SPROUT_H5_CHECK(H5Aopen(object, key.c_str(), H5P_DEFAULT), ctx));
  H5Id type = H5Id::type(SPROUT_H5_CHECK(H5Aget_type(attr), ctx));
  H5Id space = H5Id::space(SPROUT_H5_CHECK(H5Aget_space(attr), ctx));
  const H5S_class_t shape = H5Sget_simple_extent_type(space);
  const hssize_t n = SPROUT_H5_CHECK(H5Sget_simple_extent_npoints(space), ctx);
  const H5T_class_t cls = SPROUT_H5_CHECK(H5Tget_class(type), ctx);
  if (cls == H5T_INTEGER) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    if (n > 0) SPROUT_H5_CHECK(H5Aread(attr, H5T_NATIVE_INT64, v.data()), ctx);
    if (shape == H5S_SCALAR) out = v.at(0);
    else out = std::move(v);
    return true;
  }
  if (cls == H5T_FLOAT && shape == H5S_SCALAR) {
    double d = 0;
    SPROUT_H5_CHECK(H5Aread(attr, H5T_NATIVE_DOUBLE, &d), ctx);
    out = d;
    return true;
  }
  if (cls == H5T_STRING && shape == H5S_SCALAR) {
    if (SPROUT_H5_CHECK(H5Tis_variable_str(type), ctx) > 0) {
      char* text = nullptr;
      H5Id mem = H5Id::type(SPROUT_H5_CHECK(H5Tcopy(H5T_C_S1), ctx));
      SPROUT_H5_CHECK(H5Tset_size(mem, H5T_VARIABLE), ctx);
      SPROUT_H5_CHECK(H5Aread(attr, mem, &text), ctx);
      out = std::string(text ? text : "");
      H5free_memory(text);
      return true;
    }
    const size_t size = H5Tget_size(type);
    std::string text(size, '\0');
    SPROUT_H5_CHECK(H5Aread(attr, type, text.data()), ctx);
    const auto end = text.find('\0');
    if (end != std::string::npos) text.resize(end);
    while (!text.empty() && text.back() == ' ') text.pop_back();  // space-padded strings
    out = std::move(text);
    return true;
  }
  return false;
}

}  // namespace

Attributes read_attributes(hid_t object, const std::string& where) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  SPROUT_H5_CHECK(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names), where, " attributes");
  Attributes out;
  for (const auto& key : names) {
    AttrValue v;
    if (read_one(object, key, v, where)) out.emplace(key, std::move(v));
  }
  return out;
}

}  // namespace sprout::runtime
