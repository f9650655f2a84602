from molmo.eval.tasks.base import AnswersTask, ResultRow, SourceSample, mean_metrics


def _task(**kw):
    kw.setdefault("style", "vqa2")
    return AnswersTask(name="t", family="t", description="d", metrics=("exact_match", "anls"), **kw)


def test_settings_defaults_and_overrides():
    task = _task(max_crops=36)
    assert task.settings().generation() == {"max_new_tokens": 12, "temperature": 0.0, "num_beams": 1, "max_crops": 36}
    s = task.settings(style="x", max_new_tokens=3, max_crops=4)
    assert (s.style, s.max_new_tokens, s.max_crops) == ("x", 3, 4)


def test_item_uses_task_style_and_sample_refs():
    sample = SourceSample("id1", {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "a"}],
                                  "style": "other", "refs": {"answers": ["a"]}}, ["img.png"])
    item = _task().item(sample, 4, _task().settings())
    assert (item.id, item.index, item.prompt, item.style, item.refs, item.images) == ("id1", 4, "Q?", "vqa2", {"answers": ["a"]}, ["img.png"])
    assert _task(style=None).item(sample, 0, _task(style=None).settings()).style == "other"


def test_answers_task_scoring_and_rows():
    task = _task()
    assert task.score("Answer: A", {"answers": ["a"]}, []) == {"exact_match": 1.0, "anls": 1.0}
    assert task.score("a", {"answers": []}, []) is None
    rows = task.rows([{}, {}, {}], [{"exact_match": 1.0, "anls": 0.5}, None, {"exact_match": 0.0, "anls": 0.5}])
    assert rows == [ResultRow("t", 2, {"exact_match": 0.5, "anls": 0.5}, task.variants(task.metrics))]
    assert rows[0].to_json()["n"] == 2
    assert mean_metrics([{"a": 1.0}, {"b": 0.0}], ["a", "b", "c"]) == {"a": 1.0, "b": 0.0}
