#include "growth/auto_depth.h"

#include "growth/depth.h"
#include "growth/models/depth_family.h"
#include "growth/strategies/gradient_statistics.h"
#include "runtime/error.h"

namespace sprout::growth {

std::string depth_candidate_refusal(const std::string& kind) {
  // The bound below is derived for a residual block whose branch ends in a zero-started
  // layer (depth_gradmax.cpp); a family that deepens otherwise has no such bound.
  if (depth_family(kind) && kind != "resnet" && kind != "vit") {
    return concat("model.kind ", kind, " grows in depth, but the GradMax bound of a new block is derived for residual "
                  "blocks only (resnet and vit)");
  }
  return depth_refusal("gradmax", kind);
}

std::vector<std::string> depth_candidate_places(const ArchSpec& arch) {
  const DepthFamily* family = depth_family(arch.kind);
  return family ? family->depth_places(arch) : std::vector<std::string>{};
}

GrowthCandidate size_depth_candidate(const ArchSpec& arch, const std::string& place, const GrowthBudget& budget,
                                     CostMeasure measure) {
  const AddedBlock block = add_blocks(arch, place, 1).front();
  const ModelSize after = model_size(block.arch);
  GrowthCandidate c;
  c.name = place;
  c.kind = "depth";
  c.width = block.blocks_at_place - 1;
  c.add = fits_budget(after, budget) ? 1 : 0;
  c.infeasible = c.add > 0 ? "" : "budget";
  c.params_after = after.params;
  c.macs_after = after.macs;
  c.cost = growth_cost(model_size(arch), after, measure);
  return c;
}

double depth_gradmax_bound(runtime::Communicator& comm, const Model& model, const std::string& place,
                           const GrowthBatch& batch, uint64_t seed) {
  const auto blocks = add_blocks(model.arch(), place, 1);
  const auto probe = depth_probe(model, blocks, seed);
  const std::string prefix = blocks.front().prefix + ".";
  double bound = 0;
  for (const auto& g : probe->groups()) {  // the same order on every rank
    if (g.group == WidthSite::Group::Residual || g.name.compare(0, prefix.size(), prefix) != 0) continue;
    auto m = g.inner() ? growth_matrix(*probe, g, batch) : heads_growth_matrix(*probe, g, batch);
    comm.allreduce(m, runtime::ReduceOp::Sum);  // M of the global growth batch
    // Every unit of the new group is new: its k units take k directions (a head d_h).
    const int64_t directions = g.inner() ? g.width : g.width * g.consumers.front().unit;
    bound += gradmax_bound(m, directions);
  }
  return bound;
}

}  // namespace sprout::growth
