"""Decoder-only language models (the ``transformer`` of Molmo)."""

from molmo.models.llm.block import BLOCKS, DecoderBlock, NormAfterBlock, PreNormBlock, build_block
from molmo.models.llm.embedding import ExtendedEmbedding
from molmo.models.llm.model import DecoderLM, LLMOutput, llm_num_parameters

__all__ = [
    "BLOCKS",
    "DecoderBlock",
    "DecoderLM",
    "ExtendedEmbedding",
    "LLMOutput",
    "NormAfterBlock",
    "PreNormBlock",
    "build_block",
    "llm_num_parameters",
]
