"""MMMU response parsing and scoring (formats-and-metrics.md §10.4).

Behaviour of the official MMMU-Benchmark/MMMU ``eval/eval_utils.py`` @ ``44b45b5``, which Molmo
reuses (``olmo/eval/mmmu_eval_utils.py``) through :func:`mmmu_score`.

Random fallback: when no option can be read from a multiple-choice response, the official code
calls ``random.choice(all_choices)`` on Python's global generator, seeded once with
``random.seed(42)`` at import, so the letter drawn depends on how many fallbacks happened before
in the same process (evaluation order). Here the generator is explicit:
:func:`parse_multi_choice_response` takes ``rng``; with ``rng=None`` it draws from a fresh
``random.Random(MMMU_SEED)`` — deterministic per call, identical to the official draw for the
first fallback of a run. To reproduce the official order dependence exactly, create one
``random.Random(MMMU_SEED)`` per evaluation and pass it to every call in the official order.
(``random.Random(42).choice`` yields the same sequence as ``random.seed(42); random.choice``.)

Not implemented: lmms-eval's variant (an extra ``X.`` letter pattern, a letter followed by a space
without a space before it, an unseeded generator, and — since commit ``736454b`` — open answers
collapsed to a string, which makes open questions unscorable).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping, Sequence

from molmo.errors import UserError

MMMU_SEED = 42

_EDGE_CHARS = (",", ".", "!", "?", ";", ":", "'")
_KEY_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL_TAILS = frozenset({":", ",", ".", "!", "?", ";", "'"})
# Sentence split of the official code; the uppercase look-ahead never fires after lowercasing.
_SUBRESPONSE_SPLIT = re.compile(r"\.\s(?=[A-Z])|\n")
# Number patterns: comma-grouped, scientific notation, and plain numbers not followed by an
# exponent, a comma or another digit. Matches are concatenated in this order.
_NUMBER_WITH_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUMBER_SCIENTIFIC = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUMBER_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")


def parse_multi_choice_response(
    response: str,
    all_choices: Sequence[str],
    index2ans: Mapping[str, str],
    rng: random.Random | None = None,
) -> str:
    """The option letter MMMU's ``parse_multi_choice_response`` reads from ``response``.

    1. Strip ``,`` ``.`` ``!`` ``?`` ``;`` ``:`` ``'`` from both ends, one character kind after the
       other in that order (``str.strip(c)`` per character, so ``".,A"`` keeps its leading comma),
       then pad with one space on each side.
    2. Candidates: choices appearing as ``(X)``; if none, choices appearing as `` X ``; if none
       and the padded response has more than 5 whitespace tokens, the ``index2ans`` keys whose
       option text occurs in the response (case-insensitive; "content" match).
    3. No candidate → ``rng.choice(all_choices)`` (see the module docstring); one → it; several →
       the one whose last occurrence (``rfind`` of ``(X)``, of `` X ``, or of the lowercased option
       text — matching how the candidates were found) is right-most, the first candidate on ties.
    """
    for char in _EDGE_CHARS:
        response = response.strip(char)
    padded = f" {response} "

    candidates = [choice for choice in all_choices if f"({choice})" in padded]
    pattern_of = {choice: f"({choice})" for choice in candidates}
    haystack = padded
    if not candidates:
        candidates = [choice for choice in all_choices if f" {choice} " in padded]
        pattern_of = {choice: f" {choice} " for choice in candidates}
    if not candidates and len(padded.split()) > 5:
        haystack = padded.lower()
        candidates = [index for index, text in index2ans.items() if text.lower() in haystack]
        pattern_of = {index: index2ans[index].lower() for index in candidates}

    if not candidates:
        if len(all_choices) == 0:
            raise UserError("parse_multi_choice_response: all_choices is empty")
        generator = rng if rng is not None else random.Random(MMMU_SEED)
        return generator.choice(list(all_choices))
    if len(candidates) == 1:
        return candidates[0]
    positions = [haystack.rfind(pattern_of[candidate]) for candidate in candidates]
    return candidates[positions.index(max(positions))]


def check_is_number(text: str) -> bool:
    """True iff ``float(text.replace(",", ""))`` succeeds (so ``nan``, ``inf`` and ``1e3`` count)."""
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def normalize_str(text: str) -> list[str | float]:
    """MMMU ``normalize_str``: strip; a number (per :func:`check_is_number`, commas removed) becomes
    ``[round(float, 2)]``; otherwise the lowercased string, and a 1-character string becomes the
    two variants ``[" x", "x "]`` (to avoid trivial substring matches)."""
    text = text.strip()
    if check_is_number(text):
        return [round(float(text.replace(",", "")), 2)]
    text = text.lower()
    if len(text) == 1:
        return [" " + text, text + " "]
    return [text]


def extract_numbers(text: str) -> list[str]:
    """All comma-grouped numbers, then all scientific-notation numbers, then all plain numbers
    found in ``text`` (MMMU ``extract_numbers``; a number may be listed by more than one pattern)."""
    return _NUMBER_WITH_COMMAS.findall(text) + _NUMBER_SCIENTIFIC.findall(text) + _NUMBER_SIMPLE.findall(text)


def _key_subresponses(response: str) -> list[str]:
    response = response.strip().strip(".").lower()
    parts = _SUBRESPONSE_SPLIT.split(response)
    keys: list[str] = []
    for index, part in enumerate(parts):
        indicators = _KEY_INDICATORS + (("=",) if index == len(parts) - 1 else ())
        shortest: str | None = None
        for indicator in indicators:
            if indicator in part:
                tail = part.split(indicator)[-1].strip()
                # An empty tail counts as "none yet", exactly as the official truthiness test.
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in _TRIVIAL_TAILS:
            keys.append(shortest)
    return keys or [response]


def parse_open_response(response: str) -> list[str | float]:
    """MMMU ``parse_open_response``: candidate answers of an open question.

    1. lowercase, strip, strip ``.``; split into sub-responses on newlines (the ``". "`` +
       uppercase split is ineffective after lowercasing);
    2. per sub-response, the shortest tail after any of ``could be ``, ``so ``, ``is ``,
       ``thus ``, ``therefore ``, ``final ``, ``answer ``, ``result `` (plus ``=`` for the last
       sub-response), kept unless empty or a lone punctuation mark; no tail at all → the whole
       response;
    3. add the numbers :func:`extract_numbers` finds in those tails;
    4. :func:`normalize_str` each; drop duplicates.

    The official code returns ``list(set(...))`` (order undefined); this keeps first-seen order.
    Scoring with :func:`eval_open` does not depend on the order.
    """
    keys = _key_subresponses(response)
    raw: list[str] = list(keys)
    for key in keys:
        raw.extend(extract_numbers(key))
    normalized: list[str | float] = []
    for item in raw:
        normalized.extend(normalize_str(item))
    return list(dict.fromkeys(normalized))


def eval_multi_choice(gold: str | Sequence[str], prediction: str) -> bool:
    """MMMU ``eval_multi_choice``: the parsed letter equals the gold letter (or one of a gold list)."""
    if isinstance(gold, str):
        return gold == prediction
    return any(answer == prediction for answer in gold)


def eval_open(gold: str | Sequence[str], predictions: Sequence[str | float]) -> bool:
    """MMMU ``eval_open``: normalise the gold answer(s) with :func:`normalize_str` (a list is
    flattened); correct iff some string prediction **contains** some string gold as a substring,
    or some float prediction equals a float gold."""
    golds: list[str | float] = []
    for answer in [gold] if isinstance(gold, str) else gold:
        golds.extend(normalize_str(answer))
    for prediction in predictions:
        if isinstance(prediction, str):
            if any(isinstance(answer, str) and answer in prediction for answer in golds):
                return True
        elif prediction in golds:
            return True
    return False


def mmmu_score(
    prediction: str,
    answer: str | Sequence[str],
    *,
    question_type: str,
    options: Sequence[str] = (),
    rng: random.Random | None = None,
) -> float:
    """Molmo ``mmmu_score``: 1.0 if correct else 0.0.

    ``question_type == "multiple-choice"``: empty options are dropped, the rest are lettered
    ``A``, ``B``, … (``all_choices``, ``index2ans``), the letter is read with
    :func:`parse_multi_choice_response` and checked with :func:`eval_multi_choice`. Any other
    question type is open: :func:`parse_open_response` then :func:`eval_open`.
    """
    if question_type == "multiple-choice":
        kept = [option for option in options if len(option) > 0]
        if len(kept) > len(string.ascii_uppercase):
            raise UserError(f"mmmu_score: {len(kept)} options is more than the 26 letters A-Z")
        letters = list(string.ascii_uppercase[: len(kept)])
        index2ans = dict(zip(letters, kept))
        parsed = parse_multi_choice_response(prediction, letters, index2ans, rng=rng)
        return float(eval_multi_choice(answer, parsed))
    return float(eval_open(answer, parse_open_response(prediction)))
