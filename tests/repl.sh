#!/bin/sh
# repl.sh - end-to-end tests of the command language through scripts
# (rnnlab -x FILE and commands piped on stdin) on the small text in
# tests/data: train a few steps, set and show, sample, save, open, the
# errors and the exit statuses.  Run by `make check` or by hand:
#   RNNLAB=src/rnnlab srcdir=. sh tests/repl.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
srcdir=${srcdir:-.}
if [ ! -x "$RNNLAB" ]; then
    echo "repl.sh: $RNNLAB is not built" >&2
    exit 99
fi
case $RNNLAB in /*) ;; *) RNNLAB=$(pwd)/$RNNLAB ;; esac
case $srcdir in /*) ;; *) srcdir=$(pwd)/$srcdir ;; esac
corpus=$srcdir/tests/data/garden.txt

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-repl.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# Keep the user's history and sessions out of it.
export HOME="$tmp/home" XDG_STATE_HOME="$tmp/state" XDG_DATA_HOME="$tmp/data"
mkdir -p "$HOME"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
flunk() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    for f in "$tmp/out" "$tmp/err"; do
        [ -s "$f" ] && sed 's/^/    | /' "$f" | tail -n 25
    done
}

# script NAME: writes stdin to $tmp/NAME.rnn
script() { cat >"$tmp/$1.rnn"; }

# runx NAME [ARGS...]: runs the script, status in $status
runx() {
    name=$1
    shift
    (cd "$tmp" && "$RNNLAB" -x "$tmp/$name.rnn" "$@") >"$tmp/out" 2>"$tmp/err"
    status=$?
}

has() { grep -q -e "$1" "$tmp/out"; }
has_err() { grep -q -e "$1" "$tmp/err"; }

# check DESCRIPTION CONDITION...: passes when the command succeeds
check() {
    desc=$1
    shift
    if "$@"; then pass "$desc"; else flunk "$desc"; fi
}

# A small, fast model for every run.
small="model gru layers=1 hidden=32 embed=16
set batch 4
set seq-len 32
set threads 1"

# ---------------------------------------------------------------- a session

script main <<EOF
load $corpus
$small
train steps=20
wait
status
show temperature
set temperature 0.5
prime "The "
sample 50
save $tmp/s1
eval val
set weights int8
sample 30
EOF
runx main
check "a full script exits 0" test "$status" -eq 0
check "commands are echoed" has '^> train steps=20$'
check "training ran to its limit" has 'training stopped at step 20 (step limit)'
check "the final validation is shown" has '^step 20: val loss [0-9.]*  ppl'
check "status shows the step" has '^idle  step 20 .*gru 1x32'
check "show prints the setting" has '^  temperature        1$'
check "set confirms the value" has '^temperature = 0.5$'
check "the sample is headed and primed" \
    has '^--- sample: step 20, temperature 0.5, prime "The " ---$'
check "the sample text starts with the prime" has '^The '
check "the session was saved" test -f "$tmp/s1/session.json"
check "save says where" has "saved session to $tmp/s1 (step 20)"
check "eval prints a result" has '^step 20: val loss'
check "no errors" test ! -s "$tmp/err"
check "set weights int8 is taken" has '^weights = int8$'
check "... and sampling with 8-bit weights runs, headed so" \
    has '^--- sample: step 20, temperature 0.5, int8 weights, prime "The " ---$'

# sample length: 50 tokens after "The " (a char model: 54 characters)
# (the text may hold newlines: count the characters up to the next command)
chars=$(sed -n '/^--- sample/,/^> save/p' "$tmp/out" | sed '1d;$d' | wc -m)
check "sample 50 gives 50 characters after the prime" test "$chars" -ge 55

# ---------------------------------------------------------------- open

script reopen <<EOF
open $tmp/s1
status
show temperature
show prime
resume
pause
stop
EOF
runx reopen
check "open works and exits 0" test "$status" -eq 0
check "open says paused" has "opened $tmp/s1 at step 20 (paused"
check "the opened session is paused at step 20" has '^paused  step 20 '
check "settings come back with the session" has '^  temperature        0.5$'
check "the prime comes back" has '^  prime              "The "$'

printf 'status\n' | "$RNNLAB" open "$tmp/s1" >"$tmp/out" 2>"$tmp/err"
status=$?
check "rnnlab open DIR with commands on stdin" test "$status" -eq 0
check "... opens the session paused" has '^paused  step 20 '

script withcorpus <<EOF
status
EOF
runx withcorpus --corpus "$corpus"
check "--corpus loads the text before the script" has "^loaded $corpus: 3547 tokens"

# ---------------------------------------------------------------- words

# A word-level model with an adaptive softmax, through the command
# language: load's tokenizer options, model's softmax keys, show and
# status naming the tokens, bits per byte, a prime with unknown words,
# sample counting words, and the session keeping it all.
script words <<EOF
load $corpus tokens=word min-count=2 lowercase=on
model gru layers=1 hidden=16 embed=16 softmax=adaptive cutoffs=10,40 div-value=2
set batch 4
set seq-len 16
set threads 1
show
status
train steps=6
wait
prime "the zzqx garden xyzzy"
sample 12
save $tmp/w1
EOF
runx words
check "a word script exits 0" test "$status" -eq 0
check "load tokens=word: the vocabulary of words seen twice" \
    has "^loaded $corpus: [0-9]* tokens (word), vocabulary [0-9]*;"
vocab=$(sed -n 's/^loaded .* tokens (word), vocabulary \([0-9]*\);.*/\1/p' "$tmp/out")
check "show names the adaptive softmax, the tokenizer and its vocabulary" \
    has "^model: gru 1x16 adaptive-softmax, .* params, word vocabulary $vocab; embed 16"
