"""Checkpoint conversion: key maps between HF and native layouts."""

from molmo.convert.hf_llm import (
    HFToNative,
    KeyRule,
    NativeToHF,
    hf_config_dict,
    hf_family,
    hf_to_native_state_dict,
    llm_config_from_hf,
    llm_key_rules,
    native_to_hf_state_dict,
)

__all__ = [
    "HFToNative",
    "KeyRule",
    "NativeToHF",
    "hf_config_dict",
    "hf_family",
    "hf_to_native_state_dict",
    "llm_config_from_hf",
    "llm_key_rules",
    "native_to_hf_state_dict",
]
