"""The moment-retrieval model: DETR-style, with (center, width) anchor queries (DAB-DETR).

    video clips ─┐ project ──► text-to-video fusion ──► encoder ──► memory ──► saliency head
    query words ─┘ project ───────────┘                                │
    anchors (center, width) ──► decoder layer × N (each refines the anchors) ──► class + span

Each clip's features get its time (start and end as fractions of the video) appended before
projection. Attention is `F.scaled_dot_product_attention`; masks are True where a token is real.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from amr.train.config import ModelConfig
from amr.train.dropout import Dropout, dropout, uses_fast_masks
from amr.train.outputs import ModelOutputs, QuerySet


class Attention(nn.Module):
    """Multi-head attention on scaled_dot_product_attention. The mask is True where a query
    may attend to a key: (B, S) for padding, or (B or 1, L, S) per query. With fast dropout
    (dropout.py) on the CPU, training attends in plain ops, so that the weights' dropout draws
    fast masks (scaled_dot_product_attention would draw torch's)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.fast_dropout = False
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        return x.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        q, k, v = (
            self._split(self.query(query)),
            self._split(self.key(key)),
            self._split(self.value(value)),
        )
        # One mask for every head: (B, 1, 1, S) for padding, (B, 1, L, S) per query.
        mask = mask[:, None, None, :] if mask.dim() == 2 else mask[:, None]
        if self.training and self.dropout and uses_fast_masks(q, self.fast_dropout):
            scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
            weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            out = dropout(weights, self.dropout, True, True) @ v
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
            )
        batch, _, length, _ = out.shape
        return self.out(out.transpose(1, 2).reshape(batch, length, -1))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__(
            nn.Linear(dim, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, dim)
        )


class Block(nn.Module):
    """Attention then feed-forward, each with a residual and a post-norm (as DETR)."""

    def __init__(self, config: ModelConfig, self_attention: bool = True):
        super().__init__()
        dim = config.hidden
        self.self_attention = (
            Attention(dim, config.heads, config.dropout) if self_attention else None
        )
        self.norm_self = nn.LayerNorm(dim) if self_attention else None
        self.cross_attention = Attention(dim, config.heads, config.dropout)
        self.norm_cross = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, config.ffn, config.dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.drop = Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        x_pos: torch.Tensor,
        x_mask: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        memory_mask: torch.Tensor,
    ) -> torch.Tensor:
        if self.self_attention is not None and self.norm_self is not None:
            h = x + x_pos
            x = self.norm_self(x + self.drop(self.self_attention(h, h, x, x_mask)))
        attended = self.cross_attention(x + x_pos, memory + memory_pos, memory, memory_mask)
        x = self.norm_cross(x + self.drop(attended))
        return self._feed_forward(x)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm_ffn(x + self.drop(self.ffn(x)))


