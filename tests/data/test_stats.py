from __future__ import annotations

import pytest

from molmo.data.stats import histogram, stats, summarize
from molmo.errors import UserError


def test_stats_of_shapes(shapes_dir):
    r = stats(str(shapes_dir))
    assert r.samples == 120 and r.shards == 4 and r.unreadable == 0
    assert sum(r.by_task.values()) == 120 and set(r.by_task) == {"caption", "color", "count", "point", "read"}
    assert r.images_per_sample == {"1": 120}
    assert 64 <= r.image_width["min"] <= r.image_width["p50"] <= r.image_width["max"] <= 640
    assert r.image_tokens["min"] > 0 and sum(r.token_histogram.values()) == 120
    assert r.tokens == {} and r.notes
    assert stats(str(shapes_dir), limit=7).samples == 7


def test_stats_with_tokenizer(shapes_dir, tmp_path):
    from molmo.preprocess import save_bpe, train_bpe

    texts = [
        "What color is the square? red circle triangle diamond points x y alt Counting shows a total of"
    ] * 20
    tok = train_bpe(texts, vocab_size=300)
    path = save_bpe(tok, tmp_path / "tokenizer.json")
    r = stats(str(shapes_dir), tokenizer=path, max_length=400, limit=30)
    assert r.tokens["min"] > r.image_tokens["min"] and r.max_length == 400
    assert r.over_max_length == sum(1 for _ in r.over_max_keys) > 0
    with pytest.raises(UserError, match="no tokenizer.json"):
        stats(str(shapes_dir), tokenizer=tmp_path / "nothing")


def test_helpers():
    assert histogram([3, 16, 17, 100]) == {"<=16": 2, "<=32": 1, "<=128": 1}
    s = summarize([1, 2, 3, 4])
    assert s["min"] == 1 and s["max"] == 4 and s["p50"] == 2.5
    assert summarize([]) == {}


def test_max_length_without_tokenizer_uses_image_tokens(shapes_dir):
    r = stats(str(shapes_dir), max_length=400)
    assert r.over_max_length == sum(1 for _ in r.over_max_keys) > 0 and r.tokens == {}
