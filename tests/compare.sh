#!/bin/sh
# compare.sh - tests of `rnnlab compare` and `rnnlab plot`: configurations
# checked before any training, a table of two tiny runs, their JSON lines
# and sessions, and the pictures (a PNG of the expected size that is not
# blank, SVG that is XML) with their errors.  Run by `make check` or by
# hand:  RNNLAB=src/rnnlab sh tests/compare.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
srcdir=${srcdir:-.}
if [ ! -x "$RNNLAB" ]; then
    echo "compare.sh: $RNNLAB is not built" >&2
    exit 99
fi
py=/usr/bin/python3
if [ ! -x "$py" ]; then
    echo "compare.sh: skipped: the checks of JSON, PNG and SVG need $py" >&2
    exit 77
fi

# In the sanitizer build (tests/asan.sh sets ASAN_OPTIONS) LeakSanitizer
# would report what fontconfig keeps to the end: it is suppressed by name.
if [ -n "${ASAN_OPTIONS:-}" ]; then
    supp=$(cd "$srcdir/tests" && pwd)/fontconfig-leaks.supp
    LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    export LSAN_OPTIONS
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-compare.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/report.sh"

run() {
    "$RNNLAB" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# fails STATUS PATTERN DESCRIPTION ARG...: rnnlab ARG... exits with STATUS
# and prints exactly one line on stderr, "rnnlab: ..." matching PATTERN.
fails() {
    want=$1 pattern=$2 desc=$3
    shift 3
    run "$@"
    if [ "$status" -ne "$want" ]; then
        flunk "$desc: exit status $status, expected $want" "$tmp/err"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^rnnlab: .*$pattern" "$tmp/err"; then
        flunk "$desc: not one 'rnnlab: ...$pattern' line" "$tmp/err"
    else
        pass "$desc"
    fi
}

# A PNG's width, height and whether it shows something: its IDAT chunks
# inflated and unfiltered (PNG filters 0-4), then the pixels counted.
cat >"$tmp/png.py" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), 'unexpected pixel format'
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows = bytearray(stride), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pred = [0, a, b, (a + b) // 2,
                a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c)
                else b if abs(p - b) <= abs(p - c) else c][f]
        line[i] = (line[i] + pred) & 255
    rows.append(bytes(line))
    prev = line
pixels = [r[i:i + bpp] for r in rows for i in range(0, stride, bpp)]
common = max(set(pixels), key=pixels.count)
other = sum(1 for p in pixels if p != common)
print(w, h, len(set(pixels)), round(other / len(pixels), 3))
EOF

# png_ok FILE W H DESCRIPTION: FILE is a W x H PNG, not of one colour, with
# between 1% and 60% of it not background.
png_ok() {
    info=$("$py" "$tmp/png.py" "$1" 2>"$tmp/pyerr")
    set -- "$@" $info
    if [ -z "$info" ]; then
        flunk "$4: not a readable PNG" "$tmp/pyerr"
    elif [ "$5" != "$2" ] || [ "$6" != "$3" ]; then
        flunk "$4: $5 x $6 pixels, expected $2 x $3"
    elif [ "$7" -lt 3 ] || ! "$py" -c "import sys; sys.exit(not 0.01 <= $8 <= 0.6)"; then
        flunk "$4: blank or filled ($7 colours, $8 of it not background)"
    else
        pass "$4 ($5 x $6, $7 colours)"
    fi
}

# A build without cairo draws nothing: `plot` says so in one line (and
# the picture tests are left out; CI builds with cairo).
run plot "$tmp/none" -o "$tmp/x.png"
if grep -q 'built without cairo' "$tmp/err"; then
    cairo=no
    fails 1 "built without cairo" "plot without cairo says so in one line" \
        plot "$tmp/none" -o "$tmp/x.png"
    plot_opt=
else
    cairo=yes
    plot_opt="--plot $tmp/cmp.png"
fi

