#!/usr/bin/env python3
"""Writes tiny random LLaDA and Dream checkpoints in the Hugging Face layouts,
plus reference outputs computed by an independent float64 implementation.

Requirements: Python 3.11 and numpy. Deterministic: every run writes the same bytes.

Usage:
    python3 Tests/ReferenceTools/make_reference_checkpoints.py [--out Tests/Fixtures/checkpoints]

See Tests/ReferenceTools/README.md for the file formats.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

# MARK: - Safetensors writing and reading

DTYPE_SIZES = {"F32": 4, "BF16": 2, "I32": 4}


def f32_to_bf16_bits(values):
    """Rounds float32 values to bfloat16 (round to nearest, ties to even); returns uint16 bits."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def bf16_bits_to_f32(bits):
    """Widens bfloat16 bits (uint16) to float32 exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def tensor_bytes(array, dtype):
    """Returns the little-endian raw bytes of `array` stored as `dtype` (F32, BF16 or I32)."""
    if dtype == "F32":
        return np.ascontiguousarray(array, dtype="<f4").tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(array).astype("<u2").tobytes()
    if dtype == "I32":
        return np.ascontiguousarray(array, dtype="<i4").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors):
    """Writes a safetensors file. `tensors` is a list of (name, array, dtype) in file order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, array, dtype in tensors:
        data = tensor_bytes(array, dtype)
        assert len(data) == int(np.prod(array.shape, dtype=np.int64)) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for data in blobs:
            f.write(data)
    return offset


def read_safetensors(path):
    """Independent reader: returns {name: (dtype, float64-or-int array)} and the metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    base = 8 + header_len
    out = {}
    covered = 0
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        chunk = raw[base + start:base + end]
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if entry["dtype"] == "F32":
            arr = np.frombuffer(chunk, dtype="<f4").astype(np.float64)
        elif entry["dtype"] == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(chunk, dtype="<u2")).astype(np.float64)
        elif entry["dtype"] == "I32":
            arr = np.frombuffer(chunk, dtype="<i4").astype(np.int64)
        else:
            raise ValueError(f"{path}: unexpected dtype {entry['dtype']} for {name}")
        assert arr.size == count, f"{path}: {name} has {arr.size} values, shape says {count}"
        out[name] = (entry["dtype"], arr.reshape(entry["shape"]))
        covered += end - start
    assert base + covered == len(raw), f"{path}: data section size mismatch"
    return out, metadata


# MARK: - Model description


class Arch:
    """Maps one architecture's config keys and weight names onto common roles."""

    def __init__(self, kind, cfg):
        self.kind = kind
        self.cfg = cfg
        if kind == "llada":
            self.d = cfg["d_model"]
            self.heads = cfg["n_heads"]
            self.kv_heads = cfg["n_kv_heads"]
            self.layers = cfg["n_layers"]
            self.mlp = cfg["mlp_hidden_size"]
            self.vocab = cfg["vocab_size"]
            self.rows = cfg["embedding_size"]
            self.qkv_bias = cfg["include_qkv_bias"]
        else:
            self.d = cfg["hidden_size"]
            self.heads = cfg["num_attention_heads"]
            self.kv_heads = cfg["num_key_value_heads"]
            self.layers = cfg["num_hidden_layers"]
            self.mlp = cfg["intermediate_size"]
            self.vocab = cfg["vocab_size"]
            self.rows = cfg["vocab_size"]
            self.qkv_bias = True
        self.theta = float(cfg["rope_theta"])
        self.eps = float(cfg["rms_norm_eps"])
        self.hd = self.d // self.heads
        self.block_causal = cfg.get("prompt_attention", "bidirectional") == "block_causal"

    def name(self, role, layer=None):
        if self.kind == "llada":
            top = {"embed": "model.transformer.wte.weight", "final_norm": "model.transformer.ln_f.weight",
                   "head": "model.transformer.ff_out.weight"}
            per = {"attn_norm": "attn_norm.weight", "q": "q_proj.weight", "k": "k_proj.weight",
                   "v": "v_proj.weight", "q_bias": "q_proj.bias", "k_bias": "k_proj.bias",
                   "v_bias": "v_proj.bias", "o": "attn_out.weight", "ff_norm": "ff_norm.weight",
                   "gate": "ff_proj.weight", "up": "up_proj.weight", "down": "ff_out.weight"}
            prefix = f"model.transformer.blocks.{layer}."
        else:
            top = {"embed": "model.embed_tokens.weight", "final_norm": "model.norm.weight",
                   "head": "lm_head.weight"}
            per = {"attn_norm": "input_layernorm.weight", "q": "self_attn.q_proj.weight",
                   "k": "self_attn.k_proj.weight", "v": "self_attn.v_proj.weight",
                   "q_bias": "self_attn.q_proj.bias", "k_bias": "self_attn.k_proj.bias",
                   "v_bias": "self_attn.v_proj.bias", "o": "self_attn.o_proj.weight",
                   "ff_norm": "post_attention_layernorm.weight", "gate": "mlp.gate_proj.weight",
                   "up": "mlp.up_proj.weight", "down": "mlp.down_proj.weight"}
            prefix = f"model.layers.{layer}."
        return top[role] if layer is None else prefix + per[role]


