#!/usr/bin/env bash
# train.sh - training-throughput benchmark: rnnlab against PyTorch and the
# OpenBLAS sgemm roofline, on a char-level LSTM 2x512 (embed 64, T=100,
# B=32, Adam 2e-3, clip 5, dropout 0) over tinyshakespeare; and the same
# model as a LayerNorm LSTM (rnnlab --layer-norm against the README's
# PyTorch module, tests/lnlstm.py).
#
# Run from anywhere (it moves to the repository root):  bench/train.sh
#
# Environment:
#   RNNLAB_BENCH_CORPUS  corpus (default ../shared/data/tinyshakespeare.txt
#                        relative to the repository root)
#   RNNLAB               rnnlab binary (default src/rnnlab)
#   STEPS                rnnlab optimizer steps (default 60)
#   WARMUP               rnnlab steps left out of the rate (default 5)
#   TORCH_STEPS          PyTorch timed steps (default 20)
#   TORCH_WARMUP         PyTorch untimed steps first (default 3)
#   THREADS              threads for rnnlab and sgemm_peak (default 2)
#   ONEDNN               0 skips the oneDNN peer (default: run it if built;
#                        it trains the default model only)
#   LN                   0 skips the LayerNorm LSTM pair (default 1; LSTM only)
#   MODEL LAYERS HIDDEN EMBED SEQ BATCH
#                        the model (default lstm 2 512 64, T=100, B=32;
#                        MODEL gru for a GRU), the same for every peer
#
# Writes bench/out/train.json and prints a table.  See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
STEPS="${STEPS:-60}"
WARMUP="${WARMUP:-5}"
TORCH_STEPS="${TORCH_STEPS:-20}"
TORCH_WARMUP="${TORCH_WARMUP:-3}"
THREADS="${THREADS:-2}"
ONEDNN="${ONEDNN:-1}"
LN="${LN:-1}"
PY=/usr/bin/python3
OUT="$ROOT/bench/out"

# model and training configuration (shared by every peer)
MODEL="${MODEL:-lstm}" LAYERS="${LAYERS:-2}" HIDDEN="${HIDDEN:-512}" EMBED="${EMBED:-64}"
SEQ="${SEQ:-100}" BATCH="${BATCH:-32}" LR=2e-3 CLIP=5
# oneDNN's peer is written for the default model alone
if [ "$MODEL/$LAYERS/$HIDDEN/$EMBED/$SEQ/$BATCH" != lstm/2/512/64/100/32 ]; then
    ONEDNN=0
fi

if [ ! -f "$CORPUS" ]; then
    echo "train.sh: corpus not found: $CORPUS" >&2
    echo "  (set RNNLAB_BENCH_CORPUS to tinyshakespeare.txt)" >&2
    exit 1
fi
if [ ! -x "$RNNLAB" ]; then
    echo "train.sh: $RNNLAB not found: build first: make" >&2
    exit 1
fi
if [ "$STEPS" -le "$WARMUP" ]; then
    echo "train.sh: STEPS ($STEPS) must exceed WARMUP ($WARMUP)" >&2
    exit 1
fi
if [ ! -x "$PY" ]; then
    echo "train.sh: $PY not found (Debian: apt-get install python3 python3-torch)" >&2
    exit 1
fi
mkdir -p "$OUT"

# The figures need an otherwise idle machine.
LOAD1="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$LOAD1" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "train.sh: warning: load average $LOAD1 - other work will skew the figures" >&2
fi
echo "== OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset: auto-detect>}" >&2

# ---------------------------------------------------------------- sgemm peak
echo "== building bench/sgemm_peak" >&2
# shellcheck disable=SC2046
cc -O2 bench/sgemm_peak.c $(pkg-config --cflags --libs openblas) -o bench/sgemm_peak
echo "== sgemm_peak $THREADS threads" >&2
bench/sgemm_peak "$THREADS" > "$OUT/sgemm.json"
cat "$OUT/sgemm.json" >&2

