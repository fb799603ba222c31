#!/bin/sh
# word.sh - word-level language modelling on WikiText-2 against PyTorch's
# word_language_model (bench/torch_word.py), and training speed with large
# vocabularies (V = 33,278, WikiText-2's, and 267,735, WikiText-103's).
#
#   make && bench/word.sh              from the repository root
#
# 1. WikiText-2, word_language_model's medium model: LSTM 2x650, embedding
#    650, tied, dropout 0.5, T=35, B=20, SGD lr 20 divided by 4 when a
#    validation (one per epoch) is not better, clip 0.25.  Only valid.txt
#    and test.txt of WikiText-2 are here (no train.txt), so both peers
#    TRAIN ON valid.txt AND VALIDATE ON test.txt; with the real split,
#    TRAIN=.../train.txt VALID=.../valid.txt runs the same comparison.
#    Speed probes first (PROBE_STEPS steps after 2 untimed ones): rnnlab
#    with 1 and 2 threads, PyTorch with (torch, OpenBLAS) threads (1,1),
#    (1,2) and (2,1); each peer's fastest setting then trains for BUDGET
#    seconds of wall clock (validations included), and the validation
#    perplexity at its end is compared (rnnlab --eval-streams 10, PyTorch
#    eval_batch_size 10, as the example).
# 2. Large vocabularies: a generated word text of V distinct words (each
#    once, then as many drawn from a Zipf law) for V = 33,278 and 267,735;
#    LSTM 1x256, embedding 256, T=35, B=20, SGD, each V with two output
#    layers: the full softmax, tied, and the adaptive softmax (rnnlab's
#    --softmax adaptive, PyTorch's nn.AdaptiveLogSoftmaxWithLoss; untied on
#    both sides, as it has no decoder weight to tie; div-value 4, no head
#    bias; cutoffs CUTOFFS_33K, CUTOFFS_267K); LARGE_STEPS timed steps after
#    1 untimed; tokens/s and peak RSS (time -v) of rnnlab (2 threads) and
#    PyTorch (its fastest of (1,1) and (1,2)).  LARGE_MODEL=medium trains
#    part 1's medium model there instead (2x650, tied, dropout 0.5, lr 20;
#    the full softmax only, since tying needs it): the word-level shape
#    the CPU kernels were measured on.
#
# Environment: DATA (../shared/data), TRAIN, VALID, BUDGET (600),
# PROBE_STEPS (6), LARGE_STEPS (3), LARGE=0 (skip part 2), WORD=0 (skip
# part 1), LARGE_V ("33278 267735"), LARGE_SOFTMAX ("full adaptive"),
# LARGE_MODEL (small: 1x256; or medium),
# CUTOFFS_33K (2000,10000), CUTOFFS_267K (20000,60000), RNNLAB
# (src/rnnlab), PYTHON (/usr/bin/python3).  Writes bench/out/word/*.json
# (every run) and bench/out/word.json (the summary).
set -eu

cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}/wikitext-2
TRAIN=${TRAIN:-$data/valid.txt}
VALID=${VALID:-$data/test.txt}
BUDGET=${BUDGET:-600}
PROBE_STEPS=${PROBE_STEPS:-6}
LARGE_STEPS=${LARGE_STEPS:-3}
RNNLAB=${RNNLAB:-src/rnnlab}
PY=${PYTHON:-/usr/bin/python3}
out=bench/out/word
[ -x "$RNNLAB" ] || { echo "word.sh: build first: make" >&2; exit 1; }
for f in "$TRAIN" "$VALID"; do
    [ -r "$f" ] || { echo "word.sh: $f is missing" >&2; exit 1; }
done
"$PY" -c 'import torch' 2>/dev/null || { echo "word.sh: $PY has no torch" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "word.sh: needs /usr/bin/time (Debian: time)" >&2; exit 1; }
mkdir -p "$out"
echo "word.sh: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# rnnlab's training file: the training text, then the validation text
# held out by --val-frac at a line start (word splits cut by bytes there).
cat "$TRAIN" "$VALID" >"$out/corpus.txt"
frac=$("$PY" -c 'import os,sys; a,b=(os.path.getsize(p) for p in sys.argv[1:]); print("%.12f" % (b/(a+b)))' "$TRAIN" "$VALID")
medium="--tokens word --model lstm --layers 2 --hidden 650 --embed 650 --tie
    --dropout 0.5 --seq-len 35 --batch 20 --optimizer sgd --lr 20 --clip 0.25"
torch_medium="--layers 2 --hidden 650 --embed 650 --tie --dropout 0.5 --seq-len 35
    --batch 20 --lr 20 --clip 0.25"

