#!/usr/bin/env bash
# `zeropt model`: parameter counts of the ladder and the JSON layout.
. "$(dirname "$0")/../lib/lib.sh"
plan 8
json() { "$ZEROPT" model -c "$1" --json; }
count() { json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])'; }

# BERT miniatures and BERT-large as in Turc et al. / HF (MLM heads included)
for c in "tiny 4416698" "mini 11201594" "small 28795194" "base 109514298" "large 335174458"; do
    set -- $c
    got=$(count configs/model/$1.ini)
    [ "$got" = "$2" ] && ok "params $1 = $2" || notok "params $1: $got, want $2"
done
got=$(count configs/model/xl.ini); [ "$got" -gt 1200000000 ] && [ "$got" -lt 1400000000 ] && ok "xl is ~1.3B ($got)" || notok "xl: $got"
got=$(count configs/model/xxl.ini); [ "$got" -gt 10500000000 ] && [ "$got" -lt 11500000000 ] && ok "xxl is ~11B ($got)" || notok "xxl: $got"

# JSON: units sum to params, names unique, padding honours --ranks
json configs/model/base.ini >"$TMP/base.json"
"$ZEROPT" model -c configs/model/base.ini --json --ranks 8 >"$TMP/base8.json"
python3 - "$TMP/base.json" "$TMP/base8.json" <<'PY' && ok "json layout consistent" || notok "json layout consistent"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert sum(u["numel"] for u in a["units"]) == a["params"]
names = [t["name"] for u in a["units"] for t in u["tensors"]]
assert len(names) == len(set(names)) and "blocks.03.attn.qkv.weight" in names
for u in a["units"]:
    off = 0
    for t in u["tensors"]:
        assert t["offset"] == off; off += t["numel"]
    assert off == u["numel"]
assert all(u["padded"] % (8 * 16) == 0 and u["padded"] >= u["numel"] for u in b["units"])
assert len(a["units"]) == 14 and a["units"][0]["name"] == "embed" and a["units"][-1]["name"] == "head"
PY
