#!/usr/bin/env bash
# Convergence parity with PyTorch: zeropt replays the initial weights and the
# masked batches of tests/fixtures/parity_{mlm,clm}.h5 (made by
# tests/ref/train_parity.py) and its per-step loss must stay within 1 % of
# PyTorch's at every step and within 0.5 % at the end.
. "$(dirname "$0")/lib.sh"
for o in mlm clm; do
    fix=tests/fixtures/parity_$o.h5
    if ! "$ZEROPT" train -c tests/fixtures/parity_$o.ini train.replay=$fix run.dir="$TMP/$o" \
        >"$TMP/$o.log" 2>&1; then
        notok "parity $o: zeropt train failed: $(tail -2 "$TMP/$o.log" | tr '\n' '|')"
        continue
    fi
    res=$($PY - "$TMP/$o/metrics.jsonl" "$fix" <<'PY'
import json, sys, h5py, numpy as np
z = np.array([r["loss"] for r in map(json.loads, open(sys.argv[1])) if "loss" in r])
t = h5py.File(sys.argv[2], "r")["torch_loss"][:]
assert len(z) == len(t), (len(z), len(t))
r = np.abs(z - t) / t
ok = r.max() < 0.01 and r[-1] < 0.005 and z[-1] < z[0] - 1.0
print(("ok" if ok else "bad"), f"{len(z)} steps, max rel diff {r.max():.2e} (step {r.argmax() + 1}), "
      f"final {r[-1]:.2e}; loss {z[0]:.3f} -> {z[-1]:.4f} (torch {t[-1]:.4f})")
PY
)
    case "$res" in
    ok*) ok "parity $o with PyTorch  # ${res#ok }" ;;
    *) notok "parity $o with PyTorch: $res" ;;
    esac
done