# The AVX-512 FMA peak of the same machine, in the same run: the ceiling
# every peer's achieved GFLOP/s is held against (no peak where the CPU
# lacks AVX-512F: the report leaves those ratios out).
echo "== building bench/fma_peak" >&2
cc -O2 -pthread bench/fma_peak.c -o bench/fma_peak
echo "== fma_peak $THREADS threads" >&2
if bench/fma_peak "$THREADS" > "$OUT/fma.json"; then
    cat "$OUT/fma.json" >&2
else
    echo "train.sh: no AVX-512 FMA peak on this CPU" >&2
    : > "$OUT/fma.json"
fi

# ------------------------------------------------------------------- PyTorch
# Debian's torch runs its GEMMs in OpenBLAS (own thread pool, sized from
# OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS) under its OpenMP intra-op pool.
# OMP_NUM_THREADS=2 alone gives 2 x 2 oversubscribed threads, so the mixed
# settings are tried as well and the fastest counts.
: > "$OUT/torch.jsonl"
: > "$OUT/torch_ln.jsonl"
run_torch() {  # FILE OMP_NUM_THREADS torch-threads openblas-threads [OPTION]
    local file=$1
    shift
    echo "== torch${4:+ $4}: OMP_NUM_THREADS=$1 torch threads $2, OpenBLAS threads $3" >&2
    if OMP_NUM_THREADS="$1" OPENBLAS_NUM_THREADS="$3" "$PY" bench/torch_lstm.py \
            --threads "$2" --steps "$TORCH_STEPS" --warmup "$TORCH_WARMUP" \
            --corpus "$CORPUS" --model "$MODEL" --layers "$LAYERS" --hidden "$HIDDEN" \
            --embed "$EMBED" \
            --seq-len "$SEQ" --batch "$BATCH" --lr "$LR" --clip "$CLIP" ${4:+"$4"} \
            > "$OUT/torch.tmp"; then
        cat "$OUT/torch.tmp" >&2
        "$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d["omp_num_threads"]=int(sys.argv[2]); print(json.dumps(d))' \
            "$OUT/torch.tmp" "$1" >> "$file"
    else
        echo "train.sh: torch run failed" >&2
    fi
    rm -f "$OUT/torch.tmp"
}
# the four thread settings (see bench/README.md), for a model's option
run_torch_all() {  # FILE [OPTION]
    run_torch "$1" 1 1 1 ${2:+"$2"}
    run_torch "$1" 2 2 2 ${2:+"$2"}
    if [ "$THREADS" -gt 1 ]; then
        run_torch "$1" 1 1 "$THREADS" ${2:+"$2"}
        run_torch "$1" "$THREADS" "$THREADS" 1 ${2:+"$2"}
    fi
}
run_torch_all "$OUT/torch.jsonl"
if [ "$LN" != 0 ] && [ "$MODEL" = lstm ]; then
    run_torch_all "$OUT/torch_ln.jsonl" --layer-norm
fi

# ------------------------------------------------------------------- oneDNN
ONEDNN_BIN=""
if [ "$ONEDNN" != 0 ] && [ -f /usr/include/dnnl.h ] && [ -f bench/onednn_lstm.c ]; then
    echo "== building bench/out/onednn_lstm" >&2
    if cc -O2 -std=c11 -fopenmp bench/onednn_lstm.c -o "$OUT/onednn_lstm" -ldnnl -lm; then
        ONEDNN_BIN="$OUT/onednn_lstm"
    else
        echo "train.sh: oneDNN peer did not build; skipped" >&2
    fi
