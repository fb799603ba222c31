#!/usr/bin/env bash
# sample.sh - generation benchmark: rnnlab's single-stream tokens/s against
# a PyTorch token-by-token loop of the same model (LSTM 2x512, embed 64,
# the characters of tinyshakespeare), and rnnlab's beam search (W=5) steps
# per second against its single stream.  The weights are those of a
# session after one training step: a step costs the same whatever they are.
#
# Run from anywhere (it moves to the repository root):  bench/sample.sh
#
# Environment:
#   RNNLAB_BENCH_CORPUS  corpus (default ../shared/data/tinyshakespeare.txt
#                        relative to the repository root)
#   RNNLAB               rnnlab binary (default src/rnnlab)
#   TOKENS               rnnlab single-stream tokens per run (default 20000)
#   BEAM_TOKENS          rnnlab beam-search steps per run (default 5000)
#   TORCH_TOKENS         PyTorch tokens per run (default 2000)
#   BEAM                 beam width (default 5)
#
#   QUALITY_SECONDS      also train the benchmark model this long (default 0:
#                        skip) and score its validation text with each
#                        --weights kind (rnnlab eval --weights): what 16 and
#                        8 bits cost in nats
#
# rnnlab runs with --weights fp32 (exact), fp16 and int8, and prints the
# text to /dev/null as it goes (--timing reports the speed on stderr).
# Each peer runs with 1 and 2 threads; the faster run counts.  Writes
# bench/out/sample.json and prints a table.  See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
TOKENS="${TOKENS:-20000}"
BEAM_TOKENS="${BEAM_TOKENS:-5000}"
TORCH_TOKENS="${TORCH_TOKENS:-2000}"
QUALITY_SECONDS="${QUALITY_SECONDS:-0}"
BEAM="${BEAM:-5}"
PY=/usr/bin/python3
OUT="$ROOT/bench/out"
SESSION="$OUT/sample-session"

if [ ! -f "$CORPUS" ]; then
    echo "sample.sh: corpus not found: $CORPUS (set RNNLAB_BENCH_CORPUS)" >&2
    exit 1
fi
if [ ! -x "$RNNLAB" ]; then
    echo "sample.sh: $RNNLAB not found: build first: make" >&2
    exit 1
fi
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "sample.sh: $PY cannot import torch (Debian: apt-get install python3-torch)" >&2
    exit 1
fi
mkdir -p "$OUT"

LOAD1="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$LOAD1" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "sample.sh: warning: load average $LOAD1 - other work will skew the figures" >&2
fi

# The model: the trainer's defaults are the benchmark model (LSTM 2x512,
# embed 64); one short step is enough to have a session.
echo "== session: $RNNLAB train --steps 1 --save $SESSION" >&2
rm -rf "$SESSION"
"$RNNLAB" train --corpus "$CORPUS" --model lstm --layers 2 --hidden 512 --embed 64 \
    --seq-len 16 --batch 4 --steps 1 --eval-every 0 --val-frac 0.01 --quiet \
    --save "$SESSION" > /dev/null

: > "$OUT/sample-runs.jsonl"
# rnnlab KIND THREADS ARGS...: one run; its --timing object, tagged.
rnnlab_run() {
    kind=$1 threads=$2
    shift 2
    echo "== rnnlab ($kind, $threads threads): sample $* --threads $threads --timing" >&2
    "$RNNLAB" sample "$SESSION" "$@" --threads "$threads" --timing \
        2>"$OUT/sample.err" >/dev/null
    grep '^{' "$OUT/sample.err" | tail -n 1 > "$OUT/sample.tmp"
    "$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); print(json.dumps({"peer":"rnnlab","kind":sys.argv[2],"threads":int(sys.argv[3]),"tokens":d["tokens"],"seconds":d["seconds"],"cpu_seconds":d["cpu_seconds"],"tokens_per_s":d["tokens_per_s"]}))' \
        "$OUT/sample.tmp" "$kind" "$threads" | tee -a "$OUT/sample-runs.jsonl" >&2
}
torch_run() {
    threads=$1
    echo "== torch ($threads threads)" >&2
    OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$PY" bench/torch_sample.py \
        --threads "$threads" --tokens "$TORCH_TOKENS" --corpus "$CORPUS" > "$OUT/sample.tmp"
    "$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d["peer"]="torch"; d["kind"]="single"; print(json.dumps(d))' \
        "$OUT/sample.tmp" | tee -a "$OUT/sample-runs.jsonl" >&2
}

# interleaved, so a change in the machine's load hits every peer alike
for threads in 1 2; do
    torch_run "$threads"
    for w in fp32 fp16 int8; do
        rnnlab_run "$w" "$threads" --prime "The " --length "$TOKENS" --seed 1 --weights "$w"
    done
    rnnlab_run beam "$threads" --prime "The " --length "$BEAM_TOKENS" --beam "$BEAM"
done
rm -f "$OUT/sample.tmp" "$OUT/sample.err"

