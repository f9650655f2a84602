"""One Vision Transformer for the CLIP / MetaCLIP / SigLIP / DINOv2 family (molmo-facts §1.2).

Input is a batch of crops already cut into flattened patches::

    patches (N, P, patch_dim)   P = grid_h * grid_w, patch_dim = p * p * 3 in (dh, dw, c) order

    x = patch_embedding(patches)                  (N, P, D)    Linear; bias for SigLIP/DINOv2
    x = [class_embedding; x] + positional_emb     (N, T, D)    T = P (+1 with a CLS token)
    x = pre_ln(x)                                               CLIP only
    for each block:                                             pre-LN residual blocks
        x = x + ls1 * attention(attention_norm(x))              ls = LayerScale (DINOv2) or 1
        x = x + ls2 * feed_forward(ffn_norm(x))                 w2(act(w1 x))

``forward_features`` concatenates the outputs of ``config.feature_layers`` on channels, drops
the CLS position and zeroes crops whose pixels are all -1 (batch padding). Module and parameter
names mirror Molmo's checkpoint keys (``transformer.resblocks.N.attention.wq`` …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from molmo.config.vision import VisionConfig
from molmo.errors import MolmoError
from molmo.models.vision.attention import MultiHeadAttention
from molmo.models.vision.pos_embed import grid_side, resize_pos_embed


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """CLIP's sigmoid approximation of GELU: ``x * sigmoid(1.702 x)``."""
    return x * torch.sigmoid(1.702 * x)


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation (SigLIP's ``gelu_pytorch_tanh``)."""
    return F.gelu(x, approximate="tanh")


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "quick_gelu": quick_gelu,
    "gelu": F.gelu,
    "gelu_tanh": gelu_tanh,
}