# rate FILE WARMUP: tokens over the time of rnnlab's --json steps after WARMUP.
rate() {
    "$PY" - "$1" "$2" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"step"')]
steps = steps[int(sys.argv[2]):]
tok = 700.0 * len(steps)          # T*B per step (no jitter)
sec = sum(700.0 / s["tokens_per_s"] for s in steps)
print(json.dumps({"tokens_per_s": tok / sec if sec else 0, "steps": len(steps)}))
PY
}
# rss FILE: peak RSS in MB from time -v's output.
rss() { awk -F': ' '/Maximum resident/ {printf "%.1f", $2 / 1024}' "$1"; }
# best FILES...: the file whose JSON has the highest tokens_per_s.
best() {
    "$PY" -c 'import json,sys; print(max(sys.argv[1:], key=lambda f: json.load(open(f))["tokens_per_s"]))' "$@"
}

if [ "${WORD:-1}" != 0 ]; then
    for t in 1 2; do
        # shellcheck disable=SC2086
        "$RNNLAB" train --corpus "$out/corpus.txt" --val-frac "$frac" $medium \
            --steps $((PROBE_STEPS + 2)) --eval-every 0 --threads $t --json \
            --eval-streams 10 >"$out/probe-rnnlab-$t.log" 2>/dev/null || true
        rate "$out/probe-rnnlab-$t.log" 2 | sed "s/}$/, \"threads\": $t}/" >"$out/probe-rnnlab-$t.json"
    done
    for tb in 1,1 1,2 2,1; do
        t=${tb%,*} b=${tb#*,}
        OMP_NUM_THREADS=$t "$PY" bench/torch_word.py --train "$TRAIN" --valid "$VALID" \
            $torch_medium --threads "$t" --blas-threads "$b" --steps "$PROBE_STEPS" \
            --warmup 2 >"$out/probe-torch-$t-$b.json"
    done
    rb=$(best "$out"/probe-rnnlab-*.json) tb=$(best "$out"/probe-torch-*.json)
    rt=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"])' "$rb")
    set -- $("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["threads"], j["blas_threads"])' "$tb")
    echo "word.sh: runs of $BUDGET s: rnnlab $rt threads, PyTorch ($1, $2) threads" >&2
    # the plateau rule at each epoch's end: steps per epoch of B=20 streams
    epoch=$("$RNNLAB" train --corpus "$out/corpus.txt" --val-frac "$frac" $medium \
        --steps 1 --eval-every 0 --threads 1 --json 2>/dev/null |
        "$PY" -c 'import json,sys,math; e=[json.loads(l)["epoch"] for l in sys.stdin if l.startswith("{\"step\"")][0]; print(max(1, round(1 / e)))')
    /usr/bin/time -v "$RNNLAB" train --corpus "$out/corpus.txt" --val-frac "$frac" \
        $medium --schedule plateau --plateau-factor 0.25 --plateau-patience 0 \
        --eval-every "$epoch" --eval-streams 10 --time "$BUDGET" --threads "$rt" \
        --json >"$out/run-rnnlab.log" 2>"$out/run-rnnlab.time"
    OMP_NUM_THREADS=$1 /usr/bin/time -v "$PY" bench/torch_word.py --train "$TRAIN" \
        --valid "$VALID" $torch_medium --threads "$1" --blas-threads "$2" \
        --time "$BUDGET" >"$out/run-torch.json" 2>"$out/run-torch.time"
    rate "$out/run-rnnlab.log" 0 >"$out/run-rnnlab.json"
fi

# cutoffs V: the adaptive softmax's cutoffs for a vocabulary of V words.
cutoffs() { if [ "$1" -lt 100000 ]; then echo "${CUTOFFS_33K:-2000,10000}"; else echo "${CUTOFFS_267K:-20000,60000}"; fi; }

# Part 2's model: rnnlab's options and bench/torch_word.py's for it.
case ${LARGE_MODEL:-small} in
    small)
        part2="--tokens word --model lstm --layers 1 --hidden 256 --embed 256
            --dropout 0 --seq-len 35 --batch 20 --optimizer sgd --lr 1 --clip 0.25"
        torch_part2="--layers 1 --hidden 256 --embed 256 --dropout 0 --lr 1" ;;
    medium)
        part2="--tokens word --model lstm --layers 2 --hidden 650 --embed 650
            --dropout 0.5 --seq-len 35 --batch 20 --optimizer sgd --lr 20 --clip 0.25"
        torch_part2="--layers 2 --hidden 650 --embed 650 --dropout 0.5 --lr 20" ;;
    *) echo "word.sh: LARGE_MODEL must be small or medium, not '$LARGE_MODEL'" >&2
       exit 1 ;;
esac

if [ "${LARGE:-1}" != 0 ]; then
    for V in ${LARGE_V:-33278 267735}; do
        "$PY" - "$out/large-$V.txt" "$V" <<'PY'
import random, sys
path, V = sys.argv[1], int(sys.argv[2])
rnd = random.Random(V)
words = ["w%d" % i for i in range(V)]
seq = words[:]
rnd.shuffle(seq)
weights = [1.0 / (i + 1) for i in range(V)]
seq += rnd.choices(words, weights, k=max(V, 200000))
with open(path, "w") as f:
    for i in range(0, len(seq), 20):
        f.write(" ".join(seq[i:i + 20]) + "\n")
