#!/bin/sh
# emb_speed.sh - how fast the word-vector reader streams a large text file
# and that its memory does not grow with the file: generated .vec files of
# 50,000 and 200,000 words x 300 values (a header, values printed as
# fastText does), a word corpus whose vocabulary is 30,000 of those words,
# and bench/emb_speed.c on each file (the peer: the same bytes read raw
# through a buffer of the reader's size, in the same run).
#
#   make && bench/emb_speed.sh        from the repository root
#
# Environment: OUT (default /tmp/rnnlab-emb-bench), CC.
set -eu

cd "$(dirname "$0")/.."
out=${OUT:-/tmp/rnnlab-emb-bench}
[ -r src/libengine.a ] || { echo "emb_speed.sh: build first: make" >&2; exit 1; }
mkdir -p "$out"
${CC:-cc} -O2 -Isrc bench/emb_speed.c src/libengine.a -lcjson -lm -o "$out/emb_speed"
python3 - "$out" <<'PY'
import random, sys
out = sys.argv[1]
rnd = random.Random(1)
words = ["w%d" % i for i in range(200000)]
with open(out + "/corpus.txt", "w") as f:     # 30,000 distinct words
    for i in range(0, 30000, 20):
        f.write(" ".join(words[i + j] for j in range(20)) + "\n")
for n in (50000, 200000):
    order = words[:n]
    rnd.shuffle(order)
    with open("%s/v%d.vec" % (out, n), "w") as f:
        f.write("%d 300\n" % n)
        for w in order:
            f.write(w + " " + " ".join("%.4f" % rnd.uniform(-1, 1) for _ in range(300)) + " \n")
PY
for n in 50000 200000; do
    "$out/emb_speed" "$out/corpus.txt" "$out/v$n.vec" 300
done
