from molmo.eval.tasks.caption import CaptionTask


def test_coco_captions_cider_is_corpus_level_and_raw(read_items):
    task, items = read_items("caption")
    assert items[0].refs == {"answers": ["a cat on a mat", "a cat sitting"]}
    records = [{"prediction": p, "refs": i.refs} for p, i in zip(["a cat on a mat", "a red bus"], items)]
    scores = task.score_records(records + [{"prediction": "x", "refs": {}}])
    assert scores[2] is None and all(0.0 <= s["cider"] <= 10.0 for s in scores[:2])
    rows = task.rows(records, scores[:2])
    assert rows[0].n == 2 and rows[0].metrics["cider"] == (scores[0]["cider"] + scores[1]["cider"]) / 2
    assert "[0, 10]" in rows[0].metric_variants["cider"]
    bad = task.score_records([{"prediction": "a dog", "refs": i.refs} for i in items])
    assert bad[0]["cider"] < scores[0]["cider"] and task.score("a cat", items[0].refs, []) is None


def test_folder_captions_split_lines_into_references(tmp_path):
    from molmo.eval.tasks import get_task
    from molmo.eval.tasks.base import SourceSample

    task = get_task("caption")
    assert isinstance(task, CaptionTask)
    sample = SourceSample("k", {"messages": [{"role": "user", "content": "Describe this image."}],
                                "refs": {"answers": ["a cat\na kitten\n"]}}, [], "folder")
    assert task.item(sample, 0, task.settings()).refs == {"answers": ["a cat", "a kitten"]}
