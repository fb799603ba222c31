#!/usr/bin/env bash
# cuda.sh - the GPU checks and benchmark, in stages that each fit one run on
# the accelerator machine:
#
#   bench/cuda.sh check   parity tests (tests/check_cuda), then the
#                         operation and model-parity cases again under
#                         compute-sanitizer (memcheck)             ~2-4 min
#   bench/cuda.sh bench   training tokens/s of rnnlab against PyTorch's
#                         nn.LSTM (cuDNN): LSTM 2x512, embed 64, T=100,
#                         Adam, batch 32/64/128/256, fp32 and bf16 ~4-6 min
#   bench/cuda.sh val     rnnlab train --device cuda --time 180 on tiny
#                         shakespeare: the validation curve      ~3.5 min
#   bench/cuda.sh all     the three in turn
#
# The programs come from .carry/ when it exists (bench/cuda-pack.sh builds
# it where the libraries are), else from the build tree; LD_LIBRARY_PATH
# gets .carry/lib and the CUDA toolkit's lib64.  Results go to bench/out/
# (cuda.json, val.jsonl, the raw outputs) and a table to stdout.
#
# Environment:
#   RNNLAB_BENCH_CORPUS  corpus (default ../shared/data/tinyshakespeare.txt,
#                        then ./shared/data/, relative to the repository root)
#   PRECISIONS           default "fp32 bf16" ("fp32 tf32 bf16" adds TF32)
#   BATCHES              default "32 64 128 256"
#   STEPS / WARMUP       rnnlab steps and the first ones left out (60 / 10)
#   TORCH_STEPS / TORCH_WARMUP   PyTorch timed / untimed steps (60 / 10)
#   VAL_SECONDS          the validation run's --time (180)
#   VAL_ARGS             its model and optimizer flags (see below)
#   SANITIZE=0           skip compute-sanitizer in the check stage
#   PY                   python with PyTorch (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "cuda.sh: $*" >&2; exit 1; }

CORPUS="${RNNLAB_BENCH_CORPUS:-}"
if [ -z "$CORPUS" ]; then
    CORPUS="$ROOT/../shared/data/tinyshakespeare.txt"
    [ -f "$CORPUS" ] || CORPUS="$ROOT/shared/data/tinyshakespeare.txt"
fi
PRECISIONS="${PRECISIONS:-fp32 bf16}"
BATCHES="${BATCHES:-32 64 128 256}"
STEPS="${STEPS:-60}"
WARMUP="${WARMUP:-10}"
TORCH_STEPS="${TORCH_STEPS:-60}"
TORCH_WARMUP="${TORCH_WARMUP:-10}"
VAL_SECONDS="${VAL_SECONDS:-180}"
VAL_ARGS="${VAL_ARGS:---model lstm --layers 2 --hidden 1024 --embed 64 --dropout 0.3 \
--seq-len 128 --batch 64 --optimizer adam --lr 2e-3 --clip 5 --lr-decay 0.7 \
--lr-decay-every 1500 --eval-every 250 --eval-streams 64 --precision tf32}"
SANITIZE="${SANITIZE:-1}"
PY="${PY:-python3}"
OUT="$ROOT/bench/out"

if [ -d .carry/bin ]; then
    BIN=.carry/bin
    TESTBIN=.carry/bin
else
    BIN=src
    TESTBIN=tests
fi
RNNLAB="${RNNLAB:-$BIN/rnnlab}"
CUDA_LIB="${CUDA_HOME:-/usr/local/cuda}/lib64"
export LD_LIBRARY_PATH="$ROOT/.carry/lib:$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

[ -x "$RNNLAB" ] || die "no $RNNLAB: build with ./bootstrap --with-cuda && make, or run bench/cuda-pack.sh where the libraries are"
[ -f "$CORPUS" ] || die "corpus not found: $CORPUS"
mkdir -p "$OUT"

stage_check() {
    echo "== parity tests ($TESTBIN/check_cuda)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    "$TESTBIN/check_cuda_host"
    # exit 77 (no device) fails this stage: it is meant for a GPU machine
    "$TESTBIN/check_cuda" 2>&1 | tee "$OUT/check_cuda.txt"
    if [ "$SANITIZE" != 0 ]; then
        local cs
        cs="$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")"
        [ -x "$cs" ] || die "compute-sanitizer not found (SANITIZE=0 skips it)"
        for tc in "operations" "model parity"; do
            echo "== compute-sanitizer memcheck: $tc"
            CK_RUN_CASE="$tc" "$cs" --tool memcheck --error-exitcode 3 \
                "$TESTBIN/check_cuda" 2>&1 | tee -a "$OUT/sanitizer.txt"
        done
    fi
}

