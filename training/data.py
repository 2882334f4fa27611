"""On-the-fly training batches for masked-diffusion QA training with a length curriculum."""

import multiprocessing as mp
import random

import torch
from torch.utils.data import IterableDataset, get_worker_info

import gen_data as G

# Curriculum phases: (min document tokens, max document tokens). Each batch holds about
# TOKENS_PER_BATCH tokens; a phase also replays earlier phases a quarter of the time.
PHASES = [(64, 512), (512, 3000), (2000, 8000), (4000, 16000), (8000, 32000)]
TOKENS_PER_BATCH = 32768


class CurriculumStream(IterableDataset):
    """Yields ready batches (lists of examples); the phase is read from a shared value."""

    def __init__(self, tokenizer_path, split, seed, phase_value, max_phase,
                 tokens_per_batch=TOKENS_PER_BATCH, answer_space=False, qtypes=None,
                 phases=None):
        self.phases = phases or PHASES
        self.qtypes = qtypes
        self.tokens_per_batch = tokens_per_batch
        self.answer_space = answer_space
        self.tokenizer_path = tokenizer_path
        self.split = split
        self.seed = seed
        self.phase_value = phase_value
        self.max_phase = max_phase

    def __iter__(self):
        from tokenizers import Tokenizer
        info = get_worker_info()
        wid = info.id if info else 0
        rng = random.Random(self.seed * 1000 + wid)
        tok = Tokenizer.from_file(self.tokenizer_path)
        codec = G.PromptCodec(tok)
        pools = G.Pools(self.split)
        while True:
            phase = min(self.phase_value.value, self.max_phase)
            if phase > 0 and rng.random() < 0.25:
                phase = rng.randint(0, phase - 1)
            lo, hi = self.phases[phase]
            target = int(rng.uniform(lo, hi))
            n_ex = max(1, self.tokens_per_batch // (target + 64))
            gen_length = 32 if rng.random() < 0.15 else 16
            batch = []
            while len(batch) < n_ex:
                n_q = 1 if target < 400 else rng.randint(2, 4)
                qt = [rng.choice(self.qtypes) for _ in range(n_q)] if self.qtypes else None
                doc = G.make_document(rng, pools, self.split, target, n_q, tok,
                                      edge_share=0.2, lo_frac=0.8, qtypes=qt)
                d_ids = codec.document(doc["ids"])
                # long documents serve several questions (as separate examples)
                qs = doc["questions"] if target >= 4000 else doc["questions"][:1]
                for q in qs[: n_ex - len(batch)]:
                    batch.append((d_ids, codec.question(q["question"]),
                                  codec.canvas(q["answer"], gen_length, self.answer_space)))
            yield phase, batch


def collate(batch, pad_id, device):
    """Right-padded ids plus lengths, document lengths and canvas spans."""
    lens = [len(d) + len(q) + len(c) for d, q, c in batch]
    L = max(lens)
    ids = torch.full((len(batch), L), pad_id, dtype=torch.long)
    canvas = torch.zeros((len(batch), L), dtype=torch.bool)
    for i, (d, q, c) in enumerate(batch):
        seq = d + q + c
        ids[i, : len(seq)] = torch.tensor(seq)
        canvas[i, len(d) + len(q): len(seq)] = True
    n_docs = [len(d) for d, _, _ in batch]
    return ids.to(device, non_blocking=True), canvas.to(device, non_blocking=True), lens, n_docs


def shared_phase():
    return mp.get_context("fork").Value("i", 0)
