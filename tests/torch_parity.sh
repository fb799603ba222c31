#!/bin/sh
# torch_parity.sh - a session saved by rnnlab loads into PyTorch (nn.LSTM,
# nn.GRU, nn.RNN with the word_language_model parameter names; the
# README's LayerNorm LSTM module for --layer-norm;
# nn.AdaptiveLogSoftmaxWithLoss for --softmax adaptive), its
# tokenizer (char, word, BPE) rebuilt in Python from session.json, and gives
# the same loss as `rnnlab eval` on the same text; and every step's learning
# rate, for each schedule and for runs resumed half-way through a plan, is
# the one PyTorch's scheduler gives (tests/schedule_parity.py).  Skips (77)
# without PyTorch, except in continuous integration (CI set and not empty),
# where it fails.
set -u

: "${RNNLAB:=src/rnnlab}"
: "${srcdir:=.}"
python=${PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    if [ -n "${CI:-}" ]; then
        echo "FAIL: PyTorch is not installed for $python, and CI must run this test (Debian: apt-get install python3-torch)"
        exit 1
    fi
    echo "SKIP: PyTorch is not installed for $python (Debian: apt-get install python3-torch)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-parity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A small text with multi-byte characters.
i=0
while [ $i -lt 60 ]; do
    echo "The café's owner said — quietly — that line $i was the best; ÿes, naïve."
    i=$((i + 1))
done >"$tmp/corpus.txt"

fail=0
# check NAME TRAIN-OPTIONS...: trains a little, then compares the losses.
check() {
    name=$1
    shift
    if ! "$RNNLAB" train --corpus "$tmp/corpus.txt" --seq-len 16 --batch 4 \
        --lr 0.01 --steps 40 --eval-every 0 --threads 1 --save "$tmp/$name" \
        "$@" >"$tmp/$name.train" 2>&1; then
        echo "FAIL $name: rnnlab train failed:"; cat "$tmp/$name.train"
        fail=1; return
    fi
    ours=$("$RNNLAB" eval "$tmp/$name" --split all --json) || {
        echo "FAIL $name: rnnlab eval failed"; fail=1; return; }
    theirs=$("$python" "$srcdir/tests/torch_parity.py" "$tmp/$name" "$tmp/corpus.txt") || {
        echo "FAIL $name: PyTorch could not load the session"; fail=1; return; }
    if "$python" - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["tokens"] == b["tokens"], (a, b)
rel = abs(a["loss"] - b["loss"]) / b["loss"]
print("rnnlab %.7f  pytorch %.7f  rel %.1e" % (a["loss"], b["loss"], rel))
sys.exit(0 if rel < 2e-5 else 1)
PY
    then echo "ok   $name"
    else echo "FAIL $name: losses differ"; fail=1
    fi
}

check lstm-2 --model lstm --layers 2 --hidden 24 --embed 12
# wide enough (T*B = 192 rows, 4H = 320, E = 32) that the input
# projections, weight gradients and decoder take the AVX-512 sgemm
# (cpu_gemm512) where the CPU has it, and with more streams (12) than the
# small kernels take in one pass, so the backward step's product does too
check lstm-wide --model lstm --layers 2 --hidden 80 --embed 32 --batch 12
check lstm-nofb --model lstm --layers 1 --hidden 16 --embed 8 --no-forget-bias
check lnlstm-2 --model lstm --layers 2 --hidden 24 --embed 12 --layer-norm
check lnlstm-tied --model lstm --layers 2 --hidden 16 --embed 16 --tie --layer-norm \
    --dropout 0.2
check gru-2-tied --model gru --layers 2 --hidden 16 --embed 16 --tie
check rnn-1 --model rnn --layers 1 --hidden 20 --embed 10
check rnn-3 --model rnn --layers 3 --hidden 8 --embed 8 --dropout 0.3
check word-lstm --tokens word --lowercase --max-vocab 30 --model lstm --layers 1 \
    --hidden 16 --embed 8
check bpe-gru --tokens bpe --bpe-vocab 320 --model gru --layers 2 --hidden 16 --embed 8
# the adaptive softmax: PyTorch's module with rnnlab's tensors, its
# log_prob's cross-entropy (checked against the module's own loss) against
# rnnlab eval's
check word-adaptive --tokens word --lowercase --max-vocab 30 --softmax adaptive \
    --cutoffs 5,12 --model lstm --layers 1 --hidden 16 --embed 8
check bpe-adaptive-bias --tokens bpe --bpe-vocab 320 --softmax adaptive --cutoffs 100,200,260 \
    --div-value 2 --head-bias --model gru --layers 2 --hidden 16 --embed 8

# objective NAME OPTIONS...: AR and TAR as awd-lstm-lm adds them.  One
# step of one stream with a learning rate too small to move the weights:
# the --json objective of that step (the chunk's cross-entropy + AR + TAR)
# against PyTorch's from the saved weights on the corpus' first 17 tokens.
objective() {
    name=$1
    shift
    if ! "$RNNLAB" train --corpus "$tmp/corpus.txt" --seq-len 16 --batch 1 --val-frac 0 \
        --optimizer sgd --lr 1e-30 --steps 1 --eval-every 0 --threads 1 --dropout 0 \
        --ar 2 --tar 1 --json --save "$tmp/$name" "$@" >"$tmp/$name.train" 2>&1; then
        echo "FAIL $name: rnnlab train failed:"; cat "$tmp/$name.train"
        fail=1; return
    fi
    theirs=$("$python" "$srcdir/tests/torch_parity.py" "$tmp/$name" "$tmp/corpus.txt" \
        --objective 16 2 1) || {
        echo "FAIL $name: PyTorch could not load the session"; fail=1; return; }
    if "$python" - "$(grep '"objective"' "$tmp/$name.train")" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rel = abs(a["objective"] - b["objective"]) / b["objective"]
print("rnnlab %.7f  pytorch %.7f  rel %.1e" % (a["objective"], b["objective"], rel))
sys.exit(0 if rel < 1e-5 else 1)
PY
    then echo "ok   $name"
    else echo "FAIL $name: objectives differ"; fail=1
    fi
}

objective ar-tar-lstm --model lstm --layers 2 --hidden 24 --embed 12
objective ar-tar-gru --model gru --layers 1 --hidden 16 --embed 8
# the adaptive softmax's training loss: the head and one tail per target
objective ar-tar-adaptive --tokens word --max-vocab 30 --softmax adaptive --cutoffs 4,10 \
    --head-bias --model lstm --layers 1 --hidden 16 --embed 8

# lrs NAME OPTIONS...: a small run on garden.txt, its --json lines added to
# $tmp/NAME.jsonl and the session saved to $tmp/NAME; its step count is
# left in $steps.
garden="$srcdir/tests/data/garden.txt"
lrs() {
    name=$1
    shift
    if ! "$RNNLAB" train --threads 1 --json --save "$tmp/$name" "$@" \
        >>"$tmp/$name.jsonl" 2>"$tmp/$name.err"; then
        echo "FAIL $name: rnnlab train failed:"; cat "$tmp/$name.err"; fail=1
    fi
    steps=$(grep -c '"lr"' "$tmp/$name.jsonl")
}
small() {
    name=$1
    shift
    lrs "$name" --corpus "$garden" --layers 1 --hidden 16 --embed 8 \
        --seq-len 16 --batch 4 "$@"
}
# resumed NAME STEPS OPTIONS...: a small run stopped early (--patience)
# within its plan of STEPS steps, then resumed to its end.
resumed() {
    name=$1 total=$2
    shift 2
    small "$name" --steps "$total" "$@"
    if [ "$steps" -ge "$total" ]; then
        echo "FAIL $name: the first part did not stop before step $total"
        fail=1; return
    fi
    echo "     $name: stopped early at step $steps of $total, resumed"
    lrs "$name" --resume "$tmp/$name" --steps $((total - steps))
}

small constant --warmup 10 --steps 30 --eval-every 0
small step --lr 0.01 --warmup 5 --lr-decay 0.7 --lr-decay-every 9 --steps 50 \
    --eval-every 0
small cosine --schedule cosine --steps 50 --eval-every 0
small cosine-warmup --lr 0.01 --schedule cosine --warmup 7 --min-lr 1e-4 \
    --steps 60 --eval-every 0
small cosine-epochs --schedule cosine --warmup 3 --epochs 1.3 --eval-every 0
small onecycle --lr 0.01 --schedule onecycle --steps 57 --eval-every 0
small onecycle-epochs --schedule onecycle --epochs 0.7 --eval-every 0
small plateau --optimizer sgd --lr 0.5 --schedule plateau --plateau-factor 0.5 \
    --plateau-patience 1 --min-lr 1e-3 --steps 200 --eval-every 4
resumed cosine-resumed 80 --lr 0.3 --schedule cosine --warmup 4 \
    --eval-every 3 --patience 1
resumed plateau-resumed 200 --optimizer sgd --lr 0.5 --schedule plateau \
    --plateau-factor 0.5 --plateau-patience 1 --min-lr 1e-3 --eval-every 4 \
    --patience 4
"$python" "$srcdir/tests/schedule_parity.py" "$tmp" constant step cosine \
    cosine-warmup cosine-epochs onecycle onecycle-epochs plateau \
    cosine-resumed plateau-resumed || fail=1
exit $fail
