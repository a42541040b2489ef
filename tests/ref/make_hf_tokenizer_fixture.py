#!/usr/bin/env python3
"""HF tokenizer parity fixture: real multilingual documents, four tokenizers
trained by Hugging Face `tokenizers`, and HF's ids for every document
(developer-run, in ~/venv-ref with `tokenizers`):

    ~/venv-ref/bin/python tests/ref/make_hf_tokenizer_fixture.py tests/fixtures

Documents: the translated messages of the gettext catalogues in
/usr/share/locale (real human translations in ~100 languages: accents,
Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, CJK, Korean), grouped a
few messages to a document, and English from /usr/share/doc changelogs; one
document in ten gets a real emoji sequence (ZWJ families, skin tones, flags)
and one in twenty a very long word (over 100 characters) inserted at a random
place. Written to hf_tok_docs.jsonl.gz, one {"text": ...} per line.

Tokenizers (trained here on those documents, HF's defaults otherwise):
  hf_tok_bert_uncased.json  BertWordPieceTokenizer(lowercase=True), 6000
  hf_tok_bert_cased.json    BertWordPieceTokenizer(lowercase=False), 6000
  hf_tok_bert_uncased_vocab/vocab.txt  the uncased vocabulary as BERT's vocab.txt
  hf_tok_gpt2.json          ByteLevelBPETokenizer(), 4000, <|endoftext|>
  hf_tok_roberta.json       ByteLevelBPETokenizer(add_prefix_space=True,
                            trim_offsets=True), 4000, RoBERTa's specials and
                            its RobertaProcessing post-processor

hf_tok_ref.jsonl.gz: for each document and tokenizer, HF's encode(text,
add_special_tokens=False): the count of ids and their FNV-1a 32 hash (ids as
little-endian uint32), the full ids for the first 50 documents, and the
FNV-1a 32 of decode(ids, skip_special_tokens=False). test_tokenizer.c checks
zeropt against all of it.
"""
import gettext
import glob
import gzip
import json
import os
import random
import struct
import sys

import tokenizers
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer, Tokenizer, processors

NDOCS = 12000
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "❤️", "🧪", "🫨", "👩🏿‍💻", "🏳️‍🌈", "✨", "🤖", "☕",
         "🎉🎉🎉", "😂😂", "🙏", "🔥", "💯", "🥲", "🧑‍🤝‍🧑"]
LONG = ["pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaft",
        "supercalifragilisticexpialidocious", "Rindfleischetikettierungsüberwachungsaufgaben",
        "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"]
SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def fnv(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def catalogue_docs(rng):
    per_lang = {}
    for path in sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo")):
        lang = path.split("/")[4]
        if lang.startswith("en"):
            continue
        try:
            with open(path, "rb") as f:
                cat = gettext.GNUTranslations(f)._catalog
        except Exception:
            continue
        msgs = []
        for k, v in sorted(cat.items(), key=lambda kv: str(kv[0])):
            if k and isinstance(v, str) and v.strip():
                msgs.append(v)
        per_lang.setdefault(lang, []).extend(msgs)
    docs = []
    for lang in sorted(per_lang):
        msgs = per_lang[lang]
        i = 0
        while i < len(msgs) and len(docs) < 10 ** 6:
            k = rng.randint(2, 8)
            docs.append((lang, "\n".join(msgs[i:i + k])))
            i += k
    return docs


def english_docs(rng, n):
    docs = []
    for path in sorted(glob.glob("/usr/share/doc/*/changelog*.gz"))[:400]:
        try:
            text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read(20000)
        except Exception:
            continue
        for para in text.split("\n\n"):
            if 40 < len(para) < 2000:
                docs.append(("en", para))
    rng.shuffle(docs)
    return docs[:n]


def make_docs():
    rng = random.Random(12)
    cat = catalogue_docs(rng)
    langs = sorted({l for l, _ in cat})
    by = {l: [d for ll, d in cat if ll == l] for l in langs}
    docs = []
    quota = max(1, (NDOCS * 8 // 10) // len(langs))
    for l in langs:  # every language, up to its share
        pick = by[l][:]
        rng.shuffle(pick)
        docs.extend(pick[:quota])
    rest = [d for _, d in cat]
    rng.shuffle(rest)
    docs.extend(rest[:max(0, NDOCS * 8 // 10 - len(docs))])
    docs.extend(d for _, d in english_docs(rng, NDOCS - len(docs)))
    out = []
    for d in docs[:NDOCS]:
        if rng.random() < 0.1:
            p = rng.randint(0, len(d))
            d = d[:p] + " " + rng.choice(EMOJI) + rng.choice(["", " ", "!"]) + d[p:]
        if rng.random() < 0.05:
            p = rng.randint(0, len(d))
            w = "".join(rng.choice(LONG) for _ in range(rng.randint(2, 4)))
            d = d[:p] + " " + w + " " + d[p:]
        out.append(d)
    rng.shuffle(out)
    return out


def main(out):
    docs = make_docs()
    with gzip.open(os.path.join(out, "hf_tok_docs.jsonl.gz"), "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
    toks = {}
    for name, lower in (("bert_uncased", True), ("bert_cased", False)):
        t = BertWordPieceTokenizer(lowercase=lower)
        t.train_from_iterator(docs, vocab_size=6000, special_tokens=SPECIALS_BERT)
        path = os.path.join(out, "hf_tok_%s.json" % name)
        t.save(path)
        toks[name] = Tokenizer.from_file(path)
    vdir = os.path.join(out, "hf_tok_bert_uncased_vocab")
    os.makedirs(vdir, exist_ok=True)
    vocab = toks["bert_uncased"].get_vocab()
    with open(os.path.join(vdir, "vocab.txt"), "w", encoding="utf-8") as f:
        for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            f.write(tok + "\n")
    g = ByteLevelBPETokenizer()
    g.train_from_iterator(docs, vocab_size=4000, special_tokens=["<|endoftext|>"])
    g.save(os.path.join(out, "hf_tok_gpt2.json"))
    toks["gpt2"] = Tokenizer.from_file(os.path.join(out, "hf_tok_gpt2.json"))
    r = ByteLevelBPETokenizer(add_prefix_space=True, trim_offsets=True)
    r.train_from_iterator(docs, vocab_size=4000,
                          special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    r._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    r.save(os.path.join(out, "hf_tok_roberta.json"))
    toks["roberta"] = Tokenizer.from_file(os.path.join(out, "hf_tok_roberta.json"))
    with gzip.open(os.path.join(out, "hf_tok_ref.jsonl.gz"), "wt", encoding="utf-8") as f:
        for i, d in enumerate(docs):
            rec = {}
            for name, t in toks.items():
                ids = t.encode(d, add_special_tokens=False).ids
                text = t.decode(ids, skip_special_tokens=False)
                rec[name] = [len(ids), fnv(struct.pack("<%dI" % len(ids), *ids)),
                             fnv(text.encode("utf-8"))]
                if i < 50:
                    rec[name].append(ids)
            f.write(json.dumps(rec) + "\n")
    print("tokenizers", tokenizers.__version__, "docs", len(docs), "->", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
