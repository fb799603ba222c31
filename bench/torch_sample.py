#!/usr/bin/python3
"""PyTorch reference for the rnnlab generation benchmark.

Generates text token by token with the model rnnlab's benchmark uses:
    nn.Embedding(V, 64) -> nn.LSTM(64, 512, num_layers=2) -> nn.Linear(512, V)
with PyTorch's default (random) initialisation: the speed of a step does
not depend on the weights.  V is the number of distinct characters of the
corpus.  Each step feeds one token, takes softmax(logits) and draws the
next token with torch.multinomial, as a char-rnn sampling loop does; the
prime "The " is run through the model first.  Everything runs under
torch.inference_mode().

Prints one JSON object on stdout:
    {"threads": N, "tokens": N, "seconds": ..., "cpu_seconds": ...,
     "tokens_per_s": ...}
over the timed tokens (those after the warm-up); cpu_seconds is the
process's CPU time (all threads).

Usage:
    /usr/bin/python3 bench/torch_sample.py --threads 1 --tokens 2000
--threads sets torch's intra-op threads; set OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS to the same number in the environment (Debian's torch
does its products in OpenBLAS, whose pool is sized when it loads).
"""

import argparse
import json
import os
import sys
import time


def default_corpus():
    env = os.environ.get("RNNLAB_BENCH_CORPUS")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=2000, help="timed tokens")
    ap.add_argument("--warmup", type=int, default=50, help="untimed tokens first")
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    path = args.corpus or default_corpus()
    if not os.path.isfile(path):
        print("torch_sample: corpus not found: %s (set RNNLAB_BENCH_CORPUS)" % path,
              file=sys.stderr)
        return 1
    with open(path, "rb") as f:
        chars = sorted(set(f.read().decode("utf-8")))
    index = {c: i for i, c in enumerate(chars)}
    V = len(chars)

    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    emb = nn.Embedding(V, args.embed)
    lstm = nn.LSTM(args.embed, args.hidden, args.layers)
    dec = nn.Linear(args.hidden, V)
    for mod in (emb, lstm, dec):
        mod.eval()

    def step(tok, state):
        x = torch.tensor([[tok]], dtype=torch.long)
        out, state = lstm(emb(x), state)
        probs = torch.softmax(dec(out[0, 0]), dim=-1)
        return int(torch.multinomial(probs, 1).item()), state

    with torch.inference_mode():
        state = None
        tok = 0
        for c in "The ":
            tok, state = step(index.get(c, 0), state)
        for _ in range(args.warmup):
            tok, state = step(tok, state)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.tokens):
            tok, state = step(tok, state)
        sec = time.perf_counter() - t0
        cpu = time.process_time() - c0

    print(json.dumps({"threads": args.threads, "tokens": args.tokens,
                      "seconds": round(sec, 4), "cpu_seconds": round(cpu, 4),
                      "tokens_per_s": round(args.tokens / sec, 1),
                      "vocab": V, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
