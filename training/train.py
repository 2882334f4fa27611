"""Masked-diffusion SFT of the small LLaDA-layout QA model, with a length curriculum.

    python training/train.py --attention block_causal --out OUT/focus-qa-small --minutes 6.5

Prompt tokens (document + question) are never masked; each answer-canvas token is masked
with probability t ~ U(0,1] per example; the loss is the mean cross-entropy over masked
canvas tokens. Training stops by wall clock; the phase advances by time and, for the
first phase, as soon as the model retrieves (masked-token accuracy above a threshold).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data as D  # noqa: E402
import export as E  # noqa: E402
from model import LLaDAModel, build_mask  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def make_config(attention, tok_ids, d=256, layers=6, heads=8, mlp=768, rope_theta=500000.0):
    with open(os.path.join(HERE, "config-base.json")) as f:
        cfg = json.load(f)
    cfg.update({"d_model": d, "n_heads": heads, "n_kv_heads": heads, "n_layers": layers,
                "mlp_hidden_size": mlp, "mlp_ratio": mlp // d, "vocab_size": 4096,
                "embedding_size": 4096, "rope_theta": rope_theta, "max_sequence_length": 40960,
                "mask_token_id": tok_ids["mask"], "eos_token_id": tok_ids["eos"],
                "pad_token_id": tok_ids["eos"], "bos_token_id": tok_ids["bos"],
                "prompt_attention": attention})
    return cfg


def lr_at(frac, step, peak, warmup=150, floor=0.1):
    w = min(1.0, (step + 1) / warmup)
    return peak * w * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention", choices=["block_causal", "bidirectional"], required=True)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "out", "tokenizer.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=7)
    ap.add_argument("--max-phase", type=int, default=len(D.PHASES) - 1)
    ap.add_argument("--phase0-acc", type=float, default=0.7)
    ap.add_argument("--phase0-max", type=float, default=0.5,
                    help="time fraction after which phase 0 ends even without retrieval")
    ap.add_argument("--phase-fracs", default="0.35,0.55,0.72,0.86",
                    help="time fractions at which phases 1..4 start at the latest")
    ap.add_argument("--init", default=None, help="model folder to resume from")
    ap.add_argument("--start-phase", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch-tokens", type=int, default=D.TOKENS_PER_BATCH)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--answer-space", action="store_true",
                    help='encode answers as " " + answer (same ids as in the document)')
    ap.add_argument("--size", default="256,6,8,768", help="d_model,n_layers,n_heads,mlp")
    ap.add_argument("--rope-theta", type=float, default=500000.0)
    ap.add_argument("--phase0-docs", default=None,
                    help="document token range of the first phase, lo,hi (default 64,512)")
    ap.add_argument("--pretrain-share", type=float, default=0.0,
                    help="share of examples masked over the whole sequence (LLaDA pretraining) "
                         "instead of the answer canvas alone")
    ap.add_argument("--pad-weight", type=float, default=1.0,
                    help="loss weight of end-of-text padding tokens in the canvas")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--qtypes", default=None, help="restrict question types (comma list)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    ids = {"bos": tok.token_to_id("<|startoftext|>"), "eos": tok.token_to_id("<|endoftext|>"),
           "mask": tok.token_to_id("<|mdm_mask|>")}
    if args.threads:
        torch.set_num_threads(args.threads)
    d, nl, nh, mlp = (int(x) for x in args.size.split(","))
    cfg = make_config(args.attention, ids, d=d, layers=nl, heads=nh, mlp=mlp,
                      rope_theta=args.rope_theta)
    eot_id = tok.token_to_id("<|eot_id|>")
    model = LLaDAModel(cfg).to(dev)
    if args.init:
        model.load_state_dict(E.load_weights(args.init, dev), strict=True)
        print("resumed from", args.init, flush=True)
    else:
        model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params / 1e6:.2f} M", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=dev.type == "cuda")

    phases = list(D.PHASES)
    if args.phase0_docs:
        phases[0] = tuple(int(x) for x in args.phase0_docs.split(","))
    phase = D.shared_phase()
    phase.value = args.start_phase
    stream = D.CurriculumStream(args.tokenizer, "train", args.seed, phase, args.max_phase,
                                 args.batch_tokens, args.answer_space,
                                 args.qtypes.split(",") if args.qtypes else None, phases)
    loader = DataLoader(stream, batch_size=None, num_workers=args.workers, prefetch_factor=4,
                        persistent_workers=True, multiprocessing_context="fork")
    fracs = [float(x) for x in args.phase_fracs.split(",")]
    budget = args.minutes * 60
    t0 = time.time()
    step, tokens, ema_loss, ema_acc = 0, 0, None, 0.0
    diverged = None
    log = []
    phase_log = [(0, 0.0, args.start_phase)]
    it = iter(loader)
    for batch_phase, batch in it:
        elapsed = time.time() - t0
        frac = elapsed / budget
        if elapsed > budget or step >= args.max_steps:
            break
        # phase schedule
        want = phase.value
        while want < args.max_phase and frac >= fracs[want]:
            want += 1
        if want == 0 and step > 300 and ema_acc > args.phase0_acc:
            want = 1
        if want > 0 and phase.value == 0 and ema_acc < args.phase0_acc and frac < args.phase0_max:
            want = 0
        if want == 0 and frac >= args.phase0_max:
            want = 1
        if want != phase.value:
            phase.value = want
            phase_log.append((step, round(elapsed, 1), want))
            print(f"step {step} t={elapsed:.0f}s -> phase {want}", flush=True)
        ids_t, canvas, lens, n_docs = D.collate(batch, ids["eos"], dev)
        B, L = ids_t.shape
        t = torch.rand(B, 1, device=dev) * (1 - 1e-3) + 1e-3
        target_rows = canvas
        if args.pretrain_share > 0:
            valid = torch.arange(L, device=dev)[None, :] < torch.tensor(lens, device=dev)[:, None]
            whole = torch.rand(B, 1, device=dev) < args.pretrain_share
            target_rows = torch.where(whole, valid, canvas)
        masked = (torch.rand(B, L, device=dev) < t) & target_rows
        x = torch.where(masked, torch.full_like(ids_t, ids["mask"]), ids_t)
        if B == 1:
            mask = None
            n_doc = n_docs[0]
        else:
            mask = build_mask(lens, n_docs, L, model.block_causal, dev)
            n_doc = None
        for g in opt.param_groups:
            g["lr"] = lr_at(frac, step, args.lr, warmup=args.warmup)
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            logits = model(x, n_doc=n_doc, mask=mask)
        sel = logits[masked].float()
        tgt = ids_t[masked]
        if tgt.numel() == 0:
            continue
        if args.pad_weight == 1.0:
            loss = F.cross_entropy(sel, tgt)
        else:  # down-weight the end-of-text padding so the answer tokens dominate the loss
            w = torch.where(tgt == ids["eos"], args.pad_weight, 1.0)
            loss = (F.cross_entropy(sel, tgt, reduction="none") * w).sum() / w.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += sum(lens)
        if step % 25 == 0:
            lv = loss.item()
            if not math.isfinite(lv):  # the weights are lost: stop and keep the log honest
                print(f"step {step}: loss is {lv}, training diverged; stopping", flush=True)
                diverged = step
                break
            # answer tokens of the canvas, not its padding nor masked prompt tokens
            real = canvas[masked] & (tgt != ids["eos"]) & (tgt != eot_id)
            acc = ((sel.argmax(-1) == tgt) & real).float().sum().item() / max(1, real.sum().item())
            ema_loss = lv if ema_loss is None else 0.9 * ema_loss + 0.1 * lv
            ema_acc = 0.9 * ema_acc + 0.1 * acc if step > 25 else acc
            if step % args.log_every == 0:
                rate = tokens / (time.time() - t0)
                print(f"step {step} t={elapsed:.0f}s phase {phase.value}/{batch_phase} B={B} L={L} "
                      f"loss {lv:.4f} ema {ema_loss:.4f} acc {ema_acc:.3f} tok/s {rate:.0f}",
                      flush=True)
                log.append({"step": step, "t": round(elapsed, 1), "phase": phase.value,
                            "loss": round(lv, 4), "ema_loss": round(ema_loss, 4),
                            "ema_acc": round(ema_acc, 3), "tokens": tokens})
    train_s = time.time() - t0
    print(f"done: {step} steps, {tokens} tokens, {train_s:.0f}s", flush=True)
    os.makedirs(args.out, exist_ok=True)
    E.export_model(model, cfg, args.out, args.tokenizer)
    summary = {"steps": step, "tokens_seen": tokens, "train_seconds": round(train_s, 1),
               "final_ema_loss": ema_loss, "final_ema_acc": ema_acc, "params": n_params,
               "phases": phase_log, "log": log, "diverged_at_step": diverged, "args": vars(args)}
    with open(os.path.join(args.out, "train-summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for w in getattr(it, "_workers", []):  # stop the data workers (they may block on a full queue)
        w.terminate()
    os._exit(0)


if __name__ == "__main__":
    main()
