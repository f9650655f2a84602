"""Readers for benchmark files that ``molmo.data.formats`` has no reader for (eval-only layouts).

Each reader takes the benchmark's own file (or the directory holding it) and yields
:class:`~molmo.data.sample.Record` s in our schema with references under ``refs`` — the same
contract as the ``molmo.data.formats`` readers, so :mod:`molmo.eval.tasks.sources` treats both alike.
Image paths are resolved relative to the JSON's directory and only opened at inference time.

==============  ===========================================================================
reader          layout (formats-and-metrics.md §4)
==============  ===========================================================================
``textvqa``     ``TextVQA_0.5.1_val.json``: ``{data: [{question_id, question, image_id, answers}]}``;
                images ``train_images/<image_id>.jpg`` (train and val), ``test_images/`` or flat
``stvqa``       ST-VQA task JSON: ``{data: [{question_id, question, answers, file_path}]}``
                (``file_path`` / ``file_name`` / ``image`` relative to the JSON's directory;
                key set **unverified** against the RRC release)
``aokvqa``      ``aokvqa_v1p0_val.json``: list of ``{question_id, image_id, question, choices,
                correct_choice_idx, direct_answers}``; images ``<split>2017/<image_id:012d>.jpg``
``scienceqa``   ``problems.json`` (dict pid -> problem, with ``split``); image questions of the
                ``test`` split; images ``images/<split>/<pid>/<image>`` or ``<split>/<pid>/<image>``
``coco_captions`` ``captions_val2014.json`` (``images`` + ``annotations``) or Karpathy's
                ``dataset_coco.json`` (``images[].sentences``, ``split == "test"``)
==============  ===========================================================================
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import bad, find_one, load_json, make_key, qa_json
from molmo.data.sample import Record
from molmo.errors import UserError
from molmo.preprocess.prompts import format_multiple_choice

Reader = Callable[[Path], Iterator[Record]]
READERS: dict[str, Reader] = {}
CAPTION_PROMPT = "Describe this image."


def reader(name: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        READERS[name] = fn
        return fn

    return deco


def _json_file(src: Path, what: str) -> Path:
    return src if src.is_file() else find_one(src, ["*.json"], what)


def _first_existing(candidates: list[Path]) -> Path:
    return next((p for p in candidates if p.exists()), candidates[0])


def _data_list(path: Path) -> list[Any]:
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise UserError(f"{path}: expected a JSON object with a 'data' list")
    return data["data"]


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


@reader("textvqa")
def read_textvqa(src: Path) -> Iterator[Record]:
    path = _json_file(src, "TextVQA JSON")
    root = path.parent
    for i, e in enumerate(_data_list(path)):
        if not isinstance(e, dict) or not isinstance(e.get("question"), str) or "image_id" not in e:
            yield bad(i, "entry lacks question/image_id")
            continue
        name = f"{e['image_id']}.jpg"
        image = _first_existing([root / "train_images" / name, root / "test_images" / name, root / name])
        meta = {k: e[k] for k in ("question_id", "image_id", "set_name") if k in e}
        obj = qa_json(e["question"], _str_list(e.get("answers")), "text_vqa", "textvqa", meta)
        yield Record(key=make_key(i, e.get("question_id")), json=obj, images=[str(image)])


@reader("stvqa")
def read_stvqa(src: Path) -> Iterator[Record]:
    path = _json_file(src, "ST-VQA JSON")
    for i, e in enumerate(_data_list(path)):
        e = e if isinstance(e, dict) else {}
        rel = next((e[k] for k in ("file_path", "image", "file_name") if isinstance(e.get(k), str)), None)
        if rel is None or not isinstance(e.get("question"), str):
            yield bad(i, "entry lacks question/file_path")
            continue
        meta = {k: e[k] for k in ("question_id", "dataset", "set_name") if k in e}
        obj = qa_json(e["question"], _str_list(e.get("answers")), "st_qa", "st_vqa", meta)
        yield Record(key=make_key(i, e.get("question_id")), json=obj, images=[str(path.parent / rel)])


@reader("aokvqa")
def read_aokvqa(src: Path) -> Iterator[Record]:
    path = _json_file(src, "A-OKVQA JSON")
    data = load_json(path)
    if not isinstance(data, list):
        raise UserError(f"{path}: an A-OKVQA file is a JSON list of questions")
    match = re.search(r"_(train|val|test)\.json$", path.name)
    split = match.group(1) if match else "val"
    for i, e in enumerate(data):
        choices = _str_list(e.get("choices")) if isinstance(e, dict) else None
        if not choices or not isinstance(e.get("question"), str) or "image_id" not in e:
            yield bad(i, "entry lacks question/choices/image_id")
            continue
        name = f"{int(e['image_id']):012d}.jpg"
        image = _first_existing([path.parent / f"{split}2017" / name, path.parent / name])
        idx = e.get("correct_choice_idx")
        refs = {"options": choices, "answer_idx": idx if isinstance(idx, int) else None,
                "answers": _str_list(e.get("direct_answers")) or []}
        target = [chr(65 + idx)] if isinstance(idx, int) else None
        question = format_multiple_choice(e["question"], choices)
        obj = qa_json(question, target, "a_okvqa_mc", "a_okvqa_mc", {"question_id": e.get("question_id")}, refs)
        yield Record(key=make_key(i, e.get("question_id")), json=obj, images=[str(image)])


@reader("scienceqa")
def read_scienceqa(src: Path, split: str = "test") -> Iterator[Record]:
    path = src if src.is_file() else src / "problems.json"
    problems = load_json(path)
    if not isinstance(problems, dict):
        raise UserError(f"{path}: expected ScienceQA problems.json (an object keyed by problem id)")
    root = path.parent
    i = 0
    for pid, p in problems.items():
        if not isinstance(p, dict) or p.get("split", split) != split or not p.get("image"):
            continue
        choices = _str_list(p.get("choices"))
        if not choices or not isinstance(p.get("question"), str):
            yield bad(i, "problem lacks question/choices", pid)
        else:
            image = _first_existing([root / "images" / split / pid / p["image"], root / split / pid / p["image"]])
            idx = p.get("answer") if isinstance(p.get("answer"), int) else None
            refs = {"options": choices, "answer_idx": idx}
            meta = {"pid": pid, "hint": p.get("hint", ""), "subject": p.get("subject")}
            target = [chr(65 + idx)] if idx is not None else None
            obj = qa_json(format_multiple_choice(p["question"], choices), target, "science_qa", "science_qa", meta, refs)
            yield Record(key=make_key(i, pid), json=obj, images=[str(image)])
        i += 1


@reader("coco_captions")
def read_coco_captions(src: Path) -> Iterator[Record]:
    path = _json_file(src, "COCO captions JSON")
    data = load_json(path)
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise UserError(f"{path}: expected COCO captions JSON (an 'images' list)")
    root = path.parent
    if images and isinstance(images[0], dict) and "sentences" in images[0]:  # Karpathy split file
        entries = [(im, [s.get("raw", "") for s in im["sentences"]]) for im in images if im.get("split") == "test"]
        files = {id(im): root / im.get("filepath", "") / im.get("filename", "") for im, _ in entries}
    else:
        caps: dict[Any, list[str]] = defaultdict(list)
        for ann in data.get("annotations") or []:
            caps[ann.get("image_id")].append(str(ann.get("caption", "")))
        entries = [(im, caps.get(im.get("id"), [])) for im in images]
        files = {}
        for im, _ in entries:
            name = str(im.get("file_name", ""))
            sub = re.match(r"COCO_([a-z]+\d{4})_", name)
            candidates = [root / name] + ([root / sub.group(1) / name] if sub else [])
            files[id(im)] = _first_existing(candidates)
    for i, (im, captions) in enumerate(entries):
        captions = [c.strip() for c in captions if c and c.strip()]
        ident = im.get("id", im.get("cocoid"))
        obj = qa_json(CAPTION_PROMPT, captions or None, "long_caption", "caption", {"image_id": ident})
        yield Record(key=make_key(i, ident), json=obj, images=[str(files[id(im)])])
