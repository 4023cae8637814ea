#include "launch/fedcl/clients.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "data/random.h"

namespace sprout::launch {

namespace {

// Seeds of independent streams: one per (purpose, seed, round, client).
uint64_t stream(uint64_t purpose, uint64_t seed, int round, int client = 0) {
  data::SplitMix64 mix(seed ^ (purpose * 0x9e3779b97f4a7c15ULL));
  mix.next();
  return mix.next() ^ (static_cast<uint64_t>(round + 1) * 0xbf58476d1ce4e5b9ULL) ^
         (static_cast<uint64_t>(client + 1) * 0x94d049bb133111ebULL);
}

// Fisher–Yates with the portable generator (the same on every platform).
template <typename T>
void shuffle(std::vector<T>& v, data::SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

double normal(data::SplitMix64& rng) {  // Box–Muller
  const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1)·U^(1/shape).
double gamma(double shape, data::SplitMix64& rng) {
  if (shape < 1.0) return gamma(shape + 1.0, rng) * std::pow(1.0 - rng.uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = normal(rng);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = 1.0 - rng.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

// m examples in proportions q: floor of each share, the rest to the largest remainders.
std::vector<int64_t> apportion(const std::vector<double>& q, int64_t m) {
  std::vector<int64_t> counts(q.size());
  std::vector<std::pair<double, size_t>> rest;
  int64_t given = 0;
  for (size_t k = 0; k < q.size(); ++k) {
    counts[k] = static_cast<int64_t>(std::floor(q[k] * m));
    given += counts[k];
    rest.push_back({q[k] * m - counts[k], k});
  }
  std::stable_sort(rest.begin(), rest.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < m; ++i, ++given) ++counts[rest[i % rest.size()].second];
  return counts;
}

}  // namespace

std::vector<int> sample_clients(int clients, double fraction, uint64_t seed, int round) {
  const int k = std::clamp(static_cast<int>(std::lround(fraction * clients)), 1, clients);
  std::vector<int> ids(clients);
  for (int c = 0; c < clients; ++c) ids[c] = c;
  data::SplitMix64 rng(stream(1, seed, round));
  shuffle(ids, rng);
  ids.resize(k);
  std::sort(ids.begin(), ids.end());
  return ids;
}

int group_of_sampled(const std::vector<int>& sampled, size_t i, int groups, bool home_groups) {
  return home_groups ? sampled.at(i) % groups : static_cast<int>(i % groups);
}

std::vector<int> clients_of_group(const std::vector<int>& sampled, int group, int groups, bool home_groups) {
  std::vector<int> out;
  for (size_t i = 0; i < sampled.size(); ++i) {
    if (group_of_sampled(sampled, i, groups, home_groups) == group) out.push_back(sampled[i]);
  }
  return out;
}

RoundSplit split_round(const std::vector<int64_t>& labels, const std::vector<int>& tasks,
                       const std::vector<std::vector<int64_t>>& task_classes, int clients, const std::string& split,
                       double alpha, uint64_t seed, int round) {
  RoundSplit out;
  out.shards.assign(clients, {});
  out.task_of_client.assign(clients, -1);
  std::map<int64_t, std::vector<int64_t>> by_class;  // the round's classes -> their examples
  std::map<int64_t, int> task_of_class;
  for (int t : tasks) {
    for (int64_t k : task_classes.at(t)) {
      by_class[k];
      task_of_class[k] = t;
    }
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = by_class.find(labels[i]);
    if (it != by_class.end()) it->second.push_back(static_cast<int64_t>(i));
  }
  if (split == "tasks") {
    for (auto& [k, idx] : by_class) {
      const int c = task_of_class[k] % clients;
      out.task_of_client[c] = task_of_class[k];
      out.shards[c].insert(out.shards[c].end(), idx.begin(), idx.end());
    }
  } else if (split == "iid") {
    std::vector<int64_t> all;
    for (auto& [k, idx] : by_class) all.insert(all.end(), idx.begin(), idx.end());
    std::sort(all.begin(), all.end());
    data::SplitMix64 rng(stream(2, seed, round));
    shuffle(all, rng);
    const int64_t n = static_cast<int64_t>(all.size());
    for (int c = 0; c < clients; ++c) {
      out.shards[c].assign(all.begin() + n * c / clients, all.begin() + n * (c + 1) / clients);
    }
  } else {  // dirichlet
    std::vector<std::vector<int64_t>> pools;
    int64_t n = 0;
    for (auto& [k, idx] : by_class) {
      pools.push_back(idx);
      data::SplitMix64 rng(stream(3, seed, round, static_cast<int>(k)));
      shuffle(pools.back(), rng);
      n += static_cast<int64_t>(idx.size());
    }
    const int64_t m = n / clients;
    for (int c = 0; c < clients; ++c) {
      data::SplitMix64 rng(stream(4, seed, round, c));
      std::vector<double> q(pools.size());
      double sum = 0;
      for (auto& x : q) sum += (x = gamma(alpha, rng));
      for (auto& x : q) x = sum > 0 ? x / sum : 1.0 / q.size();  // all-zero draws (tiny α): uniform
      auto want = apportion(q, m);
      for (size_t k = 0; k < pools.size(); ++k) {  // a short class is made up from the fullest
        const int64_t take = std::min<int64_t>(want[k], static_cast<int64_t>(pools[k].size()));
        out.shards[c].insert(out.shards[c].end(), pools[k].end() - take, pools[k].end());
        pools[k].resize(pools[k].size() - take);
        int64_t missing = want[k] - take;
        while (missing > 0) {
          auto fullest = std::max_element(pools.begin(), pools.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
          out.shards[c].push_back(fullest->back());
          fullest->pop_back();
          --missing;
        }
      }
    }
  }
  for (auto& s : out.shards) std::sort(s.begin(), s.end());
  return out;
}

uint64_t split_hash(const RoundSplit& split) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const auto& s : split.shards) {
    mix(s.size());
    for (int64_t i : s) mix(static_cast<uint64_t>(i));
  }
  return h;
}

int64_t upload_bytes(const std::string& method, const std::vector<int64_t>& tensor_elements, int64_t element_bytes,
                     double ties_density) {
  int64_t bytes = 0;
  for (int64_t n : tensor_elements) {
    if (method == "ties") {
      const auto kept = static_cast<int64_t>(std::ceil(ties_density * static_cast<double>(n)));
      bytes += std::min(n * element_bytes, kept * (element_bytes + 4));
    } else {
      bytes += n * element_bytes;
    }
  }
  return bytes;
}

}  // namespace sprout::launch
