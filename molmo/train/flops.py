"""FLOP accounting for the MFU estimate and a quick measurement of this device's matmul peak.

Training FLOPs per step ≈ 6·N_llm·T_llm (forward + backward of every LLM token) plus, for the
vision encoder, 6·N_vit·T_vit when the ViT trains, or 2·N_vit·T_vit (forward only) when it is
frozen. Attention-score FLOPs are ignored (small at Molmo's sequence lengths). MFU is achieved
FLOP/s divided by the peak (given in the recipe, or measured at start-up on a bf16/fp32 matmul).
"""

from __future__ import annotations

import time

import torch


def train_flops(llm_params: int, llm_tokens: int, vit_params: int, vit_patches: int, vit_trainable: bool) -> float:
    """Approximate training FLOPs for one optimiser step."""
    return 6.0 * llm_params * llm_tokens + (6.0 if vit_trainable else 2.0) * vit_params * vit_patches


def measure_peak_flops(device: torch.device, dtype: torch.dtype, size: int = 1024, seconds: float = 0.5) -> float:
    """Sustained FLOP/s of a square matmul on ``device`` in ``dtype`` (a practical peak)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.matmul(a, b)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 2.0 * size**3 * n / (time.perf_counter() - start)
