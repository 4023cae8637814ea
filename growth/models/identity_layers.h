// Identity layers in the plain families (mlp, cnn): Net2DeeperNet's depth growth
// (growth/depth.h). A layer inserted after hidden layer X is a copy of X's kind at X's
// width (a Linear(w, w), or a 3×3 conv with c channels in and out and no pooling), its
// norm when the family has one, and the activation; it starts as the identity.
//
// Names: the layers inserted after X are X_1, X_2, … in forward order (fc2_1 follows fc2,
// conv1_2 follows conv1_1), and a new one is always appended at the end of X's run, so no
// existing module is renamed. The architecture records them in two settings:
//   model.inserted         layers inserted after each hidden layer, in the family's hidden
//                          order (cnn: conv1..convK then fc1..fc(N-1)); empty: none
//   model.inserted_widths  their widths in forward order; each is a width site
// Both are empty for a model depth growth never touched, so its text is unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "growth/models/arch.h"
#include "growth/models/depth_family.h"
#include "growth/models/family.h"

namespace sprout::growth {

// One layer of a plain family's hidden chain, in forward order.
struct ChainLayer {
  std::string name;      // "fc2", "fc2_1"
  int64_t width = 0;     // units (channels for a conv)
  size_t base = 0;       // the hidden layer whose run it is in (index in the hidden order)
  int64_t inserted = 0;  // 0: the hidden layer itself; j: the j-th layer inserted after it
};

// The settings model.inserted and model.inserted_widths.
std::vector<FamilySetting> identity_layer_settings();

// " --model.inserted … --model.inserted_widths …" when a layer is inserted, else "".
std::string identity_layer_options(const ArchSpec& spec);

// The chain: each of `hidden` (name, width) followed by the layers inserted after it.
// `spec` is completed and validated, or its inserted settings agree with `hidden`.
std::vector<ChainLayer> layer_chain(const ArchSpec& spec, const std::vector<std::pair<std::string, int64_t>>& hidden);

// No layer inserted anywhere: both settings written empty (so equal models have equal text).
ArchSpec normalise_identity_layers(ArchSpec spec);
// ConfigError naming model.inserted / model.inserted_widths and the value.
void validate_identity_layers(const ArchSpec& spec, size_t hidden);

// The inserted layers' widths in `spec` replaced by those `given` names (other names ignored).
ArchSpec with_inserted_widths(ArchSpec spec, const std::vector<std::pair<std::string, int64_t>>& hidden,
                              const std::map<std::string, int64_t>& given);

// `spec` with one identity layer appended to the run of hidden layer `place`, at the width
// of the layer it reads. zero: its bias; partners: its weight (the identity under net2net);
// norm: "bn_<name>" when `batch_norm`. ConfigError when `place` is no hidden layer.
AddedBlock insert_identity_layer(const ArchSpec& spec, const std::vector<std::pair<std::string, int64_t>>& hidden,
                                 const std::string& place, bool batch_norm);

// `current` with the layers `stored` has inserted beyond it (the same hidden layers, at
// least as many inserted after each): their widths as stored; otherwise `current`.
ArchSpec with_inserted_layers(const ArchSpec& current, const ArchSpec& stored, size_t hidden);

// The depth seam of a plain family: identity layers after its hidden layers, net2net only
// (random, zeros, gradmax and vt would change the function), counted in layers.
class IdentityLayerDepth : public DepthFamily {
 public:
  std::vector<std::string> depth_places(const ArchSpec& spec) const override;
  AddedBlock add_block(const ArchSpec& spec, const std::string& place) const override;
  ArchSpec with_added_blocks(const ArchSpec& current, const ArchSpec& stored) const override;
  std::vector<std::string> depth_strategies() const override { return {"net2net"}; }
  std::string depth_unit() const override { return "layer"; }

 protected:
  // The family's hidden layers (name, width) in the order model.inserted counts them.
  virtual std::vector<std::pair<std::string, int64_t>> hidden_layers(const ArchSpec& spec) const = 0;
};

}  // namespace sprout::growth
