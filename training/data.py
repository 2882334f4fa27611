"""Packed training batches for masked-diffusion QA training, with a length curriculum.

A batch is one row of `tokens_per_batch` tokens holding many examples back to back, each
at its own positions from 0 (the attention mask keeps them apart, see `model.packed_mask`):

    block-causal  [document][question 1, canvas 1][question 2, canvas 2] ...
                  the document once, its questions after it; every question segment starts
                  at the position that follows the document, as at inference
    bidirectional [document, question 1, canvas 1][document, question 2, canvas 2] ...
                  the document again for every question (its rows see the question)

Per token the row carries its id, position, example number, segment (0 = document, k = the
k-th question segment of the example) and whether it belongs to an answer canvas.
"""

import math
import multiprocessing as mp
import random

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

import gen_data as G

# Curriculum stages: document token ranges. Stage 0 (short documents, one question each)
# lasts until the model retrieves; later stages unlock one by one and each batch draws its
# stage uniformly among those unlocked, so every length range gets an equal share of tokens.
PHASES = [(48, 192), (128, 1024), (512, 3000), (1500, 8000), (4000, 16000), (8000, 32000)]
TOKENS_PER_BATCH = 65536
PAD_EXAMPLE = 1 << 30


def questions_for(target):
    """Questions planted in a document of `target` tokens: the evaluation's ten per document
    from 1,500 tokens up, fewer where the facts would not fit."""
    return max(1, min(10, target // 150))


def draw_phase(rng, stage):
    if stage == 0:
        return 0
    if rng.random() < 0.1:
        return 0
    return rng.randint(1, stage)


class PackedRow:
    """Builds one packed row; `add` returns False once an example no longer fits."""

    def __init__(self, length):
        self.length = length
        self.ids, self.pos, self.ex, self.seg, self.canvas = [], [], [], [], []
        self.examples = 0
        self.questions = 0

    def room(self):
        return self.length - len(self.ids)

    def _segment(self, ids, start, example, segment, canvas):
        self.ids += ids
        self.pos += range(start, start + len(ids))
        self.ex += [example] * len(ids)
        self.seg += [segment] * len(ids)
        self.canvas += [canvas] * len(ids)

    def add(self, doc, qas, block_causal):
        """Adds one document with its (question, canvas) pairs, as many as fit."""
        n_doc = len(doc)
        if block_causal:
            fit, used = [], n_doc
            for q, c in qas:
                if used + len(q) + len(c) > self.room():
                    break
                fit.append((q, c))
                used += len(q) + len(c)
            if not fit:
                return False
            example = self.examples
            self._segment(doc, 0, example, 0, False)
            for k, (q, c) in enumerate(fit, 1):
                self._segment(q, n_doc, example, k, False)
                self._segment(c, n_doc + len(q), example, k, True)
            self.examples += 1
            self.questions += len(fit)
            return len(fit) == len(qas)
        for i, (q, c) in enumerate(qas):
            if n_doc + len(q) + len(c) > self.room():
                return False
            example = self.examples
            self._segment(doc, 0, example, 0, False)
            self._segment(q, n_doc, example, 1, False)
            self._segment(c, n_doc + len(q), example, 1, True)
            self.examples += 1
            self.questions += 1
        return True

    def arrays(self, pad_id):
        n = self.room()
        ids = np.array(self.ids + [pad_id] * n, dtype=np.int64)
        pos = np.array(self.pos + [0] * n, dtype=np.int64)
        ex = np.array(self.ex + list(range(PAD_EXAMPLE, PAD_EXAMPLE + n)), dtype=np.int64)
        seg = np.array(self.seg + [0] * n, dtype=np.int64)
        canvas = np.array(self.canvas + [False] * n, dtype=np.bool_)
        return {"ids": ids, "pos": pos, "ex": ex, "seg": seg, "canvas": canvas}


class ExampleSource:
    """Documents and their questions, half of them about randomly spelled entities."""

    def __init__(self, tok, split, seed, random_share=0.5, qtypes=None):
        self.rng = random.Random(seed)
        self.codec = G.PromptCodec(tok)
        self.tok = tok
        self.split = split
        self.pools = G.Pools(split)
        self.random_pools = G.RandomPools(tok) if split == "train" and random_share > 0 else None
        self.random_share = random_share
        self.qtypes = qtypes

    def document(self, lo, hi, n_q=None):
        rng = self.rng
        target = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        n_q = n_q or questions_for(target)
        pools = self.pools
        if self.random_pools is not None and rng.random() < self.random_share:
            pools = self.random_pools
        qt = [rng.choice(self.qtypes) for _ in range(n_q)] if self.qtypes else None
        for _ in range(8):  # facts that do not fit a short target lengthen the document
            try:
                doc = G.make_document(rng, pools, self.split, target, n_q, self.tok,
                                      edge_share=0.2, lo_frac=0.8, qtypes=qt)
                break
            except RuntimeError:
                target = int(target * 1.4) + 16
        gen_length = 32 if rng.random() < 0.15 else 16
        longest = max(len(self.codec.enc(" " + q["answer"])) + 1 for q in doc["questions"])
        if longest > gen_length:  # randomly spelled names can exceed the short canvas
            gen_length = 32
        qas = [(self.codec.question(q["question"]), self.codec.canvas(q["answer"], gen_length, True))
               for q in doc["questions"]]
        return self.codec.document(doc["ids"]), qas, doc["questions"]

    def row(self, lengths, length, block_causal, single_question=False):
        """A packed row of `length` tokens from documents of `lengths` = (lo, hi) tokens, each
        with one question or with `questions_for` its length."""
        lo, hi = lengths
        row = PackedRow(length)
        while True:
            doc, qas, _ = self.document(lo, hi, 1 if single_question else None)
            if not row.add(doc, qas, block_causal) or row.room() < lo + 40:
                return row


class CurriculumStream(IterableDataset):
    """Yields packed rows (dicts of arrays); the unlocked stage is read from a shared value."""

    def __init__(self, tokenizer_path, seed, stage_value, block_causal,
                 tokens_per_batch=TOKENS_PER_BATCH, qtypes=None, random_share=0.5):
        self.tokenizer_path = tokenizer_path
        self.seed = seed
        self.stage_value = stage_value
        self.block_causal = block_causal
        self.tokens_per_batch = tokens_per_batch
        self.qtypes = qtypes
        self.random_share = random_share

    def __iter__(self):
        from tokenizers import Tokenizer
        info = get_worker_info()
        wid = info.id if info else 0
        tok = Tokenizer.from_file(self.tokenizer_path)
        source = ExampleSource(tok, "train", self.seed * 1000 + wid, self.random_share, self.qtypes)
        pad = tok.token_to_id("<|endoftext|>")
        while True:
            phase = draw_phase(source.rng, self.stage_value.value)
            row = source.row(PHASES[phase], self.tokens_per_batch, self.block_causal,
                             single_question=phase == 0)
            out = row.arrays(pad)
            out["phase"] = phase
            out["questions"] = row.questions
            out["tokens"] = len(row.ids)
            yield out


COUNTS = ("phase", "questions", "tokens")


def to_device(batch, device):
    return {k: (torch.as_tensor(v).to(device, non_blocking=True) if k not in COUNTS
                else int(v)) for k, v in batch.items()}


def shared_stage():
    return mp.get_context("fork").Value("i", 0)
