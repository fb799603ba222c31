# report.sh - what the shell tests print for each check ("ok - ..." or "FAIL - ..." with evidence) and its counts; sourced by them.

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok - $1"
}

# flunk DESCRIPTION [FILE]: a failure, with FILE's contents as evidence.
flunk() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        sed 's/^/    | /' "$2" | head -n 20
    fi
}
