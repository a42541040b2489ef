#!/usr/bin/env bash
# Every command and subcommand answers --help (and -h) with its usage on
# stdout and exit 0, touching nothing; `zeropt --help` lists every command,
# `ckpt logits` included; a command with no arguments where it needs some
# says so in one line.
. "$(dirname "$0")/../lib/lib.sh"
plan 26
Z=$(realpath "$ZEROPT")
helps=("train" "eval" "prep" "model" "plan" "tokenizer" "tokenizer train" "tokenizer encode"
    "tokenizer decode" "ckpt" "ckpt info" "ckpt verify" "ckpt export" "ckpt import" "ckpt logits"
    "blas" "generate" "fill-mask" "embed" "plot" "sweep" "sweep fit" "quality")
for c in "${helps[@]}"; do
    first=${c%% *}
    mkdir -p "$TMP/cwd"
    out=$(cd "$TMP/cwd" && "$Z" $c --help 2>"$TMP/err") && rc=0 || rc=$?
    if [ $rc -eq 0 ] && [[ "$out" == usage:*"zeropt $first"* ]] && [ ! -s "$TMP/err" ] && [ -z "$(ls "$TMP/cwd")" ]; then
        ok "zeropt $c --help  # $(head -n 1 <<<"$out")"
    else
        notok "zeropt $c --help: exit $rc, stdout '$(head -n 2 <<<"$out" | tr '\n' '|')', stderr '$(head -c 200 "$TMP/err")'"
    fi
done
out=$("$ZEROPT" -h)
missing=""
for c in "zeropt train" "zeropt eval" "zeropt prep" "zeropt tokenizer train" "zeropt tokenizer encode" \
    "zeropt tokenizer decode" "zeropt model" "zeropt plan" "zeropt ckpt info" "zeropt ckpt verify" \
    "zeropt ckpt export" "zeropt ckpt import" "zeropt ckpt logits" "zeropt blas" \
    "zeropt generate" "zeropt fill-mask" "zeropt embed" "zeropt plot" "zeropt sweep fit" \
    "zeropt quality train" "zeropt quality predict" "zeropt quality test"; do
    grep -qF "$c" <<<"$out" || missing="$missing [$c]"
done
[ -z "$missing" ] && ok "zeropt -h lists every command" || notok "zeropt -h lacks$missing"
expect_error "zeropt train with nothing" "no config given" -- "$ZEROPT" train
expect_error "zeropt with an unknown command" "unknown command 'trian'" -- "$ZEROPT" trian
