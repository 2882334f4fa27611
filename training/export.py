"""Write a trained model as a Hugging Face LLaDA-layout folder (BF16 safetensors shards).

Used by train.py at the end of training; can also re-export a folder:
    python training/export.py --src models/focus-qa-small --dst /tmp/copy
"""

import argparse
import json
import math
import os
import shutil

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SHARD_LIMIT = 14_000_000  # bytes per shard (< 15 MB)
SPECIALS = ["<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>", "<|eot_id|>",
            "<|start_header_id|>", "<|end_header_id|>"]

CHAT_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}"
                 "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
                 "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
                 "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                 "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}")


def tokenizer_config(tok_json):
    added = {str(t["id"]): {"content": t["content"], "lstrip": False, "normalized": False,
                            "rstrip": False, "single_word": False, "special": True}
             for t in tok_json["added_tokens"]}
    return {"add_bos_token": False, "add_eos_token": False, "added_tokens_decoder": added,
            "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>", "mask_token": "<|mdm_mask|>",
            "additional_special_tokens": ["<|eot_id|>", "<|start_header_id|>",
                                          "<|end_header_id|>"],
            "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 40960,
            "tokenizer_class": "PreTrainedTokenizerFast"}


def hf_state_dict(model):
    """model.transformer.* names, BF16, contiguous."""
    return {"model." + k: v.detach().to(torch.bfloat16).contiguous().cpu()
            for k, v in model.state_dict().items()}


def save_shards(sd, out_dir):
    total = sum(v.numel() * v.element_size() for v in sd.values())
    n = max(2, math.ceil(total / SHARD_LIMIT))
    per = total / n
    shards, cur, size = [], {}, 0
    for k in sd:  # insertion order: embeddings, blocks, final norm, head
        b = sd[k].numel() * sd[k].element_size()
        if cur and size + b > per * 1.02 and len(shards) < n - 1:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = sd[k]
        size += b
    shards.append(cur)
    n = len(shards)
    weight_map = {}
    for i, sh in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
        save_file(sh, os.path.join(out_dir, name), metadata={"format": "pt"})
        assert os.path.getsize(os.path.join(out_dir, name)) < 15_000_000
        for k in sh:
            weight_map[k] = name
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def export_model(model, cfg, out_dir, tokenizer_path):
    os.makedirs(out_dir, exist_ok=True)
    save_shards(hf_state_dict(model), out_dir)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"],
                   "pad_token_id": cfg["pad_token_id"], "mask_token_id": cfg["mask_token_id"],
                   "gen_length": 16, "block_length": 8, "steps": 16,
                   "remasking": "low_confidence", "temperature": 0.0}, f, indent=2)
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.json"))
    with open(tokenizer_path) as f:
        tj = json.load(f)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(tj), f, indent=2)


def load_weights(folder, device="cpu"):
    """State dict for LLaDAModel (names without the leading 'model.'), float32."""
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        idx = json.load(f)
    sd = {}
    for name in sorted(set(idx["weight_map"].values())):
        for k, v in load_file(os.path.join(folder, name)).items():
            sd[k[len("model."):]] = v.float().to(device)
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    args = ap.parse_args()
    import sys
    sys.path.insert(0, HERE)
    from model import LLaDAModel
    with open(os.path.join(args.src, "config.json")) as f:
        cfg = json.load(f)
    m = LLaDAModel(cfg)
    m.load_state_dict(load_weights(args.src))
    export_model(m, cfg, args.dst, os.path.join(args.src, "tokenizer.json"))


if __name__ == "__main__":
    main()