# rnnlab's rate: tokens over the summed step times after the warm-up.  A
# step's time is its tokens over its tokens_per_s and every step has T*B
# tokens (but an epoch's last), so the rate is the harmonic mean.
rnnlab_rate() {
    "$PY" - "$1" "$WARMUP" <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
steps = [l for l in lines if l.get("tokens_per_s", 0) > 0 and l["step"] > int(sys.argv[2])]
sec = sum(1.0 / l["tokens_per_s"] for l in steps)
print(json.dumps({"steps": len(steps), "tokens_per_s": len(steps) / sec if sec else 0,
                  "last_loss": steps[-1]["loss"] if steps else None}))
PYEOF
}

stage_bench() {
    local results="$OUT/cuda_runs.jsonl" torch_out="$OUT/torch_cuda.jsonl"
    echo "== PyTorch (cuDNN): precisions $PRECISIONS, batches $BATCHES"
    "$PY" bench/torch_cuda.py --precision "$(echo $PRECISIONS | tr ' ' ',')" \
        --batch "$(echo $BATCHES | tr ' ' ',')" --steps "$TORCH_STEPS" \
        --warmup "$TORCH_WARMUP" --corpus "$CORPUS" >"$torch_out" \
        || die "torch_cuda.py failed"
    : >"$results"
    for p in $PRECISIONS; do
        for b in $BATCHES; do
            echo "== batch $b, $p: rnnlab"
            "$RNNLAB" train --device cuda --precision "$p" --corpus "$CORPUS" \
                --model lstm --layers 2 --hidden 512 --embed 64 --dropout 0 \
                --seq-len 100 --batch "$b" --optimizer adam --lr 2e-3 --clip 5 \
                --steps "$STEPS" --eval-every 0 --val-frac 0.1 --json \
                >"$OUT/rnnlab_${p}_${b}.jsonl" 2>"$OUT/rnnlab_${p}_${b}.err" \
                || die "rnnlab failed: $(cat "$OUT/rnnlab_${p}_${b}.err")"
            r="$(rnnlab_rate "$OUT/rnnlab_${p}_${b}.jsonl")"
            t="$(grep "\"precision\": \"$p\", \"batch\": $b," "$torch_out" || true)"
            [ -n "$t" ] || die "no PyTorch result for $p batch $b in $torch_out"
            echo "{\"precision\":\"$p\",\"batch\":$b,\"rnnlab\":$r,\"torch\":$t}" >>"$results"
        done
    done
    "$PY" - "$results" "$OUT/cuda.json" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
out = []
print()
print("LSTM 2x512, embed 64, T=100, Adam; training tokens/s")
print(f"{'prec':5} {'batch':>5} {'rnnlab':>12} {'cuDNN':>12} {'ratio':>6}  target")
for r in rows:
    ours = r["rnnlab"]["tokens_per_s"]
    theirs = r["torch"]["tokens_per_s"]
    ratio = ours / theirs if theirs else 0.0
    target = 1.5 if r["batch"] <= 64 else 1.0
    ok = "ok" if ratio >= target else "MISSED"
    print(f"{r['precision']:5} {r['batch']:5d} {ours:12,.0f} {theirs:12,.0f} {ratio:6.2f}  "
          f">= {target:.1f} {ok}")
    out.append({"precision": r["precision"], "batch": r["batch"],
                "rnnlab_tokens_per_s": ours, "torch_tokens_per_s": theirs,
                "ratio": ratio, "target": target, "torch": r["torch"]})
if rows:
    t = rows[0]["torch"]
    print(f"device {t['device']}, torch {t['torch']}, cuDNN {t['cudnn']}, "
          f"fused Adam {t['fused_adam']}")
json.dump(out, open(sys.argv[2], "w"), indent=1)
PYEOF
}

stage_val() {
    echo "== rnnlab train --device cuda --time $VAL_SECONDS $VAL_ARGS"
    # shellcheck disable=SC2086
    "$RNNLAB" train --device cuda --corpus "$CORPUS" --val-frac 0.1 $VAL_ARGS \
        --time "$VAL_SECONDS" --json >"$OUT/val.jsonl" 2>"$OUT/val.err" \
        || die "validation run failed: $(cat "$OUT/val.err")"
    "$PY" - "$OUT/val.jsonl" <<'PYEOF'
import json, sys
pts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
val = [(p["step"], p["val_loss"]) for p in pts if "val_loss" in p]
print("step  val_loss")
for s, v in val:
    print(f"{s:5d}  {v:.4f}")
if val:
    best = min(val, key=lambda x: x[1])
    print(f"best {best[1]:.4f} at step {best[0]}; final {val[-1][1]:.4f}; "
          f"target <= 1.45: {'reached' if best[1] <= 1.45 else 'NOT reached'}")
rates = [p["tokens_per_s"] for p in pts if p.get("tokens_per_s")]
if rates:
    print(f"{len(pts)} steps, median {sorted(rates)[len(rates) // 2]:,.0f} tokens/s")
PYEOF
}

case "${1:-all}" in
    check) stage_check ;;
    bench) stage_bench ;;
    val) stage_val ;;
    all) stage_check; stage_bench; stage_val ;;
    *) die "unknown stage '$1' (check, bench, val or all)" ;;
esac
