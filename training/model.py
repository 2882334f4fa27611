"""A LLaDA-layout masked diffusion transformer (same weight names and math as LLaDA-8B).

prompt_attention:
  "block_causal"  rows of the document segment attend only to document keys; question and
                  answer rows attend to every key.
  "bidirectional" every row attends to every key (LLaDA's pattern).

Weights start from PyTorch's own initialisation (embeddings N(0, 1), linear layers
Kaiming-uniform): a run alike in all else with every weight from N(0, 0.02) learned to
retrieve about twice as slowly (training/README.md).

Two forwards: `forward` for one padded batch (decoding, evaluation) and `forward_packed` for
training rows that pack many examples back to back, attended through FlexAttention with a
block mask built from each token's example and segment (`packed_mask`): no mask is
materialised and blocks that no row may see are skipped.
"""

import json

import torch
import torch.nn as nn
import torch.nn.functional as F

_flex = None


def flex_attention(q, k, v, block_mask):
    """FlexAttention, compiled once for the fixed packed length."""
    global _flex
    if _flex is None:
        from torch.nn.attention.flex_attention import flex_attention as fa
        _flex = torch.compile(fa, dynamic=False)
    return _flex(q, k, v, block_mask=block_mask)


def packed_mask(ex, seg, block_causal):
    """Block mask of a packed row: a token sees the tokens of its own example; under the
    block-causal pattern a document token (segment 0) sees only document tokens and a question
    or canvas token sees the document and its own question segment."""
    from torch.nn.attention.flex_attention import create_block_mask
    T = ex.shape[0]
    if block_causal:
        def mask_mod(b, h, q, k):
            return (ex[q] == ex[k]) & ((seg[k] == 0) | (seg[k] == seg[q]))
    else:
        def mask_mod(b, h, q, k):
            return ex[q] == ex[k]
    return create_block_mask(mask_mod, None, None, T, T, device=ex.device, _compile=True)


def rms_norm(x, weight, eps):
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (xf * weight.float()).to(x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def rope_tables(n, hd, theta, device):
    inv = theta ** (-torch.arange(0, hd, 2, device=device, dtype=torch.float64) / hd)
    ang = torch.arange(n, device=device, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def apply_rope(x, cos, sin):
    xf = x.float()
    x1, x2 = xf.chunk(2, dim=-1)
    rot = torch.cat([-x2, x1], dim=-1)
    return (xf * cos + rot * sin).to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, m = cfg["d_model"], cfg["mlp_hidden_size"]
        self.n_heads = cfg["n_heads"]
        self.attn_norm = RMSNorm(d, cfg["rms_norm_eps"])
        self.ff_norm = RMSNorm(d, cfg["rms_norm_eps"])
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.ff_out = nn.Linear(m, d, bias=False)

    def attention(self, h, cos, sin, n_doc, mask, block_mask=None):
        B, L, d = h.shape
        H = self.n_heads
        hd = d // H
        q = self.q_proj(h).view(B, L, H, hd).transpose(1, 2)
        k = self.k_proj(h).view(B, L, H, hd).transpose(1, 2)
        v = self.v_proj(h).view(B, L, H, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if block_mask is not None:
            o = flex_attention(q, k, v, block_mask)
        elif mask is not None:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        elif n_doc is not None and 0 < n_doc < L:
            od = F.scaled_dot_product_attention(q[:, :, :n_doc], k[:, :, :n_doc], v[:, :, :n_doc])
            orest = F.scaled_dot_product_attention(q[:, :, n_doc:], k, v)
            o = torch.cat([od, orest], dim=2)
        else:
            o = F.scaled_dot_product_attention(q, k, v)
        return self.attn_out(o.transpose(1, 2).reshape(B, L, d))

    def forward(self, x, cos, sin, n_doc, mask, block_mask=None):
        x = x + self.attention(self.attn_norm(x), cos, sin, n_doc, mask, block_mask)
        m = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(m)) * self.up_proj(m))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["embedding_size"], cfg["d_model"])
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layers"])])
        self.ln_f = RMSNorm(cfg["d_model"], cfg["rms_norm_eps"])
        self.ff_out = nn.Linear(cfg["d_model"], cfg["embedding_size"], bias=False)


class LLaDAModel(nn.Module):
    """Weights are named model.transformer.* exactly as in LLaDA checkpoints."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.block_causal = cfg.get("prompt_attention", "bidirectional") == "block_causal"
        self._rope = None

    def rope(self, L, device):
        if self._rope is None or self._rope[0].shape[0] < L or self._rope[0].device != device:
            hd = self.cfg["d_model"] // self.cfg["n_heads"]
            n = max(L, 4096)
            self._rope = rope_tables(n, hd, self.cfg["rope_theta"], device)
        cos, sin = self._rope
        return cos[:L], sin[:L]

    def forward(self, ids, n_doc=None, mask=None):
        """ids [B, L]. n_doc: document segment length shared by the batch (block-causal,
        no padding). mask: optional boolean [B, 1, L, L] (True = may attend) for padded
        batches; it must already encode the prompt attention pattern."""
        t = self.transformer
        x = t.wte(ids)
        cos, sin = self.rope(ids.shape[1], ids.device)
        if not self.block_causal:
            n_doc = None
        for b in t.blocks:
            x = b(x, cos, sin, n_doc, mask)
        return t.ff_out(t.ln_f(x))

    def forward_packed(self, ids, pos, block_mask, rows):
        """ids, pos [T]: one packed row and each token's position; block_mask from
        `packed_mask`; rows [N]: the token indices whose logits are wanted. Returns [N, vocab]."""
        t = self.transformer
        x = t.wte(ids)[None]
        cos, sin = self.rope(int(pos.max().item()) + 1, ids.device)
        cos, sin = cos[pos], sin[pos]
        for b in t.blocks:
            x = b(x, cos, sin, None, None, block_mask)
        return t.ff_out(t.ln_f(x[0, rows]))


def build_mask(lengths, n_docs, L, block_causal, device):
    """Boolean [B,1,L,L] mask for right-padded batches."""
    lengths = torch.as_tensor(lengths, device=device)
    n_docs = torch.as_tensor(n_docs, device=device)
    j = torch.arange(L, device=device)
    valid_k = j[None, :] < lengths[:, None]                      # [B, L]
    m = valid_k[:, None, :].expand(-1, L, -1).clone()             # [B, Lq, Lk]
    if block_causal:
        i = j
        q_in_doc = i[None, :] < n_docs[:, None]                   # [B, Lq]
        k_in_doc = j[None, :] < n_docs[:, None]                   # [B, Lk]
        m &= ~(q_in_doc[:, :, None] & ~k_in_doc[:, None, :])
    return m[:, None]


def load_config(path):
    with open(path) as f:
        return json.load(f)
