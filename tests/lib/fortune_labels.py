#!/usr/bin/env python3
"""A labelled text-classification set from Debian's fortunes, for the quality
classifier's tests: each fortune of computers, science, people and wisdom is
one line "__label__<file> <its text on one line>"; a seeded shuffle, then
every 5th line is test. Deterministic: prints the SHA-256 of both files, so
a test can tell a changed fortunes package from a changed classifier.

    python3 fortune_labels.py OUT_DIR      (writes OUT_DIR/train.txt, test.txt)
"""
import hashlib
import random
import sys

SRC = "/usr/share/games/fortunes"
FILES = ("computers", "science", "people", "wisdom")


def main(out):
    lines = []
    for name in FILES:
        text = open(f"{SRC}/{name}", encoding="utf-8", errors="replace").read()
        for doc in text.split("\n%\n"):
            words = doc.split()
            if words and words != ["%"]:
                lines.append(f"__label__{name} " + " ".join(words))
    random.Random(1234).shuffle(lines)
    test = [l for i, l in enumerate(lines) if i % 5 == 4]
    train = [l for i, l in enumerate(lines) if i % 5 != 4]
    h = hashlib.sha256()
    for name, part in (("train", train), ("test", test)):
        data = ("\n".join(part) + "\n").encode()
        open(f"{out}/{name}.txt", "wb").write(data)
        h.update(data)
    print(h.hexdigest())


if __name__ == "__main__":
    main(sys.argv[1])
