#!/bin/sh
# tui.sh - the terminal interface driven through tmux: start rnnlab on the
# small text with a small model, see the plot and the step count advance,
# type `set temperature 0.5` and `sample 80`, see the sample, save, quit;
# then close the terminals of a TUI and a REPL that have a session.
# Skips (77) when tmux is missing.  Run by `make check` or by hand:
#   RNNLAB=src/rnnlab srcdir=. sh tests/tui.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
srcdir=${srcdir:-.}
if ! command -v tmux >/dev/null 2>&1; then
    echo "tui.sh: tmux is not installed; skipping the terminal interface test"
    exit 77
fi
if [ ! -x "$RNNLAB" ]; then
    echo "tui.sh: $RNNLAB is not built" >&2
    exit 99
fi
case $RNNLAB in /*) ;; *) RNNLAB=$(pwd)/$RNNLAB ;; esac
case $srcdir in /*) ;; *) srcdir=$(pwd)/$srcdir ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-tui.XXXXXX") || exit 99
sock=$tmp/tmux.sock
cleanup() {
    tmux -S "$sock" kill-server >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/home" "$tmp/work/sessions"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
flunk() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    sed 's/^/    | /' "$tmp/screen"
}

screen() { tmux -S "$sock" capture-pane -p -t rnnlab >"$tmp/screen" 2>/dev/null; }
keys() { tmux -S "$sock" send-keys -t rnnlab "$@"; }

# waitfor PATTERN [SECONDS]: until the screen matches the extended regular
# expression (a slow, shared machine gets a generous limit).
waitfor() {
    limit=$(( ${2:-60} * 5 ))
    i=0
    while [ $i -lt $limit ]; do
        screen
        LC_ALL=C grep -E -q -e "$1" "$tmp/screen" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# expect DESCRIPTION PATTERN [SECONDS]
expect() {
    if waitfor "$2" "${3:-60}"; then pass "$1"; else flunk "$1"; fi
}

# The step count in the status line.
step_now() {
    screen
    sed -n '1s/.* step \([0-9]*\).*/\1/p' "$tmp/screen"
}

# The program runs in a 100x32 window; its exit status goes to a file.
tmux -S "$sock" new-session -d -s rnnlab -x 100 -y 32 \
    "cd '$tmp/work' && HOME='$tmp/home' XDG_STATE_HOME='$tmp/state' LANG=C.UTF-8 LC_ALL=C.UTF-8 \
     '$RNNLAB' --corpus '$srcdir/tests/data/garden.txt' \
     -e 'model gru layers=1 hidden=32 embed=16' -e 'set batch 4' \
     -e 'set seq-len 32' -e 'set threads 1' -e 'set eval-every 20'; \
     echo \$? >'$tmp/status'; sleep 30" || { echo "tui.sh: tmux failed"; exit 99; }

expect "the status line shows training" '^ training  step [0-9]+'
# curves: braille dots, or '*' without UTF-8
if waitfor "$(printf '\342[\240-\243]')|[*]" 60; then
    pass "the plot is drawn"
else
    flunk "the plot is drawn"
fi
expect "the read-out shows the training loss" 'loss +[0-9]+\.[0-9]{4}'
# the read-out's second loss is the validation's
i=0
while [ $i -lt 300 ]; do
    screen
    [ "$(grep -E -c 'loss +[0-9]+\.[0-9]{4}' "$tmp/screen")" -ge 2 ] && break
    sleep 0.2
    i=$((i + 1))
done
if [ $i -lt 300 ]; then
    pass "a validation is shown"
else
    flunk "a validation is shown"
fi
first=$(step_now)
i=0
while [ $i -lt 100 ] && [ "$(step_now)" = "$first" ]; do sleep 0.2; i=$((i + 1)); done
second=$(step_now)
if [ -n "$first" ] && [ -n "$second" ] && [ "$second" -gt "$first" ]; then
    pass "the step count advances ($first, then $second)"
else
    flunk "the step count advances ('$first', then '$second')"
fi

expect "the status line marks unsaved training" '\[unsaved\]'

# Tab completes a command; the help box opens with F1 and closes with a key.
keys 'sampl' Tab
expect "Tab completes commands" '^> sample ?$' 20
keys C-u F1
expect "F1 shows the help" 'rnnlab help: any key closes it' 20
keys Escape
i=0
while [ $i -lt 50 ]; do
    screen
    grep -q 'rnnlab help' "$tmp/screen" || break
    sleep 0.2
    i=$((i + 1))
