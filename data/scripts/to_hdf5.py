#!/usr/bin/python3
"""Converts image data sets to sprout's HDF5 layout (data/README.md, "HDF5 data sets").

  /train/images  (N, C, H, W) or (N, H, W), uint8 or float32    /train/labels  (N) int64
  /test/images, /test/labels                                     attribute num_classes on /

Sources:
  --idx DIR          an MNIST-style directory: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
                     t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]
  --npz FILE         one .npz holding x_train, y_train, x_test, y_test (the Keras names)
  --npy XTR YTR XTE YTE   four .npy files: train images, train labels, test images, test labels
Images given as (N, H, W, C) with C in {1, 3, 4} (the usual numpy/Keras order) are moved to
(N, C, H, W) with --channels-last; without it, 4-d arrays are taken as (N, C, H, W).

CIFAR-10 from its Python pickles (data_batch_1..5, test_batch), for example:
  python3 - <<'EOF'
  import pickle, numpy as np
  load = lambda f: pickle.load(open(f, 'rb'), encoding='bytes')
  tr = [load(f'cifar-10-batches-py/data_batch_{i}') for i in range(1, 6)]
  te = load('cifar-10-batches-py/test_batch')
  np.savez('cifar10.npz',
           x_train=np.concatenate([b[b'data'] for b in tr]).reshape(-1, 3, 32, 32),
           y_train=np.concatenate([b[b'labels'] for b in tr]),
           x_test=te[b'data'].reshape(-1, 3, 32, 32), y_test=np.array(te[b'labels']))
  EOF
  data/scripts/to_hdf5.py --npz cifar10.npz --out cifar10.h5
  sprout train --data.name hdf5 --data.path cifar10.h5 --model.kind resnet --data.augment crop_flip

Runs with Debian's /usr/bin/python3 (numpy and h5py). Exit status 2 with one line on bad input.
"""
import argparse
import gzip
import os
import sys

import h5py
import numpy as np


class InputError(Exception):
    pass


def read_idx(path):
    """An IDX file (optionally gzipped) as a numpy array."""
    opener = gzip.open if open(path, 'rb').read(2) == b'\x1f\x8b' else open
    with opener(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise InputError(f'{path}: not an unsigned-byte IDX file')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise InputError(f'{path}: {body.size} values for dimensions {dims}')
    return body.reshape(dims)


def find_idx(directory, stem):
    dotted = stem.replace('-idx', '.idx', 1)
    for name in (stem + '.gz', stem, dotted + '.gz', dotted):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise InputError(f'{directory}: no {stem}[.gz] file')


def load(args):
    if args.idx:
        d = args.idx
        return [read_idx(find_idx(d, stem)) for stem in
                ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')]
    if args.npz:
        z = np.load(args.npz)
        missing = [k for k in ('x_train', 'y_train', 'x_test', 'y_test') if k not in z]
        if missing:
            raise InputError(f'{args.npz}: no array {missing[0]} (needs x_train, y_train, x_test, y_test)')
        return [z['x_train'], z['y_train'], z['x_test'], z['y_test']]
    return [np.load(p) for p in args.npy]


def images_of(x, name, channels_last):
    if x.ndim == 4 and channels_last:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    if x.ndim not in (3, 4):
        raise InputError(f'{name}: shape {x.shape}, expected (N, C, H, W) or (N, H, W)')
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32)
    raise InputError(f'{name}: dtype {x.dtype}, expected uint8 or a float type (stored as float32)')


def labels_of(y, name):
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1 else np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise InputError(f'{name}: shape {y.shape} dtype {y.dtype}, expected integers (N)')
    if y.size and y.min() < 0:
        raise InputError(f'{name}: label {y.min()} is negative')
    return y.astype(np.int64)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--idx', metavar='DIR')
    src.add_argument('--npz', metavar='FILE')
    src.add_argument('--npy', nargs=4, metavar=('X_TRAIN', 'Y_TRAIN', 'X_TEST', 'Y_TEST'))
    p.add_argument('--out', required=True, help='the HDF5 file to write')
    p.add_argument('--num-classes', type=int, default=0, help='default: the largest label + 1')
    p.add_argument('--channels-last', action='store_true', help='4-d images are (N, H, W, C)')
    args = p.parse_args()
    try:
        xtr, ytr, xte, yte = load(args)
        xtr, xte = images_of(xtr, 'train images', args.channels_last), images_of(xte, 'test images', args.channels_last)
        ytr, yte = labels_of(ytr, 'train labels'), labels_of(yte, 'test labels')
        for x, y, split in ((xtr, ytr, 'train'), (xte, yte, 'test')):
            if len(x) != len(y):
                raise InputError(f'{split}: {len(y)} labels for {len(x)} images')
            if len(x) == 0:
                raise InputError(f'{split}: no examples')
        if xtr.shape[1:] != xte.shape[1:] or xtr.dtype != xte.dtype:
            raise InputError(f'train images {xtr.shape[1:]} {xtr.dtype} and test images {xte.shape[1:]} {xte.dtype} differ')
        classes = args.num_classes or int(max(ytr.max(), yte.max())) + 1
        if max(ytr.max(), yte.max()) >= classes:
            raise InputError(f'--num-classes {classes}: label {max(ytr.max(), yte.max())} does not fit')
        tmp = args.out + '.tmp'
        with h5py.File(tmp, 'w') as f:  # contiguous (no chunks): rows are read by hyperslab
            for split, x, y in (('train', xtr, ytr), ('test', xte, yte)):
                f.create_dataset(f'{split}/images', data=x)
                f.create_dataset(f'{split}/labels', data=y)
            f.attrs['num_classes'] = np.int64(classes)
        os.replace(tmp, args.out)
        print(f'{args.out}: train {xtr.shape} {xtr.dtype}, test {xte.shape}, {classes} classes')
    except (InputError, OSError, ValueError, KeyError) as e:
        print(f'to_hdf5: {e}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
