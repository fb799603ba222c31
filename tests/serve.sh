#!/bin/sh
# serve.sh - tests of `rnnlab serve` over HTTP on 127.0.0.1 (free ports):
# every endpoint, an OpenAI-style body, streaming, fixed seeds giving the
# text `rnnlab sample` gives (concurrent requests too), the error answers
# (400 naming the field, 401, 404, 405, 413, 429), a client gone during its
# prompt and one gone mid-stream,
# SIGTERM during a stream, live models (a session trained on is picked up,
# one that does not load leaves the old weights serving) and uploads (off
# without --allow-upload, the key, plain names, the size limit, hostile
# tars refused with the old model serving, good ones installed).  Uses curl when installed, else python3's
# http.client (SERVE_TEST_CLIENT=python: always); python3 reads the JSON.
# Skipped (77) in a build without libmicrohttpd.  Run by `make check`, or:
#   RNNLAB=src/rnnlab sh tests/serve.sh

RNNLAB=${RNNLAB:-${top_builddir:-.}/src/rnnlab}
srcdir=${srcdir:-.}
if [ ! -x "$RNNLAB" ]; then
    echo "serve.sh: $RNNLAB is not built" >&2
    exit 99
fi
if "$RNNLAB" serve x 2>&1 | grep -q 'without libmicrohttpd'; then
    echo "serve.sh: skipped: this rnnlab was built without libmicrohttpd"
    exit 77
fi
PY=$(command -v python3 || command -v /usr/bin/python3)
if [ -z "$PY" ]; then
    echo "serve.sh: skipped: needs python3 to read JSON"
    exit 77
fi
have_curl=$(command -v curl)
[ "${SERVE_TEST_CLIENT:-}" = python ] && have_curl=   # to test the fallback
EXEC=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-serve.XXXXXX") || exit 99
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/report.sh"
# check DESCRIPTION CONDITION: CONDITION (shell text) holds; else the
# failure shows $tmp/evidence.
check() {
    if eval "$2"; then pass "$1"; else flunk "$1" "$tmp/evidence"; fi
}

# The python fallback: METHOD URL DATA-FILE HEADER OUT; writes the body
# to OUT as it comes and prints the status.  Bodies go chunked, so that an
# oversized one is read to its end and answered (413) rather than cut off.
cat >"$tmp/client.py" <<'EOF'
import http.client, sys, urllib.parse
method, url, data, header, out = sys.argv[1:6]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
headers = {}
body = None
if data:
    body = iter([open(data, "rb").read()])
    headers["Content-Type"] = "application/json"
if header:
    k, v = header.split(":", 1)
    headers[k.strip()] = v.strip()
c.request(method, u.path, body=body, headers=headers, encode_chunked=body is not None)
r = c.getresponse()
print(r.status, flush=True)
with open(out, "wb") as f:
    while True:
        chunk = r.read1(4096)
        if not chunk:
            break
        f.write(chunk)
        f.flush()
EOF

# req OUT METHOD PATH [DATA-FILE] [HEADER]: the answer's body in OUT, its
# status in OUT.code.  req_bg: the same in the background, the client's
# pid in $bg_pid (the client itself, so that killing it drops the
# connection).
req_bg() {
    (EXEC=exec; req "$@") &
    bg_pid=$!
}
req() {
    out=$1 method=$2 path=$3 data=${4:-} header=${5:-}
    if [ -n "$have_curl" ]; then
        set -- -s -N -m 60 -o "$out" -w '%{http_code}' -X "$method"
        [ -n "$data" ] && set -- "$@" -H 'Content-Type: application/json' --data-binary "@$data"
        [ -n "$header" ] && set -- "$@" -H "$header"
        $EXEC curl "$@" "$base$path" >"$out.code" 2>/dev/null
    else
        $EXEC "$PY" "$tmp/client.py" "$method" "$base$path" "$data" "$header" "$out" \
            >"$out.code" 2>/dev/null
    fi
}