corpus="$srcdir/tests/data/garden.txt"
tiny="--corpus $corpus --layers 1 --hidden 8 --embed 4 --seq-len 8 --batch 2 --threads 1"

# ---------------------------------------------------------------- usage

for cmd in compare plot; do
    run "$cmd" --help
    if [ "$status" -eq 0 ] && grep -q "^Usage: rnnlab $cmd" "$tmp/out"; then
        pass "$cmd --help shows its usage"
    else
        flunk "$cmd --help" "$tmp/err"
    fi
done
run --help
grep -q '^  compare ' "$tmp/out" && grep -q '^  plot ' "$tmp/out" \
    && pass "rnnlab --help lists compare and plot" || flunk "rnnlab --help" "$tmp/out"

run compare --steps 2
[ "$status" -eq 2 ] && grep -q 'give the configurations' "$tmp/err" \
    && pass "compare without configurations is a usage error" \
    || flunk "compare without configurations: status $status" "$tmp/err"

# Bad configurations: one line naming the configuration and the problem,
# before anything trains (no session directory made).
fails 2 "configuration 2 '--hidden x': --hidden: 'x' is not a whole number" \
    "a bad value in a configuration is refused" \
    compare $tiny --steps 2 --save-dir "$tmp/bad" "--model gru" "--hidden x"
[ ! -e "$tmp/bad" ] && pass "nothing trained before the refusal" \
    || flunk "a session was saved before the refusal"
fails 2 "configuration 1 '--frobnicate': unknown option '--frobnicate'" \
    "an unknown option in a configuration is refused" \
    compare $tiny --steps 2 "--frobnicate" "--model gru"
fails 2 "configuration 1 '--lr=x': --lr: " "--opt=value is a configuration" \
    compare $tiny --steps 2 "--lr=x"
fails 2 "configuration 2 '--model gru --save x': --save cannot be given here" \
    "--save in a configuration is refused" \
    compare $tiny --steps 2 "" "--model gru --save x"
fails 2 "configuration 1 '--layer-norm': --layer-norm is for --model lstm only" \
    "a bad combination is refused" compare $tiny --model gru --steps 2 "--layer-norm"
fails 2 "configuration 1 '--time 5': --steps, --epochs and --time exclude each other" \
    "a configuration's stop beside the common one is refused" \
    compare $tiny --steps 2 "--time 5"
if [ "$cairo" = yes ]; then
    run compare $tiny --steps 2 --plot "$tmp/x.jpg" "--model gru"
    [ "$status" -eq 2 ] && grep -q "^rnnlab: --plot .*x.jpg: unknown picture format" "$tmp/err" \
        && pass "compare --plot with an unknown format is a usage error" \
        || flunk "compare --plot x.jpg: status $status" "$tmp/err"
fi

# ---------------------------------------------------------------- two runs

run compare $tiny --steps 4 --eval-every 2 --save-dir "$tmp/cmp" $plot_opt \
    "--model gru" "--model lstm --layer-norm"
cp "$tmp/out" "$tmp/table"
if [ "$status" -eq 0 ] && [ "$(wc -l <"$tmp/table")" -eq 3 ] \
    && sed -n 1p "$tmp/table" | grep -q '^configuration  *val loss  *bpc  *bpb  *params  *steps  *time  *tok/s$' \
    && sed -n 2p "$tmp/table" | grep -q '^--model gru  ' \
    && sed -n 3p "$tmp/table" | grep -q '^--model lstm --layer-norm  '; then
    pass "compare prints a table with a row per configuration"
else
    flunk "compare's table: status $status" "$tmp/table"
    cat "$tmp/err"
fi
# each row: 4 steps, a finite loss, a positive parameter count
if awk 'NR > 1 { n = split($0, f, "  +"); if (f[n - 2] != "4" || f[2] + 0 <= 0 || f[5] == "0") bad = 1 }
        END { exit bad }' "$tmp/table"; then
    pass "each row shows 4 steps, a loss and the parameters"
else
    flunk "compare's rows" "$tmp/table"
