#!/usr/bin/env python3
# mpi_model.py - a model of data-parallel training on P nodes (weak scaling): the step of one node, the gradient all-reduce over a network given by latency and bandwidth, summed after the backward pass or stretch by stretch during it; tokens/s and efficiency (bench/README.md, "A model of scaling out").
#
# Usage:
#   bench/mpi_model.py [--tokens-per-s R] [--split FILE] [--net NAME:LAT:BW ...]
#                      [--speedup X ...] [--nodes P ...] [--json FILE]
#
# --tokens-per-s  one node's training rate measured here (1 process, all
#                 cores); its step t_c = T x B / R (default 8347: bench/mpi.sh,
#                 1 x 2 threads, quiet machine, 2026-12-07)
# --split         backward_split's JSON (bench/backward_split.c): each
#                 stretch of the gradient buffer, its floats and the share of
#                 the step after which it is final; default: the figures
#                 measured for bench/README.md (below)
# --net           a network: name, latency in s, bytes/s (default 25 GbE,
#                 15 us, 2.9 GB/s; 100 Gb InfiniBand, 2 us, 11.5 GB/s)
# --speedup       how many times faster than this machine a node computes
#                 (default 1 and 8)
# --nodes         the node counts (default 8 and 64)
#
# The model.  A node trains B=32 streams in t_c.  An all-reduce of S bytes
# is a ring, 2 (P-1)/P x S / BW + 2 (P-1) x lat, or recursive doubling,
# ceil(log2 P) x (lat + S / BW), whichever is cheaper (MPI picks by size):
# ring(S).  The three small all-reduces of a step (68 bytes in all) cost
# ceil(log2 P) latencies each.  After: the whole buffer follows the pass,
#   step = t_c + ring(S_all) + small.
# Overlap: stretch i (the decoder's, then each layer's from the top, the
# encoder's last; fewer than 8,192 floats go with the next, as
# src/train/trainer_share.c sends them) is ready at ready_i x t_c; one link,
# so a stretch starts when it is ready and the one before it is done:
#   start_i = max(ready_i t_c, end_{i-1}),  end_i = start_i + ring(S_i)
#   step = max(t_c, end_last) + small
# Assumed: MPI moves a sum along while the pass computes (rnnlab calls it
# at every time step of a layer, and RDMA networks need no CPU for it), and
# the sums take no compute from the pass.  The optimizer's update (about 2%
# of a step) is counted in t_c as if it were part of the pass.
import argparse
import json
import math
import sys

T, B = 100, 32
SMALL_BYTES = 68
BUCKET_MIN = 8192

# The benchmark model's stretches in the order they are sent, with the share
# of the step after which each is final: backward_split 2 32 6 (2 threads,
# B=32), three runs, and 1 16 6 (the share of one of 2 processes),
# 2026-12-07 on the shared 2-core machine; the shares agreed within 0.06.
MEASURED_SPLIT = {"threads": 2, "B": 32, "T": 100, "stretches": [
    {"name": "decoder.weight", "floats": 33345, "ready": 0.36},
    {"name": "rnn.weight_ih_l1", "floats": 2101248, "ready": 0.75},
    {"name": "rnn.weight_ih_l0", "floats": 1183744, "ready": 1.0},
    {"name": "encoder.weight", "floats": 4160, "ready": 1.0},
]}


def ring(nbytes, p, lat, bw):
    """One all-reduce: a ring, or recursive doubling where that is cheaper
    (a small message, as MPI chooses)."""
    doubling = math.ceil(math.log2(p)) * (lat + nbytes / bw)
    return min(2 * (p - 1) / p * nbytes / bw + 2 * (p - 1) * lat, doubling)


def buckets(stretches):
    """The stretches as the trainer sends them: small ones join the next."""
    out, carry = [], 0
    for i, s in enumerate(stretches):
        floats = s["floats"] + carry
        if floats < BUCKET_MIN and i + 1 < len(stretches):
            carry = floats
            continue
        out.append({"name": s["name"], "floats": floats, "ready": s["ready"]})
        carry = 0
    return out


def step_times(tc, p, lat, bw, sent):
    """(after, overlap, exposed) step times of a node for P nodes."""
    small = 3 * math.ceil(math.log2(p)) * lat
    total = sum(4 * s["floats"] for s in sent)
    after = tc + ring(total, p, lat, bw) + small
    end = 0.0
    for s in sent:
        end = max(s["ready"] * tc, end) + ring(4 * s["floats"], p, lat, bw)
    overlap = max(tc, end) + small
    return after, overlap, ring(total, p, lat, bw) + small


def main():
    ap = argparse.ArgumentParser(description="scaling model of rnnlab's data-parallel training")
    ap.add_argument("--tokens-per-s", type=float, default=8347.0)
    ap.add_argument("--split")
    ap.add_argument("--net", nargs="*", default=["25GbE:15e-6:2.9e9", "IB-100G:2e-6:11.5e9"])
    ap.add_argument("--speedup", type=float, nargs="*", default=[1.0, 8.0])
    ap.add_argument("--nodes", type=int, nargs="*", default=[8, 64])
    ap.add_argument("--json")
    a = ap.parse_args()
    split = json.load(open(a.split)) if a.split else MEASURED_SPLIT
    sent = buckets(split["stretches"])
    tc0 = T * B / a.tokens_per_s
    print("node step here %.3f s (%.0f tokens/s); gradient %.2f MB in %d stretches:"
          % (tc0, a.tokens_per_s, 4e-6 * sum(s["floats"] for s in sent), len(sent)))
    for s in sent:
        print("  from %-18s %6.2f MB, final after %.3f of the step"
              % (s["name"], 4e-6 * s["floats"], s["ready"]))
    print("| network | t_c | nodes | all-reduce | left after the pass | step after / during "
          "| tokens/s during | efficiency after / during |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for net in a.net:
        name, lat, bw = net.split(":")
        lat, bw = float(lat), float(bw)
        for sp in a.speedup:
            tc = tc0 / sp
            for p in a.nodes:
                after, overlap, comm = step_times(tc, p, lat, bw, sent)
                row = {"net": name, "latency_s": lat, "bytes_per_s": bw, "node_speedup": sp,
                       "nodes": p, "compute_s": tc, "comm_s": comm, "step_after_s": after,
                       "step_overlap_s": overlap, "tokens_per_s": p * T * B / overlap,
                       "efficiency_after": tc / after, "efficiency_overlap": tc / overlap}
                rows.append(row)
                print("| %s | %.3f s | %d | %.1f ms | %.1f ms | %.3f / %.3f s | %s | %.3f / %.3f |"
                      % (name, tc, p, 1e3 * comm, 1e3 * (overlap - tc), after, overlap,
                         format(round(row["tokens_per_s"]), ","), row["efficiency_after"],
                         row["efficiency_overlap"]))
    if a.json:
        json.dump({"tokens_per_s": a.tokens_per_s, "split": split, "sent": sent,
                   "model": rows}, open(a.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
