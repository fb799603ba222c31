#!/usr/bin/env python3
"""serve_soak.py - the soak of bench/serve.sh: SOAK_CLIENTS clients send a
mix of valid, malformed and oversized requests to `rnnlab serve` (port
RNNLAB_PORT, pid RNNLAB_PID, its stderr in OUT/serve-soak.log) for
SOAK_SECONDS.  Counts the answers by kind and status, samples the server's
RSS every second (after a warm-up of 32 requests), and checks the
server's log.  Writes
OUT/serve_soak.json; exits 1 when a request went unanswered, a status was
not the one its kind expects, or the log holds an unexpected line."""
import http.client
import json
import os
import random
import re
import threading
import time

E = os.environ
PORT = int(E["RNNLAB_PORT"])
PID = int(E["RNNLAB_PID"])
SECONDS = float(E.get("SOAK_SECONDS", "60"))
CLIENTS = int(E.get("SOAK_CLIENTS", "64"))
OUT = E["OUT"]
BIG = b'{"prompt": "' + b"a" * (1100 * 1024) + b'"}'   # over the 1 MiB body limit


def chunks(body):
    for i in range(0, len(body), 65536):
        yield body[i:i + 65536]


# kind: (method, path, body, expected statuses, weight)
KINDS = {
    "completion": ("POST", "/v1/completions",
                   '{"prompt": "The ", "max_tokens": 40, "temperature": 0.9, "seed": %d}', {200}, 30),
    "stream": ("POST", "/v1/completions",
               '{"prompt": "ROMEO:", "max_tokens": 40, "stream": true, "seed": %d}', {200}, 15),
    "generate": ("POST", "/v1/generate",
                 '{"prime": "The ", "length": 40, "top_k": 5, "seed": %d}', {200}, 10),
    "abandon": ("POST", "/v1/completions",
                '{"prompt": "The ", "max_tokens": 400, "stream": true, "seed": %d}', {200}, 5),
    "models": ("GET", "/v1/models", None, {200}, 4),
    "health": ("GET", "/health", None, {200}, 4),
    "bad_json": ("POST", "/v1/completions", '{"prompt": "The ", "max_tokens": ', {400}, 6),
    "wrong_type": ("POST", "/v1/completions", '{"prompt": 12, "max_tokens": "many"}', {400}, 6),
    "out_of_range": ("POST", "/v1/generate", '{"prime": "a", "temperature": -3}', {400}, 5),
    "too_many_tokens": ("POST", "/v1/completions", '{"max_tokens": 100000}', {400}, 4),
    "unknown_field": ("POST", "/v1/completions", '{"prompt": "a", "colour": "red"}', {400}, 4),
    "unknown_model": ("POST", "/v1/completions", '{"model": "nobody", "prompt": "a"}', {404}, 4),
    "wrong_method": ("DELETE", "/v1/completions", None, {405}, 3),
    "oversized": ("POST", "/v1/completions", BIG, {413}, 2),
}
NAMES = list(KINDS)
WEIGHTS = [KINDS[k][4] for k in NAMES]

lock = threading.Lock()
counts = {}          # (kind, status) -> n; status "none" when unanswered
failures = []        # a few examples


def note(kind, status, why=None):
    with lock:
        counts[(kind, status)] = counts.get((kind, status), 0) + 1
        if why and len(failures) < 20:
            failures.append("%s: %s" % (kind, why))


