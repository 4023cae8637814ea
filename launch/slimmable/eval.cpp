#include "launch/slimmable/eval.h"

#include "growth/adaptive/adaptive.h"

#include <chrono>
#include <cstdio>

#include "growth/models/macs.h"
#include "runtime/device/transfer.h"
#include "runtime/error.h"

namespace sprout::launch {

namespace {

std::string ratio_label(double r) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", r);
  return text;
}

std::string kilo(double v) {
  char text[32];
  if (v >= 1e6) std::snprintf(text, sizeof text, "%.3gM", v / 1e6);
  else std::snprintf(text, sizeof text, "%.3gk", v / 1e3);
  return text;
}

}  // namespace

runtime::JsonObject WidthEvaluation::json() const {
  runtime::JsonObject o;
  o.add("width", width).add("test_accuracy", accuracy).add("test_loss", loss).add("macs_per_example", macs)
      .add("examples_per_s", examples_per_s).add("examples", examples);
  if (!route_share.empty()) o.add("route_share", route_share);
  return o;
}

std::string WidthEvaluation::line(double reference_macs) const {
  char text[256];
  std::snprintf(text, sizeof text, "width %-8s accuracy %.4f   MACs/example %-7s (%5.1f%%)   %.0f examples/s",
                width.c_str(), accuracy, kilo(macs).c_str(), reference_macs > 0 ? 100.0 * macs / reference_macs : 0.0,
                examples_per_s);
  std::string s = text;
  if (!route_share.empty()) {
    s += "   routed";
    for (double f : route_share) {
      std::snprintf(text, sizeof text, " %.1f%%", 100.0 * f);
      s += text;
    }
  }
  return s;
}

WidthEvaluation evaluate_forward(runtime::Communicator& comm, const EvalData& data, const std::string& label,
                                 size_t routes, const EvalForward& forward) {
  SPROUT_CHECK(data.test && data.batch > 0, Error, "evaluate: no test data");
  torch::NoGradGuard no_grad;
  const int64_t n = data.test->size();
  const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
  double correct = 0, loss_sum = 0, macs = 0, seconds = 0;
  std::vector<double> route_counts(routes, 0.0);
  for (int64_t b = lo; b < hi; b += data.batch) {
    const int64_t m = std::min(data.batch, hi - b);
    auto x = data::to_input(runtime::to_device(data.test->range(b, m), data.device), data.norm);  // (m, C, H, W)
    auto y = runtime::to_device(data.test->labels.narrow(0, b, m), data.device);
    const auto t0 = std::chrono::steady_clock::now();
    auto logits = forward(x, &macs, routes ? &route_counts : nullptr);  // (m, classes)
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    loss_sum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
    correct += logits.argmax(1).eq(y).sum().item<double>();
  }
  std::vector<double> sums = {correct, loss_sum, macs, static_cast<double>(hi - lo)};
  sums.insert(sums.end(), route_counts.begin(), route_counts.end());
  auto t = torch::tensor(sums, torch::kFloat64);
  comm.allreduce(t, runtime::ReduceOp::Sum);
  const double slowest = runtime::allreduce_scalar(comm, seconds, runtime::ReduceOp::Max);
  WidthEvaluation e;
  e.width = label;
  e.examples = static_cast<int64_t>(t[3].item<double>());
  if (e.examples > 0) {
    e.accuracy = t[0].item<double>() / e.examples;
    e.loss = t[1].item<double>() / e.examples;
    e.macs = t[2].item<double>() / e.examples;
    for (size_t i = 0; i < routes; ++i) e.route_share.push_back(t[4 + i].item<double>() / e.examples);
  }
  e.examples_per_s = slowest > 0 ? e.examples / slowest : 0.0;
  return e;
}

WidthEvaluation evaluate_ratio(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net,
                               size_t i) {
  const double per_example = static_cast<double>(net.macs(i));
  return evaluate_forward(comm, data, ratio_label(net.ratio(i)), 0,
                          [&](const torch::Tensor& x, double* macs, std::vector<double>*) {
                            *macs += per_example * x.size(0);
                            return net.forward(x, i, false);
                          });
}

