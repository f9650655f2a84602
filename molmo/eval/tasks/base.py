"""What an eval task is: the data it reads, the prompt it asks, how it generates and how it scores.

A :class:`Task` is immutable data plus three hooks that families override:

- :meth:`Task.item` turns one sample in our schema (:class:`SourceSample`, as read from shards or
  from a benchmark's own files) into an :class:`EvalItem`: the user prompt, the style, the images
  and the ``refs`` — everything the metric stage needs, JSON-serialisable, so scoring can run later
  from ``predictions.jsonl`` alone (no data, no model);
- :meth:`Task.score_records` scores the predictions (one ``{metric: value}`` per record, or
  ``None`` when the record has no references, e.g. an unlabelled test split);
- :meth:`Task.rows` aggregates scored records into result rows (default: one row, the mean of
  each metric; the shapes task returns one row per skill).

Settings a task decides (Molmo's eval protocol, molmo-facts §9.1): the style prefix, the generation
length (12 tokens by default, 192 for pointing/counting), the crop budget (36 "high-res" crops where
Molmo used them, else the model's own setting) and greedy decoding. Recipes may override the first
three per task (:class:`TaskSettings`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from molmo.eval.metrics.postprocess import molmo_clean_prediction
from molmo.eval.metrics.registry import METRICS, get_metric

#: Molmo's published per-benchmark scores (molmo-facts §9.3, Molmo2 paper Table 6), by model.
PUBLISHED_MODELS = ("MolmoE-1B", "Molmo-7B-O", "Molmo-7B-D", "Molmo-72B")


@dataclass
class SourceSample:
    """One sample in our schema as a data source yields it; images are PIL images, paths or bytes."""

    id: str
    json: dict[str, Any]
    images: list[Any] = field(default_factory=list)
    format: str = "shards"

    @property
    def question(self) -> str:
        """The first user message (empty when there is none)."""
        for message in self.json.get("messages") or []:
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""

    @property
    def refs(self) -> dict[str, Any]:
        return dict(self.json.get("refs") or {})

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.json.get("meta") or {})


@dataclass
class EvalItem:
    """One model query: ``prompt`` (user text, without the style prefix), ``style``, the images
    (decoded lazily) and ``refs`` (JSON, what the metrics need)."""

    id: str
    index: int
    prompt: str
    style: str | None
    refs: dict[str, Any]
    images: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class TaskSettings:
    """The per-run settings of a task: defaults from the :class:`Task`, overridable by recipes."""

    style: str | None
    max_new_tokens: int
    max_crops: int | None

    def generation(self) -> dict[str, Any]:
        """The generation settings recorded with every prediction (and part of its resume key)."""
        return {"max_new_tokens": self.max_new_tokens, "temperature": 0.0, "num_beams": 1, "max_crops": self.max_crops}


@dataclass(frozen=True)
class ResultRow:
    """One line of ``results.json``: ``{"task", "n", "metrics", "metric_variants"}``."""

    task: str
    n: int
    metrics: dict[str, float]
    metric_variants: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "n": self.n, "metrics": dict(self.metrics), "metric_variants": dict(self.metric_variants)}


def clean(prediction: str) -> str:
    """Molmo's prediction clean-up before text metrics (``Answer:`` split, majority line, spaces)."""
    return molmo_clean_prediction(prediction)


def mean_metrics(scores: Sequence[dict[str, float]], names: Sequence[str]) -> dict[str, float]:
    """Per-metric mean over the records that have that metric."""
    out: dict[str, float] = {}
    for name in names:
        values = [s[name] for s in scores if name in s]
        if values:
            out[name] = sum(values) / len(values)
    return out


@dataclass(frozen=True)
class Task(ABC):
    """An eval task (see the module docstring). Families subclass it and override the hooks."""

    name: str
    family: str
    description: str
    metrics: tuple[str, ...]
    style: str | None = None
    max_new_tokens: int = 12
    max_crops: int | None = None
    json_format: str | None = None
    parquet_map: tuple[tuple[str, str], ...] = ()
    data_help: str = ""
    default_data: str = ""
    published: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    # ---- settings ----
    def settings(self, style: str | None = None, max_new_tokens: int | None = None,
                 max_crops: int | None = None) -> TaskSettings:
        """This task's defaults with the given overrides (None keeps the default)."""
        return TaskSettings(
            style=style if style is not None else self.style,
            max_new_tokens=max_new_tokens if max_new_tokens is not None else self.max_new_tokens,
            max_crops=max_crops if max_crops is not None else self.max_crops,
        )

    # ---- data -> items ----
    def synthetic_samples(self, n: int | None) -> Iterator[SourceSample] | None:
        """Samples the task can generate itself when no ``--data`` is given (None: it cannot)."""
        return None

    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem | None:
        """Default: ask the sample's first user message with the task style (else the sample's).
        ``None`` skips a sample the task does not evaluate (e.g. a text-only ScienceQA question)."""
        style = settings.style or sample.json.get("style")
        return EvalItem(sample.id, index, sample.question, style, self.item_refs(sample), list(sample.images))

    def item_refs(self, sample: SourceSample) -> dict[str, Any]:
        """The references kept for scoring (default: the sample's ``refs``)."""
        return sample.refs

    # ---- scoring ----
    @abstractmethod
    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        """Per-sample scores; ``None`` when ``refs`` cannot be scored (no references)."""

    def score_records(self, records: Sequence[dict[str, Any]]) -> list[dict[str, float] | None]:
        """Per-record scores (corpus metrics such as CIDEr override this)."""
        return [self.score(r.get("prediction", ""), r.get("refs") or {}, r.get("image_sizes") or []) for r in records]

    def rows(self, records: Sequence[dict[str, Any]], scores: Sequence[dict[str, float] | None]) -> list[ResultRow]:
        """Result rows from scored records (default: one row, the mean of each metric)."""
        scored = [s for s in scores if s is not None]
        return [ResultRow(self.name, len(scored), mean_metrics(scored, self.metrics), self.variants(self.metrics))]

    def variants(self, names: Sequence[str]) -> dict[str, str]:
        """``{metric: description}``: the registry's description and/or this task's note."""
        out = {}
        for name in names:
            parts = (METRICS[name].description if name in METRICS else "", self.notes.get(name, ""))
            out[name] = "; ".join(p for p in parts if p) or name
        return out


@dataclass(frozen=True)
class AnswersTask(Task):
    """Text metrics of the form ``metric(prediction, answers)`` (VQA score, ANLS, relaxed accuracy,
    exact match) on the Molmo-cleaned prediction against ``refs["answers"]``."""

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        answers = [str(a) for a in refs.get("answers") or []]
        if not answers:
            return None
        text = clean(prediction)
        return {name: float(get_metric(name).fn(text, answers)) for name in self.metrics}