done
if [ $i -lt 50 ]; then pass "a key closes the help"; else flunk "a key closes the help"; fi

# A smaller terminal: the screen reflows.
tmux -S "$sock" resize-window -t rnnlab -x 60 -y 16 2>/dev/null
expect "the screen reflows to a smaller terminal" '^ training  step [0-9]+.{0,45}$' 20
# Back to 100x32, and wait until the screen has grown again: on a busy
# machine the second resize can land before the first was drawn, so it is
# repeated until the status line is wide (the sample below needs the room).
i=0
while [ $i -lt 10 ]; do
    tmux -S "$sock" resize-window -t rnnlab -x 100 -y 32 2>/dev/null
    waitfor '^ training  step [0-9]+.{60,}$' 2 && break
    i=$((i + 1))
done
expect "the screen grows back" '^ training  step [0-9]+.{60,}$' 5

keys 'set temperature 0.5' Enter
expect "set answers in the message pane" 'temperature = 0\.5'
# An error quoting what was typed shows a "\n" typed in quotes as typed,
# not as a line break.
keys 'set temperature "a\nb"' Enter
expect "an error shows a newline typed in quotes as typed" "'a\\\\nb' is not a"
keys 'prime "The "' Enter
keys 'sample 80' Enter
expect "the sample is headed with step and temperature" 'step [0-9]+ · temperature 0\.5'
expect "the sample text follows its prime" '^The .{20}'

keys 'save first' Enter
expect "save reports the session" 'saved session to sessions/first'
if [ -f "$tmp/work/sessions/first/session.json" ]; then
    pass "the session is on disk"
else
    flunk "the session is on disk"
fi

keys 'quit' Enter
# Training went on after the save, so quit asks; answer no.
if waitfor 'save it before quitting\? \[y/n\]' 20; then
    pass "quit asks about unsaved training"
    keys n
else
    flunk "quit asks about unsaved training"