def make_weights(arch, seed):
    """Random weights as float32 arrays, in a natural file order: list of (name, array)."""
    rng = np.random.default_rng(seed)
    d, kvd, mlp, rows = arch.d, arch.kv_heads * arch.hd, arch.mlp, arch.rows

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(n):
        return (1.0 + rng.standard_normal(n) * 0.1).astype(np.float32)

    weights = [(arch.name("embed"), normal((rows, d), 0.05))]
    for layer in range(arch.layers):
        n = lambda role: arch.name(role, layer)  # noqa: E731
        weights.append((n("attn_norm"), norm(d)))
        weights.append((n("q"), normal((d, d), 0.2)))
        if arch.qkv_bias:
            weights.append((n("q_bias"), normal((d,), 0.1)))
        weights.append((n("k"), normal((kvd, d), 0.2)))
        if arch.qkv_bias:
            weights.append((n("k_bias"), normal((kvd,), 0.1)))
        weights.append((n("v"), normal((kvd, d), 0.05)))
        if arch.qkv_bias:
            weights.append((n("v_bias"), normal((kvd,), 0.05)))
        weights.append((n("o"), normal((d, d), 0.05)))
        weights.append((n("ff_norm"), norm(d)))
        weights.append((n("gate"), normal((mlp, d), 0.05)))
        weights.append((n("up"), normal((mlp, d), 0.05)))
        weights.append((n("down"), normal((d, mlp), 0.05)))
    weights.append((arch.name("final_norm"), norm(d)))
    weights.append((arch.name("head"), normal((rows, d), 0.05)))
    return weights


# MARK: - Reference forward pass


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, theta, hd, dtype):
    """x: [L, heads, hd]; rotate-half RoPE at explicit integer positions."""
    half = hd // 2
    inv_freq = theta ** (-(2.0 * np.arange(half, dtype=np.float64)) / hd)
    angle = positions.astype(np.float64)[:, None] * inv_freq[None, :]
    cos = np.concatenate([np.cos(angle), np.cos(angle)], axis=-1).astype(dtype)[:, None, :]
    sin = np.concatenate([np.sin(angle), np.sin(angle)], axis=-1).astype(dtype)[:, None, :]
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(arch, w, ids, positions, past=None, document_length=None, dtype=np.float64):
    """Runs the model over `ids` at `positions`.

    past: optional per-layer list of (K after RoPE [P, kvH*hd], V [P, kvH*hd]) placed before
    the new rows' own keys. document_length: if set, query rows < D attend only to keys < D.
    Returns (logits [L, rows], per-layer list of (K, V) for the new rows).
    """
    L = len(ids)
    H, KVH, hd = arch.heads, arch.kv_heads, arch.hd
    group = H // KVH
    x = w[arch.name("embed")][ids].astype(dtype)
    kv_out = []
    for layer in range(arch.layers):
        g = lambda role: w[arch.name(role, layer)]  # noqa: E731
        a = rms_norm(x, g("attn_norm"), arch.eps)
        q = a @ g("q").T
        k = a @ g("k").T
        v = a @ g("v").T
        if arch.qkv_bias:
            q = q + g("q_bias")
            k = k + g("k_bias")
            v = v + g("v_bias")
        q = rope(q.reshape(L, H, hd), positions, arch.theta, hd, dtype)
        k = rope(k.reshape(L, KVH, hd), positions, arch.theta, hd, dtype).reshape(L, KVH * hd)
        kv_out.append((k, v))
        if past is not None:
            k = np.concatenate([past[layer][0].astype(dtype), k], axis=0)
            v = np.concatenate([past[layer][1].astype(dtype), v], axis=0)
        T = k.shape[0]
        kh = k.reshape(T, KVH, hd)
        vh = v.reshape(T, KVH, hd)
        o = np.empty((L, H, hd), dtype=dtype)
        allowed = None
        if document_length is not None:
            assert past is None
            rows = np.arange(L)[:, None]
            cols = np.arange(T)[None, :]
            allowed = (rows >= document_length) | (cols < document_length)
        for h in range(H):
            kv = h // group
            scores = (q[:, h, :] @ kh[:, kv, :].T) / np.sqrt(dtype(hd))
            if allowed is not None:
                scores = np.where(allowed, scores, -np.inf)
            scores = scores - scores.max(axis=-1, keepdims=True)
            p = np.exp(scores)
            p = p / p.sum(axis=-1, keepdims=True)
            o[:, h, :] = p @ vh[:, kv, :]
        x = x + o.reshape(L, H * hd) @ g("o").T
        m = rms_norm(x, g("ff_norm"), arch.eps)
        x = x + (silu(m @ g("gate").T) * (m @ g("up").T)) @ g("down").T
    x = rms_norm(x, w[arch.name("final_norm")], arch.eps)
    return x @ w[arch.name("head")].T, kv_out


