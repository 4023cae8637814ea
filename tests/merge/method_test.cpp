// Each merge method against its formula, written out element by element here (the oracle),
// on small random tensors; the tensor policy; bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "merge/merge.h"
#include "merge/method.h"
#include "runtime/error.h"
#include "runtime/torch_compat.h"

namespace sprout::merge {
namespace {

using Vec = std::vector<double>;

torch::Tensor rand_tensor(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = compat::make_generator(seed);
  return at::randn(shape, gen, torch::kFloat32);
}

// n experts around a base, plus ties planted at the first elements: base 1.0, one expert
// at +0.5 and one at −0.5 of it (exact in float32), the others closer.
struct Case {
  torch::Tensor base;
  std::vector<torch::Tensor> experts;
};

Case make_case(int n, uint64_t seed, std::vector<int64_t> shape = {7, 5}) {
  Case c;
  c.base = rand_tensor(shape, seed);
  for (int i = 0; i < n; ++i) c.experts.push_back(c.base + 0.1 * rand_tensor(shape, seed + 100 + i));
  if (n >= 2) {
    auto b = c.base.view({-1}), e0 = c.experts[0].view({-1}), e1 = c.experts[n - 1].view({-1});
    for (int k = 0; k < 3; ++k) {
      b[k] = 1.0;
      e0[k] = k == 1 ? 1.5 : 0.5;  // element 1: the positive one comes first
      e1[k] = k == 1 ? 0.5 : 1.5;
      for (int i = 1; i < n - 1; ++i) c.experts[i].view({-1})[k] = 1.25;
    }
  }
  return c;
}

Vec values(const torch::Tensor& t) {
  auto d = t.to(torch::kFloat64).contiguous().view({-1});
  return Vec(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

std::vector<Vec> task_vectors(const Case& c) {
  std::vector<Vec> out;
  const Vec b = values(c.base);
  for (const auto& e : c.experts) {
    Vec v = values(e);
    for (size_t p = 0; p < v.size(); ++p) v[p] -= b[p];
    out.push_back(v);
  }
  return out;
}

torch::Tensor from_values(const Vec& v, const torch::Tensor& like) {
  return torch::tensor(v, torch::kFloat64).view(like.sizes()).to(like.scalar_type());
}

torch::Tensor run_with(const std::string& method, const Case& c, MergeOptions o, const std::string& name = "w") {
  auto m = make_merge_method(method);
  const double l = resolve_lambda(*m, o, static_cast<int64_t>(c.experts.size()));
  return merge_tensor(*m, TensorRole::Parameter, name, c.base, c.experts, l, o);
}

torch::Tensor run(const std::string& method, const Case& c, std::optional<double> lambda, double density = 0.2) {
  auto m = make_merge_method(method);
  MergeOptions o;
  o.lambda = lambda;
  o.density = density;
  const double l = resolve_lambda(*m, o, static_cast<int64_t>(c.experts.size()));
  return merge_tensor(*m, TensorRole::Parameter, "w", c.base, c.experts, l, o);
}

void expect_bitwise(const torch::Tensor& a, const torch::Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  ASSERT_EQ(a.scalar_type(), b.scalar_type());
  EXPECT_TRUE(at::equal(a, b)) << "max |diff| " << (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

TEST(MagMax, MatchesArgmaxOfMagnitudeWithPositiveTieRule) {
  for (int n : {1, 2, 3, 5}) {
    const Case c = make_case(n, 11 + n);
    const double lambda = 0.7;
    const auto tau = task_vectors(c);
    const Vec b = values(c.base);
    Vec want(b.size());
    for (size_t p = 0; p < b.size(); ++p) {
      double best = tau[0][p];
      for (int i = 1; i < n; ++i) {
        const double x = tau[i][p];
        if (std::abs(x) > std::abs(best) || (std::abs(x) == std::abs(best) && x > best)) best = x;
      }
      want[p] = b[p] + lambda * best;
    }
    const auto got = run("magmax", c, lambda);
    expect_bitwise(got, from_values(want, c.base));
    if (n >= 2) {
      // The planted ties: +0.5 beats −0.5 whichever expert holds it.
      EXPECT_FLOAT_EQ(got.view({-1})[0].item<float>(), 1.0f + 0.7f * 0.5f);
      EXPECT_FLOAT_EQ(got.view({-1})[1].item<float>(), 1.0f + 0.7f * 0.5f);
    }
  }
}

TEST(MagMax, DefaultLambdaIsTheReferenceValue) {
  const Case c = make_case(3, 5);
  expect_bitwise(run("magmax", c, std::nullopt), run("magmax", c, 0.5));
}

TEST(MagMax, IndependentOfExpertOrder) {
  Case c = make_case(4, 21);
  const auto a = run("magmax", c, 0.9);
  std::reverse(c.experts.begin(), c.experts.end());
  expect_bitwise(run("magmax", c, 0.9), a);
  std::swap(c.experts[0], c.experts[2]);
  expect_bitwise(run("magmax", c, 0.9), a);
}

TEST(Average, IsTheMeanOfTheExperts) {
  const Case c = make_case(4, 31);
  Vec want(values(c.base).size(), 0.0);
  for (const auto& e : c.experts) {
    const Vec v = values(e);
    for (size_t p = 0; p < v.size(); ++p) want[p] += v[p] / 4.0;
  }
  EXPECT_TRUE(at::allclose(run("average", c, std::nullopt), from_values(want, c.base), 1e-6, 1e-7));
}

TEST(TaskArithmetic, IsBasePlusLambdaTimesTheSum) {
  const Case c = make_case(3, 41);
  const auto tau = task_vectors(c);
  Vec want = values(c.base);
  for (size_t p = 0; p < want.size(); ++p) want[p] += 0.3 * (tau[0][p] + tau[1][p] + tau[2][p]);
  expect_bitwise(run("task_arithmetic", c, 0.3), from_values(want, c.base));
  // Default λ = 0.4.
  expect_bitwise(run("task_arithmetic", c, std::nullopt), run("task_arithmetic", c, 0.4));
}

// TIES written out: trim to the top-m magnitudes (ties at the m-th kept), elect the sign of
// the summed trimmed mass, mean of the agreeing entries.
Vec ties_oracle(const Case& c, double lambda, double density) {
  auto tau = task_vectors(c);
  const size_t d = tau[0].size();
  const size_t m = std::max<size_t>(1, static_cast<size_t>(std::llround(density * d)));
  for (auto& t : tau) {
    Vec mags(d);
    for (size_t p = 0; p < d; ++p) mags[p] = std::abs(t[p]);
    std::sort(mags.begin(), mags.end(), std::greater<double>());
    const double thr = mags[std::min(m, d) - 1];
    for (size_t p = 0; p < d; ++p) if (std::abs(t[p]) < thr) t[p] = 0;
  }
  Vec out = values(c.base);
  for (size_t p = 0; p < d; ++p) {
    double mass = 0;
    for (const auto& t : tau) mass += t[p];
    const double sign = (mass > 0) - (mass < 0);
    double sum = 0, count = 0;
    for (const auto& t : tau) {
      if (t[p] != 0 && ((t[p] > 0) - (t[p] < 0)) == sign) {
        sum += t[p];
        count += 1;
      }
    }
    out[p] += lambda * (count > 0 ? sum / count : 0.0);
  }
  return out;
}

TEST(Ties, MatchesTrimElectDisjointMean) {
  for (double density : {0.2, 0.5, 1.0}) {
    for (int n : {1, 2, 3, 4}) {
      const Case c = make_case(n, 51 + n, {9, 6});
      const auto got = run("ties", c, 0.8, density);
      EXPECT_TRUE(at::allclose(got, from_values(ties_oracle(c, 0.8, density), c.base), 1e-6, 1e-7))
          << "density " << density << " experts " << n;
    }
  }
}

TEST(Ties, TrimKeepsTheTopDensityFraction) {
  // One expert, density 0.25 of 8 elements: exactly the 2 largest magnitudes survive.
  Case c;
  c.base = torch::zeros({8});
  c.experts = {torch::tensor({0.1f, -0.9f, 0.3f, 0.8f, -0.2f, 0.05f, 0.4f, -0.3f})};
  const auto got = run("ties", c, 1.0, 0.25);
  expect_bitwise(got, torch::tensor({0.f, -0.9f, 0.f, 0.8f, 0.f, 0.f, 0.f, 0.f}));
}

TEST(Ties, DensityOneOnAgreeingSignsIsTaskArithmeticOverN) {
  // Every expert moves each element the same way: TIES keeps all, elects that sign and
  // averages, i.e. task arithmetic with λ/n.
  Case c;
  c.base = rand_tensor({6, 4}, 61);
  const auto sign = rand_tensor({6, 4}, 62).sign();
  for (int i = 0; i < 3; ++i) c.experts.push_back(c.base + sign * (0.05 + rand_tensor({6, 4}, 63 + i).abs()));
  EXPECT_TRUE(at::allclose(run("ties", c, 0.9, 1.0), run("task_arithmetic", c, 0.3), 1e-6, 1e-7));
  // With disagreeing signs they differ.
  Case d = c;
  d.experts[0] = d.base - sign * 0.5;
  EXPECT_FALSE(at::allclose(run("ties", d, 0.9, 1.0), run("task_arithmetic", d, 0.3), 1e-6, 1e-7));
}

TEST(Ties, DefaultLambda) {
  const Case c = make_case(3, 71);
  expect_bitwise(run("ties", c, std::nullopt), run("ties", c, 0.55));
}

TEST(MergeMethods, OneExpertWithLambdaOneReturnsItBitForBit) {
  const Case c = make_case(1, 81, {33, 17});
  expect_bitwise(run("magmax", c, 1.0), c.experts[0]);
  expect_bitwise(run("task_arithmetic", c, 1.0), c.experts[0]);
  expect_bitwise(run("ties", c, 1.0, 1.0), c.experts[0]);
  expect_bitwise(run("average", c, std::nullopt), c.experts[0]);
  expect_bitwise(run("soft_magmax", c, 1.0), c.experts[0]);
  expect_bitwise(run("random", c, 1.0), c.experts[0]);
  expect_bitwise(run("task_specific", c, 1.0), c.experts[0]);
}

TEST(MergeMethods, RegistryListsEveryMethod) {
  EXPECT_EQ(merge_method_names(), (std::vector<std::string>{"magmax", "average", "task_arithmetic", "ties",
                                                            "soft_magmax", "random", "task_specific"}));
  for (const auto& name : merge_method_names()) EXPECT_EQ(make_merge_method(name)->name(), name);
}

TEST(MergeMethods, BadInput) {
  try {
    make_merge_method("magmin");
    FAIL() << "unknown method accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown merge method 'magmin' (known: magmax, average"), std::string::npos)
        << e.what();
  }
  auto m = make_merge_method("magmax");
  for (double bad : {std::nan(""), double(INFINITY), -double(INFINITY)}) {
    MergeOptions o;
    o.lambda = bad;
    EXPECT_THROW(resolve_lambda(*m, o, 2), ConfigError);
  }
  MergeOptions o;
  o.lambda = 0.5;
  EXPECT_THROW(resolve_lambda(*make_merge_method("average"), o, 2), ConfigError);
  for (double bad : {0.0, -0.1, 1.5, std::nan("")}) {
    MergeOptions d;
    d.density = bad;
    EXPECT_THROW(validate(d), ConfigError) << bad;
  }
  for (double bad : {0.0, -1.0, std::nan(""), double(INFINITY)}) {
    MergeOptions t;
    t.temperature = bad;
    try {
      validate(t, "fedcl.", "_");
      FAIL() << "temperature " << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--fedcl.soft_magmax_temperature: "), std::string::npos) << e.what();
    }
  }
  MergeOptions seed;
  seed.seed = -1;
  EXPECT_THROW(validate(seed), ConfigError);
  MergeOptions expert;
  expert.expert = 3;  // of 2 experts
  try {
    run_with("task_specific", make_case(2, 93), expert);
    FAIL() << "expert 3 of 2 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("task_specific.expert: 3 but the merge has 2 experts"), std::string::npos)
        << e.what();
  }
  // Non-finite values in an expert.
  Case c = make_case(2, 91);
  c.experts[1].view({-1})[4] = NAN;
  EXPECT_THROW(run("magmax", c, 0.5), ConfigError);
  // Experts of different shapes.
  Case s = make_case(2, 92);
  s.experts[1] = rand_tensor({7, 6}, 3);
  EXPECT_THROW(run("ties", s, 0.5), ConfigError);
  // No experts.
  Case none;
  none.base = rand_tensor({3}, 1);
  EXPECT_THROW(run("average", none, std::nullopt), ConfigError);
}

// n experts around a base with no two task vector entries of equal magnitude.
Case untied_case(int n, uint64_t seed) {
  Case c;
  c.base = rand_tensor({11, 7}, seed);
  for (int i = 0; i < n; ++i) c.experts.push_back(c.base + 0.02 * rand_tensor({11, 7}, seed + 10 + i));
  return c;
}

TEST(SoftMagMax, MatchesTheSoftmaxOfMagnitudes) {
  for (int n : {2, 3, 5}) {
    for (double t : {0.003, 0.02, 0.5}) {
      const Case c = make_case(n, 101 + n);
      const auto tau = task_vectors(c);
      Vec want = values(c.base);
      for (size_t p = 0; p < want.size(); ++p) {
        double num = 0, den = 0;
        for (int i = 0; i < n; ++i) {
          const double w = std::exp(std::abs(tau[i][p]) / t);  // unshifted: fine at these scales
          num += w * tau[i][p];
          den += w;
        }
        want[p] += 0.7 * num / den;
      }
      MergeOptions o;
      o.lambda = 0.7;
      o.temperature = t;
      EXPECT_TRUE(at::allclose(run_with("soft_magmax", c, o), from_values(want, c.base), 1e-6, 1e-7))
          << n << " experts, T " << t;
    }
  }
}

TEST(SoftMagMax, ColdIsMagMaxAndHotIsTheMean) {
  for (int n : {2, 3, 4}) {
    const Case c = untied_case(n, 111 + n);
    MergeOptions cold;
    cold.temperature = 1e-12;
    expect_bitwise(run_with("soft_magmax", c, cold), run("magmax", c, std::nullopt));  // both λ 0.5
    MergeOptions hot;
    hot.temperature = 1e300;
    hot.lambda = 1.0;
    expect_bitwise(run_with("soft_magmax", c, hot), run("average", c, std::nullopt));
    // In between it is neither.
    MergeOptions warm;
    warm.temperature = 0.01;
    EXPECT_FALSE(at::equal(run_with("soft_magmax", c, warm), run("magmax", c, std::nullopt)));
  }
  // An exact ±a tie: MagMax keeps +a, the soft version weights both equally (0).
  const Case tie = make_case(2, 121);
  MergeOptions cold;
  cold.temperature = 1e-12;
  cold.lambda = 1.0;
  EXPECT_FLOAT_EQ(run_with("soft_magmax", tie, cold).view({-1})[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(run("magmax", tie, 1.0).view({-1})[0].item<float>(), 1.5f);
}

TEST(RandomSelection, EveryEntryIsOneExpertsDrawnUniformly) {
  const int n = 3;
  Case c;
  c.base = rand_tensor({64, 64}, 131);
  for (int i = 0; i < n; ++i) c.experts.push_back(c.base + 0.1 * rand_tensor({64, 64}, 132 + i));
  MergeOptions o;
  o.seed = 7;
  const auto got = run_with("random", c, o);  // λ 1: the drawn expert's entry itself
  std::vector<int64_t> from(n, 0);
  const auto g = got.view({-1});
  for (int64_t p = 0; p < g.numel(); ++p) {
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      if (at::equal(g[p], c.experts[i].view({-1})[p])) {
        ++from[i];
        ++hits;
        break;
      }
    }
    ASSERT_EQ(hits, 1) << "entry " << p << " is no expert's";
  }
  for (int i = 0; i < n; ++i) {  // 4096 draws: 1365 ± 30 each; 1200 is > 5 sigma away
    EXPECT_GT(from[i], 1200) << "expert " << i;
    EXPECT_LT(from[i], 1530) << "expert " << i;
  }
  // Deterministic; another seed or another tensor name draws differently.
  expect_bitwise(run_with("random", c, o), got);
  EXPECT_FALSE(at::equal(run_with("random", c, o, "other.weight"), got));
  o.seed = 8;
  EXPECT_FALSE(at::equal(run_with("random", c, o), got));
  EXPECT_EQ(make_merge_method("random")->default_lambda(3), 1.0);
}

TEST(TaskSpecific, TakesTheChosenExpert) {
  const Case c = untied_case(3, 141);
  for (int64_t k = 0; k < 3; ++k) {
    MergeOptions o;
    o.expert = k;
    expect_bitwise(run_with("task_specific", c, o), c.experts[k]);  // λ 1
    o.lambda = 0.5;
    const auto tau = task_vectors(c);
    Vec want = values(c.base);
    for (size_t p = 0; p < want.size(); ++p) want[p] += 0.5 * tau[k][p];
    expect_bitwise(run_with("task_specific", c, o), from_values(want, c.base));
  }
}

}  // namespace
}  // namespace sprout::merge
