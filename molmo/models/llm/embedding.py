"""Token embedding with an extra table for new (image) tokens: Molmo's ``wte``.

``embedding`` (embedding_size, d) holds the base vocabulary (from the pretrained LLM);
``new_embedding`` (additional_vocab_size, d) holds tokens added on top (image special tokens).
Look-up behaves like one concatenated table: id ``i < embedding_size`` reads ``embedding[i]``,
larger ids read ``new_embedding[i - embedding_size]``. Negative ids (padding, -1) read row 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ExtendedEmbedding(nn.Module):
    """ids (B, T) int64 -> (B, T, d) embeddings, from two parameter tables."""

    def __init__(self, num_embeddings: int, num_new_embeddings: int, d_model: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(num_embeddings, d_model))
        self.new_embedding = nn.Parameter(torch.empty(num_new_embeddings, d_model))

    def forward(self, input_ids: torch.Tensor | None = None, *, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """Look up ``input_ids``; or, with ``hidden (B, T, d)``, the tied-head logits ``hidden @ embedding.T``.

        Both go through ``__call__`` so ZeRO-3 gathers the tables (never touch them from outside).
        """
        if hidden is not None:
            return F.linear(hidden, self.embedding)  # (B, T, embedding_size)
        ids = input_ids.clamp(min=0)
        if self.new_embedding.shape[0] == 0:
            return F.embedding(ids, self.embedding)
        n_base = self.embedding.shape[0]
        is_new = ids >= n_base
        base = F.embedding(torch.where(is_new, 0, ids), self.embedding)
        new = F.embedding(torch.where(is_new, ids - n_base, 0), self.new_embedding)
        return torch.where(is_new[..., None], new, base)

    def reset_parameters(self, std: float = 0.02) -> None:
        nn.init.normal_(self.embedding, std=std)
        nn.init.normal_(self.new_embedding, std=std)

    def extra_repr(self) -> str:
        rows, d = getattr(self.embedding, "ds_shape", self.embedding.shape)  # ZeRO-3 keeps the full shape here
        new_rows = getattr(self.new_embedding, "ds_shape", self.new_embedding.shape)[0]
        return f"{rows} + {new_rows} new, d={d}"
