#!/bin/sh
# tui_screenshot.sh - prints a text capture of the terminal interface (the
# one in README.md): rnnlab trains a small GRU on the bundled corpus in a
# 100x30 tmux window for SECONDS (default 90), then samples.
#   sh bench/tui_screenshot.sh [SECONDS] [RNNLAB]
set -eu
secs=${1:-90}
rnnlab=${2:-src/rnnlab}
case $rnnlab in /*) ;; *) rnnlab=$(pwd)/$rnnlab ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-shot.XXXXXX")
sock=$tmp/sock
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
tmux -S "$sock" new-session -d -s shot -x 100 -y 30 \
    "HOME='$tmp' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$rnnlab' --corpus '$(pwd)/data/tiny-plays.txt' \
     -e 'model gru layers=1 hidden=128 embed=32' -e 'set batch 16' \
     -e 'set seq-len 64' -e 'set eval-every 100'"
sleep "$secs"
tmux -S "$sock" send-keys -t shot 'set temperature 0.7' Enter
tmux -S "$sock" send-keys -t shot 'prime "WILFORD:"' Enter 'sample 160' Enter
sleep 5
tmux -S "$sock" send-keys -t shot 'sample' 
sleep 1
tmux -S "$sock" capture-pane -p -t shot
