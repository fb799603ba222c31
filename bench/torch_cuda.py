#!/usr/bin/env python3
"""PyTorch (cuDNN) reference for rnnlab's GPU training benchmark.

Trains the model bench/cuda.sh trains with rnnlab, on the GPU:
    nn.Embedding(V, 64) -> nn.LSTM(64, 512, num_layers=2) -> nn.Linear(512, V)
with Adam (lr 2e-3), global-norm gradient clipping at 5, dropout 0, mean
cross-entropy, truncated BPTT over B contiguous streams of the training
split (the first 1 - val_frac of the corpus), T tokens per chunk, the
hidden state carried across chunks and detached.  nn.LSTM runs on cuDNN.

Precisions:
  fp32  TF32 off everywhere (cuBLAS and cuDNN): plain float32
  tf32  TF32 allowed in cuBLAS and cuDNN
  bf16  torch.autocast(bfloat16) around forward and loss (AMP); float32
        weights and optimizer state

Prints one JSON object per line on stdout, one per (precision, batch):
    {"precision", "batch", "tokens_per_s", "steps", "seconds", "loss",
     "device", "torch", "cudnn", "fused_adam"}
--precision and --batch take comma-separated lists; all the runs share one
process, so PyTorch and cuDNN start once.
tokens_per_s counts T*B targets per optimizer step over the timed steps
(after the warm-up), timed between two torch.cuda.synchronize() calls; the
loss is read only once, at the end, so no step waits for the host.

Usage:
    python3 bench/torch_cuda.py --batch 32,64 --precision fp32,bf16 --steps 100
The corpus is $RNNLAB_BENCH_CORPUS, else ../shared/data/tinyshakespeare.txt
(then ./shared/data/tinyshakespeare.txt) relative to the repository root.
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
    for rel in (("..", "shared"), ("shared",)):
        p = os.path.join(root, *rel, "data", "tinyshakespeare.txt")
        if os.path.exists(p):
            return p
    return os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt")


def load_streams(path, val_frac, batch, torch):
    """The training split as B contiguous streams, time-major [L, B]."""
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", errors="replace")
    chars = sorted(set(data))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in data], dtype=torch.long)
    n_train = len(ids) - int(len(ids) * val_frac)
    train = ids[:n_train]
    per = len(train) // batch
    return train[: per * batch].view(batch, per).t().contiguous(), len(chars)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", default="fp32",
                    help="comma-separated: fp32, tf32, bf16")
    ap.add_argument("--batch", default="32", help="comma-separated batch sizes")
    ap.add_argument("--steps", type=int, default=100, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--no-fused", action="store_true",
                    help="plain Adam instead of the fused CUDA one")
    args = ap.parse_args()

    try:
        import torch
        import torch.nn as nn
    except ImportError as e:
        print(f"torch_cuda.py: PyTorch is not installed here ({e})", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("torch_cuda.py: no CUDA device for PyTorch", file=sys.stderr)
        return 1
    corpus = args.corpus or default_corpus()
    if not os.path.exists(corpus):
        print(f"torch_cuda.py: corpus not found: {corpus}", file=sys.stderr)
        return 1

    precisions = args.precision.split(",")
    for p in precisions:
        if p not in ("fp32", "tf32", "bf16"):
            print(f"torch_cuda.py: unknown precision '{p}' (fp32, tf32, bf16)",
                  file=sys.stderr)
            return 1
    batches = [int(b) for b in args.batch.split(",")]
    for p in precisions:
        for b in batches:
            print(json.dumps(run(args, corpus, p, b, torch, nn)), flush=True)
    return 0


def run(args, corpus, precision, batch, torch, nn):
    """Trains args.warmup + args.steps steps; returns the result object."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(args.seed)
    dev = torch.device("cuda")

    streams, vocab = load_streams(corpus, args.val_frac, batch, torch)
    streams = streams.to(dev)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, args.embed)
            self.rnn = nn.LSTM(args.embed, args.hidden, args.layers)
            self.decoder = nn.Linear(args.hidden, vocab)

        def forward(self, x, state):
            out, state = self.rnn(self.encoder(x), state)
            return self.decoder(out), state

    model = Net().to(dev)
    fused = not args.no_fused
    try:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, fused=fused)
    except (TypeError, RuntimeError):
        fused = False
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    lossf = nn.CrossEntropyLoss()
    T, B = args.seq_len, batch
    zeros = torch.zeros(args.layers, B, args.hidden, device=dev)
    state = (zeros, zeros.clone())
    pos = 0

    def step():
        nonlocal state, pos
        if pos + T + 1 > streams.size(0):
            pos = 0
            state = (zeros.clone(), zeros.clone())
        x = streams[pos:pos + T]
        y = streams[pos + 1:pos + T + 1]
        pos += T
        state = tuple(s.detach() for s in state)
        with torch.autocast("cuda", dtype=torch.bfloat16,
                            enabled=precision == "bf16"):
            logits, state = model(x, state)
            loss = lossf(logits.reshape(-1, vocab).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {
        "precision": precision,
        "batch": B,
        "tokens_per_s": args.steps * T * B / dt,
        "steps": args.steps,
        "seconds": dt,
        "loss": float(loss.item()),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
        "fused_adam": fused,
    }


if __name__ == "__main__":
    sys.exit(main())
