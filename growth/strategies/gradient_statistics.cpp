#include "growth/strategies/gradient_statistics.h"

#include "growth/site_resize.h"
#include "runtime/error.h"

namespace sprout::growth {

namespace {

// Forward (eval) + backward of the summed loss / global size, recording the trace.
void traced_backward(Model& model, const GrowthBatch& batch, ForwardTrace& trace) {
  ForwardOptions o;
  o.train = false;
  o.trace = &trace;
  auto logits = model.forward(batch.x, o);  // (b, classes)
  auto loss = at::cross_entropy_loss(logits, batch.y, {}, at::Reduction::Sum) / static_cast<double>(batch.global_size);
  loss.backward();
}

// unfold(h, 3×3, padding 1, stride) at the pooled positions: (N, C·9, P).
torch::Tensor unfold_pooled(const torch::Tensor& h, int64_t stride, int64_t hp, int64_t wp) {
  auto cols = at::im2col(h, {3, 3}, {1, 1}, {1, 1}, {stride, stride});  // (N, C·9, Ho·Wo)
  const int64_t ho = (h.size(2) - 1) / stride + 1, wo = (h.size(3) - 1) / stride + 1;
  return cols.view({h.size(0), cols.size(1), ho, wo}).narrow(2, 0, hp).narrow(3, 0, wp).reshape(
      {h.size(0), cols.size(1), hp * wp});
}

}  // namespace

torch::Tensor growth_matrix(Model& model, const WidthSite& site, const GrowthBatch& batch) {
  auto& params = model.params();
  const int64_t f_in = fan_in_size(params, site), f_out = fan_out_size(params, site);
  // On the model's device on every rank, also for an empty batch: the caller allreduces M,
  // and a communicator routes CPU and CUDA tensors differently.
  const auto dev = params.parameter(site.producer + ".weight").device();
  if (!batch.x.defined() || batch.x.size(0) == 0) return torch::zeros({f_out, f_in}, torch::dtype(torch::kFloat64).device(dev));
  SPROUT_CHECK(batch.global_size > 0, Error, "growth batch: global size must be > 0");
  ForwardTrace trace;
  traced_backward(model, batch, trace);
  const auto h = trace.inputs.at(site.producer).detach().to(torch::kFloat64);
  const auto delta_t = trace.outputs.at(site.consumer).grad();
  SPROUT_CHECK(delta_t.defined(), Error, "site ", site.name, ": no gradient reached ", site.consumer);
  const auto delta = delta_t.detach().to(torch::kFloat64);
  params.zero_grad();
  torch::Tensor m;
  if (site.kind == WidthSite::Kind::Linear) {
    // Tokens (N, T, ·) count as N·T rows.
    m = delta.reshape({-1, delta.size(-1)}).t().mm(h.reshape({-1, h.size(-1)}));  // (out, N)·(N, in)
  } else {
    // Output positions of the producer (stride s), then of the pooling: the top-left of
    // each 2×2 window, i.e. every other one (see the header).
    const int64_t s = site.stride;
    const int64_t ho = (h.size(2) - 1) / s + 1, wo = (h.size(3) - 1) / s + 1;
    const int64_t stride = site.pooled ? 2 * s : s;
    const int64_t hp = site.pooled ? ho / 2 : ho, wp = site.pooled ? wo / 2 : wo;
    const auto e = unfold_pooled(h, stride, hp, wp);  // (N, C_in·9, P)
    const int64_t n = h.size(0), p = hp * wp;
    if (delta.dim() == 4) {
      // Conv consumer: transposed unfold of δ (N, out, hp, wp).
      const int64_t out = delta.size(1);
      auto d = at::im2col(delta, {3, 3}, {1, 1}, {1, 1}, {1, 1})  // (N, out·9, P)
                   .view({n, out, 3, 3, p})
                   .flip({2, 3})
                   .reshape({n, out * 9, p});
      m = d.permute({1, 0, 2}).reshape({out * 9, n * p}).mm(e.permute({1, 0, 2}).reshape({e.size(1), n * p}).t());
    } else {
      // Linear consumer across the flatten: channel owns P = H'·W' columns.
      SPROUT_CHECK(site.consumer_group == p, Error, "site ", site.name, ": consumer group ", site.consumer_group,
                   " but the pooled map has ", p, " positions");
      m = at::einsum("no,ncq->oqc", {delta, e}).reshape({delta.size(1) * p, e.size(1)});
    }
  }
  SPROUT_CHECK(m.size(0) == f_out && m.size(1) == f_in, Error, "site ", site.name, ": M is ", m.size(0), "x",
               m.size(1), ", expected ", f_out, "x", f_in);
  return (m * site.slope_at_zero()).contiguous();
}

torch::Tensor heads_growth_matrix(Model& model, const WidthSite& heads, const GrowthBatch& batch) {
  SPROUT_CHECK(heads.group == WidthSite::Group::Heads && !heads.producers.empty() && heads.consumers.size() == 1, Error,
               "heads_growth_matrix: ", heads.name, " is not a heads group");
  auto module = [](const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); };
  const std::string qkv = module(heads.producers.front().tensor), proj = module(heads.consumers.front().tensor);
  auto& params = model.params();
  const auto& w_proj = params.parameter(proj + ".weight");
  const int64_t d_in = params.parameter(qkv + ".weight").size(1), d_out = w_proj.size(0);
  if (!batch.x.defined() || batch.x.size(0) == 0) {
    return torch::zeros({d_out, d_in}, torch::dtype(torch::kFloat64).device(w_proj.device()));
  }
  SPROUT_CHECK(batch.global_size > 0, Error, "growth batch: global size must be > 0");
  ForwardTrace trace;
  traced_backward(model, batch, trace);
  const auto x_mean = trace.inputs.at(qkv).detach().to(torch::kFloat64).mean(1);  // (N, D_in)
  const auto delta_t = trace.outputs.at(proj).grad();
  SPROUT_CHECK(delta_t.defined(), Error, "group ", heads.name, ": no gradient reached ", proj);
  const auto delta = delta_t.detach().to(torch::kFloat64).sum(1);  // (N, D_out): Σ over tokens
  params.zero_grad();
  return delta.t().mm(x_mean).contiguous();  // (D_out, D_in)
}