# MARK: - Configs


def llada_config(theta, dtype_name, block_causal):
    cfg = {
        "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0,
        "architectures": ["LLaDAModelLM"], "attention_dropout": 0.0,
        "attention_layer_norm": False, "attention_layer_norm_with_affine": True,
        "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
                     "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
                     "AutoModel": "modeling_llada.LLaDAModelLM"},
        "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama",
        "d_model": 64, "embedding_dropout": 0.0, "embedding_size": 320, "eos_token_id": 298,
        "flash_attention": False, "include_bias": False, "include_qkv_bias": False,
        "init_cutoff_factor": None, "init_device": "meta", "init_fn": "mitchell", "init_std": 0.02,
        "input_emb_norm": False, "layer_norm_type": "rms", "layer_norm_with_affine": True,
        "mask_token_id": 299, "max_sequence_length": 4096, "mlp_hidden_size": 160, "mlp_ratio": 4,
        "model_type": "llada", "multi_query_attention": None, "n_heads": 4, "n_kv_heads": 4,
        "n_layers": 2, "pad_token_id": 298,
        "precision": "amp_bf16" if dtype_name == "BF16" else "fp32",
        "residual_dropout": 0.0, "rms_norm_eps": 1e-05, "rope": True, "rope_full_precision": True,
        "rope_theta": theta, "scale_logits": False, "transformers_version": "4.46.3",
        "use_cache": False, "vocab_size": 300, "weight_tying": False,
    }
    if block_causal:
        cfg["prompt_attention"] = "block_causal"
    return cfg


def dream_config(theta, dtype_name):
    return {
        "architectures": ["DreamModel"], "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_dream.DreamConfig",
                     "AutoModel": "modeling_dream.DreamModel"},
        "bos_token_id": 297, "eos_token_id": 297, "hidden_act": "silu", "hidden_size": 64,
        "initializer_range": 0.02, "intermediate_size": 160, "mask_token_id": 299,
        "max_position_embeddings": 131072, "max_window_layers": 2, "model_type": "Dream",
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "pad_token_id": 297, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": theta,
        "sliding_window": None, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16" if dtype_name == "BF16" else "float32",
        "transformers_version": "4.46.2", "use_cache": True, "use_mrope": False,
        "use_sliding_window": False, "vocab_size": 300,
    }


CHECKPOINTS = [
    # name, architecture, config, storage dtype, shard count, seed
    ("llada-f32", "llada", llada_config(500000.0, "F32", False), "F32", 1, 101),
    ("llada-bf16-sharded", "llada", llada_config(10000.0, "BF16", True), "BF16", 2, 202),
    ("dream-f32-sharded", "dream", dream_config(1000000.0, "F32"), "F32", 2, 303),
    ("dream-bf16", "dream", dream_config(10000.0, "BF16"), "BF16", 1, 404),
]

TOLERANCE = 1e-4


# MARK: - Checkpoint writing


