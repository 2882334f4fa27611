"""Masked-diffusion SFT of the small LLaDA-layout QA model, chained across short GPU runs.

    python training/train.py --attention block_causal --out OUT/focus-qa-small --minutes 8 \
        [--init models/focus-qa-small] [--ckpt OUT/ckpt]

Prompt tokens (document + question) are never masked; each answer-canvas token is masked
with probability t ~ U(0,1] per example; the loss is the mean cross-entropy over masked
canvas tokens, whose logits are the only ones computed. Batches are packed rows of 65,536
tokens (data.py) attended through FlexAttention.

Curriculum: short documents (48-192 tokens, one question each) until held-out accuracy on
fresh training-split examples reaches --stage0-acc; then longer stages unlock every
--stage-steps steps up to 32K-token documents with ten questions each.

A run ends by wall clock: the learning rate decays over its last --decay-frac, the model
folder is exported (bf16, the engine's layout) with train-state.json (step, stage, curve),
and --ckpt keeps the f32 weights and optimizer state. The next run resumes from --ckpt when
it holds the same step as the folder's train-state.json, else from the folder's weights with
a short warm-up.
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
import heldout as H  # noqa: E402
from model import LLaDAModel, packed_mask  # noqa: E402

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


def lr_at(frac, step, peak, warmup, decay_frac, floor=0.1):
    """Warm-up, constant, then a linear decay to floor × peak over the run's last decay_frac."""
    w = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    start = 1.0 - decay_frac
    d = 1.0 if frac < start else max(floor, 1.0 - (1.0 - floor) * (frac - start) / decay_frac)
    return peak * w * d


def grown_state(sd, old_layers, new_layers):
    """A state dict for a deeper model that computes exactly what the shallower one does.

    The old layers keep their order, spread evenly over the new depth; each inserted layer
    copies its predecessor's weights with its two output projections (attention and MLP)
    zeroed, so it adds nothing to the residual stream until training moves those weights.
    """
    keep = [round(i * (new_layers - 1) / max(old_layers - 1, 1)) for i in range(old_layers)]
    out = {k: v for k, v in sd.items() if not k.startswith("transformer.blocks.")}
    for new in range(new_layers):
        old = max(i for i, slot in enumerate(keep) if slot <= new)
        prefix = f"transformer.blocks.{old}."
        for k, v in sd.items():
            if k.startswith(prefix):
                name = k[len(prefix):]
                w = v.clone()
                if keep[old] != new and name.split(".")[0] in ("attn_out", "ff_out"):
                    w.zero_()
                out[f"transformer.blocks.{new}.{name}"] = w
    return out