# post PATH JSON [HEADER]: req into $tmp/body with the body given inline;
# $code is the status.
post() {
    printf '%s' "$2" >"$tmp/req.json"
    req "$tmp/body" POST "$1" "$tmp/req.json" "${3:-}"
    code=$(cat "$tmp/body.code")
}
# post_prompt BYTES: a completions request with a prompt that long.
post_prompt() {
    "$PY" -c 'import sys; print("{\"prompt\": \"" + "a" * int(sys.argv[1]) + "\"}")' "$1" \
        >"$tmp/long.json"
    req "$tmp/body" POST /v1/completions "$tmp/long.json"
    code=$(cat "$tmp/body.code")
}
get() {
    req "$tmp/body" GET "$1" "" "${2:-}"
    code=$(cat "$tmp/body.code")
}

# jget FILE EXPR: EXPR over d, the JSON in FILE, written without a newline.
jget() {
    "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.stdout.write(str(eval(sys.argv[2])))' "$1" "$2" 2>/dev/null
}

# expect_status CODE PATTERN DESCRIPTION: the last answer's status, and
# its error message matches PATTERN.
expect_status() {
    cp "$tmp/body" "$tmp/evidence"
    if [ "$code" != "$1" ]; then
        flunk "$3: status $code, expected $1" "$tmp/evidence"
    elif [ -n "$2" ] && ! jget "$tmp/body" 'd["error"]["message"]' | grep -q -e "$2"; then
        flunk "$3: the message does not match '$2'" "$tmp/evidence"
    else
        pass "$3"
    fi
}

# start_server NAME ARGS...: rnnlab serve ARGS --port 0 in the background,
# its stderr in $tmp/NAME.err; sets $pid and $base once it listens.
start_server() {
    name=$1
    shift
    "$RNNLAB" serve "$@" --port 0 2>"$tmp/$name.err" &
    pid=$!
    pids="$pids $pid"
    for _ in $(seq 1 300); do
        port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/$name.err")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "serve.sh: the server did not start:" >&2
        cat "$tmp/$name.err" >&2
        exit 99
    fi
    base=http://127.0.0.1:$port
}

# sample_text OUT ARGS...: the text `rnnlab sample` gives (--json's last line).
sample_text() {
    out=$1
    shift
    "$RNNLAB" sample "$@" --threads 1 --json 2>/dev/null | tail -n 1 >"$tmp/sample.json"
    jget "$tmp/sample.json" 'd["text"]' >"$out"
}

same_text() {
    { echo "server:"; cat "$1"; echo; echo "sample:"; cat "$2"; } >"$tmp/evidence"
    cmp -s "$1" "$2"
}

# ---------------------------------------------------------------- sessions

small="--layers 1 --hidden 64 --embed 16 --seq-len 16 --batch 4 --eval-every 0 --quiet"
"$RNNLAB" train --corpus "$srcdir/tests/data/garden.txt" $small --steps 40 \
    --save "$tmp/garden" >/dev/null 2>"$tmp/train.err" || { cat "$tmp/train.err"; exit 99; }
# an LSTM 2x512 after one step: slow enough to stop mid-stream
"$RNNLAB" train --corpus "$srcdir/tests/data/garden.txt" --hidden 512 --seq-len 8 --batch 2 --steps 1 \
    --eval-every 0 --quiet --save "$tmp/big" >/dev/null 2>"$tmp/train.err" || { cat "$tmp/train.err"; exit 99; }
G=$tmp/garden

# ---------------------------------------------------------------- endpoints

start_server main "$G" --threads 2 --max-batch 4
main_pid=$pid

get /health
v=$(jget "$tmp/body" 'd["status"]')
check "GET /health" '[ "$code" = 200 ] && [ "$v" = ok ]'
get /v1/models
v=$(jget "$tmp/body" 'd["data"][0]["id"]')
check "GET /v1/models lists the session by name" '[ "$code" = 200 ] && [ "$v" = garden ]'

