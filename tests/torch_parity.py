#!/usr/bin/python3
"""torch_parity.py SESSION CORPUS - loads an rnnlab session into PyTorch the
way the README shows (state_dict names of PyTorch's word_language_model),
scores the whole corpus from a zero state and prints the mean cross-entropy
of predicting token i+1 from tokens 0..i, as JSON: {"loss": L, "tokens": N}.
rnnlab eval SESSION --split all must print the same loss."""
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


class LanguageModel(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.encoder = nn.Embedding(vocab, embed)
        self.rnn = rnn(embed, hidden, layers)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, ids):
        out, _ = self.rnn(self.encoder(ids))
        return self.decoder(out)


def encode(text_bytes, tokens):
    """The char tokenizer: one id per code point; bytes that are not valid
    UTF-8 have their own {"byte": N} tokens."""
    ids = {}
    for i, t in enumerate(tokens):
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


def main():
    session, corpus = sys.argv[1], sys.argv[2]
    with open(session + "/session.json") as f:
        cfg = json.load(f)
    m = cfg["model"]
    net = LanguageModel(m["cell"], m["vocab"], m["embed"], m["hidden"], m["layers"])
    state = load_safetensors(session + "/model.safetensors")
    if "decoder.weight" not in state:      # a tied model may store it once
        state["decoder.weight"] = state["encoder.weight"]
    net.load_state_dict(state)
    net.eval()
    with open(corpus, "rb") as f:
        ids = torch.tensor(encode(f.read(), cfg["tokenizer"]["tokens"]))
    with torch.no_grad():
        logits = net(ids[:-1].unsqueeze(1)).squeeze(1).double()
        loss = nn.functional.cross_entropy(logits, ids[1:])
    print(json.dumps({"loss": loss.item(), "tokens": len(ids) - 1}))


if __name__ == "__main__":
    main()
