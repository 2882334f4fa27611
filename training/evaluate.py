"""Dense (no cache) diffusion decoding and exact-match evaluation.

    python training/evaluate.py --model models/focus-qa-small --eval-dir training/out/eval \
        --lengths 2k,4k,8k,16k,32k --out results.json --refs-dir training/reference-answers

Decoding: canvas of gen_length mask tokens after the prompt, blocks of block_length, one
token per step, greedy: at each step, among the still-masked positions of the current
block, the one whose argmax softmax probability is highest (first such position on ties)
receives its argmax token. Every step runs the full forward over document + question +
canvas. Exact match compares answers after trimming spaces and a final period,
case-insensitively. The document-swapped control asks each question against the
next document of the same file (doc i+1 mod n).
"""

import argparse
import json
import os
import sys
import time
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export as E  # noqa: E402
import gen_data as G  # noqa: E402
from model import LLaDAModel  # noqa: E402


def load_model(folder, device, dtype=torch.float32):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    m = LLaDAModel(cfg).to(device)
    m.load_state_dict(E.load_weights(folder, device))
    m.eval()
    return m.to(dtype) if dtype != torch.float32 else m


@torch.no_grad()
def diffusion_decode(model, prompt, n_doc, mask_id, gen_length=16, block_length=8, steps=16,
                     device="cuda", autocast=True):
    """Greedy low-confidence remasking; returns the canvas ids (list of gen_length ints)."""
    x = torch.tensor(prompt + [mask_id] * gen_length, device=device)[None]
    p = len(prompt)
    n_blocks = gen_length // block_length
    per_block = steps // n_blocks
    for b in range(n_blocks):
        lo, hi = p + b * block_length, p + (b + 1) * block_length
        for s in range(per_block):
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(x, n_doc=n_doc)
            probs = torch.softmax(logits[0, lo:hi].float(), dim=-1)
            conf, tok = probs.max(dim=-1)
            still = x[0, lo:hi] == mask_id
            if not still.any():
                break
            conf = torch.where(still, conf, torch.full_like(conf, -1.0))
            k = int(conf.argmax())
            x[0, lo + k] = tok[k]
    return x[0, p:].tolist()


def answer_text(tok, canvas, stop_ids):
    ids = []
    for t in canvas:
        if t in stop_ids:
            break
        ids.append(t)
    return ids, tok.decode(ids)


def normalize(s):
    return s.strip().rstrip(".").strip().lower()


def evaluate_file(model, tok, codec, rows, swap=False, limit=None, device="cuda",
                  autocast=True, keep=0, deadline=None):
    docs = OrderedDict()
    for r in rows:
        docs.setdefault(r["doc_id"], r["document"])
    doc_ids = list(docs)
    enc_cache = {}
    hits, n, kept = 0, 0, []
    by_kind = {}
    stop = {codec.eot, codec.eos}
    t0 = time.time()
    for r in rows[: limit or len(rows)]:
        if deadline and time.time() > deadline:
            break
        did = r["doc_id"]
        if swap:
            did = doc_ids[(doc_ids.index(did) + 1) % len(doc_ids)]
        if did not in enc_cache:
            enc_cache[did] = codec.document(tok.encode(docs[did], add_special_tokens=False).ids)
        d = enc_cache[did]
        prompt = d + codec.question(r["question"])
        canvas = diffusion_decode(model, prompt, len(d), codec.mask, device=device,
                                  autocast=autocast)
        ids, text = answer_text(tok, canvas, stop)
        ok = any(normalize(text) == normalize(a) for a in r["answers"])
        hits += ok
        n += 1
        kind = by_kind.setdefault(G.question_kind(r["question"]), [0, 0])
        kind[0] += ok
        kind[1] += 1
        if len(kept) < keep:
            kept.append({"id": r["id"], "answer_ids": ids, "canvas_ids": canvas, "answer": text,
                         "expected": r["answers"], "correct": bool(ok),
                         "prompt_tokens": len(prompt)})
    kinds = {k: {"em": round(h / c, 4), "n": c} for k, (h, c) in sorted(by_kind.items())}
    return {"em": hits / max(1, n), "n": n, "by_kind": kinds,
            "seconds": round(time.time() - t0, 1)}, kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--eval-dir", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--lengths", default="2k,4k,8k,16k,32k")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--swap-limit", default="2k:100,4k:100,8k:100,16k:100,32k:100")
    ap.add_argument("--refs", default="2k,8k", help="lengths with f32 reference answers")
    ap.add_argument("--refs-n", type=int, default=50)
    ap.add_argument("--deadline", type=float, default=None, help="unix time to stop by")
    ap.add_argument("--plan", default=None,
                    help="comma list of kind:length:n with kind ref (f32, answers kept), "
                         "dense or swap, run in order")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from tokenizers import Tokenizer
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    codec = G.PromptCodec(tok)
    model = load_model(args.model, dev)
    name = os.path.basename(os.path.normpath(args.model))
    swap_limit = dict(x.split(":") for x in args.swap_limit.split(",") if x)
    results = {"model": name, "split": args.split, "dense": {}, "swapped": {}, "reference": {}}

    def save():
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    if args.plan:
        plan = [p.split(":") for p in args.plan.split(",")]
    else:
        plan = [("ref", ln, str(args.refs_n)) for ln in args.refs.split(",") if ln]
        plan += [("dense", ln, str(args.limit or 100)) for ln in args.lengths.split(",")]
        plan += [("swap", ln, n) for ln, n in swap_limit.items()]
    for kind, ln, n in plan:
        if args.deadline and time.time() > args.deadline:
            print("deadline reached; skipping", kind, ln, flush=True)
            continue
        rows = G.read_jsonl(os.path.join(args.eval_dir, f"{args.split}-{ln}.jsonl"))
        n = int(n)
        if kind == "ref":
            r, kept = evaluate_file(model, tok, codec, rows, limit=n, device=dev,
                                    autocast=False, keep=n, deadline=args.deadline)
            results["reference"][ln] = {"f32": r, "answers": kept}
        else:
            r, _ = evaluate_file(model, tok, codec, rows, swap=kind == "swap", limit=n,
                                 device=dev, deadline=args.deadline)
            results["dense" if kind == "dense" else "swapped"][ln] = r
        print(name, kind, ln, r, flush=True)
        save()
    save()


if __name__ == "__main__":
    main()