post /v1/completions '{"model": "garden", "prompt": "The ", "max_tokens": 24, "temperature": 0.8,
  "top_p": 0.95, "n": 2, "stream": false, "logprobs": null, "stop": null, "presence_penalty": 0,
  "frequency_penalty": 0, "best_of": 1, "logit_bias": null, "user": "test", "echo": false,
  "seed": 11}'
cp "$tmp/body" "$tmp/openai.json"
v=$(jget "$tmp/openai.json" 'd["object"] + " " + str(len(d["choices"])) + " " + str(d["usage"]["completion_tokens"])')
cp "$tmp/openai.json" "$tmp/evidence"
check "POST /v1/completions takes an OpenAI-style body" '[ "$code" = 200 ] && [ "$v" = "text_completion 2 48" ]'
jget "$tmp/openai.json" 'd["choices"][1]["text"]' >"$tmp/a"
sample_text "$tmp/b" "$G" --prime "The " --length 24 --temperature 0.8 --top-p 0.95 --seed 12
check "choice 1 of seed 11 is rnnlab sample --seed 12" 'same_text "$tmp/a" "$tmp/b"'

post /v1/generate '{"prime": "The ", "length": 60, "seed": 7, "top_k": 5, "repetition_penalty": 1.3}'
jget "$tmp/body" 'd["text"]' >"$tmp/a"
sample_text "$tmp/b" "$G" --prime "The " --length 60 --seed 7 --top-k 5 --repetition-penalty 1.3
check "/v1/generate with a seed gives rnnlab sample's text" 'same_text "$tmp/a" "$tmp/b"'
v=$(jget "$tmp/body" '" ".join(sorted(d.keys()))')
check "/v1/generate answers as sample --json" \
    '[ "$v" = "cpu_seconds model prime prime_unknown seconds seed stop text tokens tokens_per_s" ]'

post /v1/generate '{"prime": "The ", "length": 30, "beam": 3, "n_best": 2}'
jget "$tmp/body" 'd["text"]' >"$tmp/a"
sample_text "$tmp/b" "$G" --prime "The " --length 30 --beam 3 --n-best 2
check "/v1/generate beam search as rnnlab sample" 'same_text "$tmp/a" "$tmp/b"'
v=$(jget "$tmp/body" 'len(d["beams"])')
check "... with its n_best beams" '[ "$v" = 2 ]'

# streaming: events, then [DONE]; the same text as the whole answer
post /v1/completions '{"prompt": "a ", "max_tokens": 50, "seed": 3, "stream": true, "logprobs": 1}'
cp "$tmp/body" "$tmp/stream.txt"
"$PY" - "$tmp/stream.txt" >"$tmp/a" 2>"$tmp/evidence" <<'EOF'
import json, sys
ev = open(sys.argv[1]).read().split("\n\n")
assert ev[-1] == "" and ev[-2] == "data: [DONE]", ev[-3:]
chunks = [json.loads(e[6:]) for e in ev[:-2]]
assert all(e.startswith("data: ") for e in ev[:-1])
assert chunks[-1]["choices"][0]["finish_reason"] == "length"
assert all(len(c["choices"][0]["logprobs"]["tokens"]) <= 1 for c in chunks)
sys.stdout.write("".join(c["choices"][0]["text"] for c in chunks))
EOF
r=$?
check "stream: true sends data: {...} events, then data: [DONE]" '[ $r -eq 0 ]'
post /v1/completions '{"prompt": "a ", "max_tokens": 50, "seed": 3}'
jget "$tmp/body" 'd["choices"][0]["text"]' >"$tmp/b"
check "... whose texts join to the answer's text" 'same_text "$tmp/a" "$tmp/b"'

