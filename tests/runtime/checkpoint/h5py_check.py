#!/usr/bin/python3
"""h5py as the oracle of sprout's checkpoint files.

usage: h5py_check.py FILE.h5 MANIFEST
MANIFEST lines: "<dataset path> <raw file>" — the raw file holds sprout's tensor bytes
(C order, native little-endian). Checks, with no sprout code: the root attributes, that
every tensor dataset is listed, that its bytes equal sprout's, and that zlib.crc32 of them
equals the stored crc32 attribute. Exit status 1 on any difference.
"""
import sys
import zlib

import h5py
import numpy as np


def main():
    path, manifest = sys.argv[1], sys.argv[2]
    expected = dict(line.split() for line in open(manifest) if line.strip())
    failures = []
    with h5py.File(path, "r") as f:
        fmt = f.attrs["format"]
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        if fmt != "sprout-checkpoint":
            failures.append("root attribute format is %r" % fmt)
        if int(f.attrs["format_version"]) not in (1, 2):
            failures.append("format_version %r" % f.attrs["format_version"])
        found = []
        f.visititems(lambda name, obj: found.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
        tensors = [p for p in found if f[p].dtype.names is None]
        for p in sorted(set(tensors) ^ set(expected)):
            failures.append("%s is %s" % (p, "not in the manifest" if p in tensors else "missing from the file"))
        for p in sorted(set(tensors) & set(expected)):
            arr = np.ascontiguousarray(f[p][()])
            want = open(expected[p], "rb").read()
            if arr.tobytes() != want:
                failures.append("%s: values differ from sprout's" % p)
            crc = zlib.crc32(arr.tobytes()) & 0xFFFFFFFF
            if crc != int(f[p].attrs["crc32"]):
                failures.append("%s: crc32 %08x, attribute says %08x" % (p, crc, int(f[p].attrs["crc32"])))
            rows = f[p].attrs["shard_rows"]
            if rows.ndim != 2 or rows.shape[1] != 2:
                failures.append("%s: shard_rows has shape %s" % (p, rows.shape))
        print("h5py checked %d tensors of %s" % (len(tensors), path))
    for msg in failures:
        print("FAIL:", msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
