#!/usr/bin/env bash
# Impossible configs are refused with one line naming the key and the value.
. "$(dirname "$0")/../lib/lib.sh"
plan 29
good=configs/model/tiny.ini
m="$ZEROPT model -c"

expect_error "heads not dividing width" "heads = 5" "width = 128" -- $m $good model.heads=5
expect_error "zero layers" "layers = 0" -- $m $good model.layers=0
expect_error "vocab 0" "vocab_size = 0" -- $m $good model.vocab_size=0
expect_error "negative width" "width = -4" -- $m $good model.width=-4
expect_error "negative ffn" "ffn = -1" -- $m $good model.ffn=-1
expect_error "dropout of 1" "dropout = 1" -- $m $good model.dropout=1
expect_error "not an integer" "layers = two" "not an integer" -- $m $good model.layers=two
expect_error "bad choice" "norm = middle" "post|pre" -- $m $good model.norm=middle
expect_error "unknown key on the command line" "unknown key" "colour = blue" -- $m $good model.colour=blue
expect_error "override without section" "layers=3" -- $m $good layers=3
expect_error "precision fp16" "precision = fp16" "fp32|bf16" -- $m $good train.precision=fp16
expect_error "bf16 products in an fp32 run" "bf16_matmul = on needs precision = bf16" -- $m $good train.bf16_matmul=on
expect_error "encoded states for an adafactor without momentum" "states = 8bit" \
    "adafactor without momentum (adafactor_beta1 = 0) keeps no m" -- $m $good optim.name=adafactor optim.states=8bit
expect_error "reduce dtype" "reduce_dtype = int8" "fp32|bf16" -- $m $good zero.reduce_dtype=int8
expect_error "unknown position scheme" "positions = xpos" "t5|rope|alibi" -- $m $good model.positions=xpos
expect_error "rope with an odd head dimension" "positions = rope needs an even head dimension" "width / heads = 5" -- $m $good model.positions=rope model.width=20 model.heads=4
expect_error "t5 with one bucket" "t5_buckets = 1" -- $m $good model.positions=t5 model.t5_buckets=1
expect_error "unknown init" "init = xavier" "normal|scaled|depth|deepnorm" -- $m $good model.init=xavier
expect_error "deepnorm on a pre-LN model" "init = deepnorm" "needs norm = post" -- $m $good model.init=deepnorm model.norm=pre
expect_error "window of 0" "window = 0" "must be in [1," -- $m $good model.attention=window model.window=0
expect_error "rope base below 1" "rope_base = 0.5" -- $m $good model.positions=rope model.rope_base=0.5

printf '[model]\nlayers = 2\ncolour = blue\n' >"$TMP/unknown.ini"
expect_error "unknown key in a file" "$TMP/unknown.ini" "unknown key [model] colour = blue" -- $m "$TMP/unknown.ini"
printf '[modle]\nlayers = 2\n' >"$TMP/section.ini"
expect_error "unknown section" "unknown section [modle]" -- $m "$TMP/section.ini"
printf '[model]\nheads = 5\n' >"$TMP/heads.ini"
expect_error "heads in a file" "$TMP/heads.ini" "heads = 5" "width = 768" -- $m "$TMP/heads.ini"
printf '[model\nlayers = 2\n' >"$TMP/syntax.ini"
expect_error "INI syntax" "$TMP/syntax.ini" "line 1" -- $m "$TMP/syntax.ini"
printf 'layers = 2\n[model]\n' >"$TMP/nosection.ini"
expect_error "key outside a section" "$TMP/nosection.ini" "line 1" -- $m "$TMP/nosection.ini"
expect_error "missing file" "$TMP/nope.ini" "cannot open" -- $m "$TMP/nope.ini"

# a good config works, overrides apply, and the resolved config is printed
out=$("$ZEROPT" model -c $good model.layers=3 2>&1)
if echo "$out" | grep -q '^layers = 3$' && echo "$out" | grep -q '^ffn = 512$'; then
    ok "override applied and resolved config printed"
else
    notok "override applied and resolved config printed: $(echo "$out" | head -5 | tr '\n' '|')"
fi
# include: a file that includes another and overrides one key
printf 'include = %s\n[model]\nlayers = 5\n' "$PWD/$good" >"$TMP/inc.ini"
if "$ZEROPT" model -c "$TMP/inc.ini" | grep -q '^layers = 5$'; then ok "include then override"; else notok "include then override"; fi