def load_state(folder):
    path = os.path.join(folder, "train-state.json") if folder else None
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"step": 0, "stage": 0, "tokens": 0, "questions": 0, "curve": [], "stages": [],
            "runs": []}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention", choices=["block_causal", "bidirectional"], required=True)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "out", "tokenizer.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=14)
    ap.add_argument("--init", default=None, help="model folder to resume from")
    ap.add_argument("--ckpt", default=None, help="folder for f32 weights and optimizer state")
    ap.add_argument("--stage0-acc", type=float, default=0.7)
    ap.add_argument("--stage-steps", type=int, default=600)
    ap.add_argument("--max-stage", type=int, default=len(D.PHASES) - 1)
    ap.add_argument("--random-share", type=float, default=0.5,
                    help="share of training documents about randomly spelled entities")
    ap.add_argument("--batch-tokens", type=int, default=D.TOKENS_PER_BATCH)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--decay-frac", type=float, default=0.12)
    ap.add_argument("--size", default="256,6,8,768",
                    help="d_model,n_layers,n_heads,mlp of a new model (--init's config wins)")
    ap.add_argument("--grow-layers", type=int, default=0,
                    help="deepen an --init model to this many layers, function-preserving")
    ap.add_argument("--rope-theta", type=float, default=500000.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    state = load_state(args.init)
    torch.manual_seed(args.seed + 7919 * state["step"])
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    ids = {"bos": tok.token_to_id("<|startoftext|>"), "eos": tok.token_to_id("<|endoftext|>"),
           "mask": tok.token_to_id("<|mdm_mask|>"), "eot": tok.token_to_id("<|eot_id|>")}
    d, nl, nh, mlp = (int(x) for x in args.size.split(","))
    init_cfg = None
    if args.init:
        with open(os.path.join(args.init, "config.json")) as f:
            init_cfg = json.load(f)
        d, nl, nh = init_cfg["d_model"], init_cfg["n_layers"], init_cfg["n_heads"]
        mlp = init_cfg["mlp_hidden_size"]
    old_layers = nl
    nl = max(nl, args.grow_layers)
    cfg = make_config(args.attention, ids, d=d, layers=nl, heads=nh, mlp=mlp,
                      rope_theta=args.rope_theta)
    if init_cfg and "focus_dense_layers" in init_cfg:  # the engine's Focus default, chosen on dev sets
        cfg["focus_dense_layers"] = init_cfg["focus_dense_layers"]
    block_causal = args.attention == "block_causal"
    model = LLaDAModel(cfg).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=dev.type == "cuda")
    warmup = args.warmup
    ckpt_file = os.path.join(args.ckpt, "ckpt.pt") if args.ckpt else None
    if args.init:
        ck = torch.load(ckpt_file, map_location=dev) if ckpt_file and os.path.exists(ckpt_file) else None
        if ck is not None and ck["step"] == state["step"] and ck["attention"] == args.attention:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            warmup = 0
            print(f"resumed from {ckpt_file} (f32 weights, optimizer state) at step {state['step']}")
        else:
            sd = E.load_weights(args.init, dev)
            if nl > old_layers:
                sd = grown_state(sd, old_layers, nl)
                state.setdefault("growth", []).append(
                    {"step": state["step"], "from_layers": old_layers, "to_layers": nl})
                print(f"grown from {old_layers} to {nl} layers (inserted layers start as identity)")
            model.load_state_dict(sd, strict=True)
            warmup = min(args.warmup, 100)
            print(f"resumed from {args.init} (bf16 weights) at step {state['step']}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params / 1e6:.2f} M, attention {args.attention}", flush=True)

    probe = H.Probes(tok, block_causal, dev, args.batch_tokens)
    seen = torch.zeros(cfg["embedding_size"], dtype=torch.bool, device=dev)
    stage = D.shared_stage()
    stage.value = min(state["stage"], args.max_stage)
    stream = D.CurriculumStream(args.tokenizer, args.seed * 100 + len(state["runs"]), stage,
                                block_causal, args.batch_tokens, random_share=args.random_share)
    loader = DataLoader(stream, batch_size=None, num_workers=args.workers, prefetch_factor=4,
                        persistent_workers=True, multiprocessing_context="fork")
    budget = args.minutes * 60
    step0, step = state["step"], state["step"]
    last_stage_step = state.get("stage_step", step)
    tokens, questions = 0, 0
    t0 = time.time()
    diverged = None
    it = iter(loader)
    for batch in it:
        elapsed = time.time() - t0
        if elapsed > budget or step - step0 >= args.max_steps:
            break
        b = D.to_device(batch, dev)
        seen[b["ids"]] = True
        canvas = b["canvas"]
        example_t = torch.rand(b["ids"].shape[0], device=dev) * (1 - 1e-3) + 1e-3
        # one masking rate per question segment: index by (example, segment)
        key = b["ex"] * 16 + b["seg"]
        _, inverse = torch.unique(key, return_inverse=True)
        t = example_t[inverse]
        masked = (torch.rand_like(t) < t) & canvas
        rows = masked.nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        x = torch.where(masked, torch.full_like(b["ids"], ids["mask"]), b["ids"])
        bm = packed_mask(b["ex"], b["seg"], block_causal)
        for g in opt.param_groups:
            g["lr"] = lr_at(elapsed / budget, step - step0, args.lr, warmup, args.decay_frac)
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            logits = model.forward_packed(x, b["pos"], bm, rows)
        tgt = b["ids"][rows]
        loss = F.cross_entropy(logits.float(), tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += batch["tokens"]
        questions += batch["questions"]
        if step % args.log_every == 0:
            lv = loss.item()
            if not math.isfinite(lv):
                print(f"step {step}: loss is {lv}, training diverged; stopping", flush=True)
                diverged = step
                break
            rate = tokens / (time.time() - t0)
            print(f"step {step} t={elapsed:.0f}s stage {stage.value} phase {batch['phase']} "
                  f"loss {lv:.4f} lr {opt.param_groups[0]['lr']:.2e} tok/s {rate:.0f} "
                  f"q/s {questions / (time.time() - t0):.0f}", flush=True)
        if step % args.eval_every == 0:
            acc = probe.measure(model)
            unseen = probe.unseen(seen)
            point = {"step": step, "t": round(elapsed, 1), "stage": stage.value,
                     "loss": round(loss.item(), 4), "tokens": state["tokens"] + tokens, **acc,
                     **unseen, "by_type": probe.measure_by_type(model)}
            state["curve"].append(point)
            print("heldout", json.dumps(point), flush=True)
            if stage.value == 0 and acc["heldout_train_short"] >= args.stage0_acc:
                stage.value, last_stage_step = 1, step
            elif 0 < stage.value < args.max_stage and step - last_stage_step >= args.stage_steps:
                stage.value, last_stage_step = stage.value + 1, step
            if stage.value != point["stage"]:
                state["stages"].append({"step": step, "stage": stage.value})
                print(f"step {step}: stage {stage.value} unlocked", flush=True)
    train_s = time.time() - t0
    acc = probe.measure(model)
    unseen = probe.unseen(seen)
    by_type = probe.measure_by_type(model)
    print(f"done: {step - step0} steps ({step} in all), {tokens} tokens, {train_s:.0f}s, "
          f"{tokens / max(train_s, 1):.0f} tokens/s; {json.dumps(acc)}; {json.dumps(unseen)}",
          flush=True)
    print(f"by type: {json.dumps(by_type)}", flush=True)
    state["curve"].append({"step": step, "t": round(train_s, 1), "stage": stage.value,
                           "tokens": state["tokens"] + tokens, **acc, **unseen,
                           "by_type": by_type})
    state["runs"].append({"steps": step - step0, "seconds": round(train_s, 1), "tokens": tokens,
                          "questions": questions, "tokens_per_s": round(tokens / max(train_s, 1)),
                          "diverged_at_step": diverged, "args": vars(args)})
    state.update(step=step, stage=stage.value, stage_step=last_stage_step,
                 tokens=state["tokens"] + tokens, questions=state["questions"] + questions,
                 params=n_params)
    os.makedirs(args.out, exist_ok=True)
    E.export_model(model, cfg, args.out, args.tokenizer)
    with open(os.path.join(args.out, "train-state.json"), "w") as f:
        json.dump(state, f, indent=1)
    if ckpt_file:
        os.makedirs(args.ckpt, exist_ok=True)
        torch.save({"step": step, "attention": args.attention, "model": model.state_dict(),
                    "opt": opt.state_dict()}, ckpt_file)
    for w in getattr(it, "_workers", []):  # stop the data workers (they may block on a full queue)
        w.terminate()
    os._exit(0)


if __name__ == "__main__":
    main()