post /v1/generate '{"prime": "a ", "length": 20, "seed": 3, "stream": true}'
"$PY" -c 'import json, sys
ev = open(sys.argv[1]).read().split("\n\n")
toks = [json.loads(e[6:]) for e in ev[:-3]]
last = json.loads(ev[-3][6:])
assert ev[-2] == "data: [DONE]" and len(toks) == 20 and last["tokens"] == 20
assert [t["index"] for t in toks] == list(range(20)) and len(toks[0]["top"]) == 5
assert "".join(t["token"] for t in toks) == last["text"]' "$tmp/body" 2>"$tmp/evidence"
r=$?
check "/v1/generate streams sample --json's token lines, then its summary" '[ $r -eq 0 ]'

# a stop string ends the text before it (OpenAI), and is kept by /v1/generate
post /v1/completions '{"prompt": "The ", "max_tokens": 200, "seed": 5, "stop": ["e"]}'
v=$(jget "$tmp/body" 'd["choices"][0]["finish_reason"] + str("e" in d["choices"][0]["text"])')
check "completions: the stop string ends the text and is left out" '[ "$v" = stopFalse ]'
post /v1/generate '{"prime": "The ", "length": 200, "seed": 5, "stop": "e"}'
v=$(jget "$tmp/body" 'd["stop"] + d["text"][-1:]')
check "generate: the stop string ends the text, as sample --stop" '[ "$v" = stope ]'

# concurrent requests with fixed seeds: each the text of rnnlab sample
clients=
for i in 1 2 3 4 5 6 7 8; do
    printf '{"prime": "T", "length": %d, "seed": %d, "temperature": 0.%d}' \
        $((30 + i * 5)) "$i" "$i" >"$tmp/c$i.json"
    req_bg "$tmp/c$i.out" POST /v1/generate "$tmp/c$i.json"
    clients="$clients $bg_pid"
done
wait $clients
ok=1
for i in 1 2 3 4 5 6 7 8; do
    jget "$tmp/c$i.out" 'd["text"]' >"$tmp/a"
    sample_text "$tmp/b" "$G" --prime T --length $((30 + i * 5)) --seed "$i" --temperature "0.$i"
    same_text "$tmp/a" "$tmp/b" || { ok=0; cp "$tmp/evidence" "$tmp/ev.keep"; }
done
[ -f "$tmp/ev.keep" ] && cp "$tmp/ev.keep" "$tmp/evidence"
check "8 concurrent requests with fixed seeds give rnnlab sample's texts" '[ "$ok" = 1 ]'

# ---------------------------------------------------------------- errors

post /v1/completions '{"prompt": "x", "max_tokens": 3'
expect_status 400 'not valid JSON' "malformed JSON: 400"
post /v1/completions '{"temperature": "hot"}'
expect_status 400 '^temperature: expected a number, not a string$' "a wrong type: 400 naming the field"
post /v1/completions '{"top_p": 1.5}'
expect_status 400 "^top_p: '1.5' is out of range (> 0 and <= 1)$" "out of range: 400 with the settings table's range"
"$RNNLAB" sample "$G" --top-p 1.5 2>"$tmp/sample.err"
cp "$tmp/sample.err" "$tmp/evidence"
check "... which rnnlab sample gives too" 'grep -q "top-p: .1.5. is out of range (> 0 and <= 1)" "$tmp/sample.err"'
post /v1/generate '{"top_k": 2.5}'
expect_status 400 "^top_k: '2.5' is not a whole number$" "a fraction for a whole number: 400"
post /v1/completions '{"max_tokens": 5000}'
expect_status 400 "max_tokens: 5000 is more than this server's limit (4096)" "max_tokens over the limit: 400"
post_prompt 20000
expect_status 400 "prompt: 20000 bytes is more than this server's limit (16384)" "a prompt over the limit: 400"
post /v1/completions '{"model": "nope"}'
expect_status 404 "model 'nope' not found (this server has: garden)" "unknown model: 404"
post /v1/completions '{"frobnicate": 1}'
expect_status 400 "unknown field 'frobnicate'" "unknown field: 400"
post_prompt 1100000
expect_status 413 "larger than 1048576 bytes" "a body over 1 MiB: 413"
get /v1/nothing
expect_status 404 "no such endpoint" "unknown path: 404"
get /v1/completions
expect_status 405 "takes POST only" "wrong method: 405"