check "show lists the model's softmax keys as settings" has '^  cutoffs            10,40$'
check "the status line names them too" has "^idle  step 0 .* word vocabulary $vocab$"
check "the validation gives bits per byte" has '^step 6: val loss [0-9.]* .* bpb [0-9.]*  acc'
val=$(grep '^step 6: val' "$tmp/out")
check "a prime with unknown words warns once, naming the first" \
    test "$(grep -c "^prime: 2 words not in the vocabulary became <unk> (first: 'zzqx')$" \
        "$tmp/out")" -eq 1
# the words after the prime's four, and the <eos> tokens as line ends
text=$(sed -n '/^--- sample/,/^prime: /p' "$tmp/out" | sed '1d;$d')
words=$(($(echo "$text" | wc -w) - 4 + $(echo "$text" | wc -l) - 1))
check "sample 12 gives 12 tokens (words and line ends) after the prime" test "$words" -eq 12
check "the session keeps the softmax" grep -q '"softmax":[[:space:]]*"adaptive"' "$tmp/w1/session.json"

script wordsback <<EOF
open $tmp/w1
show
eval val
sample 5
EOF
runx wordsback
check "the word session opens" test "$status" -eq 0
check "... with its tokenizer, vocabulary and softmax" \
    has "^model: gru 1x16 adaptive-softmax, .* word vocabulary $vocab;"
check "... and the same validation" test "$(grep '^step 6: val' "$tmp/out")" = "$val"
check "... and samples words" has '^--- sample: step 6'

# ---------------------------------------------------------------- errors

script errors <<EOF
load $corpus
$small
sampel 10
set temperature hot
set lr 0.01
pause
train steps=0
open $tmp/nonexistent
eval everything
show lr
EOF
runx errors
check "a failed command makes the exit status 1" test "$status" -eq 1
check "errors name the script line" has_err "errors.rnn:6: unknown command 'sampel'; did you mean 'sample'?"
check "a bad value names the problem and the usage" \
    has_err "errors.rnn:7: set: temperature: 'hot' is not a number (usage: set KEY VALUE)"
check "engine errors are reported too" has_err "errors.rnn:9: error: pause: not training"
check "bad train limits" has_err "errors.rnn:10: train: steps: '0' is not a whole number >= 1"
check "a missing session" has_err "errors.rnn:11: open: $tmp/nonexistent: no such session"
check "a bad split" has_err "errors.rnn:12: eval: unknown split 'everything'"
check "the script goes on after errors" has '^  lr                 0.01$'

# ---------------------------------------------------------------- end of script

script bounded <<EOF
load $corpus
$small
train steps=2000
EOF
runx bounded
# 2000 steps: still running when the script ends (15 steps of this model
# could finish before the end of the script is read)
check "a bounded run at the end is waited for" has 'training stopped at step 2000 (step limit)'
check "... and says so" has '^(end of script: waiting for training to finish)$'
check "... exit 0" test "$status" -eq 0