WidthEvaluation evaluate_dynamic(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net,
                                 double confidence) {
  std::vector<double> per_ratio;
  for (size_t i = 0; i < net.num_ratios(); ++i) per_ratio.push_back(static_cast<double>(net.routed_macs(i)));
  const double gate = static_cast<double>(net.gate_macs());
  const std::string label = confidence == 0 ? "dynamic" : concat("dynamic@", confidence);
  return evaluate_forward(comm, data, label, net.num_ratios(),
                          [&](const torch::Tensor& x, double* macs, std::vector<double>* routes) {
                            auto r = net.route(x, confidence);
                            auto counts = at::bincount(r.choice, {}, static_cast<int64_t>(net.num_ratios()));
                            for (size_t i = 0; i < net.num_ratios(); ++i) {
                              const double c = static_cast<double>(counts[static_cast<int64_t>(i)].item<int64_t>());
                              (*routes)[i] += c;
                              *macs += c * per_ratio[i];
                            }
                            *macs += gate * x.size(0);
                            return r.logits;
                          });
}

WidthEvaluation evaluate_oracle(runtime::Communicator& comm, const EvalData& data, growth::SlimmableNet& net) {
  const double small = static_cast<double>(net.macs(0)), large = static_cast<double>(net.macs(net.largest()));
  const int64_t n = data.test->size();
  const int64_t lo = n * comm.rank() / comm.size();
  int64_t offset = lo;  // the labels of the batch being evaluated (evaluate_forward's order)
  return evaluate_forward(comm, data, "oracle", net.num_ratios(),
                          [&](const torch::Tensor& x, double* macs, std::vector<double>* routes) {
                            auto y = runtime::to_device(data.test->labels.narrow(0, offset, x.size(0)), x.device());
                            offset += x.size(0);
                            auto s = net.forward(x, 0, false);
                            auto right = s.argmax(1).eq(y);  // (m)
                            const double k = right.sum().item<double>();
                            (*routes)[0] += k;
                            (*routes)[net.largest()] += x.size(0) - k;
                            *macs += k * small + (x.size(0) - k) * large;
                            return at::where(right.unsqueeze(1), s, net.forward(x, net.largest(), false));
                          });
}

WidthEvaluation evaluate_active(runtime::Communicator& comm, const EvalData& data, growth::Model& model,
                                const std::map<std::string, int64_t>& active, const std::string& label) {
  const double per_example = static_cast<double>(growth::macs_per_example(model.arch(), active));
  growth::ForwardOptions o;
  o.active = &active;
  return evaluate_forward(comm, data, label, 0, [&](const torch::Tensor& x, double* macs, std::vector<double>*) {
    *macs += per_example * x.size(0);
    return model.forward(x, o);
  });
}

WidthEvaluation evaluate_adaptive(runtime::Communicator& comm, const EvalData& data, growth::Model& model,
                                  const std::map<std::string, int64_t>& active, double rate_floor,
                                  const std::string& label) {
  const double per_example = static_cast<double>(growth::macs_per_example(model.arch(), active));
  growth::ForwardOptions o;
  o.active = &active;
  return evaluate_forward(comm, data, label, 0, [&](const torch::Tensor& x, double* macs, std::vector<double>*) {
    *macs += per_example * x.size(0);
    return growth::adaptive_forward(model, x, o, rate_floor);
  });
}

std::vector<WidthEvaluation> evaluate_widths(runtime::Communicator& comm, const EvalData& data,
                                             growth::SlimmableNet& net) {
  std::vector<WidthEvaluation> out;
  for (size_t i = 0; i < net.num_ratios(); ++i) out.push_back(evaluate_ratio(comm, data, net, i));
  if (net.model().params().buffer("gate.trained_steps").item<int64_t>() > 0) {
    out.push_back(evaluate_dynamic(comm, data, net));
    out.push_back(evaluate_oracle(comm, data, net));
  }
  return out;
}

}  // namespace sprout::launch
