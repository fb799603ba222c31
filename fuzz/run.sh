#!/bin/sh
# run.sh - runs each fuzz harness for a while on its corpus with its dictionary and prints libFuzzer's final figures: what `make fuzz-run` does.
#
#   sh fuzz/run.sh SECONDS TOP_SRCDIR FUZZ_DIR RNNLAB [HARNESS]...
#
# FUZZ_DIR is fuzz/ in the build tree: the harnesses in build/, their
# corpora in corpus/NAME/ (seeded by seeds.sh the first time), logs in
# logs/NAME.log and any input that fails in artifacts/.  The harnesses run
# one after the other, niced.  Exit status 1 when any found a failure.

set -u

if [ $# -lt 4 ]; then
    echo "usage: sh fuzz/run.sh SECONDS TOP_SRCDIR FUZZ_DIR RNNLAB [HARNESS]..." >&2
    exit 2
fi
seconds=$1 srcdir=$2 dir=$3 rnnlab=$4
shift 4
[ $# -gt 0 ] || set -- safetensors session_json session_files cmd text tok serve untar embfile

case $seconds in
    '' | *[!0-9]*)
        echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
        exit 2 ;;
esac

mkdir -p "$dir/corpus" "$dir/logs" "$dir/artifacts" || exit 1
if ! sh "$srcdir/fuzz/seeds.sh" "$srcdir" "$dir/corpus" "$rnnlab" "$dir/build"; then
    echo "fuzz: making the seed corpora failed" >&2
    exit 1
fi

# The dictionary of a harness.
dict_of() {
    case $1 in
        session_json) echo session ;;
        session_files) echo safetensors ;;
        *) echo "$1" ;;
    esac
}

# field LINE KEY: the value after "KEY:" in a libFuzzer status line.
field() {
    echo "$1" | sed -n "s/.* $2: *\([^ ]*\).*/\1/p"
}

failed=0
for h in "$@"; do
    prog=$dir/build/fuzz_$h
    if [ ! -x "$prog" ]; then
        echo "fuzz: no harness $prog (make fuzz builds them)" >&2
        failed=1
        continue
    fi
    log=$dir/logs/$h.log
    nice -n 10 "$prog" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
        -dict="$srcdir/fuzz/$(dict_of "$h").dict" -artifact_prefix="$dir/artifacts/$h-" \
        "$dir/corpus/$h" >"$log" 2>&1
    status=$?
    last=$(grep -a ' cov: ' "$log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    corp=$(field "$last" corp)
    printf 'fuzz_%s: %s s, %s executions (%s/s), cov %s, ft %s, corpus %s inputs\n' \
        "$h" "$seconds" "${runs:-?}" "${rate:-?}" "$(field "$last" cov)" \
        "$(field "$last" ft)" "${corp%%/*}"
    if [ "$status" -ne 0 ]; then
        failed=1
        why=$(grep -a -m 1 -e '^SUMMARY: ' -e '^fuzz: ' -e 'ERROR: libFuzzer' "$log")
        input=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n 1)
        echo "  FAILED: ${why:-exit status $status}"
        [ -n "$input" ] && echo "  input: $input"
        echo "  log: $log"
    fi
done
exit "$failed"
