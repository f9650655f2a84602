"""``report.html``: a self-contained page (no server, no scripts) to read an eval run.

A summary table (task × metric, in percent; CIDEr ×100 like papers, its raw [0, 10] value is in
``results.json``) and, per task, a browsable table of samples: a thumbnail (inline base64 JPEG;
for tasks with points, ground-truth points in green and predicted points in red), the id, the
prompt and style, the prediction, the references and the per-sample scores. Every text is passed
through ``html.escape``, so model output such as ``<script>`` shows as text.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from molmo.eval.predictions import atomic_write
from molmo.eval.tasks.base import ResultRow
from molmo.preprocess.points import parse_points

THUMB_SIDE = 224
MAX_SAMPLES_PER_TASK = 2000
RAW_SCALE_METRICS = {"cider": 100.0}  # shown x100 (papers); every other metric is a fraction -> percent

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0}
th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:28em;white-space:pre-wrap;word-break:break-word}
td.small{font-size:85%;color:#555;max-width:24em;white-space:pre-wrap;word-break:break-word}
summary{font-size:1.15em;font-weight:600;cursor:pointer;margin:0.6em 0}
.note{color:#555;font-size:90%}
img{display:block}
"""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _e(value: Any) -> str:
    """Escaped text; control characters (invalid in HTML) become U+FFFD."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def format_metric(name: str, value: float) -> str:
    """A metric value as the summary shows it (percent, or CIDEr x100)."""
    return f"{value * RAW_SCALE_METRICS.get(name, 100.0):.1f}"


def thumbnail(image: Image.Image, prediction: str = "", refs: dict[str, Any] | None = None,
              side: int = THUMB_SIDE) -> str:
    """Base64 JPEG of ``image`` shrunk to ``side`` px, with GT (green) and predicted (red) points."""
    refs = refs or {}
    im = image.convert("RGB")
    scale = min(1.0, side / max(im.size))
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
    draw = ImageDraw.Draw(im)
    gt = [(float(p[0]), float(p[1])) for p in refs.get("points") or [] if isinstance(p, (list, tuple)) and len(p) == 2]
    pred = [(p.x_px, p.y_px) for p in parse_points(prediction, image.size).points] if prediction else []
    for points, color in ((gt, (0, 200, 0)), (pred, (230, 0, 0))):
        for x, y in points:
            cx, cy, r = x * scale, y * scale, 4
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=color, width=2)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=80)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _refs_text(refs: dict[str, Any]) -> str:
    lines = []
    for key, value in refs.items():
        if key == "masks":
            lines.append(f"masks: {len(value or [])}")
        else:
            text = json.dumps(value, ensure_ascii=False)
            lines.append(f"{key}: {text if len(text) <= 400 else text[:400] + '…'}")
    return "\n".join(lines)


def _scores_text(scores: dict[str, float] | None) -> str:
    if not scores:
        return "not scored"
    return "\n".join(f"{k}: {v:.3f}" for k, v in scores.items())


def _summary(rows: Sequence[ResultRow]) -> list[str]:
    out = ["<table><tr><th>task</th><th>n</th><th>metric</th><th>value</th><th>variant</th></tr>"]
    for row in rows:
        for i, (name, value) in enumerate(row.metrics.items()):
            lead = f"<td>{_e(row.task)}</td><td class='num'>{row.n}</td>" if i == 0 else "<td></td><td></td>"
            out.append(f"<tr>{lead}<td>{_e(name)}</td><td class='num'>{format_metric(name, value)}</td>"
                       f"<td class='small'>{_e(row.metric_variants.get(name, ''))}</td></tr>")
        if not row.metrics:
            out.append(f"<tr><td>{_e(row.task)}</td><td class='num'>{row.n}</td><td colspan='3'>no scored samples</td></tr>")
    out.append("</table>")
    return out


def _samples(task: str, records: Sequence[dict[str, Any]], thumbs: dict[str, str]) -> list[str]:
    shown = records[:MAX_SAMPLES_PER_TASK]
    out = [f"<details open><summary>{_e(task)} — {len(records)} samples</summary>"]
    if len(shown) < len(records):
        out.append(f"<p class='note'>showing the first {len(shown)} of {len(records)}; all are in predictions.jsonl</p>")
    out.append("<table><tr><th>image</th><th>id</th><th>prompt</th><th>prediction</th><th>references</th><th>score</th></tr>")
    for r in shown:
        thumb = thumbs.get(str(r.get("id")))
        img = f"<img src='data:image/jpeg;base64,{thumb}' alt='{_e(r.get('id'))}'>" if thumb else "<span class='note'>–</span>"
        prompt = f"[{r['style']}] {r.get('prompt', '')}" if r.get("style") else r.get("prompt", "")
        out.append(
            f"<tr><td>{img}</td><td class='small'>{_e(r.get('id'))}</td><td class='text'>{_e(prompt)}</td>"
            f"<td class='text'>{_e(r.get('prediction', ''))}</td><td class='small'>{_e(_refs_text(r.get('refs') or {}))}</td>"
            f"<td class='small'>{_e(_scores_text(r.get('scores')))}</td></tr>"
        )
    out.append("</table></details>")
    return out


def render_report(model: str, rows: Sequence[ResultRow], groups: Sequence[tuple[str, Sequence[dict[str, Any]]]],
                  thumbnails: dict[str, dict[str, str]] | None = None) -> str:
    """The HTML page. ``groups``: (task name, its records); ``thumbnails``: task -> sample id -> base64 JPEG."""
    thumbnails = thumbnails or {}
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>molmo eval — {_e(model)}</title><style>{_CSS}</style></head><body>",
        "<h1>molmo eval</h1>",
        f"<p>model: <code>{_e(model)}</code><br>written {_e(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        "<h2>Summary</h2>", *_summary(rows),
        ("<p class='note'>Values in percent. CIDEr is shown ×100 as papers print it; results.json keeps its raw "
         "value in [0, 10]. Greedy decoding; settings per sample in predictions.jsonl.</p>"),
        "<h2>Samples</h2>",
    ]
    for task, records in groups:
        parts.extend(_samples(task, records, thumbnails.get(task, {})))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: str | os.PathLike, model: str, rows: Sequence[ResultRow],
                 groups: Sequence[tuple[str, Sequence[dict[str, Any]]]],
                 thumbnails: dict[str, dict[str, str]] | None = None) -> Path:
    """Render and write ``report.html`` atomically."""
    page = render_report(model, rows, groups, thumbnails)
    return atomic_write(path, lambda f: f.write(page))