# quality: the benchmark model trained for a while, its validation text
# scored through the generation path with each kind of weights
: > "$OUT/sample-quality.jsonl"
if [ "$QUALITY_SECONDS" != 0 ]; then
    QS="$OUT/sample-quality-session"
    echo "== quality: train $QUALITY_SECONDS s, then eval --weights fp32|fp16|int8" >&2
    rm -rf "$QS"
    "$RNNLAB" train --corpus "$CORPUS" --model lstm --layers 2 --hidden 512 --embed 64 \
        --layer-norm=off --time "$QUALITY_SECONDS" --eval-every 0 --quiet \
        --save "$QS" > /dev/null
    for w in fp32 fp16 int8; do
        "$RNNLAB" eval "$QS" --weights "$w" --json 2>/dev/null | tail -n 1 \
            | tee -a "$OUT/sample-quality.jsonl" >&2
    done
fi

export OUT BEAM LOAD1
"$PY" - <<'PYEOF'
import json, os

out = os.environ["OUT"]
runs = [json.loads(l) for l in open(os.path.join(out, "sample-runs.jsonl")) if l.strip()]

def best(peer, kind):
    rs = [r for r in runs if r["peer"] == peer and r["kind"] == kind]
    return max(rs, key=lambda r: r["tokens_per_s"]) if rs else None

for r in runs:
    r["tokens_per_cpu_s"] = r["tokens"] / r["cpu_seconds"] if r.get("cpu_seconds") else 0.0

def best_cpu(peer, kind):
    rs = [r for r in runs if r["peer"] == peer and r["kind"] == kind and r["threads"] == 1]
    return max(rs, key=lambda r: r["tokens_per_cpu_s"]) if rs else None

torch = best("torch", "single")
kinds = ("fp32", "fp16", "int8")
fast = {k: best("rnnlab", k) for k in kinds}
beam = best("rnnlab", "beam")
ratio = {k: fast[k]["tokens_per_s"] / torch["tokens_per_s"] for k in kinds}
r_beam = beam["tokens_per_s"] / fast["fp32"]["tokens_per_s"]
# per CPU second, one thread each: what a busy machine distorts least
cpu = {k: best_cpu("rnnlab", k) for k in kinds + ("beam",)}
cpu["torch"] = best_cpu("torch", "single")
cpu_ratio = lambda a, b: (round(cpu[a]["tokens_per_cpu_s"] / cpu[b]["tokens_per_cpu_s"], 3)
                          if cpu[a] and cpu[b] and cpu[b]["tokens_per_cpu_s"] else None)
quality = [json.loads(l) for l in open(os.path.join(out, "sample-quality.jsonl")) if l.strip()]
report = {
    "model": "lstm 2x512, embed 64, vocab %d" % torch.get("vocab", 0),
    "beam_width": int(os.environ["BEAM"]),
    "loadavg_at_start": float(os.environ.get("LOAD1") or 0),
    "runs": runs,
    "best": dict({"torch": torch, "rnnlab_beam": beam},
                 **{"rnnlab_" + k: fast[k] for k in kinds}),
    "ratios": dict({k + "_vs_torch": round(ratio[k], 2) for k in kinds},
                   beam_step_vs_fp32=round(r_beam, 3)),
    "ratios_per_cpu_second_1_thread": dict(
        {k + "_vs_torch": cpu_ratio(k, "torch") for k in kinds},
        beam_step_vs_fp32=cpu_ratio("beam", "fp32")),
    "quality_val_loss": {q.get("weights", "?"): q.get("loss") for q in quality},
    "targets": {"single_vs_torch": ">= 10 (any kind of weights)",
                "beam_step_vs_fp32": ">= 0.333"},
    "pass": {"fp32_vs_torch": ratio["fp32"] >= 10,
             "fp16_vs_torch": ratio["fp16"] >= 10,
             "int8_vs_torch": ratio["int8"] >= 10,
             "beam_step_vs_fp32": r_beam >= 1 / 3},
}
with open(os.path.join(out, "sample.json"), "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

print()
print("generation, %s" % report["model"])
print("%-38s %12s" % ("peer (best of 1 and 2 threads)", "tokens/s"))
print("%-38s %12.0f" % ("torch loop (%d thr)" % torch["threads"], torch["tokens_per_s"]))
for k in kinds:
    print("%-38s %12.0f" % ("rnnlab single stream, %s (%d thr)" % (k, fast[k]["threads"]),
                            fast[k]["tokens_per_s"]))
print("%-38s %12.0f" % ("rnnlab beam W=%d fp32, steps/s (%d thr)" % (report["beam_width"],
                        beam["threads"]), beam["tokens_per_s"]))
print()
for k in kinds:
    print("%-34s %8.2f %8s %7s" % ("rnnlab %s / torch tokens/s" % k, ratio[k], ">= 10",
                                   "ok" if ratio[k] >= 10 else "MISSED"))
print("%-34s %8.3f %8s %7s" % ("beam steps/s / fp32 tokens/s", r_beam, ">= 0.333",
                               "ok" if r_beam >= 1 / 3 else "MISSED"))
c = report["ratios_per_cpu_second_1_thread"]
print()
print("per CPU second, 1 thread: fp32/torch %s, fp16/torch %s, int8/torch %s, beam/fp32 %s"
      % (c["fp32_vs_torch"], c["fp16_vs_torch"], c["int8_vs_torch"], c["beam_step_vs_fp32"]))
if quality:
    print()
    print("validation loss through the generation path (nats/token):")
    for q in quality:
        print("  %-5s %.4f" % (q.get("weights"), q.get("loss")))
print()
print("written: bench/out/sample.json")
PYEOF
