"""Associative-recall probe: can the LLaDA-layout model learn to copy a value named by a key?"""
import argparse, os, random, sys, time
import torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import LLaDAModel
import train as T
ap = argparse.ArgumentParser()
ap.add_argument("--theta", type=float, default=500000.0)
ap.add_argument("--size", default="128,4,4,384")
ap.add_argument("--lr", type=float, default=2e-3)
ap.add_argument("--wd", type=float, default=0.1)
ap.add_argument("--steps", type=int, default=6000)
ap.add_argument("--doc", type=int, default=96)
ap.add_argument("--pairs", type=int, default=4)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--seconds", type=float, default=240)
a = ap.parse_args()
torch.manual_seed(0)
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
d, nl, nh, mlp = (int(x) for x in a.size.split(","))
cfg = T.make_config("block_causal", {"bos": 0, "eos": 1, "mask": 2}, d=d, layers=nl, heads=nh, mlp=mlp, rope_theta=a.theta)
m = LLaDAModel(cfg).to(dev); m.init_weights()
opt = torch.optim.AdamW(m.parameters(), lr=a.lr, weight_decay=a.wd, betas=(0.9, 0.95))
g = torch.Generator().manual_seed(1)
DL, B = a.doc, a.batch
def batch():
    doc = torch.randint(100, 4000, (B, DL), generator=g)
    keys = torch.randint(10, 60, (B, a.pairs, 2), generator=g)
    vals = torch.randint(60, 100, (B, a.pairs), generator=g)
    slots = torch.stack([torch.randperm(DL // 5 - 1, generator=g)[: a.pairs] * 5 for _ in range(B)])
    for j in range(a.pairs):
        p = slots[:, j]
        r = torch.arange(B)
        doc[r, p], doc[r, p + 1], doc[r, p + 2], doc[r, p + 3] = keys[:, j, 0], keys[:, j, 1], 7, vals[:, j]
    q = torch.stack([torch.full((B,), 8), keys[:, 0, 0], keys[:, 0, 1], torch.full((B,), 9)], 1)
    c = torch.cat([vals[:, :1], torch.full((B, 1), 3), torch.ones(B, 6, dtype=torch.long)], 1)
    return torch.cat([doc, q, c], 1).to(dev)
t0 = time.time()
for step in range(1, a.steps + 1):
    x = batch()
    canvas = torch.zeros_like(x, dtype=torch.bool); canvas[:, DL + 4:] = True
    t = torch.rand(B, 1, device=dev) * (1 - 1e-3) + 1e-3
    masked = (torch.rand(x.shape, device=dev) < t) & canvas
    with torch.autocast(dev.type, dtype=torch.bfloat16):
        logits = m(torch.where(masked, 2, x), n_doc=DL)
    loss = F.cross_entropy(logits[masked].float(), x[masked])
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    if step % 250 == 0 or time.time() - t0 > a.seconds:
        with torch.no_grad():
            xi = x.clone(); xi[:, DL + 4:] = 2
            acc = (m(xi, n_doc=DL)[:, DL + 4].argmax(-1) == x[:, DL + 4]).float().mean().item()
        print(step, round(loss.item(), 3), "acc", round(acc, 3), round(time.time() - t0), flush=True)
        if time.time() - t0 > a.seconds:
            break