get /metrics
cp "$tmp/body" "$tmp/evidence"
n=0
for m in 'rnnlab_requests_total{path="/v1/completions",code="400"}' rnnlab_generated_tokens_total \
         'rnnlab_request_duration_seconds_bucket{le="+Inf"}' rnnlab_active_streams \
         rnnlab_batch_occupancy; do
    grep -qF "$m" "$tmp/body" && n=$((n + 1))
done
check "GET /metrics: Prometheus text with requests, tokens, latency, streams, batches" '[ $n -eq 5 ]'
cp "$tmp/main.err" "$tmp/evidence"
check "a log line per request: method, path, status, tokens, ms" \
    'grep -q "^POST /v1/generate 200 60 tokens [0-9.]* ms$" "$tmp/main.err"'

kill -INT "$main_pid"
wait "$main_pid"
r=$?
check "SIGINT when idle: exit status 0" '[ $r -eq 0 ]'

# ---------------------------------------------------------------- live models

# model_step: the step /v1/models reports for the first model.
# wait_step STEP: until it is STEP (at most 15 s).
model_step() {
    req "$tmp/ms" GET /v1/models "" "${auth:-}"
    jget "$tmp/ms" 'd["data"][0]["step"]'
}
wait_step() {
    for _ in $(seq 1 150); do
        [ "$(model_step)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
L=$tmp/live
cp -R "$G" "$L"
start_server live "$L" --threads 1
live_pid=$pid
check "/v1/models reports the session's step" '[ "$(model_step)" = 40 ]'
"$RNNLAB" train --resume "$L" --steps 20 --eval-every 10 --quiet >/dev/null 2>"$tmp/train.err"
cp "$tmp/live.err" "$tmp/evidence"
check "a session trained on (train --resume) is picked up: /v1/models reports step 60" \
    'wait_step 60'
v=$(jget "$tmp/ms" 'd["data"][0]["val_loss"] is not None')
check "... with its validation loss" '[ "$v" = True ]'
post /v1/generate '{"prime": "The ", "length": 60, "seed": 9}'
jget "$tmp/body" 'd["text"]' >"$tmp/a"
sample_text "$tmp/b" "$L" --prime "The " --length 60 --seed 9
check "... and a fixed-seed generation is rnnlab sample's on the new weights" \
    'same_text "$tmp/a" "$tmp/b"'
cp "$tmp/a" "$tmp/good"
# a save that does not load: the step-60 weights serve on, one line logged
cp -R "$L" "$tmp/live.bad"
printf 'not safetensors' >"$tmp/live.bad/model.safetensors"
mv "$L" "$tmp/live.prev" && mv "$tmp/live.bad" "$L"
for _ in $(seq 1 40); do
    grep -q 'not reloaded' "$tmp/live.err" && break
    sleep 0.1
done
sleep 1.5
cp "$tmp/live.err" "$tmp/evidence"
check "a session that does not load is logged once" \
    '[ "$(grep -c "live: not reloaded, step 60 serves on: .*model.safetensors" "$tmp/live.err")" = 1 ]'
post /v1/generate '{"prime": "The ", "length": 60, "seed": 9}'
jget "$tmp/body" 'd["text"]' >"$tmp/a"
check "... and the model before it serves on" 'same_text "$tmp/a" "$tmp/good"'
kill -TERM "$live_pid"
wait "$live_pid"

# ---------------------------------------------------------------- uploads

# mktar DIR ROOT KIND...: $tmp/KIND.tar for each KIND, a tar of DIR's
# session.json and model.safetensors with a twist by KIND (hostile ones
# aim at ROOT).
cat >"$tmp/mktar.py" <<'EOF'
import io, sys, tarfile
src, root, kinds = sys.argv[1], sys.argv[2], sys.argv[3:]
files = {n: open(src + "/" + n, "rb").read() for n in ("session.json", "model.safetensors")}
for kind in kinds:
    t = tarfile.open(root + "/" + kind + ".tar", "w", format=tarfile.USTAR_FORMAT)
    def add(name, data, type=tarfile.REGTYPE, link=""):
        i = tarfile.TarInfo(name)
        i.size, i.type, i.linkname = (len(data) if type == tarfile.REGTYPE else 0), type, link
        t.addfile(i, io.BytesIO(data) if type == tarfile.REGTYPE else None)
    for n, d in files.items():
        if kind == "corrupt" and n == "model.safetensors":
            d = d[:200]
        add("./" + n if kind == "dotted" else n, d)
    if kind == "traversal":
        add("../evil", b"x")
    elif kind == "absolute":
        add(root + "/evil", b"x")
    elif kind == "symlink":
        add("best.safetensors", b"", tarfile.SYMTYPE, "../evil")
    elif kind == "hardlink":
        add("best.safetensors", b"", tarfile.LNKTYPE, "session.json")
    elif kind == "device":
        add("best.safetensors", b"", tarfile.CHRTYPE)
    elif kind == "extra":
        add("notes.txt", b"hello")
    t.close()
EOF
hostile="traversal absolute symlink hardlink device extra corrupt"
"$PY" "$tmp/mktar.py" "$tmp/live.prev" "$tmp" good dotted $hostile 2>"$tmp/err" ||
    { cat "$tmp/err"; exit 99; }
# put NAME TAR [HEADER]: PUT /v1/models/NAME with TAR as the body.
put() {
    if [ -n "$have_curl" ]; then
        code=$(curl -s -m 60 -o "$tmp/body" -w '%{http_code}' -X PUT --data-binary "@$2" \
            -H "${3:-X-None: 1}" "$base/v1/models/$1" 2>/dev/null)
    else
        "$PY" "$tmp/client.py" PUT "$base/v1/models/$1" "$2" "${3:-}" "$tmp/body" \
            >"$tmp/body.code" 2>/dev/null
        code=$(cat "$tmp/body.code")
    fi
}

"$RNNLAB" serve "$G" --allow-upload --model-dir "$tmp" --port 0 >/dev/null 2>"$tmp/err"
r=$?
cp "$tmp/err" "$tmp/evidence"
check "--allow-upload without an API key: refused at start, one line" \
    '[ $r -ne 0 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "needs an API key" "$tmp/err"'
"$RNNLAB" serve "$G" --allow-upload --api-key k --port 0 >/dev/null 2>"$tmp/err"
r=$?
cp "$tmp/err" "$tmp/evidence"
check "--allow-upload without --model-dir: refused at start" \
    '[ $r -ne 0 ] && grep -q "needs --model-dir" "$tmp/err"'

M=$tmp/models
mkdir "$M"
cp -R "$G" "$M/garden"
auth="Authorization: Bearer k"
RNNLAB_API_KEY=k start_server noup --model-dir "$M" --threads 1
put garden "$tmp/good.tar" "$auth"
expect_status 403 "uploads are off" "an upload to a server without --allow-upload: 403"
kill -TERM "$pid"
wait "$pid"

RNNLAB_API_KEY=k start_server up --model-dir "$M" --allow-upload --max-upload 200000 --threads 1
up_pid=$pid
check "--model-dir's sessions are served" '[ "$(model_step)" = 40 ]'
post /v1/generate '{"model": "garden", "prime": "The ", "length": 40, "seed": 4}' "$auth"
jget "$tmp/body" 'd["text"]' >"$tmp/garden.text"
put garden "$tmp/good.tar"
expect_status 401 "API key" "an upload without the key: 401"
put garden "$tmp/good.tar" "Authorization: Bearer nope"
expect_status 401 "API key" "an upload with a wrong key: 401"
for n in .hidden %2E%2E a%2Fb "sp%20ace" "$(printf '%065d' 0)"; do
    put "$n" "$tmp/good.tar" "$auth"
    expect_status 400 "model name" "an upload named '$n': 400"
done
head -c 300000 /dev/zero >"$tmp/big.tar"
put garden "$tmp/big.tar" "$auth"
expect_status 413 "larger than this server's limit (200000 bytes" "an upload over --max-upload: 413"
if [ -n "$have_curl" ]; then
    code=$(curl -s -m 60 -o "$tmp/body" -w '%{http_code}' -X PUT -H "$auth" \
        -H 'Transfer-Encoding: chunked' --data-binary "@$tmp/big.tar" "$base/v1/models/garden")
    expect_status 413 "larger than" "... and when it is only found out while streaming"
fi

# hostile uploads: refused with the reason, nothing written, the old model serving
for kind in $hostile; do
    put garden "$tmp/$kind.tar" "$auth"
    case $kind in
        traversal|absolute|extra) want="holds only session.json" ;;
        symlink|hardlink) want="a link (refused)" ;;
        device) want="a device or FIFO" ;;
        corrupt) want="garden/model.safetensors" ;;
    esac
    expect_status "$([ $kind = corrupt ] && echo 422 || echo 400)" "$want" "a hostile upload ($kind): refused"
