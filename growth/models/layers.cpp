#include "growth/models/layers.h"

#include <cmath>

namespace sprout::growth {

namespace {
torch::Tensor slice2(const torch::Tensor& w, int64_t out, int64_t in) {
  auto v = w;
  if (out >= 0 && out < v.size(0)) v = v.narrow(0, 0, out);
  if (in >= 0 && in < v.size(1)) v = v.narrow(1, 0, in);
  return v;
}
torch::Tensor slice1(const torch::Tensor& b, int64_t n) {
  return n >= 0 && n < b.size(0) ? b.narrow(0, 0, n) : b;
}
torch::Tensor uniform(torch::IntArrayRef shape, double bound, torch::Generator& gen) {
  return at::rand(shape, gen, torch::kFloat32).mul_(2 * bound).sub_(bound);
}
}  // namespace

torch::Tensor linear(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                     int64_t in, int64_t out, const torch::Tensor& known) {
  auto w = slice2(p.parameter(module + ".weight"), out, in);
  auto b = slice1(p.parameter(module + ".bias"), out);
  if (!known.defined()) return at::linear(x, w, b);
  const int64_t k = known.size(1);
  if (k >= w.size(0)) return known.narrow(1, 0, w.size(0));
  return at::cat({known, at::linear(x, w.narrow(0, k, w.size(0) - k), b.narrow(0, k, b.size(0) - k))}, 1);
}

torch::Tensor conv3x3(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                      int64_t in, int64_t out, const torch::Tensor& known, int64_t stride) {
  auto w = slice2(p.parameter(module + ".weight"), out, in);
  auto b = slice1(p.parameter(module + ".bias"), out);
  if (!known.defined()) return at::conv2d(x, w, b, {stride, stride}, {1, 1});
  const int64_t k = known.size(1);
  if (k >= w.size(0)) return known.narrow(1, 0, w.size(0));
  return at::cat({known, at::conv2d(x, w.narrow(0, k, w.size(0) - k), b.narrow(0, k, b.size(0) - k),
                                    {stride, stride}, {1, 1})},
                 1);
}

torch::Tensor conv1x1(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x, int64_t stride,
                      int64_t in, int64_t out) {
  const std::vector<int64_t> strides{stride, stride}, padding{0, 0};
  return at::conv2d(x, slice2(p.parameter(module + ".weight"), out, in), slice1(p.parameter(module + ".bias"), out),
                    strides, padding);
}

torch::Tensor batch_norm(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x,
                         bool train, int64_t n, const std::string& stats) {
  auto rm = slice1(p.buffer(module + ".running_mean" + stats), n);
  auto rv = slice1(p.buffer(module + ".running_var" + stats), n);
  if (train) {
    // torch.nn counts batches even with a fixed momentum; kept for checkpoint parity.
    auto nbt = p.buffer(module + ".num_batches_tracked" + stats);
    nbt.add_(1);
  }
  return at::batch_norm(x, slice1(p.parameter(module + ".weight"), n), slice1(p.parameter(module + ".bias"), n),
                        rm, rv, train, 0.1, 1e-5, false);
}

void add_linear(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out,
                torch::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  p.add_parameter(module + ".weight", uniform({out, in}, bound, gen));
  p.add_parameter(module + ".bias", uniform({out}, bound, gen));
}

void add_conv(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out, int64_t kernel,
              torch::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in * kernel * kernel));
  p.add_parameter(module + ".weight", uniform({out, in, kernel, kernel}, bound, gen));
  p.add_parameter(module + ".bias", uniform({out}, bound, gen));
}

void add_conv3x3(runtime::ParamSet& p, const std::string& module, int64_t in, int64_t out,
                 torch::Generator& gen) {
  add_conv(p, module, in, out, 3, gen);
}

torch::Tensor layer_norm(const runtime::ParamSet& p, const std::string& module, const torch::Tensor& x) {
  return at::layer_norm(x, {x.size(-1)}, p.parameter(module + ".weight"), p.parameter(module + ".bias"), 1e-5);
}

void add_layer_norm(runtime::ParamSet& p, const std::string& module, int64_t n) {
  p.add_parameter(module + ".weight", torch::ones({n}));
  p.add_parameter(module + ".bias", torch::zeros({n}));
}

void add_batch_norm(runtime::ParamSet& p, const std::string& module, int64_t n) {
  p.add_parameter(module + ".weight", torch::ones({n}));
  p.add_parameter(module + ".bias", torch::zeros({n}));
  p.add_buffer(module + ".running_mean", torch::zeros({n}));
  p.add_buffer(module + ".running_var", torch::ones({n}));
  p.add_buffer(module + ".num_batches_tracked", torch::zeros({}, torch::kInt64));
}

}  // namespace sprout::growth