def write_checkpoint(folder, weights, dtype, shards):
    """Writes model.safetensors, or `shards` shard files plus model.safetensors.index.json."""
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"),
                          [(n, a, dtype) for n, a in weights])
        return
    sizes = [a.size * DTYPE_SIZES[dtype] for _, a in weights]
    total = sum(sizes)
    groups = [[] for _ in range(shards)]
    running = 0
    for (name, array), size in zip(weights, sizes):
        index = min(shards - 1, running * shards // total)
        groups[index].append((name, array, dtype))
        running += size
    weight_map = {}
    for i, group in enumerate(groups):
        file_name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, file_name), group)
        for name, _, _ in group:
            weight_map[name] = file_name
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def load_checkpoint(folder):
    """Reads the weights back with the independent reader, as float64 arrays."""
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        files = sorted(set(index["weight_map"].values()))
    else:
        index, files = None, ["model.safetensors"]
    weights = {}
    total = 0
    for file_name in files:
        tensors, metadata = read_safetensors(os.path.join(folder, file_name))
        assert metadata == {"format": "pt"}
        for name, (dtype, arr) in tensors.items():
            if index is not None:
                assert index["weight_map"][name] == file_name
            weights[name] = arr
            total += arr.size * DTYPE_SIZES[dtype]
    if index is not None:
        assert index["metadata"]["total_size"] == total
        assert set(index["weight_map"]) == set(weights)
    return weights


# MARK: - Reference cases


def logit_rows(rng, length):
    """First 4, 8 random interior and last 4 positions (all positions for short sequences)."""
    if length <= 16:
        return np.arange(length)
    interior = rng.choice(np.arange(4, length - 4), size=8, replace=False)
    return np.unique(np.concatenate([np.arange(4), interior, np.arange(length - 4, length)]))


def build_cases(arch, w, seed):
    """Returns (tensors for reference.safetensors, case descriptions, float32 rel. errors)."""
    rng = np.random.default_rng(seed + 7)
    w32 = {k: v.astype(np.float32) for k, v in w.items()}
    tensors, cases, errors = [], [], {}
    V = arch.vocab
    mask_id = arch.cfg["mask_token_id"]

    def run_both(name, ids, positions, **kwargs):
        ref, kv = forward(arch, w, ids, positions, **kwargs)
        if "past" in kwargs:
            kwargs["past"] = [(k.astype(np.float32), v.astype(np.float32)) for k, v in kwargs["past"]]
        low, _ = forward(arch, w32, ids, positions, dtype=np.float32, **kwargs)
        return ref, kv, low

    def record_error(name, ref, low):
        errors[name] = float(np.max(np.abs(low.astype(np.float64) - ref)) / np.max(np.abs(ref)))

    def add_full_case(name, ids, positions, rows, note, document_length=None):
        kwargs = {} if document_length is None else {"document_length": document_length}
        ref, _, low = run_both(name, ids, positions, **kwargs)
        record_error(name, ref[rows], low[rows])
        tensors.extend([(f"{name}.ids", ids, "I32"), (f"{name}.positions", positions, "I32"),
                        (f"{name}.logit_rows", rows, "I32"), (f"{name}.logits", ref[rows], "F32")])
        case = {"name": name, "kind": "full" if document_length is None else "block_causal",
                "length": int(len(ids)), "logit_rows": int(len(rows)), "note": note,
                "tolerance": TOLERANCE}
        if document_length is not None:
            case["document_length"] = int(document_length)
        cases.append(case)
        return ref

    for L in (5, 64, 1100):
        ids = rng.integers(0, V, size=L)
        add_full_case(f"full_{L}", ids, np.arange(L), logit_rows(rng, L),
                      "one bidirectional forward over all tokens at positions 0..L-1")

    L = 48
    ids = rng.integers(0, V - 3, size=L)
    ids[rng.choice(L, size=10, replace=False)] = mask_id
    positions = 1000 + np.cumsum(rng.integers(1, 4, size=L)) - 1
    add_full_case("offset_positions", ids, positions, np.arange(L),
                  "bidirectional forward at non-contiguous positions starting at 1000; "
                  "ids contain mask_token_id")
    # RoPE self-check: a bidirectional forward depends only on relative positions.
    shifted, _ = forward(arch, w, ids, positions - 999)
    offset_logits, _ = forward(arch, w, ids, positions)
    assert np.max(np.abs(shifted - offset_logits)) <= 1e-10 * np.max(np.abs(offset_logits))

    P, S = 40, 12
    ids = rng.integers(0, V, size=P + S)
    ids[P + rng.choice(S, size=4, replace=False)] = mask_id
    positions = np.arange(P + S)
    _, prefix_kv = forward(arch, w, ids[:P], positions[:P])
    ref, _, low = run_both("prefix", ids[P:], positions[P:], past=prefix_kv)
    record_error("prefix", ref, low)
    last = arch.layers - 1
    tensors.extend([("prefix.ids", ids, "I32"), ("prefix.positions", positions, "I32"),
                    ("prefix.logits", ref, "F32"),
                    ("prefix.k_layer0", prefix_kv[0][0], "F32"),
                    ("prefix.v_layer0", prefix_kv[0][1], "F32"),
                    (f"prefix.k_layer{last}", prefix_kv[last][0], "F32"),
                    (f"prefix.v_layer{last}", prefix_kv[last][1], "F32")])
    cases.append({"name": "prefix", "kind": "prefix", "length": P + S, "prefix_length": P,
                  "suffix_length": S, "logit_rows": S, "kv_layers": sorted({0, last}),
                  "tolerance": TOLERANCE,
                  "note": "forward over the first P tokens alone (bidirectional) caches per-layer "
                          "K (after RoPE) and V; a second forward over the last S tokens at "
                          "positions P..P+S-1 attends to [cached prefix K/V ; its own S rows]; "
                          "logits are those of the S new tokens"})

    if arch.block_causal:
        L, D = 80, 50
        ids = rng.integers(0, V, size=L)
        ids[D + rng.choice(L - D, size=8, replace=False)] = mask_id
        positions = np.arange(L)
        ref = add_full_case("blockcausal", ids, positions, np.arange(L),
                            "rows < document_length attend only to keys < document_length; "
                            "rows >= document_length attend to all keys; the rows >= D equal a "
                            "prefix forward with P = D", document_length=D)
        doc_only, doc_kv = forward(arch, w, ids[:D], positions[:D])
        rest, _ = forward(arch, w, ids[D:], positions[D:], past=doc_kv)
        scale = np.max(np.abs(ref))
        assert np.max(np.abs(ref[:D] - doc_only)) <= 1e-12 * scale, "document rows mismatch"
        assert np.max(np.abs(ref[D:] - rest)) <= 1e-12 * scale, "block-causal/prefix mismatch"
        full, _ = forward(arch, w, ids, positions)
        assert np.max(np.abs(full[D:] - ref[D:])) > 1e-6 * scale, "mask had no effect"
    return tensors, cases, errors


