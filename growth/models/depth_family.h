// The depth seam: a model family that can grow in depth (growth/depth.h) implements
// DepthFamily beside ModelFamily, and its models DepthModel beside Model. resnet and vit
// add residual blocks; mlp and cnn insert identity layers (growth/models/identity_layers.h);
// a family that does neither is refused with one line before a run starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "growth/models/arch.h"
#include "growth/models/family.h"
#include "growth/models/model.h"

namespace sprout::growth {

// One block added to an architecture.
struct AddedBlock {
  ArchSpec arch;       // the architecture with the block (completed)
  std::string prefix;  // the new block's modules: "<prefix>.conv1", … ("block7")
  // Parameters that start at zero so that the block computes the identity: the last layer
  // of each residual branch ("block7.conv2.weight", "block7.conv2.bias").
  std::vector<std::string> zero;
  // The block's other layers' weights and biases, which a depth strategy chooses; its norms
  // keep the family's initialisation (γ = 1, β = 0, running mean 0, variance 1).
  std::vector<std::string> partners;
  int64_t blocks_at_place = 0;  // blocks at the place, this one included
  std::string like;             // the block whose shape it copies (a new one, or an existing one)
  // An identity layer's norm (mlp / cnn with batch_norm; "" otherwise): net2net sets its
  // γ = sqrt(running_var + eps), β = running_mean, the identity in eval mode.
  std::string norm;
};

class DepthFamily {
 public:
  virtual ~DepthFamily() = default;
  // Where a block can be added ("stage1".."stage3", "blocks"; an mlp's hidden layers "fc1", …).
  virtual std::vector<std::string> depth_places(const ArchSpec& spec) const = 0;
  // `spec` with one more block at `place`, numbered so that no existing module is renamed.
  // Throws ConfigError for another place.
  virtual AddedBlock add_block(const ArchSpec& spec, const std::string& place) const = 0;
  // A run resuming from `stored` as `current`: when `stored` is `current` with blocks
  // added (a depth-grown checkpoint), `current` with those blocks (their widths as stored);
  // otherwise `current` unchanged.
  virtual ArchSpec with_added_blocks(const ArchSpec& current, const ArchSpec& stored) const = 0;
  // The depth strategies (growth/depth.h) that keep this family's function: a residual
  // block's (its last layer at 0) or an identity layer's (net2net), and what the unit of
  // a depth event is called ("block" or "layer").
  virtual std::vector<std::string> depth_strategies() const { return {"random", "zeros", "gradmax", "vt"}; }
  virtual std::string depth_unit() const { return "block"; }
};

class DepthModel {
 public:
  virtual ~DepthModel() = default;
  // The parameter set already holds the tensors of the blocks `grown` adds; the model now
  // runs them.
  virtual void adopt(const ArchSpec& grown) = 0;
};

// The family's depth seam, or null when it cannot grow in depth.
inline const DepthFamily* depth_family(const std::string& kind) {
  return dynamic_cast<const DepthFamily*>(&model_family(kind));
}

}  // namespace sprout::growth
