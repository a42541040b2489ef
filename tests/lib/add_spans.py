#!/usr/bin/env python3
"""Salient spans for a zeropt corpus made with a byte-level BPE tokenizer:
runs of capitalised words and numbers (a crude stand-in for the span
detector of `zeropt prep`), written as /spans and /span_offsets (and the
same under /val) in the layout of DESIGN.md. Prints the span count.

    python3 add_spans.py CORPUS.h5
"""
import json
import sys

import h5py
import numpy as np


def byte_decoder():
    """GPT-2's byte <-> unicode alphabet, inverted."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main(path):
    with h5py.File(path, "r+") as f:
        tok = json.loads(f["tokenizer/json"][()].decode() if isinstance(f["tokenizer/json"][()], bytes)
                         else f["tokenizer/json"][()])
        dec = byte_decoder()
        text = {}
        for s, i in tok["model"]["vocab"].items():
            try:
                text[i] = bytes(dec[c] for c in s).decode("utf-8", "replace")
            except KeyError:
                text[i] = s
        total = 0
        for pre in ("", "val/"):
            toks = f[pre + "tokens"][()]
            off = f[pre + "doc_offsets"][()]
            spans, soff = [], [0]
            for d in range(len(off) - 1):
                ids = toks[off[d]:off[d + 1]]
                i, n = 0, len(ids)
                while i < n:
                    t = text.get(int(ids[i]), "")
                    word = t.strip()
                    if (t.startswith(" ") or i == 0) and word[:1].isupper() or word[:1].isdigit():
                        j = i + 1
                        while j < n:  # continuation pieces, then more capitalised words
                            u = text.get(int(ids[j]), "")
                            if u[:1].isalnum() or (u.startswith(" ") and u.strip()[:1].isupper()):
                                j += 1
                            else:
                                break
                        spans.append((i, j, 0))
                        i = j
                    else:
                        i += 1
                soff.append(len(spans))
            arr = np.array(spans, dtype=np.int64).reshape(-1, 3)
            for name in ("spans", "span_offsets"):
                if pre + name in f:
                    del f[pre + name]
            f[pre + "spans"] = arr
            f[pre + "span_offsets"] = np.array(soff, dtype=np.int64)
            total += len(spans)
        print(total)


if __name__ == "__main__":
    main(sys.argv[1])
