"""DocVQA (single page) official JSON, also InfographicVQA.

SRC is the split file (``val_v1.0_withQT.json``, ``infographicsVQA_val_v1.0_withQT.json``) or a
directory holding exactly one such JSON. Top level ``{dataset_name, …, data: [...]}``; each entry
has ``questionId``, ``question``, ``answers`` (absent on test) and ``image`` (DocVQA, relative path
such as ``documents/x_1.png``) or ``image_local_name`` (InfographicVQA, under ``images/``). Paths
are relative to the JSON's directory (or ``--map image_root=DIR``).
One sample per question; target = first answer; ``refs.answers`` = all answers (ANLS takes the max).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import RecordStream, bad, find_one, load_json, make_key, qa_json, register
from molmo.data.sample import Record
from molmo.errors import UserError

_META_KEYS = (
    "questionId",
    "docId",
    "question_types",
    "ucsf_document_id",
    "ucsf_document_page_no",
    "data_split",
    "answer_type",
    "evidence",
    "operation/reasoning",
)


@register(
    "docvqa", "DocVQA / InfographicVQA official JSON ({data: [{questionId, question, image, answers}]})"
)
def open_docvqa(src: Path, options: dict[str, str]) -> RecordStream:
    path = src if src.is_file() else find_one(src, ["*.json"], "DocVQA JSON")
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise UserError(f"{path}: not a DocVQA file (no top-level 'data' list)")
    root = Path(options.get("image_root", path.parent))
    infographic = "infographic" in str(data.get("dataset_name", path.name)).lower()
    style, task = ("info_qa", "infovqa") if infographic else ("doc_qa", "docvqa")
    entries = data["data"]

    def records() -> Iterator[Record]:
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or not isinstance(e.get("question"), str):
                yield bad(i, "entry lacks a question")
                continue
            qid = e.get("questionId")
            if isinstance(e.get("image"), str):
                img = root / e["image"]
            elif isinstance(e.get("image_local_name"), str):
                img = root / "images" / e["image_local_name"]
            else:
                yield bad(i, "entry lacks image / image_local_name", qid)
                continue
            answers = e.get("answers")
            if answers is not None and not (
                isinstance(answers, list) and all(isinstance(a, str) for a in answers)
            ):
                yield bad(i, "'answers' must be a list of strings", qid)
                continue
            meta: dict[str, Any] = {k: e[k] for k in _META_KEYS if k in e}
            yield Record(
                key=make_key(i, qid),
                json=qa_json(e["question"], answers, style, task, meta),
                images=[str(img)],
            )

    return RecordStream(records(), total=len(entries))
