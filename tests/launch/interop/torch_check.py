"""Loads sprout models in PyTorch through sprout_torch and evaluates them on the
Fashion-MNIST test split: one JSON line per file, {"file", "accuracy", "max_logit_diff"}.

usage: torch_check.py [--classes 0,1,...] FILE[=CHECK]...
  FILE         a `sprout export` file (.safetensors, .pt) or a sprout checkpoint (.h5)
  CHECK        compare its logits with sprout's on this `sprout export --check` file
  --classes    keep only these test classes (as sprout's data.classes)
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.environ["SPROUT_SOURCE_DIR"], "launch", "interop", "python"))
import sprout_torch  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"

parser = argparse.ArgumentParser()
parser.add_argument("files", nargs="+")
parser.add_argument("--classes", default="")
args = parser.parse_args()
torch.set_num_threads(1)

images = torch.from_numpy(sprout_torch.read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").copy()).unsqueeze(1)
labels = torch.from_numpy(sprout_torch.read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").copy()).long()
if args.classes:
    keep = torch.isin(labels, torch.tensor([int(c) for c in args.classes.split(",")]))
    images, labels = images[keep], labels[keep]

for arg in args.files:
    path, _, check = arg.partition("=")
    model, normalise = sprout_torch.load(path)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            logits = model(normalise(images[i:i + 1000]))
            correct += (logits.argmax(1) == labels[i:i + 1000]).sum().item()
    row = {"file": os.path.basename(path), "check": check, "accuracy": correct / len(labels)}
    if check:
        row["max_logit_diff"] = sprout_torch.verify(model, normalise, check)
    print(json.dumps(row))
