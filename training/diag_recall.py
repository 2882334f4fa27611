"""Associative-recall probe: how fast do the LLaDA-layout model and its objective learn to copy?

Each example is a "document" of random tokens with `--pairs` planted facts `k1 k2 : v`, a
question naming the first fact's key, and an answer canvas `v <eot> <eos>...`. The model is
trained exactly as train.py trains it (block-causal prompt attention, answer tokens masked with
probability t ~ U(0, 1], cross-entropy on masked tokens) and prints, every 250 steps, the accuracy
of the value token when the whole canvas is masked. Chance is 1/40.

    python training/diag_recall.py --theta 10000 --size 128,4,4,384 --seconds 270
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import train as T  # noqa: E402
from model import LLaDAModel  # noqa: E402

MASK, EOS, EOT, SEPARATOR, QUESTION_OPEN, QUESTION_CLOSE = 2, 1, 3, 7, 8, 9


def make_batch(g, batch, doc_len, pairs, device):
    """Documents with planted facts at multiples of 5, then the question and the canvas."""
    doc = torch.randint(100, 4000, (batch, doc_len), generator=g)
    keys = torch.randint(10, 60, (batch, pairs, 2), generator=g)
    values = torch.randint(60, 100, (batch, pairs), generator=g)
    slots = torch.stack([torch.randperm(doc_len // 5 - 1, generator=g)[:pairs] * 5 for _ in range(batch)])
    rows = torch.arange(batch)
    for j in range(pairs):
        p = slots[:, j]
        doc[rows, p] = keys[:, j, 0]
        doc[rows, p + 1] = keys[:, j, 1]
        doc[rows, p + 2] = SEPARATOR
        doc[rows, p + 3] = values[:, j]
    question = torch.stack([torch.full((batch,), QUESTION_OPEN), keys[:, 0, 0], keys[:, 0, 1],
                            torch.full((batch,), QUESTION_CLOSE)], 1)
    canvas = torch.cat([values[:, :1], torch.full((batch, 1), EOT),
                        torch.full((batch, 6), EOS, dtype=torch.long)], 1)
    return torch.cat([doc, question, canvas], 1).to(device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--theta", type=float, default=500000.0, help="RoPE θ")
    ap.add_argument("--size", default="128,4,4,384", help="d_model,n_layers,n_heads,mlp")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--doc", type=int, default=96, help="document tokens")
    ap.add_argument("--pairs", type=int, default=4, help="facts planted per document")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=240, help="stop after this long")
    a = ap.parse_args()

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    d, layers, heads, mlp = (int(x) for x in a.size.split(","))
    cfg = T.make_config("block_causal", {"bos": 0, "eos": EOS, "mask": MASK}, d=d, layers=layers,
                        heads=heads, mlp=mlp, rope_theta=a.theta)
    model = LLaDAModel(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(1)
    answer = a.doc + 4  # first canvas position
    t0 = time.time()
    for step in range(1, a.steps + 1):
        x = make_batch(g, a.batch, a.doc, a.pairs, device)
        canvas = torch.zeros_like(x, dtype=torch.bool)
        canvas[:, answer:] = True
        t = torch.rand(a.batch, 1, device=device) * (1 - 1e-3) + 1e-3
        masked = (torch.rand(x.shape, device=device) < t) & canvas
        with torch.autocast(device.type, dtype=torch.bfloat16):
            logits = model(torch.where(masked, MASK, x), n_doc=a.doc)
        loss = F.cross_entropy(logits[masked].float(), x[masked])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        out_of_time = time.time() - t0 > a.seconds
        if step % 250 == 0 or out_of_time:
            with torch.no_grad():
                probe = x.clone()
                probe[:, answer:] = MASK
                acc = (model(probe, n_doc=a.doc)[:, answer].argmax(-1) == x[:, answer]).float().mean().item()
            print(step, round(loss.item(), 3), "acc", round(acc, 3), round(time.time() - t0), flush=True)
        if out_of_time:
            break


if __name__ == "__main__":
    main()
