#!/usr/bin/env python3
"""Writes a large random checkpoint in the LLaDA Hugging Face layout, for memory benchmarks.

The weights are random bfloat16 values with magnitudes in [2^-7, 2^-3) (norm weights are 1.0);
they carry no meaning. Data are generated and written in chunks, so memory use stays small
whatever the checkpoint size. Requirements: Python 3.11 and numpy.

Usage:
    python3 Tests/ReferenceTools/make_large_checkpoint.py --out /tmp/llada-large \
        [--d-model 2048] [--layers 28] [--heads 16] [--kv-heads 16] [--mlp 5632] \
        [--vocab 32000] [--dtype bf16|f32] [--shard-size 2GB] [--seed 0]
"""

import argparse
import json
import os
import re
import struct
import sys
import time

import numpy as np

CHUNK_ELEMENTS = 1 << 23


def parse_size(text):
    """Parses sizes such as 2GB, 500MB, 1.5GiB or 123456 into bytes (GB = 10^9, GiB = 2^30)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"cannot parse size '{text}'")
    value, unit, suffix = match.groups()
    base = 1024 if suffix == "IB" else 1000
    power = "KMGT".index(unit) + 1 if unit else 0
    return int(float(value) * base ** power)


def tensor_plan(args):
    """Returns [(name, shape)] in the LLaDA layout and file order."""
    d, hd = args.d_model, args.d_model // args.heads
    kvd = args.kv_heads * hd
    plan = [("model.transformer.wte.weight", (args.vocab, d))]
    for n in range(args.layers):
        p = f"model.transformer.blocks.{n}."
        plan += [(p + "attn_norm.weight", (d,)), (p + "q_proj.weight", (d, d)),
                 (p + "k_proj.weight", (kvd, d)), (p + "v_proj.weight", (kvd, d)),
                 (p + "attn_out.weight", (d, d)), (p + "ff_norm.weight", (d,)),
                 (p + "ff_proj.weight", (args.mlp, d)), (p + "up_proj.weight", (args.mlp, d)),
                 (p + "ff_out.weight", (d, args.mlp))]
    plan += [("model.transformer.ln_f.weight", (d,)), ("model.transformer.ff_out.weight", (args.vocab, d))]
    return plan


def config(args):
    return {
        "activation_type": "silu", "alibi": False, "architectures": ["LLaDAModelLM"],
        "attention_dropout": 0.0, "block_type": "llama", "d_model": args.d_model,
        "embedding_size": args.vocab, "eos_token_id": args.vocab - 2, "include_bias": False,
        "include_qkv_bias": False, "layer_norm_type": "rms", "mask_token_id": args.vocab - 1,
        "max_sequence_length": args.max_seq, "mlp_hidden_size": args.mlp, "model_type": "llada",
        "n_heads": args.heads, "n_kv_heads": args.kv_heads, "n_layers": args.layers,
        "pad_token_id": args.vocab - 2, "precision": "amp_bf16", "rms_norm_eps": 1e-05,
        "rope": True, "rope_theta": 500000.0, "scale_logits": False, "use_cache": False,
        "vocab_size": args.vocab, "weight_tying": False,
    }


def random_bf16_bits(rng, count):
    """Random bfloat16 bit patterns: random sign and mantissa, exponent 120..123."""
    r = rng.integers(0, 1 << 16, size=count, dtype=np.uint16)
    exponent = ((r >> 7) & np.uint16(3)) + np.uint16(120)
    return (r & np.uint16(0x807F)) | (exponent << np.uint16(7))


def write_tensor(f, rng, name, count, dtype):
    is_norm = name.endswith("norm.weight") or name.endswith("ln_f.weight")
    for start in range(0, count, CHUNK_ELEMENTS):
        n = min(CHUNK_ELEMENTS, count - start)
        bits = np.full(n, 0x3F80, dtype=np.uint16) if is_norm else random_bf16_bits(rng, n)
        if dtype == "BF16":
            bits.astype("<u2", copy=False).tofile(f)
        else:
            (bits.astype(np.uint32) << 16).astype("<u4", copy=False).tofile(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--d-model", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=28)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--kv-heads", type=int, default=None)
    parser.add_argument("--mlp", type=int, default=5632)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    parser.add_argument("--max-seq", type=int, default=4096, help="config's max_sequence_length")
    parser.add_argument("--shard-size", type=parse_size, default=parse_size("2GB"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.kv_heads = args.kv_heads or args.heads
    if args.d_model % args.heads or args.heads % args.kv_heads:
        parser.error("d-model must divide by heads, and heads by kv-heads")
    dtype = "BF16" if args.dtype == "bf16" else "F32"
    width = 2 if dtype == "BF16" else 4

    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    plan = tensor_plan(args)
    shards, current, current_size = [], [], 0
    for name, shape in plan:
        size = int(np.prod(shape)) * width
        if current and current_size + size > args.shard_size:
            shards.append(current)
            current, current_size = [], 0
        current.append((name, shape, size))
        current_size += size
    shards.append(current)

    rng = np.random.default_rng(args.seed)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        file_name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, size in shard:
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[name] = file_name
        header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
        header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
        with open(os.path.join(args.out, file_name), "wb") as f:
            f.write(struct.pack("<Q", len(header_bytes)))
            f.write(header_bytes)
            for name, shape, size in shard:
                write_tensor(f, rng, name, size // width, dtype)
        total += offset
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config(args), f, indent=2)
    params = sum(int(np.prod(shape)) for _, shape in plan)
    elapsed = time.monotonic() - started
    print(f"wrote {args.out}: {params:,} parameters, {total:,} bytes in {len(shards)} shards, "
          f"{elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
