"""VQAv2 official files: questions JSON + annotations JSON + COCO image folder.

SRC is the questions file (``v2_OpenEnded_mscoco_val2014_questions.json``) or a directory holding
exactly one questions file. The annotations file (``v2_mscoco_val2014_annotations.json``) is looked
up next to it (absent for test splits: samples then have no answer). Images are found at
``<root>/<subtype>/COCO_<subtype>_<image_id:012d>.jpg`` or ``<root>/COCO_<subtype>_…jpg`` where root
is the directory (override with ``--map image_root=DIR``).

One sample per question: the training target is ``multiple_choice_answer``; ``refs.answers`` keeps
all 10 raw human answers (the VQA metric needs the multiset); ids and types go to ``meta``.
Questions are not grouped per image (Molmo's multi-question packing happens at preprocessing).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import RecordStream, bad, find_one, load_json, make_key, qa_json, register
from molmo.data.sample import Record
from molmo.errors import UserError


def image_path(root: Path, subtype: str, image_id: int) -> Path:
    """COCO image file for ``image_id``: ``<root>/<subtype>/COCO_<subtype>_<id:012d>.jpg`` (or flat)."""
    name = f"COCO_{subtype}_{int(image_id):012d}.jpg"
    nested = root / subtype / name
    return nested if nested.exists() or not (root / name).exists() else root / name


def _annotations_for(qfile: Path, subtype: str) -> Path | None:
    for pattern in [f"*mscoco_{subtype}_annotations.json", "*annotations*.json"]:
        found = sorted(qfile.parent.glob(pattern))
        if len(found) == 1:
            return found[0]
    return None


@register("vqa2", "VQAv2 official questions + annotations JSON + COCO images (all 10 answers kept in refs)")
def open_vqa2(src: Path, options: dict[str, str]) -> RecordStream:
    qfile = src if src.is_file() else find_one(src, ["*_questions.json", "*questions*.json"], "VQA questions")
    qdata = load_json(qfile)
    if not isinstance(qdata, dict) or not isinstance(qdata.get("questions"), list):
        raise UserError(f"{qfile}: not a VQA questions file (no 'questions' list)")
    subtype = str(qdata.get("data_subtype") or options.get("subtype") or "")
    if not subtype:
        raise UserError(f"{qfile}: no data_subtype; pass --map subtype=val2014")
    afile = Path(options["annotations"]) if "annotations" in options else _annotations_for(qfile, subtype)
    by_qid: dict[Any, dict[str, Any]] = {}
    if afile is not None:
        adata = load_json(afile)
        if not isinstance(adata, dict) or not isinstance(adata.get("annotations"), list):
            raise UserError(f"{afile}: not a VQA annotations file (no 'annotations' list)")
        by_qid = {a.get("question_id"): a for a in adata["annotations"] if isinstance(a, dict)}
    root = Path(options.get("image_root", qfile.parent))
    questions = qdata["questions"]

    def records() -> Iterator[Record]:
        for i, q in enumerate(questions):
            if not isinstance(q, dict) or "question" not in q or "image_id" not in q:
                yield bad(i, "question entry lacks question/image_id")
                continue
            qid = q.get("question_id")
            meta: dict[str, Any] = {"question_id": qid, "image_id": q["image_id"], "subtype": subtype}
            answers = None
            ann = by_qid.get(qid)
            if afile is not None and ann is None:
                yield bad(i, f"no annotation for question_id {qid}", qid)
                continue
            if ann is not None:
                raw = [a.get("answer") for a in ann.get("answers", []) if isinstance(a, dict)]
                best = ann.get("multiple_choice_answer")
                answers = ([best] if best else []) + [a for a in raw if isinstance(a, str)]
                meta.update(question_type=ann.get("question_type"), answer_type=ann.get("answer_type"))
                obj = qa_json(q["question"], answers, "vqa2", "vqa", meta, refs={"answers": raw})
            else:
                obj = qa_json(q["question"], None, "vqa2", "vqa", meta, refs={})
            yield Record(
                key=make_key(i, qid), json=obj, images=[str(image_path(root, subtype, q["image_id"]))]
            )

    return RecordStream(records(), total=len(questions))