done
printf 'not a tar at all, not a tar at all' >"$tmp/junk.tar"
put garden "$tmp/junk.tar" "$auth"
expect_status 400 "tar" "an upload that is no tar: 400"
ls -A "$M" >"$tmp/evidence"
check "... nothing written outside the model directory, nothing left in it" \
    '[ ! -e "$tmp/evil" ] && [ ! -e "$tmp/../evil" ] && [ "$(ls -A "$M")" = garden ]'
post /v1/generate '{"model": "garden", "prime": "The ", "length": 40, "seed": 4}' "$auth"
jget "$tmp/body" 'd["text"]' >"$tmp/a"
check "... and the old model serves on" 'same_text "$tmp/a" "$tmp/garden.text"'

put garden "$tmp/dotted.tar" "$auth"
v=$(jget "$tmp/body" 'd["step"]')
check "a good upload replaces the model: 200 with its step" '[ "$code" = 200 ] && [ "$v" = 60 ]'
check "... /v1/models reports it" '[ "$(model_step)" = 60 ]'
post /v1/generate '{"model": "garden", "prime": "The ", "length": 40, "seed": 4}' "$auth"
jget "$tmp/body" 'd["text"]' >"$tmp/a"
sample_text "$tmp/b" "$M/garden" --prime "The " --length 40 --seed 4
check "... and generates as rnnlab sample of the uploaded session" 'same_text "$tmp/a" "$tmp/b"'
put fresh "$tmp/good.tar" "$auth"
check "an upload under a new name installs it: 201" '[ "$code" = 201 ]'
post /v1/completions '{"model": "fresh", "prompt": "The ", "max_tokens": 30, "seed": 2}' "$auth"
jget "$tmp/body" 'd["choices"][0]["text"]' >"$tmp/a"
sample_text "$tmp/b" "$M/fresh" --prime "The " --length 30 --seed 2
check "... and a completion on it is rnnlab sample's" 'same_text "$tmp/a" "$tmp/b"'
ls -A "$M" >"$tmp/evidence"
check "... the model directory holds the two sessions only" \
    '[ "$(ls -A "$M" | tr "\n" " ")" = "fresh garden " ]'
