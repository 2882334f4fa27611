"""Held-out probes read during training: answer-token accuracy with the whole canvas masked.

Each probe is one packed row of fresh examples made once from a fixed seed:
  heldout_train_short  training-split entities, 48-192-token documents (the stage-0 gate)
  heldout_test_short   test-split entities (unseen in training), same lengths
  heldout_test_2k      test-split entities, 1,500-2,500-token documents, ten questions each
  heldout_test_8k      test-split entities, 6,000-8,000-token documents, ten questions each
`unseen` counts the vocabulary ids that no training batch has held yet, in all and among the
ids of the dev and test answers (each encoded as the canvas encodes it, after a space).
"""

import glob
import json
import os

import torch

import data as D
from model import packed_mask

HERE = os.path.dirname(os.path.abspath(__file__))
PROBES = [("heldout_train_short", "train", 0, (48, 192)), ("heldout_test_short", "test", 0, (48, 192)),
          ("heldout_test_2k", "test", 1, (1500, 2500)), ("heldout_test_8k", "test", 1, (6000, 8000))]


class Probes:
    def __init__(self, tok, block_causal, device, length, seed=424242):
        self.block_causal = block_causal
        self.mask_id = tok.token_to_id("<|mdm_mask|>")
        stops = {tok.token_to_id("<|eot_id|>"), tok.token_to_id("<|endoftext|>")}
        pad = tok.token_to_id("<|endoftext|>")
        self.rows = []
        for name, split, density, lengths in PROBES:
            source = D.ExampleSource(tok, split, seed, random_share=0.0)
            row = source.row(lengths, length, block_causal, single_question=density == 0)
            b = D.to_device(row.arrays(pad), device)
            answer = b["canvas"].clone()
            for s in stops:
                answer &= b["ids"] != s
            self.rows.append((name, b, answer))
        self.answer_ids = set()
        for path in glob.glob(os.path.join(HERE, "..", "jobs", "eval", "*.jsonl")):
            with open(path) as f:
                for line in f:
                    for a in json.loads(line)["answers"]:
                        self.answer_ids.update(tok.encode(" " + a, add_special_tokens=False).ids)
        self.specials = 6

    @torch.no_grad()
    def measure(self, model):
        model.eval()
        out = {}
        for name, b, answer in self.rows:
            x = torch.where(b["canvas"], torch.full_like(b["ids"], self.mask_id), b["ids"])
            rows = answer.nonzero().squeeze(1)
            with torch.autocast(b["ids"].device.type, dtype=torch.bfloat16):
                logits = model.forward_packed(x, b["pos"], packed_mask(b["ex"], b["seg"], self.block_causal), rows)
            out[name] = round((logits.argmax(-1) == b["ids"][rows]).float().mean().item(), 4)
        model.train()
        return out

    def unseen(self, seen):
        never = (~seen).nonzero().squeeze(1).tolist()
        never = [i for i in never if i >= self.specials]
        return {"unseen_ids": len(never), "unseen_answer_ids": len(self.answer_ids & set(never))}
