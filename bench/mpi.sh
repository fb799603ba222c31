#!/usr/bin/env bash
# mpi.sh - data-parallel training benchmark: on this machine, 1 process x THREADS threads against RANKS processes x 1 thread (mpirun), the gradients summed during the backward pass and, as a peer, after it (RNNLAB_ALLREDUCE=after), on the benchmark model; tokens/s, the time waited for the sums, the bytes all-reduced per step, and a model of scaling to 8 and 64 nodes.
#
# The model is train.sh's: LSTM 2x512, embedding 64, T=100, B=32 streams in
# all (each of RANKS processes takes 32/RANKS), Adam 2e-3, clip 5, dropout 0,
# over tinyshakespeare.  Run from anywhere:  bench/mpi.sh
#
# Environment:
#   RNNLAB_BENCH_CORPUS  corpus (default ../shared/data/tinyshakespeare.txt
#                        relative to the repository root)
#   RNNLAB               rnnlab binary, built with MPI (default src/rnnlab)
#   STEPS, WARMUP        steps per run and how many first ones the rate
#                        leaves out (default 30, 5)
#   ROUNDS               runs of each layout, interleaved; the best counts
#                        (default 3)
#   THREADS, RANKS       the two layouts (default 2 and 2)
#   NET                  the networks of the scaling model, NAME:LATENCY_S:BYTES_PER_S
#                        each (default "25GbE:15e-6:2.9e9 IB-100G:2e-6:11.5e9")
#   NODE_SPEEDUP         how many times faster than this machine a node of
#                        the model computes a step (default "1 8")
#
# Writes bench/out/mpi.json, backward_split.json (bench/backward_split.c,
# built here) and mpi_model.json (bench/mpi_model.py) and prints the
# tables.  See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
STEPS="${STEPS:-30}"
WARMUP="${WARMUP:-5}"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-2}"
RANKS="${RANKS:-2}"
NET="${NET:-25GbE:15e-6:2.9e9 IB-100G:2e-6:11.5e9}"
NODE_SPEEDUP="${NODE_SPEEDUP:-1 8}"
PY=/usr/bin/python3
OUT="$ROOT/bench/out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

for need in "$CORPUS" "$RNNLAB" "$PY"; do
    if [ ! -e "$need" ]; then
        echo "mpi.sh: $need not found (corpus: RNNLAB_BENCH_CORPUS; rnnlab: make)" >&2
        exit 1
    fi
done
if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi.sh: mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)" >&2
    exit 1
fi
if [ "$STEPS" -le "$WARMUP" ]; then
    echo "mpi.sh: STEPS ($STEPS) must exceed WARMUP ($WARMUP)" >&2
    exit 1
fi
mkdir -p "$OUT"
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2

ARGS=(train --corpus "$CORPUS" --model lstm --layers 2 --hidden 512 --embed 64
    --dropout 0 --seq-len 100 --batch 32 --optimizer adam --lr 2e-3 --clip 5
    --eval-every 0 --val-frac 0.1 --json)

# The parameters, from the header of a one-step run: the gradient that is
# all-reduced is that many floats.
PARAMS=$("$RNNLAB" train --corpus "$CORPUS" --model lstm --layers 2 --hidden 512 \
    --embed 64 --steps 1 --eval-every 0 --val-frac 0 --threads "$THREADS" 2>/dev/null |
    sed -n 's/.*: \([0-9,]*\) parameters$/\1/p' | tr -d ,)
if [ -z "$PARAMS" ]; then
    echo "mpi.sh: could not read the parameter count from rnnlab" >&2
    exit 1
fi

: > "$OUT/mpi.jsonl"
for round in $(seq "$ROUNDS"); do
    echo "== round $round: 1 process x $THREADS threads" >&2
    "$RNNLAB" "${ARGS[@]}" --steps "$STEPS" --threads "$THREADS" 2>/dev/null |
        sed "s/^{/{\"layout\":\"1x$THREADS\",/" >> "$OUT/mpi.jsonl"
    for how in after overlap; do
        echo "== round $round: $RANKS processes x 1 thread, gradients summed $how" >&2
        RNNLAB_ALLREDUCE=$how mpirun -q --oversubscribe -np "$RANKS" "$RNNLAB" "${ARGS[@]}" \
            --steps "$STEPS" --threads 1 2>/dev/null |
            sed "s/^{/{\"layout\":\"${RANKS}x1-$how\",/" >> "$OUT/mpi.jsonl"
    done
