"""Data: the shard sample schema, shard writing, source-format readers, ``pack``, the tiny-shapes
generator, inspect/verify/stats, mixtures and the resumable training loader.

Modules (import what you need; ``molmo.data.loader`` pulls in torch and webdataset):

- ``sample``   schema (``Record``, ``DecodedSample``), validation, encode/decode of tar fields
- ``manifest`` ``manifest.json`` (shards, counts, sha256, failures); ``writer`` rolling tar shards
- ``shards``   resolve paths / brace patterns / fsspec URLs; tar index for random access
- ``formats``  llava, jsonl, vqa2, docvqa, chartqa, parquet, folder readers; ``pack`` converts them
- ``synth``    the tiny-shapes world; ``masks`` RLE masks for eval refs
- ``inspect``, ``verify``, ``stats``  tools behind ``molmo data …``
- ``mixture``  rates (explicit or sqrt-size) + deterministic schedule; ``loader`` ``ShardLoader``,
  ``iter_samples``
"""

from molmo.data.sample import IMAGE_TOKEN, DecodedSample, Record, SampleError

__all__ = ["IMAGE_TOKEN", "DecodedSample", "Record", "SampleError"]
