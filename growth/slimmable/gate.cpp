#include "growth/slimmable/gate.h"

#include "growth/models/layers.h"
#include "runtime/torch_compat.h"

namespace sprout::growth {

void add_gate_parameters(runtime::ParamSet& p, int64_t width, int64_t reduced, int64_t choices, bool attention,
                         uint64_t seed) {
  // A stream of its own: the model's initialisation does not depend on the gate's.
  auto gen = compat::make_generator(seed ^ 0x9a7e5eedULL);
  if (!p.has_parameter("gate.reduce.weight")) add_linear(p, "gate.reduce", width, reduced, gen);
  if (attention && !p.has_parameter("gate.attention.weight")) add_linear(p, "gate.attention", reduced, width, gen);
  if (!p.has_parameter("gate.head.weight")) add_linear(p, "gate.head", reduced, choices, gen);
  if (!p.has_buffer("gate.trained_steps")) p.add_buffer("gate.trained_steps", torch::zeros({}, torch::kInt64));
}

torch::Tensor gate_pool(const torch::Tensor& h) {
  if (h.dim() == 4) return h.mean({2, 3});  // (N, k, H, W)
  if (h.dim() == 3) return h.mean(2);       // tokens as (N, k, T)
  return h;
}

torch::Tensor gate_reduce(const runtime::ParamSet& p, const torch::Tensor& pooled) {
  return activation(linear(p, "gate.reduce", pooled, pooled.size(1), -1));  // (N, R)
}

torch::Tensor gate_attend(const runtime::ParamSet& p, const torch::Tensor& h) {
  const int64_t k = h.size(1);
  auto a = at::sigmoid(linear(p, "gate.attention", gate_reduce(p, gate_pool(h)), -1, k));  // (N, k)
  if (h.dim() == 4) return h * a.view({a.size(0), k, 1, 1});
  if (h.dim() == 3) return h * a.view({a.size(0), k, 1});
  return h * a;
}

torch::Tensor gate_head(const runtime::ParamSet& p, const torch::Tensor& reduced) {
  return linear(p, "gate.head", reduced);  // (N, K)
}

GumbelSample gumbel_softmax_hard(const torch::Tensor& logits, double tau, at::Generator& gen) {
  // g = -log(-log u), u ~ U(0, 1); the clamps keep both logarithms finite.
  // Drawn on the host from `gen` (a CPU generator), so the noise does not depend on the device.
  auto u = at::rand(logits.sizes(), gen, torch::kFloat32).clamp(1e-10, 1.0 - 1e-7).to(logits.device());
  auto g = -at::log(-at::log(u));
  GumbelSample s;
  s.soft = at::softmax((logits + g) / tau, 1);
  s.index = s.soft.argmax(1);
  auto one_hot = at::zeros_like(s.soft).scatter_(1, s.index.unsqueeze(1), 1.0);
  s.hard = one_hot - s.soft.detach() + s.soft;
  return s;
}

}  // namespace sprout::growth