done

"$PY" - "$OUT/mpi.jsonl" "$OUT/mpi.json" "$WARMUP" "$STEPS" "$THREADS" "$RANKS" \
    "$PARAMS" <<'PY'
import json, sys
src, dst, warmup, steps, threads, ranks, params = sys.argv[1:8]
warmup, steps, threads, ranks, params = int(warmup), int(steps), int(threads), int(ranks), int(params)
T, B = 100, 32

# every run: its steps after the warm-up, tokens over time
runs, run = [], []
for line in open(src):
    r = json.loads(line)
    if r["step"] == 1 and run:
        runs.append(run); run = []
    run.append(r)
runs.append(run)
rates, reduce = {}, {}
for run in runs:
    timed = [r for r in run if r["step"] > warmup]
    if len(run) != steps or not timed:
        sys.exit("mpi.sh: a run printed %d steps of %d" % (len(run), steps))
    secs = sum(T * B / r["tokens_per_s"] for r in timed)
    rates.setdefault(run[0]["layout"], []).append(len(timed) * T * B / secs)
    reduce.setdefault(run[0]["layout"], []).append(
        sum(r.get("allreduce_s", 0) for r in timed) / len(timed))
one, many, after = "1x%d" % threads, "%dx1-overlap" % ranks, "%dx1-after" % ranks
best = {k: max(v) for k, v in rates.items()}
grad_bytes = 4 * params
small_bytes = 32 + 4 + 32           # step figures, the failure check, the run's turns
print("layout                       tokens/s (best of %d)   all rounds" % len(rates[one]))
for k in (one, after, many):
    print("%-28s %10.0f              %s" % (k, best[k], " ".join("%.0f" % v for v in rates[k])))
print("ratio %s / %s: %.3f" % (many, one, best[many] / best[one]))
print("ratio %s / %s: %.3f (all rounds: %s)" % (many, after, best[many] / best[after],
      " ".join("%.3f" % (a / b) for a, b in zip(rates[many], rates[after]))))
print("all-reduced per step and process: %d bytes of gradient (%d parameters)"
      " (after: one call; overlap: one per stretch, the decoder's, then each layer's from the top, the encoder's), + %d bytes in 3 small ones" % (grad_bytes, params, small_bytes))
for k in (after, many):
    fastest = rates[k].index(best[k])
    print("waited for the gradient sums (%s, shared memory, the slower process included):"
          " %.1f ms a step (rounds: %s), %.1f%% of the step" % (
              k, 1e3 * reduce[k][fastest], " ".join("%.1f" % (1e3 * v) for v in reduce[k]),
              100 * reduce[k][fastest] * best[k] / (T * B)))
hidden = [1 - o / a for o, a in zip(reduce[many], reduce[after]) if a > 0]
print("share of the wait hidden by summing during the backward pass, round by round: %s"
      % " ".join("%.2f" % h for h in hidden))

json.dump({"params": params, "gradient_bytes": grad_bytes, "small_bytes": small_bytes,
           "rates": rates, "best": best, "ratio": best[many] / best[one],
           "ratio_overlap_after": best[many] / best[after],
           "allreduce_s": reduce[many], "allreduce_after_s": reduce[after],
           "hidden": hidden}, open(dst, "w"), indent=1)
PY

# The scaling model (bench/mpi_model.py) from this run's one-process rate
# and when each stretch of the gradient becomes final in a step here.
if [ ! -x bench/backward_split ] || [ bench/backward_split.c -nt bench/backward_split ]; then
    cc -O2 -std=c11 -Isrc bench/backward_split.c src/libengine.a \
        $(pkg-config --libs openblas libcjson) $(mpicc --showme:link) -lpthread -lm \
        -o bench/backward_split
fi
bench/backward_split "$THREADS" 32 6 > "$OUT/backward_split.json"
RATE=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["best"][sys.argv[2]])' \
    "$OUT/mpi.json" "1x$THREADS")
echo
"$PY" bench/mpi_model.py --tokens-per-s "$RATE" --split "$OUT/backward_split.json" \
    --net $NET --speedup $NODE_SPEEDUP --json "$OUT/mpi_model.json"
