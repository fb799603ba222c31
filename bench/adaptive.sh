#!/bin/sh
# adaptive.sh - training speed of the full softmax against the adaptive
# softmax on a large word vocabulary: the same model, data and steps, the
# two runs alternated ROUNDS times (a shared machine drifts; alternating
# spreads that over both), tokens/s of each and their ratio.
#
#   bench/adaptive.sh                      # WikiText-2 valid.txt, V about 13.8k
#   SYNTH=33278 bench/adaptive.sh          # a generated Zipf text, V = 33,278
#
# Knobs: CORPUS (default ../shared/data/wikitext-2/valid.txt), SYNTH (a
# vocabulary size: generate 1.5M words drawn by Zipf's law over it
# instead), CUTOFFS (default 2000,10000), HIDDEN (default 256), STEPS
# (default 40), WARMUP (first steps left out, default 5), ROUNDS
# (default 2), THREADS (default 2), RNNLAB (default src/rnnlab).
# Writes bench/out/adaptive.json.
set -eu
RNNLAB=${RNNLAB:-src/rnnlab}
CORPUS=${CORPUS:-../shared/data/wikitext-2/valid.txt}
CUTOFFS=${CUTOFFS:-2000,10000}
HIDDEN=${HIDDEN:-256}
STEPS=${STEPS:-40}
WARMUP=${WARMUP:-5}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
python=${PYTHON:-python3}
[ -x "$RNNLAB" ] || { echo "adaptive.sh: build first: make" >&2; exit 1; }
mkdir -p bench/out
if [ -n "${SYNTH:-}" ]; then
    CORPUS=bench/out/zipf-$SYNTH.txt
    [ -s "$CORPUS" ] || "$python" - "$SYNTH" "$CORPUS" <<'PY'
import random, sys
V, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
words = ["w%d" % i for i in range(V)]
weights = [1.0 / (i + 1) for i in range(V)]
with open(out, "w") as f:
    for _ in range(75000):          # 20 words a line
        f.write(" ".join(rng.choices(words, weights, k=20)) + "\n")
PY
fi
[ -s "$CORPUS" ] || { echo "adaptive.sh: no corpus $CORPUS" >&2; exit 1; }

# run KIND: one training run; its per-step JSON lines into bench/out/KIND.N
run() {
    kind=$1 n=$2
    if [ "$kind" = adaptive ]; then extra="--softmax adaptive --cutoffs $CUTOFFS"; else extra=""; fi
    # shellcheck disable=SC2086
    "$RNNLAB" train --corpus "$CORPUS" --tokens word --model lstm --layers 1 \
        --hidden "$HIDDEN" --embed "$HIDDEN" --dropout 0 --seq-len 35 --batch 20 \
        --optimizer sgd --lr 20 --clip 0.25 --steps "$STEPS" --eval-every 0 \
        --val-frac 0.05 --threads "$THREADS" --no-cache --json $extra \
        >"bench/out/adaptive-$kind.$n" 2>"bench/out/adaptive-$kind.$n.err"
}

i=1
while [ "$i" -le "$ROUNDS" ]; do
    run full "$i"
    run adaptive "$i"
    i=$((i + 1))
done

"$python" - "$WARMUP" "$ROUNDS" "$CORPUS" "$CUTOFFS" "$HIDDEN" <<'PY'
import json, sys
warmup, rounds, corpus, cutoffs, hidden = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]
res = {"corpus": corpus, "cutoffs": cutoffs, "hidden": int(hidden)}
for kind in ("full", "adaptive"):
    tokens = secs = 0.0
    for n in range(1, rounds + 1):
        steps = [json.loads(l) for l in open("bench/out/adaptive-%s.%d" % (kind, n))
                 if l.startswith("{") and '"tokens_per_s"' in l]
        for s in steps[warmup:]:        # 35 x 20 tokens a step
            tokens += 700
            secs += 700 / s["tokens_per_s"]
    res[kind + "_tokens_per_s"] = round(tokens / secs, 1)
res["ratio"] = round(res["adaptive_tokens_per_s"] / res["full_tokens_per_s"], 2)
print(json.dumps(res))
open("bench/out/adaptive.json", "w").write(json.dumps(res) + "\n")
PY