fi
ok=1
for d in "$tmp/cmp/1-model-gru" "$tmp/cmp/2-model-lstm-layer-norm"; do
    "$RNNLAB" eval "$d" --json >"$tmp/eval" 2>"$tmp/err" || ok=0
done
[ "$ok" -eq 1 ] && [ "$(ls "$tmp/cmp" | wc -l)" -eq 2 ] \
    && pass "--save-dir keeps one session per configuration, and eval opens them" \
    || flunk "compare --save-dir: $(ls "$tmp/cmp")" "$tmp/err"

# the picture of compare --plot: a PNG with something drawn
[ "$cairo" = yes ] && png_ok "$tmp/cmp.png" 800 500 "compare --plot draws a PNG"

# JSON: one object per configuration; the same configuration twice gives
# the same losses (one split, one seed)
run compare $tiny --steps 3 --json "--hidden 6" "--hidden 6" "--model rnn"
if [ "$status" -eq 0 ] && "$py" - "$tmp/out" <<'EOF'
import json, math, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
assert [r['config'] for r in rows] == ['--hidden 6', '--hidden 6', '--model rnn'], rows
for r in rows:
    assert r['steps'] == 3 and r['params'] > 0 and r['session'] is None, r
    assert math.isfinite(r['val_loss']) and r['val_bpc'] > 0 and r['tokens'] == 'char', r
assert rows[0]['val_loss'] == rows[1]['val_loss'], rows
assert rows[0]['params'] == rows[1]['params'] != rows[2]['params'], rows
EOF
then
    pass "compare --json: a line per configuration, the same run alike"
else
    flunk "compare --json: status $status" "$tmp/out"
fi

# ---------------------------------------------------------------- plot

if [ "$cairo" = no ]; then
    echo "$passed passed, $failed failed (a build without cairo: no pictures to test)"
    [ "$failed" -eq 0 ]
    exit
fi
s1="$tmp/cmp/1-model-gru" s2="$tmp/cmp/2-model-lstm-layer-norm"
run plot "$s1" "$s2" -o "$tmp/p.png"
[ "$status" -eq 0 ] && pass "plot of two sessions" || flunk "plot: status $status" "$tmp/err"
png_ok "$tmp/p.png" 800 500 "plot writes a PNG"

run plot "$s1" "$s2" --output "$tmp/p.svg" --log --title "GRU & LSTM <tiny>"
if [ "$status" -eq 0 ] && "$py" - "$tmp/p.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith('svg'), root.tag
assert root.get('width').startswith('800') and root.get('height').startswith('500')
assert len(list(root.iter())) > 50
EOF
then
    pass "plot --log --title writes SVG that is XML"
else
    flunk "plot to SVG: status $status" "$tmp/err"
fi

fails 1 "$tmp/none: No such file" "plot of a missing session" plot "$s1" "$tmp/none" -o "$tmp/q.png"
[ ! -e "$tmp/q.png" ] && pass "no picture after a missing session" || flunk "q.png was written"
fails 1 "$tmp/nodir/p.png: cannot write" "plot into a missing directory" \
    plot "$s1" -o "$tmp/nodir/p.png"
mkdir "$tmp/adir.png"
fails 1 "$tmp/adir.png: cannot write" "plot onto a directory" plot "$s1" -o "$tmp/adir.png"
[ "$(ls "$tmp" | grep -c 'adir.png.*tmp')" -eq 0 ] && pass "no temporary file left" \
    || flunk "a temporary file was left"
run plot "$s1" -o "$tmp/p.jpg"
[ "$status" -eq 2 ] && grep -q "unknown picture format" "$tmp/err" \
    && pass "plot to an unknown format is a usage error" \
    || flunk "plot -o p.jpg: status $status" "$tmp/err"
run plot "$s1"
[ "$status" -eq 2 ] && grep -q -- "-o FILE.png" "$tmp/err" \
    && pass "plot without -o is a usage error" || flunk "plot without -o" "$tmp/err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
