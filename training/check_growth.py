"""Check that deepening a model folder with train.py's --grow-layers changes no logit.

    python training/check_growth.py --model models/focus-qa-small --layers 8

Loads the folder in float32 on the CPU, builds the deeper model from `train.grown_state`, and
compares both models' logits on a random prompt (block-causal or bidirectional, as the folder
says). Exits non-zero when the largest difference exceeds --tol.
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export as E  # noqa: E402
from model import LLaDAModel  # noqa: E402
from train import grown_state  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    old = LLaDAModel(cfg)
    sd = E.load_weights(args.model)
    old.load_state_dict(sd, strict=True)
    new = LLaDAModel({**cfg, "n_layers": args.layers})
    new.load_state_dict(grown_state(sd, cfg["n_layers"], args.layers), strict=True)
    torch.manual_seed(0)
    ids = torch.randint(0, cfg["embedding_size"], (2, 320))
    with torch.no_grad():
        a, b = old(ids, n_doc=256), new(ids, n_doc=256)
    diff = (a - b).abs().max().item()
    scale = a.abs().max().item()
    print(f"grown {cfg['n_layers']} -> {args.layers} layers: max |logit difference| {diff:.3g} "
          f"(max |logit| {scale:.3g}, tolerance {args.tol})")
    sys.exit(0 if diff <= args.tol else 1)


if __name__ == "__main__":
    main()