script timed <<EOF
load $corpus
$small
train time=1
EOF
runx timed
check "a timed run at the end is waited for" has 'training stopped at step [0-9]* (time limit)'

script unbounded <<EOF
load $corpus
$small
train
EOF
runx unbounded
check "an unbounded run at the end is stopped" has '^(end of script: stopping training)$'
check "... exit 0" test "$status" -eq 0

script waitforever <<EOF
load $corpus
$small
train
wait
EOF
runx waitforever
check "wait refuses an unbounded run" has_err 'wait: training has no limit'
check "... exit 1" test "$status" -eq 1

script reset <<EOF
load $corpus
$small
train steps=5
wait
set batch 8
show batch
status
EOF
runx reset
check "a rebuilding setting asks first (yes in scripts)" \
    has '^batch rebuilds the model; 5 unsaved trained steps are lost. Go ahead? yes (script)$'
check "... and starts over" has 'set batch 8: gru 1x32, 7299 parameters; training starts over'
check "... at step 0" has '^idle  step 0 '

# ---------------------------------------------------------------- sessions dir

mkdir -p "$tmp/sessions"
script named <<EOF
load $corpus
$small
train steps=2
wait
save first
sessions
EOF
runx named
check "a bare name saves under ./sessions" test -f "$tmp/sessions/first/session.json"
check "sessions lists it" has '^  first '
rm -rf "$tmp/sessions"
runx named
check "without ./sessions, XDG_DATA_HOME is used" \
    test -f "$tmp/data/rnnlab/sessions/first/session.json"

# ---------------------------------------------------------------- command line

printf 'status\nhelp quit\n' | (cd "$tmp" && "$RNNLAB") >"$tmp/out" 2>"$tmp/err"
status=$?
check "commands piped to rnnlab run" test "$status" -eq 0
check "... with their output" has '^usage: quit$'

script opt <<EOF
show temperature
EOF
runx opt -e 'set temperature 0.25'
check "-e runs before the script" has '^  temperature        0.25$'

runx missing-script
check "a missing script exits 1" test "$status" -eq 1
check "... naming it" has_err "rnnlab: $tmp/missing-script.rnn: No such file or directory"

"$RNNLAB" -x >"$tmp/out" 2>"$tmp/err"
check "-x without a file is a usage error" test $? -eq 2
check "... saying so" has_err "option '-x' needs a value"

"$RNNLAB" --corpus "$corpus" bogus >"$tmp/out" 2>"$tmp/err"
check "a stray argument is a usage error" test $? -eq 2

"$RNNLAB" --corpus "$corpus" open "$tmp/s1" >"$tmp/out" 2>"$tmp/err"
check "--corpus with open is a usage error" test $? -eq 2

# set device: moves a trained model, or is refused and changes nothing.
script device <<EOF
load $corpus
$small
train steps=5
wait
set device cuda
show device
sample 20
EOF
runx device
if has '^device = cuda (weights and optimizer state moved)$'; then
    check "set device cuda moves the model" has '^  device             cuda$'
else
    check "set device cuda without a GPU is refused" \
        grep -E -q -e 'set device: no CUDA device: |device: .*cuda' "$tmp/err"
    check "... and the model stays on the CPU" has '^  device             cpu$'
fi
check "... and still samples" has '^--- sample'

# SIGHUP (the terminal of a script closed): training pauses, the session
# is saved where it was saved before, at the latest step, and rnnlab ends.
script hup <<EOF
load $corpus
$small
save $tmp/hup
train steps=100000000
EOF
(cd "$tmp" && exec "$RNNLAB" -x "$tmp/hup.rnn") >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q '^training' "$tmp/out"; do sleep 0.1; i=$((i + 1)); done
sleep 1
kill -HUP "$pid"
wait "$pid"
status=$?
step=$(sed -n 's/^[[:space:]]*"step":[[:space:]]*\([0-9]*\).*/\1/p' "$tmp/hup/session.json" | head -n 1)
check "SIGHUP ends a script with status 0" test "$status" -eq 0
check "... after saving the session at the latest step ($step)" \
    has_err "^rnnlab: saved session to $tmp/hup (step ${step:-none})\$"
