"""ChartQA (vis-nlp/ChartQA): ``<split>/<split>_{human,augmented}.json`` + ``<split>/png/``.

SRC is a split directory (both JSON files are read, human first) or one JSON file. Each entry is
``{"imgname", "query", "label"}``; ``label`` is the answer string. ``meta.subset`` is ``human`` or
``augmented`` (reported separately by the relaxed-accuracy metric). Images: ``<dir>/png/<imgname>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from molmo.data.formats.common import RecordStream, bad, load_json, make_key, qa_json, register
from molmo.data.sample import Record
from molmo.errors import UserError


@register("chartqa", "ChartQA split folder (<split>_human.json, <split>_augmented.json, png/)")
def open_chartqa(src: Path, options: dict[str, str]) -> RecordStream:
    files = (
        [src] if src.is_file() else sorted(src.glob("*_human.json")) + sorted(src.glob("*_augmented.json"))
    )
    if not files:
        raise UserError(f"{src}: no *_human.json / *_augmented.json ChartQA files")
    parts = []
    for path in files:
        data = load_json(path)
        if not isinstance(data, list):
            raise UserError(f"{path}: a ChartQA file is a JSON list of {{imgname, query, label}}")
        subset = "augmented" if "augmented" in path.name else "human"
        parts.append((path, subset, data))
    root = Path(options.get("image_root", (src if src.is_dir() else src.parent) / "png"))

    def records() -> Iterator[Record]:
        i = 0
        for path, subset, data in parts:
            for e in data:
                if not isinstance(e, dict) or not all(
                    isinstance(e.get(k), str) for k in ("imgname", "query")
                ):
                    yield bad(i, f"{path.name}: entry lacks imgname/query")
                else:
                    label = e.get("label")
                    answers = [str(label)] if label is not None else None
                    meta = {"imgname": e["imgname"], "subset": subset}
                    ident = f"{subset}-{e['imgname']}"
                    obj = qa_json(e["query"], answers, "chart_qa", "chartqa", meta)
                    yield Record(key=make_key(i, ident), json=obj, images=[str(root / e["imgname"])])
                i += 1

    return RecordStream(records(), total=sum(len(d) for _, _, d in parts))
