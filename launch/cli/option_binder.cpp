#include "launch/cli/option_binder.h"

#include <limits>

#include "runtime/error.h"

namespace sprout::launch {

namespace {

template <typename T>
std::string join(const std::vector<T>& items, std::string (*text)(T)) {
  std::string out;
  for (const auto& v : items) out += (out.empty() ? "" : ",") + text(v);
  return out;
}

std::string int_text(int64_t v) { return std::to_string(v); }
std::string string_text(std::string v) { return v; }

}  // namespace

bool OptionBinder::declare(const std::string& name, const void* field, std::string default_text,
                           const std::string& help, Reader read, bool repeatable) {
  for (size_t i = 0; i < table_.size(); ++i) {
    if (table_[i].name != name) continue;
    SPROUT_CHECK(field && fields_[i] == field, Error, "internal: option '", name, "' is declared twice");
    return false;
  }
  table_.push_back({name, std::move(default_text), help, repeatable});
  readers_.push_back(std::move(read));
  fields_.push_back(field);
  return true;
}

void OptionBinder::add(const std::string& name, bool* f, const std::string& help) {
  declare(name, f, *f ? "true" : "false", help, [=](const auto& v) { *f = parse_bool(name, v.back()); });
}

void OptionBinder::add(const std::string& name, int64_t* f, const std::string& help) {
  declare(name, f, std::to_string(*f), help, [=](const auto& v) { *f = parse_int(name, v.back()); });
}

void OptionBinder::add(const std::string& name, int* f, const std::string& help) {
  declare(name, f, std::to_string(*f), help, [=](const auto& v) {
    const int64_t x = parse_int(name, v.back());
    SPROUT_CHECK(x >= std::numeric_limits<int>::min() && x <= std::numeric_limits<int>::max(), ConfigError, "--",
                 name, ": ", x, " is out of range");
    *f = static_cast<int>(x);
  });
}

void OptionBinder::add(const std::string& name, uint64_t* f, const std::string& help) {
  declare(name, f, std::to_string(*f), help, [=](const auto& v) {
    const int64_t x = parse_int(name, v.back());
    SPROUT_CHECK(x >= 0, ConfigError, "--", name, ": ", x, " must be >= 0");
    *f = static_cast<uint64_t>(x);
  });
}

void OptionBinder::add(const std::string& name, double* f, const std::string& help) {
  declare(name, f, format_number(*f), help, [=](const auto& v) { *f = parse_number(name, v.back()); });
}

void OptionBinder::add(const std::string& name, std::string* f, const std::string& help) {
  declare(name, f, *f, help, [=](const auto& v) { *f = v.back(); });
}

void OptionBinder::add(const std::string& name, std::vector<int64_t>* f, const std::string& help) {
  declare(name, f, join(*f, int_text), help, [=](const auto& v) { *f = parse_int_list(name, v.back()); });
}

void OptionBinder::add(const std::string& name, std::vector<double>* f, const std::string& help) {
  declare(name, f, join(*f, format_number), help, [=](const auto& v) { *f = parse_number_list(name, v.back()); });
}

void OptionBinder::add(const std::string& name, std::vector<std::string>* f, const std::string& help) {
  declare(name, f, join(*f, string_text), help, [=](const auto& v) { *f = parse_list(name, v.back()); });
}

void OptionBinder::add(const std::string& name, std::optional<double>* f, const std::string& help) {
  declare(name, f, *f ? format_number(**f) : "", help, [=](const auto& v) {
    if (v.back().empty()) f->reset();
    else *f = parse_number(name, v.back());
  });
}

void OptionBinder::add_parsed(const std::string& name, const std::string& default_text, const std::string& help,
                              Reader read, bool repeatable) {
  declare(name, nullptr, default_text, help, std::move(read), repeatable);
}

void OptionBinder::hide(const std::string& name) {
  for (auto& o : table_) {
    if (o.name == name) o.hidden = true;
  }
}

void OptionBinder::load(const Options& options) const {
  for (size_t i = 0; i < table_.size(); ++i) {
    const auto& o = table_[i];
    if (o.repeatable) readers_[i](options.get_all(o.name));
    else readers_[i]({options.get(o.name)});
  }
}

}  // namespace sprout::launch