def patchify(pixels: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(N, C, H, W)`` normalised pixels -> ``(N, (H/p) * (W/p), p * p * C)`` in (dh, dw, c) order."""
    n, c, h, w = pixels.shape
    gh, gw = h // patch_size, w // patch_size
    x = pixels.reshape(n, c, gh, patch_size, gw, patch_size)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, gh * gw, patch_size * patch_size * c)


class ViTMLP(nn.Module):
    """``w2(act(w1 x))``: d_model -> mlp_dim -> d_model, with biases."""

    def __init__(self, d_model: int, mlp_dim: int, activation: str) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, mlp_dim)
        self.w2 = nn.Linear(mlp_dim, d_model)
        self.act = ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(self.act(self.w1(x)))


class ViTBlock(nn.Module):
    """Pre-LN residual block; optional LayerScale ``attention_scale`` / ``ffn_scale`` (D,)."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.attention = MultiHeadAttention(d, d, cfg.n_heads, cfg.head_dim, d, cfg.float32_attention)
        self.feed_forward = ViTMLP(d, cfg.mlp_dim, cfg.activation)
        self.attention_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.ffn_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        if cfg.layer_scale:
            self.attention_scale = nn.Parameter(torch.full((d,), cfg.layer_scale_init))
            self.ffn_scale = nn.Parameter(torch.full((d,), cfg.layer_scale_init))
        else:
            self.register_parameter("attention_scale", None)
            self.register_parameter("ffn_scale", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, D) -> (N, T, D)``."""
        h = self.attention(self.attention_norm(x))
        x = x + (h if self.attention_scale is None else h * self.attention_scale)
        h = self.feed_forward(self.ffn_norm(x))
        return x + (h if self.ffn_scale is None else h * self.ffn_scale)


class ViTTransformer(nn.Module):
    """The stack of blocks, named ``resblocks`` as in the checkpoints."""

    def __init__(self, cfg: VisionConfig, n_blocks: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ViTBlock(cfg) for _ in range(n_blocks))


class VisionTransformer(nn.Module):
    """The ViT encoder; builds ``config.n_built_layers`` blocks (all, unless skip_unused_layers)."""

    def __init__(self, config: VisionConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.n_cls = int(config.cls_token)
        if config.cls_token:
            self.class_embedding = nn.Parameter(torch.empty(d))
        else:
            self.register_parameter("class_embedding", None)
        self.positional_embedding = nn.Parameter(torch.empty(config.n_positions, d))
        self.patch_embedding = nn.Linear(config.patch_dim, d, bias=config.patch_bias)
        self.pre_ln = nn.LayerNorm(d, eps=config.norm_eps) if config.pre_ln else None
        self.transformer = ViTTransformer(config, config.n_built_layers)
        self.activation_checkpointing = False  # set True to recompute blocks in backward
        self.reset_parameters()

    # ---- initialisation (only used when not loading pretrained weights) ----
    def reset_parameters(self, std: float = 0.02) -> None:
        """Linear weights and embeddings ~ N(0, std), biases 0, norms 1/0, LayerScale = init value."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.positional_embedding, std=std)
        if self.class_embedding is not None:
            nn.init.normal_(self.class_embedding, std=std)
        for block in self.transformer.resblocks:
            for scale in (block.attention_scale, block.ffn_scale):
                if scale is not None:
                    nn.init.constant_(scale, self.config.layer_scale_init)

    # ---- forward ----
    def _grid(self, n_patches: int, grid_hw: tuple[int, int] | None) -> tuple[int, int]:
        if grid_hw is None:
            side = grid_side(n_patches)
            return side, side
        if grid_hw[0] * grid_hw[1] != n_patches:
            raise MolmoError(f"patch grid {grid_hw} does not hold the {n_patches} patches per crop")
        return grid_hw

    def embed(self, patches: torch.Tensor, grid_hw: tuple[int, int] | None = None) -> torch.Tensor:
        """``(N, P, patch_dim)`` -> embeddings ``(N, T, D)`` (CLS first when used; after pre_ln)."""
        n, p, _ = patches.shape
        x = self.patch_embedding(patches.to(self.patch_embedding.weight.dtype))  # (N, P, D)
        if self.class_embedding is not None:
            cls = self.class_embedding.to(x.dtype).expand(n, 1, -1)
            x = torch.cat([cls, x], dim=1)  # (N, 1 + P, D)
        pos = resize_pos_embed(self.positional_embedding, self.n_cls, self._grid(p, grid_hw))
        x = x + pos.to(x.dtype)[None]
        return x if self.pre_ln is None else self.pre_ln(x)

    def _run_blocks(self, x: torch.Tensor, keep: set[int], stop: int) -> dict[int, torch.Tensor]:
        """Run blocks 0..stop; return the outputs of the blocks in ``keep`` by index."""
        kept = {}
        for i, block in enumerate(self.transformer.resblocks[: stop + 1]):
            if self.activation_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)  # recompute in backward
            else:
                x = block(x)
            if i in keep:
                kept[i] = x
        return kept

    def forward(
        self, patches: torch.Tensor, grid_hw: tuple[int, int] | None = None, *, features: bool = False,
        layers: Sequence[int] | None = None,
    ) -> list[torch.Tensor] | torch.Tensor:
        """Every built block's output, ``n_built_layers`` tensors of ``(N, T, D)`` (CLS included);
        with ``features=True`` the connector input of :meth:`forward_features` instead (callers that
        need features should use this form: going through ``__call__`` lets ZeRO-3 gather parameters).
        """
        if features:
            return self.forward_features(patches, layers, grid_hw)
        n_blocks = len(self.transformer.resblocks)
        kept = self._run_blocks(self.embed(patches, grid_hw), set(range(n_blocks)), n_blocks - 1)
        return [kept[i] for i in range(n_blocks)]

    def resolve_layers(self, layers: Sequence[int] | None = None) -> list[int]:
        """0-based block indices of ``layers`` (default ``config.feature_layers``); checks they exist."""
        layers = self.config.feature_layers if layers is None else layers
        built, total = len(self.transformer.resblocks), self.config.n_layers
        indices = []
        for layer in layers:
            if not -total <= layer < total:
                raise MolmoError(f"ViT feature layer {layer} is out of range for {total} blocks")
            index = layer % total
            if index >= built:
                raise MolmoError(
                    f"ViT feature layer {layer} (block {index}) was not built: skip_unused_layers kept {built}"
                )
            indices.append(index)
        return indices

    def forward_features(
        self,
        patches: torch.Tensor,
        layers: Sequence[int] | None = None,
        grid_hw: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Selected block outputs concatenated on channels, CLS dropped.

        ``patches (N, P, patch_dim)`` -> ``(N, P, D * len(layers))``; blocks past the deepest
        selected one are not run; crops whose values are all -1 give exactly zero features.
        """
        indices = self.resolve_layers(layers)
        kept = self._run_blocks(self.embed(patches, grid_hw), set(indices), max(indices))
        features = torch.cat([kept[i] for i in indices], dim=-1)[:, self.n_cls :]  # (N, P, D * L)
        is_padding = (patches == -1).flatten(1).all(dim=1)  # (N,)
        return features * (~is_padding).to(features.dtype)[:, None, None]