check "... past the first save" test "${step:-0}" -gt 0
check "... leaving no temporary directory" \
    test -z "$(ls -a "$tmp" | grep -e '^hup\.tmp' -e '^hup\.old')"

# ---------------------------------------------------------------- serve

# serve PORT: the model being trained over HTTP.  The commands go through
# a FIFO so that the test can ask the server between them.  Skipped in a
# build without libmicrohttpd, or without curl.
http() { curl -s -m 30 "$@"; }
if ! command -v curl >/dev/null 2>&1; then
    echo "skip - serve: needs curl"
elif printf 'serve 0\n' | "$RNNLAB" 2>&1 | grep -q 'without libmicrohttpd'; then
    echo "skip - serve: this rnnlab was built without libmicrohttpd"
else
    mkfifo "$tmp/cmds"
    (cd "$tmp" && "$RNNLAB" <"$tmp/cmds" >"$tmp/out" 2>"$tmp/err") &
    rnnlab_pid=$!
    exec 3>"$tmp/cmds"
    # say COMMAND...: sends the lines, then waits for the last one's echo
    # and for what it prints (the next command's echo, or 30 s)
    say() {
        printf '%s\n' "$@" "status" >&3
        n=$(grep -c '^> status$' "$tmp/out")
        for _ in $(seq 1 300); do
            [ "$(grep -c '^> status$' "$tmp/out")" -gt "$n" ] && grep -q '^> status$' "$tmp/out" \
                && tail -n 1 "$tmp/out" | grep -q '^[a-z]* .*step' && return 0
            sleep 0.1
        done
    }
    printf 'serve 0\n' >&3
    say "load $corpus" "$small" "set seed 3" "train steps=20" "wait" "save $tmp/s2" "serve 0"
    port=$(sed -n 's|^serving the model being trained on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$tmp/out")
    check "serve before a model is loaded is refused" has_err 'serve: no model yet'
    check "serve 0 serves on a free port, told in the messages" test -n "$port"
    check "status says it is serving" has "^idle  step 20 .*serving :$port\$"
    base=http://127.0.0.1:$port
    http "$base/v1/models" >"$tmp/models"
    check "GET /v1/models lists the model being trained at its step" \
        grep -q '"id":"live".*"step":20' "$tmp/models"
    http "$base/v1/completions" -d '{"prompt": "The ", "max_tokens": 30, "seed": 5}' \
        >"$tmp/completion"
    "$RNNLAB" sample "$tmp/s2" --prime "The " --length 30 --seed 5 --threads 1 --json \
        2>/dev/null | tail -n 1 >"$tmp/sample.json"
    same=$(/usr/bin/python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["choices"][0]["text"]
b = json.load(open(sys.argv[2]))["text"]
print(a == b and len(a) > 0)' "$tmp/completion" "$tmp/sample.json" 2>/dev/null)
    check "a completion is the text rnnlab sample gives the model saved then" \
        test "$same" = True
    say "train steps=10" "wait"
    for _ in $(seq 1 100); do      # the server looks for a new copy every 0.25 s
        http "$base/v1/models" >"$tmp/models"
        grep -q '"step":30' "$tmp/models" && break
        sleep 0.1
    done
    check "after more training the server has the new weights" \
        grep -q '"id":"live".*"step":30' "$tmp/models"
    say "serve 0"
    check "serve while serving is refused" has_err "serve: already serving on $base"
    say "show"
    check "show says it is serving" has "^serving: $base, model \"live\""
    say "serve stop"
    answered=$(sed -n 's/^stopped serving (\([0-9]*\) requests answered)$/\1/p' "$tmp/out")
    check "serve stop stops it, counting the requests (3 or more made)" \
        test "${answered:-0}" -ge 3
    http -o /dev/null "$base/health"
    check "... and the port is closed" test $? -ne 0
    say "serve stop"
    check "serve stop when not serving is an error" has_err 'serve stop: not serving'
    exec 3>&-
    wait "$rnnlab_pid"
    check "serve bad port is a usage error" sh -c \
        "printf 'serve 70000\n' | '$RNNLAB' 2>&1 | grep -q \"'70000' is not a port\""
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