kill -TERM "$up_pid"
wait "$up_pid"
auth=

# ---------------------------------------------------------------- key, queue, signals

RNNLAB_API_KEY=s3cret start_server big "$tmp/big" --threads 1 --max-batch 1 --max-queue 1 --grace 1
big_pid=$pid
get /v1/models
expect_status 401 "API key" "no key: 401"
get /v1/models "Authorization: Bearer wrong"
expect_status 401 "API key" "a wrong key: 401"
get /v1/models "Authorization: Bearer s3cret"
check "the right key: 200" '[ "$code" = 200 ]'
get /health
check "/health needs no key" '[ "$code" = 200 ]'

auth="Authorization: Bearer s3cret"
# metric NAME: its value in /metrics.  wait_metric NAME VALUE: until it is
# VALUE (at most 10 s).
metric() {
    req "$tmp/m" GET /metrics "" "$auth"
    sed -n "s/^$1 //p" "$tmp/m"
}
wait_metric() {
    for _ in $(seq 1 100); do
        [ "$(metric "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# a client that leaves while its long prompt (16,000 steps) is still being
# read: cancelled then, before its one token (the workers ask whether the
# client is there every 50 ms; a waiting connection is not watched)
"$PY" -c 'import json; print(json.dumps({"prompt": "the " * 4000, "max_tokens": 1}))' \
    >"$tmp/prompt.json"
req_bg "$tmp/p1" POST /v1/completions "$tmp/prompt.json" "$auth"
p1_pid=$bg_pid
wait_metric rnnlab_running_generations 1
sleep 0.3
kill "$p1_pid" 2>/dev/null
t0=$(date +%s)
for _ in $(seq 1 100); do
    grep -q 'client gone: cancelled' "$tmp/big.err" && break
    sleep 0.1
done
t1=$(date +%s)
wait "$p1_pid" 2>/dev/null
cp "$tmp/big.err" "$tmp/evidence"
check "a client gone during its prompt is cancelled at once, before its first token" \
    'grep -q " 0 tokens .*client gone: cancelled" "$tmp/big.err" && [ $((t1 - t0)) -le 5 ]'
wait_metric rnnlab_running_generations 0

# a long answer: 5,120 steps of the 2x512 model, the first 1,024 the
# prompt's (tokens flow soon, also in a slow build on a loaded machine)
"$PY" -c 'import json; print(json.dumps({"prompt": "the " * 256, "max_tokens": 4096, "stream": True}))' \
    >"$tmp/long.json"
req_bg "$tmp/s1" POST /v1/completions "$tmp/long.json" "$auth"
s1_pid=$bg_pid
wait_metric rnnlab_running_generations 1
req_bg "$tmp/s2" POST /v1/completions "$tmp/long.json" "$auth"
s2_pid=$bg_pid
wait_metric rnnlab_queue_depth 1
post /v1/completions '{"max_tokens": 5}' "$auth"
expect_status 429 "queue is full" "the queue full: 429"

# the first client goes away mid-stream, once tokens flow: its generation
# is cancelled.
for _ in $(seq 1 500); do
    grep -q '^data: ' "$tmp/s1" 2>/dev/null && break
    sleep 0.1
done
kill "$s1_pid" 2>/dev/null
gone() { grep -c 'client gone: cancelled' "$tmp/big.err"; }
for _ in $(seq 1 200); do
    [ "$(gone)" -ge 2 ] && break
    sleep 0.1
done
cp "$tmp/big.err" "$tmp/evidence"
check "a client gone mid-stream has its generation cancelled" '[ "$(gone)" -ge 2 ]'

# SIGTERM while the second streams: it ends within the grace time (1 s)
for _ in $(seq 1 500); do
    grep -q '^data: ' "$tmp/s2" 2>/dev/null && break
    sleep 0.1
done
kill -TERM "$big_pid"
t0=$(date +%s)
wait "$big_pid"
status=$?
t1=$(date +%s)
wait "$s2_pid"
cp "$tmp/big.err" "$tmp/evidence"
check "SIGTERM during a stream: exit status 0 within the grace time" '[ "$status" -eq 0 ] && [ $((t1 - t0)) -le 8 ]'
tail -c 400 "$tmp/s2" >"$tmp/evidence"
"$PY" -c 'import json, sys
ev = open(sys.argv[1]).read().split("\n\n")
assert ev[-2] == "data: [DONE]", ev[-2:]
assert json.loads(ev[-3][6:])["choices"][0]["finish_reason"] in ("cancelled", "length")' "$tmp/s2" 2>/dev/null
r=$?
check "... and the stream ends with its last event and data: [DONE]" '[ $r -eq 0 ]'

echo "serve.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
