"""Dense diffusion decoding of a block-causal model in float64 numpy: the reference answers
that the Swift engine's `vanilla` mode is compared with (`check_parity.py`).

    python3 training/reference_decode.py --model models/focus-qa-small \
        --set jobs/eval/test-2k.jsonl --limit 50 --out training/reference-answers/focus-qa-small-test-2k.jsonl

Independent of PyTorch and of the engine: the forward pass is the float64 reference of
Tests/ReferenceTools (the one the engine's logits are tested against), the decoding rule is
`evaluate.py`'s (gen_length 16, block_length 8, 16 steps, one token a step: among the masked
positions of the current block the one with the highest top probability, the first on ties,
takes its argmax). Under the block-causal pattern document rows attend to document keys only,
so the document's KV is computed once per document and every step runs the question and
canvas rows over it: the same numbers as a full forward, far fewer operations.
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "ReferenceTools"))

import gen_data as G  # noqa: E402
from make_reference_checkpoints import Arch, forward, load_checkpoint  # noqa: E402


def normalize(s):
    return s.strip().rstrip(".").strip().lower()


def decode(arch, w, past, n_doc, question, mask_id, gen_length=16, block_length=8, steps=16):
    canvas = [mask_id] * gen_length
    positions = np.arange(n_doc, n_doc + len(question) + gen_length)
    per_block = steps // (gen_length // block_length)
    for b in range(gen_length // block_length):
        lo, hi = b * block_length, (b + 1) * block_length
        for _ in range(per_block):
            still = [i for i in range(lo, hi) if canvas[i] == mask_id]
            if not still:
                break
            logits, _ = forward(arch, w, np.array(question + canvas), positions, past=past)
            rows = logits[len(question) + lo: len(question) + hi]
            rows = rows - rows.max(axis=-1, keepdims=True)
            probs = np.exp(rows) / np.exp(rows).sum(axis=-1, keepdims=True)
            conf = np.where([canvas[lo + i] == mask_id for i in range(block_length)],
                            probs.max(axis=-1), -1.0)
            k = int(np.argmax(conf))
            canvas[lo + k] = int(np.argmax(probs[k]))
    return canvas


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--set", required=True)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from tokenizers import Tokenizer
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    arch = Arch("llada", cfg)
    if not arch.block_causal:
        sys.exit("reference_decode.py computes the document once: block-causal models only")
    w = {k: v.astype(np.float64) for k, v in load_checkpoint(args.model).items()}
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    codec = G.PromptCodec(tok)
    stop = {codec.eot, codec.eos}
    cache = {}
    with open(args.out, "w") as out:
        for r in G.read_jsonl(args.set)[: args.limit]:
            if r["doc_id"] not in cache:
                d = codec.document(tok.encode(r["document"], add_special_tokens=False).ids)
                _, kv = forward(arch, w, np.array(d), np.arange(len(d)))
                cache = {r["doc_id"]: (len(d), kv)}
            n_doc, past = cache[r["doc_id"]]
            question = codec.question(r["question"])
            canvas = decode(arch, w, past, n_doc, question, codec.mask)
            ids = []
            for t in canvas:
                if t in stop:
                    break
                ids.append(t)
            answer = tok.decode(ids)
            correct = any(normalize(answer) == normalize(a) for a in r["answers"])
            out.write(json.dumps({"id": r["id"], "answer_ids": ids, "answer": answer,
                                  "canvas_ids": canvas, "prompt_tokens": n_doc + len(question),
                                  "expected": r["answers"], "correct": correct}) + "\n")
            out.flush()
            print(r["id"], repr(answer), "correct" if correct else "", flush=True)


if __name__ == "__main__":
    main()
