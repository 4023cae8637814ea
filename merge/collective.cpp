#include "merge/collective.h"

#include <map>

#include "merge/merge.h"
#include "runtime/error.h"

namespace sprout::merge {

int node_group_of(int rank, int world, int count) {
  return static_cast<int>(static_cast<int64_t>(rank) * count / world);
}

int node_group_first_rank(int group, int world, int count) {
  return static_cast<int>((static_cast<int64_t>(group) * world + count - 1) / count);
}

NodeGroups split_node_groups(runtime::Communicator& world, int count) {
  SPROUT_CHECK(count >= 1 && count <= world.size(), ConfigError, "--fedcl.nodes: ", count,
               " node groups need between 1 and ", world.size(), " ranks' worth (the world has ", world.size(),
               " ranks)");
  NodeGroups g;
  g.count = count;
  g.index = node_group_of(world.rank(), world.size(), count);
  g.group = world.split(g.index, world.rank());
  const bool leader = g.group->rank() == 0;
  auto half = world.split(leader ? 0 : 1, g.index);
  if (leader) g.leaders = std::move(half);
  else g.non_leaders_ = std::move(half);
  return g;
}

namespace {

struct Split {  // a bundle's tensors by role, as parallel lists
  std::vector<size_t> index;
  std::vector<std::string> names;
  std::vector<torch::Tensor> base;
  std::vector<TaskVectors::Tensors> experts;
};

Split select(const TensorBundle& base, const std::vector<TensorBundle>& local, TensorRole role) {
  Split s;
  s.experts.resize(local.size());
  for (size_t i = 0; i < base.size(); ++i) {
    if (base[i].role != role) continue;
    s.index.push_back(i);
    s.names.push_back(base[i].name);
    s.base.push_back(base[i].value);
    for (size_t e = 0; e < local.size(); ++e) s.experts[e].push_back(local[e][i].value);
  }
  return s;
}

// Steps 1-2 of Note [Collective merge scheme], on a leader.
TensorBundle merge_on_leaders(runtime::Communicator& leaders, int group, const MergeMethod& method,
                              const TensorBundle& base, const std::vector<TensorBundle>& local,
                              const MergeOptions& options) {
  std::string local_error;
  try {
    validate(options);
    for (size_t e = 0; e < local.size(); ++e) require_same_layout(base, local[e], concat("expert ", e));
  } catch (const ConfigError& e) {
    local_error = e.what();
  }
  torch::NoGradGuard no_grad;
  const bool ok = local_error.empty();
  Split params = ok ? select(base, local, TensorRole::Parameter) : Split{};
  Split stats = ok ? select(base, local, TensorRole::Statistic) : Split{};
  Split counters = ok ? select(base, local, TensorRole::Counter) : Split{};
  // The total number of experts is known after the agreement; finiteness is part of it.
  TaskVectors tv(params.base, params.experts, 1, &leaders);
  TaskVectors st(stats.base, stats.experts, 1, &leaders);
  const bool finite = tv.finite() && st.finite();

  auto mine = torch::tensor({static_cast<int64_t>(layout_hash(base)), static_cast<int64_t>(local.size()),
                             static_cast<int64_t>(finite), static_cast<int64_t>(!ok)},
                            torch::kInt64);
  const auto all = leaders.allgather(mine);  // (groups, 4)
  int64_t total = 0, first = 0;  // first: this group's first expert among all
  for (int g = 0; g < leaders.size(); ++g) {
    const auto row = all[g];
    if (g == group) first = total;
    if (row[3].item<int64_t>() != 0) {
      throw ConfigError(g == group ? concat("node group ", g, ": ", local_error)
                                   : concat("node group ", g, " holds an expert that does not fit the base"));
    }
    SPROUT_CHECK(row[0].item<int64_t>() == all[0][0].item<int64_t>(), ConfigError, "node group ", g,
                 " holds a model of a different architecture than node group 0");
    SPROUT_CHECK(row[2].item<int64_t>() != 0, ConfigError, "node group ", g,
                 ": the base or an expert holds NaN or infinite values");
    total += row[1].item<int64_t>();
  }
  SPROUT_CHECK(total >= 1, ConfigError, "a merge needs at least one expert (no node group holds one)");
  const double lambda = resolve_lambda(method, options, total);

  TensorBundle out = base;
  auto store = [&](const Split& s, const TaskVectors::Tensors& merged) {
    for (size_t j = 0; j < s.index.size(); ++j) {
      auto& t = out[s.index[j]];
      t.value = merged[j].to(t.value.scalar_type());
    }
  };
  tv.set_count(total);
  tv.set_first_expert(first);
  if (ok) tv.set_names(params.names);
  st.set_count(total);
  store(params, method.merge(tv, lambda, options));
  if (!stats.index.empty()) store(stats, mean_of_experts(st));
  if (!counters.index.empty()) {
    std::vector<torch::Tensor> maxima;
    for (size_t j = 0; j < counters.index.size(); ++j) {
      std::vector<torch::Tensor> values;
      for (const auto& e : counters.experts) values.push_back(e[j]);
      maxima.push_back(values.empty() ? torch::full_like(counters.base[j], INT64_MIN, torch::kInt64)
                                      : max_of_experts(values).reshape(counters.base[j].sizes()));
    }
    TensorBundle tmp;
    for (size_t j = 0; j < maxima.size(); ++j) tmp.push_back({"", TensorRole::Counter, maxima[j]});
    auto flat = flatten(tmp, torch::kInt64);
    leaders.allreduce(flat, runtime::ReduceOp::Max);
    unflatten_into(flat, tmp);
    for (size_t j = 0; j < tmp.size(); ++j) {
      auto& t = out[counters.index[j]];
      t.value = tmp[j].value.to(t.value.scalar_type());
    }
  }
  return out;
}

}  // namespace

void broadcast_bundle(runtime::Communicator& comm, TensorBundle& bundle, int root) {
  std::map<int, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < bundle.size(); ++i) by_dtype[static_cast<int>(bundle[i].value.scalar_type())].push_back(i);
  for (const auto& [dtype, idx] : by_dtype) {
    TensorBundle part;
    for (size_t i : idx) part.push_back(bundle[i]);
    auto flat = flatten(part, static_cast<torch::ScalarType>(dtype));
    comm.broadcast(flat, root);
    unflatten_into(flat, part);
    for (size_t j = 0; j < idx.size(); ++j) bundle[idx[j]].value = part[j].value;
  }
}

TensorBundle collective_merge(const NodeGroups& groups, const MergeMethod& method, const TensorBundle& base,
                              const std::vector<TensorBundle>& local, const MergeOptions& options) {
  TensorBundle out = base;
  int64_t status = 0;  // 0 ok, 2 ConfigError, 1 other error
  std::string message;
  if (groups.leader()) {
    try {
      out = merge_on_leaders(*groups.leaders, groups.index, method, base, local, options);
    } catch (const ConfigError& e) {
      status = 2;
      message = e.what();
    } catch (const CommError&) {
      throw;  // a failed collective: the job ends (main aborts)
    } catch (const std::exception& e) {
      status = 1;
      message = e.what();
    }
  }
  auto flag = torch::tensor({status}, torch::kInt64);
  groups.group->broadcast(flag, 0);
  status = flag.item<int64_t>();
  if (status != 0) {
    message = runtime::broadcast_string(*groups.group, message, 0);
    if (status == 2) throw ConfigError(concat("merge ", method.name(), ": ", message));
    throw Error(concat("merge ", method.name(), ": ", message));
  }
  broadcast_bundle(*groups.group, out, 0);
  return out;
}

}  // namespace sprout::merge
