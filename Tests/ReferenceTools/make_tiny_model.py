#!/usr/bin/env python3
"""Assembles a tiny model directory for command-line and reliability tests.

The directory holds everything `focus` needs to load a model:

- `config.json`: the config of a tiny random checkpoint from Tests/Fixtures/checkpoints
  (default `llada-bf16-sharded`: LLaDA layout, d_model 64, 2 layers, vocab 300,
  `prompt_attention: block_causal`), with `max_sequence_length` optionally replaced;
- the checkpoint's safetensors files (and index), copied;
- `tokenizer.json`: the tiny byte-level BPE of Tests/Fixtures/tiny-tokenizer (written by
  make_tiny_tokenizer.py), whose `<|endoftext|>` (298) and `<|mdm_mask|>` (299) sit at the
  checkpoint's `eos_token_id` and `mask_token_id`.

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

TOKENIZER = ROOT / "Tests" / "Fixtures" / "tiny-tokenizer" / "tokenizer.json"


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
    tokenizer = json.loads(TOKENIZER.read_text())
    ids = {token["content"]: token["id"] for token in tokenizer["added_tokens"]}
    assert config["mask_token_id"] == ids["<|mdm_mask|>"] and config["eos_token_id"] == ids["<|endoftext|>"]
    assert config["vocab_size"] > max(ids.values())
    if args.max_sequence_length is not None:
        config["max_sequence_length"] = args.max_sequence_length

    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.name.startswith("model") and path.name.endswith((".safetensors", ".safetensors.index.json")):
            shutil.copyfile(path, args.out / path.name)
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copyfile(TOKENIZER, args.out / "tokenizer.json")
    print(args.out)


if __name__ == "__main__":
    main()
