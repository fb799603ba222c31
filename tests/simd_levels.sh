#!/bin/sh
# simd_levels.sh - the CPU backend's lower SIMD levels, run on a machine that has more: RNNLAB_SIMD caps the level, so the AVX2 kernels, the portable loops and OpenBLAS for every product (what a user without AVX-512 runs) get the kernel checks and the golden bits here too.
#
#   sh tests/simd_levels.sh        (make check runs it)
#
# For each level below this CPU's: `rnnlab --version` reports it, the
# kernel suites (against double-precision references) pass at it, and
# golden.sh compares its bits where a file is recorded for that level and
# this machine's OpenBLAS core.  A bad RNNLAB_SIMD is refused in one line.

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
TESTS_DIR=${top_builddir:-.}/tests
srcdir=${srcdir:-.}
if [ ! -x "$RNNLAB" ]; then
    echo "simd_levels.sh: $RNNLAB is not built" >&2
    exit 99
fi
. "$srcdir/tests/report.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-simd.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

unset RNNLAB_SIMD
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-300}"
level() {
    "$RNNLAB" --version | sed -n 's/^cpu: simd=\([a-z0-9]*\) .*/\1/p'
}
have=$(level)
case $have in
    avx512vnni) below="avx512 avx2 portable" ;;
    avx512) below="avx2 portable" ;;
    avx2) below="portable" ;;
    portable) below="" ;;
    *) echo "simd_levels.sh: rnnlab --version names no SIMD level ('$have')" >&2
       exit 99 ;;
esac
if [ -z "$below" ]; then
    echo "SKIP: this CPU runs the portable level only; there is no lower level to test"
    exit 77
fi
echo "# this CPU: $have; testing $below"

# A cap above the CPU's level changes nothing.
got=$(RNNLAB_SIMD=avx512vnni "$RNNLAB" --version | sed -n 's/^cpu: simd=\([a-z0-9]*\) .*/\1/p')
[ "$got" = "$have" ] && pass "a cap above the CPU ($have) leaves its level" ||
    flunk "a cap above the CPU ($have) leaves its level, not '$got'"

# A bad value: refused in one line naming the variable, nothing trained.
RNNLAB_SIMD=avx9 "$RNNLAB" train --corpus "$srcdir/tests/data/garden.txt" --steps 1 \
    --hidden 8 --embed 4 --seq-len 8 --batch 2 --device cpu >"$tmp/out" 2>"$tmp/err"
st=$?
if [ "$st" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
   grep -q "RNNLAB_SIMD: 'avx9' is not a SIMD level" "$tmp/err" && [ ! -s "$tmp/out" ]; then
    pass "RNNLAB_SIMD=avx9 is refused in one line"
else
    flunk "RNNLAB_SIMD=avx9 is refused in one line (status $st)" "$tmp/err"
fi

for l in $below; do
    got=$(RNNLAB_SIMD=$l level)
    [ "$got" = "$l" ] && pass "RNNLAB_SIMD=$l: --version reports $l" ||
        flunk "RNNLAB_SIMD=$l: --version reports $l, not '$got'"
    for suite in check_gemm check_backend check_optim check_model check_train check_pool \
                 check_sample check_session; do
        if RNNLAB_SIMD=$l "$TESTS_DIR/$suite" >"$tmp/log" 2>&1; then
            pass "RNNLAB_SIMD=$l: $suite"
        else
            tail -n 20 "$tmp/log" >"$tmp/tail"
            flunk "RNNLAB_SIMD=$l: $suite" "$tmp/tail"
        fi
    done
    RNNLAB_SIMD=$l RNNLAB="$RNNLAB" sh "$srcdir/tests/golden.sh" >"$tmp/log" 2>&1
    st=$?
    case $st in
        0) pass "RNNLAB_SIMD=$l: the golden bits" ;;
        77) echo "# RNNLAB_SIMD=$l: $(grep '^SKIP' "$tmp/log")" ;;
        *) tail -n 20 "$tmp/log" >"$tmp/tail"
           flunk "RNNLAB_SIMD=$l: the golden bits" "$tmp/tail" ;;
    esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
