"""Hugging Face ``datasets``-style parquet files (e.g. ``lmms-lab/*``), read with pyarrow.

SRC is a ``.parquet`` file or a directory (all ``*.parquet`` below it, sorted). Image columns are
Arrow ``struct<bytes: binary, path: string>``; their bytes are copied as they are (no re-encode),
falling back to ``path`` (relative to ``image_root``, default the file's directory).

Columns map to sample fields automatically by name, or explicitly with ``--map column=field``:

========================  ===================================================================
field                     meaning
========================  ===================================================================
``image``                 an image column (several -> multi-image, in column order)
``question``              user text (``question``, ``query`` by default)
``answer``                target (``answer``, ``label``, ``multiple_choice_answer``)
``answers``               all reference answers (list of str or of ``{answer: …}``) -> refs
``options``               multiple-choice options (list, or a string holding a Python list)
``messages``              ready-made ``[{role, content}]``; ``conversations``: LLaVA turns
``id``                    sample id (``id``, ``question_id``, ``questionId``)
``meta.X`` / ``refs.X``   copied under meta / refs; ``-`` drops the column
========================  ===================================================================

Other scalar/list columns go to ``meta``. ``--map style=S`` / ``--map task=T`` set the sample's
style/task when no column of that name exists. Multiple choice: options are appended to the
question as ``A: …`` lines; the target is the letter; refs hold ``options`` and ``answer_idx``.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import RecordStream, bad, make_key, qa_json, register
from molmo.data.formats.llava import convert as llava_convert
from molmo.data.sample import Record
from molmo.errors import UserError

_DEFAULTS = {
    "question": "question",
    "query": "question",
    "answer": "answer",
    "label": "answer",
    "multiple_choice_answer": "answer",
    "answers": "answers",
    "options": "options",
    "choices": "options",
    "messages": "messages",
    "conversations": "conversations",
    "id": "id",
    "question_id": "id",
    "questionId": "id",
    "style": "style",
    "task": "task",
}
_FIELDS = {
    "image",
    "question",
    "answer",
    "answers",
    "options",
    "messages",
    "conversations",
    "id",
    "style",
    "task",
    "-",
}
_OPTIONS = {"image_root", "style", "task"}


def _is_image_type(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_struct(t) and {"bytes", "path"} <= {t.field(i).name for i in range(t.num_fields)}


def plan_columns(schema: Any, mapping: dict[str, str]) -> dict[str, str]:
    """Decide the field of every column (explicit mapping first, then the defaults)."""
    plan: dict[str, str] = {}
    used: set[str] = set()
    for col, fld in mapping.items():
        if col in _OPTIONS and col not in schema.names:
            continue
        if col not in schema.names:
            raise UserError(f"--map {col}={fld}: no column {col!r} (columns: {', '.join(schema.names)})")
        if fld not in _FIELDS and not fld.startswith(("meta.", "refs.")):
            raise UserError(
                f"--map {col}={fld}: unknown field (use {', '.join(sorted(_FIELDS))}, meta.X, refs.X)"
            )
        plan[col] = fld
        used.add(fld)
    for col, t in zip(schema.names, schema.types):
        if col in plan:
            continue
        if _is_image_type(t):
            plan[col] = "image"
        elif _DEFAULTS.get(col) and _DEFAULTS[col] not in used:
            plan[col] = _DEFAULTS[col]
            used.add(plan[col])
        else:
            plan[col] = f"meta.{col}"
    return plan


def _answers(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(a["answer"]) if isinstance(a, dict) else str(a) for a in value if a is not None]


def _options(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    return [str(o) for o in value] if isinstance(value, (list, tuple)) and value else None


def _answer_index(answer: Any, options: list[str]) -> int | None:
    if isinstance(answer, int) and 0 <= answer < len(options):
        return answer
    text = str(answer).strip() if answer is not None else ""
    if text.isdigit() and int(text) < len(options):
        return int(text)
    if len(text) == 1 and text.upper() in string.ascii_uppercase[: len(options)]:
        return string.ascii_uppercase.index(text.upper())
    return options.index(text) if text in options else None


def convert_row(
    index: int, row: dict[str, Any], plan: dict[str, str], root: Path, opts: dict[str, str]
) -> Record:
    """One parquet row -> Record (or a bad record with the reason)."""
    got: dict[str, Any] = {}
    images: list[str | bytes] = []
    meta: dict[str, Any] = {}
    refs: dict[str, Any] = {}
    for col, fld in plan.items():
        value = row.get(col)
        if fld == "image":
            if isinstance(value, dict) and value.get("bytes"):
                images.append(value["bytes"])
            elif isinstance(value, dict) and value.get("path"):
                images.append(str(root / value["path"]))
        elif fld.startswith("meta."):
            if not isinstance(value, (bytes, bytearray)):
                meta[fld[5:]] = value
        elif fld.startswith("refs."):
            refs[fld[5:]] = value
        elif fld != "-":
            got[fld] = value
    ident = got.get("id")
    style = got.get("style") if isinstance(got.get("style"), str) else opts.get("style")
    task = got.get("task") if isinstance(got.get("task"), str) else opts.get("task")
    if got.get("messages") is not None or got.get("conversations") is not None:
        if got.get("messages") is not None:
            msgs = got["messages"]
            convs = [{"from": m.get("role"), "value": m.get("content")} for m in msgs if isinstance(m, dict)]
        else:
            convs = got["conversations"]
        placeholders = [f"image{i}" for i in range(len(images))]  # only the count matters for the markers
        rec = llava_convert(index, {"id": ident, "conversations": convs, "image": placeholders}, root)
        if rec.error:
            return rec
        rec.json.update(style=style, task=task, meta={**meta, "source_format": "parquet"})
        if refs:
            rec.json["refs"] = refs
        rec.images = images
        return rec
    question = got.get("question")
    if not isinstance(question, str) or not question:
        return bad(index, "no question text", ident)
    answers = _answers(got.get("answers"))
    answer = got.get("answer")
    options = _options(got.get("options"))
    if options:
        idx = _answer_index(answer, options)
        question = (
            question
            + "\n"
            + "\n".join(f"{string.ascii_uppercase[i]}: {o}" for i, o in enumerate(options[:26]))
        )
        refs.update(options=options, answer_idx=idx)
        targets = [string.ascii_uppercase[idx]] if idx is not None else None
        obj = qa_json(question, targets, style, task, meta, refs)
    else:
        target = [str(answer)] if answer is not None and str(answer) != "" else []
        if answers:
            refs["answers"] = answers
        obj = qa_json(question, target + answers if (target or answers) else None, style, task, meta, refs)
    return Record(key=make_key(index, ident), json=obj, images=images)


@register("parquet", "HF-datasets parquet (image columns {bytes, path}); --map column=field (see docs)")
def open_parquet(src: Path, options: dict[str, str]) -> RecordStream:
    import pyarrow.parquet as pq

    files = [src] if src.is_file() else sorted(src.rglob("*.parquet"))
    if not files:
        raise UserError(f"{src}: no .parquet files")
    try:
        pfiles = [pq.ParquetFile(f) for f in files]
    except Exception as e:  # noqa: BLE001 — pyarrow raises several unrelated types for a bad file
        raise UserError(f"{src}: cannot read parquet ({e})") from None
    plan = plan_columns(pfiles[0].schema_arrow, options)
    total = sum(p.metadata.num_rows for p in pfiles)

    def records() -> Iterator[Record]:
        i = 0
        for path, pf in zip(files, pfiles):
            root = Path(options.get("image_root", path.parent))
            cols = [c for c in plan if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(batch_size=256, columns=cols):
                for row in batch.to_pylist():
                    yield convert_row(i, row, plan, root, options)
                    i += 1

    return RecordStream(records(), total=total)
