"""Train the 4096-entry byte-level BPE tokenizer on text from the training split.

    python training/train_tokenizer.py --out training/out/tokenizer.json

The pre-tokenizer is the Qwen2 split regex followed by ByteLevel without its own regex,
the normalizer NFC, the decoder ByteLevel, and the six special tokens take ids 0..5.
"""

import argparse
import json
import random

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

import gen_data as G
import vocab as V

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus(seed=17, n_docs=4000):
    """Training-split text: filler paragraphs, planted facts, questions and answers."""
    rng = random.Random(seed)
    pools = G.Pools("train")
    for _ in range(n_docs):
        st = G.DocState(rng, pools)
        parts = []
        for _ in range(rng.randint(2, 6)):
            q, a, facts = G.make_group(st, rng.choices(G.QTYPES, G.QWEIGHTS)[0], "train")
            parts += [s for s, _ in facts]
            parts.append(q)
            parts.append(a)
        parts += [G.filler_sentence(rng, pools) for _ in range(rng.randint(10, 30))]
        rng.shuffle(parts)
        yield " ".join(parts[: len(parts) // 2]) + "\n\n" + " ".join(parts[len(parts) // 2:])
    for w in ["user", "assistant", "system"]:
        yield w


def build(vocab_size=4096):
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=G.SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tok = build()
    tok.save(args.out)
    d = json.load(open(args.out))
    assert d["model"]["unk_token"] is None
    print("vocab", tok.get_vocab_size(), {s: tok.token_to_id(s) for s in G.SPECIALS})


if __name__ == "__main__":
    main()
