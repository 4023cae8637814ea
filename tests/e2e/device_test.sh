#!/usr/bin/env bash
# runtime.device / runtime.backend through the real binary: bad requests end every rank
# with one line and status 2; what this machine cannot do is refused the same way.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SMALL=(train --data.name synthetic --data.synthetic_train 512 --data.synthetic_test 128 --model.widths 32
       --train.steps 4 --log.progress none)

run 2 "${SMALL[@]}" --runtime.device gpu
expect_rc 2 "unknown device"
expect_err "--runtime.device: 'gpu' is not one of auto, cpu, cuda" "unknown device is named"

run 2 "${SMALL[@]}" --runtime.device cpu --runtime.backend nccl
expect_rc 2 "nccl on cpu"
expect_err "--runtime.backend: nccl carries CUDA tensors only" "nccl on cpu is explained"

run 2 "${SMALL[@]}" --runtime.device cpu --runtime.backend mpi
expect_rc 0 "explicit cpu/mpi trains"
[[ $(last_json step) == 4 ]] && pass "cpu/mpi summary" || fail "cpu/mpi summary: step $(last_json step)"

# Without a CUDA LibTorch (Debian's), asking for CUDA is a configuration error on every rank.
if ! $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  run 2 "${SMALL[@]}" --runtime.device cuda
  expect_rc 2 "cuda without a GPU"
  expect_err "--runtime.device: cuda needs" "cuda without a GPU is explained"
  run 2 "${SMALL[@]}" --runtime.backend nccl
  expect_rc 2 "nccl without a GPU"
  expect_err "--runtime.backend: nccl needs" "nccl without a GPU is explained"
fi
finish
