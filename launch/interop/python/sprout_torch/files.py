"""Reading a `sprout export` file or a sprout checkpoint into the matching module."""

import json
import os
import struct
from collections import OrderedDict
from typing import Dict, Tuple

import numpy as np
import torch

from .arch import parse_arch
from .models import build_model
from .normalise import Normalise, idx_moments

_DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def read_safetensors(path: str) -> Tuple["OrderedDict[str, torch.Tensor]", Dict[str, str]]:
    """(state dict, metadata) of a safetensors file, without the safetensors package."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} does not fit the file")
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    state = OrderedDict()
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {entry['dtype']} is not supported")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<"))
        state[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return state, metadata


def save_safetensors(path: str, state: Dict[str, torch.Tensor], metadata: Dict[str, str] = None) -> None:
    """Writes a state dict (e.g. model.state_dict()) as safetensors, which `sprout import` reads.

    0-d tensors (num_batches_tracked) are written 1-d, as sprout exports them."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, tensor in state.items():
        array = tensor.detach().cpu().contiguous().numpy()
        if array.ndim == 0:
            array = array.reshape(1)
        if array.dtype not in _NAMES:
            raise ValueError(f"tensor {name}: dtype {array.dtype} is not supported")
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def _floats(text: str):
    return [float(v) for v in text.split(",")]


def _into(arch_text: str, state, mean, std, plain_only=False):
    model = build_model(arch_text)
    if plain_only:  # a slimmable or adaptive checkpoint: its gate and per-width statistics are sprout's own
        own = model.state_dict()
        state = OrderedDict((k, v) for k, v in state.items() if k in own)
    model.load_state_dict(state, strict=True)
    return model, Normalise(mean, std)


def load_export(path: str):
    """(model, normalise) of a `sprout export` file: safetensors, or pt (torch.load)."""
    if path.endswith(".pt"):
        top = torch.load(path)
        state, metadata = top["state_dict"], top["metadata"]
    else:
        state, metadata = read_safetensors(path)
    if "architecture" not in metadata:
        raise ValueError(f"{path}: no architecture in its metadata (not a sprout export?)")
    return _into(metadata["architecture"], state, _floats(metadata["input_mean"]), _floats(metadata["input_std"]))


def _normalisation(f, path, mean, std):
    if mean is not None and std is not None:
        return list(mean), list(std)
    if "normalization" in f:  # per channel, float64 (launch/train/stored_normalization.h)
        return [float(v) for v in f["normalization/mean"][()]], [float(v) for v in f["normalization/std"][()]]
    # Not recorded: sprout's normalisation of the run's IDX training split.
    config = dict(line.split(" = ", 1) for line in _text(f.attrs["config"]).splitlines() if " = " in line)
    if config.get("data.name", "fashion-mnist") not in ("fashion-mnist", "mnist"):
        raise ValueError(f"{path}: records no input normalisation; pass mean= and std=")
    return idx_moments(config.get("data.dir") or "/usr/share/datasets/fashion-mnist")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def load_checkpoint(path: str, mean=None, std=None):
    """(model, normalise) of a sprout HDF5 checkpoint, read with h5py.

    The plain model: a slimmable or adaptive checkpoint's gate and per-width statistics
    are left out (every tensor of the model must be there: strict=True). The
    normalisation is the one the checkpoint records, else mean/std if given, else
    sprout's own of the run's IDX training data (data.dir as stored)."""
    import h5py  # only needed here

    with h5py.File(path, "r") as f:
        arch_text = _text(f["architecture"].attrs["spec"])
        state = OrderedDict()
        for root in ("model", "buffers"):
            def visit(name, obj, root=root):
                if isinstance(obj, h5py.Dataset):
                    array = np.asarray(obj[()])
                    state[name.replace("/", ".")] = torch.from_numpy(array.reshape(1) if array.ndim == 0 else array)
            if root in f:
                f[root].visititems(visit)
        arch = parse_arch(arch_text)
        if arch.kind == "vit":  # sprout's patch embedding (D, C·p·p) is the Conv2d's (D, C, p, p)
            p = arch.integer("patch")
            state["embed.weight"] = state["embed.weight"].reshape(-1, arch.input[0], p, p)
        mean, std = _normalisation(f, path, mean, std)
    return _into(arch_text, state, mean, std, plain_only=True)


def load(path: str, **kwargs):
    """(model, normalise) of an export (.safetensors, .pt) or a checkpoint (HDF5)."""
    with open(path, "rb") as f:
        hdf5 = f.read(8) == b"\x89HDF\r\n\x1a\n"
    return load_checkpoint(path, **kwargs) if hdf5 else load_export(path)


def verify(model, normalise, check_path: str) -> float:
    """The largest difference between `model`'s logits and sprout's, on the examples of a
    `sprout export --check N` file (OUT.check.safetensors)."""
    check, _ = read_safetensors(check_path)
    with torch.no_grad():
        logits = model.eval()(normalise(check["images"]))
    return (logits - check["logits"]).abs().max().item()