double new_fan_in_grad_norm(runtime::Communicator& comm, Model& model, const WidthSite& site, int64_t old_width,
                            const GrowthBatch& batch) {
  auto& params = model.params();
  // The producer tensors of the site's units: an inner site's weight rows, a group's
  // producer slices that are parameters.
  std::vector<GroupSlice> slices;
  if (site.inner()) slices.push_back({site.producer + ".weight", 0, 1});
  const std::string weight = ".weight";
  for (const auto& s : site.producers) {
    const bool is_weight = s.tensor.size() > weight.size() && s.tensor.compare(s.tensor.size() - weight.size(),
                                                                                weight.size(), weight) == 0;
    if (!s.buffer && is_weight) slices.push_back(s);
  }
  const auto& first = params.parameter(slices.front().tensor);
  const int64_t width = first.size(slices.front().dim) / slices.front().unit, k = width - old_width;
  int64_t total = 0;
  for (const auto& s : slices) total += k > 0 ? params.parameter(s.tensor).numel() / width * k : 0;
  auto g = torch::zeros({total}, torch::dtype(torch::kFloat64).device(first.device()));
  if (k > 0 && batch.x.defined() && batch.x.size(0) > 0) {
    ForwardTrace trace;
    traced_backward(model, batch, trace);
    int64_t at = 0;
    for (const auto& s : slices) {
      const auto& p = params.parameter(s.tensor);
      const int64_t n = p.numel() / width * k;
      const auto& grad = p.grad();
      if (grad.defined()) {
        g.narrow(0, at, n).copy_(grad.detach().narrow(s.dim, old_width * s.unit, k * s.unit).reshape({-1}));
      }
      at += n;
    }
  }
  params.zero_grad();
  comm.allreduce(g, runtime::ReduceOp::Sum);
  return g.norm().item<double>();
}

}  // namespace sprout::growth