fi
: > "$OUT/onednn.jsonl"
if [ -n "$ONEDNN_BIN" ]; then
    for n in 1 "$THREADS"; do
        echo "== oneDNN LSTM $n threads" >&2
        if OMP_NUM_THREADS="$n" "$ONEDNN_BIN" --threads "$n" \
                --steps "$TORCH_STEPS" --warmup "$TORCH_WARMUP" --corpus "$CORPUS" \
                > "$OUT/onednn.tmp"; then
            cat "$OUT/onednn.tmp" >&2
            cat "$OUT/onednn.tmp" >> "$OUT/onednn.jsonl"
        else
            echo "train.sh: oneDNN run failed; skipped" >&2
        fi
        rm -f "$OUT/onednn.tmp"
        [ "$THREADS" -gt 1 ] || break
    done
fi

# -------------------------------------------------------------------- rnnlab
TIMEV=1
if [ ! -x /usr/bin/time ]; then
    echo "train.sh: /usr/bin/time missing (Debian: apt-get install time);" \
         "peak RSS will not be reported" >&2
    TIMEV=0
fi
RNNLAB_ARGS=(train --corpus "$CORPUS" --model "$MODEL" --layers "$LAYERS"
    --hidden "$HIDDEN" --embed "$EMBED" --dropout 0 --seq-len "$SEQ" --batch "$BATCH"
    --optimizer adam --lr "$LR" --clip "$CLIP" --steps "$STEPS" --eval-every 0
    --val-frac 0.1 --threads "$THREADS" --json)
run_rnnlab() {  # NAME [OPTION]: bench/out/NAME.jsonl, .time, .stderr
    local name=$1 rc=0
    shift
    echo "== rnnlab ${RNNLAB_ARGS[*]} $*" >&2
    : > "$OUT/$name.time"
    if [ "$TIMEV" = 1 ]; then
        /usr/bin/time -v -o "$OUT/$name.time" "$RNNLAB" "${RNNLAB_ARGS[@]}" "$@" \
            > "$OUT/$name.jsonl" 2> "$OUT/$name.stderr" || rc=$?
    else
        "$RNNLAB" "${RNNLAB_ARGS[@]}" "$@" > "$OUT/$name.jsonl" 2> "$OUT/$name.stderr" || rc=$?
    fi
    if [ "$rc" != 0 ]; then
        echo "train.sh: rnnlab exited with status $rc; its stderr:" >&2
        tail -n 20 "$OUT/$name.stderr" >&2
        exit 1
    fi
}
run_rnnlab rnnlab
: > "$OUT/rnnlab_ln.jsonl"
if [ "$LN" != 0 ] && [ "$MODEL" = lstm ]; then
    run_rnnlab rnnlab_ln --layer-norm
fi

# ------------------------------------------------------------------- report
# The kernels rnnlab ran (its SIMD level, OpenBLAS's core) and the CPU.
RNNLAB_CPU="$("$RNNLAB" --version | sed -n 's/^cpu: //p')"
CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
export CORPUS OUT STEPS WARMUP TORCH_STEPS TORCH_WARMUP THREADS \
       MODEL LAYERS HIDDEN EMBED SEQ BATCH LR CLIP LOAD1 RNNLAB_CPU CPU_MODEL
"$PY" - <<'PYEOF'
import json, math, os, re, sys

env = os.environ
out = env["OUT"]
L, H, E = int(env["LAYERS"]), int(env["HIDDEN"]), int(env["EMBED"])
G = 4 if env["MODEL"] == "lstm" else 3      # gate blocks: LSTM i,f,g,o; GRU r,z,n
T, B = int(env["SEQ"]), int(env["BATCH"])
warmup = int(env["WARMUP"])

with open(env["CORPUS"], "rb") as f:
    V = len(set(f.read().decode("utf-8")))

