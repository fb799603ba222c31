#!/bin/sh
# bpe.sh - characters against BPE tokens on tinyshakespeare: the same
# model trained for the same wall-clock time (SECONDS_EACH, default 300)
# on 2 threads with --tokens char, --tokens bpe --bpe-vocab 512 and
# --tokens bpe --bpe-vocab 2048, compared by bits per byte of the
# validation text (the last 10%; the measure is per byte of the original
# text, so the three are comparable).  Then bench/tok_speed.sh (BPE
# learning and encoding speed on about 10 MB) unless TOKSPEED=0.
#
#   make && bench/bpe.sh               from the repository root
#
# The model is rnnlab's default without a run length, given as --hidden 512 (plain LSTM 2x512, embedding 64, dropout 0.1,
# Adam 2e-3, T=100, B=32, clip 5); a BPE token covers several bytes, so a
# chunk of 100 BPE tokens spans more text than one of 100 characters.
# The validation parts differ by a few bytes: char cuts 10% of the tokens
# (= bytes here, the text is ASCII), word and BPE 10% of the bytes at a
# line start.
#
# Environment: RNNLAB_BENCH_CORPUS (../shared/data/tinyshakespeare.txt),
# SECONDS_EACH (300), THREADS (2), RNNLAB (src/rnnlab), TOKSPEED (1).
# Writes bench/out/bpe/*.log (each run's --json) and bench/out/bpe.json.
set -eu

cd "$(dirname "$0")/.."
corpus=${RNNLAB_BENCH_CORPUS:-../shared/data/tinyshakespeare.txt}
each=${SECONDS_EACH:-300}
threads=${THREADS:-2}
RNNLAB=${RNNLAB:-src/rnnlab}
out=bench/out/bpe
[ -x "$RNNLAB" ] || { echo "bpe.sh: build first: make" >&2; exit 1; }
[ -r "$corpus" ] || { echo "bpe.sh: $corpus is missing" >&2; exit 1; }
mkdir -p "$out"
echo "bpe.sh: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for kind in char bpe512 bpe2048; do
    case $kind in
        char) opts="--tokens char" ;;
        bpe*) opts="--tokens bpe --bpe-vocab ${kind#bpe}" ;;
    esac
    # shellcheck disable=SC2086
    "$RNNLAB" train --corpus "$corpus" $opts --hidden 512 --time "$each" --eval-every 0 \
        --threads "$threads" --no-cache --json >"$out/$kind.log" 2>"$out/$kind.err"
done

python3 - "$out" "$each" <<'PY'
import json, os, sys
out, each = sys.argv[1], float(sys.argv[2])
res = {}
for kind in ("char", "bpe512", "bpe2048"):
    lines = [json.loads(l) for l in open("%s/%s.log" % (out, kind)) if l.startswith("{")]
    steps = [l for l in lines if "step" in l]
    val = [l for l in lines if "val_bpb" in l][-1]
    res[kind] = {"steps": len(steps), "val_bpb": val["val_bpb"], "val_loss": val["val_loss"],
                 "tokens_per_s": sum(s["tokens_per_s"] for s in steps) / len(steps)}
    print("%-8s %6d steps  %8.0f tokens/s (mean)  val loss %.4f/token  val bpb %.4f"
          % (kind, len(steps), res[kind]["tokens_per_s"], val["val_loss"], val["val_bpb"]))
res["seconds_each"] = each
res["load_avg_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(res, open(os.path.join(os.path.dirname(out), "bpe.json"), "w"), indent=1)
PY

if [ "${TOKSPEED:-1}" != 0 ]; then
    bench/tok_speed.sh
fi
