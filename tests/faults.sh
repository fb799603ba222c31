#!/bin/sh
# faults.sh - fault injection: each file-system call a save makes fails in turn, and each call opening a session or its corpus, and each allocation of setting up training; every one must end in a one-line error (or, where the program can do without the call, in the same result), never a changed or half-written session.
#
# tests/faultshim.so (LD_PRELOAD) counts the calls on paths below one
# directory and fails the Nth of a kind (see its header).  Run by
# `make check`, or by hand after `make tests/faultshim.so`:
#   RNNLAB=src/rnnlab sh tests/faults.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
SHIM=${top_builddir:-.}/tests/faultshim.so
srcdir=${srcdir:-.}
if [ ! -x "$RNNLAB" ] || [ ! -f "$SHIM" ]; then
    echo "faults.sh: $RNNLAB or $SHIM is not built" >&2
    exit 99
fi
case $SHIM in /*) ;; *) SHIM=$(pwd)/$SHIM ;; esac
# A sanitizer's runtime must come first and replaces malloc itself.
if ldd "$RNNLAB" 2>/dev/null | grep -q 'lib[at]san'; then
    echo "faults.sh: skipped: $RNNLAB is built with a sanitizer"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-faults.XXXXXX") || exit 99
tmp=$(cd "$tmp" && pwd -P)
# $tmp/full is a file system of its own when the disk-full test could
# mount one.
trap 'umount "$tmp/full" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/report.sh"
points=0

# The program on one CPU thread, so that every run makes the same calls.
export RNNLAB_DEVICE=cpu OPENBLAS_NUM_THREADS=1

work=$tmp/work              # the watched directory
sess=$work/sess
new=$work/new               # a session saved for the first time
ref=$tmp/ref                # sess as it was before each faulty run
corpus=$tmp/corpus.txt
mkdir "$work" || exit 99
head -c 20000 "$srcdir/data/tiny-plays.txt" >"$corpus" || exit 99
tiny="--model rnn --layers 1 --hidden 8 --embed 4 --batch 2 --seq-len 8 --eval-streams 1"

# shim SPEC CMD...: runs CMD with the shim making fault SPEC ("" counts
# only); stdout, stderr, the status and the shim's log go to $tmp/out,
# $tmp/err, $status and $tmp/log.
shim() {
    fault=$1
    shift
    rm -f "$tmp/log"
    env LD_PRELOAD="$SHIM" RNNLAB_FAULT_DIR="$work" RNNLAB_FAULT="$fault" \
        RNNLAB_FAULT_LOG="$tmp/log" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    status=$?
}

# calls KIND: how many calls of KIND the last run made.
calls() {
    sed -n "s/^$1 \([0-9]*\)$/\1/p" "$tmp/log"
}

# The path the last fault was made on, without the ".tmp" of a file being
# written, and the directory holding it: a message must name one of them
# (unless the fault had no path: an allocation).
faulted_path() {
    sed -n 's/^fault [a-z]* [0-9]* [a-z0-9]* //p' "$tmp/log" | sed 's/\.tmp$//'
}

names_fault() {
    p=$(faulted_path)
    [ -z "$p" ] || grep -qF -- "$p" "$1" || grep -qF -- "$(dirname "$p")" "$1"
}

# The watched directory holds what $1 lists, lock files aside (they stay).
only_left() {
    [ "$(ls -A "$work" | grep -v '\.lock$' | sort | tr '\n' ' ')" = "$1" ]
}

session_intact() {
    diff -r "$ref" "$sess" >/dev/null 2>&1 && "$RNNLAB" eval "$sess" >/dev/null 2>&1
}

# sess as it was, and no new session beside it.
restore() {
    rm -rf "$sess" "$new" && cp -R "$ref" "$sess"
}

# Exit status 1 and one line "rnnlab: ...".
one_error_line() {
    [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^rnnlab: ' "$tmp/err"
}

# The checks after a refused save; prints what is wrong (nothing: all is
# well).  $1: the pattern every stderr line must match.
refused_save_problem() {
    if [ "$status" -ne 1 ]; then
        echo "exit status $status, expected 1"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "$1" "$tmp/err"; then
        echo "not one error line"
    elif ! names_fault "$tmp/err"; then
        echo "the message does not name $(faulted_path)"
    elif ! only_left "sess "; then
        echo "left beside the session: $(ls -A "$work" | tr '\n' ' ')"
    elif ! session_intact; then
        echo "the session changed or does not load"
    fi
}

# A save into $target that went through although a call failed (one it
# can do without): it must load, with nothing left beside it but
# $saved_left.
saved_problem() {
    if ! only_left "$saved_left"; then
        echo "left beside the session: $(ls -A "$work" | tr '\n' ' ')"
    elif ! "$RNNLAB" eval "$target" >/dev/null 2>&1; then
        echo "the saved session does not load"
    fi
}

# each_fault WHAT SPEC N CHECK CMD...: CMD under the fault SPEC:I
# (KIND:ERR:I) for I = 1..N (every $stride-th I when set), from the
# session as it was; the function CHECK, given KIND, prints what is wrong
# after each run (nothing: all is well).
each_fault() {
    what=$1 spec=$2 n=${3:-0} check=$4
    shift 4
    bad=0 runs=0 i=1
    while [ "$i" -le "$n" ]; do
        restore
        shim "$spec:$i" "$@"
        problem=$("$check" "${spec%%:*}")
        if [ -n "$problem" ]; then
            flunk "$what, $spec at call $i: $problem" "$tmp/err"
            bad=$((bad + 1))
        fi
        runs=$((runs + 1))
        i=$((i + ${stride:-1}))
    done
    points=$((points + runs))
    [ "$bad" -eq 0 ] && pass "$what: $spec at $runs of its $n calls"
}

# A save under a fault of KIND: refused (every stderr line matching
# $pattern), or, for a kind in $may_pass, saved.
save_check() {
    if [ "$status" -eq 0 ] && echo " $may_pass " | grep -q " $1 "; then
        saved_problem
    else
        refused_save_problem "$pattern"
    fi
}

# fault_all WHAT KINDS ERRORS CMD...: each_fault ... save_check for every
# kind in KINDS and error in ERRORS, as many calls as a run without faults
# makes.
fault_all() {
    what=$1 kinds=$2 errors=$3
    shift 3
    restore
    shim "" "$@"
    if [ "$status" -ne 0 ]; then
        flunk "$what: the run without faults fails (status $status)" "$tmp/err"
        return
    fi
    cp "$tmp/log" "$tmp/counts"
    for kind in $kinds; do
        n=$(sed -n "s/^$kind \([0-9]*\)$/\1/p" "$tmp/counts")
        for err in $errors; do
            each_fault "$what" "$kind:$err" "$n" save_check "$@"
        done
    done
}

# ------------------------------------------------------------------ saving

"$RNNLAB" train --corpus "$corpus" $tiny --steps 2 --quiet --save "$sess" \
    >/dev/null 2>"$tmp/err" || { flunk "training the session" "$tmp/err"; exit 1; }
cp -R "$sess" "$ref"

save_kinds="open write fsync rename mkdir close stat"
pattern="^rnnlab: " may_pass=stat target=$sess saved_left="sess "
fault_all "train --resume" "$save_kinds" "ENOSPC EIO EACCES" \
    "$RNNLAB" train --resume "$sess" --steps 1 --quiet

# A first save: refused, it leaves no session and nothing else behind.
target=$new saved_left="new sess "
fault_all "train --save (new)" "$save_kinds" "ENOSPC EIO EACCES" \
    "$RNNLAB" train --corpus "$corpus" $tiny --steps 1 --quiet --save "$new"
target=$sess saved_left="sess "

# A script saves through the engine; it opens the session from outside
# the watched directory, so that only the save's calls count.
cp -R "$sess" "$tmp/outside"
cat >"$tmp/save.rnn" <<EOF
open $tmp/outside
train steps=1
wait
save $sess
EOF
pattern="^$tmp/save.rnn:4: error: save: "
fault_all "script save" "$save_kinds" "ENOSPC EIO EACCES" "$RNNLAB" -x "$tmp/save.rnn"

# --------------------------------------------------------------- disk full

# A small file system of its own (tmpfs), filled up: a save into it runs
# out of space for real, wherever that happens.  Mounting needs root (and
# the right to mount, which a container may not give); without it, this
# part is skipped, saying why (the shim's ENOSPC above covers each call).
full=$tmp/full
mkdir "$full" || exit 99
if [ "$(id -u)" -ne 0 ]; then
    why="not root"
elif ! why=$(mount -t tmpfs -o size=1m,mode=0700 rnnlab-faults "$full" 2>&1); then
    why="mount -t tmpfs failed: $(echo "$why" | head -n 1)"
else
    why=
fi
if [ -n "$why" ]; then
    echo "skip - disk full for real: $why"
else
    # fill LEAVE: takes all but about LEAVE KiB of the file system.
    fill() {
        rm -f "$full/filler"
        avail=$(df -k "$full" | awk 'NR == 2 { print $4 }')
        if [ "$avail" -gt "$1" ]; then
            dd if=/dev/zero of="$full/filler" bs=1k count=$((avail - $1)) 2>/dev/null
        fi
        [ "$1" -gt 0 ] || cat /dev/zero >>"$full/filler" 2>/dev/null
    }
    # full_problem: what is wrong after a save into the full file system
    # (nothing: refused as it should be).
    full_problem() {
        if [ "$status" -ne 1 ]; then
            echo "exit status $status, expected 1"
        elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "$1" "$tmp/err"; then
            echo "not one error line"
        elif ! grep -q "No space left on device" "$tmp/err" || ! grep -qF "$full/sess" "$tmp/err"; then
            echo "the message does not name the session and the lack of space"
        elif [ "$(ls -A "$full" | grep -v -e '\.lock$' -e '^filler$' | tr '\n' ' ')" != "sess " ]; then
            echo "left beside the session: $(ls -A "$full" | tr '\n' ' ')"
        elif ! diff -r "$ref" "$full/sess" >/dev/null 2>&1 || ! "$RNNLAB" eval "$full/sess" >/dev/null 2>&1; then
            echo "the session changed or does not load"
        fi
    }
    # full_save WHAT LEAVE PATTERN CMD...: CMD saves into the file system
    # filled up to LEAVE KiB.
    full_save() {
        what=$1 leave=$2 pattern=$3
        shift 3
        rm -rf "$full/sess"
        cp -R "$ref" "$full/sess"
        fill "$leave"
        "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
        status=$?
        problem=$(full_problem "$pattern")
        rm -f "$full/filler"
        points=$((points + 1))
        if [ -n "$problem" ]; then
            flunk "disk full ($leave KiB left), $what: $problem" "$tmp/err"
        else
            pass "disk full ($leave KiB left), $what: refused, the session intact"
        fi
    }
    cat >"$tmp/full.rnn" <<EOF
open $tmp/outside
train steps=1
wait
save $full/sess
EOF
    size=$(du -sk "$ref" | cut -f1)
    for leave in 0 4 $((size / 2)); do
        full_save "train --resume" "$leave" "^rnnlab: " \
            "$RNNLAB" train --resume "$full/sess" --steps 1 --quiet
        full_save "a script's save" "$leave" "^$tmp/full.rnn:4: error: save: " \
            "$RNNLAB" -x "$tmp/full.rnn"
    done
    umount "$full"
fi

# ------------------------------------------------------------------ locking

# Another process saving the same session (here: holding its lock) makes
# a save fail at once, naming that process.
if command -v python3 >/dev/null 2>&1; then
    restore
    python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
' "$work/.sess.lock" >"$tmp/holder" &
    holder=$!
    i=0
    while [ "$i" -lt 100 ] && ! grep -q locked "$tmp/holder"; do
        sleep 0.1
        i=$((i + 1))
    done
    "$RNNLAB" train --resume "$sess" --steps 1 --quiet >/dev/null 2>"$tmp/err"
    status=$?
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
        grep -q "^rnnlab: $sess: being saved by another process (pid $holder; " "$tmp/err" &&
        session_intact; then
        pass "a save while another process holds the lock is refused, naming it"
    else
        flunk "a save while another process holds the lock (status $status)" "$tmp/err"
    fi
else
    echo "skip - the lock test needs python3"
fi

# ----------------------------------------------------------------- reading

# eval opens the session and maps the corpus, both in the watched
# directory.  A short read is retried; other faults end in one line.
restore
cp "$corpus" "$work/corpus.txt"
"$RNNLAB" eval "$sess" --corpus "$work/corpus.txt" >"$tmp/want" 2>"$tmp/err" ||
    flunk "eval without faults" "$tmp/err"

# A run under a fault: with $outcome "same", the result without faults
# ($tmp/want); "error", one line naming the file; "either", one or the
# other.
outcome_check() {
    if [ "$status" -eq 0 ] && [ "$outcome" != error ]; then
        cmp -s "$tmp/out" "$tmp/want" || echo "a different result"
    elif [ "$outcome" = same ]; then
        echo "exit status $status, expected the result without faults"
    elif ! one_error_line; then
        echo "exit status $status, not one error line"
    elif ! names_fault "$tmp/err"; then
        echo "the message does not name $(faulted_path)"
    fi
}

# read_all KIND ERRORS OUTCOME: eval under each fault of KIND with each
# error in ERRORS, outcome_check'ed.
read_all() {
    kind=$1 errors=$2 outcome=$3
    shim "" "$RNNLAB" eval "$sess" --corpus "$work/corpus.txt"
    n=$(calls "$kind")
    for err in $errors; do
        each_fault eval "$kind:$err" "$n" outcome_check \
            "$RNNLAB" eval "$sess" --corpus "$work/corpus.txt"
    done
}

read_all open "EIO EACCES" error
read_all read "EIO EOF" error
read_all read SHORT same
read_all mmap "EIO ENOMEM" error
read_all stat "EIO" either
rm -f "$work/corpus.txt"

# -------------------------------------------------------------- allocation

# Each allocation of `train --steps 1` (the main thread's, from main on)
# fails in turn: a one-line error, or the result without the failure
# where the program does without (a smaller thread pool, stdio's buffer).
"$RNNLAB" train --corpus "$corpus" $tiny --steps 1 --quiet >"$tmp/want" 2>"$tmp/err" ||
    flunk "train without faults" "$tmp/err"
shim "" "$RNNLAB" train --corpus "$corpus" $tiny --steps 1 --quiet
outcome=either
each_fault train malloc:ENOMEM "$(calls malloc)" outcome_check \
    "$RNNLAB" train --corpus "$corpus" $tiny --steps 1 --quiet

# Opening a session makes hundreds (the JSON parser's): each fails in
# turn, and the error says that memory ran out, not that the files are
# bad (the JSON parser fails alike on both).
oom_check() {
    outcome_check "$1"
    if [ "$status" -ne 0 ] && ! grep -q 'out of memory\|does not fit in memory' "$tmp/err"; then
        echo "the error does not say that memory ran out"
    fi
}
"$RNNLAB" eval "$sess" >"$tmp/want" 2>"$tmp/err" || flunk "eval without faults" "$tmp/err"
shim "" "$RNNLAB" eval "$sess"
each_fault eval malloc:ENOMEM "$(calls malloc)" oom_check "$RNNLAB" eval "$sess"

echo "$points fault points; $passed passed, $failed failed"
[ "$failed" -eq 0 ]
