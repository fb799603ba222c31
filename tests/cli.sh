#!/bin/sh
# cli.sh - tests of the rnnlab command line: exit statuses and messages for
# bad usage and bad input, then a small run through train, sample, eval and
# resume.  Run by `make check` (which sets RNNLAB) or by hand:
#   RNNLAB=src/rnnlab sh tests/cli.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
if [ ! -x "$RNNLAB" ]; then
    echo "cli.sh: $RNNLAB is not built" >&2
    exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/report.sh"

# run CMD...: runs rnnlab with the arguments (and the environment
# assignments in $run_env); stdout, stderr and the exit status go to
# $tmp/out, $tmp/err and $status.
run_env=
run() {
    env $run_env "$RNNLAB" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# expect STATUS PATTERN DESCRIPTION ARG...: rnnlab ARG... exits with STATUS
# and its stderr matches the grep pattern PATTERN (unless empty).
expect() {
    want=$1 pattern=$2 desc=$3
    shift 3
    run "$@"
    if [ "$status" -ne "$want" ]; then
        flunk "$desc: exit status $status, expected $want" "$tmp/err"
    elif [ -n "$pattern" ] && ! grep -q -e "$pattern" "$tmp/err"; then
        flunk "$desc: stderr does not match '$pattern'" "$tmp/err"
    else
        pass "$desc"
    fi
}

# A usage error: status 2, the message, then "Try 'rnnlab ... --help'."
usage_error() {
    pattern=$1 desc=$2
    shift 2
    expect 2 "$pattern" "$desc" "$@"
    if [ "$status" -eq 2 ] && ! tail -n 1 "$tmp/err" | grep -q "^Try 'rnnlab.*--help'\.$"; then
        flunk "$desc: no --help hint" "$tmp/err"
    fi
}

# A runtime error: status 1 and exactly one line "rnnlab: ...".
runtime_error() {
    pattern=$1 desc=$2
    shift 2
    expect 1 "$pattern" "$desc" "$@"
    if [ "$status" -eq 1 ] && { [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q '^rnnlab: ' "$tmp/err"; }; then
        flunk "$desc: not one 'rnnlab:' line" "$tmp/err"
    fi
}

# ---------------------------------------------------------------- usage

# No command: the line interface reads commands from stdin (none here).
run </dev/null
[ "$status" -eq 0 ] && pass "no command reads commands from stdin" \
    || flunk "no command reads commands from stdin: exit status $status" "$tmp/err"
expect 0 '' "--help" --help
grep -q 'train' "$tmp/out" && grep -q 'sample' "$tmp/out" && grep -q 'eval' "$tmp/out" \
    && pass "--help lists the commands" || flunk "--help lists the commands" "$tmp/out"
expect 0 '' "--version" --version
grep -q '^rnnlab [0-9]' "$tmp/out" && pass "--version prints the version" \
    || flunk "--version prints the version" "$tmp/out"
grep -Eq '^cpu: simd=(avx512vnni|avx512|avx2|portable) openblas_core=[A-Za-z0-9]+$' "$tmp/out" &&
    pass "--version names the CPU kernels" || flunk "--version names the CPU kernels" "$tmp/out"
for cmd in train sample eval; do
    expect 0 '' "$cmd --help" "$cmd" --help
    grep -q "^Usage: rnnlab $cmd" "$tmp/out" && pass "$cmd --help shows its usage" \
        || flunk "$cmd --help shows its usage" "$tmp/out"
done

usage_error "unknown command 'trian'; did you mean 'train'?" "unknown command, with a suggestion" trian
usage_error "unknown command 'frobnicate'" "unknown command" frobnicate
usage_error "unknown option '--bogus'" "unknown top-level option" --bogus
usage_error "unknown option '--hiden'; did you mean '--hidden'?" "unknown option, with a suggestion" train --hiden 8
usage_error "unknown option '--whatever'" "unknown option" train --whatever
usage_error "option '--lr' needs a value" "missing option value" train --lr
usage_error "option '--tie' takes no value" "flag given a value" train --tie=1
usage_error "--hidden: 'abc' is not a whole number" "non-numeric integer" train --hidden abc
usage_error "--hidden: '12x' is not a whole number" "trailing garbage" train --hidden 12x
usage_error "--hidden: ' 12' is not a whole number" "leading space" train --hidden ' 12'
usage_error "--hidden: '' is not a whole number" "empty value" train --hidden ''
usage_error "--hidden: '99999999999999999999' is out of range" "integer overflow" train --hidden 99999999999999999999
usage_error "--hidden: '70000' is out of range" "--hidden too big" train --hidden 70000
usage_error "--layers: '0' is out of range" "--layers 0" train --layers 0
usage_error "--layers: '17' is out of range" "--layers 17" train --layers 17
usage_error "--dropout: '1.5' is out of range" "--dropout 1.5" train --dropout 1.5
usage_error "--dropout: '1' is out of range" "--dropout 1" train --dropout 1
usage_error "--lr: '0' is out of range" "--lr 0" train --lr 0
usage_error "--lr: '-0.1' is out of range" "negative --lr" train --lr -0.1
usage_error "--lr: 'nan' is not a number" "--lr nan" train --lr nan
usage_error "--lr: 'inf' is not a number" "--lr inf" train --lr inf
usage_error "--seq-len: '0' is out of range" "--seq-len 0" train --seq-len 0
usage_error "--batch: '-3' is out of range" "--batch -3" train --batch -3
usage_error "--val-frac: '1' is out of range" "--val-frac 1" train --val-frac 1
usage_error "--threads: '257' is out of range" "--threads 257" train --threads 257
usage_error "--steps: '0' is out of range" "--steps 0" train --steps 0
usage_error "--seed: '-1' is not" "negative seed" train --seed -1
usage_error "--model: unknown value 'transformer'" "unknown cell" train --model transformer
usage_error "--optimizer: unknown value 'lion'" "unknown optimizer" train --optimizer lion
usage_error "exclude each other" "two stopping options" train --steps 5 --time 5
usage_error "--tie needs --embed equal to --hidden" "--tie with a different --embed" train --tie --embed 8 --hidden 16
usage_error "--momentum applies only to sgd and rmsprop" "--momentum with adam" train --momentum 0.9
usage_error "--layer-norm is for --model lstm only (the model is gru)" "--layer-norm with a GRU" \
    train --model gru --layer-norm
usage_error "--layer-norm: unknown value 'maybe' (choose off or on)" "--layer-norm given a bad value" \
    train --layer-norm=maybe
usage_error "together must be below 1" "--val-frac + --test-frac >= 1" train --val-frac 0.6 --test-frac 0.4
usage_error "--schedule: unknown value 'linear' (choose constant, step, cosine, onecycle or plateau)" \
    "unknown schedule" train --schedule linear
usage_error "--lr-decay does not apply to the cosine schedule" "--lr-decay with cosine" \
    train --schedule cosine --lr-decay 0.5 --steps 5
usage_error "--plateau-factor does not apply to the step schedule" \
    "step and plateau options together" train --lr-decay-every 5 --plateau-factor 0.5
usage_error "--warmup does not apply to the onecycle schedule" "--warmup with onecycle" \
    train --schedule onecycle --warmup 5 --steps 5
usage_error "--plateau-factor: '1' is out of range" "--plateau-factor 1" train --plateau-factor 1
usage_error "--hidden cannot change when resuming" "architecture option with --resume" train --resume "$tmp/none" --hidden 8
usage_error "unexpected argument 'extra'" "train takes no argument" train extra
usage_error "missing the session directory" "sample without a directory" sample
usage_error "unexpected argument 'b'" "sample with two directories" sample a b
usage_error "--length: '0' is out of range" "--length 0" sample "$tmp/none" --length 0
usage_error "--temperature: '100.5' is out of range (0 to 100)" "--temperature 100.5" \
    sample "$tmp/none" --temperature 100.5
usage_error "missing the session directory" "eval without a directory" eval
usage_error "--split: unknown value 'dev'" "unknown split" eval "$tmp/none" --split dev
usage_error "--streams: '0' is out of range" "--streams 0" eval "$tmp/none" --streams 0
usage_error "--weights: unknown value 'int4' (choose fp32, fp16 or int8)" "eval --weights int4" \
    eval "$tmp/none" --weights int4
usage_error "--weights scores one stream" "eval --weights with --streams" \
    eval "$tmp/none" --weights int8 --streams 2
usage_error "--weights: unknown value 'bf16'" "sample --weights bf16" sample "$tmp/none" --weights bf16

# ---------------------------------------------------------------- bad input

: >"$tmp/empty.txt"
printf 'binary\000data\000\001\002\003 and more \000 bytes\n' >"$tmp/binary.txt"
mkdir "$tmp/adir" "$tmp/notsession"
: >"$tmp/notsession/keep.txt"
small="--layers 1 --hidden 8 --embed 4 --seq-len 4 --batch 2 --steps 1"
runtime_error "rnnlab: .*nope.txt" "missing corpus file" train --corpus "$tmp/nope.txt" $small
runtime_error "rnnlab: .*adir" "directory as corpus" train --corpus "$tmp/adir" $small
runtime_error "rnnlab: .*empty" "empty corpus" train --corpus "$tmp/empty.txt" $small
runtime_error "rnnlab: .*binary" "binary corpus" train --corpus "$tmp/binary.txt" $small
runtime_error "refusing to replace" "--save into a directory that is not a session" \
    train --corpus "$tmp/binary.txt" $small --save "$tmp/notsession"
runtime_error "rnnlab: " "sample from a missing session" sample "$tmp/none"
runtime_error "rnnlab: " "eval of a missing session" eval "$tmp/none"
runtime_error "rnnlab: " "resume of a missing session" train --resume "$tmp/none" --steps 1

# devices: names are checked; the CPU refuses reduced precision; cuda either
# works or says in one line why not (no GPU, or a build without CUDA)
usage_error "--device: unknown value 'gpu'" "unknown --device" train --device gpu
usage_error "--device: unknown value 'gpu'" "unknown sample --device" sample "$tmp/none" --device gpu
usage_error "--device: unknown value 'gpu'" "unknown eval --device" eval "$tmp/none" --device gpu
usage_error "--precision: unknown value 'fp16'" "unknown --precision" train --precision fp16
runtime_error "needs a CUDA device" "--precision bf16 on the CPU" \
    train --device cpu --precision bf16 $small
env RNNLAB_DEVICE=gpu "$RNNLAB" train $small >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" -eq 1 ] && grep -q "RNNLAB_DEVICE: unknown value 'gpu'" "$tmp/err"; then
    pass "bad RNNLAB_DEVICE"
else
    flunk "bad RNNLAB_DEVICE: status $status" "$tmp/err"
fi
run train --device cuda $small --eval-every 0 --val-frac 0.2
if [ "$status" -eq 0 ]; then
    pass "--device cuda trains (a GPU answered)"
elif [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] \
     && grep -q '^rnnlab: --device cuda: ' "$tmp/err"; then
    pass "--device cuda without a usable GPU is a one-line error"
else
    flunk "--device cuda: status $status" "$tmp/err"
fi

# ---------------------------------------------------------------- a small run

# About 20 KB of repetitive text.
i=0
while [ $i -lt 400 ]; do
    echo "the cat sat on the mat and the dog sat on the log, line $i."
    i=$((i + 1))
done >"$tmp/corpus.txt"

s="$tmp/session"
run train --corpus "$tmp/corpus.txt" --model lstm --layers 1 --hidden 32 \
    --embed 16 --seq-len 16 --batch 4 --steps 30 --save "$s" --json
cp "$tmp/out" "$tmp/train.json"
if [ "$status" -eq 0 ]; then pass "train --json"; else flunk "train --json: status $status" "$tmp/err"; fi

# A run with a length and no --hidden is sized for itself: a LayerNorm
# LSTM of a width from the budget (2 steps: the smallest, 64), Adam at
# 5e-3 under cosine; --layer-norm=off, --hidden and --schedule win.
sized_header() {  # DESCRIPTION PATTERN... : each PATTERN in train's stdout
    desc=$1
    shift
    if [ "$status" -ne 0 ]; then flunk "$desc: status $status" "$tmp/err"; return; fi
    for p in "$@"; do
        grep -q -e "$p" "$tmp/out" || { flunk "$desc: no '$p'" "$tmp/out"; return; }
    done
    pass "$desc"
}
run train --corpus "$tmp/corpus.txt" --seq-len 16 --batch 4 --steps 2 --eval-every 0
sized_header "a run sized for its length" "^model lstm (layer norm) 2x64, .*(sized for this run" \
    "lr 5.0e-03" "^schedule cosine"
run train --corpus "$tmp/corpus.txt" --seq-len 16 --batch 4 --steps 2 --eval-every 0 \
    --layer-norm=off --schedule constant
sized_header "a sized run with --layer-norm=off --schedule constant" "^model lstm 2x64, .*sized" \
    "lr 5.0e-03"
grep -q "^schedule" "$tmp/out" && flunk "--schedule constant still printed a schedule" "$tmp/out"
run train --corpus "$tmp/corpus.txt" --hidden 40 --seq-len 16 --batch 4 --steps 2 --eval-every 0
sized_header "--hidden: no sizing" "^model lstm 2x40, embed 64, dropout 0.1: [0-9,]* parameters$" \
    "lr 2.0e-03"

# What cannot fit in the memory available is refused before it is
# allocated, saying how much it needs and how much there is.
run_env=RNNLAB_MEMORY_LIMIT=64G
runtime_error "^rnnlab: model: needs [0-9.]* TiB (parameters, optimizer state and activations); 64.0 GiB available$" \
    "a model too large for the memory" train --corpus "$tmp/corpus.txt" --hidden 65536 --layers 16 --steps 1
run_env=RNNLAB_MEMORY_LIMIT=100K
runtime_error "^rnnlab: model: needs [0-9.]* KiB (.*); 100.0 KiB available$" \
    "a session too large for the memory" eval "$s"
run_env=RNNLAB_MEMORY_LIMIT=lots
runtime_error "^rnnlab: RNNLAB_MEMORY_LIMIT: 'lots' is not a size" "a bad RNNLAB_MEMORY_LIMIT" \
    train --corpus "$tmp/corpus.txt" $small
run_env=

# Every line one JSON object with the training fields; 30 steps.
lines=$(wc -l <"$tmp/train.json")
bad=$(grep -v -c '^{.*}$' "$tmp/train.json")
for field in step epoch loss lr grad_norm tokens_per_s; do
    n=$(grep -c "\"$field\":" "$tmp/train.json")
    [ "$n" -eq "$lines" ] || bad=$((bad + 1))
done
if [ "$lines" -ge 30 ] && [ "$bad" -eq 0 ]; then
    pass "train --json prints a JSON object with the fields per step"
else
    flunk "train --json output ($lines lines, $bad problems)" "$tmp/train.json"
fi
if command -v python3 >/dev/null 2>&1; then
    if python3 -c '
import json, sys
need = ("step", "epoch", "loss", "lr", "grad_norm", "tokens_per_s")
rows = [json.loads(line) for line in open(sys.argv[1])]
assert all(all(k in r for k in need) for r in rows)
assert [r["step"] for r in rows] == list(range(1, 31))
assert "val_loss" in rows[-1] and "val_bpc" in rows[-1]
' "$tmp/train.json" 2>"$tmp/err"; then
        pass "train --json: one line per step, each parses; validation on the last"
    else
        flunk "train --json lines parse" "$tmp/err"
    fi
fi
tail -n 1 "$tmp/train.json" | grep -q '"val_loss":' && pass "final line carries val_loss" \
    || flunk "final line carries val_loss" "$tmp/train.json"

for f in session.json model.safetensors optimizer.safetensors; do
    [ -s "$s/$f" ] && pass "session has $f" || flunk "session has $f"
done

run sample "$s" --length 50 --seed 1
cp "$tmp/out" "$tmp/sample1"
[ "$status" -eq 0 ] && pass "sample" || flunk "sample: status $status" "$tmp/err"
run sample "$s" --length 50 --seed 1
if cmp -s "$tmp/out" "$tmp/sample1" && [ "$(wc -c <"$tmp/sample1")" -ge 50 ]; then
    pass "sample with the same seed repeats"
else
    flunk "sample with the same seed repeats" "$tmp/out"
fi

run sample "$s" --length 20 --seed 3 --prime "the cat "
head -c 8 "$tmp/out" | grep -q '^the cat ' && pass "sample prints the prime first" \
    || flunk "sample prints the prime first" "$tmp/out"

run sample "$s" --length 5 --prime "the Zoo"
if [ "$status" -eq 0 ] && grep -q "prime: 1 character not in the vocabulary was skipped (first: 'Z')" "$tmp/err"; then
    pass "sample warns about unknown prime characters"
else
    flunk "sample warns about unknown prime characters" "$tmp/err"
fi

run sample "$s" --length 10 --seed 1 --json
if [ "$status" -eq 0 ] && grep -q '"tokens":10' "$tmp/out" && grep -q '"text":' "$tmp/out"; then
    pass "sample --json"
else
    flunk "sample --json" "$tmp/out"
fi

run eval "$s" --json
if [ "$status" -eq 0 ] && grep -q '"loss":[0-9]' "$tmp/out" && grep -q '"tokens":' "$tmp/out"; then
    pass "eval --json prints a loss"
else
    flunk "eval --json prints a loss" "$tmp/out"
fi
run eval "$s" --split all --streams 4
grep -q '^all: loss [0-9.]* nats' "$tmp/out" && pass "eval --split all" || flunk "eval --split all" "$tmp/out"
runtime_error "rnnlab: " "eval of an empty test split" eval "$s" --split test
runtime_error "rnnlab: test split: 0 tokens to score; at least 2 are needed" \
    "eval --weights of an empty test split" eval "$s" --split test --weights int8

# the generation path scores the text as the training path does (fp32, one
# stream: the same numbers up to summation order); 16 and 8 bits stay close
run eval "$s" --json
exact=$(sed -n 's/.*"loss":\([0-9.e-]*\).*/\1/p' "$tmp/out")
for w in fp32 fp16 int8; do
    run eval "$s" --weights "$w" --json
    got=$(sed -n 's/.*"loss":\([0-9.e-]*\).*/\1/p' "$tmp/out")
    case $w in fp32) tol=0.0001 ;; fp16) tol=0.002 ;; *) tol=0.02 ;; esac
    if [ "$status" -eq 0 ] && grep -q "\"weights\":\"$w\"" "$tmp/out" && [ -n "$got" ] \
        && awk -v a="$got" -v b="$exact" -v t="$tol" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; then
        pass "eval --weights $w: loss $got vs $exact"
    else
        flunk "eval --weights $w: loss '$got' vs '$exact' (tolerance $tol)" "$tmp/out"
    fi
