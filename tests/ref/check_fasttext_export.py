#!/usr/bin/env python3
"""Does a model zeropt trains load in the `fasttext` package and predict what
zeropt predicts? (Developers, not CI: it needs the package.)

    ~/venv-ref/bin/python tests/ref/check_fasttext_export.py build/zeropt

Trains zeropt's classifier on the labelled fortunes (tests/lib/fortune_labels.py)
twice (softmax; one-vs-all with word bigrams and character n-grams), loads each
.bin with fasttext.load_model, and compares the top-2 labels and probabilities
on every test line with `zeropt quality predict`'s, and fastText's test() with
`zeropt quality test`'s. Exits 1 on any difference beyond 1e-4.
"""
import os
import subprocess
import sys
import tempfile

import fasttext

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = {"softmax": ["--dim", "10", "--epoch", "25"],
        "ova": ["--dim", "8", "--epoch", "25", "--loss", "ova", "--word-ngrams", "2",
                "--bucket", "5000", "--minn", "3", "--maxn", "5"]}


def main(z):
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.check_call([sys.executable, f"{HERE}/../lib/fortune_labels.py", d], stdout=subprocess.DEVNULL)
        texts = [" ".join(w for w in l.split() if not w.startswith("__label__")) for l in open(f"{d}/test.txt")]
        open(f"{d}/texts.txt", "w").write("\n".join(texts) + "\n")
        for name, args in RUNS.items():
            model = f"{d}/{name}.bin"
            subprocess.check_call([z, "quality", "train", "--input", f"{d}/train.txt", "--output", model] + args,
                                  stdout=subprocess.DEVNULL)
            ours = [l.split() for l in subprocess.check_output(
                [z, "quality", "predict", "--model", model, "--input", f"{d}/texts.txt", "--k", "2"]).decode().splitlines()]
            m = fasttext.load_model(model)
            worst, differ = 0.0, 0
            for t, o in zip(texts, ours):
                theirs = m.f.predict(t + "\n", 2, 0.0, "strict")
                if [lab for _, lab in theirs] != o[0::2]:
                    differ += 1
                for (p, _), q in zip(theirs, o[1::2]):
                    worst = max(worst, abs(p - float(q)))
            zt = subprocess.check_output([z, "quality", "test", "--model", model, "--input", f"{d}/test.txt"]).decode()
            zp1 = float(zt.split("P@1")[1].split()[0])
            fp1 = m.test(f"{d}/test.txt")[1]
            ok = differ == 0 and worst < 1e-4 and abs(zp1 - fp1) < 1e-4 and len(ours) == len(texts)
            bad += not ok
            print(f"{'ok' if ok else 'FAIL'} {name}: {len(texts)} lines, label lists differing {differ}, "
                  f"worst probability difference {worst:.2e}, P@1 zeropt {zp1:.4f} fastText {fp1:.4f}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/zeropt")
