// Site tensors: the parameters and buffers of one width site in a unit-major form that
// every growth strategy works in, whatever the layer kinds.
//
// For a site of width n (WidthSite in growth/models/model.h):
//   fan_in  (n, F_in)   producer weight rows, flattened: Linear F_in = in; Conv F_in = in·3·3
//                       (order c, kh, kw — the order of im2col/unfold rows)
//   bias    (n)         producer bias
//   fan_out (n, F_out)  the consumer weight entries that read unit u, flattened:
//                       Linear consumer F_out = out·g with g = consumer_group (1, or H·W at a
//                       Conv→flatten→Linear boundary, where channel u owns the consumer
//                       columns [u·g, (u+1)·g)), order (o, q); Conv consumer F_out = out·3·3,
//                       order (o, kh, kw)
//   norm_*              batch-norm on the producer side (γ, β, running mean, running var),
//                       undefined when the site has no norm
// read_site copies the model's tensors into this form and write_site turns it back into
// the model's layout, as entries of a surgery plan. Units are appended at the end of every
// dimension they own, which is what Optimizer::resize_state expects (runtime/surgery/surgery.h).
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "growth/models/model.h"
#include "runtime/param_set.h"
#include "runtime/surgery/surgery.h"

namespace sprout::growth {

struct SiteTensors {
  torch::Tensor fan_in;   // (n, F_in)
  torch::Tensor bias;     // (n)
  torch::Tensor fan_out;  // (n, F_out)
  torch::Tensor norm_weight, norm_bias, running_mean, running_var;  // (n) each, or undefined
  int64_t width() const { return bias.size(0); }
  bool has_norm() const { return norm_weight.defined(); }
};

// Copies (detached clones) of the site's tensors, on the host whatever the model's device:
// strategies compute their plans on the CPU and Surgery::apply installs them on the device.
SiteTensors read_site(const runtime::ParamSet& params, const WidthSite& site);

// k new units shaped like `like`: zero fan-in, bias and fan-out; a norm grows as identity
// (γ=1, β=0, running mean 0, running var 1). Strategies fill in what they choose.
SiteTensors new_units(const SiteTensors& like, int64_t k);

// The units of `a` followed by those of `b`.
SiteTensors append_units(const SiteTensors& a, const SiteTensors& b);

// Appends the model-layout tensors of `t` to `plan`: producer weight and bias, consumer
// weight, norm parameters and running statistics.
void write_site(const runtime::ParamSet& params, const WidthSite& site, const SiteTensors& t,
                runtime::SurgeryPlan& plan);

// Heads and residual groups (WidthSite::producers/consumers/norms, growth/models/model.h)
// in the same unit-major form: row u holds, slice after slice in the group's order, every
// entry unit u owns — `fan_in` over the producer slices (weight rows, biases, embeddings),
// `fan_out` over the consumer slices (weight columns), `norm` over the norm slices (γ, β,
// running statistics). Strategies copy, zero or fill whole rows; write_group turns the rows
// back into each tensor's layout.
struct GroupTensors {
  torch::Tensor fan_in, fan_out, norm;  // (n, F_in), (n, F_out), (n, F_norm); F may be 0
  int64_t width() const { return fan_in.size(0); }
};

// Host copies, like read_site.
GroupTensors read_group(const runtime::ParamSet& params, const WidthSite& group);
// k new units: zero producers and consumers, norm entries at their slice's fill (γ and
// running variance 1, β and running mean 0).
GroupTensors new_group_units(const runtime::ParamSet& params, const WidthSite& group, int64_t k);
GroupTensors append_units(const GroupTensors& a, const GroupTensors& b);
// The first `keep` units of `t`.
GroupTensors first_units(const GroupTensors& t, int64_t keep);
void write_group(const runtime::ParamSet& params, const WidthSite& group, const GroupTensors& t,
                 runtime::SurgeryPlan& plan);

// Shrinking any group (inner sites included) to its first `keep` units: every tensor the
// group owns narrowed along its unit dimension. Applied through runtime::Surgery, the
// optimizer state of the kept entries stays bit-exact (the leading region is kept).
// Throws ConfigError unless 1 <= keep <= width.
runtime::SurgeryPlan shrink_plan(const runtime::ParamSet& params, const WidthSite& group, int64_t keep);

// Sizes of one unit's fan-in and fan-out vectors in the current model.
int64_t fan_in_size(const runtime::ParamSet& params, const WidthSite& site);
int64_t fan_out_size(const runtime::ParamSet& params, const WidthSite& site);

}  // namespace sprout::growth
