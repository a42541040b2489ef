#!/usr/bin/env bash
# `zeropt tokenizer train|encode|decode`: training from text files (blank
# lines, separator lines, JSONL), the encode/decode round trip, and bad input
# refused with one line and a non-zero exit.
. "$(dirname "$0")/../lib/lib.sh"
plan 31
corpus=tests/fixtures/tokenizer_corpus.txt
tok="$TMP/tok.json"
Z="$ZEROPT tokenizer"

out=$($Z train --input $corpus --vocab-size 600 --output "$tok" 2>&1)
if [ $? -eq 0 ] && [ -s "$tok" ] && grep -q "read 122 documents" <<<"$out" &&
    grep -q "vocabulary of 600 tokens" <<<"$out"; then
    ok "train 600 tokens from a text file  # $(tail -n 1 <<<"$out")"
else
    notok "train 600 tokens: $(tr '\n' '|' <<<"$out")"
fi

$Z train --input $corpus --vocab-size 1000 --output "$TMP/t1000.json" >/dev/null &&
    cmp -s "$TMP/t1000.json" tests/fixtures/tokenizer_small.json &&
    ok "CLI training reproduces tests/fixtures/tokenizer_small.json" ||
    notok "CLI training differs from tests/fixtures/tokenizer_small.json"

# WordPiece: a BERT vocabulary from the same text (uncased by default), used
# at once by encode; --cased keeps upper case
out=$($Z train --model wordpiece --input $corpus --vocab-size 800 --output "$TMP/wp.json" 2>&1)
w=$($Z encode --tokenizer "$TMP/wp.json" --tokens --text "Tokenizers Tokenize" 2>&1)
grep -q "vocabulary of 800 tokens" <<<"$out" && grep -q '"type": "WordPiece"' "$TMP/wp.json" &&
    [ -n "$w" ] && ! grep -q "[A-Z]" <<<"$w" &&
    ok "train --model wordpiece: an uncased BERT vocabulary  # $(tr '\n' ' ' <<<"$w")" ||
    notok "wordpiece training: $(tr '\n' '|' <<<"$out") / $w"
$Z train --model wordpiece --cased --input $corpus --vocab-size 800 --output "$TMP/wpc.json" >/dev/null 2>&1 &&
    grep -q '"lowercase": false' "$TMP/wpc.json" && ok "train --model wordpiece --cased keeps case" ||
    notok "wordpiece --cased"
expect_error "train --model unknown" "not bpe or wordpiece" -- \
    $Z train --model unigram --input $corpus --vocab-size 800 --output "$TMP/x.json"

printf 'first fortune\r\n%%\r\nsecond\nfortune\n%%\n%%\n' >"$TMP/f1"
printf 'third\n%%\nfourth, no final newline' >"$TMP/f2"
out=$($Z train --input "$TMP/f1" --input "$TMP/f2" --separator % --vocab-size 300 \
    --min-frequency 1 --output "$TMP/f.json" 2>&1)
grep -q "read 4 documents.*from 2 files.*skipped 1 empty" <<<"$out" &&
    ok "separator %, two inputs  # $(head -n 1 <<<"$out")" || notok "separator %: $out"

printf '{"text": "one doc"}\nnot json\n{"text": 3}\n{"text": "two docs"}\n' >"$TMP/d.jsonl"
out=$($Z train --input "$TMP/d.jsonl" --format jsonl --vocab-size 270 --output "$TMP/j.json" 2>&1)
grep -q "read 2 documents.*2 bad JSON lines" <<<"$out" && ok "JSONL input" || notok "JSONL: $out"

