#!/usr/bin/env bash
# learn.sh - the learning targets of "defaults that learn fast": how low the
# validation loss gets in a fixed time with no flags (the README's
# recommended settings), on tinyshakespeare (last 10% held out) and on a text
# of known entropy rate (an order-2 Markov source over 27 symbols, 1M
# characters, written by bench/markov.c; its floor is printed beside).
#
#   bench/learn.sh [defaults] [markov] [wider]   (default: the first two)
#
# Environment:
#   RNNLAB_BENCH_CORPUS  tinyshakespeare (default ../shared/data/tinyshakespeare.txt
#                        relative to the repository root)
#   RNNLAB               rnnlab binary (default src/rnnlab)
#   TIME                 seconds per tinyshakespeare run (default 300)
#   MARKOV_TIME          seconds of the Markov run (default 120)
#   SEED                 training seed (default: rnnlab's)
#   MARKOV_SEED          the source's seed (default 1)
#
# The runs are timed, so the figures depend on the machine and on what
# else runs on it: run it on a quiet machine.  Writes bench/out/learn-*.json
# (the runs' --json lines) and prints one line per run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
TIME="${TIME:-300}"
MARKOV_TIME="${MARKOV_TIME:-120}"
MARKOV_SEED="${MARKOV_SEED:-1}"
OUT=bench/out
mkdir -p "$OUT"
seed=()
[ -n "${SEED:-}" ] && seed=(--seed "$SEED")

# The README's "Results" recommends the defaults (so they answer both
# targets); "wider" is a wider model, for comparison.
WIDER=(--hidden 320)

runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(defaults markov)

# final_val FILE: the last validation loss in a --json log
final_val() {
    /usr/bin/python3 -c '
import json, sys
v = [json.loads(l) for l in open(sys.argv[1]) if "val_loss" in l]
print("%.4f %d" % (v[-1]["val_loss"], v[-1]["step"]))' "$1"
}

# train NAME SECONDS CORPUS OPTION...: one timed run, its --json kept
train() {
    local name=$1 secs=$2 corpus=$3
    shift 3
    echo "== $name: rnnlab train --corpus $corpus --time $secs $*" >&2
    "$RNNLAB" train --corpus "$corpus" --time "$secs" "${seed[@]}" "$@" --json \
        > "$OUT/learn-$name.json"
}

for run in "${runs[@]}"; do
    case $run in
    defaults)
        [ -f "$CORPUS" ] || { echo "learn.sh: $CORPUS: no such file" >&2; exit 1; }
        train defaults "$TIME" "$CORPUS"
        read -r loss step < <(final_val "$OUT/learn-defaults.json")
        echo "defaults, ${TIME} s: validation $loss nats at step $step (targets: defaults <= 1.55; the README's recommended settings, the defaults, <= 1.50)"
        ;;
    wider)
        [ -f "$CORPUS" ] || { echo "learn.sh: $CORPUS: no such file" >&2; exit 1; }
        train wider "$TIME" "$CORPUS" "${WIDER[@]}"
        read -r loss step < <(final_val "$OUT/learn-wider.json")
        echo "wider (${WIDER[*]}), ${TIME} s: validation $loss nats at step $step"
        ;;
    markov)
        cc -O2 -Wall bench/markov.c -o bench/markov -lm
        bench/markov -s "$MARKOV_SEED" -o "$OUT/markov.txt" > "$OUT/markov.floor"
        rate=$(awk '$1 == "entropy_rate" {print $2}' "$OUT/markov.floor")
        floor=$(awk '$1 == "true_val_loss" {print $2}' "$OUT/markov.floor")
        train markov "$MARKOV_TIME" "$OUT/markov.txt"
        read -r loss step < <(final_val "$OUT/learn-markov.json")
        gap=$(awk -v a="$loss" -v b="$rate" 'BEGIN {printf "%.4f", a - b}')
        echo "markov, defaults, ${MARKOV_TIME} s: validation $loss nats at step $step;" \
             "entropy rate $rate (the true source scores $floor on this split); gap $gap (target <= 0.03)"
        ;;
    *)
        echo "learn.sh: unknown run '$run' (defaults, markov or wider)" >&2
        exit 2
        ;;
    esac
done