# MARK: - Main


def check_reference_file(path, tensors):
    read, metadata = read_safetensors(path)
    assert metadata == {"format": "pt"}
    assert list(read) == [t[0] for t in tensors]
    for name, array, dtype in tensors:
        got_dtype, got = read[name]
        assert got_dtype == dtype and got.shape == tuple(array.shape), name
        expected = array.astype(np.float32).astype(np.float64) if dtype == "F32" else array
        assert np.array_equal(got, expected), name


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "Fixtures", "checkpoints")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()

    # Writer self-check on known values: bf16 rounding ties to even, layout of the header.
    probe = np.array([1.0, 1.00390625, 1.01171875, -2.5, 3.0e-3], dtype=np.float32)
    assert f32_to_bf16_bits(probe).tolist() == [0x3F80, 0x3F80, 0x3F82, 0xC020, 0x3B45]

    summary = {}
    for name, kind, cfg, dtype, shards, seed in CHECKPOINTS:
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        for stale in os.listdir(folder):
            os.remove(os.path.join(folder, stale))
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        arch = Arch(kind, cfg)
        generated = make_weights(arch, seed)
        write_checkpoint(folder, generated, dtype, shards)
        # The reference uses the weights exactly as stored, read back independently.
        weights = load_checkpoint(folder)
        for wname, array in generated:
            stored = bf16_bits_to_f32(f32_to_bf16_bits(array)) if dtype == "BF16" else array
            assert np.array_equal(weights[wname], stored.astype(np.float64)), wname
        tensors, cases, errors = build_cases(arch, weights, seed)
        ref_path = os.path.join(folder, "reference.safetensors")
        write_safetensors(ref_path, tensors)
        check_reference_file(ref_path, tensors)
        description = {
            "checkpoint": name, "model_type": cfg["model_type"], "weight_dtype": dtype,
            "shards": shards, "logits_width": arch.rows, "vocab_size": arch.vocab,
            "prompt_attention": cfg.get("prompt_attention", "bidirectional"),
            "tolerance": {"metric": "max|engine - reference| / max|reference| per case",
                          "max": TOLERANCE},
            "float32_numpy_relative_error": {k: float(f"{v:.3e}") for k, v in errors.items()},
            "cases": cases,
        }
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(description, f, indent=2)
            f.write("\n")
        summary[name] = errors
        print(f"{name}: " + ", ".join(f"{k} f32 rel err {v:.2e}" for k, v in errors.items()))
    worst = max(v for errs in summary.values() for v in errs.values())
    print(f"worst float32-vs-float64 relative error: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
