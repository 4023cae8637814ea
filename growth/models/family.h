// The model seam: a family of models is one file (or folder) that implements ModelFamily,
// plus one line in the registry (family.cpp). Everything outside the family asks it, not
// the ArchSpec's fields: which settings it has (model.<key> options), how to build it,
// its width sites, its cost in MACs and memory, how to describe it. So a checkpoint, a
// merge, fedcl, the memory check and the MAC counter work on a family they never heard
// of.
//
// Note [Family settings]: a family declares each of its parameters as (key, default,
// help). Launch turns every registered family's keys into model.<key> options; a key two
// families share is one option; where their defaults differ (depth) the option's default
// is "" and each family fills in its own (the help lists them), so `--model.kind vit`
// without --model.depth gets the ViT's depth, not the ResNet's. complete() (growth/models/arch.h) fills in the defaults of the chosen family
// and drops the keys it does not read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "growth/models/arch.h"

namespace sprout::growth {

class Model;

struct FamilySetting {
  enum class Type { Ints, Integer, Flag };  // "16,32" | "10" | "true"/"false" (1/0 accepted)
  std::string key;           // model.<key>
  Type type = Type::Ints;
  std::string default_text;  // in canonical form
  std::string help;
};

// One weighted layer (a linear or a convolution) in forward order, at given active widths.
struct LayerCost {
  std::string module;       // "conv1", "fc2", "block3.attn.qkv"
  int64_t in = 0, out = 0;  // active input / output units (channels for convolutions)
  int64_t macs = 0;         // multiply-accumulates per example
  double weights = 0;       // elements of the weight and bias
  double norm = 0;          // elements of the norm after it (γ and β), 0 if none
  double norm_buffers = 0;  // elements of that norm's running statistics, 0 if none
  // Activation elements kept per example for the backward pass by this layer and what
  // follows it up to the next layer (outputs, norms, activations, pooled maps).
  double activations = 0;
};

class ModelFamily {
 public:
  virtual ~ModelFamily() = default;
  virtual std::string name() const = 0;
  virtual std::vector<FamilySetting> settings() const = 0;

  // After the defaults are filled in and before validate(): settings whose default
  // depends on others written out (a ResNet's inner widths from its stage widths), so
  // that equal models have equal text.
  virtual ArchSpec normalise(ArchSpec spec) const { return spec; }
  // `spec` is completed (every setting present, normalised). Throws ConfigError naming
  // model.<key> and the value.
  virtual void validate(const ArchSpec& spec) const = 0;
  // PyTorch's default initialisation, drawn from `seed`.
  virtual std::unique_ptr<Model> build(const ArchSpec& spec, uint64_t seed) const = 0;
  virtual std::string describe(const ArchSpec& spec) const = 0;

  // The inner sites the built model lists (Model::sites()), in its order, with their
  // widths — without building it; every width group (Model::groups()) likewise; and `spec`
  // with some of them (sites or groups) replaced (a growth schedule's target).
  virtual std::vector<std::pair<std::string, int64_t>> site_widths(const ArchSpec& spec) const = 0;
  virtual std::vector<std::pair<std::string, int64_t>> group_widths(const ArchSpec& spec) const {
    return site_widths(spec);
  }
  virtual ArchSpec with_site_widths(ArchSpec spec, const std::map<std::string, int64_t>& widths) const = 0;
  // Every weighted layer with sites at `active` widths (absent: full). The MAC counter
  // and the memory estimate read this; the caller has checked `active`.
  virtual std::vector<LayerCost> layers(const ArchSpec& spec, const std::map<std::string, int64_t>& active) const = 0;
  // The settings that set widths, with their values, for messages: "--model.widths 3000,64".
  virtual std::string width_options(const ArchSpec& spec) const = 0;
};

// Helper for families: fully connected layers fc<first>, fc<first+1>, … reading `in`
// features, hidden `widths` (sites, at `active` widths where given) then `classes` outputs.
std::vector<LayerCost> dense_layers(int64_t in, const std::vector<int64_t>& widths, int64_t classes, bool batch_norm,
                                    const std::map<std::string, int64_t>& active, int64_t first = 1);
// The same over named hidden layers (name, width) in forward order, then `head`.
std::vector<LayerCost> dense_layers(int64_t in, const std::vector<std::pair<std::string, int64_t>>& hidden,
                                    const std::string& head, int64_t classes, bool batch_norm,
                                    const std::map<std::string, int64_t>& active);

// The registered family called `name`; ConfigError listing the known ones otherwise.
const ModelFamily& model_family(const std::string& name);
std::vector<std::string> model_family_names();
// Adds a family at run time (a program's own model); before options are bound, so that its
// settings become model.<key> options. Throws Error for a name already registered.
void register_model_family(std::unique_ptr<ModelFamily> family);

// Every registered family's settings, a key shared by several families listed once, with
// a help naming each family's use and default; its default is "" where the families'
// defaults differ (Note [Family settings]).
std::vector<FamilySetting> all_model_settings();

// Whether a checkpoint of `stored` can continue as `current`: the same family and input,
// and the same structure up to the widths of its sites and the blocks depth growth added
// (DepthFamily::with_added_blocks, growth/models/depth_family.h). "" if it can, else why not.
std::string continuation_mismatch(const ArchSpec& stored, const ArchSpec& current);

}  // namespace sprout::growth
