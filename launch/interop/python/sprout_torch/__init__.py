"""sprout_torch: sprout's models in PyTorch.

Builds the torch.nn.Module of every built-in sprout family (mlp, cnn, resnet, vit) from
the architecture text sprout stores, and loads its weights from a `sprout export` file
(safetensors or pt) or straight from a sprout HDF5 checkpoint, with
load_state_dict(strict=True). Pure Python; needs torch and numpy (h5py for checkpoints).

    import sprout_torch
    model, normalise = sprout_torch.load("model.safetensors")   # or .pt, or a checkpoint .h5
    logits = model(normalise(images_uint8))                       # images (N, C, H, W) uint8

Names, shapes and the format of each file: README.md next to this package.
"""

from .arch import Arch, parse_arch
from .files import load, load_checkpoint, load_export, read_safetensors, save_safetensors, verify
from .models import build_model
from .normalise import Normalise, read_idx

__all__ = [
    "Arch", "parse_arch", "build_model", "load", "load_export", "load_checkpoint",
    "read_safetensors", "save_safetensors", "verify", "Normalise", "read_idx",
]
