// Progress output of rank 0: a bar on a terminal, plain periodic lines otherwise,
// and one JSON line per logged step in the metrics file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "runtime/json.h"

namespace sprout::launch {

class Progress {
 public:
  // mode: auto | bar | lines | none. Only rank 0 (active=true) prints.
  Progress(bool active, const std::string& mode, const std::string& metrics_path, int64_t total_steps);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A logged training step: shown and written to the metrics file.
  void step(int64_t step, const runtime::JsonObject& fields, const std::string& line);
  // An event worth its own line (evaluation, growth, checkpoint).
  void event(const std::string& line, const runtime::JsonObject* fields = nullptr);
  // Clears the bar before the final summary.
  void finish();

 private:
  bool active_;
  bool bar_ = false;
  bool quiet_ = false;
  int64_t total_;
  std::FILE* metrics_ = nullptr;
  bool bar_shown_ = false;
};

}  // namespace sprout::launch
