#!/usr/bin/python3
"""schedule_parity.py DIR NAME... - the learning rate of every step of an
`rnnlab train --json` run against PyTorch's scheduler for the same
schedule.  For each NAME, DIR/NAME.jsonl holds the run's --json lines (a
resumed run's added after the first part's) and DIR/NAME/session.json the
saved session, whose "train" section gives the schedule's settings as
rnnlab held them (32-bit floats).  rnnlab's step k (its "step" field,
from 1) used the rate the scheduler gives after k-1 calls of step(); a
validation at step k is a call of ReduceLROnPlateau.step(val_loss) after
that step's optimizer.step().  Prints a line per run and exits 1 unless
every relative difference is below 1e-6."""
import json
import struct
import sys
import warnings

import torch
from torch.optim import lr_scheduler as S

warnings.simplefilter("ignore")


def f32(x):
    """x as rnnlab holds a setting: a 32-bit float."""
    return struct.unpack("f", struct.pack("f", x))[0]


def warmup_of(opt, w):
    """The linear warm-up: (i + 1) / w of the rate at step i < w."""
    return S.LinearLR(opt, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)


def scheduler(opt, c, n):
    """PyTorch's scheduler for rnnlab's settings c over a run of n steps."""
    kind, w = c["schedule"], c["warmup"]
    if kind == "onecycle":
        return S.OneCycleLR(opt, max_lr=f32(c["lr"]), total_steps=n,
                            cycle_momentum=False)
    if kind == "plateau":
        return S.ReduceLROnPlateau(opt, mode="min", factor=f32(c["plateau_factor"]),
                                   patience=c["plateau_patience"], threshold=1e-4,
                                   threshold_mode="rel", cooldown=0,
                                   min_lr=f32(c["min_lr"]))
    parts = [warmup_of(opt, w)] if w > 0 else []
    if kind == "cosine":
        cos = S.CosineAnnealingLR(opt, T_max=n - w, eta_min=f32(c["min_lr"]))
        return S.SequentialLR(opt, parts + [cos], milestones=[w]) if parts else cos
    if kind == "step" and c["lr_decay_every"] > 0:
        parts.append(S.StepLR(opt, step_size=c["lr_decay_every"],
                              gamma=f32(c["lr_decay"])))
    return S.ChainedScheduler(parts) if parts else None


def torch_lrs(c, steps):
    """The rate of each of the run's steps, as PyTorch gives it."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=f32(c["lr"]))
    sch = scheduler(opt, c, len(steps))
    lrs = []
    for s in steps:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if isinstance(sch, S.ReduceLROnPlateau):
            if "val_loss" in s:
                sch.step(s["val_loss"])
        elif sch is not None:
            sch.step()
    return lrs


def compare(d, name):
    """One run: its line of figures, and whether it agrees."""
    c = json.load(open("%s/%s/session.json" % (d, name)))["train"]
    steps = [json.loads(line) for line in open("%s/%s.jsonl" % (d, name))]
    steps = [s for s in steps if "lr" in s]
    if [s["step"] for s in steps] != list(range(1, len(steps) + 1)):
        return "FAIL %s: the steps are not 1 to %d" % (name, len(steps)), False
    ours, theirs = [s["lr"] for s in steps], torch_lrs(c, steps)
    rel = [abs(a - b) / b for a, b in zip(ours, theirs)]
    k = max(range(len(rel)), key=rel.__getitem__)
    ok = rel[k] < 1e-6
    return ("%s %s: %s, %d steps, %d rates, max rel %.1e (step %d: rnnlab %.9g, "
            "pytorch %.9g)" % ("ok  " if ok else "FAIL", name, c["schedule"],
                               len(ours), len(set(theirs)), rel[k], k + 1,
                               ours[k], theirs[k]), ok)


def main():
    good = True
    for name in sys.argv[2:]:
        line, ok = compare(sys.argv[1], name)
        print(line)
        good = good and ok
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
