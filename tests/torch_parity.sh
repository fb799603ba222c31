#!/bin/sh
# torch_parity.sh - a session saved by rnnlab loads into PyTorch (nn.LSTM,
# nn.GRU, nn.RNN with the word_language_model parameter names; the
# README's LayerNorm LSTM module for --layer-norm;
# nn.AdaptiveLogSoftmaxWithLoss for --softmax adaptive), its
# tokenizer (char, word, BPE) rebuilt in Python from session.json, and gives
# the same loss as `rnnlab eval` on the same text; --freeze-embed's steps
# are PyTorch's with the embedding's requires_grad off; the objective a
# training step reports (--json) is PyTorch's
# CrossEntropyLoss(label_smoothing=E) plus AR and TAR on that session's
# model; and every step's learning
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
    # capitals beyond ASCII, for the word tokenizer's --lowercase
    [ $((i % 3)) -eq 0 ] && echo "ÉCOLE École école — ΣΟΦΊΑ Σοφία ДОМ дом."
    i=$((i + 1))
done >"$tmp/corpus.txt"

fail=0
# tests/lnlstm.py is the README's LayerNorm LSTM module, word for word.
if "$python" - "$srcdir/README.md" "$srcdir/tests/lnlstm.py" <<'PY'
import sys
start, end = "class LayerNormLSTM(nn.Module):", "\n# as above, with rnn=LayerNormLSTM"
readme, module = open(sys.argv[1]).read(), open(sys.argv[2]).read()
shown = readme[readme.index(start):readme.index(end)].rstrip()
sys.exit(0 if module[module.index(start):].rstrip() == shown else 1)
PY
then echo "ok   tests/lnlstm.py is the README's module"
else echo "FAIL tests/lnlstm.py differs from the README's LayerNorm LSTM module"; fail=1
fi

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

# objective NAME AR TAR E OPTIONS...: the objective trained on, with AR
# and TAR as awd-lstm-lm adds them and label smoothing E as PyTorch's
# CrossEntropyLoss(label_smoothing=E).  One step of one stream with a
# learning rate too small to move the weights: the --json objective of
# that step (the chunk's smoothed cross-entropy + AR + TAR) against
# PyTorch's from the saved weights on the corpus' first 17 tokens.
objective() {
    name=$1 ar=$2 tar=$3 e=$4
    shift 4
    if ! "$RNNLAB" train --corpus "$tmp/corpus.txt" --seq-len 16 --batch 1 --val-frac 0 \
        --optimizer sgd --lr 1e-30 --steps 1 --eval-every 0 --threads 1 --dropout 0 \
        --ar "$ar" --tar "$tar" --label-smoothing "$e" --json --save "$tmp/$name" "$@" \
        >"$tmp/$name.train" 2>&1; then
        echo "FAIL $name: rnnlab train failed:"; cat "$tmp/$name.train"
        fail=1; return
    fi
    theirs=$("$python" "$srcdir/tests/torch_parity.py" "$tmp/$name" "$tmp/corpus.txt" \
        --objective 16 "$ar" "$tar" "$e") || {
        echo "FAIL $name: PyTorch could not load the session"; fail=1; return; }
    if "$python" - "$(grep '"objective"' "$tmp/$name.train")" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["objective"] != a["loss"], "the objective is the plain loss"
rel = abs(a["objective"] - b["objective"]) / b["objective"]
print("rnnlab %.7f  pytorch %.7f  rel %.1e" % (a["objective"], b["objective"], rel))
sys.exit(0 if rel < 1e-5 else 1)
PY
    then echo "ok   $name"
    else echo "FAIL $name: objectives differ"; fail=1
    fi
}

objective ar-tar-lstm 2 1 0 --model lstm --layers 2 --hidden 24 --embed 12
objective ar-tar-gru 2 1 0 --model gru --layers 1 --hidden 16 --embed 8
# label smoothing alone, with AR and TAR, and on the LayerNorm LSTM
objective smooth-lstm 0 0 0.1 --model lstm --layers 2 --hidden 24 --embed 12
objective smooth-gru-ar-tar 2 1 0.25 --model gru --layers 1 --hidden 16 --embed 8
objective smooth-lnlstm 0 0 0.05 --model lstm --layers 2 --hidden 16 --embed 8 --layer-norm
objective smooth-rnn-tied 0 0 0.5 --model rnn --layers 1 --hidden 12 --embed 12 --tie

# frozen NAME OPTIONS...: --freeze-embed against requires_grad=False.  One
# SGD step at a rate too small to move the weights (session NAME-0: the
# weights the steps start from, the streams one chunk in), then 3 steps at
# lr 0.5 with clipping at 0.2 (their norms are 0.25-0.28, so clipped;
# the norm leaves the embedding out)
# resumed from it (NAME-1).  PyTorch replays the 3 steps from NAME-0's
# weights: encoder.weight must be NAME-0's bit for bit, the rest NAME-1's.
frozen() {
    name=$1
    shift
    if ! "$RNNLAB" train --corpus "$tmp/corpus.txt" --seq-len 12 --batch 3 --val-frac 0 \
        --optimizer sgd --lr 1e-30 --clip 0.2 --steps 1 --eval-every 0 --threads 1 \
        --dropout 0 --freeze-embed --save "$tmp/$name-0" "$@" >"$tmp/$name.train" 2>&1 ||
       ! cp -R "$tmp/$name-0" "$tmp/$name-1" ||
       ! "$RNNLAB" train --resume "$tmp/$name-1" --lr 0.5 --steps 3 --threads 1 \
        >>"$tmp/$name.train" 2>&1; then
        echo "FAIL $name: rnnlab train failed:"; cat "$tmp/$name.train"
        fail=1; return
    fi
    theirs=$("$python" "$srcdir/tests/torch_parity.py" "$tmp/$name-0" "$tmp/corpus.txt" \
        --train "$tmp/$name-1" 12 3 0.5 0.2 3) || {
        echo "FAIL $name: PyTorch could not replay the steps"; fail=1; return; }
    if "$python" - "$theirs" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print("encoder kept: rnnlab %s, pytorch %s; other weights max rel diff %.1e"
      % (r["encoder_kept"], r["torch_encoder_kept"], r["max_rel_diff"]))
sys.exit(0 if r["encoder_kept"] and r["torch_encoder_kept"] and r["max_rel_diff"] < 1e-5 else 1)
PY
    then echo "ok   $name"
    else echo "FAIL $name: the frozen embedding's steps differ"; fail=1
    fi
}

frozen frozen-lstm --tokens word --model lstm --layers 2 --hidden 16 --embed 8
frozen frozen-gru-tied --model gru --layers 1 --hidden 12 --embed 12 --tie
# the adaptive softmax's training loss: the head and one tail per target
objective ar-tar-adaptive 2 1 0 --tokens word --max-vocab 30 --softmax adaptive --cutoffs 4,10 \
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
