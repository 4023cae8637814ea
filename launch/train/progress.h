// Progress output of rank 0: a bar on a terminal, plain periodic lines otherwise,
// and the metrics file (log.metrics): one JSON line per logged step and per event.
//
// Every metrics row has "event" (what it records: "train" for a logged step; "eval",
// "growth", "checkpoint", "resume", ..., and "final" for the run's last row: its final
// test evaluation) and "time" (seconds since the Unix epoch, at write).
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

  // A logged training step: shown and written to the metrics file (event "train").
  void step(int64_t step, const runtime::JsonObject& fields, const std::string& line);
  // An event worth its own line (evaluation, growth, checkpoint); `fields` name it ("event").
  void event(const std::string& line, const runtime::JsonObject* fields = nullptr);
  // A metrics row only, nothing shown (the final summary: stdout has it already).
  void record(const runtime::JsonObject& fields);
  // Clears the bar before the final summary.
  void finish();

 private:
  bool active_;
  bool bar_ = false;
  bool quiet_ = false;
  int64_t total_;
  std::FILE* metrics_ = nullptr;
  bool bar_shown_ = false;

  void write_row(const runtime::JsonObject& fields, const char* default_event);
};

}  // namespace sprout::launch
