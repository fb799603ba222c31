#!/usr/bin/env bash
# serve.sh - HTTP generation benchmark: `rnnlab serve` against a FastAPI +
# uvicorn + PyTorch server (bench/serve_peer.py) running the same sampler
# loop on the same weights, both on 127.0.0.1.  The model is the default
# LSTM 2x512 (embed 64, the characters of tinyshakespeare) after a few
# training steps: a token costs the same whatever the weights are.
#
# For 1, 8, 32 and 128 concurrent clients, each client sends POST
# /v1/completions {"prompt": "The ", "max_tokens": 200, "temperature": 1,
# "seed": i} one after the other (a closed loop) until it has sent its share
# (REQUESTS per level, at least 2 per client) or LEVEL_SECONDS have passed;
# aggregate tokens/s is generated tokens over the level's wall time, and
# p50 / p99 are the request latencies (send to last byte).  The levels of
# the two peers are interleaved, so load on the machine hits both alike.
# The scaling figure is each server's aggregate tokens/s at 32 clients
# over its tokens/s at 1 (the issue's target for rnnlab: 8x).
#
# Then a soak of rnnlab serve alone: SOAK_CLIENTS (64) clients for
# SOAK_SECONDS (60) send a mix of valid requests (completions, streamed or
# not, /v1/generate, /v1/models, /health), malformed ones (bad JSON, wrong
# types, values out of range, an unknown field or model, a wrong method)
# and oversized bodies (1.1 MiB, chunked, so the server reads them before
# answering 413), some streams left after their first event.  It counts
# the answers by status and checks that every request was answered, samples
# the server's RSS (VmRSS in /proc) every second (first, last, max), and
# checks that each line the server logged meanwhile is a request line with
# an expected status (200, 400, 404, 405, 413).
#
# Run from anywhere (it moves to the repository root):  bench/serve.sh
#
# Environment:
#   RNNLAB_BENCH_CORPUS  corpus (default ../shared/data/tinyshakespeare.txt)
#   RNNLAB               rnnlab binary (default src/rnnlab)
#   CLIENTS              levels (default "1 8 32 128")
#   REQUESTS             requests per level (default 32)
#   TOKENS               max_tokens per request (default 200)
#   LEVEL_SECONDS        bound on a level (default 60)
#   THREADS              rnnlab serve --threads (default: the cores)
#   PEER_THREADS         torch intra-op threads of the peer (default 1)
#   SOAK_SECONDS         the soak's length (default 60; 0: no soak)
#   SOAK_CLIENTS         its clients (default 64)
#
# Writes bench/out/serve.json (levels) and bench/out/serve_soak.json, and
# prints tables.  Exits 1 when the soak finds a fault.  See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CORPUS="${RNNLAB_BENCH_CORPUS:-$ROOT/../shared/data/tinyshakespeare.txt}"
RNNLAB="${RNNLAB:-src/rnnlab}"
CLIENTS="${CLIENTS:-1 8 32 128}"
REQUESTS="${REQUESTS:-32}"
TOKENS="${TOKENS:-200}"
LEVEL_SECONDS="${LEVEL_SECONDS:-60}"
THREADS="${THREADS:-$(nproc)}"
PEER_THREADS="${PEER_THREADS:-1}"
SOAK_SECONDS="${SOAK_SECONDS:-60}"
SOAK_CLIENTS="${SOAK_CLIENTS:-64}"
PY=/usr/bin/python3
OUT="$ROOT/bench/out"
SESSION="$OUT/serve-session"

if [ ! -f "$CORPUS" ]; then
    echo "serve.sh: corpus not found: $CORPUS (set RNNLAB_BENCH_CORPUS)" >&2
    exit 1
fi
if [ ! -x "$RNNLAB" ]; then
    echo "serve.sh: $RNNLAB not found: build first: make" >&2
    exit 1
fi
if ! "$PY" -c 'import torch, fastapi, uvicorn' 2>/dev/null; then
    echo "serve.sh: $PY cannot import torch, fastapi and uvicorn (Debian: apt-get install" \
         "python3-torch python3-fastapi python3-uvicorn)" >&2
    exit 1
fi
mkdir -p "$OUT"

LOAD1="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$LOAD1" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "serve.sh: warning: load average $LOAD1 - other work will skew the figures" >&2
fi

echo "== session: $RNNLAB train --steps 5 --save $SESSION" >&2
rm -rf "$SESSION"
"$RNNLAB" train --corpus "$CORPUS" --model lstm --layers 2 --hidden 512 --embed 64 \
    --seq-len 32 --batch 8 --steps 5 --eval-every 0 --val-frac 0.01 --quiet \
    --save "$SESSION" > /dev/null

pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# wait_port FILE PATTERN: the port a server printed, once it has.
wait_port() {
    for _ in $(seq 1 600); do
        port=$(sed -n "s|$2|\\1|p" "$1" | head -n 1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.1
    done
    echo "serve.sh: a server did not start:" >&2
    cat "$1" >&2
    return 1
}

# start_rnnlab LOG: rnnlab serve on the session, its stderr in LOG; sets
# RNNLAB_PID and RNNLAB_PORT.
start_rnnlab() {
    "$RNNLAB" serve "$SESSION" --port 0 --threads "$THREADS" --max-batch 16 \
        --max-queue 1024 2>"$1" &
    RNNLAB_PID=$!
    pids="$pids $RNNLAB_PID"
    RNNLAB_PORT=$(wait_port "$1" '.*http://127\.0\.0\.1:\([0-9][0-9]*\).*')
}

echo "== rnnlab serve --threads $THREADS --max-batch 16" >&2
start_rnnlab "$OUT/serve-rnnlab.log"

echo "== peer: FastAPI + uvicorn + PyTorch (torch threads $PEER_THREADS)" >&2
OMP_NUM_THREADS="$PEER_THREADS" OPENBLAS_NUM_THREADS="$PEER_THREADS" \
    "$PY" bench/serve_peer.py "$SESSION" --port 0 --threads "$PEER_THREADS" \
    >"$OUT/serve-peer.out" 2>"$OUT/serve-peer.log" &
pids="$pids $!"
PEER_PORT=$(wait_port "$OUT/serve-peer.out" 'listening on \([0-9][0-9]*\)')

export RNNLAB_PORT PEER_PORT CLIENTS REQUESTS TOKENS LEVEL_SECONDS OUT LOAD1 THREADS PEER_THREADS
"$PY" - <<'PYEOF'
import http.client, json, os, threading, time

E = os.environ
tokens = int(E["TOKENS"])
peers = {"rnnlab": int(E["RNNLAB_PORT"]), "peer": int(E["PEER_PORT"])}

def request(port, seed):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"prompt": "The ", "max_tokens": tokens, "temperature": 1.0,
                       "seed": seed})
    t0 = time.perf_counter()
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    d = json.loads(r.read())
    dt = time.perf_counter() - t0
    c.close()
    if r.status != 200:
        raise RuntimeError("status %d: %s" % (r.status, d))
    return dt, d["usage"]["completion_tokens"]

def level(port, clients):
    per = max(2, -(-int(E["REQUESTS"]) // clients))
    deadline = time.perf_counter() + float(E["LEVEL_SECONDS"])
    lat, toks, lock = [], [0], threading.Lock()
    def client(k):
        for j in range(per):
            if time.perf_counter() > deadline:
                return
            dt, n = request(port, 1000 * k + j)
            with lock:
                lat.append(dt)
                toks[0] += n
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    return {"clients": clients, "requests": len(lat), "tokens": toks[0], "seconds": wall,
            "tokens_per_s": toks[0] / wall, "p50_s": q(0.50), "p99_s": q(0.99)}

for name, port in peers.items():        # warm-up
    request(port, 1)
runs = {name: [] for name in peers}
for clients in [int(c) for c in E["CLIENTS"].split()]:
    for name, port in peers.items():
        r = level(port, clients)
        runs[name].append(r)
        print("== %-6s %2d clients: %5d tokens in %6.2f s = %7.0f tokens/s, p50 %.3f s, "
              "p99 %.3f s" % (name, clients, r["tokens"], r["seconds"], r["tokens_per_s"],
                              r["p50_s"], r["p99_s"]), flush=True)

def scaling(rs):
    by = {r["clients"]: r["tokens_per_s"] for r in rs}
    return round(by[32] / by[1], 2) if 1 in by and 32 in by else None

ratios = []
for a, b in zip(runs["rnnlab"], runs["peer"]):
    ratios.append({"clients": a["clients"],
                   "tokens_per_s": round(a["tokens_per_s"] / b["tokens_per_s"], 2),
                   "p50_latency": round(b["p50_s"] / a["p50_s"], 2),
                   "p99_latency": round(b["p99_s"] / a["p99_s"], 2)})
report = {"model": "lstm 2x512, embed 64", "max_tokens": tokens,
          "rnnlab_threads": int(E["THREADS"]), "peer_torch_threads": int(E["PEER_THREADS"]),
          "loadavg_at_start": float(E.get("LOAD1") or 0), "runs": runs,
          "ratios_rnnlab_over_peer": ratios,
          "scaling_32_over_1": {name: scaling(rs) for name, rs in runs.items()},
          "note": "ratios: tokens/s rnnlab/peer; latency peer/rnnlab (above 1: rnnlab faster)"}
with open(os.path.join(E["OUT"], "serve.json"), "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
print()
print("%-8s %12s %12s %9s %9s %9s %9s %8s %8s %8s" % (
    "clients", "rnnlab tok/s", "peer tok/s", "rn p50", "peer p50", "rn p99", "peer p99",
    "x tok/s", "x p50", "x p99"))
for a, b, r in zip(runs["rnnlab"], runs["peer"], ratios):
    print("%-8d %12.0f %12.0f %8.3fs %8.3fs %8.3fs %8.3fs %8.2f %8.2f %8.2f" % (
        a["clients"], a["tokens_per_s"], b["tokens_per_s"], a["p50_s"], b["p50_s"],
        a["p99_s"], b["p99_s"], r["tokens_per_s"], r["p50_latency"], r["p99_latency"]))
sc = report["scaling_32_over_1"]
if sc["rnnlab"] is not None:
    print("\naggregate tokens/s at 32 clients over 1: rnnlab %.2fx, peer %.2fx"
          % (sc["rnnlab"], sc["peer"]))
print("\nwritten: bench/out/serve.json")
PYEOF

[ "$SOAK_SECONDS" -gt 0 ] || exit 0
# the peer is done: the soak has the machine with rnnlab alone
kill $pids 2>/dev/null || true
wait 2>/dev/null || true
pids=
echo "== soak: $SOAK_CLIENTS clients for $SOAK_SECONDS s against rnnlab serve" >&2
start_rnnlab "$OUT/serve-soak.log"
export RNNLAB_PORT RNNLAB_PID SOAK_SECONDS SOAK_CLIENTS
"$PY" bench/serve_soak.py