def one(rng, kind):
    method, path, body, _, _ = KINDS[kind]
    headers = {}
    if isinstance(body, str):
        body = (body % rng.randrange(1 << 30) if "%d" in body else body).encode()
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    try:
        if body is BIG:
            headers["Content-Type"] = "application/json"
            c.request(method, path, body=chunks(body), headers=headers, encode_chunked=True)
        else:
            if body is not None:
                headers["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        if kind == "abandon":
            r.read1(64)       # the first event, then the client goes away
            status = r.status
        else:
            data = r.read()
            status = r.status
            if status == 200 and kind in ("completion", "generate") and not json.loads(data):
                return note(kind, status, "empty answer")
            if kind == "stream" and not data.endswith(b"data: [DONE]\n\n"):
                return note(kind, status, "stream without [DONE]")
        note(kind, status)
    except Exception as e:   # an unanswered request is what the soak looks for
        note(kind, "none", repr(e))
    finally:
        c.close()


def client(k, deadline):
    rng = random.Random(k)
    while time.monotonic() < deadline:
        one(rng, rng.choices(NAMES, WEIGHTS)[0])


def rss_kib():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def warm_up():
    """Every worker makes its copy of the model and its batch: the RSS
    samples start from a server that has served."""
    rng = random.Random(-1)
    ts = [threading.Thread(target=one, args=(rng, "completion")) for _ in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    counts.clear()


def main():
    log_path = os.path.join(OUT, "serve-soak.log")
    warm_up()
    time.sleep(0.5)          # the warm-up's log lines
    log_start = os.path.getsize(log_path)
    rss = [rss_kib()]
    t0 = time.monotonic()
    deadline = t0 + SECONDS
    threads = [threading.Thread(target=client, args=(k, deadline)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        rss.append(rss_kib())
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    time.sleep(1.0)          # the last log lines
    rss.append(rss_kib())

    expected = {k: v[3] for k, v in KINDS.items()}
    wrong = {"%s %s" % k: n for k, n in counts.items() if k[1] not in expected[k[0]]}
    line_re = re.compile(r"^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) \S+ (\d{3}) \d+ tokens "
                         r"[\d.]+ ms( \(client gone: cancelled\))?$")
    log_lines, bad_lines = 0, []
    by_status = {}
    with open(log_path, errors="replace") as f:
        f.seek(log_start)
        for line in f.read().splitlines():
            log_lines += 1
            m = line_re.match(line)
            if m and m.group(2) in ("200", "400", "404", "405", "413"):
                by_status[m.group(2)] = by_status.get(m.group(2), 0) + 1
            elif len(bad_lines) < 20:
                bad_lines.append(line)
            else:
                bad_lines.append("...")
    answered = sum(n for k, n in counts.items() if k[1] != "none")
    total = sum(counts.values())
    by_answer = {}
    for (kind, status), n in counts.items():
        by_answer[str(status)] = by_answer.get(str(status), 0) + n
    load = open("/proc/loadavg").read().split()[:3]
    report = {
        "seconds": round(wall, 1), "clients": CLIENTS, "requests": total, "answered": answered,
        "requests_per_s": round(total / wall, 1), "answers_by_status": by_answer,
        "by_kind": {"%s %s" % k: n for k, n in sorted(counts.items(), key=str)},
        "unexpected_status": wrong, "failures": failures,
        "rss_kib": {"first": rss[0], "last": rss[-1], "max": max(rss), "samples": len(rss)},
        "log_lines": log_lines, "log_by_status": by_status, "log_unexpected": bad_lines,
        "loadavg_after": [float(x) for x in load],
    }
    with open(os.path.join(OUT, "serve_soak.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("\nsoak: %d clients, %.0f s: %d requests (%.0f/s), %d answered; by status %s"
          % (CLIENTS, wall, total, total / wall, answered,
             ", ".join("%s: %d" % kv for kv in sorted(by_answer.items()))))
    print("soak: RSS first %d KiB, last %d KiB, max %d KiB (%d samples)"
          % (rss[0], rss[-1], max(rss), len(rss)))
    print("soak: %d log lines, by status %s; unexpected lines: %d"
          % (log_lines, by_status, len(bad_lines)))
    ok = answered == total and not wrong and not bad_lines and not failures
    if not ok:
        print("soak: FAULT: unanswered %d, unexpected statuses %s, failures %s, log %s"
              % (total - answered, wrong, failures[:5], bad_lines[:5]))
    print("written: bench/out/serve_soak.json")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
