#!/usr/bin/env python3
"""A byte-level corpus for the MPI tests: each byte of a fortune is a token
(id = byte + 6; ids 0–5 are the specials), documents split at '%' lines, every
50th document held out. Fast and independent of the tokenizer.

    python3 bytes_corpus.py OUT.h5 FILE [FILE ...]
"""
import sys

import h5py
import numpy as np


def main(out, files):
    docs = []
    for path in files:
        text = open(path, "rb").read()
        docs += [d.strip() for d in text.split(b"\n%\n") if d.strip()]
    val = [d for i, d in enumerate(docs) if i % 50 == 49]
    train = [d for i, d in enumerate(docs) if i % 50 != 49]

    def write(g, ds):
        g["tokens"] = np.concatenate([np.frombuffer(d, np.uint8).astype(np.uint16) + 6 for d in ds])
        g["doc_offsets"] = np.concatenate([[0], np.cumsum([len(d) for d in ds])]).astype(np.int64)

    with h5py.File(out, "w") as f:
        f.attrs["format"] = "zeropt-corpus"
        f.attrs["version"] = 1
        f.attrs["tokenizer"] = "bytes"
        f.attrs["vocab_size"] = 262
        for k, v in dict(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, bos_id=-1, eos_id=5).items():
            f.attrs[k] = v
        write(f, train)
        write(f.create_group("val"), val)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
