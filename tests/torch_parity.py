#!/usr/bin/python3
"""torch_parity.py SESSION CORPUS - loads an rnnlab session into PyTorch the
way the README shows (state_dict names of PyTorch's word_language_model;
the README's LayerNorm LSTM module, tests/lnlstm.py, for --layer-norm),
encodes the corpus with the session's tokenizer rebuilt from session.json
(char, word or bpe), scores it from a zero state and prints the mean
cross-entropy of predicting token i+1 from tokens 0..i, as JSON:
{"loss": L, "tokens": N}.  rnnlab eval SESSION --split all must print the
same loss over the same number of tokens.
torch_parity.py S0 CORPUS --train S1 T B LR CLIP STEPS replays S1's SGD
steps from S0 with the embedding frozen (see train_frozen).

torch_parity.py SESSION CORPUS --objective T AR TAR E prints instead
{"objective": X}: the training objective of the corpus' first T+1 tokens
(CrossEntropyLoss with label_smoothing E, plus AR and TAR), what rnnlab
train --json reports as "objective" for that chunk."""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lnlstm import LayerNormLSTM     # noqa: E402  the README's module


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"])
    return tensors


class LanguageModel(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers, layer_norm=False,
                 adaptive=None):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.encoder = nn.Embedding(vocab, embed)
        self.rnn = (LayerNormLSTM(embed, hidden, layers) if layer_norm
                    else rnn(embed, hidden, layers))
        # --softmax adaptive: PyTorch's module, rnnlab's tensors load into it
        self.adaptive = adaptive is not None
        self.decoder = (nn.AdaptiveLogSoftmaxWithLoss(
            hidden, vocab, adaptive["cutoffs"], div_value=adaptive["div_value"],
            head_bias=adaptive["head_bias"]) if adaptive else nn.Linear(hidden, vocab))

    def forward(self, ids):
        """Logits, or the adaptive softmax's log-probabilities (whose
        log-softmax is themselves)."""
        out, _ = self.rnn(self.encoder(ids))
        if self.adaptive:
            flat = out.reshape(-1, out.shape[-1])
            return self.decoder.log_prob(flat).reshape(*out.shape[:-1], -1)
        return self.decoder(out)


def encode_char(text_bytes, tok):
    """The char tokenizer: one id per code point; bytes that are not valid
    UTF-8 have their own {"byte": N} tokens."""
    ids = {}
    for i, t in enumerate(tok["tokens"]):
        key = t if isinstance(t, str) else bytes([t["byte"]])
        ids[key] = i
    out = []
    text = text_bytes.decode("utf-8", errors="surrogateescape")
    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            out.append(ids[bytes([ord(ch) - 0xDC00])])
        else:
            out.append(ids[ch])
    return out


# The blocks whose simple lowercase mappings rnnlab's "unicode" map takes
# (README "Words"); str.lower() there, but for U+0130 (simple mapping "i").
LOWER_BLOCKS = ((0x41, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x531, 0x556),
                (0x1E00, 0x1FFF), (0x2126, 0x212B), (0x2C60, 0x2C7F),
                (0xA640, 0xA69F), (0xFF21, 0xFF3A))


def lower_word(w, how):
    """A word lowercased as the session's lowercase_map says."""
    if how == "ascii":
        return w.lower()
    def one(ch):
        low = ch.lower()
        if ch == "\u0130":
            return "i"
        ok = len(low) == 1 and any(a <= ord(ch) <= b for a, b in LOWER_BLOCKS)
        return low if ok else ch
    text = w.decode("utf-8", errors="surrogateescape")
    return "".join(map(one, text)).encode("utf-8", errors="surrogateescape")


def encode_word(data, tok):
    """The word tokenizer: words split on ASCII whitespace, <eos> at each
    line end (and after a last line without a newline), <unk> for the rest."""
    assert not tok["word_letters"], "word_letters is not handled here"
    ids = {}
    for i, t in enumerate(tok["tokens"]):
        ids[t.encode() if isinstance(t, str) else bytes.fromhex(t["hex"])] = i
    lines = data.split(b"\n")
    out = []
    for k, line in enumerate(lines):
        for w in line.split():
            if tok["lowercase"]:
                w = lower_word(w, tok.get("lowercase_map", "ascii"))
            out.append(ids.get(w, tok["unk"]))
        if k < len(lines) - 1 or not data.endswith(b"\n"):
            out.append(tok["eos"])
    return out


def byte_class(b):
    if b >= 0x80 or 97 <= (b | 0x20) <= 122:
        return 0                                    # letters (and UTF-8)
    if 48 <= b <= 57:
        return 1                                    # digits
    return 2 if b == 32 or 9 <= b <= 13 else 3      # whitespace, other


def bpe_pieces(data):
    """rnnlab-1 pre-tokenization: runs of one class, a space joining the run
    after it, runs cut every 64 bytes."""
    def space_start(i):
        return data[i] == 32 and i + 1 < len(data) and byte_class(data[i + 1]) != 2
    i = 0
    while i < len(data):
        cap, j = min(len(data), i + 64), i + 1
        c = byte_class(data[i])
        if space_start(i):
            c, j = byte_class(data[i + 1]), i + 2
        while j < cap and byte_class(data[j]) == c and not (c == 2 and space_start(j)):
            j += 1
        yield data[i:j]
        i = j


