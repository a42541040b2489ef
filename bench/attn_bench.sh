#!/usr/bin/env bash
# bench/attn_bench.sh — sliding-window against full attention (bench/attn_bench.c)
# at T = 1024, 2048, 4096 with w = 256: time of the kernels' forward +
# backward and the bytes they keep. Writes bench/results/attention-<stamp>.jsonl
# and a table in bench/RESULTS.md (the anchor: full attention in the same run).
#   bash bench/attn_bench.sh      (make bench-attention; about a minute)
set -eu
. bench/lib.sh
THREADS=${THREADS:-2}
W=${W:-256}
bench_threads "$THREADS"
core=$("$BUILD/zeropt" blas | sed -n 's/^core *//p' | head -1)
out=bench/results/attention-$stamp.jsonl
"$BUILD/bench/attn_bench" "$THREADS" "$W" | tee "$out" >/dev/null
python3 - "$out" "$stamp" "$(nproc --all) cores, $cpu, BLAS core ${core:-?}" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
w = rows[0]["window"]
lines = [f"\n### {sys.argv[2]} — sliding-window vs full attention, kernels' forward + backward ({rows[0]['threads']} threads) — {sys.argv[3]}\n",
         f"B = 1, {rows[0]['heads']} heads of {rows[0]['head_dim']}, w = {w}, no global tokens; median of 3. "
         "Bytes: saved probabilities + scratch. Target: speed-up ≥ 0.5·T/w, window bytes ∝ T·w.\n",
         "| T | mask | full s | window s | speed-up | 0.5·T/w | full MB | window MB | window bytes / (T·w) |",
         "|---|---|---|---|---|---|---|---|---|"]
for T in sorted({r["T"] for r in rows}):
    for causal in (0, 1):
        f = next(r for r in rows if r["T"] == T and r["causal"] == causal and r["kernel"] == "full")
        g = next(r for r in rows if r["T"] == T and r["causal"] == causal and r["kernel"] == "window")
        lines.append(f"| {T} | {'causal' if causal else 'bidirectional'} | {f['fwd_bwd_s']:.3f} | {g['fwd_bwd_s']:.4f} | "
                     f"{f['fwd_bwd_s'] / g['fwd_bwd_s']:.1f}× | {0.5 * T / w:.0f} | {f['bytes'] / 1e6:.1f} | "
                     f"{g['bytes'] / 1e6:.2f} | {g['bytes'] / (T * w):.1f} |")
open("bench/RESULTS.md", "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
