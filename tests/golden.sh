#!/bin/sh
# golden.sh - the same build gives the same bits: for each cell a short
# fixed-seed training (its JSON lines, the SHA-256 of the saved weights and
# optimizer state, the loss history), its eval figures and fixed-seed
# samples (plain, beam, top-k/top-p with int8 weights), compared with
# tests/data/golden-SIMD-CORE.txt, one file per SIMD level our kernels
# pick between and OpenBLAS core (see signature below).  Bits
# per byte (val_bpb, bpb), printed since, are left out of the comparison:
# they follow from the losses compared and the text.
#   RNNLAB=src/rnnlab sh tests/golden.sh            compare
#   RNNLAB=src/rnnlab sh tests/golden.sh --record   write a new golden file
# The bits depend on the SIMD kernels the CPU runs and on OpenBLAS's kernel
# choice, so a machine with no file for its signature skips, saying why.
set -u

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
srcdir=${srcdir:-.}
corpus="$srcdir/tests/data/garden.txt"

if [ ! -x "$RNNLAB" ]; then
    echo "golden.sh: $RNNLAB is not built" >&2
    exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-golden.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# The machine's signature, as `rnnlab --version` reports it: the SIMD
# level our kernels pick and the kernel set OpenBLAS chose at load time
# (its core name: the CPU it detected, or OPENBLAS_CORETYPE).  OpenBLAS
# still does the small products, so two machines with the same SIMD level
# but another OpenBLAS core (an Intel CPU OpenBLAS 0.3.21 does not know
# takes Prescott, an AMD Zen 4 Cooperlake) differ in the last bits.
signature() {
    echo "signature: $("$RNNLAB" --version | sed -n 's/^cpu: //p')"
}

# run CELL THREADS: a short training, then eval and samples, all printed.
run() {
    cell=$1 threads=$2 dir="$tmp/$1-$2"
    echo "== $cell threads=$threads"
    "$RNNLAB" train --corpus "$corpus" --model "$cell" --layers 2 --hidden 24 \
        --embed 8 --seq-len 16 --batch 4 --steps 6 --eval-every 3 --seed 7 \
        --threads "$threads" --json --save "$dir" 2>/dev/null \
        | sed 's/,"tokens_per_s":[0-9.e+-]*//; s/,"val_bpb":[0-9.e+-]*//'
    (cd "$dir" && sha256sum model.safetensors optimizer.safetensors)
    sed -n '/"history"/,$p' "$dir/session.json"
    "$RNNLAB" eval "$dir" --json 2>/dev/null | sed 's/,"bpb":[0-9.e+-]*//'
    "$RNNLAB" eval "$dir" --split all --streams 3 --json 2>/dev/null \
        | sed 's/,"bpb":[0-9.e+-]*//'
    echo "-- sample"
    "$RNNLAB" sample "$dir" --seed 3 --length 40 --prime "The " 2>/dev/null
    echo
    echo "-- beam"
    "$RNNLAB" sample "$dir" --beam 3 --length 20 --prime "a" 2>/dev/null
    echo
    echo "-- int8 top-k top-p"
    "$RNNLAB" sample "$dir" --seed 3 --top-k 5 --top-p 0.9 --temperature 0.7 \
        --length 30 --weights int8 2>/dev/null
    echo
}

golden="$srcdir/tests/data/golden-$(signature | sed 's/.*simd=\([a-z0-9]*\) openblas_core=\([A-Za-z0-9]*\).*/\1-\2/').txt"
if [ "${1:-}" != "--record" ] && [ ! -f "$golden" ]; then
    echo "SKIP: no golden bits recorded for this machine ($(signature));" \
         "have: $(cd "$srcdir/tests/data" && ls golden-*.txt | tr '\n' ' ')"
    exit 77
fi

{
    signature
    run lstm 1
    run gru 1
    run rnn 1
    run lstm 2
} >"$tmp/now.txt" 2>&1

if [ "${1:-}" = "--record" ]; then
    cp "$tmp/now.txt" "$golden"
    echo "recorded $golden"
    exit 0
fi
if diff -u "$golden" "$tmp/now.txt"; then
    echo "ok - training, eval and samples give the golden bits"
    exit 0
fi
echo "FAIL - output differs from $golden (diff above)"
exit 1
