#!/usr/bin/python3
"""PyTorch peer of bench/word.sh: PyTorch's word_language_model loop.

The model and loop of the example (main.py, model.py): nn.Embedding ->
dropout -> nn.LSTM(layers, dropout between them) -> dropout -> nn.Linear
(tied to the embedding with --tie), uniform(-0.1, 0.1) init of the
embedding and decoder, zero decoder bias; B streams (batchify), chunks of
T tokens with the state carried and detached, mean cross-entropy,
clip_grad_norm_, plain SGD (p -= lr * grad).  Validation at each epoch's
end; when it is not better than the best by 1e-4 of it (the threshold of
rnnlab's plateau schedule, ReduceLROnPlateau's default) the rate is
divided by 4 (the example's rule, with that threshold).

The vocabulary is built as rnnlab's word tokenizer builds it: the words
of the training file split on whitespace, <eos> at each line end, <unk>
(WikiText's own marker) for words of the validation file the training
file lacks.  Ids: <unk> 0, <eos> 1, then the words in the order first
seen (the example's), or with --softmax adaptive by descending count,
ties in byte order (rnnlab's order, so the head and each tail cover the
same tokens as rnnlab's).

--softmax adaptive replaces the decoder by nn.AdaptiveLogSoftmaxWithLoss
(hidden, V, --cutoffs, --div-value, --head-bias), as rnnlab's --softmax
adaptive; its loss is the module's (mean negative log-likelihood of the
targets).  It has no weight to tie: --tie is refused with it.

Two modes:
  --steps N [--warmup W]    speed: W untimed steps, then N timed ones
  --time S                  the run: train for S seconds of wall clock
                            (validations included, as rnnlab's --time),
                            then score the validation file once
Prints one JSON object: tokens_per_s (training tokens over the time of
the training steps alone), vocab, steps, epochs, val_ppl (after --time),
peak_rss_mb (ru_maxrss).  --threads sets torch's intra-op threads,
--blas-threads OpenBLAS's pool (OPENBLAS_NUM_THREADS, set before torch
loads).
"""

import argparse
import json
import math
import os
import resource
import sys
import time


def read_words(path, ids, grow):
    out = []
    with open(path, "rb") as f:
        for line in f:
            for w in line.split():
                if w not in ids:
                    if not grow:
                        w = b"<unk>"
                    else:
                        ids[w] = len(ids)
                out.append(ids[w])
            if line.endswith(b"\n"):
                out.append(ids[b"<eos>"])
    return out


def by_count(train, ids):
    """train and ids renumbered: <unk>, <eos>, then by count, ties in
    byte order (rnnlab's word ids)."""
    counts = [0] * len(ids)
    for i in train:
        counts[i] += 1
    words = sorted((w for w in ids if ids[w] > 1), key=lambda w: (-counts[ids[w]], w))
    new = {b"<unk>": 0, b"<eos>": 1}
    for w in words:
        new[w] = len(new)
    old_to_new = [0] * len(ids)
    for w, i in ids.items():
        old_to_new[i] = new[w]
    return [old_to_new[i] for i in train], new


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blas-threads", type=int, default=None)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--time", type=float, default=0)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=650)
    ap.add_argument("--embed", type=int, default=650)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--seq-len", type=int, default=35)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--eval-batch", type=int, default=10)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--softmax", choices=("full", "adaptive"), default="full")
    ap.add_argument("--cutoffs", default="2000,10000",
                    help="adaptive: the ids where its clusters start")
    ap.add_argument("--div-value", type=float, default=4.0)
    ap.add_argument("--head-bias", action="store_true")
    a = ap.parse_args()
    adaptive = a.softmax == "adaptive"
    if adaptive and a.tie:
        ap.error("--tie is for --softmax full (the adaptive softmax has no weight to tie)")
    if a.blas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(a.blas_threads)
    import torch
    import torch.nn as nn
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    ids = {b"<unk>": 0, b"<eos>": 1}
    train = read_words(a.train, ids, True)
    if adaptive:
        train, ids = by_count(train, ids)
    valid = read_words(a.valid, ids, False)
    V = len(ids)

    def batchify(data, bsz):
        n = len(data) // bsz
        return torch.tensor(data[:n * bsz]).view(bsz, n).t().contiguous()

    train_d, valid_d = batchify(train, a.batch), batchify(valid, a.eval_batch)

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(a.dropout)
            self.encoder = nn.Embedding(V, a.embed)
            self.rnn = nn.LSTM(a.embed, a.hidden, a.layers, dropout=a.dropout)
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
            if adaptive:        # nn.Linear's own init, as rnnlab's
                self.decoder = nn.AdaptiveLogSoftmaxWithLoss(
                    a.hidden, V, [int(c) for c in a.cutoffs.split(",")],
                    div_value=a.div_value, head_bias=a.head_bias)
                return
            self.decoder = nn.Linear(a.hidden, V)
            if a.tie:
                self.decoder.weight = self.encoder.weight
            nn.init.zeros_(self.decoder.bias)
            if not a.tie:
                nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

        def forward(self, x, h):
            """The decoder's input, one row per token, and the state."""
            out, h = self.rnn(self.drop(self.encoder(x)), h)
            return self.drop(out).view(-1, a.hidden), h

        def loss(self, out, target):
            if adaptive:
                return self.decoder(out, target).loss
            return crit(self.decoder(out), target)

    crit = nn.CrossEntropyLoss()
    model = RNNModel()

    def zero_state(bsz):
        z = torch.zeros(a.layers, bsz, a.hidden)
        return (z, z.clone())

    def detach(h):
        return tuple(t.detach() for t in h)

    def evaluate(d):
        model.eval()
        total, h = 0.0, zero_state(d.size(1))
        with torch.no_grad():
            for i in range(0, d.size(0) - 1, a.seq_len):
                n = min(a.seq_len, d.size(0) - 1 - i)
                out, h = model(d[i:i + n], h)
                total += n * model.loss(out, d[i + 1:i + 1 + n].reshape(-1)).item()
        model.train()
        return total / (d.size(0) - 1)

    lr, best = a.lr, None
    step_time, steps, tokens, epochs = 0.0, 0, 0, 0.0
    start = time.perf_counter()
    done = False
    while not done:
        h = zero_state(a.batch)
        for i in range(0, train_d.size(0) - 1, a.seq_len):
            n = min(a.seq_len, train_d.size(0) - 1 - i)
            t0 = time.perf_counter()
            h = detach(h)
            model.zero_grad()
            out, h = model(train_d[i:i + n], h)
            loss = model.loss(out, train_d[i + 1:i + 1 + n].reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-lr)
            dt = time.perf_counter() - t0
            steps += 1
            epochs += n / (train_d.size(0) - 1)
            if a.steps and steps <= a.warmup:
                continue
            step_time += dt
            tokens += n * a.batch
            if a.steps and steps >= a.warmup + a.steps:
                done = True
            if a.time and time.perf_counter() - start >= a.time:
                done = True
            if done:
                break
        if not done or a.time:        # an epoch's end (or the run's): validate
            val = evaluate(valid_d)
            if best is not None and not val < best * (1 - 1e-4):
                lr /= 4.0
            best = val if best is None else min(best, val)
    result = {"threads": a.threads, "blas_threads": a.blas_threads, "vocab": V,
              "softmax": a.softmax,
              "tokens_per_s": tokens / step_time if step_time else 0.0,
              "steps": steps, "epochs": round(epochs, 4), "lr": lr,
              "wall_s": round(time.perf_counter() - start, 1),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if a.time:
        result["val_loss"] = val
        result["val_ppl"] = math.exp(val)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