# FLOPs per token of one training step, counting only the matrix products
# (gate pre-activations and the decoder); element-wise work, the embedding
# gather, the loss and the optimizer update are left out.  An LSTM layer
# with input width I does 4H*(I+H) multiply-adds per token; layer 1 has
# I = E, the others I = H; the decoder does H*V.  Forward FLOPs are twice
# the multiply-adds, and backward costs two such products (gradient of the
# input and of the weights), so a training step is 3x the forward:
#   flops/token = 3 * ( 2*(4H*(E+H) + (L-1)*4H*(H+H)) + 2*H*V )
# (a GRU has 3 gate blocks where the LSTM has 4: G = 3 for 4 above).
macs = G * H * (E + H) + (L - 1) * G * H * (H + H)
fwd = 2 * macs + 2 * H * V
flops_tok = 3 * fwd
formula = ("3 * (2*(%dH*(E+H) + (L-1)*%dH*(2H)) + 2*H*V) with L=%d H=%d E=%d V=%d"
           % (G, G, L, H, E, V))

def load_json(path):
    try:
        with open(path) as f:
            txt = f.read().strip()
        return json.loads(txt) if txt else None
    except (OSError, ValueError):
        return None

def load_lines(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError):
        return []

sgemm = load_json(os.path.join(out, "sgemm.json"))
fma = load_json(os.path.join(out, "fma.json"))
fma_peak = fma["gflops_n"] if fma else None
peak = sgemm["gflops_square"] if sgemm else float("nan")
bound_tps = peak * 1e9 / flops_tok

torch_runs = load_lines(os.path.join(out, "torch.jsonl"))
torch_best = max(torch_runs, key=lambda r: r["tokens_per_s"]) if torch_runs else None

onednn_runs = load_lines(os.path.join(out, "onednn.jsonl"))
onednn = max(onednn_runs, key=lambda r: r["tokens_per_s"]) if onednn_runs else None

# rnnlab: one JSON object per line; the step lines carry "step" and
# "tokens_per_s" (that step's rate).  The rate reported is total tokens over
# total time of the steps after the first WARMUP, each step's time being
# tokens / tokens_per_s.
def rnnlab_run(name):
    steps = {}
    try:
        lines = open(os.path.join(out, name + ".jsonl")).read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "step" in d and "tokens_per_s" in d and d["step"] not in steps:
            steps[d["step"]] = d
    timed = [steps[k] for k in sorted(steps)][warmup:]
    tok = sum(float(d.get("tokens", T * B)) for d in timed)
    sec = sum(float(d.get("tokens", T * B)) / d["tokens_per_s"]
              for d in timed if d["tokens_per_s"] > 0)
    rss = None
    try:
        with open(os.path.join(out, name + ".time")) as f:
            m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", f.read())
            if m:
                rss = int(m.group(1)) / 1024.0
    except OSError:
        pass
    return {"tps": tok / sec if sec > 0 else float("nan"),
            "mean": (sum(d["tokens_per_s"] for d in timed) / len(timed))
                    if timed else float("nan"),
            "last_loss": timed[-1].get("loss") if timed else None,
            "steps": len(steps), "timed": len(timed), "rss": rss}

plain = rnnlab_run("rnnlab")
rn_tps, rn_mean, last_loss, rn_rss = plain["tps"], plain["mean"], plain["last_loss"], plain["rss"]
ln_run = rnnlab_run("rnnlab_ln")
torch_ln_runs = load_lines(os.path.join(out, "torch_ln.jsonl"))
torch_ln_best = (max(torch_ln_runs, key=lambda r: r["tokens_per_s"])
                 if torch_ln_runs else None)

def ratio(a, b):
    if a is None or b is None or not b or a != a or b != b:
        return None
    return a / b

gfl = lambda tps: tps * flops_tok / 1e9 if tps == tps else None
r_speed = ratio(rn_tps, torch_best["tokens_per_s"] if torch_best else None)
r_eff = ratio(rn_tps, bound_tps)
r_rss = ratio(rn_rss, torch_best["peak_rss_mb"] if torch_best else None)
targets = {"speed_vs_torch": ">= 2", "efficiency_vs_sgemm_bound": ">= 0.70",
           "rss_vs_torch": "<= 0.333"}
