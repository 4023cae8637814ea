#include "launch/fedcl/client_training.h"

#include "runtime/optim/lr_schedule.h"

namespace sprout::launch {

data::DataSplits client_data(const data::DataSplits& all, const std::vector<int64_t>& shard,
                             const std::vector<int64_t>& classes) {
  data::DataSplits out = all;
  out.train = all.train.subset(torch::tensor(shard, torch::kInt64));
  out.test = data::select_classes(all.test, classes);
  return out;
}

void freeze_output_layer(Trainer& trainer) {
  auto& params = trainer.model().params();
  const std::string& last = params.parameter_name(params.num_parameters() - 1);
  const std::string head = last.substr(0, last.find('.') + 1);  // "fc3."
  for (size_t i = 0; i < params.num_parameters(); ++i) {
    if (params.parameter_name(i).rfind(head, 0) == 0) {
      trainer.optimizer().set_lr_scale(params.parameter_name(i), torch::zeros_like(params.parameter(i)).detach());
    }
  }
}

std::unique_ptr<Trainer> prepare_client(runtime::RuntimeContext group_ctx, const TrainConfig& config,
                                        data::DataSplits data, bool freeze_head) {
  auto trainer = std::make_unique<Trainer>(group_ctx, config);
  trainer->prepare(std::move(data));
  if (freeze_head) freeze_output_layer(*trainer);
  return trainer;
}

ClientResult train_client(Trainer& trainer, const merge::TensorBundle& start, double prox_mu) {
  const TrainConfig& config = trainer.config();
  trainer.load_weights(merge::to_param_set(start));
  ClientResult out;
  if (prox_mu == 0) {
    out.test = trainer.run().test;  // run() ends with the evaluation
  } else {  // Note [FedProx step]
    const runtime::LrSchedule schedule(config.schedule, trainer.total_steps());
    auto& params = trainer.model().params();
    std::vector<torch::Tensor> anchor;
    for (size_t i = 0; i < params.num_parameters(); ++i) anchor.push_back(params.parameter(i).detach().clone());
    while (trainer.step() < trainer.total_steps()) {
      const int64_t step = trainer.step();
      trainer.train_step();
      torch::NoGradGuard no_grad;
      const double rate = schedule.at(step) * prox_mu;
      for (size_t i = 0; i < params.num_parameters(); ++i) {
        auto p = params.parameter(i).detach();
        p.sub_((p - anchor[i]) * rate);
      }
    }
    out.test = trainer.evaluate();
  }
  out.trained = merge::bundle_from(trainer.model().params());
  return out;
}

}  // namespace sprout::launch
