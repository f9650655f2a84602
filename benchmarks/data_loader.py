"""Data loader throughput: samples/s of ``ShardLoader`` per worker count, against references
measured in the same run on the same shards.

References (single process):
- ``tarfile raw``      stream every shard with :mod:`tarfile`, read the bytes (the I/O ceiling);
- ``tarfile+decode``   the same plus json parse and PIL decode to RGB (what a minimal hand loop does);
- ``webdataset``       ``molmo.data.loader.iter_samples`` (WebDataset tar expansion + our decode).

Ours: ``ShardLoader`` (seeded schedule, random access by tar index, exact resume; shuffling off so
all rows see the same samples in the same order) with 0/1/2 DataLoader workers, decoded; then the same with the ``molmo.preprocess``
Preprocessor as the worker transform (multi-crop tiling + tokenisation) when it imports.

Usage::

    .venv/bin/python benchmarks/data_loader.py                  # 1000 synthetic tiny-shapes samples
    .venv/bin/python benchmarks/data_loader.py --data DIR --n 2000 --workers 0 1 2 4

Ratios are against ``tarfile+decode`` (1.00 = as fast as the minimal decode loop in one process).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from molmo.config.data import DataConfig
from molmo.data.loader import ShardLoader, iter_samples
from molmo.data.shards import resolve_shards
from molmo.data.synth import synth_shapes


def timed(items: Iterable[Any], n: int) -> float:
    """Samples/s to pull ``n`` items (fewer if the iterable ends)."""
    start = time.perf_counter()
    count = sum(1 for _ in islice(items, n))
    return count / (time.perf_counter() - start)


def tar_raw(urls: list[str]) -> Iterable[int]:
    for url in urls:
        with tarfile.open(url, mode="r|") as tf:
            for info in tf:
                if info.isreg():
                    data = tf.extractfile(info).read()  # type: ignore[union-attr]
                    if info.name.endswith(".json"):
                        yield len(data)


def tar_decode(urls: list[str]) -> Iterable[Any]:
    for url in urls:
        with tarfile.open(url, mode="r|") as tf:
            obj: Any = None
            for info in tf:
                if not info.isreg():
                    continue
                data = tf.extractfile(info).read()  # type: ignore[union-attr]
                if info.name.endswith(".json"):
                    obj = json.loads(data)
                else:
                    yield obj, Image.open(io.BytesIO(data)).convert("RGB")


class PreprocessTransform:
    """Worker-side transform: DecodedSample -> Molmo example arrays (picklable)."""

    def __init__(self) -> None:
        from molmo.config.preprocess import PreprocessConfig
        from molmo.preprocess import MolmoTokenizer, Preprocessor, train_bpe

        texts = [
            "What color is the square? red circle triangle diamond Counting shows a total of points"
        ] * 50
        self.pre = Preprocessor(PreprocessConfig(), MolmoTokenizer(train_bpe(texts, vocab_size=400)), seed=0)

    def __call__(self, sample: Any) -> Any:
        return self.pre(sample.images, sample.messages, sample.style, rng=sample.position)


def preprocess_transform() -> Callable[[Any], Any] | None:
    try:
        return PreprocessTransform()
    except ImportError as e:
        print(f"# molmo.preprocess unavailable ({e}); skipping the preprocessed rows")
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="Shard directory (default: synthesise tiny-shapes shards in a temp dir).")
    ap.add_argument("--n", type=int, default=1000, help="Samples per measurement.")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-preprocess", action="store_true", help="Skip the preprocessed rows.")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = str(Path(tmp) / "shapes")
            t = time.perf_counter()
            synth_shapes(data, args.n, seed=0, split="train", shard_samples=250)
            print(
                f"# synthesised {args.n} tiny-shapes samples in {time.perf_counter() - t:.1f}s "
                f"({args.n / (time.perf_counter() - t):.0f} samples/s)"
            )
        urls = [r.url for r in resolve_shards(data)]
        # No shuffling, so every row processes the same samples in the same (shard) order.
        cfg = DataConfig(
            sources=[{"name": "bench", "paths": [data]}],
            seed=0,
            shuffle_buffer=0,
            shuffle_shards=False,
            epochs=1,
        )
        rows: list[tuple[str, float]] = [
            ("tarfile raw (reference, bytes only)", timed(tar_raw(urls), args.n)),
            ("tarfile+decode (reference)", timed(tar_decode(urls), args.n)),
            ("webdataset iter_samples (decode)", timed(iter_samples(data), args.n)),
        ]
        for w in args.workers:
            rows.append((f"ShardLoader decode, workers={w}", timed(ShardLoader(cfg, workers=w), args.n)))
        transform = None if args.no_preprocess else preprocess_transform()
        if transform is not None:
            for o, im in islice(tar_decode(urls), 3):  # warm-up (first-call allocations)
                transform(_as_sample(o, im))
            n_pre = max(50, args.n // 4)
            pre_ref = (transform(_as_sample(o, im)) for o, im in tar_decode(urls))
            rows.append(("tarfile+decode+preprocess (reference)", timed(pre_ref, n_pre)))
            for w in args.workers:
                loader = ShardLoader(cfg, workers=w, transform=transform)
                rows.append((f"ShardLoader decode+preprocess, workers={w}", timed(loader, n_pre)))

    ref = dict(rows)["tarfile+decode (reference)"]
    ref_pre = dict(rows).get("tarfile+decode+preprocess (reference)")
    print(f"{'measurement':48s} {'samples/s':>10s} {'ratio':>7s}")
    for name, rate in rows:
        base = ref_pre if "preprocess" in name and ref_pre else ref
        print(f"{name:48s} {rate:10.1f} {rate / base:7.2f}")
    print(
        "# ratio: vs the single-process tarfile+decode loop (preprocess rows: vs tarfile+decode+preprocess)"
    )


def _as_sample(obj: dict[str, Any], image: Image.Image) -> Any:
    from molmo.data.sample import DecodedSample

    return DecodedSample(key="", json=obj, images=[image], position=0)


if __name__ == "__main__":
    main()