# gzip input (prep reads it through zlib): the same corpus as the plain file;
# a truncated .gz keeps the documents before the cut, counted, one warning line
sci=/usr/share/games/fortunes/science
gzip -c $sci >"$TMP/sci.gz" && head -c 30000 "$TMP/sci.gz" >"$TMP/cut.gz"
"$ZEROPT" prep --tokenizer "$tok" --input $sci --separator % --output "$TMP/plain.h5" >/dev/null 2>&1 &&
    "$ZEROPT" prep --tokenizer "$tok" --input "$TMP/sci.gz" --separator % --output "$TMP/gz.h5" >/dev/null 2>&1 &&
    $PY -c "import h5py, sys; a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2]); sys.exit(not all((a[k][()] == b[k][()]).all() for k in ('tokens', 'doc_offsets')))" "$TMP/plain.h5" "$TMP/gz.h5" &&
    ok "prep reads gzip: the same tokens as the plain file" || notok "prep of a .gz differs from the plain file"
out=$("$ZEROPT" prep --tokenizer "$tok" --input "$TMP/cut.gz" --separator % --output "$TMP/cut.h5" 2>"$TMP/err")
rc=$?
[ $rc = 0 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "cut.gz: unexpected end of file" "$TMP/err" &&
    grep -q "1 truncated gzip file" <<<"$out" && grep -q "documents kept" <<<"$out" &&
    ok "a truncated .gz: its documents before the cut kept, counted, one warning  # $(cat "$TMP/err")" ||
    notok "truncated gzip: rc $rc, $(tr '\n' '|' <"$TMP/err") $(tr '\n' '|' <<<"$out")"

text=$'Hello, world! Don\'t panic:  42\ttabs and\nnewlines, café 中文 😀  '
ids=$($Z encode --tokenizer "$tok" --text "$text")
back=$($Z decode --tokenizer "$tok" $ids)
[ -n "$ids" ] && [ "$back" = "$text" ] && ok "encode --text / decode IDs round trip  # $ids" ||
    notok "round trip: [$back] from [$ids]"

$Z encode --tokenizer "$tok" <$corpus >"$TMP/ids" &&
    $Z decode --tokenizer "$tok" <"$TMP/ids" >"$TMP/back" && cmp -s $corpus "$TMP/back" &&
    [ "$(wc -l <"$TMP/ids")" -eq 1 ] &&
    ok "stdin encode / decode round trip, byte for byte  # $(wc -w <"$TMP/ids") ids" ||
    notok "stdin round trip differs"

toks=$($Z encode --tokenizer "$tok" --text "the License" --tokens)
[ "$toks" = "the ĠLicense" ] && ok "--tokens  # $toks" || notok "--tokens: $toks"
[ "$($Z encode --tokenizer "$tok" --text "")" = "" ] && ok "empty text, empty line" ||
    notok "empty text"

# special-token strings in the text: their ids by default (HF's), text on request
ids=$($Z encode --tokenizer "$tok" --text "one[SEP]two<|endoftext|>")
txt=$($Z encode --tokenizer "$tok" --text "one[SEP]two<|endoftext|>" --special-tokens-as-text)
[[ " $ids " == *" 3 "* ]] && [[ " $ids " == *" 5 " ]] && [ "$($Z decode --tokenizer "$tok" $ids)" = "one[SEP]two<|endoftext|>" ] &&
    ok "special tokens in the text become their ids (HF's default)  # $ids" || notok "special tokens matched: $ids"
[[ " $txt " != *" 3 "* ]] && [[ " $txt " != *" 5 "* ]] && [ "$($Z decode --tokenizer "$tok" $txt)" = "one[SEP]two<|endoftext|>" ] &&
    ok "--special-tokens-as-text encodes them as text  # $txt" || notok "--special-tokens-as-text: $txt"

# BERT's WordPiece, as a tokenizer.json and as a plain vocab.txt (ids and
# tokens as HF tokenizers gives them, tests/unit/test_hf_tokenizers.c has the
# 12,000-document comparison); prep, training and eval --show on its corpus
wp=tests/fixtures/hf_tok_bert_uncased.json
vt=tests/fixtures/hf_tok_bert_uncased_vocab/vocab.txt
toks=$($Z encode --tokenizer $vt --text "Héllo, Wörld! 中文 [MASK]" --tokens)
ids=$($Z encode --tokenizer $wp --text "Héllo, Wörld! 中文 [MASK]")
[ "$toks" = "hel ##lo , wor ##l ##d ! 中 文 [MASK]" ] &&
    [ "$ids" = "2587 2398 16 3768 1019 1032 5 888 929 4" ] &&
    ok "WordPiece encode, tokenizer.json and vocab.txt: HF's tokens and ids  # $toks" ||
    notok "WordPiece encode: [$toks] [$ids]"
back=$($Z decode --tokenizer $vt $ids)
[ "$back" = "hello, world! 中 文 [MASK]" ] && ok "WordPiece decode as HF's decoder  # $back" ||
    notok "WordPiece decode: [$back]"
zcat tests/fixtures/hf_tok_docs.jsonl.gz | head -n 1500 >"$TMP/docs.jsonl"
out=$($ZEROPT prep --tokenizer $wp --input "$TMP/docs.jsonl" --format jsonl --val-fraction 0.1 \
    --output "$TMP/wp.h5" 2>&1 &&
    $ZEROPT train -c configs/train/demo.ini data.path="$TMP/wp.h5" model.vocab_size=6000 \
        train.steps=3 run.dir="$TMP/wprun" 2>&1 &&
    $ZEROPT eval -c configs/train/demo.ini data.path="$TMP/wp.h5" model.vocab_size=6000 \
        run.dir="$TMP/wprun" --model "$TMP/wprun/model.h5" --show 2 2>&1)
h5dump -d /tokenizer/json "$TMP/wp.h5" 2>/dev/null | grep -q 'WordPiece' &&
    grep -q "vocab 6000" <<<"$out" && grep -q "done: 3 of 3 steps" <<<"$out" &&
    grep -q "the model at work on 2 held-out documents" <<<"$out" &&
    ok "prep with a WordPiece tokenizer.json, train and eval --show on its corpus" ||
    notok "WordPiece corpus: $(tail -n 5 <<<"$out" | tr '\n' '|')"

printf 'not json\n' >"$TMP/bad.json"
printf '{"model": {"type": "WordPiece", "vocab": {}}, "pre_tokenizer": {"type": "ByteLevel"}}' \
    >"$TMP/wp.json"
expect_error "missing input file" "$TMP/nope.txt" "cannot open" -- \
    $Z train --input "$TMP/nope.txt" --vocab-size 300 --output "$TMP/x.json"
expect_error "bad tokenizer file" "$TMP/bad.json" "not JSON" -- \
    $Z encode --tokenizer "$TMP/bad.json" --text hi
expect_error "not a BPE tokenizer" "$TMP/wp.json" "WordPiece" -- \
    $Z decode --tokenizer "$TMP/wp.json" 1
expect_error "missing tokenizer file" "$TMP/none.json" "cannot open" -- \
    $Z decode --tokenizer "$TMP/none.json" 1 2
expect_error "vocab size too small" "--vocab-size 100" "262" -- \
    $Z train --input $corpus --vocab-size 100 --output "$TMP/x.json"
expect_error "vocab size not a number" "'ten'" "not an integer" -- \
    $Z train --input $corpus --vocab-size ten --output "$TMP/x.json"
expect_error "unknown flag" "--colour" "usage" -- \
    $Z train --input $corpus --vocab-size 300 --colour blue --output "$TMP/x.json"
expect_error "flag without value" "--output needs a value" -- \
    $Z train --input $corpus --vocab-size 300 --output
expect_error "required flags" "--output are required" -- $Z train --input $corpus
expect_error "bad format" "--format csv" -- \
    $Z train --input $corpus --format csv --vocab-size 300 --output "$TMP/x.json"
expect_error "unwritable output" "cannot write $TMP/no/dir.json" -- \
    $Z train --input $corpus --vocab-size 270 --output "$TMP/no/dir.json"
expect_error "id out of range" "'600'" "0..599" -- $Z decode --tokenizer "$tok" 5 600
expect_error "unknown subcommand" "tokenizer: unknown subcommand 'tokenise'" -- $Z tokenise