done

run train --resume "$s" --steps 5
[ "$status" -eq 0 ] && pass "train --resume --steps 5" || flunk "train --resume: status $status" "$tmp/err"
grep -q 'step 35 ' "$tmp/out" && pass "resume continues the step count" || flunk "resume continues the step count" "$tmp/out"
run train --resume "$s" --steps 2 --lr 0.001 --json --quiet
if [ "$status" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q '"step":37,' "$tmp/out" \
    && grep -q '"lr":0.001,' "$tmp/out"; then
    pass "resume with a new --lr, --json --quiet prints one line"
else
    flunk "resume with a new --lr, --json --quiet" "$tmp/out"
fi

run train --corpus "$tmp/corpus.txt" --layers 1 --hidden 16 --embed 8 \
    --seq-len 8 --batch 2 --time 1
if [ "$status" -eq 0 ] && grep -q '(time limit)' "$tmp/out"; then
    pass "train --time stops"
else
    flunk "train --time stops" "$tmp/out"
fi

# Cosine needs the run's length; with --time, the fraction of the time
# spent is its position: from --lr down towards --min-lr.
usage_error "the cosine schedule needs the run's length: give --steps, --epochs or --time" \
    "cosine without a length" train --corpus "$tmp/corpus.txt" --layers 1 --hidden 8 \
    --embed 4 --schedule cosine
run train --corpus "$tmp/corpus.txt" --layers 1 --hidden 16 --embed 8 \
    --seq-len 8 --batch 2 --schedule cosine --min-lr 1e-4 --time 1 --json
if [ "$status" -eq 0 ] && sed 's/.*"lr":\([^,]*\),.*/\1/' "$tmp/out" | awk '
        NR == 1 { first = $1 } { if ($1 > prev && NR > 1) up = 1; prev = $1 }
        END { exit !(NR > 5 && !up && first > 0.0019 && prev < 0.0005 && prev >= 1e-4) }'; then
    pass "train --schedule cosine --time anneals over the time"
else
    flunk "train --schedule cosine --time anneals over the time" "$tmp/out"
fi

# SIGINT: stop after the current step, validate, save, exit 0.  The
# output file is emptied here, not by the background job's redirection:
# until the job gets to that, the last test's "step" lines would still be
# there, and the signal would arrive before rnnlab catches it (a
# background job of a script starts with SIGINT ignored).
: >"$tmp/out"
"$RNNLAB" train --corpus "$tmp/corpus.txt" --layers 1 --hidden 16 --embed 8 \
    --seq-len 8 --batch 2 --save "$tmp/interrupted" >>"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^step ' "$tmp/out"; do
    sleep 0.1
    i=$((i + 1))
done
kill -INT "$pid"
wait "$pid"
status=$?
if [ "$status" -eq 0 ] && grep -q '(interrupted)' "$tmp/out" && [ -s "$tmp/interrupted/session.json" ]; then
    pass "SIGINT stops training cleanly and saves"
else
    flunk "SIGINT stops training cleanly and saves (status $status)" "$tmp/out"
fi

# ------------------------------------------------------- a closed pipe

# A reader that goes away (| head) ends a command quietly with status 0,
# whether SIGPIPE comes with its default action or ignored (as some parents
# leave it); train stops early, as on Ctrl-C, and still saves.

# piped READER CMD...: rnnlab CMD... | READER (a command line), with
# SIGPIPE ignored when $ignore is set; rnnlab's status in $status, its
# stderr in $tmp/err, what the reader let through in $tmp/out.
piped() {
    reader=$1
    shift
    {
        [ -n "$ignore" ] && trap '' PIPE
        "$RNNLAB" "$@" 2>"$tmp/err"
        echo $? >"$tmp/status"
    } | $reader >"$tmp/out"
    status=$(cat "$tmp/status")
}

# quiet DESCRIPTION: the last piped command exited 0 and said nothing.
quiet() {
    if [ "$status" -eq 0 ] && [ ! -s "$tmp/err" ]; then
        pass "$1"
    else
        flunk "$1: exit status $status" "$tmp/err"
    fi
}

# saved_step DIR: the step the session in DIR was saved at.
saved_step() {
    sed -n 's/^[[:space:]]*"step":[[:space:]]*\([0-9]*\),$/\1/p' "$1/session.json" | head -n 1
}

for ignore in "" yes; do
    how=${ignore:+", SIGPIPE ignored"}
    piped 'head -c 10' sample "$s" --device cpu --length 100000
    quiet "sample | head -c 10$how"
    [ "$(wc -c <"$tmp/out")" -eq 10 ] && pass "... head got its 10 bytes$how" \
        || flunk "... head got its 10 bytes$how" "$tmp/out"
    piped 'head -n 1' sample "$s" --device cpu --length 100000 --json
    quiet "sample --json | head -n 1$how"
    rm -rf "$tmp/piped"
    piped 'head -n 1' train --corpus "$tmp/corpus.txt" --layers 1 --hidden 16 --embed 8 \
        --seq-len 8 --batch 2 --steps 100000 --json --save "$tmp/piped"
    quiet "train --json | head -n 1$how"
    step=$(saved_step "$tmp/piped")
    if [ "$(wc -l <"$tmp/out")" -eq 1 ] && [ -n "$step" ] && [ "$step" -lt 100000 ]; then
        pass "... stops early and saves (step $step)$how"
    else
        flunk "... stops early and saves (step '$step')$how" "$tmp/out"
    fi
    rm -rf "$tmp/piped"
    piped 'head -n 1' train --corpus "$tmp/corpus.txt" --layers 1 --hidden 16 --embed 8 \
        --seq-len 8 --batch 2 --steps 100000 --device cpu --save "$tmp/piped"
    quiet "train | head -n 1$how"
    step=$(saved_step "$tmp/piped")
    if [ -n "$step" ] && [ "$step" -lt 100000 ]; then
        pass "... stops early and saves (step $step)$how"
    else
        flunk "... stops early and saves (step '$step')$how" "$tmp/out"
    fi
    # eval writes when done, long after the reader has gone
    piped true eval "$s" --device cpu --split all
    quiet "eval | true$how"
done

# Output that cannot be written is an error of one line.
if [ -w /dev/full ]; then
    for cmd in "sample --length 50" "sample --length 50 --json" "eval"; do
        "$RNNLAB" $cmd "$s" --device cpu >/dev/full 2>"$tmp/err"
        status=$?
        if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] \
            && grep -q '^rnnlab: write error on standard output: ' "$tmp/err"; then
            pass "$cmd >/dev/full: one line, status 1"
        else
            flunk "$cmd >/dev/full: status $status" "$tmp/err"
        fi
    done
