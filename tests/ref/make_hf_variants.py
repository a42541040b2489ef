#!/usr/bin/env python3
"""Variants of tests/fixtures/hf_bert as published models ship them
(developer-run, in ~/venv-ref with torch + transformers + safetensors):

    ~/venv-ref/bin/python tests/ref/make_hf_variants.py tests/fixtures

  hf_bert_headless/   BertModel.save_pretrained: the encoder and a pooler, no
                      cls.predictions.* (as sentence-embedding models ship)
  hf_bert_gammabeta/  the original bert-base-uncased naming: LayerNorm.gamma /
                      LayerNorm.beta (transformers renames them on load; the
                      script checks it gives hf_bert's logits)
  hf_bert_sharded/    save_pretrained(max_shard_size="12KB"): shards and
                      model.safetensors.index.json
  hf_gpt2_headless/, hf_gpt2_sharded/, hf_roberta_headless/, hf_roberta_sharded/:
                      GPT-2 (GPT2Model: no prefix, no head) and RoBERTa (RobertaModel
                      with its pooler) the same ways (hf_roberta_tok comes from
                      make_hf_use_fixture.py: run that first)
tests/cli/test_hf.sh imports each: the gamma/beta and sharded ones must give
hf_bert's logits, the headless one hf_bert's encoder tensor for tensor.
"""
import os
import shutil
import sys

import h5py
import torch
import transformers as tf
from safetensors.torch import load_file, save_file


def main(out):
    src = os.path.join(out, "hf_bert")
    mlm = tf.BertForMaskedLM.from_pretrained(src).eval()
    tokens = torch.tensor(h5py.File(os.path.join(out, "hf_logits.h5"), "r")["tokens"][()]).long()
    want = h5py.File(os.path.join(out, "hf_logits.h5"), "r")["bert_logits"][()]
    d = os.path.join(out, "hf_bert_headless")
    torch.manual_seed(9)  # BertModel as published: the encoder with its pooler
    base = tf.BertModel(mlm.config).eval()
    missing = base.load_state_dict(mlm.bert.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["pooler.dense.bias", "pooler.dense.weight"], missing
    with torch.no_grad():
        base.pooler.dense.bias.normal_(0, 0.05)
    base.save_pretrained(d, safe_serialization=True)
    d = os.path.join(out, "hf_bert_gammabeta")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), d)
    t = load_file(os.path.join(src, "model.safetensors"))
    t = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
         for k, v in t.items()}
    save_file(t, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    back = tf.BertForMaskedLM.from_pretrained(d).eval()
    with torch.no_grad():
        got = back(input_ids=tokens).logits.numpy()
    assert abs(got - want).max() < 1e-5, "transformers does not read gamma/beta as expected"
    d = os.path.join(out, "hf_bert_sharded")
    mlm.save_pretrained(d, safe_serialization=True, max_shard_size="12KB")
    # GPT-2 and RoBERTa the same ways: GPT2Model (no prefix, no lm_head), sharded;
    # RobertaModel (with its pooler), sharded
    gpt2 = tf.GPT2LMHeadModel.from_pretrained(os.path.join(out, "hf_gpt2")).eval()
    gpt2.transformer.save_pretrained(os.path.join(out, "hf_gpt2_headless"), safe_serialization=True)
    gpt2.save_pretrained(os.path.join(out, "hf_gpt2_sharded"), safe_serialization=True, max_shard_size="12KB")
    rob = tf.RobertaForMaskedLM.from_pretrained(os.path.join(out, "hf_roberta_tok")).eval()
    torch.manual_seed(10)
    rbase = tf.RobertaModel(rob.config).eval()
    missing = rbase.load_state_dict(rob.roberta.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["pooler.dense.bias", "pooler.dense.weight"], missing
    rbase.save_pretrained(os.path.join(out, "hf_roberta_headless"), safe_serialization=True)
    rob.save_pretrained(os.path.join(out, "hf_roberta_sharded"), safe_serialization=True, max_shard_size="200KB")
    for sub in ("hf_bert_headless", "hf_bert_sharded", "hf_gpt2_headless", "hf_gpt2_sharded",
                "hf_roberta_headless", "hf_roberta_sharded"):
        p = os.path.join(out, sub, "generation_config.json")
        if os.path.exists(p):
            os.remove(p)
    print("wrote variants of", src, "with", len(os.listdir(d)), "files in hf_bert_sharded")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
