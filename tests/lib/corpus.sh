# tests/cli/corpus.sh — sourced by tests that need a real corpus: trains a
# small BPE vocabulary and prepares an HDF5 corpus from fortune files (the
# demo text, Debian's fortunes packages) into $TMP/corpus.h5.
make_corpus() { # vocab_size
    local src=/usr/share/games/fortunes
    local inputs=()
    for f in "$src"/fortunes "$src"/wisdom "$src"/science "$src"/computers; do
        [ -f "$f" ] && inputs+=(--input "$f")
    done
    if [ ${#inputs[@]} -eq 0 ]; then
        echo "not ok - no fortune files in $src (make deps installs fortunes)"
        return 1
    fi
    "$ZEROPT" tokenizer train "${inputs[@]}" --separator % --vocab-size "$1" \
        --output "$TMP/tokenizer.json" >"$TMP/tok.log" 2>&1 &&
        "$ZEROPT" prep --tokenizer "$TMP/tokenizer.json" "${inputs[@]}" --separator % \
            --val-fraction 0.05 --output "$TMP/corpus.h5" >"$TMP/prep.log" 2>&1 || {
        echo "not ok - corpus preparation failed: $(tail -2 "$TMP/tok.log" "$TMP/prep.log" | tr '\n' '|')"
        return 1
    }
}