fi

# ------------------------------------------------------------ decoding

usage_error "--top-p: '1.5' is out of range" "--top-p 1.5" sample "$s" --top-p 1.5
usage_error "--beam: '0' is out of range" "--beam 0" sample "$s" --beam 0
usage_error "--n-best: 2 is more than the beam width 1" "--n-best without --beam" \
    sample "$s" --n-best 2
usage_error "--repetition-penalty: '0' is out of range" "--repetition-penalty 0" \
    sample "$s" --repetition-penalty 0
usage_error "--stop: empty" "--stop ''" sample "$s" --stop ''
run sample --help
grep -q -- '--beam W' "$tmp/out" && grep -q -- '--repetition-penalty' "$tmp/out" \
    && pass "sample --help lists the decoding options" \
    || flunk "sample --help lists the decoding options" "$tmp/out"

run sample "$s" --prime "the " --length 30 --greedy --seed 1
cp "$tmp/out" "$tmp/greedy1"
run sample "$s" --prime "the " --length 30 --greedy --seed 2
cmp -s "$tmp/out" "$tmp/greedy1" && pass "--greedy ignores the seed" \
    || flunk "--greedy ignores the seed" "$tmp/out"
run sample "$s" --prime "the " --length 30 --top-k 1 --seed 3
cmp -s "$tmp/out" "$tmp/greedy1" && pass "--top-k 1 is greedy" || flunk "--top-k 1 is greedy" "$tmp/out"
run sample "$s" --prime "the " --length 30 --beam 1 --temperature 0.0001 --seed 4
cmp -s "$tmp/out" "$tmp/greedy1" && pass "--temperature 0.0001 is greedy" \
    || flunk "--temperature 0.0001 is greedy" "$tmp/out"
