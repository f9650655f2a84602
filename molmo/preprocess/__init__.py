"""Molmo preprocessing: (images + messages) -> Batch tensors, shared by train, eval and predict.

Modules: ``image_io`` (safe loading), ``tiling`` (tiling choice, resize, patchify), ``layout``
(image-token layout and ``image_input_idx``), ``crops`` (pixels of the crops), ``tokenizer`` /
``bpe`` (tokenizer with Molmo special tokens; offline BPE training), ``prompts`` (message
format, styles, templates), ``points`` (point / count text), ``sequence`` (token sequences,
packing), ``batch`` / ``collate`` (the Batch), ``preprocessor`` (the ``Preprocessor`` facade).
"""

from molmo.preprocess.batch import Batch
from molmo.preprocess.bpe import save_bpe, train_bpe
from molmo.preprocess.collate import collate
from molmo.preprocess.image_io import image_to_array, load_image, to_rgb
from molmo.preprocess.layout import ImageLayout, image_layout
from molmo.preprocess.points import (
    ParsedPoints,
    Point,
    format_count_answer,
    format_points,
    parse_count,
    parse_points,
)
from molmo.preprocess.preprocessor import Preprocessor, TokenCount
from molmo.preprocess.prompts import format_messages
from molmo.preprocess.tokenizer import IMAGE_TOKENS, MolmoTokenizer

__all__ = [
    "IMAGE_TOKENS",
    "Batch",
    "ImageLayout",
    "MolmoTokenizer",
    "ParsedPoints",
    "Point",
    "Preprocessor",
    "TokenCount",
    "collate",
    "format_count_answer",
    "format_messages",
    "format_points",
    "image_layout",
    "image_to_array",
    "load_image",
    "parse_count",
    "parse_points",
    "save_bpe",
    "to_rgb",
    "train_bpe",
]