fi
i=0
while [ $i -lt 150 ] && [ ! -s "$tmp/status" ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(cat "$tmp/status" 2>/dev/null)" = 0 ]; then
    pass "rnnlab quits with status 0"
else
    flunk "rnnlab quits with status 0 (got '$(cat "$tmp/status" 2>/dev/null)')"
fi
if [ -s "$tmp/state/rnnlab/history" ] && grep -q '^sample 80$' "$tmp/state/rnnlab/history"; then
    pass "the command history is saved"
else
    flunk "the command history is saved"
fi


# Without a UTF-8 locale: ASCII only.
rm -f "$tmp/status"
tmux -S "$sock" new-session -d -s ascii -x 80 -y 24 \
    "cd '$tmp/work' && HOME='$tmp/home' XDG_STATE_HOME='$tmp/state' LANG=C LC_ALL=C \
     '$RNNLAB' --corpus '$srcdir/tests/data/garden.txt' \
     -e 'model gru layers=1 hidden=16 embed=8' -e 'set batch 4' -e 'set threads 1'; \
     echo \$? >'$tmp/status'; sleep 30"
ascii() { tmux -S "$sock" capture-pane -p -t ascii >"$tmp/screen" 2>/dev/null; }
i=0
while [ $i -lt 300 ]; do
    ascii
    grep -q '^ training  step' "$tmp/screen" && grep -q '== train' "$tmp/screen" && break
    sleep 0.2
    i=$((i + 1))
done
if [ $i -lt 300 ] && ! LC_ALL=C grep -q "$(printf '[\200-\377]')" "$tmp/screen"; then
    pass "without UTF-8 the screen is ASCII"
else
    flunk "without UTF-8 the screen is ASCII"
fi
tmux -S "$sock" send-keys -t ascii C-d
sleep 0.5
tmux -S "$sock" send-keys -t ascii n
i=0
while [ $i -lt 150 ] && [ ! -s "$tmp/status" ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(cat "$tmp/status" 2>/dev/null)" = 0 ]; then
    pass "Ctrl-D quits"
else
    flunk "Ctrl-D quits (status '$(cat "$tmp/status" 2>/dev/null)')"
fi

# ---- Hang-up.  Closing the terminal (tmux's kill-server sends SIGHUP and
# closes the pane's terminal) saves a session that has a save path at the
# latest step and leaves no temporary directory: the TUI and the REPL,
# each in its own pane of a server of their own.
hsock=$tmp/hup.sock
# start_pane NAME ARGS [MORE]: rnnlab ARGS, the small model's options and
# MORE in a new pane; its pid in NAME.pid, its standard error in NAME.err
# (the terminal's own goes with it).
start_pane() {
    tmux -S "$hsock" new-session -d -s "$1" -x 100 -y 32 \
        "cd '$tmp/work' && echo \$\$ >'$tmp/$1.pid' && HOME='$tmp/home' \
         XDG_STATE_HOME='$tmp/state' LANG=C.UTF-8 LC_ALL=C.UTF-8 exec '$RNNLAB' $2 \
         -e 'model gru layers=1 hidden=32 embed=16' -e 'set batch 4' \
         -e 'set seq-len 32' -e 'set threads 1' ${3:-} 2>'$tmp/$1.err'"
}
hscreen() { tmux -S "$hsock" capture-pane -p -t "$1" >"$tmp/screen" 2>/dev/null; }
# hwait PANE PATTERN: until the pane shows the pattern (60 s at most).
hwait() {
    i=0
    while [ $i -lt 300 ]; do
        hscreen "$1"
        LC_ALL=C grep -E -q -e "$2" "$tmp/screen" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
start_pane thup "--corpus '$srcdir/tests/data/garden.txt'"
start_pane rhup "repl --corpus '$srcdir/tests/data/garden.txt'" "-e train"
hwait thup '^ training  step [0-9]+' && tmux -S "$hsock" send-keys -t thup 'save tui-hup' Enter
hwait rhup 'rnnlab>' && tmux -S "$hsock" send-keys -t rhup 'save repl-hup' Enter
hwait thup 'saved session to sessions/tui-hup' || flunk "the TUI saves before the hang-up"
hwait rhup 'saved session to sessions/repl-hup' || flunk "the REPL saves before the hang-up"
# training goes on past the save before the terminal goes
saved_step() { sed -n 's/^[[:space:]]*"step":[[:space:]]*\([0-9]*\).*/\1/p' "$1/session.json" | head -n 1; }
first_t=$(saved_step "$tmp/work/sessions/tui-hup")
first_r=$(saved_step "$tmp/work/sessions/repl-hup")
sleep 1
hscreen thup
shown=$(sed -n '1s/.* step \([0-9]*\).*/\1/p' "$tmp/screen")
tmux -S "$hsock" kill-server
for name in thup rhup; do
    pid=$(cat "$tmp/$name.pid")
    i=0
    while [ $i -lt 150 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && flunk "$name: rnnlab ends after the hang-up"
done
# hup_check WHAT DIR FIRST [SHOWN]: the session in DIR was saved again at
# the hang-up, past FIRST (and SHOWN, the last step on the screen), at the
# step its message names; nothing else (a write error) is on its stderr.
hup_check() {
    step=$(saved_step "$2")
    said=$(sed -n 's/.*saved session to .* (step \([0-9]*\))$/\1/p' "$tmp/$1.err" | tail -n 1)
    cp "$tmp/$1.err" "$tmp/screen"
    if grep -v -e "^rnnlab: paused at step" -e "^rnnlab: saved session to" "$tmp/$1.err" | grep -q .; then
        flunk "$1: nothing but the pause and the save on standard error"
    fi
    if [ -n "$step" ] && [ -n "$3" ] && [ "$step" -gt "$3" ] && [ "$step" = "$said" ] &&
        [ "$step" -ge "${4:-0}" ]; then
        pass "$1: the hang-up saves the latest step ($3 saved before, $step at the hang-up)"
    else
        flunk "$1: the hang-up saves the latest step ('$3' before, '$step' after, '$said' said, '${4:-}' shown)"
    fi
}
hup_check thup "$tmp/work/sessions/tui-hup" "$first_t" "$shown"
hup_check rhup "$tmp/work/sessions/repl-hup" "$first_r"
ls -a "$tmp/work/sessions" >"$tmp/screen"
if grep -q -e '\.tmp' -e '\.old' "$tmp/screen"; then
    flunk "the hang-up leaves no temporary directory"
else
    pass "the hang-up leaves no temporary directory"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