passed = {
    "speed_vs_torch": None if r_speed is None else r_speed >= 2.0,
    "efficiency_vs_sgemm_bound": None if r_eff is None else r_eff >= 0.70,
    "rss_vs_torch": None if r_rss is None else r_rss <= 1.0 / 3.0,
}

def rnd(x, n=1):
    return None if x is None or x != x else round(x, n)

report = {
    "config": {"model": env["MODEL"], "layers": L, "hidden": H, "embed": E,
               "vocab": V, "seq_len": T, "batch": B, "optimizer": "adam",
               "lr": float(env["LR"]), "clip": float(env["CLIP"]),
               "dropout": 0.0, "threads": int(env["THREADS"]),
               "corpus": os.path.basename(env["CORPUS"]),
               "openblas_coretype_env": env.get("OPENBLAS_CORETYPE"),
               "openblas_core": sgemm.get("core") if sgemm else None,
               "rnnlab_kernels": env.get("RNNLAB_CPU") or None,
               "cpu_model": env.get("CPU_MODEL") or None,
               "loadavg_at_start": float(env.get("LOAD1") or 0)},
    "flops_per_token": flops_tok,
    "flops_formula": formula,
    "sgemm": sgemm,
    "fma_peak": fma,
    "sgemm_bound_tokens_per_s": rnd(bound_tps),
    "rnnlab": {"tokens_per_s": rnd(rn_tps), "mean_step_tokens_per_s": rnd(rn_mean),
               "gflops": rnd(gfl(rn_tps), 2), "peak_rss_mb": rnd(rn_rss),
               "steps": plain["steps"], "warmup_steps": warmup,
               "timed_steps": plain["timed"], "last_loss": last_loss},
    "torch": {"best": torch_best, "runs": torch_runs,
              "gflops": rnd(gfl(torch_best["tokens_per_s"]), 2) if torch_best else None},
    "onednn": {"best": onednn, "runs": onednn_runs,
               "gflops": rnd(gfl(onednn["tokens_per_s"]), 2) if onednn else None}
              if onednn_runs else None,
    "ratios": {"speed_vs_torch": rnd(r_speed, 3),
               "efficiency_vs_sgemm_bound": rnd(r_eff, 3),
               "rss_vs_torch": rnd(r_rss, 3)},
    "targets": targets,
    "pass": passed,
}
report["ratios"]["gflops_vs_fma_peak"] = rnd(ratio(gfl(rn_tps), fma_peak), 3)
if onednn and onednn.get("tokens_per_s"):
    report["ratios"]["onednn_gflops_vs_fma_peak"] = rnd(
        ratio(gfl(onednn["tokens_per_s"]), fma_peak), 3)
if onednn and onednn.get("tokens_per_s"):
    report["ratios"]["speed_vs_onednn"] = rnd(ratio(rn_tps, onednn["tokens_per_s"]), 3)
if ln_run["timed"] or torch_ln_runs:
    # the LayerNorm LSTM: rnnlab --layer-norm against the README's module
    report["layer_norm"] = {
        "rnnlab": {"tokens_per_s": rnd(ln_run["tps"]),
                   "mean_step_tokens_per_s": rnd(ln_run["mean"]),
                   "peak_rss_mb": rnd(ln_run["rss"]), "timed_steps": ln_run["timed"],
                   "last_loss": ln_run["last_loss"]},
        "torch": {"best": torch_ln_best, "runs": torch_ln_runs},
        "speed_vs_torch": rnd(ratio(ln_run["tps"], torch_ln_best["tokens_per_s"]
                                    if torch_ln_best else None), 3),
        "rnnlab_ln_vs_plain": rnd(ratio(ln_run["tps"], rn_tps), 3),
    }
