#!/usr/bin/env python3
"""Assembles a tiny model directory for command-line and reliability tests.

The directory holds everything `focus` needs to load a model:

- `config.json`: the config of a tiny random checkpoint from Tests/Fixtures/checkpoints
  (default `llada-bf16-sharded`: LLaDA layout, d_model 64, 2 layers, vocab 300,
  `prompt_attention: block_causal`), with `max_sequence_length` optionally replaced;
- the checkpoint's safetensors files (and index), copied;
- `tokenizer.json`: a byte-level BPE tokenizer without merges, written here. Ids 0-255 are the
  256 byte symbols of the GPT-2 byte-to-unicode alphabet (id = byte value), so every UTF-8 byte
  is one token; ids 294-299 are LLaDA's special tokens, `<|endoftext|>` at the checkpoint's
  `eos_token_id` (298) and `<|mdm_mask|>` at its `mask_token_id` (299). Ids 256-293 are unused.
  Normalizer NFC, pre-tokenizer Split(Qwen2 pattern, Isolated) + ByteLevel, decoder ByteLevel.

Usage:
    python3 Tests/ReferenceTools/make_tiny_model.py --out DIR
    python3 Tests/ReferenceTools/make_tiny_model.py --out DIR --max-sequence-length 256

Needs only the standard library; deterministic (byte-identical output on every run).
"""

import argparse
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "Tests" / "Fixtures" / "checkpoints"

# Qwen2's split pattern (the Swift tokenizer implements it natively).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SPECIAL_TOKENS = [
    (294, "<|startoftext|>"),
    (295, "<|start_header_id|>"),
    (296, "<|end_header_id|>"),
    (297, "<|eot_id|>"),
    (298, "<|endoftext|>"),
    (299, "<|mdm_mask|>"),
]


def byte_symbols():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    kept = [b for b in range(256) if ord("!") <= b <= ord("~") or ord("¡") <= b <= ord("¬") or ord("®") <= b <= ord("ÿ")]
    symbols = {b: chr(b) for b in kept}
    shifted = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + shifted)
            shifted += 1
    return symbols


def tokenizer_json():
    symbols = byte_symbols()
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, text in SPECIAL_TOKENS
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {symbols[b]: b for b in range(256)},
            "merges": [],
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--checkpoint", default="llada-bf16-sharded",
                        help="folder under Tests/Fixtures/checkpoints (an LLaDA checkpoint)")
    parser.add_argument("--max-sequence-length", type=int, default=None)
    args = parser.parse_args()

    source = CHECKPOINTS / args.checkpoint
    config = json.loads((source / "config.json").read_text())
    assert config["model_type"] == "llada", "the tokenizer's special tokens fit LLaDA checkpoints"
    ids = {text: i for i, text in SPECIAL_TOKENS}
    assert config["mask_token_id"] == ids["<|mdm_mask|>"] and config["eos_token_id"] == ids["<|endoftext|>"]
    assert config["vocab_size"] > max(ids.values())
    if args.max_sequence_length is not None:
        config["max_sequence_length"] = args.max_sequence_length

    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.name.startswith("model") and path.name.endswith((".safetensors", ".safetensors.index.json")):
            shutil.copyfile(path, args.out / path.name)
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (args.out / "tokenizer.json").write_text(json.dumps(tokenizer_json(), ensure_ascii=False, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