run sample "$s" --prime "the " --length 30 --temperature 0 --seed 5
cmp -s "$tmp/out" "$tmp/greedy1" && pass "--temperature 0 is greedy, as set temperature 0" \
    || flunk "--temperature 0 is greedy, as set temperature 0" "$tmp/out"

# Early stopping: with a min-delta nothing can meet, the first validation
# is the best and the next one ends the run, which still saves.
run train --corpus "$tmp/corpus.txt" --model gru --layers 1 --hidden 8 --embed 4 \
    --seq-len 8 --batch 2 --eval-every 1 --patience 1 --min-delta 100 --steps 50 \
    --save "$tmp/patient"
if [ "$status" -eq 0 ] && grep -q '^stopped at step 2 (no improvement in 1 validation; best [0-9.]* at step [12])' "$tmp/out" \
    && [ -f "$tmp/patient/session.json" ]; then
    pass "--patience stops the run and says why; the session is saved"
else
    flunk "--patience stops the run and says why; the session is saved" "$tmp/out"
fi

# The best checkpoint: --keep-best keeps it, --best uses it, and a session
# without one says so.
run train --corpus "$tmp/corpus.txt" --model gru --layers 1 --hidden 8 --embed 4 \
    --seq-len 8 --batch 2 --eval-every 2 --steps 6 --keep-best --save "$tmp/best" --quiet
if [ "$status" -eq 0 ] && [ -f "$tmp/best/best.safetensors" ] \
    && grep -q '"best_step"' "$tmp/best/session.json"; then
    pass "--keep-best saves best.safetensors and its step"
else
    flunk "--keep-best saves best.safetensors and its step" "$tmp/err"
fi
expect 0 "" "eval --best" eval "$tmp/best" --best
expect 0 "" "sample --best" sample "$tmp/best" --best --length 5
runtime_error "no best weights kept (train with --keep-best)" \
    "eval --best without a best checkpoint" eval "$tmp/patient" --best

# A LayerNorm LSTM: saved as such, sampled (fp32 and int8), evaluated,
# resumed as such; the flag is fixed when resuming.
run train --corpus "$tmp/corpus.txt" --layers 2 --hidden 8 --embed 4 --seq-len 8 \
    --batch 2 --eval-every 0 --steps 4 --layer-norm --save "$tmp/ln" --quiet
if [ "$status" -eq 0 ] && grep -q '"layer_norm":.*true' "$tmp/ln/session.json"; then
    pass "--layer-norm trains and the session says layer_norm"
else
    flunk "--layer-norm trains and the session says layer_norm" "$tmp/err"
fi
expect 0 "" "sample of a layer-norm session" sample "$tmp/ln" --length 5 --weights int8
expect 0 "" "eval of a layer-norm session" eval "$tmp/ln"
expect 0 "" "resume a layer-norm session" train --resume "$tmp/ln" --steps 2 --quiet
usage_error "--layer-norm cannot change when resuming" "--layer-norm with --resume" \
    train --resume "$tmp/ln" --layer-norm

# The AWD-LSTM regularisers: --awd's values under the options given, in
# the session; a resumed run may change them; meaningless combinations
# are refused in one line.
run train --corpus "$tmp/corpus.txt" --awd --layers 1 --hidden 8 --embed 4 --seq-len 12 \
    --batch 2 --eval-every 2 --steps 4 --json --save "$tmp/awd"
if [ "$status" -eq 0 ] && grep -q '"weight_drop":.*0.5' "$tmp/awd/session.json" \
    && grep -q '"optimizer":.*"ntasgd"' "$tmp/awd/session.json" \
    && grep -q '"bptt_jitter":.*true' "$tmp/awd/session.json" \
    && grep -q '"seq_len":.*12' "$tmp/awd/session.json" \
    && grep -q '"objective"' "$tmp/out"; then
    pass "--awd trains with its settings under the options given"
else
    flunk "--awd trains with its settings under the options given" "$tmp/err"
fi
expect 0 "" "resume an awd session with --weight-drop 0.2" \
    train --resume "$tmp/awd" --steps 2 --weight-drop 0.2 --quiet
if grep -q '"weight_drop":.*0.2' "$tmp/awd/session.json"; then
    pass "... and the session keeps the new rate"
