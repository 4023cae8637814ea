#include "launch/cli/rank_agreement.h"

#include <climits>
#include <cstdio>
#include <sstream>

#include "data/idx.h"
#include "runtime/error.h"
#include "runtime/error_message.h"
#include "runtime/tensor_util.h"

namespace sprout::launch {

namespace {
bool g_in_startup = false;  // one start-up per process (main calls agree_invocation once)
}  // namespace

void end_startup(runtime::Communicator& comm) {
  if (!g_in_startup) return;
  g_in_startup = false;
  comm.set_timeout(kTimeoutAfterStartUpS);
}

int agree_invocation(runtime::Communicator& comm, const std::vector<std::string>& args) {
  comm.set_timeout(kStartupTimeoutS);
  g_in_startup = true;
  bool help = false;
  for (const auto& a : args) help = help || a == "--help" || a == "-h";
  const std::string mine = (args.empty() ? std::string("(no command)") : "'" + args[0] + "'") + (help ? " with --help" : "");
  const auto all = runtime::allgather_strings(comm, mine);
  for (int r = 1; r < comm.size(); ++r) {
    if (all[r] == all[0]) continue;
    if (comm.rank() == 0) {
      std::fprintf(stderr, "sprout: rank 0: ranks were started with different commands: %s on rank 0, %s on rank %d\n",
                   all[0].c_str(), all[r].c_str(), r);
      std::fflush(stderr);
    }
    return 2;
  }
  return 0;
}

void agree(runtime::Communicator& comm, const std::function<void()>& fn) {
  int status = 0;
  std::string message;
  try {
    fn();
  } catch (const ConfigError& e) {
    status = 2;
    message = e.what();
  } catch (const std::exception& e) {
    status = 1;
    message = runtime::error_line(e);  // one line: no LibTorch backtrace
  }
  // (lowest failing rank, its status) in one allreduce: encode as rank*8 + status.
  const int64_t mine = status ? static_cast<int64_t>(comm.rank()) * 8 + status : INT64_MAX;
  const int64_t first = runtime::allreduce_int(comm, mine, runtime::ReduceOp::Min);
  if (first == INT64_MAX) {
    end_startup(comm);
    return;
  }
  if (comm.rank() == first / 8) {
    std::fprintf(stderr, "sprout: rank %d: %s\n", comm.rank(), message.c_str());
    std::fflush(stderr);
  }
  throw AgreedExit(static_cast<int>(first % 8));
}

std::map<std::string, std::string> lines_by_key(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    auto& v = out[line.substr(0, eq)];
    v += (v.empty() ? "" : ";") + line.substr(eq + 3);
  }
  return out;
}

void agree_config(runtime::Communicator& comm, const std::string& canonical_text) {
  auto mine = torch::tensor({static_cast<int64_t>(runtime::tensor_hash(
                                torch::from_blob(const_cast<char*>(canonical_text.data()),
                                                 {static_cast<int64_t>(canonical_text.size())}, torch::kUInt8)))},
                            torch::kInt64);
  auto lo = mine.clone(), hi = mine.clone();
  comm.allreduce(lo, runtime::ReduceOp::Min);
  comm.allreduce(hi, runtime::ReduceOp::Max);
  if (lo.item<int64_t>() == hi.item<int64_t>()) {
    end_startup(comm);
    return;
  }
  const auto texts = runtime::allgather_strings(comm, canonical_text);
  if (comm.rank() == 0) {
    const auto ref = lines_by_key(texts[0]);
    std::string detail = "ranks were started with different configurations";
    for (int r = 1; r < comm.size() && detail.find(':') == std::string::npos; ++r) {
      const auto other = lines_by_key(texts[r]);
      for (const auto& [key, value] : ref) {
        auto it = other.find(key);
        const std::string theirs = it == other.end() ? "(unset)" : it->second;
        if (theirs != value) {
          detail += ": --" + key + " is '" + value + "' on rank 0 but '" + theirs + "' on rank " + std::to_string(r);
          break;
        }
      }
    }
    std::fprintf(stderr, "sprout: rank 0: %s\n", detail.c_str());
    std::fflush(stderr);
  }
  throw AgreedExit(2);
}

}  // namespace sprout::launch
