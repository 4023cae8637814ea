"""The torch.nn.Module of each built-in sprout family, op for op as growth/models/*.cpp.

Module and parameter names are sprout's, so a model's state_dict() has exactly the names of
its sprout checkpoint (README.md, "Names per family"). sprout's activation clamp_min(x, 0)
is ReLU in the forward pass; batch norms are momentum 0.1, eps 1e-5; LayerNorm eps 1e-5;
GELU exact (erf).
"""

import math
from typing import List, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .arch import Arch, parse_arch


def _chain(arch: Arch, hidden: List[Tuple[str, int]]) -> List[Tuple[str, int, bool]]:
    """Each hidden layer (name, width) followed by the identity layers depth growth inserted
    after it, <name>_1, <name>_2, ... (model.inserted, model.inserted_widths), as
    growth/models/identity_layers.h: (name, width, inserted) in forward order."""
    counts = arch.ints("inserted") or [0] * len(hidden)
    widths = arch.ints("inserted_widths")
    if len(counts) != len(hidden) or sum(counts) != len(widths):
        raise ValueError(f"{arch.kind}: inserted {counts} / inserted_widths {widths} do not fit {len(hidden)} hidden layers")
    out, k = [], 0
    for (name, width), n in zip(hidden, counts):
        out.append((name, width, False))
        for j in range(1, n + 1):
            out.append((f"{name}_{j}", widths[k], True))
            k += 1
    return out


class _Dense(nn.Module):
    """fc1 -> [bn_fc1] -> relu -> ... -> fcN, as sprout's mlp and the head of its cnn (with the
    layers inserted after a hidden layer between it and the next)."""

    def _add_dense(self, features: int, chain: List[Tuple[str, int, bool]], head: str, classes: int, batch_norm: bool):
        self._dense, self._head = [name for name, _, _ in chain], head
        self._batch_norm = batch_norm
        for name, out, _ in chain:
            setattr(self, name, nn.Linear(features, out))
            if batch_norm:
                setattr(self, f"bn_{name}", nn.BatchNorm1d(out))
            features = out
        setattr(self, head, nn.Linear(features, classes))

    def _dense_forward(self, h: torch.Tensor) -> torch.Tensor:
        for name in self._dense:
            h = getattr(self, name)(h)
            if self._batch_norm:
                h = getattr(self, f"bn_{name}")(h)
            h = F.relu(h)
        return getattr(self, self._head)(h)


class Mlp(_Dense):
    def __init__(self, arch: Arch):
        super().__init__()
        c, h, w = arch.input
        widths = arch.ints("widths")
        chain = _chain(arch, [(f"fc{i}", v) for i, v in enumerate(widths, start=1)])
        self._add_dense(c * h * w, chain, f"fc{len(widths) + 1}", arch.classes, arch.flag("batch_norm"))

    def forward(self, x):  # (N, C, H, W) -> (N, classes)
        return self._dense_forward(x.reshape(x.size(0), -1))


class Cnn(_Dense):
    def __init__(self, arch: Arch):
        super().__init__()
        c, h, w = arch.input
        channels, widths, bn = arch.ints("conv"), arch.ints("widths"), arch.flag("batch_norm")
        hidden = [(f"conv{i}", v) for i, v in enumerate(channels, start=1)]
        hidden += [(f"fc{i}", v) for i, v in enumerate(widths, start=1)]
        chain = _chain(arch, hidden)
        convs = chain[: len(chain) - sum(1 for name, _, _ in chain if name.startswith("fc"))]
        self._convs, self._conv_bn = [(name, inserted) for name, _, inserted in convs], bn
        for name, out, inserted in convs:
            setattr(self, name, nn.Conv2d(c, out, 3, padding=1))
            if bn:
                setattr(self, f"bn_{name}", nn.BatchNorm2d(out))
            c = out
            if not inserted:
                h, w = h // 2, w // 2  # 2x2 max-pool, floor; an inserted layer keeps the map
        self._add_dense(c * h * w, chain[len(convs):], f"fc{len(widths) + 1}", arch.classes, bn)

    def forward(self, x):
        h = x
        for name, inserted in self._convs:
            h = getattr(self, name)(h)
            if self._conv_bn:
                h = getattr(self, f"bn_{name}")(h)
            h = F.relu(h)
            if not inserted:
                h = F.max_pool2d(h, 2)
        return self._dense_forward(h.reshape(h.size(0), -1))  # channel-major flatten


class ResNetBlock(nn.Module):
    """Pre-activation wide-ResNet block: o = relu(bn1(x)); x' = conv2(relu(bn2(conv1(o)))) + shortcut."""

    def __init__(self, inputs: int, inner: int, outputs: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs)
        self.conv1 = nn.Conv2d(inputs, inner, 3, stride=stride, padding=1)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, outputs, 3, padding=1)
        self.shortcut = nn.Conv2d(inputs, outputs, 1, stride=stride) if inputs != outputs or stride != 1 else None

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        shortcut = self.shortcut(pre) if self.shortcut is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(pre)))) + shortcut


