#!/usr/bin/python3
"""torch_parity.py SESSION CORPUS - loads an rnnlab session into PyTorch the
way the README shows (state_dict names of PyTorch's word_language_model),
encodes the corpus with the session's tokenizer rebuilt from session.json
(char, word or bpe), scores it from a zero state and prints the mean
cross-entropy of predicting token i+1 from tokens 0..i, as JSON:
{"loss": L, "tokens": N}.  rnnlab eval SESSION --split all must print the
same loss over the same number of tokens."""
import json
import struct
import sys

import torch
import torch.nn as nn


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


class LayerNormLSTM(nn.Module):
    """rnnlab's LSTM with --layer-norm (the README's module): nn.LSTM's
    parameter names plus ln_ih_l{k}, ln_hh_l{k} and ln_c_l{k}."""
    def __init__(self, embed, hidden, layers):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        for k in range(layers):
            n = embed if k == 0 else hidden
            for name, shape in (("weight_ih", (4 * hidden, n)),
                                ("weight_hh", (4 * hidden, hidden)),
                                ("bias_ih", (4 * hidden,)), ("bias_hh", (4 * hidden,))):
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape)))
            setattr(self, f"ln_ih_l{k}", nn.LayerNorm(4 * hidden))
            setattr(self, f"ln_hh_l{k}", nn.LayerNorm(4 * hidden))
            setattr(self, f"ln_c_l{k}", nn.LayerNorm(hidden))

    def forward(self, x):                       # x [T, B, embed], zero state
        for k in range(self.layers):
            def p(name):
                return getattr(self, f"{name}_l{k}")
            h = x.new_zeros(x.shape[1], self.hidden)
            c = torch.zeros_like(h)
            gx = p("ln_ih")(x @ p("weight_ih").T + p("bias_ih"))
            out = []
            for t in range(x.shape[0]):
                a = gx[t] + p("ln_hh")(h @ p("weight_hh").T + p("bias_hh"))
                i, f, g, o = a.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(p("ln_c")(c))
                out.append(h)
            x = torch.stack(out)
        return x, None


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
            out.append(ids.get(w.lower() if tok["lowercase"] else w, tok["unk"]))
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


def awd_objective(net, ids, T, ar, tar):
    """awd-lstm-lm's training objective of the chunk ids[0..T] (one stream,
    zero state, no dropout): cross-entropy + ar * mean(y^2) of the last
    layer's output + tar * mean((h_t - h_{t-1})^2) of it."""
    x = ids[:T].unsqueeze(1)
    h, _ = net.rnn(net.encoder(x))
    logits = (net.decoder.log_prob(h.squeeze(1)) if net.adaptive
              else net.decoder(h).squeeze(1)).double()
    h = h.double()
    loss = nn.functional.cross_entropy(logits, ids[1:T + 1])
    loss = loss + ar * h.pow(2).mean() + tar * (h[1:] - h[:-1]).pow(2).mean()
    return loss.item()


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
    net.eval()
    with open(corpus, "rb") as f:
        ids = torch.tensor(encode(f.read(), cfg["tokenizer"]))
    with torch.no_grad():
        if len(sys.argv) > 3:           # --objective T AR TAR
            T, ar, tar = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
            print(json.dumps({"objective": awd_objective(net, ids, T, ar, tar)}))
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
