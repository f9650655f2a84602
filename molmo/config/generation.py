"""``GenerationConfig``: how new tokens are picked and when a row stops (pure pydantic, no torch).

Used by ``molmo.generate.generate``, ``Molmo.generate`` and the predict/eval commands.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from molmo.config.base import StrictModel


class GenerationConfig(StrictModel):
    """How to pick new tokens and when to stop."""

    max_new_tokens: int = Field(64, ge=1, description="Maximum number of tokens generated per row.")
    temperature: float = Field(0.0, ge=0.0, description="Sampling temperature; 0 = greedy (argmax).")
    top_k: int = Field(0, ge=0, description="Sample only from the k most likely tokens; 0 = off.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass; 1.0 = off.")
    num_beams: int = Field(1, ge=1, description="Beam search width; 1 = no beam search.")
    length_penalty: float = Field(
        1.0, description="Beam hypotheses are ranked by sum(logprob) / length**length_penalty."
    )
    seed: int | None = Field(None, description="Seed of the sampling generator (None = random).")
    stop_token_ids: list[int] | None = Field(
        None,
        description=(
            "Token ids that end a row (EOS); the id is kept in token_ids. None = the model's default "
            "(Molmo.generate: the tokenizer's EOS when known; plain generate: none); [] = never stop on a token."
        ),
    )
    stop_strings: list[str] = Field(
        default_factory=list, description="Strings that end a row once they appear in its decoded text."
    )

    @model_validator(mode="after")
    def _check(self) -> GenerationConfig:
        if self.num_beams > 1 and self.temperature > 0:
            raise ValueError("beam search is deterministic: use temperature=0 with num_beams > 1")
        return self