with open(os.path.join(out, "train.json"), "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

def fmt(x, spec):
    return "-" if x is None or x != x else format(x, spec)

print()
print("%s %dx%d embed %d vocab %d, T=%d B=%d, Adam, clip %s, %s threads"
      % (env["MODEL"].upper(), L, H, E, V, T, B, env["CLIP"], env["THREADS"]))
print("flops/token = %s = %.2f MFLOP" % (formula, flops_tok / 1e6))
print("CPU %s; rnnlab's kernels: %s" % (env.get("CPU_MODEL") or "?", env.get("RNNLAB_CPU") or "?"))
print("sgemm peak (2048^3) %s GFLOP/s (OpenBLAS %s kernels) -> sgemm-bound %s tokens/s"
      % (fmt(peak, ".1f"), sgemm.get("core") if sgemm else "?", fmt(bound_tps, ".0f")))
print("AVX-512 FMA peak %s GFLOP/s on 1 thread, %s on %s (bench/fma_peak)"
      % (fmt(fma["gflops_1"] if fma else None, ".1f"), fmt(fma_peak, ".1f"), env["THREADS"]))
print()
print("%-34s %12s %9s %10s %8s" % ("peer", "tokens/s", "GFLOP/s", "RSS MB", "of peak"))
rows = [("rnnlab", rn_tps, rn_rss)]
if torch_best:
    rows.append(("torch (OMP %s, torch %s, BLAS %s thr)"
                 % (torch_best.get("omp_num_threads"), torch_best["threads"],
                    torch_best.get("blas_threads")),
                 torch_best["tokens_per_s"], torch_best["peak_rss_mb"]))
if onednn and onednn.get("tokens_per_s"):
    rows.append(("oneDNN LSTM (%s thr)" % onednn.get("threads"),
                 onednn["tokens_per_s"], onednn.get("peak_rss_mb")))
rows.append(("sgemm bound", bound_tps, None))
for name, tps, rss in rows:
    g = gfl(tps) if tps is not None else None
    print("%-34s %12s %9s %10s %8s" % (name, fmt(tps, ".0f"), fmt(g, ".1f"),
                                       fmt(rss, ".1f"), fmt(ratio(g, fma_peak), ".3f")))
if "speed_vs_onednn" in report["ratios"]:
    print()
    print("rnnlab / oneDNN tokens/s       %8s" % fmt(report["ratios"]["speed_vs_onednn"], ".3f"))
if "layer_norm" in report:
    lnr = report["layer_norm"]
    print()
    print("LayerNorm LSTM (rnnlab --layer-norm; PyTorch: the README's module)")
    print("%-34s %12s %10s" % ("peer", "tokens/s", "RSS MB"))
    print("%-34s %12s %10s" % ("rnnlab --layer-norm", fmt(ln_run["tps"], ".0f"),
                               fmt(ln_run["rss"], ".1f")))
    if torch_ln_best:
        print("%-34s %12s %10s" % ("torch LN (OMP %s, torch %s, BLAS %s thr)"
                                   % (torch_ln_best.get("omp_num_threads"),
                                      torch_ln_best["threads"],
                                      torch_ln_best.get("blas_threads")),
                                   fmt(torch_ln_best["tokens_per_s"], ".0f"),
                                   fmt(torch_ln_best["peak_rss_mb"], ".1f")))
    print("rnnlab LN / torch LN tokens/s  %8s" % fmt(lnr["speed_vs_torch"], ".3f"))
    print("rnnlab LN / rnnlab plain       %8s" % fmt(lnr["rnnlab_ln_vs_plain"], ".3f"))
print()
def verdict(p):
    return "-" if p is None else ("ok" if p else "MISSED")
print("%-30s %8s %10s %7s" % ("ratio", "value", "target", ""))
for k, label in (("speed_vs_torch", "rnnlab / torch tokens/s"),
                 ("efficiency_vs_sgemm_bound", "rnnlab / sgemm-bound"),
                 ("rss_vs_torch", "rnnlab / torch peak RSS")):
    print("%-30s %8s %10s %7s" % (label, fmt(report["ratios"][k], ".3f"),
                                  targets[k], verdict(passed[k])))
print()
print("written: bench/out/train.json")
PYEOF
