#!/usr/bin/env bash
# train_rounds.sh - bench/train.sh repeated, for a shared machine whose
# speed moves between runs: each round measures every peer once, the
# ratios are taken within a round (peers minutes apart, not hours), and
# the report gives each round's ratios and their medians.
#
# Run from anywhere:  bench/train_rounds.sh [ROUNDS]   (default 3)
#
# Environment: as bench/train.sh (MODEL, LAYERS, HIDDEN, THREADS, ...);
# LN defaults to 0 here (the LayerNorm pair doubles a round's time).
#
# Writes bench/out/train-round-K.json (train.sh's train.json of round K)
# and bench/out/train_rounds.json:
#   {"rounds":[{"round","rnnlab","onednn","torch","vs_onednn","vs_torch",
#     "of_fma_peak"},...],"median":{"vs_onednn","vs_torch","rnnlab"}}
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${1:-3}"
case "$ROUNDS" in
    ''|*[!0-9]*|0) echo "train_rounds.sh: ROUNDS must be a positive integer, not '$ROUNDS'" >&2
                   exit 1 ;;
esac
OUT="$ROOT/bench/out"
mkdir -p "$OUT"
export LN="${LN:-0}"

for k in $(seq 1 "$ROUNDS"); do
    echo "== round $k of $ROUNDS" >&2
    rm -f "$OUT/train.json"
    bench/train.sh > "$OUT/train-round-$k.txt"
    if [ ! -s "$OUT/train.json" ]; then
        echo "train_rounds.sh: round $k wrote no bench/out/train.json" >&2
        exit 1
    fi
    cp "$OUT/train.json" "$OUT/train-round-$k.json"
done

/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PYEOF'
import json, statistics, sys

out, n = sys.argv[1], int(sys.argv[2])
rows = []
for k in range(1, n + 1):
    with open("%s/train-round-%d.json" % (out, k)) as f:
        d = json.load(f)
    r = d["rnnlab"]["tokens_per_s"]
    t = d["torch"]["best"]["tokens_per_s"] if d.get("torch") else None
    o = d["onednn"]["best"]["tokens_per_s"] if d.get("onednn") else None
    peak = d["fma_peak"]["gflops_n"] if d.get("fma_peak") else None
    rows.append({"round": k, "rnnlab": r, "onednn": o, "torch": t,
                 "vs_onednn": r / o if o else None,
                 "vs_torch": r / t if t else None,
                 "of_fma_peak": d["rnnlab"]["gflops"] / peak if peak else None})

def med(key):
    v = [x[key] for x in rows if x[key] is not None]
    return statistics.median(v) if v else None

def fmt(x, f):
    return "-" if x is None else f % x

summary = {"rounds": rows,
           "median": {"rnnlab": med("rnnlab"), "vs_onednn": med("vs_onednn"),
                      "vs_torch": med("vs_torch")}}
with open(out + "/train_rounds.json", "w") as f:
    json.dump(summary, f, indent=1)
print("| round | rnnlab tok/s | of FMA peak | oneDNN | PyTorch | rnnlab/oneDNN | rnnlab/PyTorch |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for x in rows:
    print("| %d | %s | %s | %s | %s | %s | %s |" % (
        x["round"], fmt(x["rnnlab"], "%.0f"), fmt(x["of_fma_peak"], "%.3f"),
        fmt(x["onednn"], "%.0f"), fmt(x["torch"], "%.0f"),
        fmt(x["vs_onednn"], "%.3f"), fmt(x["vs_torch"], "%.2f")))
m = summary["median"]
print("| median | %s | | | | %s | %s |" % (fmt(m["rnnlab"], "%.0f"),
      fmt(m["vs_onednn"], "%.3f"), fmt(m["vs_torch"], "%.2f")))
PYEOF
