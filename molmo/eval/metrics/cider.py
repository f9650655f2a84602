"""CIDEr-D as computed by coco-caption (formats-and-metrics.md §9.3).

Matches tylin/coco-caption ``pycocoevalcap/cider/cider_scorer.py`` + ``cider.py`` (same logic in
PyPI ``pycocoevalcap`` 1.2). CIDEr-D is a **corpus** metric: document frequencies come from the
references of the images being scored, so it must be computed once over the whole eval set (a
one-image corpus scores 0; scores change with the subset). Unlike the other metrics in this
package it is not bounded by 1: each image scores in [0, 10] (the ×10 factor); papers report
×100 of the corpus mean (1.12 → "112"), lmms-eval reports the raw value.

Computation, for N images each with one candidate and ≥ 1 references (whitespace tokens):

- n-gram counts for n = 1..4, raw term frequencies;
- df(g) = number of images whose reference set (union over its references) contains g;
- weight of g in a caption: tf(g) · (ln N − ln max(1, df(g)));
- per n: sim_n = Σ_g min(w_cand(g), w_ref(g)) · w_ref(g) / (‖w_cand‖ · ‖w_ref‖) — the clipped
  dot product, divided only when both norms are non-zero — times the length penalty
  exp(−δ² / (2σ²)), σ = 6, δ = len(cand) − len(ref) where "length" is the number of **bigrams**
  (the source accumulates it while visiting 2-grams: words − 1 for non-empty captions);
- image score = 10 · mean_n(Σ_refs sim_n) / #refs; corpus score = mean over images.

:func:`cider` runs the whole coco-caption pipeline on raw captions (PTB tokenisation + punctuation
filter, see ``ptb_tokenize.py``); :func:`cider_d` scores already-tokenised strings.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from molmo.errors import UserError
from molmo.eval.metrics.ptb_tokenize import ptb_tokenize_caption

CIDER_MAX_N = 4
CIDER_SIGMA = 6.0
CIDER_SCALE = 10.0

NGram = tuple[str, ...]


@dataclass(frozen=True)
class CiderResult:
    """Corpus CIDEr-D (``score``, mean of ``per_image``) and one value per image, input order."""

    score: float
    per_image: list[float]


def ngram_counts(caption: str, max_n: int = CIDER_MAX_N) -> Counter[NGram]:
    """Counts of every 1..``max_n``-gram of the whitespace tokens of ``caption`` (coco-caption
    ``precook``), in the order n = 1..max_n, left to right."""
    words = caption.split()
    counts: Counter[NGram] = Counter()
    for n in range(1, max_n + 1):
        for start in range(len(words) - n + 1):
            counts[tuple(words[start : start + n])] += 1
    return counts


def document_frequency(references: Sequence[Sequence[Counter[NGram]]]) -> Counter[NGram]:
    """df(g): for each image, every n-gram occurring in any of its references counts once."""
    df: Counter[NGram] = Counter()
    for image_refs in references:
        df.update({gram for ref in image_refs for gram in ref})
    return df


def _tfidf(
    counts: Counter[NGram], df: Counter[NGram], log_n_images: float, max_n: int
) -> tuple[list[dict[NGram, float]], list[float], int]:
    """Per-n TF-IDF vectors, their L2 norms, and the caption "length" (number of bigrams)."""
    vectors: list[dict[NGram, float]] = [{} for _ in range(max_n)]
    squared = [0.0] * max_n
    length = 0
    for gram, tf in counts.items():
        n = len(gram) - 1
        weight = float(tf) * (log_n_images - math.log(max(1.0, float(df[gram]))))
        vectors[n][gram] = weight
        squared[n] += weight**2
        if n == 1:
            length += tf
    return vectors, [math.sqrt(s) for s in squared], length


def _similarity(
    cand: tuple[list[dict[NGram, float]], list[float], int],
    ref: tuple[list[dict[NGram, float]], list[float], int],
    max_n: int,
    sigma: float,
) -> list[float]:
    """Per-n clipped cosine similarity times the Gaussian length penalty."""
    (vec_c, norm_c, len_c), (vec_r, norm_r, len_r) = cand, ref
    delta = float(len_c - len_r)
    penalty = math.e ** (-(delta**2) / (2 * sigma**2))
    values = []
    for n in range(max_n):
        value = 0.0
        for gram, weight in vec_c[n].items():
            ref_weight = vec_r[n].get(gram, 0.0)
            value += min(weight, ref_weight) * ref_weight
        if norm_c[n] != 0 and norm_r[n] != 0:
            value /= norm_c[n] * norm_r[n]
        values.append(value * penalty)
    return values


def cider_d(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    max_n: int = CIDER_MAX_N,
    sigma: float = CIDER_SIGMA,
) -> CiderResult:
    """coco-caption CIDEr-D of already-tokenised captions (tokens separated by whitespace).

    ``candidates[i]`` is the one generated caption of image i, ``references[i]`` its non-empty
    list of reference captions. Returns the corpus score and the per-image scores (see the module
    docstring for the exact computation). Where no reference of the corpus has a single token,
    coco-caption fails (``max()`` of an empty document-frequency table); this scores 0 instead.
    """
    if isinstance(candidates, str):
        raise UserError("cider_d: candidates must be a list of captions (one per image), got a string")
    if len(candidates) != len(references):
        raise UserError(f"cider_d: {len(candidates)} candidates but {len(references)} reference lists")
    if len(candidates) == 0:
        raise UserError("cider_d: nothing to score (no images)")
    for index, refs in enumerate(references):
        if isinstance(refs, str) or len(refs) == 0:
            raise UserError(f"cider_d: image {index} needs a non-empty list of reference captions")

    cand_counts = [ngram_counts(c, max_n) for c in candidates]
    ref_counts = [[ngram_counts(r, max_n) for r in refs] for refs in references]
    df = document_frequency(ref_counts)
    log_n_images = math.log(float(len(candidates)))

    per_image: list[float] = []
    for cand, refs in zip(cand_counts, ref_counts):
        cand_vec = _tfidf(cand, df, log_n_images, max_n)
        totals = [0.0] * max_n
        for ref in refs:
            sims = _similarity(cand_vec, _tfidf(ref, df, log_n_images, max_n), max_n, sigma)
            totals = [t + s for t, s in zip(totals, sims)]
        mean_over_n = sum(totals) / max_n
        per_image.append(mean_over_n / len(refs) * CIDER_SCALE)
    return CiderResult(score=sum(per_image) / len(per_image), per_image=per_image)


def cider(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> CiderResult:
    """The coco-caption pipeline on raw captions: every candidate and reference goes through
    :func:`~molmo.eval.metrics.ptb_tokenize.ptb_tokenize_caption` (PTB tokenisation, lowercase,
    punctuation filter), then :func:`cider_d` with n = 1..4 and σ = 6."""
    if isinstance(candidates, str):
        raise UserError("cider: candidates must be a list of captions (one per image), got a string")
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            raise UserError(f"cider: image {index} needs a list of reference captions, got a string")
    tokenized_refs = [[ptb_tokenize_caption(r) for r in refs] for refs in references]
    return cider_d([ptb_tokenize_caption(c) for c in candidates], tokenized_refs)

