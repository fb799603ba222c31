#!/bin/sh
# asan.sh - runs the test suite in a build with AddressSanitizer (leaks
# included) and UndefinedBehaviorSanitizer, so that a memory error, a leak
# or undefined behaviour anywhere in the tests fails it.  .ci/run runs it
# after `make check`; `make check-asan` runs it too.
#   sh tests/asan.sh [BUILDDIR]     (default: build-asan in the source tree)
# JOBS sets make's -j (default 2).
# The build is CPU only (--without-cuda) and incremental: a second run
# rebuilds what changed.  Tests that run programs under valgrind skip there
# (exit 77), and the reasons of all skips are listed at the end.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd) || exit 99
build=${1:-$srcdir/build-asan}

say() { echo "asan.sh: $*"; }
die() { echo "asan.sh: $*" >&2; exit 99; }

mkdir -p "$build" || die "$build: cannot create the build directory"
build=$(cd "$build" && pwd)

# The sources.  A tree configured in place cannot be built out of tree as
# well (configure refuses, and make would take the objects built in place
# for its own), so it is copied: a git checkout as its working tree has it,
# new files included, else the files of the distribution (make distdir).
# Times are kept: unchanged files are not rebuilt.
src=$build/source
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    rm -rf "$src" && mkdir -p "$src" || die "$src: cannot create the copy of the sources"
    inside=
    case $build/ in "$srcdir"/*) inside=${build#"$srcdir"/}/ ;; esac
    # with the generated build files, when the tree has them
    (cd "$srcdir" &&
        { git -c core.quotePath=false ls-files --cached --others --exclude-standard
          for f in configure aclocal.m4 Makefile.in build-aux; do
              [ -e "$f" ] && echo "$f"
          done; } |
        while IFS= read -r f; do
            case $f in "$inside"*) [ -n "$inside" ] && continue ;; esac
            [ -e "$f" ] && echo "$f"
        done | tar -cf - -T - | tar -C "$src" -xpf -) ||
        die "$srcdir: cannot copy the sources to $src"
elif [ -f "$srcdir/config.status" ]; then
    rm -rf "$src" || die "$src: cannot remove the old copy of the sources"
    make -C "$srcdir" distdir distdir="$src" >"$build/distdir.out" 2>&1 || {
        cat "$build/distdir.out" >&2
        die "make distdir failed in $srcdir"
    }
else
    src=$srcdir
fi

if [ ! -x "$src/configure" ] || [ "$src/configure.ac" -nt "$src/configure" ] \
    || [ "$src/Makefile.am" -nt "$src/Makefile.in" ]; then
    say "running autoreconf -fi"
    (cd "$src" && autoreconf -fi) >"$build/autoreconf.out" 2>&1 || {
        cat "$build/autoreconf.out" >&2
        die "autoreconf failed"
    }
fi

# -fsanitize=undefined leaves out float-cast-overflow; pointer-compare and
# pointer-subtract catch ordering pointers into different objects.
sanitize='-fsanitize=address,undefined,float-cast-overflow,pointer-compare,pointer-subtract -fno-sanitize-recover=all'
if [ ! -f "$build/config.status" ]; then
    say "configuring $build"
    (cd "$build" && "$src/configure" --without-cuda \
        CFLAGS="-O1 -g $sanitize -fno-omit-frame-pointer" LDFLAGS="$sanitize") \
        >"$build/configure.out" 2>&1 || {
        cat "$build/configure.out" >&2
        die "configure failed (see $build/config.log)"
    }
fi

# A program with an error ends with status 99, which no test expects of
# rnnlab.  ASan's and LSan's reports also go to files of their own, so that
# one from a program whose failure a test expects, or from a terminal the
# test does not read, still fails the run.  UBSan, next to ASan, writes to
# stderr only: its reports are looked for in the tests' logs.  The tests
# of running out of memory need allocations too large for ASan to return
# NULL, as malloc does.
reports=$build/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports" || die "$reports: cannot create it"
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:detect_invalid_pointer_pairs=2:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:exitcode=99:log_path=$reports/asan"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"
export ASAN_OPTIONS UBSAN_OPTIONS

say "make -j${JOBS:-2} check in $build"
status=0
make -C "$build" -j"${JOBS:-2}" check || status=$?

# Nothing skips silently: each skipped test's last words before the verdict.
for trs in "$build"/tests/*.trs; do
    [ -f "$trs" ] && grep -q '^:test-result: SKIP' "$trs" || continue
    log=${trs%.trs}.log
    say "skipped ${log#"$build"/}: $(sed '$d' "$log" | grep -v '^$' | tail -n 1)"
done
# Warnings (an allocation refused, say) are not errors.
found=0
for r in "$reports"/* "$build"/tests/*.log; do
    [ -f "$r" ] && grep -q -e 'ERROR: .*Sanitizer' -e 'SUMMARY: .*Sanitizer' -e 'runtime error: ' "$r" || continue
    found=1
    echo "===== $r ====="
    cat "$r"
done
if [ "$found" -ne 0 ]; then
    say "the sanitizers reported errors (above)" >&2
    [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ] && [ -f "$build/test-suite.log" ]; then
    echo "===== $build/test-suite.log ====="
    cat "$build/test-suite.log"
fi
[ "$status" -eq 0 ] && say "passed"
exit "$status"