else
    flunk "... and the session keeps the new rate" "$tmp/awd/session.json"
fi
usage_error "locked-dropout needs a dropout rate above 0" "--locked-dropout without dropout" \
    train --corpus "$tmp/corpus.txt" --dropout 0 --locked-dropout --steps 1
usage_error "locked-dropout needs a dropout rate above 0" \
    "--locked-dropout with every place's own rate 0" \
    train --corpus "$tmp/corpus.txt" --dropout 0.3 --dropout-input 0 --dropout-hidden 0 \
    --dropout-output 0 --locked-dropout --steps 1

# Dropout's rate per place: --awd's three in the session, the header names
# the rates that act, unset gives a place back to --dropout, a resumed run
# continues bit for bit as one run does, nonsense is refused in one line.
if grep -q '"dropout_input":.*0.65' "$tmp/awd/session.json" \
    && grep -q '"dropout_hidden":.*0.3' "$tmp/awd/session.json" \
    && grep -q '"dropout_output":.*0.4' "$tmp/awd/session.json"; then
    pass "--awd saves dropout-input 0.65, -hidden 0.3, -output 0.4"
else
    flunk "--awd saves dropout-input 0.65, -hidden 0.3, -output 0.4" "$tmp/awd/session.json"
fi
places="--corpus $tmp/corpus.txt --layers 2 --hidden 8 --embed 4 --seq-len 8 --batch 2 \
    --eval-every 0 --dropout 0.2 --dropout-input 0.5 --dropout-output 0 --locked-dropout"
run train $places --steps 4 --save "$tmp/places4"
if [ "$status" -eq 0 ] && grep -q "dropout input 0.5, hidden 0.2, output 0" "$tmp/out"; then
    pass "--dropout-input/--dropout-output: the header names each place's rate"
else
    flunk "--dropout-input/--dropout-output: the header names each place's rate" "$tmp/out"
fi
run train $places --steps 2 --save "$tmp/places2" --quiet
run train --resume "$tmp/places2" --steps 2 --quiet
if [ "$status" -eq 0 ] && cmp -s "$tmp/places2/model.safetensors" "$tmp/places4/model.safetensors"; then
    pass "per-place dropout: 2 steps + 2 resumed are 4 steps, bit for bit"
else
    flunk "per-place dropout: 2 steps + 2 resumed are 4 steps, bit for bit" "$tmp/err"
fi
expect 0 "" "resume with --dropout-input unset" \
    train --resume "$tmp/places2" --steps 1 --dropout-input unset --quiet
if ! grep -q '"dropout_input"' "$tmp/places2/session.json" \
    && grep -q '"dropout_output":.*0' "$tmp/places2/session.json"; then
    pass "... the place is unset in the session, the others kept"
else
    flunk "... the place is unset in the session, the others kept" "$tmp/places2/session.json"
fi
expect 0 "--dropout-hidden does nothing with one layer" "--dropout-hidden with one layer" \
    train --corpus "$tmp/corpus.txt" --layers 1 --hidden 8 --embed 4 --seq-len 8 --batch 2 \
    --eval-every 0 --steps 1 --dropout-hidden 0.3 --quiet
usage_error "^rnnlab: --dropout-input: '1' is out of range (>= 0 and < 1, or unset)$" \
    "--dropout-input 1" train --corpus "$tmp/corpus.txt" --dropout-input 1
usage_error "^rnnlab: --dropout-output: 'half' is not a number or unset$" \
    "--dropout-output half" train --corpus "$tmp/corpus.txt" --dropout-output half
usage_error "tar needs seq-len of 2 or more" "--tar with --seq-len 1" \
    train --corpus "$tmp/corpus.txt" --seq-len 1 --tar 1 --steps 1
usage_error "bptt-jitter needs seq-len of 10 or more" "--bptt-jitter with --seq-len 5" \
    train --corpus "$tmp/corpus.txt" --seq-len 5 --bptt-jitter --steps 1
usage_error "bptt-jitter needs seq-len of 10 or more" "--resume turning bptt-jitter on with seq-len 8" \
    train --resume "$tmp/ln" --bptt-jitter --steps 1
usage_error "--awd cannot change when resuming" "--awd with --resume" \
    train --resume "$tmp/awd" --awd

# A session's values pass the settings table's ranges, as set would: an
# edited session.json is refused in one line and left as it was.
rm -rf "$tmp/edited" && cp -r "$s" "$tmp/edited"
sed 's/"temperature":[^,]*/"temperature": 150/' "$s/session.json" >"$tmp/edited/session.json"
cp "$tmp/edited/session.json" "$tmp/edited.json"
runtime_error "session.json: temperature: '150' is out of range (0 to 100)" \
    "sample refuses an out-of-range setting in session.json" sample "$tmp/edited"
runtime_error "session.json: temperature: '150' is out of range (0 to 100)" \
    "eval refuses an out-of-range setting in session.json" eval "$tmp/edited"
runtime_error "session.json: temperature: '150' is out of range (0 to 100)" \
    "train --resume refuses an out-of-range setting in session.json" \
    train --resume "$tmp/edited" --steps 1
cmp -s "$tmp/edited/session.json" "$tmp/edited.json" \
    && pass "the refused session is left as it was" \
    || flunk "the refused session is left as it was" "$tmp/edited/session.json"

run sample "$s" --length 8 --beam 3 --n-best 2 --json
if [ "$status" -eq 0 ] && [ "$(grep -c '"index":' "$tmp/out")" -eq 8 ] \
    && tail -n 1 "$tmp/out" | grep -q '"beams":\[{"text":.*"score":.*},{"text":'; then
    pass "--beam 3 --n-best 2 --json: token lines, then two beams"
else
    flunk "--beam 3 --n-best 2 --json" "$tmp/out"
fi
run sample "$s" --prime "the " --length 5 --seed 1 --json --top-p 0.9 --repetition-penalty 1.2
if [ "$status" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 6 ] \
    && head -n 1 "$tmp/out" | grep -q '"prob":.*"model_prob":.*"top":\[{"token":'; then
    pass "--json: per-token probability and alternatives"
else
    flunk "--json: per-token probability and alternatives" "$tmp/out"
fi
run sample "$s" --prime "the " --length 30 --greedy --half
if [ "$status" -eq 0 ] && [ "$(wc -c <"$tmp/out")" -ge 35 ]; then
    pass "--half"
else
    flunk "--half" "$tmp/err"
fi
# --json escapes what JSON must: quotes, backslashes, tabs, control characters
printf 'a"\\\t\001\na"\\\t\001\n%.0s' $(seq 1 40) > "$tmp/escapes.txt"
run train --corpus "$tmp/escapes.txt" $small --eval-every 0 --quiet --save "$tmp/esc"
run sample "$tmp/esc" --length 40 --seed 2 --temperature 3 --json
if [ "$status" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 41 ] \
    && ! LC_ALL=C grep -q "$(printf '[\001\t]')" "$tmp/out" \
    && grep -qF '"token":"\""' "$tmp/out" && grep -qF '"token":"\\"' "$tmp/out" \
    && grep -qF '"token":"\t"' "$tmp/out" && grep -qF '"token":"\u0001"' "$tmp/out" \
    && grep -qF '"token":"\n"' "$tmp/out"; then
    pass "--json escapes quotes, backslashes, tabs and control characters"
else
    flunk "--json escaping" "$tmp/out"
fi
run sample "$s" --prime "the " --length 30 --weights int8 --timing
if [ "$status" -eq 0 ] && [ "$(wc -c <"$tmp/out")" -ge 35 ] \
    && grep -q '^{"tokens": 30, "seconds": [0-9.]*, "tokens_per_s": [0-9.]*, "cpu_seconds": [0-9.]*, "weights": "int8"}$' "$tmp/err"; then
    pass "--weights int8 --timing: text on stdout, speed on stderr"
