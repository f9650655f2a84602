"""Character-level Levenshtein distance, shared by ANLS and multiple-choice option matching.

Every public implementation the metrics follow (the RRC ANLS script, the ``editdistance`` package
used by Molmo and m4c, VLMEvalKit's own ``levenshtein_distance``) computes the same quantity:
the minimum number of single-character insertions, deletions and substitutions, all of unit cost.
"""

from __future__ import annotations


def levenshtein(a: str, b: str) -> int:
    """Minimum number of unit-cost character insertions, deletions and substitutions turning
    ``a`` into ``b`` (case- and whitespace-sensitive; normalise before calling if needed).

    Two-row dynamic programme, O(len(a)·len(b)) time and O(min(len(a), len(b))) memory.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            substitution = previous[j - 1] + (char_a != char_b)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
        previous = current
    return previous[-1]
