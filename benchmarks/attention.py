"""Attention kernels at the tiny-shapes demo model's training shapes, forward + backward.

Compares torch SDPA in bf16 (what autocast gives the model) against SDPA in fp32, SDPA's MATH
backend and a plain matmul-softmax, on the ViT shape (16 crops x 4 heads x 257 tokens x 32) and the
decoder shape (16 x 4 x 383 x 64 with a boolean mask), and prints each time and its ratio to bf16
SDPA. On the 2-core CPU, three runs at these shapes gave fp32 SDPA 0.57-0.73x of bf16's time on the
ViT shape but 0.92-1.07x on the decoder shape, where most of the attention time goes. Running the
model's attention in fp32 left the whole train step unchanged (1.628 vs 1.624 s/step), so the model
keeps plain SDPA under autocast.

    python benchmarks/attention.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from molmo.nn.masks import causal_mask


def manual(q, k, v, mask):
    s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s.float(), -1).to(q.dtype) @ v


def sdpa(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def time_ms(fn, shape, dtype, mask, repeats: int, math_backend: bool = False) -> float:
    q, k, v = (torch.randn(shape, dtype=dtype, requires_grad=True) for _ in range(3))
    ctx = sdpa_kernel(SDPBackend.MATH) if math_backend else contextlib.nullcontext()
    with ctx:
        for _ in range(2):
            fn(q, k, v, mask).sum().backward()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn(q, k, v, mask).sum().backward()
    return (time.perf_counter() - t0) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.manual_seed(0)
    t = 383
    causal = causal_mask(t, t)[None, None].expand(16, 1, t, t)
    cases = {"vit": ((16, 4, 257, 32), None), "decoder": ((16, 4, t, 64), causal)}
    print("shape\tvariant\tms\tratio_vs_bf16_sdpa")
    for name, (shape, mask) in cases.items():
        ref = time_ms(sdpa, shape, torch.bfloat16, mask, args.repeats)
        rows = {
            "sdpa_bf16": ref,
            "sdpa_fp32": time_ms(sdpa, shape, torch.float32, mask, args.repeats),
            "sdpa_math_bf16": time_ms(sdpa, shape, torch.bfloat16, mask, args.repeats, math_backend=True),
            "manual_bf16": time_ms(manual, shape, torch.bfloat16, mask, args.repeats),
        }
        for variant, ms in rows.items():
            print(f"{name}\t{variant}\t{ms:.1f}\t{ms / ref:.2f}")


if __name__ == "__main__":
    main()
