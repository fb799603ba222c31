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
# rnnlab also runs with --half (16-bit weight copies).  Each peer runs
# with 1 and 2 threads; the faster run counts.  Writes
# bench/out/sample.json and prints a table.  See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
TOKENS="${TOKENS:-20000}"
BEAM_TOKENS="${BEAM_TOKENS:-5000}"
TORCH_TOKENS="${TORCH_TOKENS:-2000}"
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
# rnnlab KIND THREADS ARGS...: one run; its final --json line, tagged.
rnnlab_run() {
    kind=$1 threads=$2
    shift 2
    echo "== rnnlab ($kind, $threads threads): sample $* --threads $threads --json" >&2
    "$RNNLAB" sample "$SESSION" "$@" --threads "$threads" --json \
        | tail -n 1 > "$OUT/sample.tmp"
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
    rnnlab_run single "$threads" --prime "The " --length "$TOKENS" --seed 1
    rnnlab_run half "$threads" --prime "The " --length "$TOKENS" --seed 1 --half
    rnnlab_run beam "$threads" --prime "The " --length "$BEAM_TOKENS" --beam "$BEAM"
done
rm -f "$OUT/sample.tmp"

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
single = best("rnnlab", "single")
beam = best("rnnlab", "beam")
half = best("rnnlab", "half")
r_torch = single["tokens_per_s"] / torch["tokens_per_s"]
r_half = half["tokens_per_s"] / torch["tokens_per_s"]
# per CPU second, one thread each: what a busy machine distorts least
cpu = {k: best_cpu(*k.split("/")) for k in ("torch/single", "rnnlab/single",
                                          "rnnlab/half", "rnnlab/beam")}
cpu_ratio = lambda a, b: (round(cpu[a]["tokens_per_cpu_s"] / cpu[b]["tokens_per_cpu_s"], 3)
                          if cpu[a] and cpu[b] and cpu[b]["tokens_per_cpu_s"] else None)
r_beam = beam["tokens_per_s"] / single["tokens_per_s"]
report = {
    "model": "lstm 2x512, embed 64, vocab %d" % torch.get("vocab", 0),
    "beam_width": int(os.environ["BEAM"]),
    "loadavg_at_start": float(os.environ.get("LOAD1") or 0),
    "runs": runs,
    "best": {"torch": torch, "rnnlab_single": single, "rnnlab_half": half,
             "rnnlab_beam": beam},
    "ratios": {"single_vs_torch": round(r_torch, 2), "half_vs_torch": round(r_half, 2),
               "beam_step_vs_single": round(r_beam, 3)},
    "ratios_per_cpu_second_1_thread": {
        "single_vs_torch": cpu_ratio("rnnlab/single", "torch/single"),
        "half_vs_torch": cpu_ratio("rnnlab/half", "torch/single"),
        "beam_step_vs_single": cpu_ratio("rnnlab/beam", "rnnlab/single")},
    "targets": {"single_vs_torch": ">= 10", "beam_step_vs_single": ">= 0.333"},
    "pass": {"single_vs_torch": r_torch >= 10, "beam_step_vs_single": r_beam >= 1 / 3},
}
with open(os.path.join(out, "sample.json"), "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

print()
print("generation, %s" % report["model"])
print("%-36s %12s" % ("peer (best of 1 and 2 threads)", "tokens/s"))
print("%-36s %12.0f" % ("torch loop (%d thr)" % torch["threads"], torch["tokens_per_s"]))
print("%-36s %12.0f" % ("rnnlab single stream (%d thr)" % single["threads"],
                        single["tokens_per_s"]))
print("%-36s %12.0f" % ("rnnlab single, --half (%d thr)" % half["threads"],
                        half["tokens_per_s"]))
print("%-36s %12.0f" % ("rnnlab beam W=%d, steps/s (%d thr)" % (report["beam_width"],
                        beam["threads"]), beam["tokens_per_s"]))
print()
print("%-32s %8s" % ("rnnlab --half / torch tokens/s", report["ratios"]["half_vs_torch"]))
for k, label in (("single_vs_torch", "rnnlab / torch tokens/s"),
                 ("beam_step_vs_single", "beam steps/s / single tokens/s")):
    print("%-32s %8s %10s %7s" % (label, report["ratios"][k], report["targets"][k],
                                  "ok" if report["pass"][k] else "MISSED"))
c = report["ratios_per_cpu_second_1_thread"]
print()
print("per CPU second, 1 thread: rnnlab/torch %s, --half/torch %s, beam/single %s"
      % (c["single_vs_torch"], c["half_vs_torch"], c["beam_step_vs_single"]))
print()
print("written: bench/out/sample.json")
PYEOF
