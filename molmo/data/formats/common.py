"""Shared pieces of the format readers: the registry, the record stream and small builders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from molmo.data.sample import IMAGE_TOKEN, Record, safe_key
from molmo.errors import UserError


@dataclass
class RecordStream:
    """An iterable of records plus the total count when the reader knows it up front (for progress)."""

    records: Iterable[Record]
    total: int | None = None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


@dataclass(frozen=True)
class FormatSpec:
    """A registered source format: ``open(src, mapping) -> RecordStream``."""

    name: str
    help: str
    open: Callable[[Path, dict[str, str]], RecordStream]


FORMATS: dict[str, FormatSpec] = {}


def register(name: str, help: str) -> Callable[[Callable[[Path, dict[str, str]], RecordStream]], Any]:
    """Decorator registering a reader function under ``name``."""

    def deco(
        fn: Callable[[Path, dict[str, str]], RecordStream],
    ) -> Callable[[Path, dict[str, str]], RecordStream]:
        FORMATS[name] = FormatSpec(name=name, help=help, open=fn)
        return fn

    return deco


def load_json(path: Path) -> Any:
    """Parse a JSON file, raising ``UserError`` naming the file when it is unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read JSON ({e})") from None


def find_one(directory: Path, patterns: list[str], what: str) -> Path:
    """The single file in ``directory`` matching the first pattern that matches anything."""
    for pattern in patterns:
        found = sorted(directory.glob(pattern))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.name for p in found[:5])
            raise UserError(f"{directory}: several {what} files ({names}); pass the one to pack as SRC")
    raise UserError(f"{directory}: no {what} file found (looked for {', '.join(patterns)})")


def make_key(index: int, ident: Any = None) -> str:
    """A unique, readable sample key: the record index plus the source id when there is one."""
    if ident is None or ident == "":
        return f"{index:09d}"
    return f"{index:09d}-{safe_key(str(ident))[:48]}"


def qa_json(
    question: str,
    answers: list[str] | None,
    style: str | None,
    task: str | None,
    meta: dict[str, Any],
    refs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A single-turn question/answer sample; the first answer is the training target.

    All answers go to ``refs["answers"]`` (the eval metrics need the full multiset). With no answers
    (unlabelled test splits) the sample holds only the user turn.
    """
    messages = [{"role": "user", "content": question}]
    if answers:
        messages.append({"role": "assistant", "content": answers[0]})
    out_refs = dict(refs or {})
    if answers is not None:
        out_refs.setdefault("answers", list(answers))
    obj: dict[str, Any] = {"messages": messages, "style": style, "task": task, "meta": meta}
    if out_refs:
        obj["refs"] = out_refs
    return obj


def bad(index: int, reason: str, ident: Any = None) -> Record:
    """A record the reader already knows is bad (skipped by pack with ``reason``)."""
    return Record(key=make_key(index, ident), json={}, error=reason)


def convert_image_marker(text: str, marker: str) -> str:
    """Replace a source's image placeholder (e.g. LLaVA ``<image>``) with ours."""
    return text.replace(marker, IMAGE_TOKEN)