class ResNet(nn.Module):
    def __init__(self, arch: Arch):
        super().__init__()
        depth, k = arch.integer("depth"), arch.integer("widen")
        # Blocks per stage and their numbers in forward order: what depth growth records
        # (model.blocks, model.order), else n = (depth - 4) / 6 per stage numbered in order.
        per_stage = arch.ints("blocks") or [(depth - 4) // 6] * 3
        widths = arch.ints("stages") or [(16 << s) * k for s in range(3)]  # each stage's residual width
        stem = arch.integer("stem") if arch.params.get("stem") else 16
        stages = [widths[s] for s in range(3) for _ in range(per_stage[s])]  # per position
        strides = [2 if s > 0 and b == 0 else 1 for s in range(3) for b in range(per_stage[s])]
        order = arch.ints("order") or list(range(1, len(stages) + 1))
        if sorted(order) != list(range(1, len(stages) + 1)):
            raise ValueError(f"resnet: order {order} is not an order of blocks 1..{len(stages)}")
        inner = arch.ints("inner")  # by block number
        if not inner:
            inner = [0] * len(stages)
            for p, number in enumerate(order):
                inner[number - 1] = stages[p]
        if len(inner) != len(stages):
            raise ValueError(f"resnet: inner has {len(inner)} widths for {len(stages)} blocks")
        self.stem = nn.Conv2d(arch.input[0], stem, 3, padding=1)
        self._order = order
        c = stem
        for p, number in enumerate(order):
            setattr(self, f"block{number}", ResNetBlock(c, inner[number - 1], stages[p], strides[p]))
            c = stages[p]
        self.bn_final = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, arch.classes)

    def forward(self, x):
        h = self.stem(x)
        for number in self._order:
            h = getattr(self, f"block{number}")(h)
        return self.fc(F.relu(self.bn_final(h)).mean((2, 3)))


class VitBlock(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, hidden: int):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.ln1 = nn.LayerNorm(dim, eps=1e-5)
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)  # head-major: head h owns its q, k, v rows
        self.proj = nn.Linear(heads * head_dim, dim)
        self.ln2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def attention(self, h):  # (N, T, D)
        n, t, _ = h.shape
        hd = self.head_dim
        qkv = self.qkv(self.ln1(h)).view(n, t, self.heads, 3, hd).permute(3, 0, 2, 1, 4)  # (3, N, heads, T, hd)
        q, k, v = qkv[0], qkv[1], qkv[2]
        w = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(hd), -1)
        return self.proj(torch.matmul(w, v).transpose(1, 2).reshape(n, t, self.heads * hd))

    def forward(self, h):
        h = h + self.attention(h)
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h))))


class Vit(nn.Module):
    def __init__(self, arch: Arch):
        super().__init__()
        c, h, w = arch.input
        dim, heads, patch = arch.integer("dim"), arch.integer("heads"), arch.integer("patch")
        inner = arch.ints("inner") or [arch.integer("mlp")] * arch.integer("depth")
        block_heads = arch.ints("block_heads") or [heads] * len(inner)
        head_dim = arch.integer("head_dim") if arch.params.get("head_dim", "0") != "0" else dim // heads
        self.dim = dim
        self.embed = nn.Conv2d(c, dim, patch, stride=patch)  # sprout: im2col then a linear map
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, (h // patch) * (w // patch) + 1, dim))
        self._blocks = len(inner)
        for b, hidden in enumerate(inner, start=1):
            setattr(self, f"block{b}", VitBlock(dim, block_heads[b - 1], head_dim, hidden))
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, arch.classes)

    def forward(self, x):
        e = self.embed(x).flatten(2).transpose(1, 2)  # (N, P, D), patches row-major
        h = torch.cat([self.cls.expand(x.size(0), 1, self.dim), e], 1) + self.pos
        for b in range(1, self._blocks + 1):
            h = getattr(self, f"block{b}")(h)
        return self.head(self.norm(h)[:, 0])


FAMILIES = {"mlp": Mlp, "cnn": Cnn, "resnet": ResNet, "vit": Vit}


def build_model(arch) -> nn.Module:
    """The module of a sprout architecture (an Arch or its text), in eval mode."""
    if isinstance(arch, str):
        arch = parse_arch(arch)
    if arch.kind not in FAMILIES:
        raise ValueError(f"architecture kind {arch.kind!r}: sprout_torch builds {', '.join(FAMILIES)}")
    return FAMILIES[arch.kind](arch).eval()