PY
        softmaxes=${LARGE_SOFTMAX:-full adaptive}
        [ "${LARGE_MODEL:-small}" = medium ] && softmaxes=full
        for sm in $softmaxes; do
            if [ "$sm" = full ]; then
                r_out="--tie" t_out="--tie"
            else
                r_out="--softmax adaptive --cutoffs $(cutoffs "$V")"
                t_out="--softmax adaptive --cutoffs $(cutoffs "$V")"
            fi
            run=$out/large-rnnlab-$V-$sm
            # shellcheck disable=SC2086
            /usr/bin/time -v "$RNNLAB" train --corpus "$out/large-$V.txt" --val-frac 0 \
                $part2 $r_out --steps $((LARGE_STEPS + 1)) --eval-every 0 --threads 2 \
                --json >"$run.log" 2>"$run.time"
            rate "$run.log" 1 | sed "s/}$/, \"peak_rss_mb\": $(rss "$run.time")}/" >"$run.json"
            for b in 1 2; do
                run=$out/large-torch-$V-$sm-$b
                # shellcheck disable=SC2086
                OMP_NUM_THREADS=1 /usr/bin/time -v "$PY" bench/torch_word.py \
                    --train "$out/large-$V.txt" --valid "$out/large-$V.txt" \
                    $torch_part2 $t_out --threads 1 \
                    --blas-threads $b --steps "$LARGE_STEPS" --warmup 1 \
                    >"$run.json" 2>"$run.time"
            done
        done
    done
fi

"$PY" - "$out" "$BUDGET" "$TRAIN" "$VALID" <<'PY'
import glob, json, os, sys
out, budget, train, valid = sys.argv[1:]
J = lambda p: json.load(open(p))
def rss(p):
    for l in open(p):
        if "Maximum resident" in l:
            return int(l.split(":")[1]) / 1024
summary = {"load_avg_end": open("/proc/loadavg").read().split()[:3]}
if os.path.exists(out + "/run-torch.json"):
    r = J(out + "/run-rnnlab.json")
    steps = [json.loads(l) for l in open(out + "/run-rnnlab.log") if l.startswith("{")]
    val = [s for s in steps if "val_ppl" in s][-1]
    t = J(out + "/run-torch.json")
    probes = {os.path.basename(p)[:-5]: round(J(p)["tokens_per_s"], 1)
              for p in glob.glob(out + "/probe-*.json")}
    w = {"train": train, "valid": valid, "budget_s": float(budget), "probes": probes,
         "rnnlab": {"tokens_per_s": r["tokens_per_s"], "val_ppl": val["val_ppl"],
                    "steps": len([s for s in steps if "step" in s]),
                    "peak_rss_mb": rss(out + "/run-rnnlab.time")},
         "torch": {"tokens_per_s": t["tokens_per_s"], "val_ppl": t["val_ppl"],
                   "steps": t["steps"], "peak_rss_mb": rss(out + "/run-torch.time")}}
    w["speed_ratio"] = w["rnnlab"]["tokens_per_s"] / w["torch"]["tokens_per_s"]
    summary["wikitext2"] = w
    print("WikiText-2 (train %s, validate %s), %s s each:" % (train, valid, budget))
    print("  probes, tokens/s: " + ", ".join("%s %s" % kv for kv in sorted(probes.items())))
    for k in ("rnnlab", "torch"):
        x = w[k]
        print("  %-7s %8.1f tokens/s  %5d steps  val ppl %8.2f  peak RSS %7.1f MB"
              % (k, x["tokens_per_s"], x["steps"], x["val_ppl"], x["peak_rss_mb"]))
    print("  rnnlab / PyTorch tokens/s: %.2f   (target >= 2)" % w["speed_ratio"])
large = {}
for p in sorted(glob.glob(out + "/large-rnnlab-*-*.json")):
    V, sm = os.path.basename(p)[:-5].split("-")[2:]
    r = J(p)
    ts = [(J(q), rss(q[:-5] + ".time"))
          for q in glob.glob(out + "/large-torch-%s-%s-*.json" % (V, sm))]
    t, trss = max(ts, key=lambda x: x[0]["tokens_per_s"])
    x = {"rnnlab_tokens_per_s": r["tokens_per_s"], "rnnlab_rss_mb": r["peak_rss_mb"],
         "torch_tokens_per_s": t["tokens_per_s"], "torch_rss_mb": trss,
         "torch_blas_threads": t["blas_threads"],
         "speed_ratio": r["tokens_per_s"] / t["tokens_per_s"]}
    large.setdefault(V, {})[sm] = x
    print("V=%s, %s softmax: rnnlab %.1f tokens/s (RSS %.0f MB), PyTorch %.1f (RSS %.0f MB): "
          "%.2fx" % (V, sm, x["rnnlab_tokens_per_s"], x["rnnlab_rss_mb"],
                     x["torch_tokens_per_s"], x["torch_rss_mb"], x["speed_ratio"]))
summary["large_vocab"] = large
json.dump(summary, open(os.path.join(os.path.dirname(out), "word.json"), "w"), indent=1)
PY
