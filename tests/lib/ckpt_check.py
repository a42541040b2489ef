"""Helpers for the Python checks in test_ckpt.sh: TAP lines, the float
tensors of a checkpoint, logged training records."""
import json

import h5py
import numpy as np
from tap import ok  # noqa: F401  (re-exported for the tests)


def tensors(path):
    """Every dataset with a crc32 attribute (params, Adam m and v), by name."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda k, v: out.__setitem__(k, v[()])
                     if isinstance(v, h5py.Dataset) and "crc32" in v.attrs else None)
    return out


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def records(d, run):
    """The step records (those with a loss) of <d>/<run>/metrics.jsonl."""
    return [r for r in map(json.loads, open(f"{d}/{run}/metrics.jsonl")) if "loss" in r]


def losses(d, run):
    return [r["loss"] for r in records(d, run)]
