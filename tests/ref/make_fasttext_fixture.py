#!/usr/bin/env python3
"""Reference fixture for zeropt's quality classifier, from the `fasttext` package.

Run by developers (not CI), in a virtual environment outside the repository:
    ~/venv-ref/bin/pip install fasttext-wheel
    ~/venv-ref/bin/python tests/ref/make_fasttext_fixture.py tests/fixtures

On the labelled fortunes of tests/lib/fortune_labels.py it writes
  fasttext_softmax.bin   fastText supervised, softmax, dim 10, 25 epochs
  fasttext_ova.bin       one-vs-all, word bigrams and character 3-5-grams,
                         bucket 5000, dim 8
  fasttext_ref.json      the data's SHA-256; each model's top-2 labels and
                         probabilities on every test line (fastText's own
                         predict: probability = p + 1e-5); and fastText's
                         precision@1 over 5 seeds for the settings zeropt's
                         own training is compared at.
"""
import json
import os
import subprocess
import sys
import tempfile

import fasttext

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {"softmax": dict(dim=10, epoch=25),
          "ova": dict(dim=8, epoch=25, loss="ova", wordNgrams=2, bucket=5000, minn=3, maxn=5)}
COMPARE = {"defaults-25": dict(epoch=25),
           "bigrams": dict(epoch=25, wordNgrams=2, bucket=5000, dim=12, lr=0.5)}


def main(out):
    with tempfile.TemporaryDirectory() as d:
        sha = subprocess.check_output([sys.executable, f"{HERE}/../lib/fortune_labels.py", d]).decode().strip()
        train, test = f"{d}/train.txt", f"{d}/test.txt"
        lines = [l.rstrip("\n") for l in open(test)]
        ref = {"data_sha256": sha, "models": {}, "precision_at_1": {}}
        for name, kw in MODELS.items():
            m = fasttext.train_supervised(train, thread=1, verbose=0, seed=0, **kw)
            m.save_model(f"{out}/fasttext_{name}.bin")
            preds = []
            for l in lines:
                text = " ".join(w for w in l.split() if not w.startswith("__label__"))
                got = m.f.predict(text + "\n", 2, 0.0, "strict")
                preds.append([[lab, prob] for prob, lab in got])
            ref["models"][name] = dict(settings=kw, test_p1=m.test(test)[1], predictions=preds)
            print(f"  {name}: P@1 {m.test(test)[1]:.4f}")
        for name, kw in COMPARE.items():
            ps = [fasttext.train_supervised(train, thread=1, verbose=0, seed=s, **kw).test(test)[1]
                  for s in range(5)]
            ref["precision_at_1"][name] = dict(settings=kw, fasttext=ps)
            print(f"  {name}: fastText P@1 {ps}")
        json.dump(ref, open(f"{out}/fasttext_ref.json", "w"), separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
