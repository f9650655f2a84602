import base64
import io
from html.parser import HTMLParser

from PIL import Image

from molmo.eval.report import format_metric, render_report, thumbnail, write_report
from molmo.eval.tasks.base import ResultRow

PAYLOAD = "<script>alert('x')</script>"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.images = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def _records():
    return [
        {"id": "s-0", "prompt": "Point to the cat", "style": "pointing", "prediction": '<point x="50.0" y="50.0" alt="cat">cat</point>',
         "refs": {"points": [[20.0, 10.0]], "masks": [{"size": [20, 40], "counts": [800]}]}, "scores": {"point_f1": 0.0}},
        {"id": f"s-1{PAYLOAD}", "prompt": PAYLOAD, "prediction": PAYLOAD + "\x18", "refs": {"answers": [PAYLOAD]}, "scores": None},
    ]


def test_report_parses_lists_every_id_and_escapes(tmp_path):
    rows = [ResultRow("pixmo_points", 1, {"point_f1": 0.25}, {"point_f1": "desc <b>"}), ResultRow("caption", 1, {"cider": 1.234}, {})]
    thumbs = {"pixmo_points": {"s-0": thumbnail(Image.new("RGB", (40, 20), "white"), _records()[0]["prediction"], _records()[0]["refs"])}}
    path = write_report(tmp_path / "report.html", "model<1>", rows, [("pixmo_points", _records())], thumbs)
    page = path.read_text()
    parser = _Collect()
    parser.feed(page)
    text = "".join(parser.text)
    assert "script" not in parser.tags and PAYLOAD not in page and "&lt;script&gt;" in page
    assert "s-0" in text and f"s-1{PAYLOAD}" in text and "model<1>" in text and "\x18" not in page
    assert "25.0" in text and "123.4" in text  # percent, CIDEr x100
    assert len(parser.images) == 1 and parser.images[0].startswith("data:image/jpeg;base64,")


def test_thumbnail_is_a_small_jpeg_with_points_drawn():
    im = Image.new("RGB", (800, 400), "white")
    data = base64.b64decode(thumbnail(im, '<point x="50.0" y="50.0" alt="a">a</point>', {"points": [[100, 100]]}))
    out = Image.open(io.BytesIO(data))
    assert out.format == "JPEG" and max(out.size) == 224
    def ring(cx, cy):  # the most saturated pixel around a drawn point
        return max((out.getpixel((x, y)) for x in range(cx - 6, cx + 7) for y in range(cy - 6, cy + 7)),
                   key=lambda p: max(p) - min(p))

    assert ring(112, 56)[0] > 180 and ring(112, 56)[1] < 100  # predicted (50 %, 50 %) in red
    assert ring(28, 28)[1] > 150 and ring(28, 28)[0] < 100  # ground truth (100, 100) px in green
    assert max(ring(180, 95)) - min(ring(180, 95)) < 30  # elsewhere: white
    assert format_metric("vqa_score", 0.8567) == "85.7" and format_metric("cider", 1.1) == "110.0"


def test_render_without_samples():
    page = render_report("m", [ResultRow("t", 0, {}, {})], [])
    assert "no scored samples" in page
