#!/bin/sh
# bench/corpus.sh - corpora larger than memory: generates corpora of the
# sizes asked for (GB, default 0.1 1 8) from tinyshakespeare, copies
# numbered so that no two are equal, and trains a few steps of a small
# char model on each twice under /usr/bin/time -v: the first run builds
# the token cache, the second reuses it.  Prints peak RSS and the
# preparation speed (MB of text per second) of each run, and with
# BASELINE=path/to/another/rnnlab the same for that binary (sizes up to
# BASELINE_MAX GB, default 1: it holds 4 bytes per token in memory).
# Not part of make check; run from the repository root after make.
# Writes under BENCH_TMP (default /tmp) and deletes what it wrote.

set -eu

corpus=${RNNLAB_BENCH_CORPUS:-../shared/data/tinyshakespeare.txt}
sizes=${*:-0.1 1 8}
tmp=${BENCH_TMP:-/tmp}/rnnlab-bench-corpus.$$
rnnlab=${RNNLAB:-src/rnnlab}
baseline=${BASELINE:-}
baseline_max=${BASELINE_MAX:-1}

[ -x "$rnnlab" ] || { echo "corpus.sh: build first: make" >&2; exit 1; }
[ -f "$corpus" ] || { echo "corpus.sh: $corpus: no such file" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "corpus.sh: needs /usr/bin/time (GNU time)" >&2; exit 1; }

mkdir -p "$tmp/cache"
trap 'rm -rf "$tmp"' EXIT INT TERM

# Needs the text and its cache (2 bytes per character) with room to spare.
largest=$(for s in $sizes; do echo "$s"; done | sort -g | tail -1)
need_kb=$(awk -v g="$largest" 'BEGIN { printf "%d", g * 3.2 * 1000000 }')
free_kb=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
    echo "corpus.sh: $tmp has $free_kb kB free, $need_kb kB needed for $largest GB" >&2
    exit 1
fi

# gen FILE GB: copies of the corpus, each after a line with its number.
gen() {
    awk -v want="$2" -v src="$corpus" 'BEGIN {
        while ((getline line < src) > 0) text = text line "\n"
        bytes = want * 1e9
        for (i = 1; done < bytes; i++) {
            head = "== copy " i " ==\n"
            printf "%s%s", head, text
            done += length(head) + length(text)
        }
    }' > "$1"
}

# run BINARY FILE: trains 20 steps; prints "rss_mb seconds prep_mb_s".
run() {
    log=$tmp/log
    RNNLAB_CACHE_DIR=$tmp/cache /usr/bin/time -v "$1" train --corpus "$2" \
        --steps 20 --eval-every 0 --val-frac 0.0001 --test-frac 0 \
        --layers 1 --hidden 64 --embed 16 --batch 16 --seq-len 50 --threads 1 \
        --json > /dev/null 2> "$log"
    bytes=$(stat -c %s "$2")
    awk -v bytes="$bytes" '
        /Maximum resident set size/ { rss = $NF / 1024 }
        /Elapsed \(wall clock\)/ {
            n = split($NF, t, ":"); wall = 0
            for (i = 1; i <= n; i++) wall = wall * 60 + t[i]
        }
        # the stage lines of a preparation: "rnnlab: STAGE: X in S s (R/s)"
        / in [0-9.]+ s \(/ { for (i = 1; i < NF; i++) if ($i == "in") prep += $(i + 1) }
        END {
            rate = "-"
            if (prep > 0) rate = sprintf("%.0f", bytes / 1e6 / prep)
            printf "%.0f %.1f %s\n", rss, wall, rate
        }' "$log"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(free -g | awk 'NR == 2 { print $2 }') GB memory"
printf '%-8s %-10s %10s %10s %14s\n' size run peak_rss_MB wall_s prep_MB_per_s
for gb in $sizes; do
    file=$tmp/corpus-$gb.txt
    gen "$file" "$gb"
    set -- $(run "$rnnlab" "$file")
    printf '%-8s %-10s %10s %10s %14s\n' "${gb}GB" build "$1" "$2" "$3"
    set -- $(run "$rnnlab" "$file")
    printf '%-8s %-10s %10s %10s %14s\n' "${gb}GB" reuse "$1" "$2" "$3"
    if [ -n "$baseline" ] && awk -v g="$gb" -v m="$baseline_max" 'BEGIN { exit !(g <= m) }'; then
        set -- $(run "$baseline" "$file")
        printf '%-8s %-10s %10s %10s %14s\n' "${gb}GB" baseline "$1" "$2" "-"
    fi
    rm -f "$file" "$tmp"/cache/*
done
