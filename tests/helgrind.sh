#!/bin/sh
# helgrind.sh - runs the engine's queue tests (tests/check_engine) under
# valgrind's helgrind, which reports data races and lock-order problems
# between the UI side and the engine thread.  Skips (77) without valgrind,
# and in a build with AddressSanitizer (RNNLAB_ASAN=yes), which valgrind
# cannot run.
builddir=${top_builddir:-.}
if [ "${RNNLAB_ASAN:-}" = yes ]; then
    echo "helgrind.sh: valgrind cannot run a build with AddressSanitizer; skipping the race check"
    exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "helgrind.sh: valgrind is not installed; skipping the race check"
    exit 77
fi
if [ ! -x "$builddir/tests/check_engine" ]; then
    echo "helgrind.sh: $builddir/tests/check_engine is not built" >&2
    exit 99
fi
# CK_FORK=no: the tests run in this process, where helgrind watches them.
# --fair-sched=yes: with valgrind's default lock a thread that spins
# (waiting for another) can keep it and starve the others for minutes.
CK_FORK=no valgrind --tool=helgrind --fair-sched=yes --error-exitcode=1 -q \
    "$builddir/tests/check_engine"