else
    flunk "--weights int8 --timing" "$tmp/err"
fi
first=$(head -c 5 "$tmp/greedy1" | tail -c 1)
run sample "$s" --length 200 --greedy --prime "the " --stop "$first"
if [ "$status" -eq 0 ] && [ "$(wc -c <"$tmp/out")" -lt 200 ]; then
    pass "--stop ends the text early"
else
    flunk "--stop ends the text early" "$tmp/out"
fi

# ------------------------------------------------------------ tokenizers

usage_error "--bpe-vocab: '256' is not a whole number from 257 to 65536" "--bpe-vocab 256" \
    train --tokens bpe --bpe-vocab 256
usage_error "--max-vocab: '1' is not a whole number from 2 to 16777216" "--max-vocab 1" \
    train --tokens word --max-vocab 1
usage_error "--tokens: unknown value 'words' (choose char, word or bpe)" "--tokens words" \
    train --tokens words
usage_error "--min-count applies only to word tokens (tokens is bpe)" "--min-count with bpe" \
    train --tokens bpe --min-count 2
usage_error "--bpe-vocab applies only to bpe tokens (tokens is char)" "--bpe-vocab alone" \
    train --bpe-vocab 300

# char text in ASCII: bits per byte are bits per character
run eval "$s" --json
if [ "$status" -eq 0 ] && python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert abs(r["bpb"] - r["bpc"]) < 1e-6, r
' "$tmp/out" 2>"$tmp/err"; then
    pass "eval --json: bpb equals bpc for an ASCII char model"
else
    flunk "eval --json: bpb equals bpc for an ASCII char model" "$tmp/out"
fi

w="$tmp/word"
run train --corpus "$tmp/corpus.txt" --tokens word --min-count 2 --model gru --layers 1 \
    --hidden 16 --embed 8 --seq-len 8 --batch 2 --steps 6 --eval-every 3 --save "$w"
if [ "$status" -eq 0 ] && grep -q 'word tokens, vocabulary' "$tmp/out" \
    && grep -q '^step 6 .* bpb [0-9.]* ' "$tmp/out" && grep -q '^val loss .* bpb [0-9.]*$' "$tmp/out" \
    && grep -q '"kind":[[:space:]]*"word"' "$w/session.json"; then
    pass "train --tokens word: word tokens, bits per byte, the tokenizer in session.json"
else
    flunk "train --tokens word" "$tmp/out"
fi
run sample "$w" --length 40 --seed 1 --prime "the zebra sat" --stop-at-eos
if [ "$status" -eq 0 ] && grep -q "prime: 1 word not in the vocabulary became <unk> (first: 'zebra')" "$tmp/err" \
    && head -c 13 "$tmp/out" | grep -q '^the zebra sat' && [ "$(wc -l <"$tmp/out")" -le 2 ]; then
    pass "word sample: the prime, one warning for an unknown word, --stop-at-eos"
else
    flunk "word sample" "$tmp/err"
fi
run sample "$w" --length 12 --seed 2 --json
if [ "$status" -eq 0 ] && grep -q '"tokens":12' "$tmp/out" \
    && head -n 1 "$tmp/out" | grep -q '"token":"[^"]*","text":"[^"]*"'; then
    pass "word sample --json: 12 tokens, each with its token and its text"
else
    flunk "word sample --json" "$tmp/out"
fi
run eval "$w" --json
grep -q '"bpb":[0-9]' "$tmp/out" && pass "word eval --json has bpb" || flunk "word eval --json" "$tmp/out"
usage_error "--tokens cannot change when resuming" "--tokens with --resume" \
    train --resume "$w" --tokens bpe

# The adaptive softmax: its shape printed and kept in session.json;
# sampled (fp32, int8, a beam), evaluated and resumed; cutoffs that do not
# fit the vocabulary or do not increase, a tied, a label-smoothed or a
# cutoff-less one refused in one line.
a="$tmp/adaptive"
run train --corpus "$tmp/corpus.txt" --tokens word --min-count 2 --softmax adaptive \
    --cutoffs 4,10 --head-bias --layers 1 --hidden 16 --embed 8 --seq-len 8 --batch 2 \
    --steps 6 --eval-every 3 --save "$a"
if [ "$status" -eq 0 ] && grep -q '^adaptive softmax: head 6 (shortlist 4 + 2 clusters); 6 tokens via 4, [0-9]* tokens via 1; head bias$' "$tmp/out" \
    && grep -q '"softmax":[[:space:]]*"adaptive"' "$a/session.json" \
    && grep -q '"head_bias":[[:space:]]*true' "$a/session.json" \
    && grep -q '^step 6 .* acc nan ' "$tmp/out"; then
    pass "train --softmax adaptive: its shape, the session, no training accuracy"
else
    flunk "train --softmax adaptive" "$tmp/out"
fi
expect 0 "" "sample of an adaptive session" sample "$a" --length 10 --weights int8
expect 0 "" "beam search of an adaptive session" sample "$a" --length 5 --beam 3
run eval "$a" --json
grep -q '"accuracy":0*[.0-9]' "$tmp/out" && pass "eval of an adaptive session" \
    || flunk "eval of an adaptive session" "$tmp/out"
expect 0 "" "resume an adaptive session" train --resume "$a" --steps 2 --quiet
usage_error "--cutoffs cannot change when resuming" "--cutoffs with --resume" \
    train --resume "$a" --cutoffs 5,9
runtime_error "^rnnlab: model: cutoff 100000 is not below the vocabulary size [0-9]*$" \
    "--cutoffs past the vocabulary" train --corpus "$tmp/corpus.txt" --tokens word \
    --softmax adaptive --cutoffs 5,100000 --steps 1
usage_error "^rnnlab: --cutoffs: '10,5' does not increase (5 after 10)$" \
    "--cutoffs that do not increase" train --corpus "$tmp/corpus.txt" --cutoffs 10,5
usage_error "tie is for the full softmax" "--softmax adaptive with --tie" \
    train --corpus "$tmp/corpus.txt" --softmax adaptive --cutoffs 5 --tie
usage_error "label-smoothing is for the full softmax" \
    "--softmax adaptive with --label-smoothing" train --corpus "$tmp/corpus.txt" \
    --softmax adaptive --cutoffs 5 --label-smoothing 0.1
usage_error "the adaptive softmax needs 1 to 8 cutoffs" "--softmax adaptive without cutoffs" \
    train --corpus "$tmp/corpus.txt" --softmax adaptive

b="$tmp/bpe"
run train --corpus "$tmp/corpus.txt" --tokens bpe --bpe-vocab 300 --layers 1 --hidden 16 \
    --embed 8 --seq-len 8 --batch 2 --steps 4 --eval-every 0 --save "$b" --json
if [ "$status" -eq 0 ] && tail -n 1 "$tmp/out" | grep -q '"val_bpb":[0-9]' \
    && grep -q '"kind":[[:space:]]*"bpe"' "$b/session.json" \
    && grep -q '"merges":[[:space:]]*\[\[' "$b/session.json" \
    && grep -q '"vocab":[[:space:]]*300' "$b/session.json"; then
    pass "train --tokens bpe: val_bpb, the merges in session.json"
else
    flunk "train --tokens bpe" "$tmp/out"
fi
expect 0 "" "bpe sample" sample "$b" --length 20 --seed 1 --prime "the cat"
head -c 7 "$tmp/out" | grep -q '^the cat' || flunk "bpe sample prints the prime" "$tmp/out"
expect 0 "" "bpe eval --split all" eval "$b" --split all
runtime_error "--stop-at-eos: the session's bpe tokenizer has no <eos> token" \
    "--stop-at-eos without an <eos>" sample "$b" --stop-at-eos

# tokenize: a new tokenizer from a corpus, or a session's
usage_error "give either --corpus FILE (a new tokenizer) or a session DIR" \
    "tokenize without a tokenizer" tokenize --text x
