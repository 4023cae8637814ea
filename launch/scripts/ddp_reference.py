#!/usr/bin/python3
"""PyTorch DistributedDataParallel reference for `sprout bench train`.

The same workload as launch/bench/workload.cpp, trained by PyTorch's own data-parallel
engine: Fashion-MNIST (IDX files, .gz or raw), MLP 784-H-H-10, the CNN
conv(32, 3x3)-pool-conv(64, 3x3)-pool-H-10, or sprout's resnet and vit at their defaults
(pre-activation ResNet-10; ViT with 7x7 patches, width 64, 4 heads, depth 4, MLP 128), per-rank batch B, SGD lr 0.05 momentum 0.9
(--optim adamw: AdamW lr 0.001; --zero: its state sharded by ZeroRedundancyOptimizer), WORLD processes on this machine joined by the gloo backend (CPU). Every rank draws its
batches from its own shard of one seeded permutation per epoch.

After --warmup untimed steps and a barrier, --steps steps are timed; rank 0 prints one
line that launch/scripts/bench_vs_ddp.sh parses:

  torch-ddp world=2 model=mlp hidden=1024 batch=256 steps=100 samples_per_s=16178.4 step_ms=31.65 loss=0.4123
      optim=sgd zero=0 peak_rss_mb=812.5 state_mb=3.1

(one line; peak resident memory: the largest over ranks; optimizer state: rank 0's)

usage: launch/scripts/ddp_reference.py [--world 2] [--model mlp|cnn|resnet|vit] [--hidden 1024]
           [--batch 256] [--steps 200] [--warmup 20] [--threads 1] [--port 29533]
           [--data /usr/share/datasets/fashion-mnist] [--optim sgd|adamw] [--zero]
Needs Debian's python3-torch (/usr/bin/python3). A bad option or data file ends it with one
line naming it and exit status 2.
"""
import argparse
import gzip
import os
import resource
import struct
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


def fail(message):
    print(f"ddp_reference.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_idx(directory, stem, magic):
    """The bytes of one IDX file (stem.gz or stem) after its header, and its dimensions."""
    for path, opener in ((os.path.join(directory, stem + ".gz"), gzip.open), (os.path.join(directory, stem), open)):
        if os.path.exists(path):
            break
    else:
        fail(f"--data: '{directory}' has no {stem}[.gz]")
    with opener(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8 or struct.unpack(">I", blob[:4])[0] != magic:
        fail(f"--data: '{path}' is not an IDX file with magic {magic}")
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", blob[4:4 + 4 * ndim])
    body = blob[4 + 4 * ndim:]
    expected = 1
    for d in dims:
        expected *= d
    if len(body) != expected:
        fail(f"--data: '{path}' holds {len(body)} bytes of data, its header says {expected}")
    return body, dims


def training_set(directory):
    """Images as float32 (N, 1, 28, 28) standardised with the set's mean and std, labels int64 (N)."""
    pixels, (n, h, w) = read_idx(directory, "train-images-idx3-ubyte", IMAGE_MAGIC)
    labels, (m,) = read_idx(directory, "train-labels-idx1-ubyte", LABEL_MAGIC)
    if n != m:
        fail(f"--data: {n} training images but {m} labels in '{directory}'")
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(n, 1, h, w).float().div_(255.0)
    x = (x - x.mean()) / x.std()
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()
    return x, y


class PreActBlock(torch.nn.Module):
    """sprout's resnet block (growth/models/resnet.cpp): BN, ReLU, 3x3 conv, BN, ReLU, 3x3 conv,
    plus the input or a 1x1 projection of the pre-activated input."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        nn = torch.nn
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride) if cin != cout or stride != 1 else None

    def forward(self, x):
        o = torch.relu(self.bn1(x))
        h = self.conv2(torch.relu(self.bn2(self.conv1(o))))
        return h + (self.shortcut(o) if self.shortcut is not None else x)


class ResNet(torch.nn.Module):
    """sprout's resnet at its defaults: depth 10 (one block per stage), widen 1: 16, 32, 64 channels."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Conv2d(1, 16, 3, 1, 1)
        self.blocks = nn.Sequential(PreActBlock(16, 16, 1), PreActBlock(16, 32, 2), PreActBlock(32, 64, 2))
        self.bn, self.fc = nn.BatchNorm2d(64), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.blocks(self.stem(x)))).mean((2, 3)))


