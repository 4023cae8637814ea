"""The input sprout's models read: uint8 pixels / 255, then (x - mean) / std per channel."""

import gzip
import struct
from typing import Sequence

import numpy as np
import torch


class Normalise(torch.nn.Module):
    """uint8 images (N, C, H, W) -> the float32 input of the model, exactly as sprout computes it."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32).div(255.0)
        if len(self.mean) == 1:  # scalars, in the order sprout applies them
            return x.sub(self.mean[0]).div(self.std[0])
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        return x.sub(mean).div(std)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


def read_idx(path: str) -> np.ndarray:
    """An IDX file (MNIST, Fashion-MNIST; .gz or raw) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def idx_moments(directory: str):
    """sprout's normalisation of an IDX training split: mean and std of all its pixels / 255."""
    import os
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            x = torch.from_numpy(read_idx(path).copy()).to(torch.float64).div(255.0)
            return [x.mean().item()], [x.std().item()]
    raise FileNotFoundError(f"{directory}: no train-images-idx3-ubyte[.gz]")