usage_error "--tokens: a session's tokenizer is fixed" "tokenize DIR --tokens" \
    tokenize "$w" --tokens bpe --text x
run tokenize --corpus "$tmp/corpus.txt" --tokens bpe --bpe-vocab 300 --text "the cat sat"
if [ "$status" -eq 0 ] && grep -q '^[0-9][0-9]*	" cat"$' "$tmp/out" \
    && [ "$(cut -f 2 "$tmp/out" | tr -d '"\n')" = "the cat sat" ]; then
    pass "tokenize --corpus --tokens bpe: one id and token a line"
else
    flunk "tokenize --corpus --tokens bpe" "$tmp/out"
fi
run tokenize "$b" --json --text "the dog, line 7."
if [ "$status" -eq 0 ] && python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["kind"] == "bpe" and r["vocab_size"] == 300 and r["bytes"] == 16
assert "".join(r["tokens"]) == "the dog, line 7." and len(r["ids"]) == len(r["tokens"])
' "$tmp/out" 2>"$tmp/err"; then
    pass "tokenize DIR --json: ids and tokens that join to the text"
else
    flunk "tokenize DIR --json" "$tmp/out"
fi
"$RNNLAB" tokenize "$w" --stats <"$tmp/corpus.txt" >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q '^tokenizer word, vocabulary [0-9]' "$tmp/out" \
    && grep -q 'tokens per byte$' "$tmp/out" && grep -q '^<unk>: [0-9,]* tokens, [0-9.]*%$' "$tmp/out" \
    && grep -q '^most frequent:$' "$tmp/out"; then
    pass "tokenize DIR --stats < FILE"
else
    flunk "tokenize DIR --stats" "$tmp/out"
fi
head -c 20000 /dev/urandom >"$tmp/random.bin"
"$RNNLAB" tokenize --corpus "$tmp/corpus.txt" --tokens bpe --json <"$tmp/random.bin" >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["bytes"] == 20000 and len(r["ids"]) <= 20000
' "$tmp/out" 2>>"$tmp/err"; then
    pass "tokenize --json of random bytes"
else
    flunk "tokenize --json of random bytes" "$tmp/err"
fi

# ------------------------------------------------------------ embeddings

vec=${srcdir:-.}/tests/data/emb-small.vec
printf 'the cat sat on the mat\nThe dog sat\n' >"$tmp/emb1.txt"
for i in 1 2 3 4 5 6 7 8; do cat "$tmp/emb1.txt" "$tmp/emb1.txt" "$tmp/emb1.txt"; done >"$tmp/emb.txt"
emb_train="train --corpus $tmp/emb.txt --tokens word --hidden 8 --layers 1 --batch 2 --seq-len 4 --eval-every 0 --threads 1 --device cpu"
# shellcheck disable=SC2086
run $emb_train --embed-init "$vec" --embed-init-lower --freeze-embed --steps 3 --save "$tmp/emb"
if [ "$status" -eq 0 ] && grep -q '^embed-init: 6 of 9 tokens (66.7%) from .* (2 ignoring case); the rest random; 1 word met again was skipped' "$tmp/out" \
    && grep -q 'embed 4 (frozen)' "$tmp/out"; then
    pass "train --embed-init: the coverage line, embed from the file"
else
    flunk "train --embed-init" "$tmp/out"
fi
# emb_rows DIR FILE: the rows of encoder.weight of the tokens found in the
# vector file are its vectors (exactly, folded for The and dog).
emb_rows() {
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
d, vec = sys.argv[1], sys.argv[2]
s = json.load(open(d + "/session.json"))
toks = s["tokenizer"]["tokens"]
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
e = h["encoder.weight"]
a, b = e["data_offsets"]
V, E = e["shape"]
w = struct.unpack("<%df" % (V * E), raw[8 + n + a:8 + n + b])
file = {}
for line in open(vec).read().split("\n")[1:]:
    f = line.split()
    if f and f[0] not in file:
        file[f[0]] = [struct.unpack("<f", struct.pack("<f", float(x)))[0] for x in f[1:]]
want = {"the": "the", "cat": "cat", "sat": "sat", "<eos>": "</s>", "The": "the", "dog": "Dog"}
for i, t in enumerate(toks):
    if t in want:
        assert list(w[i * E:(i + 1) * E]) == file[want[t]], (t, w[i * E:(i + 1) * E])
PY
}
if [ "$status" -eq 0 ] && emb_rows "$tmp/emb" "$vec" 2>"$tmp/err"; then
    pass "the rows found hold the file's vectors in model.safetensors"
else
    flunk "rows from the vector file" "$tmp/err"
fi
# encoder_bytes DIR: encoder.weight's bytes in hex, then the rest's.
encoder_bytes() {
    python3 -c '
import json, struct, sys
raw = open(sys.argv[1] + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
a, b = h["encoder.weight"]["data_offsets"]
print(raw[8 + n + a:8 + n + b].hex())
print(raw[8 + n:8 + n + a].hex() + raw[8 + n + b:].hex())
' "$1"
}
encoder_bytes "$tmp/emb" >"$tmp/enc0"
run train --resume "$tmp/emb" --steps 5 --eval-every 0
encoder_bytes "$tmp/emb" >"$tmp/enc1"
if [ "$status" -eq 0 ] && grep -q '"freeze_embed":[[:space:]]*true' "$tmp/emb/session.json" \
    && [ "$(sed -n 1p "$tmp/enc0")" = "$(sed -n 1p "$tmp/enc1")" ] \
    && [ "$(sed -n 2p "$tmp/enc0")" != "$(sed -n 2p "$tmp/enc1")" ]; then
    pass "--freeze-embed: resumed, encoder.weight byte for byte, the rest trained"
else
    flunk "--freeze-embed keeps encoder.weight" "$tmp/err"
fi
run train --resume "$tmp/emb" --steps 2 --eval-every 0 --freeze-embed=off
encoder_bytes "$tmp/emb" >"$tmp/enc2"
if [ "$status" -eq 0 ] && grep -q '"freeze_embed":[[:space:]]*false' "$tmp/emb/session.json" \
    && [ "$(sed -n 1p "$tmp/enc1")" != "$(sed -n 1p "$tmp/enc2")" ]; then
    pass "--freeze-embed=off on --resume trains the embedding again"
else
    flunk "--freeze-embed=off" "$tmp/err"
fi
# shellcheck disable=SC2086
runtime_error "embed 8 does not match the 4 values of each vector in .*emb-small.vec" \
    "--embed that differs from the file's" $emb_train --embed-init "$vec" --embed 8 --steps 1
# shellcheck disable=SC2086
runtime_error "tie needs --hidden equal to the 4 values" "--tie with another --hidden" \
    $emb_train --embed-init "$vec" --tie --steps 1
usage_error "embed-init cannot change when resuming" "--embed-init with --resume" \
    train --resume "$tmp/emb" --embed-init "$vec"
printf '3 4\nthe 1.0 2.0 3.0 4.0\ncat 1.0 2.0 nan 4.0\nsat 1.0 2.0 3.0 4.0\n' >"$tmp/nan.vec"
# shellcheck disable=SC2086
runtime_error "nan.vec: line 3: value 3 of 'cat' is NaN" "a NaN in a vector: file, line, word" \
    $emb_train --embed-init "$tmp/nan.vec" --steps 1 --save "$tmp/emb-nan"
[ ! -e "$tmp/emb-nan" ] && pass "a refused vector file saves nothing" \
    || flunk "a refused vector file saves nothing"
head -c 100 "${srcdir:-.}/tests/data/emb-small.bin" >"$tmp/cut.bin"
# shellcheck disable=SC2086
runtime_error "cut.bin: the header declares 8 vectors" "a truncated binary file" \
    $emb_train --embed-init "$tmp/cut.bin" --steps 1
# shellcheck disable=SC2086
runtime_error "emb-small.vec: the header declares 8 vectors" "--embed-format bin on a text file" \
    $emb_train --embed-init "$vec" --embed-format bin --steps 1
printf 'load %s tokens=word embed-init=%s embed-init-lower=on freeze-embed=on\nshow embed-init\nshow freeze-embed\n' \
    "$tmp/emb.txt" "$vec" >"$tmp/emb.script"
run -x "$tmp/emb.script"
if [ "$status" -eq 0 ] && grep -q 'embed-init: 6 of 9 tokens' "$tmp/out" \
    && grep -q "embed-init  *$vec" "$tmp/out" && grep -q 'freeze-embed  *on' "$tmp/out"; then
    pass "load ... embed-init=FILE freeze-embed=on in a script"
else
    flunk "load with embed-init" "$tmp/out"
fi

# The token cache: a corpus of 8 MiB or more is tokenized into a cache file
# that a second run and eval reuse (the file untouched, the losses equal),
# and --no-cache trains the same without it.
cache=$tmp/tokcache
i=0
while [ $i -lt 7 ]; do cat "${top_srcdir:-$(dirname "$0")/..}/data/tiny-plays.txt"; i=$((i + 1)); done >"$tmp/big.txt"
cache_train() {
    env RNNLAB_CACHE_DIR="$cache" "$RNNLAB" train --corpus "$tmp/big.txt" --steps 2 \
        --eval-every 0 --val-frac 0.001 --layers 1 --hidden 16 --batch 4 --seq-len 16 \
        --threads 1 --json "$@" 2>"$tmp/err" | grep '"val_loss"' | sed 's/"tokens_per_s":[^,]*,//'
}
first=$(cache_train --save "$tmp/cached") && cached=$(ls "$cache"/big.txt-*.tok 2>/dev/null)
if [ -n "$first" ] && [ "$(echo "$cached" | wc -l)" -eq 1 ] && [ ! -s "$tmp/err" ]; then
    pass "train: a large corpus goes to the token cache, silently"
else
    flunk "train: token cache built" "$tmp/err"
fi
before=$(stat -c %Y.%y "$cached" 2>/dev/null)
second=$(cache_train)
if [ -n "$second" ] && [ "$second" = "$first" ] && [ "$(stat -c %Y.%y "$cached")" = "$before" ]; then
    pass "train again: the cache reused (unchanged), the same losses"
else
    flunk "train again with the cache: '$first' vs '$second'" "$tmp/err"
fi
nocache=$(cache_train --no-cache)
if [ "$nocache" = "$first" ] && [ "$(stat -c %Y.%y "$cached")" = "$before" ]; then
    pass "train --no-cache: the same losses, the cache untouched"
else
    flunk "train --no-cache: '$first' vs '$nocache'" "$tmp/err"
fi
env RNNLAB_CACHE_DIR="$cache" "$RNNLAB" eval "$tmp/cached" --json >"$tmp/out" 2>"$tmp/err"
e1=$?
env RNNLAB_CACHE_DIR=off "$RNNLAB" eval "$tmp/cached" --json >"$tmp/out2" 2>>"$tmp/err"
if [ $e1 -eq 0 ] && [ $? -eq 0 ] && cmp -s "$tmp/out" "$tmp/out2" \
    && [ "$(stat -c %Y.%y "$cached")" = "$before" ]; then
    pass "eval reuses the cache train made, as without it"
else
    flunk "eval with the token cache" "$tmp/err"
fi
touch "$tmp/big.txt"
third=$(cache_train)
if [ "$third" = "$first" ] && [ "$(stat -c %Y.%y "$cached")" != "$before" ] \
    && [ "$(ls "$cache" | wc -l)" -eq 1 ]; then
    pass "train after touching the corpus: the cache rebuilt in place"
else
    flunk "token cache after touch" "$tmp/err"
fi
# rnnlab cache: the listing names the corpus and the state; clear --stale
# removes what the corpus' change made stale, clear --all passes over a
# cache another process maps.
rcache() {
    env RNNLAB_CACHE_DIR="$cache" "$RNNLAB" cache "$@"
}
rcache >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q "current  *char  *0.001/0  *$tmp/big.txt\$" "$tmp/out" \
    && grep -q "^1 file, .* in $cache\$" "$tmp/out" \
    && rcache --json | grep -q "\"corpus\":\"$tmp/big.txt\",\"tokenizer\":\"char\".*\"state\":\"current\",\"in_use\":false"; then
    pass "cache: lists the cache with its corpus, tokenizer, split and state"
else
    flunk "rnnlab cache" "$tmp/out"
fi
cache_train --val-frac 0.002 >/dev/null
touch -d '1 hour ago' "$tmp/big.txt"
rcache clear --stale --dry-run >"$tmp/out" 2>"$tmp/err"
dry=$?
rcache >"$tmp/out2"
if [ $dry -eq 0 ] && [ "$(grep -c '^would remove .*big.txt-.*\.tok' "$tmp/out")" -eq 2 ] \
    && [ "$(grep -c 'corpus changed' "$tmp/out2")" -eq 2 ] && [ "$(ls "$cache" | wc -l)" -eq 2 ]; then
    pass "cache clear --stale --dry-run: names the two caches the change made stale, keeps them"
else
    flunk "cache clear --stale --dry-run" "$tmp/out"
fi
rcache clear --stale >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && grep -q '^removed 2 files, ' "$tmp/out" && [ -z "$(ls "$cache")" ] \
    && rcache | grep -q "^no token caches in $cache\$"; then
    pass "cache clear --stale: the stale caches removed"
else
    flunk "cache clear --stale" "$tmp/out"
fi
env RNNLAB_CACHE_DIR="$cache" "$RNNLAB" train --corpus "$tmp/big.txt" --time 4 \
    --eval-every 0 --val-frac 0.001 --layers 1 --hidden 16 --batch 4 --seq-len 16 \
    --threads 1 >/dev/null 2>&1 &
bg=$!
i=0
while [ $i -lt 100 ] && ! rcache | grep -q 'current, in use'; do sleep 0.1; i=$((i + 1)); done
rcache clear --all >"$tmp/out" 2>"$tmp/err"
kept=$?
wait $bg
rcache clear --all >"$tmp/out2" 2>>"$tmp/err"
if [ $kept -eq 0 ] && grep -q '^removed 0 files, 0 B; kept 1 in use$' "$tmp/out" \
    && grep -q "^rnnlab: kept $cache/big.txt-.*\.tok: in use by another process\$" "$tmp/err" \
    && grep -q '^removed 1 file, ' "$tmp/out2" && [ -z "$(ls -A "$cache")" ]; then
    pass "cache clear --all: keeps a cache a training maps, removes it once it is done"
else
    flunk "cache clear --all with a cache in use" "$tmp/err"
fi
rcache clear >/dev/null 2>"$tmp/err"
s1=$?
env RNNLAB_CACHE_DIR=off "$RNNLAB" cache >/dev/null 2>>"$tmp/err"
s2=$?
if [ $s1 -eq 2 ] && [ $s2 -eq 1 ] && grep -q 'give --stale .* or --all' "$tmp/err" \
    && grep -q 'no token cache directory' "$tmp/err"; then
    pass "cache: clear without --stale or --all and no cache directory are errors"
else
    flunk "cache errors" "$tmp/err"
fi
mkdir -p "$tmp/ro" && : >"$tmp/ro/file"
env RNNLAB_CACHE_DIR="$tmp/ro/file/cache" "$RNNLAB" train --corpus "$tmp/big.txt" --steps 1 \
    --eval-every 0 --val-frac 0.001 --layers 1 --hidden 16 --batch 4 --seq-len 16 \
    --threads 1 --json >/dev/null 2>"$tmp/err"
if [ $? -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'no token cache (.*); the tokens stay in memory' "$tmp/err"; then
    pass "train with an unwritable cache directory: one line, tokens in memory"
else
    flunk "train with an unwritable cache directory" "$tmp/err"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