class VitBlock(torch.nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        nn = torch.nn
        self.heads = heads
        self.ln1, self.qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ln2, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(n, t, self.heads, 3, d // self.heads).permute(3, 0, 2, 1, 4)  # head-major, as sprout
        w = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, -1)
        x = x + self.proj((w @ v).transpose(1, 2).reshape(n, t, d))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


class Vit(torch.nn.Module):
    """sprout's vit at its defaults (growth/models/vit.cpp): 7x7 patches, dim 64, 4 heads, depth 4, MLP 128."""

    def __init__(self, dim=64, heads=4, depth=4, mlp=128, patch=7):
        super().__init__()
        nn = torch.nn
        self.patch = patch
        self.embed = nn.Linear(patch * patch, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, (28 // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[VitBlock(dim, heads, mlp) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 10)

    def forward(self, x):
        cols = torch.nn.functional.unfold(x, self.patch, stride=self.patch).transpose(1, 2)  # (N, P, p*p)
        h = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.embed(cols)], 1) + self.pos
        return self.head(self.norm(self.blocks(h))[:, 0])


def build_model(kind, hidden):
    nn = torch.nn
    if kind == "resnet":
        return ResNet()
    if kind == "vit":
        return Vit()
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                             nn.Linear(hidden, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14 -> 7
                         nn.Flatten(), nn.Linear(64 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10))


class ShardedBatches:
    """This rank's batches: epoch e is a permutation drawn from (seed, e), dealt round-robin over ranks."""

    def __init__(self, examples, batch, rank, world, seed=1):
        self.examples, self.batch, self.rank, self.world, self.seed = examples, batch, rank, world, seed
        self.epoch, self.shard, self.position = -1, None, 0

    def next(self):
        if self.shard is None or self.position + self.batch > self.shard.numel():
            self.epoch += 1
            g = torch.Generator().manual_seed(self.seed * 1000003 + self.epoch)
            self.shard = torch.randperm(self.examples, generator=g)[self.rank::self.world]
            self.position = 0
        idx = self.shard[self.position:self.position + self.batch]
        self.position += self.batch
        return idx


def train(rank, args):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(args.port)
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.world)
    torch.manual_seed(0)  # the same initial model on every rank (DDP also broadcasts rank 0's)
    x, y = training_set(args.data)
    model = torch.nn.parallel.DistributedDataParallel(build_model(args.model, args.hidden))
    if args.optim == "sgd":
        optimizer_class, hyper = torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}
    else:
        optimizer_class, hyper = torch.optim.AdamW, {"lr": 0.001}
    if args.zero:
        from torch.distributed.optim import ZeroRedundancyOptimizer
        optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=optimizer_class, **hyper)
        local = optimizer.optim  # this rank's shard
    else:
        optimizer = local = optimizer_class(model.parameters(), **hyper)
    batches = ShardedBatches(x.shape[0], args.batch, rank, args.world)
    loss = torch.zeros(())
    t0 = time.perf_counter()
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            dist.barrier()
            t0 = time.perf_counter()
        idx = batches.next()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()  # DDP's hooks allreduce the gradient buckets here
        optimizer.step()
    dist.barrier()
    seconds = time.perf_counter() - t0
    rss = torch.tensor([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0])
    dist.all_reduce(rss, op=dist.ReduceOp.MAX)
    state_bytes = sum(t.numel() * t.element_size() for per_param in local.state.values()
                      for t in per_param.values() if torch.is_tensor(t) and t.dim() > 0)
    if rank == 0:
        rate = args.steps * args.batch * args.world / seconds
        print(f"torch-ddp world={args.world} model={args.model} hidden={args.hidden} batch={args.batch} "
              f"steps={args.steps} samples_per_s={rate:.1f} step_ms={1000 * seconds / args.steps:.2f} "
              f"loss={loss.item():.4f} optim={args.optim} zero={int(args.zero)} peak_rss_mb={rss.item():.1f} "
              f"state_mb={state_bytes / 2**20:.2f}", flush=True)
    dist.destroy_process_group()


def parse(argv):
    p = argparse.ArgumentParser(prog="ddp_reference.py", allow_abbrev=False,
                                description="PyTorch DDP (gloo, CPU) on sprout's benchmark workload.")
    p.add_argument("--world", type=int, default=2, help="processes (ranks) on this machine")
    p.add_argument("--model", default="mlp",
                   help="mlp (784-H-H-10) | cnn (conv 32, conv 64, H, 10) | resnet | vit (sprout's defaults; H unused)")
    p.add_argument("--hidden", type=int, default=1024, help="hidden width H")
    p.add_argument("--batch", type=int, default=256, help="batch size per rank")
    p.add_argument("--steps", type=int, default=200, help="timed steps")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per rank")
    p.add_argument("--port", type=int, default=29533, help="TCP port of the gloo rendezvous on 127.0.0.1")
    p.add_argument("--data", default=DEFAULT_DATA, help="directory of the Fashion-MNIST IDX files")
    p.add_argument("--optim", default="sgd", help="sgd (lr 0.05, momentum 0.9) | adamw (lr 0.001)")
    p.add_argument("--zero", action="store_true", help="shard the optimizer state (ZeroRedundancyOptimizer)")
    a = p.parse_args(argv)
    checks = [("world", 1 <= a.world <= 256, "in [1, 256]"), ("model", a.model in ("mlp", "cnn", "resnet", "vit"), "mlp, cnn, resnet or vit"),
              ("hidden", 1 <= a.hidden <= 65536, "in [1, 65536]"), ("batch", 1 <= a.batch <= 4096, "in [1, 4096]"),
              ("steps", a.steps >= 1, "at least 1"), ("warmup", a.warmup >= 0, "at least 0"),
              ("threads", 1 <= a.threads <= 1024, "in [1, 1024]"), ("optim", a.optim in ("sgd", "adamw"), "sgd or adamw"), ("port", 1024 <= a.port <= 65535, "in [1024, 65535]")]
    for name, ok, rule in checks:
        if not ok:
            fail(f"--{name}: '{getattr(a, name)}' must be {rule}")
    if not os.path.isdir(a.data):
        fail(f"--data: '{a.data}' is not a directory")
    return a


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    training_set(arguments.data)  # a bad data file fails here, once, before any process starts
    mp.spawn(train, args=(arguments,), nprocs=arguments.world)
