#!/usr/bin/env python3
"""WordPiece training reference (developer-run, needs tokenizers):

    ~/venv-ref/bin/python tests/ref/make_wordpiece_train_fixture.py tests/fixtures

Trains HF tokenizers' WordPieceTrainer (BertNormalizer, BertPreTokenizer, the
five BERT special tokens, vocab_size 12000, its default min_frequency 0) on
the 12,000 documents of hf_tok_docs.jsonl.gz, uncased and cased, three times
each, and writes tests/fixtures/hf_wp_train_ref.json.gz: every run's
vocabulary (token -> id). HF assigns the ids of the ## forms in hash-table
order, so its runs differ from each other (ties between equally frequent
pairs go different ways); the Jaccard overlap of two HF runs is the anchor
tests/unit/test_hf_tokenizers.c holds zeropt's trainer to.
"""
import gzip
import json
import os
import sys

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train(docs, lowercase):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tr = trainers.WordPieceTrainer(vocab_size=12000, special_tokens=SPECIAL, show_progress=False)
    tok.train_from_iterator(docs, tr)
    return tok.get_vocab()


def main(out):
    with gzip.open(os.path.join(out, "hf_tok_docs.jsonl.gz"), "rt") as f:
        docs = [json.loads(l)["text"] for l in f]
    ref = {"tokenizers": __import__("tokenizers").__version__, "vocab_size": 12000}
    for name, lower in (("uncased", True), ("cased", False)):
        ref[name] = [train(docs, lower) for _ in range(3)]
        v = [set(x) for x in ref[name]]
        j = [len(a & b) / len(a | b) for i, a in enumerate(v) for b in v[i + 1:]]
        print(name, "sizes", [len(x) for x in v], "HF-vs-HF Jaccard", [f"{x:.4f}" for x in j])
    with gzip.open(os.path.join(out, "hf_wp_train_ref.json.gz"), "wt") as f:
        json.dump(ref, f)
        f.write("\n")  # one JSON line


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
