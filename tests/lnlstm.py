"""lnlstm.py - the README's LayerNorm LSTM module, the PyTorch version of
rnnlab's --layer-norm cell (nn.LSTM's parameter names plus ln_ih_l{k},
ln_hh_l{k} and ln_c_l{k}).  This file is that module as the README prints
it, so that what tests/torch_parity.py checks against rnnlab and what
bench/torch_lstm.py --layer-norm times are the module users copy."""
import torch
import torch.nn as nn


class LayerNormLSTM(nn.Module):
    def __init__(self, E, H, L):
        super().__init__()
        self.H, self.L = H, L
        for k in range(L):
            for name, shape in (("weight_ih", (4 * H, E if k == 0 else H)),
                                ("weight_hh", (4 * H, H)),
                                ("bias_ih", (4 * H,)), ("bias_hh", (4 * H,))):
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape)))
            setattr(self, f"ln_ih_l{k}", nn.LayerNorm(4 * H))
            setattr(self, f"ln_hh_l{k}", nn.LayerNorm(4 * H))
            setattr(self, f"ln_c_l{k}", nn.LayerNorm(H))

    def forward(self, x, state=None):       # x [T, B, E]; state [(h, c)] per layer
        new = []
        for k in range(self.L):
            p = lambda name: getattr(self, f"{name}_l{k}")
            h, c = state[k] if state else (x.new_zeros(x.shape[1], self.H),) * 2
            gx = p("ln_ih")(x @ p("weight_ih").T + p("bias_ih"))   # all steps at once
            out = []
            for t in range(x.shape[0]):
                a = gx[t] + p("ln_hh")(h @ p("weight_hh").T + p("bias_hh"))
                i, f, g, o = a.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(p("ln_c")(c))
                out.append(h)
            x = torch.stack(out)
            new.append((h, c))
        return x, new