class DecoderBlock(Block):
    """A decoder layer. With Active Queries (stage 2) the queries after the first
    `num_queries` go through their own feed-forward network; attention is shared."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.split = config.num_queries
        if config.active_queries:
            self.active_ffn = FeedForward(config.hidden, config.ffn, config.dropout)
            self.active_norm = nn.LayerNorm(config.hidden)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.split:
            return super()._feed_forward(x)
        original, active = x[:, : self.split], x[:, self.split :]
        active = self.active_norm(active + self.drop(self.active_ffn(active)))
        return torch.cat([super()._feed_forward(original), active], dim=1)


class EncoderLayer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        dim = config.hidden
        self.attention = Attention(dim, config.heads, config.dropout)
        self.norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, config.ffn, config.dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.drop = Dropout(config.dropout)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = x + pos
        x = self.norm(x + self.drop(self.attention(h, h, x, mask)))
        return self.norm_ffn(x + self.drop(self.ffn(x)))


def sine_embedding(position: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """(..., dim) sinusoidal features of positions in [0, 1] (scaled by 2π)."""
    scale = torch.arange(dim // 2, dtype=torch.float32, device=position.device)
    freq = temperature ** (2 * scale / dim)
    angle = position[..., None].float() * 2 * math.pi / freq
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


def _projection(in_dim: int, out_dim: int, input_dropout: float, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(in_dim),
        Dropout(input_dropout),
        nn.Linear(in_dim, out_dim),
        nn.ReLU(),
        nn.LayerNorm(out_dim),
        Dropout(dropout),
        nn.Linear(out_dim, out_dim),
    )


def _mlp(in_dim: int, hidden: int, out_dim: int, layers: int) -> nn.Sequential:
    parts: list[nn.Module] = []
    for i in range(layers):
        parts.append(
            nn.Linear(in_dim if i == 0 else hidden, out_dim if i == layers - 1 else hidden)
        )
        if i < layers - 1:
            parts.append(nn.ReLU())
    return nn.Sequential(*parts)


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))


class MomentDETR(nn.Module):
    """Predicts, for every query set slot, a foreground logit and a (center, width) span in
    [0, 1] of the video, plus a saliency score per clip."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        dim = config.hidden
        self.video_proj = _projection(
            config.video_dim + 2, dim, config.input_dropout, config.dropout
        )
        self.text_proj = _projection(config.text_dim, dim, config.input_dropout, config.dropout)
        self.fusion = Block(config, self_attention=False)
        self.encoder = nn.ModuleList(EncoderLayer(config) for _ in range(config.encoder_layers))
        self.saliency_head = nn.Linear(dim, 1)
        self.query_content = nn.Embedding(config.num_queries, dim)
        # Anchors start spread over the video, of a quarter of its length (before refinement).
        centers = (torch.arange(config.num_queries) + 0.5) / config.num_queries
        anchors = torch.stack([centers, torch.full_like(centers, 0.25)], dim=-1)
        self.anchors = nn.Parameter(inverse_sigmoid(anchors))
        self.anchor_pos = _mlp(dim, dim, dim, 2)  # sine(center, width) → query position
        self.decoder = nn.ModuleList(DecoderBlock(config) for _ in range(config.decoder_layers))
        if config.active_queries:  # stage 2: a second query set with its own anchors
            self.active_content = nn.Embedding(config.active_queries, dim)
            centers = (torch.arange(config.active_queries) + 0.5) / config.active_queries
            active = torch.stack([centers, torch.full_like(centers, 0.25)], dim=-1)
            self.active_anchors = nn.Parameter(inverse_sigmoid(active))
        self.span_heads = nn.ModuleList(_mlp(dim, dim, 2, 3) for _ in range(config.decoder_layers))
        self.class_head = nn.Linear(dim, 1)
        # The predicted IoU of each query's span with the moment (the reference's IoU head).
        self.iou_head = nn.Linear(dim, 1) if config.iou_head else None
        for head in self.span_heads:  # start from "no correction" of the anchors
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)

    def forward(
        self,
        video: torch.Tensor,
        video_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
    ) -> ModelOutputs:
        """video (B, L, video_dim), video_mask (B, L) bool; text (B, T, text_dim), text_mask.

        Returns each query set's foreground logits and (center, width) spans on every decoder
        layer, and the saliency (B, L) (padding at -inf).
        """
        batch, length, _ = video.shape
        lengths = video_mask.sum(dim=1, keepdim=True).clamp(min=1)
        index = torch.arange(length, device=video.device)[None, :]
        times = torch.stack([index / lengths, (index + 1) / lengths], dim=-1).to(video.dtype)
        v = self.video_proj(torch.cat([video, times], dim=-1))
        t = self.text_proj(text)
        projected_video = v
        clip_pos = sine_embedding(index.expand(batch, -1) / lengths, self.config.hidden).to(v.dtype)
        no_pos = torch.zeros_like(t)
        v = self.fusion(v, clip_pos, video_mask, t, no_pos, text_mask)
        for layer in self.encoder:
            v = layer(v, clip_pos, video_mask)
        saliency = self.saliency_head(v).squeeze(-1).masked_fill(~video_mask, float("-inf"))

        query, anchor, query_mask = self._queries(batch, video.device)
        layers: list[list[QuerySet]] = []
        for layer, span_head in zip(self.decoder, self.span_heads, strict=True):
            position = self.anchor_pos(
                torch.cat(
                    [
                        sine_embedding(anchor[..., 0], self.config.hidden // 2),
                        sine_embedding(anchor[..., 1], self.config.hidden // 2),
                    ],
                    dim=-1,
                ).to(v.dtype)
            )
            query = layer(query, position, query_mask, v, clip_pos, video_mask)
            spans = (inverse_sigmoid(anchor) + span_head(query)).sigmoid()
            iou = None if self.iou_head is None else self.iou_head(query).squeeze(-1)
            logits = self.class_head(query).squeeze(-1)
            layers.append(self._query_sets(logits, spans, query, iou))
            anchor = spans.detach()
        text_pooled = (t * text_mask[..., None]).sum(1) / text_mask.sum(1, keepdim=True).clamp(
            min=1
        )
        *earlier, last = layers
        for i, query_set in enumerate(last):
            query_set.aux = [sets[i] for sets in earlier]
        return ModelOutputs(last, saliency, v, text_pooled, projected_video, t)

    def _queries(
        self, batch: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query contents, anchors and the self-attention mask. With Active Queries each set
        attends only to itself, so the original set computes exactly what it would alone."""
        content, anchors = self.query_content.weight, self.anchors
        n = self.config.num_queries
        mask = torch.ones(batch, n, dtype=torch.bool, device=device)
        if self.config.active_queries:
            content = torch.cat([content, self.active_content.weight])
            anchors = torch.cat([anchors, self.active_anchors])
            total = n + self.config.active_queries
            group = torch.arange(total, device=device) >= n
            mask = (group[:, None] == group[None, :])[None]  # (1, Q + A, Q + A)
        query = content[None].expand(batch, -1, -1)
        return query, anchors.sigmoid()[None].expand(batch, -1, -1), mask

    def _query_sets(
        self,
        logits: torch.Tensor,
        spans: torch.Tensor,
        hidden: torch.Tensor,
        iou: torch.Tensor | None,
    ) -> list[QuerySet]:
        """One layer's outputs cut into its query sets: the original queries, then the Active
        Queries when there are any."""
        n = self.config.num_queries
        cuts = [("original", slice(0, n))]
        if self.config.active_queries:
            cuts.append(("active", slice(n, None)))
        return [
            QuerySet(
                name,
                logits[:, part],
                spans[:, part],
                hidden[:, part],
                None if iou is None else iou[:, part],
            )
            for name, part in cuts
        ]
