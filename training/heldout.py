"""Held-out probes read during training: answer-token accuracy with the whole canvas masked.

Each probe is one packed row of fresh examples made once from a fixed seed:
  heldout_train_short  training-split entities, 48-192-token documents (the stage-0 gate)
  heldout_test_short   test-split entities (unseen in training), same lengths
  heldout_test_2k      test-split entities, 1,500-2,500-token documents, ten questions each
  heldout_test_8k      test-split entities, 6,000-8,000-token documents, ten questions each
`by_type` repeats the training-entity short probe and the test 2K probe once per question type
(rows of a quarter of the batch, every question of that type), to tell which types stall.
`unseen` counts the vocabulary ids that no training batch has held yet, in all and among the
ids of the dev and test answers (each encoded as the canvas encodes it, after a space).
"""

import glob
import json
import os

import torch

import data as D
import gen_data as G
from model import packed_mask

HERE = os.path.dirname(os.path.abspath(__file__))
TYPE_PROBES = [("train_short", "train", 0, (48, 192)), ("test_2k", "test", 1, (1500, 2500))]
PROBES = [("heldout_train_short", "train", 0, (48, 192)), ("heldout_test_short", "test", 0, (48, 192)),
          ("heldout_test_2k", "test", 1, (1500, 2500)), ("heldout_test_8k", "test", 1, (6000, 8000))]


class Probes:
    def __init__(self, tok, block_causal, device, length, seed=424242):
        self.block_causal = block_causal
        self.mask_id = tok.token_to_id("<|mdm_mask|>")
        stops = {tok.token_to_id("<|eot_id|>"), tok.token_to_id("<|endoftext|>")}
        pad = tok.token_to_id("<|endoftext|>")
        def probe_row(split, density, lengths, row_length, row_seed, qtypes=None):
            source = D.ExampleSource(tok, split, row_seed, random_share=0.0, qtypes=qtypes)
            row = source.row(lengths, row_length, block_causal, single_question=density == 0)
            b = D.to_device(row.arrays(pad), device)
            answer = b["canvas"].clone()
            for s in stops:
                answer &= b["ids"] != s
            return b, answer

        self.rows = [(name, *probe_row(split, density, lengths, length, seed))
                     for name, split, density, lengths in PROBES]
        self.type_rows = [(qtype, name, *probe_row(split, density, lengths, length // 4, seed + 1 + i,
                                                   [qtype]))
                          for i, qtype in enumerate(G.QTYPES)
                          for name, split, density, lengths in TYPE_PROBES]
        self.answer_ids = set()
        for path in glob.glob(os.path.join(HERE, "..", "jobs", "eval", "*.jsonl")):
            with open(path) as f:
                for line in f:
                    for a in json.loads(line)["answers"]:
                        self.answer_ids.update(tok.encode(" " + a, add_special_tokens=False).ids)
        self.specials = 6

    def _accuracy(self, model, b, answer):
        x = torch.where(b["canvas"], torch.full_like(b["ids"], self.mask_id), b["ids"])
        rows = answer.nonzero().squeeze(1)
        with torch.autocast(b["ids"].device.type, dtype=torch.bfloat16):
            logits = model.forward_packed(x, b["pos"], packed_mask(b["ex"], b["seg"], self.block_causal), rows)
        return round((logits.argmax(-1) == b["ids"][rows]).float().mean().item(), 4)

    @torch.no_grad()
    def measure(self, model):
        model.eval()
        out = {name: self._accuracy(model, b, answer) for name, b, answer in self.rows}
        model.train()
        return out

    @torch.no_grad()
    def measure_by_type(self, model):
        """{question type: {probe: accuracy}} over TYPE_PROBES."""
        model.eval()
        out = {}
        for qtype, name, b, answer in self.type_rows:
            out.setdefault(qtype, {})[name] = self._accuracy(model, b, answer)
        model.train()
        return out

    def unseen(self, seen):
        never = (~seen).nonzero().squeeze(1).tolist()
        never = [i for i in never if i >= self.specials]
        return {"unseen_ids": len(never), "unseen_answer_ids": len(self.answer_ids & set(never))}
