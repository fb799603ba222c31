#!/bin/sh
# settings.sh - every setting that a command-line option mirrors is one
# rule: for values at, inside and outside its range (read from `show KEY`,
# i.e. from the settings table), `set KEY VALUE` and `rnnlab CMD --OPT
# VALUE` accept the same values and refuse the same ones with the same
# message, and the option's --help states the same range.
#   RNNLAB=src/rnnlab sh tests/settings.sh
RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
if [ ! -x "$RNNLAB" ]; then
    echo "settings.sh: $RNNLAB is not built" >&2
    exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-settings.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export HOME="$tmp/home" XDG_STATE_HOME="$tmp/state" XDG_DATA_HOME="$tmp/data"
mkdir -p "$HOME"

passed=0
failed=0
pass() { passed=$((passed + 1)); }
flunk() { failed=$((failed + 1)); echo "FAIL - $1"; }

# script LINE...: runs the lines as a script (no corpus); output in
# $tmp/out, errors in $tmp/err.
script() {
    printf '%s\n' "$@" >"$tmp/script"
    "$RNNLAB" -x "$tmp/script" >"$tmp/out" 2>"$tmp/err"
}

# The keys, from `help set`.
script "help set"
keys=$(sed -n '/^  keys:/,/^  show KEY/p' "$tmp/out" | sed '$d; s/^  keys://')
[ -n "$keys" ] || { echo "settings.sh: help set lists no keys"; cat "$tmp/out"; exit 1; }

# probes RANGE: values to try against a range as show prints it.
probes() {
    case $1 in
    *'|'*) echo "$1" | tr '|' ' '; echo "bogus" ;;
    *', or unset')                       # a rate that may fall back
        echo unset; probes "${1%, or unset}" ;;
    'N,N,... increasing'*)
        echo "$1" | awk '{ hi = $6; sub(",", "", hi)
            print "none", 1, hi, "5,10", hi + 1, 0, "10,5", "3,3", "1,x", "1,2,3,4,5,6,7,8,9" }' ;;
    '0 to 18446744073709551615')
        echo 0 18446744073709551615 18446744073709551616 -1 x 7 ;;
    *' to '*)
        echo "$1" | awk '{ lo = $1; hi = $3
            print lo, hi, lo - 1, hi + 1, (lo + hi) / 2 + 0.5, "x", "1e999" }' ;;
    *' and '*)
        echo "$1" | awk '{ lo = $2; hi = $5
            print lo, hi, lo - 1, hi + 1, (lo + hi) / 2, "x" }' ;;
    'a file, up to '*)
        echo none /no/such.vec "$(printf '%1100s' | tr ' ' x)" ;;
    '> '* | '>= '*)
        echo "$1" | awk '{ lo = $2; print lo, lo + 1, lo - 1, lo + 0.5, "x", "nan" }' ;;
    *) echo "settings.sh: cannot read the range '$1'" >&2; echo "" ;;
    esac
}

# needs KEY: what every value of KEY needs of another setting to stand
# (the adaptive softmax needs cutoffs): a line for the script before the
# set, in $need_set, and the option, in $need_opt.
needs() {
    case $1 in
    softmax) need_set="set cutoffs 1" need_opt="--cutoffs 1" ;;
    *) need_set="show lr" need_opt="" ;;
    esac
}

# core FILE PREFIX SUFFIX: the one error line of FILE without PREFIX...
# up to PREFIX and without SUFFIX.
core() {
    sed -n "s/^.*$2//; s/ (usage: set KEY VALUE)\$//; p" "$1" | head -n 1
}

mirrored=0
refused=0
for key in $keys; do
    script "show $key"
    range=$(sed -n 's/^    range //p' "$tmp/out")
    option=$(sed -n 's/^    command line: rnnlab //p' "$tmp/out")
    [ -n "$range" ] || { flunk "$key: show prints no range"; continue; }
    [ -n "$option" ] || continue        # not on the command line
    mirrored=$((mirrored + 1))
    cmd=${option%% *}
    opt=${option#* }
    case $cmd in
    train) cli="train --corpus $tmp/no/such.txt --steps 1" ;;
    sample) cli="sample $tmp/no-session" ;;
    *) flunk "$key: unknown command in '$option'"; continue ;;
    esac
    "$RNNLAB" $cmd --help >"$tmp/help" 2>&1
    case $range in
    *'|'*) ;;                           # choices read as prose in --help
    *) if grep -F -- "$opt" "$tmp/help" >/dev/null && grep -F -- "$range" "$tmp/help" >/dev/null; then
           pass
       else
           flunk "$cmd --help does not state $opt's range '$range'"
       fi ;;
    esac
    needs "$key"
    cli="$cli $need_opt"
    for v in $(probes "$range"); do
        script "$need_set" "set $key $v"
        set_rc=$?
        set_msg=$(core "$tmp/err" "set: $key: ")
        # shellcheck disable=SC2086
        if [ "$range" = 'off|on' ]; then    # a flag: --opt, --opt=on|off
            "$RNNLAB" $cli "$opt=$v" >/dev/null 2>"$tmp/clierr"
        else
            "$RNNLAB" $cli "$opt" "$v" >/dev/null 2>"$tmp/clierr"
        fi
        cli_rc=$?
        cli_msg=$(core "$tmp/clierr" "rnnlab: $opt: ")
        if [ "$set_rc" -eq 0 ] && [ "$cli_rc" -ne 2 ]; then
            pass
        elif [ "$set_rc" -ne 0 ] && [ "$cli_rc" -eq 2 ] && [ "$set_msg" = "$cli_msg" ]; then
            pass
            refused=$((refused + 1))
        else
            flunk "$key=$v: set says [$set_rc] '$set_msg', $cmd $opt says [$cli_rc] '$cli_msg'"
        fi
    done
done

[ "$mirrored" -ge 10 ] && pass || flunk "only $mirrored settings have a command-line option"
# every setting was refused somewhere, so the messages were compared
[ "$refused" -ge "$mirrored" ] && pass || flunk "only $refused refusals compared"
echo "settings.sh: $passed checks passed, $failed failed ($mirrored settings on" \
     "the command line, $refused refusals compared)"
[ "$failed" -eq 0 ]
