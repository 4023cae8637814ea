// sprout as a library: everything a program's main() needs, in one include
// (installed as <sprout/sprout.h>; launch/api/README.md shows a whole program).
//
//   Session, Training          MPI and the communicator; a data-parallel run (session.h)
//   register_model_family      a model written against the model seam (growth/models/family.h)
//   register_module            any torch::nn::Module, trained like a built-in model (module_model.h)
//   merge_checkpoint_files     merge checkpoints of one architecture (merge/offline_merge.h)
//   DataParallel, Optimizer    the engine and optimizers, for a loop of one's own (runtime/)
#pragma once

#include "growth/models/family.h"
#include "growth/models/layers.h"
#include "growth/models/model.h"
#include "launch/api/module_model.h"
#include "launch/api/session.h"
#include "merge/offline_merge.h"
#include "runtime/engine/data_parallel.h"
#include "runtime/error.h"
#include "runtime/optim/optimizer.h"
#include "runtime/param_set.h"
#include "runtime/torch_compat.h"
