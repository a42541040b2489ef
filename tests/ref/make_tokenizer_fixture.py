#!/usr/bin/env python3
"""Tokenizer reference fixture for zeropt, from Hugging Face `tokenizers`.

Run by developers (not CI), in the virtual environment of make_model_fixture.py
(~/venv-ref, with `tokenizers` installed), from the repository root:

    cp /usr/share/common-licenses/GPL-3 tests/fixtures/tokenizer_corpus.txt
    build/zeropt tokenizer train --input tests/fixtures/tokenizer_corpus.txt \\
        --vocab-size 1000 --output tests/fixtures/tokenizer_small.json
    ~/venv-ref/bin/python tests/ref/make_tokenizer_fixture.py \\
        tests/fixtures/tokenizer_small.json tests/fixtures/tokenizer_corpus.txt \\
        tests/fixtures/tokenizer_ref.json

It loads zeropt's tokenizer.json with `Tokenizer.from_file` (the file must load
as it is), encodes a list of test strings with it and writes the strings, HF's
ids with its defaults (special-token strings in the text become their ids),
HF's ids with encode_special_tokens = True (they are encoded as text), and
HF's decoded text. It also trains HF's own BpeTrainer on the same
corpus (documents split at blank lines, as `zeropt tokenizer train` does) with
the same settings, and records its vocab and merges: test_tokenizer.c checks
that zeropt's trainer reproduces them.
"""
import json
import random
import sys

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|endoftext|>"]

CASES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you today? I'm fine; thanks.",
    "This program is free software: you can redistribute it and/or modify it.",
    "don't won't can't I'll you're we've she'd he's they'RE O'Neil 'quoted' rock'n'roll",
    "Numbers: 0 1 12 123 1234 12345 3.14159 1,000,000 2024-01-31 +44 (0)20 7946 0958",
    "Punctuation!!! ...??? --- (parens) [brackets] {braces} <angles> @#$%^&*_=+|\\/~`",
    "multiple   spaces    here     and  there",
    "   leading spaces and trailing spaces   ",
    "line one\nline two\n\nline four after a blank\n",
    "\n\n\nnewlines first",
    "tabs\tbetween\t\twords\t",
    " \t \n mixed \r\n whitespace \u00a0 non-breaking\u3000ideographic",
    "Accents: café naïve résumé jalapeño Ångström façade Zürich Łódź",
    "Decomposed: cafe\u0301 nai\u0308ve",
    "CJK: 中文分词测试，日本語のテキスト、한국어 문장입니다。",
    "Emoji: 😀 👍🏽 👨‍👩‍👧 🇫🇷 ❤️ 🧪",
    "Greek: Η γρήγορη καφέ αλεπού. Cyrillic: Съешь же ещё этих мягких французских булок.",
    "Arabic: مرحبا بالعالم ٣٤٥ Hebrew: שלום עולם",
    "Devanagari: नमस्ते दुनिया ४२",
    "Pneumonoultramicroscopicsilicovolcanoconiosis "
    "supercalifragilisticexpialidocious" * 4,
    "Special strings as text: <|endoftext|> [CLS] [SEP] [MASK] [PAD] [UNK]",
    "a[SEP]b[CLS]c",
    "<|endoftext|><|endoftext|>",
    "[MASK]",
    " [CLS] leading space, trailing [SEP] ",
    "partial [CLS and [SEP]] and [[MASK]] brackets",
    "end of one document.<|endoftext|>Start of the next",
    "x",
    " ",
    "",
    "\u2028line\u2029para\u0085nel",
    "Superscripts² ½ Ⅻ ٣ 𝟘 numbers",
    "Control \u0001 \u001f \u007f chars and NUL \u0000 inside",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "def f(x):\n    return x ** 2  # comment\n",
    "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
]

POOL = list("abcXYZ019 '\"!?.,-\t\n") + [
    "  ", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "''", " '", "don't", "I'll",
    "\u00a0", "\u3000", "\u2009", "\u0085", "\u1680", "\u180e", "\u200b", "\ufeff", "\u2028",
    "\u202f", "\u205f", "\x0b", "\x0c", "\x1c", "é", "e\u0301", "ß", "Ω", "Ж", "中文", "日本語",
    "한국어", "😀", "👍🏽", "½", "²", "Ⅻ", "٣", "𝟘", "ǅ", "ʰ", "ـ", "€", "🇫🇷", "\U0010FFFF",
    "\ue000", "𐍈", "the", " the", "license", " License", "software",
]


def fuzz_cases(n, seed=20240531):
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 24))) for _ in range(n)]


def blank_line_docs(path):
    """Documents as zeropt's text reader makes them with no separator: runs of
    lines that are not ASCII whitespace only, joined with newlines."""
    docs, cur = [], []
    for line in open(path, encoding="utf-8", newline="\n").read().split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        if line.strip(" \t\n\r\v\f") == "":
            if cur:
                docs.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    if cur:
        docs.append("\n".join(cur))
    return docs


def hf_train(docs, vocab_size, min_frequency):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                             special_tokens=SPECIALS, show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(docs, tr)
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return model["vocab"], merges


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make_tokenizer_fixture.py TOKENIZER.json CORPUS.txt OUT.json")
    tok_path, corpus_path, out_path = sys.argv[1:]
    ours = json.load(open(tok_path, encoding="utf-8"))
    tok = Tokenizer.from_file(tok_path)  # must load as zeropt wrote it
    assert tok.get_vocab_size() == len(ours["model"]["vocab"])
    assert tok.encode_special_tokens is False  # HF's default

    cases = []
    for text in CASES + fuzz_cases(120):
        tok.encode_special_tokens = False
        ids = tok.encode(text).ids
        tok.encode_special_tokens = True
        as_text = tok.encode(text).ids
        cases.append({"text": text, "ids": ids, "ids_special_as_text": as_text,
                      "decoded": tok.decode(ids, skip_special_tokens=False)})

    vocab_size = len(ours["model"]["vocab"])
    vocab, merges = hf_train(blank_line_docs(corpus_path), vocab_size, 2)
    same = vocab == ours["model"]["vocab"] and merges == ours["model"]["merges"]
    print(f"tokenizers {tokenizers.__version__}: from_file ok, {len(cases)} cases; "
          f"HF BpeTrainer on the corpus {'matches' if same else 'DIFFERS FROM'} {tok_path}")
    fixture = {
        "tokenizers_version": tokenizers.__version__,
        "tokenizer": tok_path,
        "corpus": corpus_path,
        "from_file_ok": True,
        "ids": "encode_special_tokens = False (HF's default)",
        "ids_special_as_text": "encode_special_tokens = True",
        "vocab_size": tok.get_vocab_size(),
        "cases": cases,
        "hf_trainer": {"vocab_size": vocab_size, "min_frequency": 2,
                       "separator": "blank lines", "vocab": vocab, "merges": merges},
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
