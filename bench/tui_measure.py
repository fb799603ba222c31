#!/usr/bin/env python3
"""tui_measure.py - what the terminal interface costs.

Runs the same short training three times: with `rnnlab train`, inside the
TUI (on a pseudo-terminal, as a person would) and as a script (the same
engine thread, no screen), and compares the training speed
the trainer measured for its steps (progress.elapsed of the saved session),
and the processor time of the TUI's own thread (the main thread; the
engine trains in another) against the whole process's.  While the TUI trains at full speed it also types
keys and measures how long each takes to be echoed on the screen.

    python3 bench/tui_measure.py [--rnnlab src/rnnlab] [--steps 60]
        [--keys 30] [--rounds 2] [--threads 2]
"""
import argparse
import json
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODEL = ["--model", "lstm", "--layers", "2", "--hidden", "256",
         "--batch", "32", "--seq-len", "64"]
TUI_MODEL = ["-e", "model lstm layers=2 hidden=256", "-e", "set batch 32",
             "-e", "set seq-len 64", "-e", "set eval-every 0"]


def session_speed(path, steps):
    with open(os.path.join(path, "session.json")) as f:
        s = json.load(f)
    elapsed = s["progress"]["elapsed"]
    return steps * 32 * 64 / elapsed, elapsed


def baseline(rnnlab, corpus, steps, tmp, threads):
    out = os.path.join(tmp, "cli")
    t0 = time.monotonic()
    subprocess.run([rnnlab, "train", "--corpus", corpus, "--steps", str(steps),
                    "--eval-every", "0", "--save", out, "--quiet",
                    "--threads", str(threads)] + MODEL,
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    tps, el = session_speed(out, steps)
    return tps, el, wall


def cpu_ticks(pid, tid=None):
    """utime + stime of a thread (tid) or of the whole process."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def repl(rnnlab, corpus, steps, tmp, threads):
    """The same run as a script: the engine thread without a screen."""
    out = os.path.join(tmp, "repl")
    script = os.path.join(tmp, "run.rnn")
    with open(script, "w") as f:
        f.write("\n".join(e for e in TUI_MODEL if e != "-e") + "\n")
        f.write(f"set threads {threads}\ntrain steps={steps}\nwait\nsave {out}\n")
    subprocess.run([rnnlab, "-x", script, "--corpus", corpus], check=True,
                   stdout=subprocess.DEVNULL)
    return session_speed(out, steps)[0]


class Term:
    """rnnlab on a pseudo-terminal; output is drained continuously."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        os.set_blocking(self.fd, False)
        self.buf = b""

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return b""
        self.buf += data
        return data

    def wait_for(self, needle, limit):
        end = time.monotonic() + limit
        start = len(self.buf)
        while time.monotonic() < end:
            if needle in self.buf[start:]:
                return True
            self.read(0.05)
        return False

    def send(self, data):
        os.write(self.fd, data)


def tui(rnnlab, corpus, steps, tmp, keys, threads):
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8",
               LC_ALL="C.UTF-8", HOME=tmp, XDG_STATE_HOME=tmp, LINES="32",
               COLUMNS="120")
    argv = ([rnnlab, "--corpus", corpus] + TUI_MODEL
            + ["-e", f"set threads {threads}", "-e", f"train steps={steps}"])
    t = Term(argv, env)
    if not t.wait_for(b"training", 120):
        sys.exit("the TUI did not start training")
    t0 = time.monotonic()
    ui0, all0 = cpu_ticks(t.pid, t.pid), cpu_ticks(t.pid)
    lat = []
    for _ in range(keys):
        time.sleep(0.15)
        while t.read(0):
            pass
        sent = time.monotonic()
        t.send(b"~")
        got = b""
        while b"~" not in got and time.monotonic() - sent < 5:
            got += t.read(0.001)
        lat.append((time.monotonic() - sent) * 1000)
    t.send(b"\x15")                      # Ctrl-U: clear the line
    if not t.wait_for(b"idle", 3600):
        sys.exit("training did not end")
    wall = time.monotonic() - t0
    ui = cpu_ticks(t.pid, t.pid) - ui0
    total = cpu_ticks(t.pid) - all0
    out = os.path.join(tmp, "tui")
    t.send(f"save {out}\r".encode())
    end = time.monotonic() + 120
    while not os.path.exists(os.path.join(out, "session.json")):
        t.read(0.1)
        if time.monotonic() > end:
            sys.exit("the TUI did not save")
    t.send(b"quit\r")
    t.wait_for(b"[y/n]", 5)
    t.send(b"n")
    for _ in range(100):
        t.read(0.05)
        pid, _ = os.waitpid(t.pid, os.WNOHANG)
        if pid:
            break
    tps, el = session_speed(out, steps)
    return tps, el, wall, lat, ui, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rnnlab", default="src/rnnlab")
    ap.add_argument("--corpus", default="data/tiny-plays.txt")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--keys", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rnnlab = os.path.abspath(a.rnnlab)
    corpus = os.path.abspath(a.corpus)
    costs = []
    for r in range(a.rounds):
        tmp = tempfile.mkdtemp(prefix="rnnlab-measure.")
        try:
            # the order alternates, so a change in the machine's load
            # does not always fall on the same side
            if r % 2 == 0:
                b_tps, b_el, b_wall = baseline(rnnlab, corpus, a.steps, tmp,
                                               a.threads)
            u_tps, u_el, u_wall, lat, ui, total = tui(rnnlab, corpus, a.steps,
                                                      tmp, a.keys, a.threads)
            r_tps = repl(rnnlab, corpus, a.steps, tmp, a.threads)
            if r % 2 == 1:
                b_tps, b_el, b_wall = baseline(rnnlab, corpus, a.steps, tmp,
                                               a.threads)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        hz = os.sysconf("SC_CLK_TCK")
        print(f"round {r + 1}: TUI thread {ui / hz:.2f} s of processor time "
              f"out of {total / hz:.1f} s for the process "
              f"({100 * ui / max(total, 1):.2f}%) over {u_wall:.1f} s of training")
        lat.sort()
        print(f"  train {b_tps:.0f} tok/s ({b_el:.1f} s of steps, "
              f"{b_wall:.1f} s wall); TUI {u_tps:.0f} tok/s ({u_el:.1f} s of "
              f"steps); cost {100 * (1 - u_tps / b_tps):+.1f}%; script "
              f"{r_tps:.0f} tok/s")
        costs.append((1 - u_tps / b_tps, 1 - u_tps / r_tps))
        if lat:
            print(f"  key echo while training: median {statistics.median(lat):.1f} ms, "
                  f"90% {lat[int(0.9 * (len(lat) - 1))]:.1f} ms, max "
                  f"{lat[-1]:.1f} ms ({len(lat)} keys)")
    print(f"median cost of the TUI: {100 * statistics.median(c[0] for c in costs):+.1f}% "
          f"against rnnlab train, {100 * statistics.median(c[1] for c in costs):+.1f}% "
          f"against the same script without a screen")


if __name__ == "__main__":
    main()
