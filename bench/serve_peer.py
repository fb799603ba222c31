#!/usr/bin/python3
"""The peer of bench/serve.sh: FastAPI + uvicorn + PyTorch serving POST
/v1/completions (prompt, max_tokens, temperature, top_p, seed) from an
rnnlab session's weights.

It loads the session's model.safetensors into nn.Embedding -> nn.LSTM /
nn.GRU / nn.RNN -> nn.Linear (the README's recipe, without the safetensors
package) and its vocabulary from session.json, and runs the sampler loop
rnnlab runs: the prompt through the model, then per token softmax of the
logits over the temperature, top-p, an inverse-CDF draw, the token fed
back.  The endpoint is a plain (sync) FastAPI function, so uvicorn runs
requests side by side in its thread pool, one model call per token each,
under torch.inference_mode().

Usage:
    /usr/bin/python3 bench/serve_peer.py SESSION_DIR [--host H] [--port N]
        [--threads N]
--port 0 takes a free port; the first line on stdout is then
"listening on PORT".  --threads sets torch's intra-op threads (default 1:
the requests are the parallelism).
"""

import argparse
import json
import os
import socket
import struct
import sys


def load_file(path, torch):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = {k: v for k, v in json.loads(raw[8:8 + n]).items() if k != "__metadata__"}
    data = bytearray(raw[8 + n:])
    return {k: torch.frombuffer(data, dtype=torch.float32, offset=v["data_offsets"][0],
                                count=(v["data_offsets"][1] - v["data_offsets"][0]) // 4)
            .reshape(v["shape"]).clone() for k, v in header.items()}


def load_session(path, torch, nn):
    sd = load_file(os.path.join(path, "model.safetensors"), torch)
    V, E = sd["encoder.weight"].shape
    G, H = sd["rnn.weight_hh_l0"].shape
    L = sum(k.startswith("rnn.weight_hh_l") for k in sd)
    rnn = {4: nn.LSTM, 3: nn.GRU, 1: nn.RNN}[G // H](E, H, L)
    model = nn.ModuleDict(dict(encoder=nn.Embedding(V, E), rnn=rnn, decoder=nn.Linear(H, V)))
    model.load_state_dict(sd)
    model.eval()
    meta = json.load(open(os.path.join(path, "session.json")))
    tokens = [t if isinstance(t, str) else chr(0xFFFD) for t in meta["tokenizer"]["tokens"]]
    return model, tokens


def make_app(model, tokens, torch):
    from fastapi import FastAPI, HTTPException, Request
    index = {t: i for i, t in enumerate(tokens)}
    V = len(tokens)
    app = FastAPI()

    def step(ids, state):
        x = torch.tensor(ids, dtype=torch.long).view(-1, 1)
        out, state = model["rnn"](model["encoder"](x), state)
        return model["decoder"](out[-1, 0]), state

    def pick(logits, temperature, top_p, gen):
        if temperature <= 0:
            return int(torch.argmax(logits))
        p = torch.softmax(logits / temperature, dim=-1)
        if top_p < 1:
            sp, order = torch.sort(p, descending=True)
            keep = int((torch.cumsum(sp, 0) < top_p).sum()) + 1
            p = torch.zeros_like(p).scatter_(0, order[:keep], sp[:keep])
            p = p / p.sum()
        u = torch.rand((), generator=gen)
        i = int(torch.searchsorted(torch.cumsum(p, 0), u * p.sum()))
        return min(i, V - 1)

    def generate(prompt, n, temperature, top_p, seed):
        gen = torch.Generator().manual_seed(seed)
        ids = [index[c] for c in prompt if c in index] or [int(torch.randint(V, (), generator=gen))]
        out = []
        with torch.inference_mode():
            logits, state = step(ids, None)
            for _ in range(n):
                tok = pick(logits, temperature, top_p, gen)
                out.append(tokens[tok])
                logits, state = step([tok], state)
        return "".join(out), len(ids)

    @app.post("/v1/completions")
    async def completions(request: Request):
        body = await request.json()
        try:
            n = int(body.get("max_tokens", 16))
            temperature = float(body.get("temperature", 1.0))
            top_p = float(body.get("top_p", 1.0))
            seed = int(body.get("seed", 0))
            prompt = str(body.get("prompt", ""))
        except (TypeError, ValueError) as e:
            raise HTTPException(status_code=400, detail=str(e))
        from starlette.concurrency import run_in_threadpool
        text, n_prompt = await run_in_threadpool(generate, prompt, n, temperature, top_p, seed)
        return {"object": "text_completion", "model": "peer",
                "choices": [{"text": text, "index": 0, "finish_reason": "length"}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n,
                          "total_tokens": n_prompt + n}}

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import uvicorn

    torch.set_num_threads(args.threads)
    model, tokens = load_session(args.session, torch, nn)
    app = make_app(model, tokens, torch)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print("listening on %d" % sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
