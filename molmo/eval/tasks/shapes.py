"""The tiny-shapes world (DESIGN §4): one result row per skill.

Samples come from eval shards made by ``molmo data synth shapes --split eval`` (``--data``), or,
with no data, are generated on the fly (``molmo.data.synth.shapes.make_sample("eval", 0, i)``,
200 by default or ``--limit``). Each sample keeps its own style (the demo model was trained with
them) and is scored by its skill (``json["task"]``):

=======  ==================================================================================
skill    metrics
=======  ==================================================================================
caption  ``exact_match`` (case-insensitive, after Molmo's clean-up)
color    ``exact_match``, ``vqa_exact`` (equality after official VQA normalisation)
count    ``count_accuracy``, ``count_close`` (count read with ``molmo.preprocess.points.parse_count``,
         which also reads ``There are none.`` as 0 — the answer format this world trains)
point    ``point_precision``, ``point_recall``, ``point_f1`` with the masks in ``refs``
read     ``anls``
=======  ==================================================================================

Rows are named ``shapes/<skill>``; a skill with no sample in the run has no row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from molmo.eval.metrics.anls import anls
from molmo.eval.metrics.counting import count_accuracy, count_close
from molmo.eval.metrics.exact_match import exact_match
from molmo.eval.metrics.normalize import clean_answer, normalize_vqa
from molmo.eval.tasks.base import ResultRow, SourceSample, Task, clean, mean_metrics
from molmo.eval.tasks.pointing import POINT_METRICS, pointing_scores
from molmo.preprocess.points import parse_count

SKILLS: dict[str, tuple[str, ...]] = {
    "caption": ("exact_match",),
    "color": ("exact_match", "vqa_exact"),
    "count": ("count_accuracy", "count_close"),
    "point": POINT_METRICS,
    "read": ("anls",),
}
DEFAULT_SYNTHETIC = 200


def vqa_exact(prediction: str, answers: Sequence[str]) -> float:
    """1.0 iff the VQA-normalised prediction equals a VQA-normalised answer."""
    pred = normalize_vqa(clean_answer(prediction))
    return float(any(normalize_vqa(clean_answer(a)) == pred for a in answers))


@dataclass(frozen=True)
class ShapesTask(Task):
    def synthetic_samples(self, n: int | None) -> Iterator[SourceSample]:
        from molmo.data.synth.shapes import make_sample

        for i in range(n or DEFAULT_SYNTHETIC):
            s = make_sample("eval", 0, i)
            yield SourceSample(s.key, s.json, [s.png], "synth")

    def item_refs(self, sample: SourceSample) -> dict[str, Any]:
        return {**sample.refs, "skill": sample.json.get("task")}

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        skill, answers = refs.get("skill"), [str(a) for a in refs.get("answers") or []]
        if skill == "point":
            return pointing_scores(prediction, refs, image_sizes)
        if skill == "count":
            if refs.get("count") is None:
                return None
            parsed, target = parse_count(prediction), int(refs["count"])
            return {"count_accuracy": count_accuracy(parsed, target), "count_close": count_close(parsed, target)}
        if skill not in SKILLS or not answers:
            return None
        text = clean(prediction)
        if skill == "read":
            return {"anls": anls(text, answers)}
        scores = {"exact_match": exact_match(text, answers)}
        if skill == "color":
            scores["vqa_exact"] = vqa_exact(text, answers)
        return scores

    def rows(self, records: Sequence[dict[str, Any]], scores: Sequence[dict[str, float] | None]) -> list[ResultRow]:
        out = []
        for skill, metrics in SKILLS.items():
            picked = [s for r, s in zip(records, scores) if s is not None and (r.get("refs") or {}).get("skill") == skill]
            if picked:
                out.append(ResultRow(f"{self.name}/{skill}", len(picked), mean_metrics(picked, metrics), self.variants(metrics)))
        return out


TASKS = (
    ShapesTask(
        name="shapes", family="shapes", description="The tiny-shapes demo world: caption, color, count, point, read",
        metrics=tuple(dict.fromkeys(m for ms in SKILLS.values() for m in ms)), max_new_tokens=192,
        data_help="shapes eval shards (molmo data synth shapes DIR --split eval); none = generated on the fly",
        default_data="",
        notes={"vqa_exact": "equality after the official VQA punctuation/digit/article normalisation of both sides",
               "count_accuracy": "count read with molmo.preprocess.points.parse_count ('There are none.' = 0)",
               "count_close": "count read with molmo.preprocess.points.parse_count ('There are none.' = 0)"},
    ),
)
