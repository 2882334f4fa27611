#!/usr/bin/env python3
"""Writes a tiny byte-level BPE tokenizer for the LLaDA test checkpoints.

The tiny checkpoints in Tests/Fixtures/checkpoints have a vocabulary of 300 ids; this script
builds a `tokenizer.json` that fits it, in the layout of Qwen2's tokenizer (NFC normalizer,
Split regex + ByteLevel pre-tokenizer, ByteLevel decoder, BPE model):

- ids 0-255: the 256 byte symbols of the GPT-2 byte-to-unicode alphabet (id = byte value);
- ids 256-293: merges learned greedily from a fixed English text (deterministic);
- ids 294-299: LLaDA's special tokens, `<|endoftext|>` at the checkpoints' `eos_token_id`
  and `<|mdm_mask|>` at their `mask_token_id` (both read from the configs and checked).

Usage:
    python3 Tests/ReferenceTools/make_tiny_tokenizer.py            # writes Tests/Fixtures/tiny-tokenizer/
    python3 Tests/ReferenceTools/make_tiny_tokenizer.py --out DIR

Needs only the standard library. When the `tokenizers` package is installed, the result is also
loaded with it and `reference.json` (texts and their ids) is written for the Swift tests.
"""

import argparse
import collections
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "Tests" / "Fixtures" / "checkpoints"
LLADA_CHECKPOINTS = ["llada-f32", "llada-bf16-sharded"]
VOCABULARY_SIZE = 300

# Qwen2's split pattern (the Swift tokenizer implements it natively).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# An ASCII approximation of it, used only to cut the training text into words.
TRAINING_SPLIT = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\w]?[A-Za-z]+|\d| ?[^\s\w]+[\r\n]*|\s+")

TRAINING_TEXT = """
The river town kept its records in a stone house by the bridge. Every spring the water rose and
the clerks carried the ledgers to the upper floor, where they dried them on long tables near the
windows. The harbour master wrote the names of the boats, the weight of the grain and the price
of the salt. In the year of the great flood the bridge was closed for forty days, and the market
moved to the hill behind the church. The mayor said that the town would build a new wall, but the
wall was never finished. Children still play on the stones that the workers left in the meadow.
What is the name of the river? Where did the market move? How long was the bridge closed?
"""

SPECIAL_TOKENS = [
    (294, "<|startoftext|>"),
    (295, "<|start_header_id|>"),
    (296, "<|end_header_id|>"),
    (297, "<|eot_id|>"),
    (298, "<|endoftext|>"),
    (299, "<|mdm_mask|>"),
]
MERGE_COUNT = 294 - 256

REFERENCE_TEXTS = [
    "The river town kept its records in a stone house by the bridge.",
    "Where did the market move?\n\nIt moved to the hill.",
    "Café naïve — 42 ✓",
    "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
]


def byte_alphabet():
    """GPT-2's reversible map from bytes to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {byte: chr(code) for byte, code in zip(printable, codes)}


def learn_merges(text, alphabet, count):
    """Greedy BPE: repeatedly merge the most frequent adjacent pair (ties: smallest pair)."""
    words = collections.Counter(
        tuple(alphabet[b] for b in piece.encode("utf-8")) for piece in TRAINING_SPLIT.findall(text))
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for word, frequency in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += frequency
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        merged = collections.Counter()
        for word, frequency in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += frequency
        words = merged
    return merges


def check_checkpoints():
    """The special ids must match every LLaDA test checkpoint's config."""
    ids = {content: id for id, content in SPECIAL_TOKENS}
    for name in LLADA_CHECKPOINTS:
        config = json.loads((CHECKPOINTS / name / "config.json").read_text())
        assert config["vocab_size"] == VOCABULARY_SIZE, name
        assert config["mask_token_id"] == ids["<|mdm_mask|>"], name
        assert config["eos_token_id"] == ids["<|endoftext|>"], name


def build():
    alphabet = byte_alphabet()
    vocab = {alphabet[byte]: byte for byte in range(256)}
    merges = learn_merges(TRAINING_TEXT, alphabet, MERGE_COUNT)
    assert len(merges) == MERGE_COUNT
    for left, right in merges:
        vocab[left + right] = len(vocab)
    assert len(vocab) == SPECIAL_TOKENS[0][0]
    added = [
        {"id": id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for id, content in SPECIAL_TOKENS
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
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
            "vocab": vocab,
            "merges": [[left, right] for left, right in merges],
        },
    }


def write_reference(tokenizer_path, out):
    """Ids of a few texts as the `tokenizers` library encodes them (skipped when not installed)."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        print("tokenizers is not installed: reference.json not written")
        return
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    cases = []
    for text in REFERENCE_TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        assert max(ids) < VOCABULARY_SIZE
        assert tokenizer.decode(ids, skip_special_tokens=False) == text, text
        cases.append({"text": text, "ids": ids})
    lines = ",\n".join("  " + json.dumps(case, ensure_ascii=False) for case in cases)
    (out / "reference.json").write_text('{"cases": [\n' + lines + "\n]}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "Tests" / "Fixtures" / "tiny-tokenizer")
    args = parser.parse_args()
    check_checkpoints()
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer_path = args.out / "tokenizer.json"
    tokenizer_path.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n")
    config = {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "mask_token": "<|mdm_mask|>", "model_max_length": 4096, "tokenizer_class": "PreTrainedTokenizerFast",
    }
    (args.out / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
    write_reference(tokenizer_path, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
