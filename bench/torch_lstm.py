#!/usr/bin/python3
"""PyTorch reference for the rnnlab training benchmark.

Trains the same character-level model rnnlab's benchmark trains:
    nn.Embedding(V, 64) -> nn.LSTM(64, 512, num_layers=2) -> nn.Linear(512, V)
with Adam (lr 2e-3), global-norm gradient clipping at 5, dropout 0,
truncated BPTT over B=32 contiguous streams of the training split (the
first 1 - val_frac of the corpus), T=100 tokens per chunk, hidden state
carried across chunks and detached, mean cross-entropy.

With --layer-norm the LSTM is the README's LayerNorm LSTM module
(tests/lnlstm.py, the one tests/torch_parity.sh checks against rnnlab's
--layer-norm), its weights drawn as nn.LSTM draws them (uniform
+-1/sqrt(H)), its LayerNorms at nn.LayerNorm's start (1 and 0).

Prints one JSON object on stdout:
    {"threads": N, "tokens_per_s": ..., "peak_rss_mb": ..., ...}
tokens_per_s counts T*B targets per optimizer step over the timed steps
(those after the warm-up); peak_rss_mb is this process's ru_maxrss.

Usage:
    /usr/bin/python3 bench/torch_lstm.py --threads 1 --blas-threads 2 \
        --steps 20 --warmup 3
--threads sets torch's intra-op (OpenMP) threads; Debian's torch does its
GEMMs in OpenBLAS, whose own pool --blas-threads sizes (OPENBLAS_NUM_THREADS,
else OMP_NUM_THREADS).
The corpus is $RNNLAB_BENCH_CORPUS, else ../shared/data/tinyshakespeare.txt
relative to the repository root (the parent of this file's directory).
"""

import argparse
import json
import os
import resource
import sys
import time


def default_corpus():
    env = os.environ.get("RNNLAB_BENCH_CORPUS")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt")


def layer_norm_lstm(embed, hidden, layers):
    """The README's LayerNorm LSTM module (tests/lnlstm.py), its weights
    and biases drawn as nn.LSTM's: uniform +-1/sqrt(hidden)."""
    import torch.nn as nn
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "tests"))
    from lnlstm import LayerNormLSTM
    rnn = LayerNormLSTM(embed, hidden, layers)
    bound = hidden ** -0.5
    for name, p in rnn.named_parameters():
        if not name.startswith("ln_"):
            nn.init.uniform_(p, -bound, bound)
    return rnn


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (torch.set_num_threads)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OpenBLAS threads (sets OPENBLAS_NUM_THREADS before "
                         "torch loads; default: the environment's)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--model", choices=("lstm", "gru"), default="lstm")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--layer-norm", action="store_true",
                    help="the README's LayerNorm LSTM module instead of nn.LSTM")
    args = ap.parse_args()

    path = args.corpus or default_corpus()
    if not os.path.isfile(path):
        print("torch_lstm: corpus not found: %s "
              "(set RNNLAB_BENCH_CORPUS)" % path, file=sys.stderr)
        return 1

    # Debian's torch does its GEMMs in OpenBLAS, which sizes its own thread
    # pool from OPENBLAS_NUM_THREADS (else OMP_NUM_THREADS) when it loads.
    if args.blas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS",
                                  os.environ.get("OMP_NUM_THREADS"))

    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    chars = sorted(set(text))
    V = len(chars)
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n_train = int(len(ids) * (1.0 - args.val_frac))
    train = ids[:n_train]

    T, B = args.seq_len, args.batch
    # batchify: B contiguous streams, time-major [L, B]
    L = train.numel() // B
    streams = train[:L * B].view(B, L).t().contiguous()
    if L < T + 1:
        print("torch_lstm: corpus too small for B=%d T=%d" % (B, T),
              file=sys.stderr)
        return 1

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(V, args.embed)
            if args.layer_norm:
                self.rnn = layer_norm_lstm(args.embed, args.hidden, args.layers)
            else:
                cell = nn.LSTM if args.model == "lstm" else nn.GRU
                self.rnn = cell(args.embed, args.hidden, args.layers, dropout=0.0)
            self.decoder = nn.Linear(args.hidden, V)

        def forward(self, x, state):
            out, state = self.rnn(self.encoder(x), state)
            return self.decoder(out.view(-1, out.size(2))), state

    model = Model()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    def zero_state():
        if args.layer_norm:         # the module's: [(h, c)] per layer
            return [(torch.zeros(B, args.hidden), torch.zeros(B, args.hidden))
                    for _ in range(args.layers)]
        z = torch.zeros(args.layers, B, args.hidden)
        return (z, z.clone()) if args.model == "lstm" else z

    def detach(state):
        if args.layer_norm:
            return [tuple(s.detach() for s in hc) for hc in state]
        if args.model == "lstm":
            return tuple(s.detach() for s in state)
        return state.detach()

    state = zero_state()
    pos = 0
    loss_v = float("nan")
    t_start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            t_start = time.perf_counter()
        if pos + T + 1 > L:   # wrap: new epoch, fresh state
            pos = 0
            state = zero_state()
        x = streams[pos:pos + T]
        y = streams[pos + 1:pos + 1 + T].reshape(-1)
        pos += T
        state = detach(state)
        opt.zero_grad(set_to_none=True)
        logits, state = model(x, state)
        loss = loss_fn(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        loss_v = loss.item()   # synchronises, like a logged training step
    elapsed = time.perf_counter() - t_start if args.steps > 0 else 0.0

    tokens = args.steps * T * B
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "threads": args.threads,
        "layer_norm": args.layer_norm,
        "blas_threads": int(blas_threads) if blas_threads else None,
        "tokens_per_s": round(tokens / elapsed, 1) if elapsed > 0 else 0.0,
        "peak_rss_mb": round(rss_kb / 1024.0, 1),
        "steps": args.steps,
        "warmup": args.warmup,
        "seconds": round(elapsed, 3),
        "vocab": V,
        "final_loss": round(loss_v, 4),
        "torch": torch.__version__,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
