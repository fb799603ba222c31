#!/bin/sh
# tok_speed.sh - tokenizer speed on about 10 MB of text: BPE learning of
# 4096 merges and encoding, word-vocabulary building and encoding, one
# core (bench/tok_speed.c).  The text is tinyshakespeare and WikiText-2's
# valid and test files, three times over (10,480,572 bytes).
#
#   make && bench/tok_speed.sh            from the repository root
#
# Environment: DATA (default ../shared/data, then ./shared/data), CC.
# Prints tok_speed's JSON line; the built program and the text go to
# bench/out/.
set -eu

cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
[ -d "$data" ] || data=shared/data
for f in tinyshakespeare.txt wikitext-2/valid.txt wikitext-2/test.txt; do
    [ -r "$data/$f" ] || { echo "tok_speed.sh: $data/$f is missing" >&2; exit 1; }
done
[ -r src/libengine.a ] || { echo "tok_speed.sh: build first: make" >&2; exit 1; }
mkdir -p bench/out
${CC:-cc} -O2 -Isrc bench/tok_speed.c src/libengine.a -lcjson -lm -o bench/out/tok_speed
: >bench/out/tok10m.txt
for i in 1 2 3; do
    cat "$data/tinyshakespeare.txt" "$data/wikitext-2/valid.txt" \
        "$data/wikitext-2/test.txt" >>bench/out/tok10m.txt
done
bench/out/tok_speed bench/out/tok10m.txt 4352