def encode_bpe(data, tok):
    """Byte-level BPE: in each piece, the lowest-ranked pair merged first
    (its leftmost occurrence); merge r makes token 256 + r."""
    rank = {tuple(m): r for r, m in enumerate(tok["merges"])}
    out = []
    for piece in bpe_pieces(data):
        sym = list(piece)
        while len(sym) > 1:
            ranks = [rank.get((sym[k], sym[k + 1]), 1 << 30) for k in range(len(sym) - 1)]
            k = ranks.index(min(ranks))
            if ranks[k] == 1 << 30:
                break
            sym[k:k + 2] = [256 + ranks[k]]
        out += sym
    return out


def encode(data, tok):
    return {"char": encode_char, "word": encode_word, "bpe": encode_bpe}[tok["kind"]](data, tok)


def train_objective(net, ids, T, ar, tar, smoothing):
    """The training objective of the chunk ids[0..T] (one stream, zero
    state, no dropout): PyTorch's CrossEntropyLoss(label_smoothing=E) +
    ar * mean(y^2) of the last layer's output + tar * mean((h_t -
    h_{t-1})^2) of it (awd-lstm-lm's AR and TAR)."""
    x = ids[:T].unsqueeze(1)
    h, _ = net.rnn(net.encoder(x))
    logits = (net.decoder.log_prob(h.squeeze(1)) if net.adaptive
              else net.decoder(h).squeeze(1)).double()
    h = h.double()
    loss = nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, ids[1:T + 1])
    loss = loss + ar * h.pow(2).mean() + tar * (h[1:] - h[:-1]).pow(2).mean()
    return loss.item()


def train_frozen(net, s0, s1, ids, T, B, lr, clip, steps):
    """--train: the session s1 is s0 resumed for `steps` SGD steps at lr
    with --freeze-embed; s0 made one step at a negligible rate (so its
    weights are those the steps start from, and its stream positions one
    chunk in).  Replays the chunks as rnnlab's trainer cuts them (B streams
    of len(ids) // B tokens side by side, T steps a chunk, the state
    carried and detached) with the embedding's requires_grad off, SGD and
    clip_grad_norm_ over the trainable parameters, and returns how far the
    weights are from s1's, and whether encoder.weight stayed bit for bit."""
    L = len(ids) // B
    data = ids[:L * B].view(B, L).t().contiguous()       # [L, B]
    net.encoder.weight.requires_grad_(False)
    start = net.encoder.weight.detach().clone()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr)
    h = None
    for k in range(steps + 1):
        x, y = data[k * T:(k + 1) * T], data[k * T + 1:(k + 1) * T + 1]
        out, h = net.rnn(net.encoder(x), h)
        h = tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()
        if k == 0:                     # s0's step: only the state moves on
            continue
        loss = nn.functional.cross_entropy(net.decoder(out).view(-1, net.decoder.out_features),
                                           y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip)
        opt.step()
    want = load_safetensors(s1 + "/model.safetensors")
    diff = 0.0
    for name, t in net.state_dict().items():
        if name in want:
            diff = max(diff, ((t - want[name]).abs().max() / want[name].abs().max()).item())
    return {"max_rel_diff": diff,
            "encoder_kept": bool(torch.equal(want["encoder.weight"], start)),
            "torch_encoder_kept": bool(torch.equal(net.encoder.weight, start))}


def main():
    session, corpus = sys.argv[1], sys.argv[2]
    with open(session + "/session.json") as f:
        cfg = json.load(f)
    m = cfg["model"]
    adaptive = m if m.get("softmax") == "adaptive" else None
    net = LanguageModel(m["cell"], m["vocab"], m["embed"], m["hidden"], m["layers"],
                        m.get("layer_norm", False), adaptive)
    state = load_safetensors(session + "/model.safetensors")
    if not adaptive and "decoder.weight" not in state:  # tied: stored once
        state["decoder.weight"] = state["encoder.weight"]
    net.load_state_dict(state)
    if m.get("tie"):
        net.decoder.weight = net.encoder.weight
    net.eval()
    with open(corpus, "rb") as f:
        ids = torch.tensor(encode(f.read(), cfg["tokenizer"]))
    if len(sys.argv) > 3 and sys.argv[3] == "--train":   # --train S1 T B LR CLIP STEPS
        a = sys.argv[4:]
        net.train()
        print(json.dumps(train_frozen(net, session, a[0], ids, int(a[1]), int(a[2]),
                                      float(a[3]), float(a[4]), int(a[5]))))
        return
    with torch.no_grad():
        if len(sys.argv) > 3:           # --objective T AR TAR E
            T, ar, tar, e = (int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),
                             float(sys.argv[7]))
            print(json.dumps({"objective": train_objective(net, ids, T, ar, tar, e)}))
            return
        logits = net(ids[:-1].unsqueeze(1)).squeeze(1).double()
        loss = nn.functional.cross_entropy(logits, ids[1:])
        if net.adaptive:    # the module's own loss agrees with its log_prob
            out, _ = net.rnn(net.encoder(ids[:-1].unsqueeze(1)))
            own = net.decoder(out.squeeze(1), ids[1:]).loss.item()
            assert abs(own - loss.item()) <= 1e-5 * abs(own), (own, loss.item())
    print(json.dumps({"loss": loss.item(), "tokens": len(ids) - 1}))


if __name__ == "__main__":
    main()
