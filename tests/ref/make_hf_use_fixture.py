#!/usr/bin/env python3
"""Fixtures for padded batches and for using a model (developer-run, in
~/venv-ref with torch + transformers + tokenizers + h5py):

    ~/venv-ref/bin/python tests/ref/make_hf_use_fixture.py tests/fixtures

  hf_pad.h5        right-padded batches for tests/fixtures/hf_bert and hf_gpt2:
                   tokens, attention_mask, and transformers' logits and last
                   hidden states with that mask (every position, pads included)
  hf_bert_tok/     a BertForMaskedLM in the vocabulary of hf_tok_bert_uncased.json,
                   saved with its tokenizer by save_pretrained (tokenizer.json,
                   tokenizer_config.json, special_tokens_map.json, ...)
  hf_gpt2_tok/     a GPT2LMHeadModel in the vocabulary of hf_tok_gpt2.json, the same
  hf_roberta_tok/  a RobertaForMaskedLM in the vocabulary of hf_tok_roberta.json (<mask>
                   with lstrip as roberta-base has it); hf_pad.h5 also holds its
                   logits and hidden states for the sentences padded with <pad> (its
                   position ids skip pads, as HF RoBERTa's)
  hf_pad.h5's bert_pooled: BertModel.from_pretrained(hf_bert_headless)'s pooler_output
  hf_use_ref.json  what transformers gives for them: fill-mask top-5 (ids, scores),
                   greedy continuations (ids and text), CLS and mean-pooled
                   L2-normalised embeddings
tests/cli/test_hf.sh and tests/cli/test_use.sh compare zeropt with these.
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np
import tokenizers
import tokenizers.processors
import torch
import transformers as tf

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Das Übersetzungsteam hat die Datei überarbeitet.",
    "Résumé: le café est très bon à Genève.",
    "Packages were rebuilt against the new toolchain; see the changelog for details.",
    "日本語のテキストも正しく処理されます。",
]
FILL = [
    "The quick brown [MASK] jumps over the lazy dog.",
    "Packages were [MASK] against the new [MASK].",
    "[MASK] is the capital of France.",
]
FILL_ROBERTA = [s.replace("[MASK]", "<mask>") for s in FILL]
PROMPTS = [
    "The package was",
    "Translations for the",
    "Hello",
]


def perturb(m):
    with torch.no_grad():  # non-trivial norms and biases so every mapping is exercised
        for n, p in m.named_parameters():
            if "LayerNorm" in n or ".ln_" in n:
                p.add_(0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))


def padded(out):
    """Right-padded batches: lengths 9, 6, 3 of T = 9."""
    bert = tf.BertForMaskedLM.from_pretrained(os.path.join(out, "hf_bert")).eval()
    gpt2 = tf.GPT2LMHeadModel.from_pretrained(os.path.join(out, "hf_gpt2")).eval()
    g = torch.Generator().manual_seed(11)
    B, T, V = 3, 9, bert.config.vocab_size
    tokens = torch.randint(5, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate((9, 6, 3)):
        mask[b, :n] = 1
    tokens = tokens * mask  # pads are token 0 ([PAD] / the pad id)
    with h5py.File(os.path.join(out, "hf_pad.h5"), "w") as f:
        f["tokens"] = tokens.numpy().astype(np.int32)
        f["attention_mask"] = mask.numpy().astype(np.int32)
        with torch.no_grad():
            for name, m in (("bert", bert), ("gpt2", gpt2)):
                o = m(input_ids=tokens, attention_mask=mask, output_hidden_states=True)
                hid = o.hidden_states[-1]
                if name == "gpt2":  # GPT-2's last hidden state is after ln_f
                    hid = m.transformer(input_ids=tokens, attention_mask=mask).last_hidden_state
                f[f"{name}_logits"] = o.logits.numpy().astype(np.float32)
                f[f"{name}_hidden"] = hid.numpy().astype(np.float32)
            headless = tf.BertModel.from_pretrained(os.path.join(out, "hf_bert_headless")).eval()
            f["bert_pooled"] = headless(input_ids=tokens, attention_mask=mask).pooler_output.numpy()


def with_tokenizer(out, kind):
    src = os.path.join(out, "hf_tok_bert_uncased.json" if kind == "bert" else "hf_tok_gpt2.json")
    if kind == "roberta":
        raw = tokenizers.Tokenizer.from_file(os.path.join(out, "hf_tok_roberta.json"))
        raw.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True,
                                                      normalized=False)])
        tok = tf.PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>",
                                         sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                         pad_token="<pad>", mask_token="<mask>")
    elif kind == "bert":
        raw = tokenizers.Tokenizer.from_file(src)  # as published BERTs: [CLS] $A [SEP]
        cls, sep = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
        raw.post_processor = tokenizers.processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
        tok = tf.PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", sep_token="[SEP]",
                                         pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    else:
        tok = tf.PreTrainedTokenizerFast(tokenizer_file=src, bos_token="<|endoftext|>",
                                         eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                         pad_token="<|endoftext|>")
    V = len(tok)
    torch.manual_seed(7 if kind == "bert" else 8)
    if kind == "roberta":
        m = tf.RobertaForMaskedLM(tf.RobertaConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2,
                                                   num_attention_heads=4, intermediate_size=64,
                                                   max_position_embeddings=66, type_vocab_size=1,
                                                   layer_norm_eps=1e-5, pad_token_id=tok.pad_token_id,
                                                   bos_token_id=0, eos_token_id=2)).eval()
    elif kind == "bert":
        m = tf.BertForMaskedLM(tf.BertConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=4, intermediate_size=64,
                                             max_position_embeddings=64, type_vocab_size=2,
                                             pad_token_id=tok.pad_token_id)).eval()
    else:
        m = tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=V, n_positions=64, n_embd=32, n_layer=2,
                                             n_head=4, n_inner=64, bos_token_id=tok.bos_token_id,
                                             eos_token_id=tok.eos_token_id)).eval()
    perturb(m)
    d = os.path.join(out, f"hf_{kind}_tok")
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d, safe_serialization=True)
    tok.save_pretrained(d)
    p = os.path.join(d, "generation_config.json")
    if os.path.exists(p):
        os.remove(p)
    tok = tf.AutoTokenizer.from_pretrained(d)
    ref = {}
    with torch.no_grad():
        if kind in ("bert", "roberta"):
            ref["fill_mask"] = []
            for text in FILL if kind == "bert" else FILL_ROBERTA:
                enc = tok(text, return_tensors="pt")
                logits = m(**enc).logits[0]
                where = (enc["input_ids"][0] == tok.mask_token_id).nonzero()[:, 0]
                masks = []
                for pos in where.tolist():
                    p = logits[pos].softmax(-1)
                    s, i = p.topk(5)
                    masks.append({"position": pos, "ids": i.tolist(), "scores": s.tolist(),
                                  "tokens": tok.convert_ids_to_tokens(i.tolist())})
                ref["fill_mask"].append({"text": text, "ids": enc["input_ids"][0].tolist(),
                                         "masks": masks})
        else:
            ref["generate"] = []
            for text in PROMPTS:
                enc = tok(text, return_tensors="pt")
                g = m.generate(**enc, max_new_tokens=24, do_sample=False,
                               pad_token_id=tok.eos_token_id)
                new = g[0, enc["input_ids"].shape[1]:].tolist()
                ref["generate"].append({"prompt": text, "prompt_ids": enc["input_ids"][0].tolist(),
                                        "new_ids": new, "text": tok.decode(g[0].tolist())})
        enc = tok(SENTENCES, return_tensors="pt", padding=True)
        base = {"bert": getattr(m, "bert", None), "roberta": getattr(m, "roberta", None),
                "gpt2": getattr(m, "transformer", None)}[kind]
        h = base(**{k: v for k, v in enc.items() if k != "token_type_ids" or kind == "bert"})
        h = h.last_hidden_state
        if kind == "roberta":  # a padded batch: logits and hidden states at every position
            with h5py.File(os.path.join(out, "hf_pad.h5"), "a") as f:
                f["roberta_tokens"] = enc["input_ids"].numpy().astype(np.int32)
                f["roberta_attention_mask"] = enc["attention_mask"].numpy().astype(np.int32)
                f["roberta_logits"] = m(**enc).logits[..., :512].numpy().astype(np.float32)  # kept small
                f["roberta_hidden"] = h.numpy().astype(np.float32)
        am = enc["attention_mask"].unsqueeze(-1).float()
        mean = (h * am).sum(1) / am.sum(1)
        emb = {"cls": h[:, 0], "mean": mean}
        ref["embed"] = {"sentences": SENTENCES,
                        "ids": [enc["input_ids"][b][enc["attention_mask"][b] == 1].tolist()
                                for b in range(len(SENTENCES))]}
        for k, e in emb.items():
            ref["embed"][k] = torch.nn.functional.normalize(e, dim=-1).tolist()
    return ref


def main(out):
    padded(out)
    ref = {"transformers": tf.__version__, "torch": torch.__version__}
    for kind in ("bert", "gpt2", "roberta"):
        ref[kind] = with_tokenizer(out, kind)
    with open(os.path.join(out, "hf_use_ref.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
